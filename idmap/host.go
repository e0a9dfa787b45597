package idmap

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// EnsureUser makes sure a remap user has subordinate ranges, creating the user (with its group)
// and giving it the first free 65536 IDs in /etc/subuid and /etc/subgid where it has none, as
// dockerd does for "dockremap". Only the default user is created; a named user must exist.
func EnsureUser(name string) error {
	if _, err := user.Lookup(name); err != nil {
		if name != DefaultUser {
			return fmt.Errorf("userns-remap: user %q: %w", name, err)
		}
		if err := createSystemUser(name); err != nil {
			return err
		}
	}
	for _, f := range []struct{ path, flag string }{{SubUIDFile, "-v"}, {SubGIDFile, "-w"}} {
		all, err := readSubIDs(f.path)
		if err != nil {
			return err
		}
		u, _ := user.Lookup(name)
		id := ""
		if u != nil {
			id = u.Uid
			if f.path == SubGIDFile {
				if g, err := user.LookupGroup(name); err == nil {
					id = g.Gid
				}
			}
		}
		if len(Ranges(all, name, id)) > 0 {
			continue
		}
		start, err := NextFreeRange(all, DefaultRangeSize)
		if err != nil {
			return err
		}
		span := fmt.Sprintf("%d-%d", start, start+DefaultRangeSize-1)
		if out, err := exec.Command("usermod", f.flag, span, name).CombinedOutput(); err != nil {
			return fmt.Errorf("userns-remap: adding the subordinate range %s to %s with usermod: %v: %s", span, name, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// createSystemUser adds a system user and its group with no home and no login, with Debian's
// adduser where it exists and shadow's useradd otherwise (dockerd's two ways).
func createSystemUser(name string) error {
	var cmd *exec.Cmd
	if p, err := exec.LookPath("adduser"); err == nil {
		cmd = exec.Command(p, "--system", "--shell", "/bin/false", "--no-create-home", "--disabled-login", "--disabled-password", "--group", name)
	} else if p, err := exec.LookPath("useradd"); err == nil {
		cmd = exec.Command(p, "-r", "-U", "-s", "/bin/false", name)
	} else {
		return fmt.Errorf("userns-remap: cannot create the %s user: neither adduser nor useradd is installed", name)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, lerr := user.Lookup(name); lerr == nil {
			return nil // another berth made it meanwhile
		}
		return fmt.Errorf("userns-remap: creating the %s user: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// UsernsFile opens a user namespace with the mapping, the handle mount_setattr(MOUNT_ATTR_IDMAP)
// takes. The namespace needs a process to be made: a child is started in a new user namespace
// with the mapping written by us, stopped by ptrace before it runs any of its program, and
// killed once the namespace is open (the open handle keeps the namespace alive).
func UsernsFile(m Map) (*os.File, error) {
	var f *os.File
	err := inNewNamespaces(m, 0, func(pid int) (err error) {
		f, err = os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("making a user namespace for idmapped mounts: %w", err)
	}
	return f, nil
}

// inNewNamespaces starts a process in a new user namespace with the mapping (and the other new
// namespaces flags asks for, which that user namespace owns), runs fn with its PID and kills it.
// The process is stopped by ptrace at its exec and never runs any of its program.
func inNewNamespaces(m Map, flags uintptr, fn func(pid int) error) error {
	toSys := func(rs []Range) []syscall.SysProcIDMap {
		out := make([]syscall.SysProcIDMap, len(rs))
		for i, r := range rs {
			out[i] = syscall.SysProcIDMap{ContainerID: int(r.Container), HostID: int(r.Host), Size: int(r.Size)}
		}
		return out
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | flags, Ptrace: true, Pdeathsig: syscall.SIGKILL,
		UidMappings: toSys(m.UIDs), GidMappings: toSys(m.GIDs), GidMappingsEnableSetgroups: true,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	return fn(cmd.Process.Pid)
}

// NSFSMagic is the filesystem type of a namespace file (/proc/PID/ns/*, or a bind mount of one).
const NSFSMagic = 0x6e736673

// MakeNamespaces makes a user namespace with the mapping, bind-mounted at userPath so it
// outlives every process in it (as `ip netns add` keeps a network namespace), and, when
// netPath is not empty, a network namespace that user namespace owns, bound at netPath: a
// container that joins both may then mount sysfs and set its network sysctls, and `exec`
// can join them (the runtime joins the user namespace first).
func MakeNamespaces(m Map, userPath, netPath string) error {
	var flags uintptr
	if netPath != "" {
		flags = unix.CLONE_NEWNET
	}
	binds := []struct{ ns, path string }{{"user", userPath}, {"net", netPath}}
	var made []string
	err := inNewNamespaces(m, flags, func(pid int) error {
		for _, b := range binds {
			if b.path == "" {
				continue
			}
			f, err := os.OpenFile(b.path, os.O_CREATE|os.O_RDONLY, 0o600)
			if err != nil {
				return err
			}
			f.Close()
			if err := unix.Mount(fmt.Sprintf("/proc/%d/ns/%s", pid, b.ns), b.path, "none", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("binding the new %s namespace at %s: %w", b.ns, b.path, err)
			}
			made = append(made, b.path)
		}
		return nil
	})
	if err != nil {
		for _, p := range made {
			unix.Unmount(p, unix.MNT_DETACH)
			os.Remove(p)
		}
		return fmt.Errorf("making the container's user namespace: %w", err)
	}
	return nil
}

// RemoveNamespace unmounts and removes a namespace file MakeNamespaces bound; a missing one is
// no error.
func RemoveNamespace(path string) {
	unix.Unmount(path, unix.MNT_DETACH)
	os.Remove(path)
}

// OverlayMount is an overlay whose lower layers are seen through a user namespace's mapping.
type OverlayMount struct {
	Lowers      []string // top first
	Upper, Work string   // not idmapped: the container's own files are owned by its mapped IDs
	// Options are the other overlay options ("index=off", "volatile", "key=value").
	Options []string
}

// FromOptions splits overlay mount options (lowerdir=a:b,upperdir=...,workdir=...) into an OverlayMount.
func FromOptions(opts []string) OverlayMount {
	var o OverlayMount
	for _, opt := range opts {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "lowerdir":
			o.Lowers = append(o.Lowers, strings.Split(v, ":")...)
		case "upperdir":
			o.Upper = v
		case "workdir":
			o.Work = v
		default:
			o.Options = append(o.Options, opt)
		}
	}
	return o
}

// Mount mounts the overlay at target, each lower layer an idmapped mount through userns. The
// layers are handed to overlayfs as descriptors of detached mounts (lowerdir+, Linux 6.13), so
// nothing but the overlay itself is attached anywhere and nothing is left to unmount.
func (o OverlayMount) Mount(userns *os.File, target string) error {
	mfd, err := o.create(userns)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching the overlay at %s: %w", target, err)
	}
	return nil
}

// create makes the overlay as a detached mount (its descriptor): closed unattached, it is gone.
func (o OverlayMount) create(userns *os.File) (int, error) {
	fs, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fs)
	// The detached layer mounts must live until the overlay is created: closing the last
	// descriptor of a detached mount unmounts it, and overlayfs clones the layers at create.
	for _, l := range o.Lowers {
		fd, err := idmappedTree(l, userns)
		if err != nil {
			return -1, err
		}
		defer unix.Close(fd)
		if err := unix.FsconfigSetFd(fs, "lowerdir+", fd); err != nil {
			return -1, fmt.Errorf("overlay lowerdir+ %s (idmapped): %w", l, err)
		}
	}
	set := func(k, v string) error {
		if v == "" {
			return unix.FsconfigSetFlag(fs, k)
		}
		return unix.FsconfigSetString(fs, k, v)
	}
	if o.Upper != "" {
		if err := set("upperdir", o.Upper); err != nil {
			return -1, fmt.Errorf("overlay upperdir %s: %w", o.Upper, err)
		}
		if err := set("workdir", o.Work); err != nil {
			return -1, fmt.Errorf("overlay workdir %s: %w", o.Work, err)
		}
	}
	for _, opt := range o.Options {
		k, v, _ := strings.Cut(opt, "=")
		if err := set(k, v); err != nil {
			return -1, fmt.Errorf("overlay option %s: %w", opt, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("creating the overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("fsmount overlay: %w", err)
	}
	return mfd, nil
}

// idmappedTree is a detached, idmapped copy of the mount at dir.
func idmappedTree(dir string, userns *os.File) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", dir, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("idmapping %s (mount_setattr): %w", dir, err)
	}
	return fd, nil
}

// Probe tells whether the kernel and the filesystem under dir mount overlays over idmapped
// layers: it makes a tiny one over a scratch directory under dir, never attached anywhere, so a
// probe interrupted midway leaves no mount behind.
func Probe(dir string, m Map) error {
	tmp, err := os.MkdirTemp(dir, ".idmap-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{"lower", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	ns, err := UsernsFile(m)
	if err != nil {
		return err
	}
	defer ns.Close()
	o := OverlayMount{Lowers: []string{filepath.Join(tmp, "lower")}, Upper: filepath.Join(tmp, "upper"), Work: filepath.Join(tmp, "work")}
	mfd, err := o.create(ns)
	if err != nil {
		return err
	}
	return unix.Close(mfd)
}

// BindMount attaches at target (an existing file or directory) an idmapped copy of the mount
// tree at src, seen through userns: the files of a host directory appear to the container with
// their on-disk owners as its own IDs, and what its root writes there is stored as owned by 0.
func BindMount(src, target string, userns *os.File) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("idmapping %s (mount_setattr): %w", src, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching the idmapped %s at %s: %w", src, target, err)
	}
	return nil
}
