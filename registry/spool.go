package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/opencontainers/go-digest"
)

// spool holds upload sessions on the local filesystem, whatever the backend: a session's bytes
// are hashed as they arrive, and the finished, verified file is handed to commit, which makes it
// a blob of the session's repository.
type spool struct {
	dir    string
	fsync  bool
	commit func(tmp string, d digest.Digest, repo string) error

	mu      sync.Mutex
	uploads map[string]*upload
}

func newSpool(dir string, fsync bool, commit func(string, digest.Digest, string) error) (*spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &spool{dir: dir, fsync: fsync, commit: commit, uploads: map[string]*upload{}}, nil
}

// upload is one blob upload session. Its bytes go to uploads/<id>/data; the sha256 state is kept in
// memory, and rebuilt from the file if the process restarted in between requests.
type upload struct {
	sp    *spool
	mu    sync.Mutex
	id    string
	repo  string
	dir   string
	f     *os.File
	size  int64
	h     digest.Digester
	valid bool // f, size and h reflect the file
}

// copyBufs holds 1 MiB buffers: large writes keep the syscall count of a big upload low.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func newUploadID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *spool) uploadDir(id string) string { return filepath.Join(s.dir, id) }

func (s *spool) startUpload(repo string) (*upload, error) {
	id := newUploadID()
	dir := s.uploadDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "repo"), []byte(repo), 0o644); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	u := &upload{sp: s, id: id, repo: repo, dir: dir, f: f, h: digest.SHA256.Digester(), valid: true}
	u.mu.Lock()
	s.mu.Lock()
	if len(s.uploads) >= maxCachedSessions {
		// Forget idle sessions (abandoned ones, mostly); they are rebuilt from disk if resumed.
		for id, o := range s.uploads {
			if o.mu.TryLock() {
				delete(s.uploads, id)
				o.mu.Unlock()
			}
		}
	}
	s.uploads[id] = u
	s.mu.Unlock()
	return u, nil
}

// maxCachedSessions bounds the sessions whose hash state is kept in memory between requests.
const maxCachedSessions = 4096

// release ends a request's use of a session (from startUpload or getUpload): the file is closed,
// so an abandoned session holds no descriptor, and the hash state stays for the next request.
func (s *spool) release(u *upload) {
	if u.f != nil {
		u.f.Close()
		u.f = nil
	}
	u.mu.Unlock()
}

// getUpload finds a session of repo and locks it; the caller releases it.
func (s *spool) getUpload(repo, id string) (*upload, error) {
	if !uploadIDRE().MatchString(id) {
		return nil, errUploadUnknown()
	}
	s.mu.Lock()
	u := s.uploads[id]
	if u == nil {
		b, err := os.ReadFile(filepath.Join(s.uploadDir(id), "repo"))
		if err != nil {
			s.mu.Unlock()
			return nil, errUploadUnknown()
		}
		u = &upload{sp: s, id: id, repo: string(b), dir: s.uploadDir(id)}
		s.uploads[id] = u
	}
	s.mu.Unlock()
	u.mu.Lock()
	if u.repo != repo || u.dir == "" {
		u.mu.Unlock()
		return nil, errUploadUnknown()
	}
	if u.valid {
		f, err := os.OpenFile(filepath.Join(u.dir, "data"), os.O_RDWR, 0)
		var fi os.FileInfo
		if err == nil {
			fi, err = f.Stat()
		}
		switch {
		case err != nil:
			// Expired by GC since the last request.
			if f != nil {
				f.Close()
			}
			s.finishUpload(u)
			u.mu.Unlock()
			return nil, errUploadUnknown()
		case fi.Size() != u.size:
			// Another process serving the same storage wrote to the session: rebuild.
			f.Close()
			u.valid = false
		default:
			if _, err := f.Seek(0, io.SeekEnd); err != nil {
				f.Close()
				u.mu.Unlock()
				return nil, err
			}
			u.f = f
		}
	}
	if !u.valid {
		if err := u.reopen(); err != nil {
			u.mu.Unlock()
			return nil, err
		}
	}
	return u, nil
}

// reopen rebuilds the session's state from its file.
func (u *upload) reopen() error {
	f, err := os.OpenFile(filepath.Join(u.dir, "data"), os.O_RDWR, 0)
	if err != nil {
		return errUploadUnknown()
	}
	h := digest.SHA256.Digester()
	n, err := io.Copy(h.Hash(), f)
	if err != nil {
		f.Close()
		return err
	}
	u.f, u.size, u.h, u.valid = f, n, h, true // the offset is at the end, where appends go
	return nil
}

