package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// store is the registry's filesystem storage. Layout under the storage root:
//
//	blobs/<alg>/<hex>                          every blob and manifest, once, shared by all repositories
//	uploads/<id>/data, uploads/<id>/repo       upload sessions (partial blobs)
//	repos/<name>/_search                       what search shows of the repository (JSON)
//	repos/<name>/_blobs/<alg>/<hex>            hard link to the blob: it is part of <name>
//	repos/<name>/_manifests/<alg>/<hex>        hard link to the manifest: it is part of <name>
//	repos/<name>/_manifests/<alg>/<hex>.type   its media type, only when the manifest's own
//	                                           mediaType field does not say it
//	repos/<name>/_tags/<tag>                   hard link to the sha256 manifest the tag points at
//	                                           (its digest is the hash of the content), or a
//	                                           text file holding the digest of any other algorithm
//	repos/<name>/_referrers/<alg>/<hex>/<alg>-<hex>
//	                                           a descriptor (JSON) of a manifest whose subject is <alg>:<hex>
//	gc.lock                                    coordinates garbage collection with writers (see gc.go)
//
// Blobs follow the content store's rule: write to a temporary file, verify size and digest, fsync,
// rename into place, fsync the directory. Links and tags are hard links made under a temporary
// name and renamed into place (a reader sees the old or the new target, never a partial file),
// and their directories are fsynced before the request is acknowledged, so a push answered 201
// survives a crash of the process or the machine. Hard links rather than small files because
// allocating an inode is the dominant cost of a manifest push on common filesystems; a link is
// a directory entry only.
type store struct {
	root  string
	fsync bool
	sp    *spool
}

func openStore(root string, fsync bool) (*store, error) {
	s := &store{root: root, fsync: fsync}
	for _, d := range []string{"blobs/sha256", "blobs/sha512", "uploads", "repos"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	var err error
	s.sp, err = newSpool(filepath.Join(root, "uploads"), fsync, s.commitBlob)
	return s, err
}

func (s *store) uploads() uploadStore { return s.sp }

func (s *store) blobPath(d digest.Digest) string {
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), d.Encoded())
}

func (s *store) repoDir(repo string) string {
	return filepath.Join(s.root, "repos", filepath.FromSlash(repo))
}

func (s *store) blobLinkPath(repo string, d digest.Digest) string {
	return filepath.Join(s.repoDir(repo), "_blobs", d.Algorithm().String(), d.Encoded())
}

func (s *store) manifestLinkPath(repo string, d digest.Digest) string {
	return filepath.Join(s.repoDir(repo), "_manifests", d.Algorithm().String(), d.Encoded())
}

func (s *store) tagPath(repo, tag string) string {
	return filepath.Join(s.repoDir(repo), "_tags", tag)
}

