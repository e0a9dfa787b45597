package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// GCOptions tunes a garbage collection.
type GCOptions struct {
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// DeleteUntagged also removes manifests no tag reaches (directly, through an index, or as a
	// referrer of a kept manifest).
	DeleteUntagged bool
	// Grace protects anything written or referenced more recently than this (default 1h). It must
	// be longer than any single request takes (see the invariant below).
	Grace time.Duration
	// UploadExpiry removes upload sessions idle for longer than this (default 7 days, as
	// distribution).
	UploadExpiry time.Duration
	// Log receives one line per deleted object.
	Log io.Writer
}

// GCReport says what a collection removed (or would remove, in a dry run).
type GCReport struct {
	Manifests  int   // manifest links removed from repositories
	Blobs      int   // blobs removed from storage
	BlobBytes  int64 // their size
	Uploads    int   // expired upload sessions removed
	Marked     int   // blobs kept because a kept manifest reaches them
	Candidates int   // unreachable blobs found before the grace check
}

// GC collects garbage in a registry's storage while servers keep serving it.
//
// Marking starts at every manifest of every repository (or, with DeleteUntagged, at every tag)
// and reaches each manifest's config, layers and child manifests. Everything else is garbage:
// blobs pushed but never named by a manifest, blobs of deleted manifests. Blob links of
// repositories are not roots; a link to a deleted blob is removed with it.
//
// The invariant that makes this safe without stopping the world: every request that makes a
// blob referenced (upload commit, mount, manifest put) first updates the blob's mtime and then
// writes the reference, both under the shared side of gc.lock. The collector deletes a blob only
// under the exclusive side, and only if its mtime is older than start-Grace. So a reference
// written before marking began is seen by the marking; a reference written after marking began
// touched its blob at a time later than start-Grace (a request does not take Grace); and a
// reference written after the deletion finds the blob gone under its own lock and fails cleanly
// (the upload renames its own copy into place instead). Uploads in flight live in uploads/,
// which only expire after UploadExpiry of inactivity. The exclusive lock is held for one small
// batch of deletions at a time, so writers wait microseconds, never for the whole collection.
func GC(storage string, opts GCOptions) (GCReport, error) {
	var rep GCReport
	opts = opts.withDefaults()
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", a...)
		}
	}
	st, err := openStore(storage, true)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	cutoff := start.Add(-opts.Grace)
	old := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.ModTime().Before(cutoff)
	}
	repos, err := st.allRepositories()
	if err != nil {
		return rep, err
	}
	marked := map[digest.Digest]bool{}
	for _, repo := range repos {
		manifests := st.manifestsOf(repo)
		kept := map[digest.Digest]bool{}
		if !opts.DeleteUntagged {
			for _, d := range manifests {
				kept[d] = true
			}
		} else {
			var queue []digest.Digest
			tags, _ := st.listTags(context.Background(), repo, "", -1)
			for _, t := range tags {
				if d, ok, _ := st.resolveTag(context.Background(), repo, t); ok {
					queue = append(queue, d)
				}
			}
			// Young manifests are kept: a multi-platform push tags its index after the children.
			for _, d := range manifests {
				if !old(st.manifestLinkPath(repo, d)) {
					queue = append(queue, d)
				}
			}
			for len(queue) > 0 {
				d := queue[0]
				queue = queue[1:]
				if kept[d] {
					continue
				}
				kept[d] = true
				m := st.parseManifest(d)
				if m != nil {
					for _, c := range m.Manifests {
						if cd, ok := parseDigest(c.Digest); ok {
							queue = append(queue, cd)
						}
					}
				}
				refs, _ := st.referrers(context.Background(), repo, d)
				for _, b := range refs {
					var desc descriptor
					if json.Unmarshal(b, &desc) == nil {
						if rd, ok := parseDigest(desc.Digest); ok {
							queue = append(queue, rd)
						}
					}
				}
			}
			for _, d := range manifests {
				if kept[d] {
					continue
				}
				deleted := false
				err := st.gcExclusive(func() error {
					// Re-check under the lock: a tag or a fresh push may have claimed it.
					if !old(st.manifestLinkPath(repo, d)) || st.tagged(repo, d) {
						kept[d] = true
						return nil
					}
					if opts.DryRun {
						deleted = true
						return nil
					}
					var err error
					deleted, err = st.deleteManifest(context.Background(), repo, d)
					return err
				})
				if err != nil {
					return rep, err
				}
				if deleted {
					rep.Manifests++
					logf("%s: untagged manifest %s deleted", repo, d)
				}
			}
		}
		for d := range kept {
			marked[d] = true
			if m := st.parseManifest(d); m != nil {
				if m.Config != nil {
					if cd, ok := parseDigest(m.Config.Digest); ok {
						marked[cd] = true
					}
				}
				for _, l := range append(m.Layers, m.Manifests...) {
					if ld, ok := parseDigest(l.Digest); ok {
						marked[ld] = true
					}
				}
			}
		}
	}
	rep.Marked = len(marked)

	// Sweep.
	var candidates []digest.Digest
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		ents, err := os.ReadDir(filepath.Join(storage, "blobs", alg.String()))
		if err != nil {
			return rep, err
		}
		for _, e := range ents {
			d := digest.NewDigestFromEncoded(alg, e.Name())
			if d.Validate() != nil || marked[d] {
				continue
			}
			if old(st.blobPath(d)) {
				candidates = append(candidates, d)
			}
		}
	}
	rep.Candidates = len(candidates)
	const batch = 64
	for i := 0; i < len(candidates); i += batch {
		err := st.gcExclusive(func() error {
			for _, d := range candidates[i:min(i+batch, len(candidates))] {
				p := st.blobPath(d)
				fi, err := os.Stat(p)
				if err != nil || !fi.ModTime().Before(cutoff) {
					continue // referenced since marking began
				}
				if !opts.DryRun {
					if err := os.Remove(p); err != nil {
						return err
					}
					for _, repo := range repos {
						os.Remove(st.blobLinkPath(repo, d))
					}
				}
				rep.Blobs++
				rep.BlobBytes += fi.Size()
				logf("blob %s deleted (%d bytes)", d, fi.Size())
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}

	// Expired upload sessions and stray temporary files.
	ents, err := os.ReadDir(filepath.Join(storage, "uploads"))
	if err != nil {
		return rep, err
	}
	expired := start.Add(-opts.UploadExpiry)
	for _, e := range ents {
		p := filepath.Join(storage, "uploads", e.Name())
		probe := p
		if e.IsDir() {
			probe = filepath.Join(p, "data")
		}
		fi, err := os.Stat(probe)
		if err == nil && fi.ModTime().After(expired) {
			continue
		}
		if err != nil && !isNotExist(err) {
			continue
		}
		if !opts.DryRun {
			os.RemoveAll(p)
		}
		rep.Uploads++
		logf("upload %s expired", e.Name())
	}
	return rep, nil
}

func (o GCOptions) withDefaults() GCOptions {
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.UploadExpiry <= 0 {
		o.UploadExpiry = 7 * 24 * time.Hour
	}
	return o
}

// GCConfig collects garbage in the storage cfg names: its S3 bucket when it has one (see
// gcS3: safe while any number of replicas keep serving), else its directory (see GC).
func GCConfig(cfg Config, opts GCOptions) (GCReport, error) {
	if cfg.S3 == nil {
		return GC(cfg.Storage, opts)
	}
	s, err := newS3Store(*cfg.S3)
	if err != nil {
		return GCReport{}, err
	}
	return gcS3(context.Background(), s, opts.withDefaults())
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// gcExclusive runs fn under the exclusive side of gc.lock (see gcShared).
func (s *store) gcExclusive(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.root, "gc.lock"), os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return fn()
}

// manifestsOf lists the manifests linked into repo.
func (s *store) manifestsOf(repo string) []digest.Digest {
	var out []digest.Digest
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		ents, _ := os.ReadDir(filepath.Join(s.repoDir(repo), "_manifests", alg.String()))
		for _, e := range ents {
			d := digest.NewDigestFromEncoded(alg, e.Name())
			if d.Validate() == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

func (s *store) tagged(repo string, d digest.Digest) bool {
	tags, _ := s.listTags(context.Background(), repo, "", -1)
	for _, t := range tags {
		if td, ok, _ := s.resolveTag(context.Background(), repo, t); ok && td == d {
			return true
		}
	}
	return false
}

func (s *store) parseManifest(d digest.Digest) *manifest {
	b, err := os.ReadFile(s.blobPath(d))
	if err != nil {
		return nil
	}
	var m manifest
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return &m
}
