// Package rootless runs berth for an unprivileged user: every berth process of that user lives in
// one user namespace (root inside is the user; 1… are the user's /etc/subuid and /etc/subgid
// ranges) and one mount namespace, both held open by a long-lived pause process.
//
// Why a pause process: the overlay mounts of a running container, the network namespaces bound
// under the store and the shims that hold containers must be visible to every later berth
// command (ps, exec, stop, rm). A fresh user namespace per command would give each its own
// mounts. The pause process is started once (its maps written with newuidmap and newgidmap, the
// setuid helpers that check the ranges), its pid kept in the runtime directory, and each berth
// command re-executes itself inside its namespaces through nsenter: a Go program cannot setns
// into a user namespace itself (the kernel refuses it to a multi-threaded process), and
// util-linux's nsenter is on every host that has the other tools.
package rootless

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berth-engine/berth/idmap"
	"golang.org/x/sys/unix"
)

// envMarker is set (to the user's host uid) on the berth process re-executed inside the
// namespaces, and inherited by the processes it starts (shims, slirp4netns).
const envMarker = "_BERTH_ROOTLESS_UID"

// PauseName is the pause process's argv[0]: how it is recognised (by main and in /proc).
const PauseName = "berth-rootless-pause"

var (
	activeOnce sync.Once
	active     bool
	hostUID    int
)

// Active reports whether this process is berth in rootless mode: root of a user namespace whose
// root is an unprivileged host user (the pause process's), not the host's root. It reads the
// process's own map, so every process started inside (shims, whatever their environment) agrees.
func Active() bool {
	activeOnce.Do(func() {
		if os.Geteuid() != 0 {
			return
		}
		b, err := os.ReadFile("/proc/self/uid_map")
		if err != nil {
			return
		}
		hostUID, active = rootlessRoot(string(b))
	})
	return active
}

// rootlessRoot reads a uid_map: the host uid that root inside is, when it is a single
// unprivileged user (the rootless layout), and whether it is.
func rootlessRoot(m string) (int, bool) {
	for _, line := range strings.Split(m, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "0" {
			uid, err := strconv.Atoi(f[1])
			return uid, err == nil && uid != 0 && f[2] == "1"
		}
	}
	return 0, false
}

// HostUID is the unprivileged user berth runs for (in rootless mode).
func HostUID() int { Active(); return hostUID }

// MaxGID is the highest group ID this process's user namespace maps (0 when unknown).
func MaxGID() uint32 {
	b, err := os.ReadFile("/proc/self/gid_map")
	if err != nil {
		return 0
	}
	return maxMapped(string(b))
}

// maxMapped is the highest inside ID a uid_map or gid_map maps.
func maxMapped(m string) uint32 {
	var top uint64
	for _, line := range strings.Split(m, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && n > 0 && in+n-1 > top {
			top = in + n - 1
		}
	}
	if top > 1<<31-1 {
		top = 1<<31 - 1
	}
	return uint32(top)
}

// Unavailable is why rootless mode could not be entered (nil when it was, or was not tried).
var Unavailable error

// NeedRoot says, for work that needs root (what: "running containers"), why this process cannot
// do it: nil as root (the host's, or rootless mode's), else why rootless mode was not entered.
func NeedRoot(what string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	if Unavailable != nil {
		return fmt.Errorf("%s needs root or berth's rootless mode, which this host cannot give: %w", what, Unavailable)
	}
	return fmt.Errorf("%s needs root or berth's rootless mode (run berth as root, e.g. with sudo, or as a user with ranges in /etc/subuid and /etc/subgid)", what)
}

// Env is the environment of the re-executed process: a getter so tests need not touch os.
type Env func(string) string

// DataDir is where a rootless berth keeps its store: $XDG_DATA_HOME/berth, by default
// ~/.local/share/berth (as podman's and rootless dockerd's).
func DataDir(env Env) (string, error) {
	if d := env("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "berth"), nil
	}
	home := env("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("rootless mode needs $HOME or $XDG_DATA_HOME set to an absolute path")
	}
	return filepath.Join(home, ".local", "share", "berth"), nil
}

