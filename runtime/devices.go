package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DevicesFromPath is --device HOST:CONTAINER:PERMS as Docker's daemon resolves it when the
// container starts: the host's device node (or every device under a host directory, at the same
// place under CONTAINER) with its type, numbers, mode and owner, and a device cgroup rule
// allowing PERMS on each.
func DevicesFromPath(host, ctr, perms string) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	fail := func(err error) error {
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err
		}
		return fmt.Errorf("error gathering device information while adding custom device %q: %w", host, err)
	}
	// A symbolic link (/dev/stdin, /dev/disk/by-id/...) names the device it points to.
	resolved, err := filepath.EvalSymlinks(host)
	if err != nil {
		return nil, nil, fail(err)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return nil, nil, fail(err)
	}
	var devs []specs.LinuxDevice
	if fi.IsDir() {
		if devs, err = devicesUnder(resolved); err != nil {
			return nil, nil, fail(err)
		}
		for i := range devs {
			rel, _ := filepath.Rel(resolved, devs[i].Path)
			devs[i].Path = filepath.Join(ctr, rel)
		}
	} else {
		d, err := deviceAt(resolved)
		if err != nil {
			return nil, nil, fail(err)
		}
		d.Path = ctr
		devs = []specs.LinuxDevice{d}
	}
	rules := make([]specs.LinuxDeviceCgroup, 0, len(devs))
	for _, d := range devs {
		major, minor := d.Major, d.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: perms})
	}
	return devs, rules, nil
}

// deviceAt describes the device node at p; anything else is "not a device node".
func deviceAt(p string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		typ = "b"
	case unix.S_IFCHR:
		typ = "c"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("not a device node")
	}
	mode := os.FileMode(st.Mode &^ unix.S_IFMT)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{Type: typ, Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: &uid, GID: &gid}, nil
}

var deviceCgroupRule = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`)
})

// ParseDeviceCgroupRule reads --device-cgroup-rule ("c 1:3 mr", "a *:* rwm") with Docker's
// grammar and error.
func ParseDeviceCgroupRule(rule string) (specs.LinuxDeviceCgroup, error) {
	m := deviceCgroupRule().FindStringSubmatch(rule)
	if m == nil {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("invalid device cgroup format '%s'", rule)
	}
	r := specs.LinuxDeviceCgroup{Allow: true, Type: m[1], Access: m[4]}
	if r.Type == "a" {
		r.Type = "" // all devices; crun refuses "a" with numbers, runc takes either
	}
	num := func(s string) *int64 {
		if s == "*" {
			return nil // a wildcard, see defaultDevices
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		return &n
	}
	r.Major, r.Minor = num(m[2]), num(m[3])
	return r, nil
}

// ValidDeviceMode reports whether s is a device cgroup permission set: some of r, w, m, each once.
func ValidDeviceMode(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for i, c := range s {
		if !strings.ContainsRune("rwm", c) || strings.ContainsRune(s[i+1:], c) {
			return false
		}
	}
	return true
}
