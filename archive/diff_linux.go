//go:build linux

package archive

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Diff turns an overlayfs upper directory into an OCI layer tar stream:
// overlay whiteouts (0:0 character devices) become ".wh.NAME" entries,
// directories marked opaque (trusted.overlay.opaque=y, or
// user.overlay.opaque=y) are followed by a ".wh..wh..opq" entry, hard links
// within the directory are kept as hard links, and entries come in a
// deterministic order (depth first, names sorted bytewise, each directory
// before its content). Times are truncated to seconds and user and group
// names are left out, as Docker does, so the same tree gives the same tar.
//
// Extended attributes are kept except overlayfs' own (trusted.overlay.*,
// user.overlay.*) and security.selinux. Sockets are skipped. Upper
// directories of mounts with metacopy or redirect_dir, whose entries refer
// to data in lower layers, are rejected. The walk works on descriptors (see
// treeWriter), so a tree that changes while it is read can make Diff fail
// or miss an entry but never read outside the directory; for a consistent
// layer, stop or pause the container first.
//
// The tar is produced by a goroutine as the caller reads; Close stops it.
func Diff(upper string) (io.ReadCloser, error) {
	f, err := os.OpenFile(upper, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("archive: diff: %s is not a directory", upper)
		}
		return nil, fmt.Errorf("archive: diff: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		pw.CloseWithError(writeTar(pw, "diff", true, func(t *treeWriter) error { return t.walk(f, "") }))
	}()
	return pr, nil
}

// writeTar runs fn with a treeWriter on w, then ends the tar.
func writeTar(w io.Writer, op string, layer bool, fn func(t *treeWriter) error) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	t := &treeWriter{
		op:    op,
		layer: layer,
		tw:    tar.NewWriter(bw),
		links: make(map[fileID]string),
		buf:   make([]byte, copyBufferSize),
	}
	err := fn(t)
	if err == nil {
		err = t.tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	return err
}

type fileID struct{ dev, ino uint64 }

// treeWriter writes a directory tree as tar entries using descriptors only:
// each directory is opened relative to its parent's descriptor with
// O_NOFOLLOW, each entry is examined with *at calls that do not follow it,
// files are opened O_NOFOLLOW and checked to be the inode examined, and
// xattrs are read through /proc/self/fd/DIR/NAME. An entry that a running
// container renames or exchanges with a symlink meanwhile is read as what
// it is now, or the walk fails; it never leads outside the tree.
type treeWriter struct {
	op    string // for errors: "diff", "tar"
	layer bool   // an overlay upper dir: whiteouts and opaque dirs as AUFS entries
	tw    *tar.Writer
	links map[fileID]string
	buf   []byte
	opts  TarOptions
}

func (t *treeWriter) errorf(format string, args ...any) error {
	return fmt.Errorf("archive: "+t.op+": "+format, args...)
}

// walk writes the content of directory dir, whose entries are named below
// name ("" for the top of the stream).
func (t *treeWriter) walk(dir *os.File, name string) error {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return t.errorf("%s: %w", displayName(name), err)
	}
	sort.Strings(names)
	dfd := int(dir.Fd())
	for _, n := range names {
		if err := t.tree(dfd, n, joinTarName(name, n)); err != nil {
			return err
		}
	}
	return nil
}

// tree writes entry base of directory dfd as name and, if it is a
// directory, everything below it.
func (t *treeWriter) tree(dfd int, base, name string) error {
	isDir, ino, err := t.entry(dfd, base, name)
	if err != nil || !isDir {
		return err
	}
	fd, err := unix.Openat(dfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return t.errorf("%s: %w", name, err)
	}
	sub := os.NewFile(uintptr(fd), name)
	defer sub.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return t.errorf("%s: %w", name, err)
	}
	if st.Ino != ino.ino || uint64(st.Dev) != ino.dev {
		return t.errorf("%s changed while it was read", name)
	}
	return t.walk(sub, name)
}

