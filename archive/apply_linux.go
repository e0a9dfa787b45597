//go:build linux

package archive

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	whiteoutOpaqueDir  = ".wh..wh..opq"
	paxSchilyXattr     = "SCHILY.xattr."

	// impliedDirMode is the mode of parent directories that a layer does
	// not list but needs (moby's ImpliedDirectoryMode).
	impliedDirMode = 0o755

	copyBufferSize = 1 << 20
)

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Apply unpacks the uncompressed layer tar stream r into the directory root
// and returns the layer size as Docker reports it (see entrySize). See the package documentation for the
// guarantees. After the end-of-archive marker Apply reads r to EOF, so that
// a decompressor or digest verifier upstream sees the whole stream.
//
// On error the tree below root may hold part of the layer; nothing outside
// root is ever touched.
func Apply(root string, r io.Reader, opts ApplyOptions) (size int64, err error) {
	root, err = filepath.Abs(root)
	if err != nil {
		return 0, fmt.Errorf("archive: %w", err)
	}
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("archive: opening layer root: %w", &os.PathError{Op: "open", Path: root, Err: err})
	}
	defer unix.Close(rootFd)
	return ApplyAt(rootFd, r, opts)
}

// ApplyAt is Apply into the directory open as rootFd (any descriptor of
// it, O_PATH included; the caller keeps it). A directory found by a
// descriptor walk (Root.Lookup) stays the one written into even if its
// path is renamed or exchanged with a symlink meanwhile.
func ApplyAt(rootFd int, r io.Reader, opts ApplyOptions) (size int64, err error) {
	if opts.Whiteout != WhiteoutOverlay && opts.Whiteout != WhiteoutApply && opts.Whiteout != WhiteoutNone {
		return 0, fmt.Errorf("archive: ApplyOptions.Whiteout must be WhiteoutOverlay, WhiteoutApply or WhiteoutNone, not %v", opts.Whiteout)
	}
	a := &applier{
		opts: opts,
		res:  newResolver(rootFd),
	}
	defer a.res.close()
	bufp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bufp)
	a.buf = *bufp
	if opts.Whiteout == WhiteoutApply {
		a.unpacked = make(map[string]struct{})
		a.ancestors = make(map[string]struct{})
	}
	a.rootUID, a.rootGID = -1, -1
	if opts.IDMap != nil {
		a.rootUID, a.rootGID, err = opts.IDMap(0, 0)
		if err != nil {
			return 0, fmt.Errorf("archive: mapping root IDs: %w", err)
		}
	}
	a.mkImplied = a.mkdirImplied

	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, peekSize)
	}
	tr := tar.NewReader(br)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("archive: reading layer tar: %w", err)
		}
		size += entrySize(hdr)
		if opts.Sparse != nil && isSparse(hdr) {
			*opts.Sparse = true
		}
		err = a.entry(hdr, tr)
		a.res.endEntry()
		if err != nil {
			return 0, err
		}
	}
	if err := a.finishDirs(); err != nil {
		return 0, err
	}
	if _, err := io.CopyBuffer(io.Discard, br, a.buf); err != nil {
		return 0, fmt.Errorf("archive: reading past the end of the layer tar: %w", err)
	}
	return size, nil
}

type dirTimes struct {
	name string
	ts   [2]unix.Timespec
}

type applier struct {
	opts      ApplyOptions
	res       *resolver
	buf       []byte
	dirs      []dirTimes
	unpacked  map[string]struct{} // WhiteoutApply: names this layer wrote
	ancestors map[string]struct{} // WhiteoutApply: their parent directories
	rootUID   int
	rootGID   int
	mkImplied func(parent int, name string) error
}

func entryErr(hdr *tar.Header, err error) error {
	return fmt.Errorf("archive: entry %q: %w", hdr.Name, err)
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // ignored, as Docker does
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		// The root's own entry: Docker skips it too; the root belongs to
		// the caller.
		return nil
	}
	dir, base := splitName(name)
	if a.opts.Whiteout != WhiteoutNone {
		if strings.Contains(name, whiteoutMetaPrefix) && isWhiteoutMeta(name) {
			return nil
		}
		switch {
		case base == whiteoutOpaqueDir:
			return a.opaque(hdr, dir)
		case strings.HasPrefix(base, whiteoutPrefix):
			return a.whiteout(hdr, dir, base[len(whiteoutPrefix):])
		}
	}
	if err := a.create(hdr, name, dir, base, r); err != nil {
		return err
	}
	if a.unpacked != nil {
		a.unpacked[name] = struct{}{}
		for d := dir; d != "."; d, _ = splitName(d) {
			if _, ok := a.ancestors[d]; ok {
				break
			}
			a.ancestors[d] = struct{}{}
		}
	}
	return nil
}

