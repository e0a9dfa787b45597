//go:build linux

package archive

import (
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Root is a directory that paths are resolved in as if it were "/": a
// running container's root filesystem, which the container may change
// while the host works in it. Every lookup goes through descriptors
// (openat2 with RESOLVE_IN_ROOT, or pathrs-lite's O_PATH walk), and what
// a lookup finds is held by descriptor from then on, so a symlink that the
// container swaps in (CVE-2018-15664) is followed inside the root or not
// at all: never out of it.
type Root struct {
	fd  int
	res *resolver
}

// OpenRoot opens dir (a host path that the caller trusts) as a Root.
func OpenRoot(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Root{fd: fd, res: newResolver(fd)}, nil
}

// Close releases the root's descriptors.
func (r *Root) Close() error {
	r.res.close()
	return unix.Close(r.fd)
}

// maxSymlinkHops is the kernel's limit (MAXSYMLINKS).
const maxSymlinkHops = 40

// Entry is what a lookup found: one name in a directory held open by
// descriptor. It stays that directory's entry whatever the path leading to
// it becomes meanwhile.
type Entry struct {
	dir  int    // O_PATH descriptor of the directory holding it
	base string // its name there; "." when it is the root itself
	st   unix.Stat_t
	// Path is the clean absolute path inside the root where the entry was
	// found (after following a final symlink, the target's path).
	Path string
}

// Lookup finds p (a "/"-separated path inside the root; ".." never climbs
// above it) as a process chrooted to the root would: symlinks among its
// parents are followed inside the root; a final symlink is followed (its
// target resolved inside the root again, up to 40 times) only with follow.
// A missing entry is an error satisfying errors.Is(err, fs.ErrNotExist): a
// *os.PathError naming, inside the root, the path that was missing (p
// cleaned, or where a followed symlink led), never a host path.
func (r *Root) Lookup(p string, follow bool) (*Entry, error) {
	clean := path.Clean("/" + p)
	for hops := 0; ; hops++ {
		e := &Entry{base: ".", Path: clean, dir: -1}
		rel := strings.TrimPrefix(clean, "/")
		var err error
		if rel == "" {
			e.dir, err = unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
		} else {
			var dir string
			dir, e.base = splitName(rel)
			if dir == "." {
				e.dir, err = unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
			} else {
				e.dir, err = r.res.open(dir)
			}
		}
		if err == nil {
			err = unix.Fstatat(e.dir, e.base, &e.st, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			e.Close()
			return nil, &os.PathError{Op: "lstat", Path: clean, Err: err}
		}
		if !follow || e.st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return e, nil
		}
		target, err := readlinkat(e.dir, e.base)
		e.Close()
		if err == nil && hops >= maxSymlinkHops {
			err = unix.ELOOP
		}
		if err != nil {
			return nil, &os.PathError{Op: "stat", Path: clean, Err: err}
		}
		if path.IsAbs(target) {
			clean = path.Clean(target)
		} else {
			clean = path.Join(path.Dir(clean), target)
		}
	}
}

// Close releases the entry's descriptor.
func (e *Entry) Close() {
	if e.dir >= 0 {
		unix.Close(e.dir)
		e.dir = -1
	}
}

// Mode is the entry's type and permissions, as fs.FileInfo reports them.
func (e *Entry) Mode() fs.FileMode {
	m := fs.FileMode(e.st.Mode & 0o777)
	switch e.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	}
	return m
}

// IsDir says whether the entry is a directory.
func (e *Entry) IsDir() bool { return e.st.Mode&unix.S_IFMT == unix.S_IFDIR }

// Size is the entry's size in bytes.
func (e *Entry) Size() int64 { return e.st.Size }

// ModTime is the entry's modification time.
func (e *Entry) ModTime() time.Time { return time.Unix(e.st.Mtim.Unix()) }

// Readlink is a symlink entry's target, as stored.
func (e *Entry) Readlink() (string, error) { return readlinkat(e.dir, e.base) }

// WriteTar writes the entry (and, for a directory, everything below it) to
// w as a tar stream, the entry named name; with name "" a directory's
// content only, at the top of the stream. Times are in whole seconds, user
// and group names left out, sockets skipped, hard links within the tree
// kept, as `docker cp` and `docker export` do. See treeWriter for what
// happens when the tree changes meanwhile.
func (e *Entry) WriteTar(w io.Writer, name string) error {
	return e.WriteTarWith(w, name, TarOptions{})
}