func joinTarName(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

func displayName(name string) string {
	if name == "" {
		return "."
	}
	return name
}

// entry writes the header (and data) of entry base of directory dfd as
// name, and says whether it is a directory and which one.
func (t *treeWriter) entry(dfd int, base, name string) (isDir bool, id fileID, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, id, t.errorf("%w", &os.PathError{Op: "lstat", Path: name, Err: err})
	}
	id = fileID{uint64(st.Dev), st.Ino}
	xattrs, err := readXattrs(fdPath(dfd, base))
	if err != nil {
		return false, id, t.errorf("%s: %w", name, err)
	}
	opaque := false
	if t.layer {
		if _, ok := xattrs["trusted.overlay.metacopy"]; ok {
			return false, id, t.errorf("%s is an overlay metacopy file (mounted with metacopy=on): its data is in a lower layer", name)
		}
		if _, ok := xattrs["trusted.overlay.redirect"]; ok {
			return false, id, t.errorf("%s is an overlay redirect (mounted with redirect_dir=on)", name)
		}
		opaque = xattrs["trusted.overlay.opaque"] == "y" || xattrs["user.overlay.opaque"] == "y"
	}

	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()).Truncate(time.Second),
		Format:  tar.FormatPAX,
	}
	if t.opts.TypeBits {
		hdr.Mode |= int64(st.Mode & unix.S_IFMT)
	}
	if t.opts.Names != nil {
		hdr.Uname, hdr.Gname = t.opts.Names(hdr.Uid, hdr.Gid)
	}
	for k, v := range xattrs {
		if xattrFiltered(k) || k == "security.selinux" {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = make(map[string]string)
		}
		hdr.PAXRecords[paxSchilyXattr+k] = v
	}

	var data *os.File
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		isDir = true
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
		if hdr.Linkname, err = readlinkat(dfd, base); err != nil {
			return false, id, t.errorf("%w", &os.PathError{Op: "readlink", Path: name, Err: err})
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if t.layer && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			// Overlay whiteout.
			dir, wbase := splitName(name)
			return false, id, t.write(&tar.Header{
				Typeflag: tar.TypeReg,
				Name:     joinName(dir, whiteoutPrefix+wbase),
				Mode:     0o600,
				Uid:      hdr.Uid,
				Gid:      hdr.Gid,
				ModTime:  hdr.ModTime,
				Format:   tar.FormatPAX,
			}, nil)
		}
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(st.Rdev))
		hdr.Devminor = int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFSOCK:
		return false, id, nil // sockets cannot be archived (Docker skips them too)
	case unix.S_IFREG:
		if st.Nlink > 1 {
			if first, ok := t.links[id]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				break
			}
			t.links[id] = name
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
		if hdr.Size > 0 {
			fd, err := unix.Openat(dfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			if err != nil {
				return false, id, t.errorf("%w", &os.PathError{Op: "open", Path: name, Err: err})
			}
			data = os.NewFile(uintptr(fd), name)
			defer data.Close()
			var fst unix.Stat_t
			if err := unix.Fstat(fd, &fst); err != nil {
				return false, id, t.errorf("%s: %w", name, err)
			}
			if fst.Ino != st.Ino || fst.Dev != st.Dev {
				return false, id, t.errorf("%s changed while it was read", name)
			}
		}
	default:
		return false, id, t.errorf("%s: unsupported file type %o", name, st.Mode&unix.S_IFMT)
	}
	if err := t.write(hdr, data); err != nil {
		return false, id, err
	}
	if opaque && isDir {
		err = t.write(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name + "/" + whiteoutOpaqueDir,
			Mode:     hdr.Mode & 0o777,
			Uid:      hdr.Uid,
			Gid:      hdr.Gid,
			ModTime:  hdr.ModTime,
			Format:   tar.FormatPAX,
		}, nil)
	}
	return isDir, id, err
}

func (t *treeWriter) write(hdr *tar.Header, data *os.File) error {
	if err := t.tw.WriteHeader(hdr); err != nil {
		return t.errorf("%s: %w", hdr.Name, err)
	}
	if data == nil {
		return nil
	}
	n, err := io.CopyBuffer(struct{ io.Writer }{t.tw}, struct{ io.Reader }{data}, t.buf)
	if err != nil {
		return t.errorf("%s: %w", hdr.Name, err)
	}
	if n != hdr.Size {
		return t.errorf("%s changed size while it was read", hdr.Name)
	}
	return nil
}

// readlinkat returns the target of symlink base in directory dfd.
func readlinkat(dfd int, base string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dfd, base, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// readXattrs returns the extended attributes of p (not following a final
// symlink).
func readXattrs(p string) (map[string]string, error) {
	var buf []byte
	size, err := unix.Llistxattr(p, nil)
	for {
		if err != nil {
			if errors.Is(err, unix.ENOTSUP) {
				return nil, nil
			}
			return nil, fmt.Errorf("listxattr: %w", err)
		}
		if size == 0 {
			return nil, nil
		}
		buf = make([]byte, size)
		size, err = unix.Llistxattr(p, buf)
		if err != unix.ERANGE {
			break
		}
		size, err = unix.Llistxattr(p, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("listxattr: %w", err)
	}
	out := make(map[string]string)
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v, err := lgetxattr(p, name)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("getxattr %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

func lgetxattr(p, name string) (string, error) {
	for {
		size, err := unix.Lgetxattr(p, name, nil)
		if err != nil {
			return "", err
		}
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(p, name, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}
