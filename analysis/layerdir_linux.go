package analysis

import (
	"archive/tar"
	"errors"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReadLayerDir reads an unpacked layer directory of the layer store (an overlayfs lowerdir:
// whiteouts are 0:0 character devices, opaque directories carry trusted.overlay.opaque=y or
// user.overlay.opaque=y) into the entries its tar had, without reading file contents: a
// content hash is computed only when two versions of a path have to be compared, which is what
// makes the store faster to analyze than the blobs.
//
// A directory does not say which of several hard links to one file its tar wrote first (that one
// carries the size; dive's numbers depend on it), so a layer with hard links is ErrHardLinks:
// read its blob instead.
func ReadLayerDir(dir string) (*LayerContent, error) {
	lc := &LayerContent{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		name := "/" + filepath.ToSlash(rel)
		e := Entry{Path: name, Mode: int64(info.Mode().Perm())}
		if st != nil {
			e.UID, e.GID = int(st.Uid), int(st.Gid)
			e.Mode = int64(st.Mode & 0o7777)
		}
		m := info.Mode()
		switch {
		case m.IsDir():
			e.Type = tar.TypeDir
		case m.IsRegular():
			e.Type, e.Size, e.src = tar.TypeReg, info.Size(), p
			if st != nil && st.Nlink > 1 {
				return ErrHardLinks
			}
		case m&fs.ModeSymlink != 0:
			e.Type = tar.TypeSymlink
			if e.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
		case m&fs.ModeCharDevice != 0 && st != nil && st.Rdev == 0:
			e.Kind, e.Type = KindWhiteout, tar.TypeReg
		case m&fs.ModeCharDevice != 0:
			e.Type = tar.TypeChar
		case m&fs.ModeDevice != 0:
			e.Type = tar.TypeBlock
		case m&fs.ModeNamedPipe != 0:
			e.Type = tar.TypeFifo
		default:
			return nil // sockets: not in layers
		}
		lc.TarSize += e.Size
		lc.Entries = append(lc.Entries, e)
		if e.Type == tar.TypeDir && opaque(p) {
			lc.Entries = append(lc.Entries, Entry{Path: name, Kind: KindOpaque, Type: tar.TypeReg})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lc, nil
}

// ErrHardLinks is ReadLayerDir's answer for a layer directory with hard links.
var ErrHardLinks = errors.New("layer directory has hard links: read its tar")

func opaque(dir string) bool {
	buf := make([]byte, 4)
	for _, attr := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		if n, err := unix.Lgetxattr(dir, attr, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// hashFile hashes a file's content as ReadLayer hashes a tar entry's.
func hashFile(p string) (uint64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h maphash.Hash
	h.SetSeed(hashSeed)
	if _, err := io.Copy(&h, f); err != nil {
		return 0, err
	}
	return h.Sum64(), nil
}
