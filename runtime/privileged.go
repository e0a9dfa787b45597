package runtime

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// KernelCapabilities lists the capabilities the running kernel knows
// (/proc/sys/kernel/cap_last_cap), by name and in bit order: Docker's "all capabilities". A
// kernel newer than berth may know more than berth can name; those are left out.
func KernelCapabilities() []string {
	n := len(allCapabilities)
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if last, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && last+1 < n && last >= 0 {
			n = last + 1
		}
	}
	return append([]string(nil), allCapabilities[:n]...)
}

// PrivilegedCapabilities is the capability set of a privileged container: every capability the
// kernel knows (as Docker gives it) that berth itself may still hand on, i.e. that is in its own
// bounding set. On an ordinary host that is all of them; where berth runs with a reduced bounding
// set (a container, a sandbox) asking for more would only make the runtime fail ("unable to apply
// caps: operation not permitted"), as Docker's privileged containers do there.
func PrivilegedCapabilities() []string {
	all := KernelCapabilities()
	bnd, ok := boundingSet()
	if !ok {
		return all
	}
	var out []string
	for i, c := range all {
		if bnd&(1<<uint(i)) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// boundingSet is this process's capability bounding set, as /proc/self/status shows it.
func boundingSet() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// ContainerCapabilities is the capability set of a container's processes (its command and every
// exec): Docker's defaults tweaked by --cap-add and --cap-drop, or for a privileged container
// PrivilegedCapabilities, where Docker ignores --cap-add and --cap-drop.
func ContainerCapabilities(privileged bool, add, drop []string) ([]string, error) {
	if privileged {
		return PrivilegedCapabilities(), nil
	}
	return NormalizeCapabilities(DefaultCapabilities(), add, drop)
}

// HostDevices lists the host's devices under /dev the way Docker (runc's libcontainer, which it
// uses) finds them for a privileged container: block and character devices, recursively, but not
// the directories of per-container filesystems (pts, shm, mqueue, fd) nor /dev/console (the
// runtime gives the container its own); symbolic links and FIFOs are not devices.
func HostDevices() ([]specs.LinuxDevice, error) {
	return devicesUnder("/dev")
}

func devicesUnder(dir string) ([]specs.LinuxDevice, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []specs.LinuxDevice
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			switch e.Name() {
			case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
				continue
			}
			sub, err := devicesUnder(p)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		if e.Name() == "console" {
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // gone since the listing
			}
			return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		var typ string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFBLK:
			typ = "b"
		case unix.S_IFCHR:
			typ = "c"
		default:
			continue
		}
		mode := os.FileMode(st.Mode &^ unix.S_IFMT)
		uid, gid := st.Uid, st.Gid
		out = append(out, specs.LinuxDevice{
			Path: p, Type: typ, Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
			FileMode: &mode, UID: &uid, GID: &gid,
		})
	}
	return out, nil
}
