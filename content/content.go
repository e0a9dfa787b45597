// Package content is berth's blob store: manifests, configs and compressed layers, addressed by digest
// and laid out as an OCI image layout (blobs/sha256/<hex>).
//
// Every write follows the same three steps: ingest into a temporary file under ingest/, verify its
// size and digest, then rename it into place. A blob path therefore always holds a whole, verified
// blob; a crash leaves at most garbage in ingest/, which is safe to delete whenever no writer runs.
package content

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Store is a content-addressed blob store rooted at a directory.
type Store struct {
	blobs  string
	ingest string
	// OnCommit, when set, runs before a verified blob is moved into place; an error stops the
	// commit. The image store records the blob as a garbage candidate there, so a writer killed
	// before it records what needs the blob leaves nothing GC does not know about.
	OnCommit func(digest.Digest) error
}

// ErrNotFound is returned for a digest the store does not hold.
var ErrNotFound = errors.New("blob not found")

// Open opens (creating if needed) a store whose blobs live in root/blobs and partial writes in
// root/ingest.
func Open(root string) (*Store, error) {
	s := &Store{blobs: filepath.Join(root, "blobs"), ingest: filepath.Join(root, "ingest")}
	for _, d := range []string{filepath.Join(s.blobs, "sha256"), s.ingest} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Path is where the blob with digest d lives (whether or not it exists).
func (s *Store) Path(d digest.Digest) string {
	return filepath.Join(s.blobs, d.Algorithm().String(), d.Encoded())
}

// Info returns the size of a blob, or ErrNotFound.
func (s *Store) Info(d digest.Digest) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Has reports whether the store holds the blob.
func (s *Store) Has(d digest.Digest) bool {
	_, err := s.Info(d)
	return err == nil
}

// Open opens a blob for reading. Blobs are verified when written; callers that hand a blob to
// the outside world may wrap the reader with a verifier.
func (s *Store) Open(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d, ErrNotFound)
	}
	return f, err
}

// ReadAll reads a whole (small) blob and checks its digest.
func (s *Store) ReadAll(d digest.Digest) ([]byte, error) {
	f, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return nil, fmt.Errorf("blob %s is corrupt: content hashes to %s", d, got)
	}
	return b, nil
}

// Put stores a small blob held in memory and returns its digest.
func (s *Store) Put(b []byte) (digest.Digest, error) {
	d := digest.FromBytes(b)
	if s.Has(d) {
		return d, nil
	}
	_, _, err := s.Ingest(bytes.NewReader(b), d, int64(len(b)))
	return d, err
}

// Ingest copies r into the store. If expected is not empty the content must hash to it, and if
// size is not negative it must be that long; otherwise nothing is stored and an error names the
// mismatch. It returns the digest and size of what was stored.
func (s *Store) Ingest(r io.Reader, expected digest.Digest, size int64) (digest.Digest, int64, error) {
	w, err := s.Writer()
	if err != nil {
		return "", 0, err
	}
	defer w.Close()
	if _, err := io.Copy(w, r); err != nil {
		return "", 0, err
	}
	return w.Commit(expected, size)
}

// Writer starts an ingest: write the content, then Commit. Close without Commit discards it.
func (s *Store) Writer() (*Writer, error) {
	f, err := os.CreateTemp(s.ingest, "blob-")
	if err != nil {
		return nil, err
	}
	return &Writer{s: s, f: f, h: digest.SHA256.Digester()}, nil
}

// Writer is an ingest in progress. It hashes while it writes, so Commit never rereads the file.
type Writer struct {
	s     *Store
	f     *os.File
	h     digest.Digester
	n     int64
	done  bool
	batch *Batch // Commit verifies and hands the file to the batch instead of moving it into place
}

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Hash().Write(p[:n])
	w.n += int64(n)
	return n, err
}

// Size is how many bytes were written so far.
func (w *Writer) Size() int64 { return w.n }

// Digest is the digest of what was written so far.
func (w *Writer) Digest() digest.Digest { return w.h.Digest() }

// Commit verifies and moves the blob into place. An existing blob with the same digest is kept.
// A writer from a Batch is only verified and closed: the blob moves into place with the batch.
func (w *Writer) Commit(expected digest.Digest, size int64) (digest.Digest, int64, error) {
	d := w.h.Digest()
	if size >= 0 && w.n != size {
		return "", 0, fmt.Errorf("size mismatch for %s: got %d bytes, expected %d", expected, w.n, size)
	}
	if expected != "" && expected != d {
		return "", 0, fmt.Errorf("digest mismatch: expected %s, got %s", expected, d)
	}
	if w.batch != nil {
		if err := w.f.Close(); err != nil {
			return "", 0, err
		}
		w.done = true
		w.batch.add(w.f.Name(), d)
		return d, w.n, nil
	}
	if w.s.OnCommit != nil {
		if err := w.s.OnCommit(d); err != nil {
			return "", 0, err
		}
	}
	if err := w.f.Sync(); err != nil {
		return "", 0, err
	}
	if err := w.f.Close(); err != nil {
		return "", 0, err
	}
	if err := os.Rename(w.f.Name(), w.s.Path(d)); err != nil {
		return "", 0, err
	}
	w.done = true
	return d, w.n, nil
}