// append writes r to the end of the session, at most limit bytes in total (limit < 0: no limit).
func (u *upload) append(r io.Reader, limit int64) (int64, error) {
	if limit >= 0 {
		r = io.LimitReader(r, limit-u.size+1)
	}
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(u.f, u.h.Hash()), r, *buf)
	copyBufs.Put(buf)
	u.size += n
	if err != nil {
		// The file may hold a partial write the hash also saw; both stay consistent with size.
		return n, err
	}
	if limit >= 0 && u.size > limit {
		return n, errTooLarge("blob exceeds the registry's limit of %d bytes", limit)
	}
	return n, nil
}

// digestOf returns the session's digest with algorithm alg.
func (u *upload) digestOf(alg digest.Algorithm) (digest.Digest, error) {
	if alg == digest.SHA256 {
		return u.h.Digest(), nil
	}
	if !alg.Available() {
		return "", fmt.Errorf("unsupported digest algorithm %s", alg)
	}
	if _, err := u.f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := alg.Digester()
	if _, err := io.Copy(h.Hash(), u.f); err != nil {
		return "", err
	}
	if _, err := u.f.Seek(0, io.SeekEnd); err != nil {
		return "", err
	}
	return h.Digest(), nil
}

// finish removes the session, keeping nothing of it; the data file may have been renamed already.
func (s *spool) finishUpload(u *upload) {
	if u.f != nil {
		u.f.Close()
		u.f = nil
	}
	if u.dir != "" {
		os.RemoveAll(u.dir)
	}
	u.dir, u.valid = "", false
	s.mu.Lock()
	delete(s.uploads, u.id)
	s.mu.Unlock()
}

// commitUpload verifies the session against d and turns it into a blob of repo.
func (s *spool) commitUpload(u *upload, d digest.Digest) error {
	got, err := u.digestOf(d.Algorithm())
	if err != nil {
		return err
	}
	if got != d {
		return errDigestInvalid("upload content digest %s does not match %s", got, d)
	}
	if s.fsync {
		if err := u.f.Sync(); err != nil {
			return err
		}
	}
	err = u.f.Close()
	u.f, u.valid = nil, false // a failed commit reopens the session from its file
	if err != nil {
		return err
	}
	if err := s.commit(filepath.Join(u.dir, "data"), d, u.repo); err != nil {
		return err
	}
	s.finishUpload(u)
	return nil
}

// truncate drops everything after n bytes (a chunk that failed half-way) and rebuilds the hash.
func (u *upload) truncate(n int64) error {
	if err := u.f.Truncate(n); err != nil {
		return err
	}
	if _, err := u.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := digest.SHA256.Digester()
	if _, err := io.Copy(h.Hash(), u.f); err != nil {
		return err
	}
	u.h, u.size = h, n
	return nil
}

// The spool as the filesystem's uploadStore.

func (s *spool) start(_ context.Context, repo string) (uploadSession, error) {
	u, err := s.startUpload(repo)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return u, nil
}

func (s *spool) resume(_ context.Context, repo, id string) (uploadSession, error) {
	u, err := s.getUpload(repo, id)
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (u *upload) ID() string             { return u.id }
func (u *upload) Size() int64            { return u.size }
func (u *upload) release()               { u.sp.release(u) }
func (u *upload) cancel(context.Context) { u.sp.finishUpload(u) }

func (u *upload) write(_ context.Context, r io.Reader, limit, want int64) (int64, error) {
	before := u.size
	n, err := u.append(r, limit)
	if err != nil {
		if _, ok := err.(*apiError); ok {
			return n, err // too large: the caller cancels
		}
		// The client went away mid-chunk: drop what it sent so the session stays resumable.
		if terr := u.truncate(before); terr != nil {
			u.sp.finishUpload(u)
		}
		return n, errUploadInvalid("reading the chunk: %v", err)
	}
	if want >= 0 && n != want {
		if err := u.truncate(before); err != nil {
			u.sp.finishUpload(u)
		}
		return n, errSizeInvalid("got %d bytes, Content-Length said %d", n, want)
	}
	return n, nil
}

func (u *upload) commit(ctx context.Context, r io.Reader, limit, want int64, d digest.Digest) (int64, error) {
	n, err := u.write(ctx, r, limit, want)
	if err != nil {
		return n, err
	}
	return n, u.sp.commitUpload(u, d)
}