// TarOptions shape the headers of a stream written by WriteTarWith.
type TarOptions struct {
	// Names gives the user and group names stored with an entry's owner ("" for none), as
	// Docker's archives of a container name them from its /etc/passwd and /etc/group.
	Names func(uid, gid int) (uname, gname string)
	// TypeBits keeps the file type in the mode (0o40755 for a directory), as Go's
	// tar.FileInfoHeader and so Docker's archives have it.
	TypeBits bool
}

// WriteTarWith is WriteTar with the headers shaped by o.
func (e *Entry) WriteTarWith(w io.Writer, name string, o TarOptions) error {
	return writeTar(w, "tar", false, func(t *treeWriter) error {
		t.opts = o
		if name != "" {
			return t.tree(e.dir, e.base, name)
		}
		fd, err := unix.Openat(e.dir, e.base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return t.errorf("%w", &os.PathError{Op: "open", Path: e.Path, Err: err})
		}
		f := os.NewFile(uintptr(fd), e.Path)
		defer f.Close()
		return t.walk(f, "")
	})
}

// Apply unpacks the tar stream r into the entry, a directory (see ApplyAt).
func (e *Entry) Apply(r io.Reader, opts ApplyOptions) (int64, error) {
	fd, err := unix.Openat(e.dir, e.base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: e.Path, Err: err}
	}
	defer unix.Close(fd)
	return ApplyAt(fd, r, opts)
}

// ApplyBeside unpacks the tar stream r into the directory that holds the
// entry, so that an entry of the stream named like the entry replaces it.
func (e *Entry) ApplyBeside(r io.Reader, opts ApplyOptions) (int64, error) {
	return ApplyAt(e.dir, r, opts)
}

// Base is the entry's name in its directory ("/" for the root itself).
func (e *Entry) Base() string {
	if e.base == "." {
		return "/"
	}
	return e.base
}

// Open opens the regular file p of the root for reading, a final symlink
// followed inside the root.
func (r *Root) Open(p string) (*os.File, error) {
	e, err := r.Lookup(p, true)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if e.st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &os.PathError{Op: "open", Path: e.Path, Err: unix.EINVAL}
	}
	fd, err := unix.Openat(e.dir, e.base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: e.Path, Err: err}
	}
	return os.NewFile(uintptr(fd), e.Path), nil
}

// Owner is the entry's uid and gid.
func (e *Entry) Owner() (uid, gid int) { return int(e.st.Uid), int(e.st.Gid) }

// MkdirAll creates the directories of p that are missing, each with mode
// and owned by uid:gid, as a process chrooted to the root would: symlinks
// on the way are followed inside the root, a dangling one by creating
// where it leads (as Docker creates a working directory). It walks one
// component at a time from the root's descriptor, with O_NOFOLLOW.
func (r *Root) MkdirAll(p string, mode uint32, uid, gid int) error {
	todo := path.Clean("/" + p)
	for hops := 0; ; hops++ {
		target, err := r.mkdirWalk(todo, mode, uid, gid)
		if err != nil || target == "" {
			return err
		}
		if hops >= maxSymlinkHops {
			return &os.PathError{Op: "mkdir", Path: p, Err: unix.ELOOP}
		}
		todo = target
	}
}

// mkdirWalk creates the missing directories of the clean absolute path
// todo until a symlink: then it returns the path to walk instead.
func (r *Root) mkdirWalk(todo string, mode uint32, uid, gid int) (string, error) {
	cur, err := unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer func() { unix.Close(cur) }()
	comps := strings.Split(strings.TrimPrefix(todo, "/"), "/")
	done := "/"
	for i, c := range comps {
		if c == "" {
			continue
		}
		var st unix.Stat_t
		err := unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT {
			if err = unix.Mkdirat(cur, c, mode); err == nil {
				err = unix.Fchownat(cur, c, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
			} else if err == unix.EEXIST {
				err = nil
			}
			if err == nil {
				err = unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		if err != nil {
			return "", &os.PathError{Op: "mkdir", Path: path.Join(done, c), Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := readlinkat(cur, c)
			if err != nil {
				return "", &os.PathError{Op: "readlink", Path: path.Join(done, c), Err: err}
			}
			rest := path.Join(comps[i+1:]...)
			if path.IsAbs(target) {
				return path.Join("/", target, rest), nil
			}
			return path.Join(done, target, rest), nil
		case unix.S_IFDIR:
			next, err := unix.Openat(cur, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return "", &os.PathError{Op: "open", Path: path.Join(done, c), Err: err}
			}
			unix.Close(cur)
			cur = next
			done = path.Join(done, c)
		default:
			return "", &os.PathError{Op: "mkdir", Path: path.Join(done, c), Err: unix.ENOTDIR}
		}
	}
	return "", nil
}
