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
	"slices"
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
	syncer syncer
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
	s      *Store
	tmp    string
	synced bool // a filesystem sync started after the layer was written has finished
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
	c, err := st.s.CommitAll([]*Staged{st}, []digest.Digest{chainID})
	if err != nil {
		return false, err
	}
	return c[0], nil
}

// Sync makes the staged layer's content durable; call it once the layer is written (Dir filled).
// Concurrent calls share one filesystem sync (group commit), so layers finishing together cost
// one syncfs; a pull calls it in the background as each layer finishes unpacking, so the disk
// writes overlap the next layers' unpacking and CommitAll finds nothing left to flush.
func (st *Staged) Sync() error {
	if st.synced {
		return nil
	}
	if err := st.s.syncer.sync(st.s.dir, st.s.syncer.next()); err != nil {
		return err
	}
	st.synced = true
	return nil
}

// SyncMark and SyncTo let other writes share the store's group commit (content.Syncer): a mark
// taken after a write is durable once SyncTo(mark) returns, which runs a filesystem sync only
// when none has started since the mark was taken. A pull's blobs use it, so the syncs its
// layers run in the background make the blobs durable too.
func (s *Store) SyncMark() uint64 { return s.syncer.next() }

// SyncTo waits until everything written before SyncMark returned mark is durable.
func (s *Store) SyncTo(mark uint64) error { return s.syncer.sync(s.dir, mark) }

// Covers reports whether the store's filesystem syncs reach path (the same filesystem).
func (s *Store) Covers(path string) bool {
	var a, b unix.Stat_t
	return unix.Stat(s.dir, &a) == nil && unix.Stat(path, &b) == nil && a.Dev == b.Dev
}

// CommitAll moves staged layers into place (staged[i] under chainIDs[i]), as Commit does one,
// with at most one filesystem sync for the content of all of them (none when each was already
// synced with Sync) and one sync of the store directory for all the renames: write, sync,
// rename, sync the renames, then record. Each staged layer is discarded afterwards, whatever the
// outcome; created[i] is false where the layer already existed.
func (s *Store) CommitAll(staged []*Staged, chainIDs []digest.Digest) (created []bool, err error) {
	defer func() {
		for _, st := range staged {
			st.Discard()
		}
	}()
	created = make([]bool, len(staged))
	todo := make([]int, 0, len(staged))
	for i := range staged {
		if s.Exists(chainIDs[i]) || slices.Contains(chainIDs[:i], chainIDs[i]) {
			continue
		}
		if s.OnCommit != nil {
			if err := s.OnCommit(chainIDs[i]); err != nil {
				return nil, err
			}
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return created, nil
	}
	// One sync, asked for only now that every layer is written, covers all of them.
	want := s.syncer.next()
	for _, i := range todo {
		if !staged[i].synced {
			if err := s.syncer.sync(s.dir, want); err != nil {
				return nil, err
			}
			break
		}
	}
	renamed := false
	for _, i := range todo {
		if err := os.Rename(staged[i].tmp, filepath.Dir(s.Dir(chainIDs[i]))); err != nil {
			if s.Exists(chainIDs[i]) { // lost a race to an identical layer
				continue
			}
			return nil, err
		}
		created[i], renamed = true, true
	}
	if !renamed {
		return created, nil
	}
	// The renames themselves are made durable before the caller records the layers.
	d, err := os.Open(s.dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return nil, err
	}
	return created, nil
}

// syncer runs filesystem syncs as a group commit: one sync at a time, and every caller waiting
// for the first sync that starts after it asked, so callers arriving during a sync share the next.
type syncer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	started uint64 // syncs started
	done    uint64 // syncs finished (they finish in order: one runs at a time)
	failed  uint64 // the last sync that failed
	err     error
}

// next is the number of the first sync that starts after now: waiting for it makes durable
// everything written before the call.
func (y *syncer) next() uint64 {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.started + 1
}

// sync waits until sync number want has finished, running it (or a later one) when none runs.
func (y *syncer) sync(dir string, want uint64) error {
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.cond == nil {
		y.cond = sync.NewCond(&y.mu)
	}
	for y.done < want {
		if y.running {
			y.cond.Wait()
			continue
		}
		y.running = true
		y.started++
		n := y.started
		y.mu.Unlock()
		err := syncFS(dir)
		y.mu.Lock()
		y.running = false
		y.done = n
		if err != nil {
			y.failed, y.err = n, err
		}
		y.cond.Broadcast()
	}
	if y.failed >= want {
		return y.err
	}
	return nil
}

// syncFS flushes the filesystem holding dir: one call for a whole unpacked tree, where an fsync
// per file would cost a syscall (and a journal commit) for each.
var syncFS = func(dir string) error {
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
