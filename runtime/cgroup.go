package runtime

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupMounts are the mount points of the host's cgroup hierarchies (every v1 controller's and
// the unified v2 one), read from mountinfo.
func cgroupMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 25 0:31 / /sys/fs/cgroup/memory rw,... shared:15 - cgroup cgroup rw,memory"
		fields := strings.Fields(sc.Text())
		for i, fl := range fields {
			if fl == "-" && i+1 < len(fields) && i >= 4 {
				if t := fields[i+1]; t == "cgroup" || t == "cgroup2" {
					out = append(out, fields[4])
				}
				break
			}
		}
	}
	return out
}

// RemoveCgroup removes the cgroup at path (a spec's cgroupsPath, "/berth/ID") from every
// hierarchy, killing what still runs in it first. It is for debris (a container whose runtime
// was killed before it could delete the container's cgroup itself) and for DeleteExited. It
// reports the directories that could not be removed.
func RemoveCgroup(path string) []string {
	var left []string
	for _, mnt := range cgroupMounts() {
		dir := filepath.Join(mnt, filepath.Clean("/"+path))
		if dir == mnt {
			continue
		}
		if err := removeCgroupDir(dir); err != nil {
			left = append(left, dir)
		}
	}
	return left
}

// removeCgroupDir empties one cgroup directory (children first) and removes it.
func removeCgroupDir(dir string) error {
	// A cgroup without processes or children (an exited container's) goes at once; only what
	// that refuses is walked, thawed and killed.
	if err := unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeCgroupDir(filepath.Join(dir, e.Name()))
		}
	}
	// A frozen cgroup's processes cannot die: thaw it (v1 freezer) first.
	if _, err := os.Stat(filepath.Join(dir, "freezer.state")); err == nil {
		os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0o644)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.freeze")); err == nil {
		os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0o644)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
