package image

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Platform specifiers are parsed and normalized the way containerd's platforms package does it
// (which Docker, BuildKit and buildx all use), so `--platform` values mean the same thing and
// bad ones fail with the same words:
//
//	"foo": unknown operating system or architecture: invalid argument
//
// Normalized: x86_64 → amd64, aarch64 → arm64, armhf → arm/v7, armel → arm/v6, i386 → 386;
// arm64's v8 and amd64's v1 variants are dropped, and arm without a variant is arm/v7.

// errInvalidArgument is containerd's errdefs.ErrInvalidArgument text.
var errInvalidArgument = errors.New("invalid argument")

var (
	platformComponentRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+$`) })
	platformOSRe        = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.-]*)\))?$`)
	})
)

// DefaultPlatform is this machine's platform (berth runs Linux containers only).
func DefaultPlatform() Platform {
	return NormalizePlatform(Platform{OS: "linux", Architecture: runtime.GOARCH})
}

// ParsePlatform reads a platform specifier: "os/arch[/variant]", or a lone OS or architecture
// (the other part is this machine's). The result is normalized.
func ParsePlatform(s string) (Platform, error) {
	if strings.Contains(s, "*") {
		return Platform{}, fmt.Errorf("%q: wildcards not yet supported: %w", s, errInvalidArgument)
	}
	parts := strings.SplitN(s, "/", 4)
	var p Platform
	for i, part := range parts {
		if i == 0 {
			m := platformOSRe().FindStringSubmatch(part)
			if m == nil {
				return Platform{}, fmt.Errorf("%q is an invalid OS component of %q: OSAndVersion specifier component must match %q: %w",
					part, s, platformOSRe().String(), errInvalidArgument)
			}
			p.OS = normalizeOS(m[1])
			continue
		}
		if !platformComponentRe().MatchString(part) {
			return Platform{}, fmt.Errorf("%q is an invalid component of %q: platform specifier component must match %q: %w",
				part, s, platformComponentRe().String(), errInvalidArgument)
		}
	}
	switch len(parts) {
	case 1:
		if knownOS(p.OS) {
			return NormalizePlatform(Platform{OS: p.OS, Architecture: runtime.GOARCH}), nil
		}
		arch, variant := normalizeArch(parts[0], "")
		if knownArch(arch) {
			return Platform{OS: "linux", Architecture: arch, Variant: variant}, nil
		}
		return Platform{}, fmt.Errorf("%q: unknown operating system or architecture: %w", s, errInvalidArgument)
	case 2:
		p.Architecture, p.Variant = normalizeArch(parts[1], "")
		return p, nil
	case 3:
		p.Architecture, p.Variant = normalizeArch(parts[1], parts[2])
		return p, nil
	}
	return Platform{}, fmt.Errorf("%q: cannot parse platform specifier: %w", s, errInvalidArgument)
}

// NormalizePlatform gives a platform its canonical spelling (see ParsePlatform).
func NormalizePlatform(p Platform) Platform {
	p.OS = normalizeOS(p.OS)
	p.Architecture, p.Variant = normalizeArch(p.Architecture, p.Variant)
	return p
}

// String is "os/arch[/variant]".
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// PlatformOf is the platform an image config says it is for, normalized.
func PlatformOf(c *Config) Platform {
	return NormalizePlatform(Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant})
}

// Runs reports whether an image for platform have runs on platform p: same OS and architecture,
// and for arm a variant no newer than p's (an arm/v7 machine runs arm/v6 programs). An image that
// does not say its architecture is taken as fitting.
func (p Platform) Runs(have Platform) bool {
	p, have = NormalizePlatform(p), NormalizePlatform(have)
	if have.Architecture == "" {
		return true
	}
	if have.OS != p.OS || have.Architecture != p.Architecture {
		return false
	}
	if p.Variant == "" || have.Variant == "" || have.Variant == p.Variant {
		return true
	}
	if p.Architecture == "arm" {
		w, err1 := strconv.Atoi(strings.TrimPrefix(p.Variant, "v"))
		h, err2 := strconv.Atoi(strings.TrimPrefix(have.Variant, "v"))
		return err1 == nil && err2 == nil && h <= w
	}
	return false
}

func normalizeOS(os string) string {
	if os == "" {
		return "linux"
	}
	os = strings.ToLower(os)
	if os == "macos" {
		os = "darwin"
	}
	return os
}

func normalizeArch(arch, variant string) (string, string) {
	arch, variant = strings.ToLower(arch), strings.ToLower(variant)
	switch arch {
	case "i386":
		arch, variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "9", "9.0", "v9.0":
			variant = "v9"
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	return arch, variant
}

func knownOS(os string) bool {
	switch os {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
		"netbsd", "openbsd", "plan9", "solaris", "windows", "zos":
		return true
	}
	return false
}

func knownArch(arch string) bool {
	switch arch {
	case "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips",
		"mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x",
		"sparc", "sparc64", "wasm":
		return true
	}
	return false
}
