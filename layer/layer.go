// Package layer is the store of unpacked layers: layers/<chain ID hex>/diff, one directory per chain
// ID, shared by every image whose layer stack reaches it. A layer directory appears atomically: it
// is filled under a temporary name and renamed into place, so a directory with the final name is
// always whole. Rootfs mounts for containers are returned as data ([]Mount) and only mounted by the
// caller at the edge.
package layer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Store holds unpacked layers under a directory.
type Store struct {
	dir string
	// OnCommit, when set, runs before a staged layer is moved into place; an error stops the
	// commit (the image store records a garbage candidate there, as for blobs).
	OnCommit func(chainID digest.Digest) error

	topDir sync.Once
}

const tmpMarker = ".tmp-"

// Open opens (creating if needed) the layer store at root/layers.
func Open(root string) (*Store, error) {
	s := &Store{dir: filepath.Join(root, "layers")}
	return s, os.MkdirAll(s.dir, 0o700)
}

// Dir is the unpacked content of a layer (an overlayfs lowerdir).
func (s *Store) Dir(chainID digest.Digest) string {
	return filepath.Join(s.dir, chainID.Encoded(), "diff")
}

// Exists reports whether the layer is unpacked.
func (s *Store) Exists(chainID digest.Digest) bool {
	_, err := os.Stat(s.Dir(chainID))
	return err == nil
}

// Staged is a layer being unpacked under a temporary name. Fill Dir, then Commit it under its
// chain ID (known only once the content has been hashed), or Discard it.
type Staged struct {
	s   *Store
	tmp string
}

// Stage starts a new layer directory.
func (s *Store) Stage() (*Staged, error) {
	s.topDir.Do(func() { markTopDir(s.dir) })
	tmp, err := os.MkdirTemp(s.dir, "staged"+tmpMarker)
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(tmp, "diff"), 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &Staged{s: s, tmp: tmp}, nil
}

// fsTopDirFlag is FS_TOPDIR_FL of linux/fs.h (chattr +T).
const fsTopDirFlag = 0x00020000

// markTopDir marks dir as the top of directory hierarchies (chattr +T), where the filesystem
// supports it (ext2/3/4; elsewhere it does nothing). ext4 then places each directory made in it,
// each layer, in a lightly used block group (the Orlov allocator) instead of the group of the
// store itself. That matters on ext4 without a journal: after many files are deleted from a
// group (an rmi, a cleanup), every inode allocated there skips each recently deleted one in turn
// (fs/ext4/ialloc.c, recently_deleted()), for minutes: 0.5-1 ms a file instead of 50 us (issue
// 11, bench/pull/slowcreate.sh). Layers are independent trees, exactly what the flag describes.
func markTopDir(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopDirFlag != 0 {
		return
	}
	// Best effort: a filesystem without the flag just places layers as before.
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopDirFlag))
}

// Dir is where the layer's content goes.
func (st *Staged) Dir() string { return filepath.Join(st.tmp, "diff") }

// Commit moves the layer into place. If the layer already exists (another image or process made
// it), the staged copy is discarded and created is false. The content is flushed to disk before
// the rename, so a directory with its final name is whole even after a power cut, and a record
// written after Commit never points at a layer that is not (write, sync, rename, then record).
func (st *Staged) Commit(chainID digest.Digest) (created bool, err error) {
	defer st.Discard()
	if st.s.Exists(chainID) {
		return false, nil
	}
	if st.s.OnCommit != nil {
		if err := st.s.OnCommit(chainID); err != nil {
			return false, err
		}
	}
	if err := syncFS(st.tmp); err != nil {
		return false, err
	}
	if err := os.Rename(st.tmp, filepath.Dir(st.s.Dir(chainID))); err != nil {
		if st.s.Exists(chainID) { // lost a race to an identical layer
			return false, nil
		}
		return false, err
	}
	// The rename itself is made durable before the caller records the layer.
	if d, err := os.Open(st.s.dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// syncFS flushes the filesystem holding dir: one call for a whole unpacked tree, where an fsync
// per file would cost a syscall (and a journal commit) for each.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// Discard removes a staged layer; after Commit it does nothing.
func (st *Staged) Discard() { os.RemoveAll(st.tmp) }

// Remove deletes an unpacked layer. Removing a missing layer is not an error.
func (s *Store) Remove(chainID digest.Digest) error {
	dir := filepath.Dir(s.Dir(chainID))
	// Rename first so a half-deleted directory never carries the final name.
	tmp := dir + tmpMarker + "rm"
	if err := os.Rename(dir, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(tmp)
}

// List returns the chain IDs of every unpacked layer.
func (s *Store) List() ([]digest.Digest, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() == nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// CleanTemp removes half-made and half-deleted layer directories. Call it only while no writer runs.
func (s *Store) CleanTemp() (int, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Mount is a mount as data: what to mount, not the act of mounting (containerd's model).
type Mount struct {
	Type    string
	Source  string
	Options []string
}

// RootfsMounts returns the mounts of a container rootfs: the layers (bottom first) read-only under
// a writable upper directory. With no layers the upper directory is bind-mounted alone.
func (s *Store) RootfsMounts(chainIDs []digest.Digest, upper, work string) []Mount {
	if len(chainIDs) == 0 {
		return []Mount{{Type: "bind", Source: upper, Options: []string{"rbind", "rw"}}}
	}
	lowers := make([]string, len(chainIDs))
	for i, c := range chainIDs {
		// overlayfs lists lowerdirs top first.
		lowers[len(chainIDs)-1-i] = s.Dir(c)
	}
	return []Mount{{
		Type:   "overlay",
		Source: "overlay",
		Options: []string{
			"index=off",
			"lowerdir=" + strings.Join(lowers, ":"),
			"upperdir=" + upper,
			"workdir=" + work,
		},
	}}
}
