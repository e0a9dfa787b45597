package build

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// entry is one file of a layer being written: its tar header and where its content comes from.
type entry struct {
	hdr  tar.Header
	src  string          // host path of a regular file's content
	st   *syscall.Stat_t // src's stat data when it was found (for remembered digests)
	made bool            // a directory the step created or touched only as a parent
}

// layerWriter collects a layer's files (later writes to a path win) and writes them as one tar
// in a fixed order: each directory before its content, names sorted bytewise.
type layerWriter struct {
	entries map[string]*entry
	now     time.Time  // mtime of directories the step creates or changes
	clamp   *time.Time // SOURCE_DATE_EPOCH: no mtime later than this
	base    *view      // the rootfs below (for parent directories that exist), nil with --link
	uid     int        // owner of created parent directories
	gid     int
	sums    *sumCache // remembered content digests (nil: read every file)
}

func newLayerWriter(base *view, now time.Time, clamp *time.Time, uid, gid int) *layerWriter {
	return &layerWriter{entries: map[string]*entry{}, now: now, clamp: clamp, base: base, uid: uid, gid: gid}
}

// add records name (absolute in the image) and makes sure its parents are in the layer.
func (w *layerWriter) add(name string, e *entry) {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		return
	}
	e.hdr.Name = name
	if old, ok := w.entries[name]; ok && old.hdr.Typeflag == tar.TypeDir && e.hdr.Typeflag == tar.TypeDir && e.made {
		return // a parent never replaces a directory already written
	}
	w.entries[name] = e
	w.parents(path.Dir(name))
}

// mkdirAll adds dir and its parents as directories the step made (existing ones keep their
// metadata from the layers below).
func (w *layerWriter) mkdirAll(dir string) {
	dir = strings.TrimPrefix(path.Clean("/"+dir), "/")
	if dir == "" {
		return
	}
	if _, ok := w.entries[dir]; ok {
		return
	}
	w.entries[dir] = w.dirEntry(dir)
	w.parents(path.Dir(dir))
}

func (w *layerWriter) parents(dir string) {
	for dir != "." && dir != "/" && dir != "" {
		if _, ok := w.entries[dir]; ok {
			return
		}
		w.entries[dir] = w.dirEntry(dir)
		dir = path.Dir(dir)
	}
}

func (w *layerWriter) dirEntry(name string) *entry {
	e := &entry{made: true, hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, Uid: w.uid, Gid: w.gid, ModTime: w.now}}
	if w.base != nil {
		if fi, _, _, err := w.base.lstat("/" + name); err == nil && fi.IsDir() {
			e.hdr.Mode = int64(unixMode(fi))
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				e.hdr.Uid, e.hdr.Gid = int(st.Uid), int(st.Gid)
			}
		}
	}
	return e
}

// baseIsDir reports whether the layers below have a directory at name.
func (w *layerWriter) baseIsDir(name string) bool {
	if w.base == nil {
		return false
	}
	fi, _, _, err := w.base.lstat(name)
	return err == nil && fi.IsDir()
}

func unixMode(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Mode & 0o7777
	}
	return uint32(fi.Mode().Perm())
}

// sortedNames orders paths depth first: a directory, then its content, names bytewise.
func (w *layerWriter) sortedNames() []string {
	names := make([]string, 0, len(w.entries))
	for n := range w.entries {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return pathLess(names[i], names[j]) })
	return names
}

