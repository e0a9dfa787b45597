//go:build linux

package archive

import (
	"errors"
	"os"
	"path"
	"strings"
	"sync"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// resolver turns layer-relative directory names into O_PATH directory file
// descriptors, resolving every path component (symlinks included) as if
// the layer root were the file system root, so that a lookup can never leave
// the root. It uses openat2(RESOLVE_IN_ROOT) and falls back to
// filepath-securejoin's pathrs-lite (which walks with O_PATH handles) on
// kernels without openat2.
//
// Resolved descriptors are cached by name. Resolutions only change when an
// existing path component is removed or replaced, so every removal calls
// invalidate. Descriptors handed out stay open until endEntry: invalidate
// only moves them to a graveyard, so a caller may keep using the
// descriptors it got while processing one entry.
type resolver struct {
	rootFd   int
	rootFile *os.File // for the pathrs-lite fallback, created lazily
	openat2  bool
	cache    map[string]int
	grave    []int
}

const maxCachedDirs = 256

// disableOpenat2 forces the pathrs-lite fallback (tests).
var disableOpenat2 bool

var haveOpenat2 = sync.OnceValue(func() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		// ENOSYS (kernel < 5.6), or EPERM/ENOSYS from a seccomp filter.
		return false
	}
	unix.Close(fd)
	return true
})

func newResolver(rootFd int) *resolver {
	return &resolver{
		rootFd:  rootFd,
		openat2: haveOpenat2() && !disableOpenat2,
		cache:   make(map[string]int),
	}
}

// open resolves the clean, relative, non-"." name p inside the root and
// returns a new O_PATH descriptor of the directory it names.
func (r *resolver) open(p string) (int, error) {
	if r.openat2 {
		how := &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		}
		for i := 0; ; i++ {
			fd, err := unix.Openat2(r.rootFd, p, how)
			// EAGAIN: a concurrent rename somewhere in the file system; the
			// kernel asks us to retry.
			if (err == unix.EAGAIN || err == unix.EINTR) && i < 64 {
				continue
			}
			return fd, err
		}
	}
	if r.rootFile == nil {
		dup, err := unix.FcntlInt(uintptr(r.rootFd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		r.rootFile = os.NewFile(uintptr(dup), "root")
	}
	f, err := pathrs.OpenatInRoot(r.rootFile, p)
	if err != nil {
		var errno unix.Errno
		if errors.As(err, &errno) {
			return -1, errno
		}
		return -1, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, unix.ENOTDIR
	}
	return unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
}

// lookup returns a borrowed descriptor of directory p ("." is the root),
// valid until the next endEntry.
func (r *resolver) lookup(p string) (int, error) {
	if p == "." {
		return r.rootFd, nil
	}
	if fd, ok := r.cache[p]; ok {
		return fd, nil
	}
	fd, err := r.open(p)
	if err != nil {
		return -1, err
	}
	if len(r.cache) >= maxCachedDirs {
		r.invalidate()
	}
	r.cache[p] = fd
	return fd, nil
}

// ensure is lookup, but it creates missing directories with mk (called with
// the already resolved parent and one plain name).
func (r *resolver) ensure(p string, mk func(parent int, name string) error) (int, error) {
	fd, err := r.lookup(p)
	if err != unix.ENOENT {
		return fd, err
	}
	parent := r.rootFd
	end := 0
	for end < len(p) {
		start := end
		if i := strings.IndexByte(p[start:], '/'); i >= 0 {
			end = start + i
		} else {
			end = len(p)
		}
		prefix := p[:end]
		fd, err := r.lookup(prefix)
		if err == unix.ENOENT {
			if err := mk(parent, p[start:end]); err != nil && err != unix.EEXIST {
				return -1, &os.PathError{Op: "mkdir", Path: prefix, Err: err}
			}
			// On EEXIST the name is most likely a dangling symlink;
			// resolving it again fails with ENOENT below.
			fd, err = r.lookup(prefix)
		}
		if err != nil {
			return -1, &os.PathError{Op: "resolve", Path: prefix, Err: err}
		}
		parent = fd
		end++ // skip the slash
	}
	return parent, nil
}

// invalidate forgets all cached resolutions (after something was removed).
func (r *resolver) invalidate() {
	for _, fd := range r.cache {
		r.grave = append(r.grave, fd)
	}
	clear(r.cache)
}

// endEntry closes the descriptors that invalidate retired.
func (r *resolver) endEntry() {
	for _, fd := range r.grave {
		unix.Close(fd)
	}
	r.grave = r.grave[:0]
}

func (r *resolver) close() {
	r.invalidate()
	r.endEntry()
	if r.rootFile != nil {
		r.rootFile.Close()
	}
}

// splitName splits a clean relative name into its parent ("." for the root)
// and its last component.
func splitName(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}
	return name[:i], name[i+1:]
}

// joinName joins a clean relative directory name and a plain name.
func joinName(dir, base string) string {
	if dir == "." {
		return base
	}
	return dir + "/" + base
}

// removeAllAt removes name (and, if it is a directory, everything below it)
// from directory dfd. It never follows symlinks. A missing name is not an
// error.
func removeAllAt(dfd int, name string) error {
	err := unix.Unlinkat(dfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	fd, oerr := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if oerr != nil {
		if oerr == unix.ENOTDIR || oerr == unix.ELOOP {
			return err // not a directory after all: report the unlink error
		}
		return oerr
	}
	names, rerr := readDirNames(fd)
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil && rerr == nil {
			rerr = err
		}
	}
	unix.Close(fd)
	if rerr != nil {
		return rerr
	}
	err = unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
	if err == unix.ENOENT {
		return nil
	}
	return err
}

// readDirNames returns the names in the directory opened (O_RDONLY) as fd,
// without "." and "..".
func readDirNames(fd int) ([]string, error) {
	buf := make([]byte, 16<<10)
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return names, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// cleanName validates and cleans a tar entry name. It returns "." for the
// root itself.
func cleanName(raw string) (string, error) {
	if strings.IndexByte(raw, 0) >= 0 {
		return "", &BreakoutError{Entry: raw, Reason: "has a NUL byte in its name"}
	}
	if strings.HasPrefix(raw, "/") {
		return "", &BreakoutError{Entry: raw, Reason: "is outside the layer root (absolute name)"}
	}
	c := path.Clean(raw)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", &BreakoutError{Entry: raw, Reason: "is outside the layer root"}
	}
	return c, nil
}
