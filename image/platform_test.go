package image

import (
	"runtime"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	host := DefaultPlatform()
	for _, tc := range []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"Linux/x86_64", "linux/amd64"},
		{"linux/amd64/v1", "linux/amd64"},
		{"linux/amd64/v3", "linux/amd64/v3"},
		{"linux/arm64", "linux/arm64"},
		{"linux/aarch64", "linux/arm64"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/arm", "linux/arm/v7"},
		{"linux/armhf", "linux/arm/v7"},
		{"linux/armel", "linux/arm/v6"},
		{"linux/arm/v6", "linux/arm/v6"},
		{"linux/i386", "linux/386"},
		{"arm64", "linux/arm64"},
		{"x86_64", "linux/amd64"},
		{"linux", host.String()},
		{"foo/bar", "foo/bar"}, // two parts are taken as they are, as containerd does
	} {
		p, err := ParsePlatform(tc.in)
		if err != nil || p.String() != tc.want {
			t.Errorf("ParsePlatform(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
		}
	}
	// containerd's words (Docker, BuildKit and buildx print them).
	for _, tc := range []struct{ in, want string }{
		{"foo", `"foo": unknown operating system or architecture: invalid argument`},
		{"linux/*", `"linux/*": wildcards not yet supported: invalid argument`},
		{"linux/amd64/v2/x", `"linux/amd64/v2/x": cannot parse platform specifier: invalid argument`},
		{"linux/a b", `"a b" is an invalid component of "linux/a b": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument`},
		{"", `"" is an invalid OS component of "": OSAndVersion specifier component must match "^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.-]*)\\))?$": invalid argument`},
	} {
		if _, err := ParsePlatform(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParsePlatform(%q): %v\nwant %s", tc.in, err, tc.want)
		}
	}
	if host.OS != "linux" || host.Architecture != runtime.GOARCH {
		t.Errorf("DefaultPlatform() = %v", host)
	}
}

func TestPlatformRuns(t *testing.T) {
	p := func(s string) Platform {
		x, err := ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, tc := range []struct {
		want string
		have Platform
		ok   bool
	}{
		{"linux/amd64", Platform{OS: "linux", Architecture: "amd64"}, true},
		{"linux/amd64", Platform{OS: "linux", Architecture: "arm64"}, false},
		{"linux/arm64", Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, true},
		{"linux/arm64", Platform{OS: "linux", Architecture: "aarch64"}, true},
		{"linux/arm/v7", Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, true},
		{"linux/arm/v6", Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, false},
		{"linux/amd64", Platform{OS: "windows", Architecture: "amd64"}, false},
		{"linux/amd64", Platform{}, true}, // an image that does not say
	} {
		if got := p(tc.want).Runs(tc.have); got != tc.ok {
			t.Errorf("%s runs %+v: %v, want %v", tc.want, tc.have, got, tc.ok)
		}
	}
}