// isWhiteoutMeta reports whether a clean name is (or is below) a whiteout
// metadata entry such as ".wh..wh.plnk" or ".wh..wh.aufs", other than an
// opaque marker ("dir/.wh..wh..opq").
func isWhiteoutMeta(name string) bool {
	for {
		i := strings.IndexByte(name, '/')
		if i < 0 {
			return strings.HasPrefix(name, whiteoutMetaPrefix) && name != whiteoutOpaqueDir
		}
		if strings.HasPrefix(name[:i], whiteoutMetaPrefix) {
			return true
		}
		name = name[i+1:]
	}
}

func (a *applier) mkdirImplied(parent int, name string) error {
	if err := unix.Mkdirat(parent, name, impliedDirMode); err != nil {
		return err
	}
	// Not subject to the umask, as in moby.
	if err := unix.Fchmodat(parent, name, impliedDirMode, 0); err != nil {
		return err
	}
	if a.rootUID >= 0 {
		return unix.Fchownat(parent, name, a.rootUID, a.rootGID, unix.AT_SYMLINK_NOFOLLOW)
	}
	return nil
}

func (a *applier) ids(hdr *tar.Header) (int, int, error) {
	uid, gid := hdr.Uid, hdr.Gid
	if a.opts.IDMap != nil {
		var err error
		uid, gid, err = a.opts.IDMap(uid, gid)
		if err != nil {
			return 0, 0, fmt.Errorf("mapping uid %d gid %d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	// -1 (0xffffffff) means "leave unchanged" to chown.
	if uid < 0 || gid < 0 || uint64(uid) >= 1<<32-1 || uint64(gid) >= 1<<32-1 {
		return 0, 0, fmt.Errorf("invalid owner %d:%d", uid, gid)
	}
	return uid, gid, nil
}

// opaque handles "dir/.wh..wh..opq".
func (a *applier) opaque(hdr *tar.Header, dir string) error {
	dfd, err := a.whiteoutDir(dir)
	if err != nil {
		return entryErr(hdr, err)
	}
	if dfd < 0 {
		return nil
	}
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return entryErr(hdr, err)
	}
	defer unix.Close(fd)
	if a.opts.Whiteout == WhiteoutOverlay {
		attr := "trusted.overlay.opaque"
		if a.opts.UserXattr {
			attr = "user.overlay.opaque"
		}
		if err := unix.Fsetxattr(fd, attr, []byte{'y'}, 0); err != nil {
			return entryErr(hdr, fmt.Errorf("setxattr %s=y on %q: %w", attr, dir, err))
		}
		return nil
	}
	a.res.invalidate()
	if err := a.clearDir(fd, dir); err != nil {
		return entryErr(hdr, err)
	}
	return nil
}

// clearDir removes everything below the directory fd (named rel) that this
// layer did not write, keeping the directories that lead to what it wrote.
func (a *applier) clearDir(fd int, rel string) error {
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := joinName(rel, n)
		_, wrote := a.unpacked[p]
		_, anc := a.ancestors[p]
		if !wrote && !anc {
			if err := removeAllAt(fd, n); err != nil {
				return fmt.Errorf("removing %q: %w", p, err)
			}
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		cfd, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		err = a.clearDir(cfd, p)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}

// whiteoutDir resolves the directory of a whiteout or opaque marker. In
// overlay mode it is created if missing; in apply mode a missing directory
// has nothing to delete, and whiteoutDir returns -1 and no error.
func (a *applier) whiteoutDir(dir string) (int, error) {
	if a.opts.Whiteout == WhiteoutOverlay {
		return a.res.ensure(dir, a.mkImplied)
	}
	fd, err := a.res.lookup(dir)
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return -1, nil
	}
	return fd, err
}

// whiteout handles "dir/.wh.target".
func (a *applier) whiteout(hdr *tar.Header, dir, target string) error {
	if target == "" || target == "." || target == ".." {
		return &BreakoutError{Entry: hdr.Name, Reason: "is an invalid whiteout"}
	}
	dfd, err := a.whiteoutDir(dir)
	if err != nil {
		return entryErr(hdr, err)
	}
	if dfd < 0 {
		return nil
	}
	if a.opts.Whiteout == WhiteoutApply {
		a.res.invalidate()
		if err := removeAllAt(dfd, target); err != nil {
			return entryErr(hdr, fmt.Errorf("removing %q: %w", joinName(dir, target), err))
		}
		return nil
	}
	uid, gid, err := a.ids(hdr)
	if err != nil {
		return entryErr(hdr, err)
	}
	if err := a.removeExisting(dfd, target, false); err != nil {
		return entryErr(hdr, err)
	}
	if err := unix.Mknodat(dfd, target, unix.S_IFCHR, 0); err != nil {
		return entryErr(hdr, fmt.Errorf("creating overlay whiteout %q: %w", joinName(dir, target), err))
	}
	if err := unix.Fchownat(dfd, target, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return entryErr(hdr, err)
	}
	return nil
}

// removeExisting removes name from dfd, unless it is a directory and
// keepDir is set (a directory entry over a directory merges into it).
func (a *applier) removeExisting(dfd int, name string, keepDir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFDIR && keepDir {
		return nil
	}
	if typ == unix.S_IFDIR || typ == unix.S_IFLNK {
		// Cached resolutions may go through it.
		a.res.invalidate()
	}
	return removeAllAt(dfd, name)
}

func (a *applier) create(hdr *tar.Header, name, dir, base string, r io.Reader) error {
	var tdir, tbase string // hard link target
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeGNUSparse, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	case tar.TypeSymlink:
		if hdr.Linkname == "" {
			return entryErr(hdr, errors.New("symlink with an empty target"))
		}
		if !strings.HasPrefix(hdr.Linkname, "/") {
			t := joinName(dir, hdr.Linkname)
			if t = filepath.Clean(t); t == ".." || strings.HasPrefix(t, "../") {
				return &BreakoutError{Entry: hdr.Name, Reason: fmt.Sprintf("is an invalid symlink: target %q is outside the layer root", hdr.Linkname)}
			}
		}
	case tar.TypeLink:
		t := filepath.Clean(strings.TrimLeft(hdr.Linkname, "/"))
		if t == ".." || strings.HasPrefix(t, "../") || strings.IndexByte(t, 0) >= 0 {
			return &BreakoutError{Entry: hdr.Name, Reason: fmt.Sprintf("is an invalid hard link: target %q is outside the layer root", hdr.Linkname)}
		}
		if t == "." {
			return entryErr(hdr, fmt.Errorf("invalid hard link target %q", hdr.Linkname))
		}
		tdir, tbase = splitName(t)
	default:
		return entryErr(hdr, fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag))
	}
	uid, gid, err := a.ids(hdr)
	if err != nil {
		return entryErr(hdr, err)
	}
	pfd, err := a.res.ensure(dir, a.mkImplied)
	if err != nil {
		return entryErr(hdr, err)
	}
	if a.opts.NoOverwriteDirNonDir {
		if err := noOverwriteDirNonDir(pfd, base, hdr.Typeflag == tar.TypeDir); err != nil {
			if oe, ok := err.(*OverwriteError); ok {
				oe.Path = joinName(dir, base)
			}
			return entryErr(hdr, err)
		}
	}
	if err := a.removeExisting(pfd, base, hdr.Typeflag == tar.TypeDir); err != nil {
		return entryErr(hdr, fmt.Errorf("replacing existing entry: %w", err))
	}

	mode := uint32(hdr.Mode & 0o7777)
	ts, err := timespecs(hdr)
	if err != nil {
		return entryErr(hdr, err)
	}
	isSymlink := hdr.Typeflag == tar.TypeSymlink
	isDir := hdr.Typeflag == tar.TypeDir
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse:
		if err := a.writeFile(hdr, pfd, base, r, uid, gid, mode, &ts); err != nil {
			return entryErr(hdr, err)
		}
		return nil
	case tar.TypeDir:
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil && err != unix.EEXIST {
			return entryErr(hdr, err)
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return entryErr(hdr, err)
		}
	case tar.TypeLink:
		tfd, err := a.res.lookup(tdir)
		if err != nil {
			return entryErr(hdr, fmt.Errorf("hard link target %q: %w", hdr.Linkname, err))
		}
		if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
			return entryErr(hdr, fmt.Errorf("hard link to %q: %w", hdr.Linkname, err))
		}
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return entryErr(hdr, err)
		}
		isSymlink = st.Mode&unix.S_IFMT == unix.S_IFLNK
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		typ := uint32(unix.S_IFIFO)
		if hdr.Typeflag == tar.TypeChar {
			typ = unix.S_IFCHR
		} else if hdr.Typeflag == tar.TypeBlock {
			typ = unix.S_IFBLK
		}
		if hdr.Devmajor < 0 || hdr.Devminor < 0 || hdr.Devmajor > 0xfff || hdr.Devminor > 0xfffff {
			return entryErr(hdr, fmt.Errorf("invalid device number %d:%d", hdr.Devmajor, hdr.Devminor))
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, typ|mode, int(dev)); err != nil {
			if err == unix.EPERM {
				// Not allowed to create device nodes (user namespace):
				// skip them, as Docker does.
				return nil
			}
			return entryErr(hdr, err)
		}
	}

	if !a.opts.NoChown {
		if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return entryErr(hdr, fmt.Errorf("lchown %d:%d: %w%s", uid, gid, err, unmappedHint(err)))
		}
	}
	if err := a.setXattrsAt(hdr, pfd, base); err != nil {
		return entryErr(hdr, err)
	}
	if !isSymlink {
		// After chown, which clears the setuid/setgid bits.
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return entryErr(hdr, err)
		}
	}
	switch {
	case isDir:
		// Set last, once nothing is created in it any more.
		a.dirs = append(a.dirs, dirTimes{name: name, ts: ts})
	case isSymlink && hdr.Typeflag == tar.TypeLink:
		// A hard link to a symlink: leave the symlink's times, like Docker.
	default:
		if err := unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return entryErr(hdr, err)
		}
	}
	return nil
}