// Close discards an uncommitted ingest.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// A Syncer makes writes durable with whole-filesystem syncs run as a group commit (the layer
// store is one): a mark taken after a write is durable once SyncTo(mark) returns.
type Syncer interface {
	SyncMark() uint64
	SyncTo(mark uint64) error
	// Covers reports whether the syncs reach the filesystem holding path.
	Covers(path string) bool
}

// Batch is a group of blobs that become durable together, at one point shared with other writes
// of the same operation (a pull: its layers' filesystem syncs). A batch writer's Commit only
// verifies the blob and leaves it in ingest/; Batch.Commit then records each as a garbage
// candidate (OnCommit), makes them durable (nothing more to do when a sync started after the
// last write has already finished), renames them into place, and syncs the blob directory
// once. The order is the store's usual one (write, sync, rename, then the caller records), with
// one sync for all the blobs instead of an fsync each; a crash before Commit leaves only
// garbage in ingest/. Discard (deferred by the owner) drops whatever Commit did not move.
type Batch struct {
	s       *Store
	syncer  Syncer // nil: fsync each file
	mu      sync.Mutex
	pending []pendingBlob
	mark    uint64 // the mark of the last write, for syncer
}

type pendingBlob struct {
	tmp string
	d   digest.Digest
}

// NewBatch starts a batch whose writes are made durable by syncer when it covers the store's
// filesystem, else (or with a nil syncer) by an fsync of each blob at Commit.
func (s *Store) NewBatch(syncer Syncer) *Batch {
	if syncer != nil && !syncer.Covers(s.blobs) {
		syncer = nil
	}
	return &Batch{s: s, syncer: syncer}
}

// Writer starts an ingest that joins the batch when committed.
func (b *Batch) Writer() (*Writer, error) {
	w, err := b.s.Writer()
	if err != nil {
		return nil, err
	}
	w.batch = b
	return w, nil
}

// Put adds a small blob held in memory (nothing when the store holds it already).
func (b *Batch) Put(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	if b.s.Has(d) {
		return d, nil
	}
	w, err := b.Writer()
	if err != nil {
		return "", err
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	_, _, err = w.Commit(d, int64(len(data)))
	return d, err
}

func (b *Batch) add(tmp string, d digest.Digest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, pendingBlob{tmp, d})
	if b.syncer != nil {
		// Taken after the write: any sync numbered from here on covers this blob.
		b.mark = b.syncer.SyncMark()
	}
}

// Commit moves every verified blob of the batch into place, durably, before it returns.
func (b *Batch) Commit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	todo := make([]pendingBlob, 0, len(b.pending))
	for _, p := range b.pending {
		if b.s.Has(p.d) || slices.ContainsFunc(todo, func(q pendingBlob) bool { return q.d == p.d }) {
			continue
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return nil
	}
	if b.s.OnCommit != nil {
		for _, p := range todo {
			if err := b.s.OnCommit(p.d); err != nil {
				return err
			}
		}
	}
	if b.syncer != nil {
		if err := b.syncer.SyncTo(b.mark); err != nil {
			return err
		}
	} else {
		for _, p := range todo {
			if err := fsyncPath(p.tmp); err != nil {
				return err
			}
		}
	}
	for _, p := range todo {
		if err := os.Rename(p.tmp, b.s.Path(p.d)); err != nil {
			return err
		}
		b.pending = slices.DeleteFunc(b.pending, func(q pendingBlob) bool { return q.tmp == p.tmp })
	}
	// The renames are durable before the caller records anything that names the blobs.
	return fsyncPath(filepath.Join(b.s.blobs, "sha256"))
}

// Discard removes what the batch still holds in ingest/: everything before Commit, the
// duplicates Commit skipped after it.
func (b *Batch) Discard() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pending {
		os.Remove(p.tmp)
	}
	b.pending = nil
}

func fsyncPath(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fsync(fd)
}

// Delete removes a blob; deleting a missing blob is not an error.
func (s *Store) Delete(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return err
	}
	err := os.Remove(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Walk calls fn for every blob in the store.
func (s *Store) Walk(fn func(d digest.Digest, size int64) error) error {
	dir := filepath.Join(s.blobs, "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if err := fn(d, fi.Size()); err != nil {
			return err
		}
	}
	return nil
}

// CleanIngest removes every partial write. Call it only while no writer runs (berth holds the
// store's exclusive lock for that).
func (s *Store) CleanIngest() (int, error) {
	ents, err := os.ReadDir(s.ingest)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(s.ingest, e.Name())); err != nil {
			return 0, err
		}
	}
	return len(ents), nil
}

// IngestDir is the directory for partial writes; other packages stage their own temporary files
// there so one sweep clears them all.
func (s *Store) IngestDir() string { return s.ingest }
