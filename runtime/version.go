package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// BinaryVersion is what an OCI runtime says of itself in `--version`.
type BinaryVersion struct {
	Name    string // "runc", "crun"
	Version string // "1.1.5+ds1"
	Commit  string // "1.1.5+ds1-1+deb12u1"
}

// ParseVersionOutput reads the `runc --version` / `crun --version` text: a first line
// "NAME version VERSION" and a "commit: COMMIT" line. It fails when no version line is found.
func ParseVersionOutput(out []byte) (BinaryVersion, error) {
	var v BinaryVersion
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ver, ok := strings.Cut(line, " version "); ok && v.Version == "" && name != "" && !strings.Contains(name, " ") {
			v.Name, v.Version = name, strings.TrimSpace(ver)
		} else if c, ok := strings.CutPrefix(line, "commit:"); ok && v.Commit == "" {
			v.Commit = strings.TrimSpace(c)
		}
	}
	if v.Version == "" {
		return v, fmt.Errorf("no \"NAME version X\" line in %q", firstLine(out))
	}
	return v, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// InstalledVersions asks each named runtime found on PATH for its version; a runtime that is
// not installed is left out, one that does not answer is an error.
func InstalledVersions(names ...string) ([]BinaryVersion, error) {
	var vs []BinaryVersion
	for _, name := range names {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "--version").Output()
		if err != nil {
			return vs, fmt.Errorf("%s --version: %w", name, err)
		}
		v, err := ParseVersionOutput(out)
		if err != nil {
			return vs, fmt.Errorf("%s --version: %w", name, err)
		}
		v.Name = name
		vs = append(vs, v)
	}
	return vs, nil
}

// CgroupVersion is "2" when /sys/fs/cgroup is the unified hierarchy, "1" otherwise (Docker's
// `info` CgroupVersion).
func CgroupVersion() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "2"
	}
	return "1"
}

// hybridControllersFile lists the controllers of the v2 hierarchy of a hybrid cgroup layout.
var hybridControllersFile = "/sys/fs/cgroup/unified/cgroup.controllers"

// CrunRunsHere reports whether crun can run containers on this host's cgroup layout: crun 1.8
// refuses a hybrid layout whose v2 hierarchy holds controllers ("cgroups in hybrid mode not
// supported, drop all controllers from cgroupv2"), where runc works. Pure v1 and pure v2 hosts,
// and hybrid ones with every controller on v1, suit it.
func CrunRunsHere() bool {
	b, err := os.ReadFile(hybridControllersFile)
	return err != nil || len(strings.TrimSpace(string(b))) == 0
}