// RuntimeDir holds the pause process's pid and its lock: $XDG_RUNTIME_DIR/berth where the login
// manager made that directory for this user, else ${XDG_CACHE_HOME:-~/.cache}/berth/run (never /tmp, which other
// users share).
func RuntimeDir(env Env) (string, error) {
	if d := env("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		// Only the user's own: su and sudo can leave another user's in the environment.
		var st unix.Stat_t
		if unix.Stat(d, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == os.Getuid() {
			return filepath.Join(d, "berth"), nil
		}
	}
	if d := env("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "berth", "run"), nil
	}
	home := env("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("rootless mode needs $HOME or $XDG_RUNTIME_DIR set to an absolute path")
	}
	return filepath.Join(home, ".cache", "berth", "run"), nil
}

// Maps is the rootless user namespace's mapping: root inside is the user (uid, gid), and 1… are
// the user's subordinate ranges, in order (what podman and rootlesskit build).
func Maps(uid, gid int, uname, gname string, subuid, subgid []idmap.SubIDRange) (idmap.Map, error) {
	var m idmap.Map
	us := idmap.Ranges(subuid, uname, strconv.Itoa(uid))
	gs := idmap.Ranges(subgid, gname, strconv.Itoa(gid))
	if len(us) == 0 {
		return m, fmt.Errorf("no subordinate user IDs for %s (uid %d) in %s: add a range, e.g. `usermod --add-subuids 100000-165535 %s`", uname, uid, idmap.SubUIDFile, uname)
	}
	if len(gs) == 0 {
		return m, fmt.Errorf("no subordinate group IDs for %s (gid %d) in %s: add a range, e.g. `usermod --add-subgids 100000-165535 %s`", gname, gid, idmap.SubGIDFile, uname)
	}
	shift := func(rs []idmap.Range, self int) []idmap.Range {
		out := []idmap.Range{{Container: 0, Host: uint32(self), Size: 1}}
		for _, r := range rs {
			r.Container++
			out = append(out, r)
		}
		return out
	}
	m.UIDs, m.GIDs = shift(us, uid), shift(gs, gid)
	return m, nil
}

// MapArgs are newuidmap's (or newgidmap's) arguments for process pid.
func MapArgs(pid int, rs []idmap.Range) []string {
	args := []string{strconv.Itoa(pid)}
	for _, r := range rs {
		args = append(args, strconv.FormatUint(uint64(r.Container), 10), strconv.FormatUint(uint64(r.Host), 10), strconv.FormatUint(uint64(r.Size), 10))
	}
	return args
}

// NsenterArgs is the command line that runs exe with args inside the pause process's user and
// mount namespaces, in directory wd (joining a mount namespace moves the caller to its root).
// --wdns opens wd inside the namespace: --wd would keep the host namespace's copy of the
// directory, unreachable from the new root, so getcwd(2) fails there (compose's loader needs it).
func NsenterArgs(nsenter string, pid int, wd, exe string, args []string) []string {
	out := []string{nsenter, "--user", "--mount", "--preserve-credentials", "--target", strconv.Itoa(pid), "--wdns=" + wd, "--", exe}
	return append(out, args...)
}

// Enter re-executes berth inside the rootless namespaces, starting the pause process first if it
// is not running. It returns only on failure (or at once, for root and for a process already
// inside); the error says what the host lacks.
func Enter(args []string) error {
	if os.Geteuid() == 0 || os.Getenv(envMarker) != "" {
		return nil
	}
	pid, err := ensurePause()
	if err != nil {
		return err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return errors.New("rootless mode needs nsenter (Debian: util-linux)")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "/"
	}
	env := append(os.Environ(), envMarker+"="+strconv.Itoa(os.Getuid()))
	if os.Getenv("TMPDIR") == "" {
		// berth's scratch files (build contexts, console sockets) stay in the user's runtime
		// directory rather than /tmp, which every user shares.
		if dir, err := RuntimeDir(os.Getenv); err == nil {
			tmp := filepath.Join(dir, "tmp")
			if os.MkdirAll(tmp, 0o700) == nil {
				env = append(env, "TMPDIR="+tmp)
			}
		}
	}
	return syscall.Exec(nsenter, NsenterArgs(nsenter, pid, wd, exe, args), env)
}

// ensurePause returns the pid of the user's pause process, starting one if none runs.
func ensurePause() (int, error) {
	dir, err := RuntimeDir(os.Getenv)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "pause.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return 0, err
	}
	pidFile := filepath.Join(dir, "pause.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isPause(pid) {
			return pid, nil
		}
	}
	var pid int
	if alive := survivor(); alive > 0 {
		// The pause process died while containers still run: a new one joins their namespaces,
		// so later commands see them (a fresh namespace would hide their mounts).
		pid, err = rejoinPause(alive)
	} else {
		pid, err = startPause()
	}
	if err != nil {
		return 0, err
	}
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return 0, err
	}
	return pid, os.Rename(tmp, pidFile)
}

// isPause reports whether pid is this user's pause process (not a reused pid).
func isPause(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.HasPrefix(b, []byte(PauseName+"\x00")) {
		return false
	}
	var st unix.Stat_t
	return unix.Stat(fmt.Sprintf("/proc/%d", pid), &st) == nil && int(st.Uid) == os.Getuid()
}