func timespecs(hdr *tar.Header) ([2]unix.Timespec, error) {
	atime := hdr.AccessTime
	if atime.Before(hdr.ModTime) {
		atime = hdr.ModTime
	}
	at, err := unix.TimeToTimespec(atime)
	if err != nil {
		return [2]unix.Timespec{}, err
	}
	mt, err := unix.TimeToTimespec(hdr.ModTime)
	if err != nil {
		return [2]unix.Timespec{}, err
	}
	return [2]unix.Timespec{at, mt}, nil
}

// writeFile creates a regular file and streams its content, then sets its
// metadata through the open descriptor.
func (a *applier) writeFile(hdr *tar.Header, pfd int, base string, r io.Reader, uid, gid int, mode uint32, ts *[2]unix.Timespec) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if isSparse(hdr) {
		if err := copySparseToFd(fd, r, a.buf); err != nil {
			return err
		}
	} else if err := copyToFd(fd, r, a.buf); err != nil {
		return err
	}
	if !a.opts.NoChown {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return fmt.Errorf("chown %d:%d: %w%s", uid, gid, err, unmappedHint(err))
		}
	}
	if err := a.setXattrs(hdr, func(attr string, val []byte) error {
		return unix.Fsetxattr(fd, attr, val, 0)
	}); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		return err
	}
	return unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW)
}

