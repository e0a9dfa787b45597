package container

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The copy driver is the writable layer where overlayfs cannot be mounted (nested overlay, some
// filesystems, BERTH_STORAGE_DRIVER=copy): the image's layers are flattened into rootfs/ when the
// container is created, and the container writes there. Diff and commit then compare rootfs/ with
// the layers instead of reading an upper directory.

const (
	driverOverlay = "overlay"
	driverCopy    = "copy"
)

// storageDriver picks the writable-layer driver for new containers: overlay unless forced or
// unusable (probed once per root, the answer kept in ROOT/storage-driver).
func (m *Manager) storageDriver() string {
	switch os.Getenv("BERTH_STORAGE_DRIVER") {
	case driverCopy:
		return driverCopy
	case driverOverlay:
		return driverOverlay
	}
	marker := filepath.Join(m.Images.Root, "storage-driver")
	if b, err := os.ReadFile(marker); err == nil {
		return strings.TrimSpace(string(b))
	}
	d := driverCopy
	// The probes of a berth killed while probing, which never wrote the answer.
	m.sweepOverlayProbes()
	if probeOverlay(m.Images.Root) {
		d = driverOverlay
	}
	os.WriteFile(marker, []byte(d+"\n"), 0o600)
	return d
}

// StorageDriver names the driver new containers get ("overlay" or "copy"), for `info`.
func (m *Manager) StorageDriver() string { return m.storageDriver() }

// overlayProbePrefix names the directories of probeOverlay under the root.
const overlayProbePrefix = "overlay-probe-"

// probeOverlay mounts a tiny overlay under root to learn whether the kernel and the filesystem
// allow it.
// The probe's directory is claimed like a build step's (claimStepDir): a berth killed while its
// probe is mounted leaves a record that SweepInterrupted finds.
func probeOverlay(root string) bool {
	b := make([]byte, 8)
	rand.Read(b)
	dir := filepath.Join(root, overlayProbePrefix+hex.EncodeToString(b))
	owner, err := claimStepDir(dir)
	if err != nil {
		return false
	}
	defer owner.Close()
	defer os.RemoveAll(dir)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if os.Mkdir(filepath.Join(dir, d), 0o755) != nil {
			return false
		}
	}
	opts := "lowerdir=" + filepath.Join(dir, "lower") + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	if unix.Mount("overlay", filepath.Join(dir, "merged"), "overlay", 0, opts) != nil {
		return false
	}
	unix.Unmount(filepath.Join(dir, "merged"), unix.MNT_DETACH)
	return true
}

// lowerEntry is where a path of the merged read-only view lives.
type lowerEntry struct {
	layer string // the layer directory holding it
	fi    fs.FileInfo
}

