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
// to data in lower layers, are rejected. The tree must not change while it
// is read (stop or pause the container first).
//
// The tar is produced by a goroutine as the caller reads; Close stops it.
func Diff(upper string) (io.ReadCloser, error) {
	fi, err := os.Lstat(upper)
	if err != nil {
		return nil, fmt.Errorf("archive: diff: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("archive: diff: %s is not a directory", upper)
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		d := &differ{
			upper: upper,
			tw:    tar.NewWriter(bw),
			links: make(map[fileID]string),
			buf:   make([]byte, copyBufferSize),
		}
		err := d.walk("")
		if err == nil {
			err = d.tw.Close()
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

type fileID struct{ dev, ino uint64 }

type differ struct {
	upper string
	tw    *tar.Writer
	links map[fileID]string
	buf   []byte
}

// walk writes the content of directory rel ("" is the upper dir itself).
func (d *differ) walk(rel string) error {
	f, err := os.Open(filepath.Join(d.upper, rel))
	if err != nil {
		return fmt.Errorf("archive: diff: %w", err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("archive: diff: %w", err)
	}
	sort.Strings(names)
	for _, n := range names {
		name := n
		if rel != "" {
			name = rel + "/" + n
		}
		isDir, err := d.entry(name)
		if err != nil {
			return err
		}
		if isDir {
			if err := d.walk(name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *differ) entry(name string) (isDir bool, err error) {
	p := filepath.Join(d.upper, name)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return false, fmt.Errorf("archive: diff: %w", &os.PathError{Op: "lstat", Path: p, Err: err})
	}
	xattrs, err := readXattrs(p)
	if err != nil {
		return false, fmt.Errorf("archive: diff: %s: %w", p, err)
	}
	if _, ok := xattrs["trusted.overlay.metacopy"]; ok {
		return false, fmt.Errorf("archive: diff: %s is an overlay metacopy file (mounted with metacopy=on): its data is in a lower layer", p)
	}
	if _, ok := xattrs["trusted.overlay.redirect"]; ok {
		return false, fmt.Errorf("archive: diff: %s is an overlay redirect (mounted with redirect_dir=on)", p)
	}
	opaque := xattrs["trusted.overlay.opaque"] == "y" || xattrs["user.overlay.opaque"] == "y"

	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()).Truncate(time.Second),
		Format:  tar.FormatPAX,
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
		if hdr.Linkname, err = os.Readlink(p); err != nil {
			return false, fmt.Errorf("archive: diff: %w", err)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			// Overlay whiteout.
			dir, base := splitName(name)
			return false, d.write(&tar.Header{
				Typeflag: tar.TypeReg,
				Name:     joinName(dir, whiteoutPrefix+base),
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
		return false, nil // sockets cannot be archived (Docker skips them too)
	case unix.S_IFREG:
		if st.Nlink > 1 {
			id := fileID{uint64(st.Dev), st.Ino}
			if first, ok := d.links[id]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				break
			}
			d.links[id] = name
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
		if hdr.Size > 0 {
			if data, err = os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0); err != nil {
				return false, fmt.Errorf("archive: diff: %w", err)
			}
			defer data.Close()
		}
	default:
		return false, fmt.Errorf("archive: diff: %s: unsupported file type %o", p, st.Mode&unix.S_IFMT)
	}
	if err := d.write(hdr, data); err != nil {
		return false, err
	}
	if opaque && isDir {
		err = d.write(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name + "/" + whiteoutOpaqueDir,
			Mode:     hdr.Mode & 0o777,
			Uid:      hdr.Uid,
			Gid:      hdr.Gid,
			ModTime:  hdr.ModTime,
			Format:   tar.FormatPAX,
		}, nil)
	}
	return isDir, err
}

func (d *differ) write(hdr *tar.Header, data *os.File) error {
	if err := d.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive: diff: %s: %w", hdr.Name, err)
	}
	if data == nil {
		return nil
	}
	n, err := io.CopyBuffer(struct{ io.Writer }{d.tw}, struct{ io.Reader }{data}, d.buf)
	if err != nil {
		return fmt.Errorf("archive: diff: %s: %w", hdr.Name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("archive: diff: %s changed size while it was read", hdr.Name)
	}
	return nil
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