// copyToFd copies r to fd, filling buf before each write so that files
// are written in chunks of len(buf) bytes whatever the reader returns.
func copyToFd(fd int, r io.Reader, buf []byte) error {
	for {
		n := 0
		var rerr error
		for n < len(buf) && rerr == nil {
			var m int
			m, rerr = r.Read(buf[n:])
			n += m
		}
		if err := writeAll(fd, buf[:n]); err != nil {
			return err
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		w, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if w == 0 {
			return io.ErrShortWrite
		}
		b = b[w:]
	}
	return nil
}

const sparseSegment = 64 << 10

// isSparse reports a GNU sparse entry (old GNU format or PAX GNU.sparse.*).
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// copySparseToFd is copyToFd for sparse entries: chunks that are all zero
// become holes instead of writes, so a tiny sparse entry that claims a huge
// size does not fill the disk with zeros.
func copySparseToFd(fd int, r io.Reader, buf []byte) error {
	var off int64
	for {
		n := 0
		var rerr error
		for n < len(buf) && rerr == nil {
			var m int
			m, rerr = r.Read(buf[n:])
			n += m
		}
		// Holes are found with 64 KiB granularity.
		for seg := 0; seg < n; seg += sparseSegment {
			b := buf[seg:min(seg+sparseSegment, n)]
			if isZero(b) {
				if _, err := unix.Seek(fd, int64(len(b)), io.SeekCurrent); err != nil {
					return err
				}
			} else if err := writeAll(fd, b); err != nil {
				return err
			}
			off += int64(len(b))
		}
		if rerr == io.EOF {
			return unix.Ftruncate(fd, off)
		}
		if rerr != nil {
			return rerr
		}
	}
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// xattrFiltered reports the extended attributes that a layer may not set:
// overlayfs' own metadata (opaque, redirect, metacopy, origin, ...), which
// would let image content rewrite the layer semantics.
func xattrFiltered(attr string) bool {
	return strings.HasPrefix(attr, "trusted.overlay.") || strings.HasPrefix(attr, "user.overlay.")
}

func hasXattrs(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxSchilyXattr) {
			return true
		}
	}
	return false
}