func (s *store) referrerDir(repo string, subject digest.Digest) string {
	return filepath.Join(s.repoDir(repo), "_referrers", subject.Algorithm().String(), subject.Encoded())
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// existsErr is exists for answers to clients: only "no such file" is false, other failures
// (an I/O error, a permission problem) are errors.
func existsErr(p string) (bool, error) {
	_, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// repoHasBlob reports whether the blob is part of repo, as a blob or as a manifest.
func (s *store) repoHasBlob(_ context.Context, repo string, d digest.Digest) (bool, error) {
	if ok, err := existsErr(s.blobLinkPath(repo, d)); ok || err != nil {
		return ok, err
	}
	return existsErr(s.manifestLinkPath(repo, d))
}

// syncDir makes a rename or create in dir durable.
func (s *store) syncDir(dir string) error {
	if !s.fsync {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// writeFileAtomic replaces path with data: temporary file, fsync, rename, fsync of the directory.
// Temporary names start with "." which no tag, digest or name component can.
func (s *store) writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if s.fsync {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return s.syncDir(dir)
}

// gcShared holds the shared side of the GC lock for the duration of fn. Every writer that makes a
// blob referenced (a link, a manifest naming it) does so inside fn after touching the blob, so the
// collector, which deletes only under the exclusive lock and only blobs untouched for its grace
// period, can never remove a blob that a new reference is about to name. See gc.go.
func (s *store) gcShared(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.root, "gc.lock"), os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		return err
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return fn()
}

// touchBlob marks a blob as freshly referenced (see gcShared). It fails with fs.ErrNotExist if the
// blob is gone.
func (s *store) touchBlob(d digest.Digest) error {
	now := time.Now()
	return os.Chtimes(s.blobPath(d), now, now)
}

// commitBlob moves a verified temporary file into place as blob d and links it into repo. The
// temporary file must already be synced.
func (s *store) commitBlob(tmp string, d digest.Digest, repo string) error {
	return s.gcShared(func() error {
		bp := s.blobPath(d)
		if err := s.touchBlob(d); err == nil {
			os.Remove(tmp) // already stored: content addressing makes the copies equal
		} else {
			if err := os.Rename(tmp, bp); err != nil {
				return err
			}
			if err := s.syncDir(filepath.Dir(bp)); err != nil {
				return err
			}
		}
		lp := s.blobLinkPath(repo, d)
		if err := s.link(bp, lp); err != nil {
			return err
		}
		return s.syncDir(filepath.Dir(lp))
	})
}

// putBlobBytes stores a small blob held in memory (a manifest) if it is not stored yet.
func (s *store) putBlobBytes(d digest.Digest, b []byte) error {
	if exists(s.blobPath(d)) {
		return nil
	}
	dir := filepath.Join(s.root, "uploads")
	f, err := os.CreateTemp(dir, ".put-")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && s.fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.blobPath(d))
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return s.syncDir(filepath.Dir(s.blobPath(d)))
}

// link makes dst a hard link to the blob file src, atomically replacing what dst was. The caller
// syncs dst's directory (see syncDirs).
func (s *store) link(src, dst string) error {
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	dir := filepath.Dir(dst)
	tmp := filepath.Join(dir, ".ln-"+newUploadID())
	err := os.Link(src, tmp)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			err = os.Link(src, tmp)
		}
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// syncDirs makes the entries created in dirs durable; each directory is synced once.
func (s *store) syncDirs(dirs ...string) error {
	for i, d := range dirs {
		if slices.Contains(dirs[:i], d) {
			continue
		}
		if err := s.syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// mountBlob links an existing blob into repo; false if the blob is not stored.
func (s *store) mountBlob(_ context.Context, repo string, d digest.Digest) (bool, error) {
	ok := true
	err := s.gcShared(func() error {
		if err := s.touchBlob(d); err != nil {
			ok = false
			return nil
		}
		lp := s.blobLinkPath(repo, d)
		if err := s.link(s.blobPath(d), lp); err != nil {
			return err
		}
		return s.syncDir(filepath.Dir(lp))
	})
	return ok, err
}

func (s *store) unlinkBlob(_ context.Context, repo string, d digest.Digest) (bool, error) {
	err := os.Remove(s.blobLinkPath(repo, d))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *store) hasManifest(_ context.Context, repo string, d digest.Digest) (bool, error) {
	return existsErr(s.manifestLinkPath(repo, d))
}

// readManifest returns the media type and content of a manifest that is part of repo.
func (s *store) readManifest(_ context.Context, repo string, d digest.Digest) (string, []byte, bool, error) {
	lp := s.manifestLinkPath(repo, d)
	b, err := os.ReadFile(lp)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	if mt, err := os.ReadFile(lp + ".type"); err == nil {
		return string(mt), b, true, nil
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	json.Unmarshal(b, &m)
	return m.MediaType, b, true, nil
}

// resolveTag returns the digest a tag points at.
func (s *store) resolveTag(_ context.Context, repo, tag string) (digest.Digest, bool, error) {
	b, err := os.ReadFile(s.tagPath(repo, tag))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if bytes.HasPrefix(b, []byte("sha")) {
		d, ok := parseDigest(strings.TrimSpace(string(b)))
		return d, ok, nil
	}
	// A manifest is JSON, so it never starts with "sha": the file is the manifest itself.
	return digest.SHA256.FromBytes(b), true, nil
}

// putManifest stores a verified manifest, links it into repo with its tags and records it as a
// referrer of its subject. refs are the digests it names; they are touched so GC keeps them.
func (s *store) putManifest(_ context.Context, repo string, d digest.Digest, mediaType string, body []byte, refs []digest.Digest,
	subject digest.Digest, referrer []byte, tags []string) error {
	return s.gcShared(func() error {
		for _, r := range refs {
			if err := s.touchBlob(r); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if err := s.putBlobBytes(d, body); err != nil {
			return err
		}
		if err := s.touchBlob(d); err != nil {
			return err
		}
		bp, lp := s.blobPath(d), s.manifestLinkPath(repo, d)
		var m struct {
			MediaType string `json:"mediaType"`
		}
		json.Unmarshal(body, &m)
		if m.MediaType != mediaType {
			if err := s.writeFileAtomic(lp+".type", []byte(mediaType)); err != nil {
				return err
			}
		}
		if err := s.link(bp, lp); err != nil {
			return err
		}
		dirs := []string{filepath.Dir(lp)}
		if subject != "" {
			p := filepath.Join(s.referrerDir(repo, subject), d.Algorithm().String()+"-"+d.Encoded())
			if err := s.writeFileAtomic(p, referrer); err != nil {
				return err
			}
		}
		for _, t := range tags {
			tp := s.tagPath(repo, t)
			if d.Algorithm() != digest.SHA256 {
				if err := s.writeFileAtomic(tp, []byte(d.String())); err != nil {
					return err
				}
				continue
			}
			if err := s.link(bp, tp); err != nil {
				return err
			}
			dirs = append(dirs, filepath.Dir(tp))
		}
		return s.syncDirs(dirs...)
	})
}

// deleteManifest removes a manifest from repo with every tag pointing at it and its referrer entry.
func (s *store) deleteManifest(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	lp := s.manifestLinkPath(repo, d)
	if !exists(lp) {
		return false, nil
	}
	tags, _ := s.listTags(ctx, repo, "", -1)
	for _, t := range tags {
		if td, ok, _ := s.resolveTag(ctx, repo, t); ok && td == d {
			if err := os.Remove(s.tagPath(repo, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
	}
	// The referrer entry lives under the subject's digest, which the manifest names.
	if b, err := os.ReadFile(s.blobPath(d)); err == nil {
		var m struct {
			Subject *struct {
				Digest digest.Digest `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(b, &m) == nil && m.Subject != nil {
			if sd, ok := parseDigest(m.Subject.Digest.String()); ok {
				os.Remove(filepath.Join(s.referrerDir(repo, sd), d.Algorithm().String()+"-"+d.Encoded()))
			}
		}
	}
	if err := os.Remove(lp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	os.Remove(lp + ".type")
	return true, s.syncDir(filepath.Dir(lp))
}

func (s *store) deleteTag(_ context.Context, repo, tag string) (bool, error) {
	err := os.Remove(s.tagPath(repo, tag))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// listTags returns repo's tags in lexical order.
func (s *store) listTags(_ context.Context, repo, last string, n int) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.repoDir(repo), "_tags"))
	if err != nil {
		return nil, err
	}
	tags := make([]string, 0, len(ents))
	for _, e := range ents {
		if ValidTag(e.Name()) {
			tags = append(tags, e.Name())
		}
	}
	slices.Sort(tags)
	return pageOf(tags, last, n), nil
}

// pageOf returns up to n (n < 0: all) entries of the sorted list all that sort after last.
func pageOf(all []string, last string, n int) []string {
	if last != "" {
		i, found := slices.BinarySearch(all, last)
		if found {
			i++
		}
		all = all[i:]
	}
	if n >= 0 && n < len(all) {
		all = all[:n]
	}
	return all
}

// referrers returns the stored descriptors of the manifests whose subject is d.
func (s *store) referrers(_ context.Context, repo string, d digest.Digest) ([][]byte, error) {
	dir := s.referrerDir(repo, d)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

func (s *store) repoExists(_ context.Context, repo string) (bool, error) {
	return s.isRepo(repo), nil
}

func (s *store) isRepo(repo string) bool {
	dir := s.repoDir(repo)
	return exists(filepath.Join(dir, "_manifests")) || exists(filepath.Join(dir, "_blobs")) || exists(filepath.Join(dir, "_tags"))
}

// repositories lists repositories in lexical order. The filesystem walks the whole tree: it
// serves one machine's registry, whose catalog is small next to what S3 holds.
func (s *store) repositories(_ context.Context, last string, n int) ([]string, error) {
	all, err := s.allRepositories()
	return pageOf(all, last, n), err
}

// allRepositories lists every repository, in lexical order.
func (s *store) allRepositories() ([]string, error) {
	base := filepath.Join(s.root, "repos")
	var repos []string
	err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == base {
				return err
			}
			return nil
		}
		if !e.IsDir() || p == base {
			return nil
		}
		if strings.HasPrefix(e.Name(), "_") {
			return fs.SkipDir
		}
		rel, _ := filepath.Rel(base, p)
		name := filepath.ToSlash(rel)
		if ValidName(name) && s.isRepo(name) {
			repos = append(repos, name)
		}
		return nil
	})
	slices.Sort(repos)
	return repos, err
}

func (s *store) openBlobFile(d digest.Digest) (*os.File, error) {
	f, err := os.Open(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errBlobUnknown(d)
	}
	return f, err
}

func (s *store) blobExists(_ context.Context, d digest.Digest) (bool, error) {
	return existsErr(s.blobPath(d))
}

func (s *store) openBlob(_ context.Context, d digest.Digest) (io.ReadSeekCloser, error) {
	f, err := s.openBlobFile(d)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (s *store) readBlob(_ context.Context, d digest.Digest) ([]byte, error) {
	b, err := os.ReadFile(s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errBlobUnknown(d)
	}
	return b, err
}

func (s *store) tagTime(_ context.Context, repo, tag string) (time.Time, bool) {
	fi, err := os.Stat(s.tagPath(repo, tag))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// searchInfo reads repos/<name>/_search, written by the last tagged push.
func (s *store) searchInfo(_ context.Context, repo string) (string, bool, error) {
	b, err := os.ReadFile(filepath.Join(s.repoDir(repo), "_search"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	var info searchRecord
	if err := json.Unmarshal(b, &info); err != nil {
		return "", false, nil
	}
	return info.Description, true, nil
}

func (s *store) setSearchInfo(_ context.Context, repo, desc string) error {
	b, _ := json.Marshal(searchRecord{Description: desc})
	return s.writeFileAtomic(filepath.Join(s.repoDir(repo), "_search"), b)
}