// mergedLowers is the union of the read-only layers (top first) as overlayfs would show it:
// whiteouts hide what is below, opaque directories hide what lower layers have under them.
func mergedLowers(lowers []string) (map[string]lowerEntry, error) {
	view := map[string]lowerEntry{}
	hidden := map[string]bool{} // paths deleted or made opaque by an upper layer
	opaqueUnder := []string{}
	isHidden := func(p string) bool {
		if hidden[p] {
			return true
		}
		for _, o := range opaqueUnder {
			if strings.HasPrefix(p, o+"/") {
				return true
			}
		}
		for q := filepath.Dir(p); q != "/" && q != "."; q = filepath.Dir(q) {
			if hidden[q] {
				return true
			}
		}
		return false
	}
	for _, l := range lowers {
		var newOpaque []string
		var newHidden []string
		err := filepath.WalkDir(l, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(l, p)
			if rel == "." {
				return nil
			}
			path := "/" + rel
			if isHidden(path) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if isWhiteout(fi) {
				newHidden = append(newHidden, path)
				return nil
			}
			if _, seen := view[path]; !seen {
				view[path] = lowerEntry{layer: l, fi: fi}
			}
			if fi.IsDir() && isOpaque(p) {
				newOpaque = append(newOpaque, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, h := range newHidden {
			hidden[h] = true
		}
		opaqueUnder = append(opaqueUnder, newOpaque...)
	}
	return view, nil
}

func isOpaque(path string) bool {
	buf := make([]byte, 1)
	for _, attr := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		if n, err := unix.Lgetxattr(path, attr, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// flattenLayers copies the merged view of the read-only layers into dst (the container's rootfs
// with the copy driver), each owner turned into the host owner that owner gets.
func flattenLayers(lowers []string, dst string, owner func(uid, gid int) (int, int, error)) error {
	view, err := mergedLowers(lowers)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(view))
	for p := range view {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	var dirs []string
	for _, p := range paths {
		e := view[p]
		if err := copyEntry(filepath.Join(e.layer, p), e.fi, filepath.Join(dst, p), owner); err != nil {
			return err
		}
		if e.fi.IsDir() {
			dirs = append(dirs, p)
		}
	}
	// Directory times last: filling a directory changes them.
	for i := len(dirs) - 1; i >= 0; i-- {
		fi := view[dirs[i]].fi
		ts := []unix.Timespec{unix.NsecToTimespec(fi.ModTime().UnixNano()), unix.NsecToTimespec(fi.ModTime().UnixNano())}
		unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dst, dirs[i]), ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return nil
}

// copyEntry copies one entry (not a directory's content) with its owner, mode and times.
func copyEntry(src string, fi fs.FileInfo, dst string, owner func(uid, gid int) (int, int, error)) error {
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.IsDir():
		if err := os.Mkdir(dst, fi.Mode().Perm()); err != nil && !os.IsExist(err) {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(t, dst); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		if err := copyFile(src, dst, fi.Mode().Perm()); err != nil {
			return err
		}
	default:
		if st == nil {
			return nil
		}
		if err := unix.Mknod(dst, uint32(st.Mode), int(st.Rdev)); err != nil {
			return nil // device nodes may be refused (user namespaces): skipped, as in archive.Apply
		}
	}
	if st != nil {
		uid, gid, err := owner(int(st.Uid), int(st.Gid))
		if err != nil {
			uid, gid, _ = owner(overflowID, overflowID)
		}
		os.Lchown(dst, uid, gid)
		if fi.Mode()&fs.ModeSymlink == 0 {
			os.Chmod(dst, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		}
		ts := []unix.Timespec{unix.NsecToTimespec(fi.ModTime().UnixNano()), unix.NsecToTimespec(fi.ModTime().UnixNano())}
		unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return nil
}

// sameEntry reports whether a rootfs entry (its symlink's target read by readlinkA) is unchanged
// from the layers' entry at b (type, mode, owner, size, time, link target).
func sameEntry(readlinkA func() (string, error), afi fs.FileInfo, b string, bfi fs.FileInfo, owner func(uid, gid int) (int, int, error)) bool {
	if afi.Mode() != bfi.Mode() || afi.ModTime().Unix() != bfi.ModTime().Unix() {
		return false
	}
	as, aok := afi.Sys().(*syscall.Stat_t)
	bs, bok := bfi.Sys().(*syscall.Stat_t)
	if aok && bok {
		// The layer's owner as the rootfs holds it (mapped, for a remapped container).
		uid, gid, err := owner(int(bs.Uid), int(bs.Gid))
		if err != nil || int(as.Uid) != uid || int(as.Gid) != gid || as.Rdev != bs.Rdev {
			return false
		}
	}
	if afi.IsDir() {
		return true
	}
	if afi.Size() != bfi.Size() {
		return false
	}
	if afi.Mode()&fs.ModeSymlink != 0 {
		ta, _ := readlinkA()
		tb, _ := os.Readlink(b)
		return ta == tb
	}
	return true
}

// copyChanges compares a copy-driver rootfs with its layers: the changes as `diff` lists them.
// owner turns a layer's owner into the one flattenLayers gave the copy.
func copyChanges(rootfs string, lowers []string, owner func(uid, gid int) (int, int, error)) ([]Change, error) {
	view, err := mergedLowers(lowers)
	if err != nil {
		return nil, err
	}
	// The container may be running and renaming things: the walk goes through an os.Root, which
	// never follows a symlink out of the rootfs.
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var changes []Change
	seen := map[string]bool{}
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		path := "/" + rel
		seen[path] = true
		fi, err := root.Lstat(rel)
		if err != nil {
			return err
		}
		e, ok := view[path]
		switch {
		case !ok:
			changes = append(changes, Change{Kind: 'A', Path: path})
		case !sameEntry(func() (string, error) { return root.Readlink(rel) }, fi, filepath.Join(e.layer, path), e.fi, owner):
			changes = append(changes, Change{Kind: 'C', Path: path})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for p := range view {
		if seen[p] {
			continue
		}
		// Only the topmost deleted path counts (Docker's D /tmp, not /tmp/x).
		if parent := filepath.Dir(p); parent != "/" && !seen[parent] {
			if _, inView := view[parent]; inView {
				continue
			}
		}
		changes = append(changes, Change{Kind: 'D', Path: p})
	}
	// As Docker does, the directory an entry was added to or deleted from is changed too (its
	// time alone may not tell, within the same second).
	listed := map[string]bool{}
	for _, c := range changes {
		listed[c.Path] = true
	}
	for _, c := range append([]Change(nil), changes...) {
		if parent := filepath.Dir(c.Path); (c.Kind == 'A' || c.Kind == 'D') && parent != "/" && !listed[parent] {
			changes = append(changes, Change{Kind: 'C', Path: parent})
			listed[parent] = true
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// copyLayer is the tar of a copy-driver container's changes: added and changed entries as they
// are, deletions as whiteouts (".wh.NAME").
func copyLayer(rootfs string, changes []Change) (io.ReadCloser, error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, c := range changes {
		name := strings.TrimPrefix(c.Path, "/")
		if c.Kind == 'D' {
			wh := filepath.ToSlash(filepath.Join(filepath.Dir(name), ".wh."+filepath.Base(name)))
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: wh, Mode: 0o600}); err != nil {
				return nil, err
			}
			continue
		}
		fi, err := root.Lstat(name)
		if err != nil {
			return nil, err
		}
		target := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ = root.Readlink(name)
		}
		hdr, err := tar.FileInfoHeader(fi, target)
		if err != nil {
			return nil, err
		}
		hdr.Name, hdr.Uname, hdr.Gname = name, "", ""
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
		hdr.ModTime = hdr.ModTime.Truncate(1e9)
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}