func pathLess(a, b string) bool {
	for {
		ai, bi := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if ac != bc {
			return ac < bc
		}
		if ai < 0 || bi < 0 {
			return ai < 0 && bi >= 0
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}

// checksum is the identity of the layer's content for the cache: every entry's path, type, mode,
// owner, size, link target and content digest, but not its times.
func (w *layerWriter) checksum() (string, error) {
	h := sha256.New()
	for _, n := range w.sortedNames() {
		e := w.entries[n]
		fmt.Fprintf(h, "%s\x00%c\x00%o\x00%d:%d\x00%d\x00%s\x00", n, e.hdr.Typeflag, e.hdr.Mode, e.hdr.Uid, e.hdr.Gid, e.hdr.Size, e.hdr.Linkname)
		if e.made {
			h.Write([]byte("made\x00"))
		}
		if e.src != "" {
			sum, err := w.sums.digest(e.src, e.st)
			if err != nil {
				return "", err
			}
			h.Write(sum)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeTo writes the layer tar.
func (w *layerWriter) writeTo(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 1<<16)
	tw := tar.NewWriter(bw)
	// Files that are hard links of one another where they come from stay so in the layer, as
	// BuildKit and the classic builder keep them: the first in the tar's order carries the
	// content, the others link to it.
	type inode struct{ dev, ino uint64 }
	links := map[inode]*tar.Header{}
	for _, n := range w.sortedNames() {
		e := w.entries[n]
		hdr := e.hdr
		hdr.ModTime = hdr.ModTime.Truncate(time.Second)
		if w.clamp != nil && hdr.ModTime.After(*w.clamp) {
			hdr.ModTime = *w.clamp
		}
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		hdr.Format = tar.FormatPAX
		if hdr.Typeflag == tar.TypeReg && e.st != nil && e.st.Nlink > 1 {
			id := inode{uint64(e.st.Dev), e.st.Ino}
			if first, ok := links[id]; !ok {
				links[id] = &e.hdr
			} else if first.Mode == hdr.Mode && first.Uid == hdr.Uid && first.Gid == hdr.Gid {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first.Name, 0
			}
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(e.src)
			if err != nil {
				return err
			}
			n, err := io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
			if n != hdr.Size {
				return fmt.Errorf("%s changed size while it was copied", e.src)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// fileEntry makes the entry of a file found at host path, owned as given (or as on disk when
// keepOwner).
func fileEntry(host string, fi fs.FileInfo, keepOwner bool, uid, gid int) (*entry, error) {
	e := &entry{hdr: tar.Header{Mode: int64(unixMode(fi)), Uid: uid, Gid: gid, ModTime: fi.ModTime()}}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && keepOwner {
		e.hdr.Uid, e.hdr.Gid = int(st.Uid), int(st.Gid)
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		e.hdr.Typeflag, e.hdr.Size, e.src = tar.TypeReg, fi.Size(), host
		e.st, _ = fi.Sys().(*syscall.Stat_t)
	case m.IsDir():
		e.hdr.Typeflag = tar.TypeDir
	case m&fs.ModeSymlink != 0:
		t, err := os.Readlink(host)
		if err != nil {
			return nil, err
		}
		e.hdr.Typeflag, e.hdr.Linkname = tar.TypeSymlink, t
	case m&fs.ModeNamedPipe != 0:
		e.hdr.Typeflag = tar.TypeFifo
	case m&fs.ModeDevice != 0:
		st, _ := fi.Sys().(*syscall.Stat_t)
		e.hdr.Typeflag = tar.TypeBlock
		if m&fs.ModeCharDevice != 0 {
			e.hdr.Typeflag = tar.TypeChar
		}
		if st != nil {
			e.hdr.Devmajor, e.hdr.Devminor = int64(unixMajor(st.Rdev)), int64(unixMinor(st.Rdev))
		}
	default:
		return nil, nil // sockets are not copied
	}
	return e, nil
}

func unixMajor(d uint64) uint32 { return uint32((d>>8)&0xfff) | uint32((d>>32)&^0xfff) }
func unixMinor(d uint64) uint32 { return uint32(d&0xff) | uint32((d>>12)&^0xff) }

// ids resolves "user[:group]" (names or numbers) against the rootfs's /etc/passwd and /etc/group.
// A user alone gets its primary group (a number alone: the same number as group).
func ids(root *view, spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	uid, primary, err := lookupID(root, "/etc/passwd", u, true)
	if err != nil {
		return 0, 0, err
	}
	if !hasGroup {
		return uid, primary, nil
	}
	gid, _, err = lookupID(root, "/etc/group", g, false)
	return uid, gid, err
}

func lookupID(root *view, file, name string, user bool) (id, primary int, err error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		if user {
			// The primary group of a numeric user is its passwd entry's, else the same number.
			if root != nil {
				if b, err := root.readFile(file); err == nil {
					for _, l := range strings.Split(string(b), "\n") {
						f := strings.Split(l, ":")
						if len(f) >= 4 && f[2] == name {
							if g, err := strconv.Atoi(f[3]); err == nil {
								return n, g, nil
							}
						}
					}
				}
			}
			return n, n, nil
		}
		return n, n, nil
	}
	kind := "user"
	if !user {
		kind = "group"
	}
	if root == nil {
		return 0, 0, fmt.Errorf("unable to find %s %s: no %s in the image", kind, name, file)
	}
	b, err := root.readFile(file)
	if err != nil {
		return 0, 0, fmt.Errorf("unable to find %s %s: %s: %v", kind, name, file, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 && f[0] == name {
			id, err := strconv.Atoi(f[2])
			if err != nil {
				break
			}
			primary = id
			if user && len(f) >= 4 {
				primary, _ = strconv.Atoi(f[3])
			}
			return id, primary, nil
		}
	}
	return 0, 0, fmt.Errorf("unable to find %s %s: no matching entries in %s", kind, name, strings.TrimPrefix(file, "/etc/"))
}