// pauseEnv marks a pause process started through nsenter, which renames itself PauseName.
const pauseEnv = "_BERTH_ROOTLESS_PAUSE"

// IsPause reports whether this process is to be the pause process.
func IsPause() bool {
	return filepath.Base(os.Args[0]) == PauseName || os.Getenv(pauseEnv) == "1"
}

// survivor is a process of this user still inside berth's rootless namespaces (a container's
// shim or slirp4netns: they inherit envMarker), 0 if none.
func survivor() int {
	self, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+d.Name(), &st) != nil || int(st.Uid) != os.Getuid() {
			continue
		}
		if ns, err := os.Readlink("/proc/" + d.Name() + "/ns/user"); err != nil || ns == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + d.Name() + "/environ")
		if err == nil && (bytes.HasPrefix(env, []byte(envMarker+"=")) || bytes.Contains(env, []byte("\x00"+envMarker+"="))) {
			return pid
		}
	}
	return 0
}

// rejoinPause starts a pause process inside the namespaces of process pid.
func rejoinPause(pid int) (int, error) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return 0, errors.New("rootless mode needs nsenter (Debian: util-linux)")
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(nsenter, NsenterArgs(nsenter, pid, "/", exe, nil)[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", pauseEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("rootless mode: restarting the pause process: %w", err)
	}
	// nsenter, then berth, then berth renamed: one process, one pid, which is in the namespaces
	// once it bears the pause's name (joining it any sooner could join the host's).
	pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { _, err := cmd.Process.Wait(); exited <- err }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if isPause(pid) {
			return pid, nil
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("rootless mode: restarting the pause process in the namespaces of process %d failed", pid)
		default:
		}
	}
	return 0, errors.New("rootless mode: the restarted pause process did not come up")
}

// startPause starts the pause process in a new user and mount namespace and writes its maps.
func startPause() (int, error) {
	m, err := userMaps()
	if err != nil {
		return 0, err
	}
	var tools [2]string
	for i, name := range []string{"newuidmap", "newgidmap"} {
		if tools[i], err = exec.LookPath(name); err != nil {
			return 0, fmt.Errorf("rootless mode needs %s (Debian: uidmap)", name)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe)
	cmd.Args = []string{PauseName}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS, Setsid: true}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EINVAL) {
			return 0, fmt.Errorf("rootless mode: the kernel refused a user namespace (%v): see /proc/sys/user/max_user_namespaces and kernel.unprivileged_userns_clone", err)
		}
		return 0, fmt.Errorf("rootless mode: starting the pause process: %w", err)
	}
	pid := cmd.Process.Pid
	for i, rs := range [][]idmap.Range{m.UIDs, m.GIDs} {
		if out, err := exec.Command(tools[i], MapArgs(pid, rs)...).CombinedOutput(); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return 0, fmt.Errorf("rootless mode: %s %s: %v: %s", filepath.Base(tools[i]), strings.Join(MapArgs(pid, rs), " "), err, strings.TrimSpace(string(out)))
		}
	}
	cmd.Process.Release()
	return pid, nil
}

// userMaps is the calling user's rootless mapping from /etc/subuid and /etc/subgid.
func userMaps() (idmap.Map, error) {
	uid, gid := os.Getuid(), os.Getgid()
	uname, gname := strconv.Itoa(uid), strconv.Itoa(gid)
	if u, err := lookupName("/etc/passwd", uid); err == nil {
		uname = u
	}
	if g, err := lookupName("/etc/group", gid); err == nil {
		gname = g
	}
	var subs [2][]idmap.SubIDRange
	for i, f := range []string{idmap.SubUIDFile, idmap.SubGIDFile} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return idmap.Map{}, err
		}
		if subs[i], err = idmap.ParseSubIDs(bytes.NewReader(b)); err != nil {
			return idmap.Map{}, err
		}
	}
	return Maps(uid, gid, uname, gname, subs[0], subs[1])
}

// lookupName finds the name of a numeric ID in a passwd-format file (os/user needs no cgo for
// this either, but reads the same file).
func lookupName(file string, id int) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	want := strconv.Itoa(id)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[2] == want {
			return f[0], nil
		}
	}
	return "", os.ErrNotExist
}

// Pause is the pause process's whole life: it holds the namespaces until it is killed.
func Pause() {
	if filepath.Base(os.Args[0]) != PauseName {
		// Started through nsenter (rejoinPause): take the name it is recognised by.
		if exe, err := os.Executable(); err == nil {
			syscall.Exec(exe, []string{PauseName}, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
		}
	}
	signalIgnoreHangup()
	for {
		unix.Pause()
	}
}