// setXattrs applies the SCHILY.xattr.* PAX records with set. Like moby, it
// ignores EPERM always and ENOTSUP with BestEffortXattrs.
func (a *applier) setXattrs(hdr *tar.Header, set func(attr string, val []byte) error) error {
	if !hasXattrs(hdr) {
		return nil
	}
	keys := make([]string, 0, len(hdr.PAXRecords))
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxSchilyXattr) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		attr := k[len(paxSchilyXattr):]
		if xattrFiltered(attr) {
			continue
		}
		if err := set(attr, []byte(hdr.PAXRecords[k])); err != nil {
			if err == unix.EPERM || (a.opts.BestEffortXattrs && err == unix.ENOTSUP) {
				continue
			}
			return fmt.Errorf("setxattr %q: %w", attr, err)
		}
	}
	return nil
}

// setXattrsAt sets the xattrs of a non-regular entry base in directory pfd.
// Directories and regular files (hard links) are opened; symlinks, devices
// and fifos, which must not be opened, are reached as /proc/self/fd/PFD/BASE:
// the magic link is the directory pfd holds whatever has been renamed since,
// and the l*xattr calls do not follow BASE.
func (a *applier) setXattrsAt(hdr *tar.Header, pfd int, base string) error {
	if !hasXattrs(hdr) {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR, unix.S_IFREG:
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return a.setXattrs(hdr, func(attr string, val []byte) error {
			return unix.Fsetxattr(fd, attr, val, 0)
		})
	}
	p := fdPath(pfd, base)
	return a.setXattrs(hdr, func(attr string, val []byte) error {
		return unix.Lsetxattr(p, attr, val, 0)
	})
}

// fdPath names entry base of the directory open as dfd by a path that
// cannot be redirected: /proc/self/fd/DFD is the directory itself.
func fdPath(dfd int, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(dfd) + "/" + base
}

// noOverwriteDirNonDir fails when an existing base in dfd and the new
// entry are not both directories or both non-directories.
func noOverwriteDirNonDir(dfd int, base string, isDir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	if exists := st.Mode&unix.S_IFMT == unix.S_IFDIR; exists != isDir {
		return &OverwriteError{Path: base, Dir: exists}
	}
	return nil
}

// finishDirs sets the times of the directories the layer listed.
func (a *applier) finishDirs() error {
	for _, d := range a.dirs {
		dir, base := splitName(d.name)
		pfd, err := a.res.lookup(dir)
		if err == nil {
			err = unix.UtimesNanoAt(pfd, base, d.ts[:], unix.AT_SYMLINK_NOFOLLOW)
		}
		a.res.endEntry()
		if err == unix.ENOENT || err == unix.ENOTDIR {
			continue // removed or replaced later in the layer
		}
		if err != nil {
			return fmt.Errorf("archive: setting times of %q: %w", d.name, err)
		}
	}
	return nil
}

// entrySize is what an entry adds to the layer's size as Docker measures an overlay2 layer (the
// size of its diff directory): a regular file its bytes, a symlink the length of its target,
// everything else (directories, hard links, devices, whiteouts) nothing. For the busybox rootfs
// Docker reports 1984241 bytes: 1982365 of files plus 268 symlinks to "busybox".
func entrySize(hdr *tar.Header) int64 {
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return int64(len(hdr.Linkname))
	case tar.TypeReg, tar.TypeGNUSparse:
		return hdr.Size
	}
	return 0
}

// unmappedHint explains chown's EINVAL, which only an ID the caller's user namespace does not map
// gives (in rootless mode: an image using IDs beyond the user's subordinate ranges).
func unmappedHint(err error) string {
	if err == unix.EINVAL {
		return " (the ID is not mapped in this user namespace: in rootless mode, give the user more IDs in /etc/subuid and /etc/subgid)"
	}
	return ""
}
