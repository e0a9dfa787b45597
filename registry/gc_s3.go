package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Garbage collection on S3, while any number of replicas keep accepting pushes.
//
// There is no lock to share between machines, and S3 cannot update an object's time without
// rewriting it, so the collector and the writers follow a protocol through two kinds of objects:
// gc/state (the collection running: when it started, until when its lease holds, and the
// blobs it condemned) and gc/pending/<id> (the blobs a write is about to reference).
//
//   - A write that makes blobs referenced (an upload's commit, a mount, a manifest put) first
//     reads gc/state (guard). With no collection running it writes at once, within
//     s3WriteWindow. With one running, it first writes a pending record naming its blobs,
//     then reads gc/state again and, while one of its blobs is condemned, waits for the
//     collector's decision; then it checks that its blobs still exist and writes.
//   - The collector announces itself (gc/state), waits s3WriteWindow and a margin, so every
//     write that did not see it has finished, then marks: every manifest of every repository
//     reaches its blobs; blob links younger than the grace period are kept as well (a blob
//     uploaded or mounted for a manifest still to come). Unmarked blobs older than the grace
//     period are candidates. It writes them to gc/state as condemned, then reads every
//     pending record and lists manifests and young links again, keeping whatever they name,
//     and deletes the rest.
//
// With DeleteUntagged, manifests no tag reaches go first, condemned and rescued the same way
// (a push of the manifest, or a tag pointing at it, names its digest).
//
// A writer and the collector each write before they read the other's record, so at least
// one of them sees the other: either the collector reads the writer's pending record and
// keeps its blobs, or the writer reads the condemnation and waits (and then finds the blob
// gone, and answers as for any unknown blob). A blob uploaded during the collection is young
// and is never a candidate.
type s3GCState struct {
	Started   time.Time       `json:"started"`
	Expires   time.Time       `json:"expires"`
	Condemned []digest.Digest `json:"condemned,omitempty"`
}

// s3WriteWindow bounds the time between a write's look at gc/state and its last write;
// s3GCMargin covers S3 applying a request sent just before that deadline.
var (
	s3WriteWindow = 30 * time.Second
	s3GCMargin    = 10 * time.Second
	// s3GCLease is how long a collection's gc/state holds without being renewed: writers
	// ignore the state of a collection that died.
	s3GCLease = time.Hour
	// s3GCPoll is how often a writer waiting on a condemned blob asks again.
	s3GCPoll = 200 * time.Millisecond
)

func (s *s3Store) gcStateKey() string      { return s.prefix + "gc/state" }
func (s *s3Store) gcPendingPrefix() string { return s.prefix + "gc/pending/" }

// gcState returns the running collection, nil if none (or if its lease ran out).
func (s *s3Store) gcState(ctx context.Context) (*s3GCState, error) {
	b, err := s.get(ctx, s.gcStateKey())
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st s3GCState
	if json.Unmarshal(b, &st) != nil || time.Now().After(st.Expires) {
		return nil, nil
	}
	return &st, nil
}

func (st *s3GCState) condemns(refs []digest.Digest) bool {
	for _, c := range st.Condemned {
		for _, r := range refs {
			if c == r {
				return true
			}
		}
	}
	return false
}

// guard runs write, which makes refs referenced, within s3WriteWindow and following the
// protocol above.
func (s *s3Store) guard(ctx context.Context, refs []digest.Digest, write func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s3WriteWindow)
	defer cancel()
	st, err := s.gcState(ctx)
	if err != nil {
		return err
	}
	if st != nil {
		var b strings.Builder
		for _, r := range refs {
			b.WriteString(r.String() + "\n")
		}
		pending := s.gcPendingPrefix() + newUploadID()
		if err := s.put(ctx, pending, []byte(b.String())); err != nil {
			return err
		}
		defer s.del(context.WithoutCancel(ctx), pending)
		for {
			if st, err = s.gcState(ctx); err != nil {
				return err
			}
			if st == nil || !st.condemns(refs) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for garbage collection to decide on a blob: %w", ctx.Err())
			case <-time.After(s3GCPoll):
			}
		}
	}
	return write(ctx)
}

// gcS3 collects garbage in an S3 registry; see the protocol above and GC for the options.
func gcS3(ctx context.Context, s *s3Store, opts GCOptions) (GCReport, error) {
	var rep GCReport
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", a...)
		}
	}
	if st, err := s.gcState(ctx); err != nil {
		return rep, err
	} else if st != nil {
		return rep, fmt.Errorf("registry gc: another collection is running since %s (its lease ends %s)",
			st.Started.UTC().Format(time.RFC3339), st.Expires.UTC().Format(time.RFC3339))
	}
	start := time.Now()
	cutoff := start.Add(-opts.Grace)
	state := s3GCState{Started: start}
	putState := func() error {
		state.Expires = time.Now().Add(s3GCLease)
		b, _ := json.Marshal(state)
		return s.put(ctx, s.gcStateKey(), b)
	}
	if !opts.DryRun {
		if err := putState(); err != nil {
			return rep, err
		}
		defer s.del(context.WithoutCancel(ctx), s.gcStateKey())
		// Every write that did not see the announcement ends within the window.
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(s3WriteWindow + s3GCMargin):
		}
	}

	if opts.DeleteUntagged {
		if err := s.deleteUntagged(ctx, &state, putState, cutoff, opts.DryRun, &rep, logf); err != nil {
			return rep, err
		}
	}

	marked := map[digest.Digest]bool{}
	seenManifests := map[string]bool{}
	links := map[digest.Digest][]string{} // blob -> link keys
	// mark walks every repository's manifests (those not seen yet) and blob links.
	mark := func() error {
		repos, err := s.repositories(ctx, "", -1)
		if err != nil {
			return err
		}
		for _, repo := range repos {
			p := s.repoKey(repo) + "_manifests/"
			var todo []digest.Digest
			err := s.c.listEach(ctx, p, "", "", 0, func(e s3Entry, _ bool) bool {
				if d, ok := digestOfKey(strings.TrimPrefix(e.Key, p)); ok && !seenManifests[e.Key] {
					seenManifests[e.Key] = true
					todo = append(todo, d)
				}
				return true
			})
			if err != nil {
				return err
			}
			for _, d := range todo {
				marked[d] = true
				b, err := s.readBlob(ctx, d)
				if err != nil {
					if _, ok := err.(*apiError); ok {
						continue // a link whose manifest is gone
					}
					return err
				}
				var m manifest
				if json.Unmarshal(b, &m) != nil {
					continue
				}
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
			p = s.repoKey(repo) + "_blobs/"
			err = s.c.listEach(ctx, p, "", "", 0, func(e s3Entry, _ bool) bool {
				if d, ok := digestOfKey(strings.TrimPrefix(e.Key, p)); ok {
					if !e.LastModified.Before(cutoff) {
						marked[d] = true // uploaded or mounted lately, for a manifest to come
					}
					if !slices.Contains(links[d], e.Key) {
						links[d] = append(links[d], e.Key)
					}
				}
				return true
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := mark(); err != nil {
		return rep, err
	}
	rep.Marked = len(marked)

	type candidate struct {
		d    digest.Digest
		size int64
	}
	var candidates []candidate
	dataInUse := map[string]bool{}
	bp := s.prefix + "blobs/"
	err := s.c.listEach(ctx, bp, "", "", 0, func(e s3Entry, _ bool) bool {
		d, ok := digestOfKey(strings.TrimPrefix(e.Key, bp))
		if !ok {
			return true
		}
		if !marked[d] && e.LastModified.Before(cutoff) {
			candidates = append(candidates, candidate{d, e.Size})
		}
		if e.Size == 0 {
			dataInUse[e.Key] = true // resolved below: it may point at a data object
		}
		return true
	})
	if err != nil {
		return rep, err
	}
	for k := range dataInUse {
		delete(dataInUse, k)
		info, ok, err := s.stat(ctx, k)
		if err != nil {
			return rep, err
		}
		if ok && info.Meta[metaData] != "" {
			dataInUse[info.Meta[metaData]] = true
		}
	}
	rep.Candidates = len(candidates)

	if !opts.DryRun && len(candidates) > 0 {
		for _, c := range candidates {
			state.Condemned = append(state.Condemned, c.d)
		}
		if err := putState(); err != nil {
			return rep, err
		}
		// Writes under way name their blobs in pending records; finished ones are seen by a
		// second marking.
		pending, err := s.pendingDigests(ctx)
		if err != nil {
			return rep, err
		}
		for d := range pending {
			marked[d] = true
		}
		if err := mark(); err != nil {
			return rep, err
		}
	}
	for _, c := range candidates {
		if marked[c.d] {
			continue
		}
		if !opts.DryRun {
			dk, size, err := s.blobData(ctx, c.d)
			if err != nil {
				if _, ok := err.(*apiError); ok {
					continue // deleted meanwhile
				}
				return rep, err
			}
			if err := s.del(ctx, s.blobKey(c.d)); err != nil {
				return rep, err
			}
			if dk != s.blobKey(c.d) {
				if err := s.del(ctx, dk); err != nil {
					return rep, err
				}
			}
			c.size = size
			for _, l := range links[c.d] {
				if err := s.del(ctx, l); err != nil {
					return rep, err
				}
			}
		}
		rep.Blobs++
		rep.BlobBytes += c.size
		logf("blob %s deleted (%d bytes)", c.d, c.size)
	}
	if !opts.DryRun && len(state.Condemned) > 0 {
		state.Condemned = nil
		if err := putState(); err != nil {
			return rep, err
		}
	}

	// Data objects no blob points at: the loser of two uploads of one blob finishing at once.
	dp := s.prefix + "data/"
	var orphans []string
	if err := s.c.listEach(ctx, dp, "", "", 0, func(e s3Entry, _ bool) bool {
		if !dataInUse[e.Key] && e.LastModified.Before(cutoff) {
			orphans = append(orphans, e.Key)
		}
		return true
	}); err != nil {
		return rep, err
	}
	for _, k := range orphans {
		// Pointed at since the listing? Only by a blob written after it, which is young;
		// the data object of such a blob is young too, so this one is not.
		if !opts.DryRun {
			if err := s.del(ctx, k); err != nil {
				return rep, err
			}
		}
		logf("orphaned data %s deleted", strings.TrimPrefix(k, s.prefix))
	}

	// Upload sessions idle for longer than UploadExpiry, and stale pending records.
	n, err := s.expireUploads(ctx, start.Add(-opts.UploadExpiry), opts.DryRun, logf)
	rep.Uploads = n
	if err != nil {
		return rep, err
	}
	if !opts.DryRun {
		stale := start.Add(-s3WriteWindow - s3GCMargin)
		var old []string
		if err := s.c.listEach(ctx, s.gcPendingPrefix(), "", "", 0, func(e s3Entry, _ bool) bool {
			if e.LastModified.Before(stale) {
				old = append(old, e.Key)
			}
			return true
		}); err != nil {
			return rep, err
		}
		for _, k := range old {
			s.del(ctx, k)
		}
	}
	return rep, nil
}

// deleteUntagged removes the manifests no tag reaches (directly, through an index, or as a
// referrer of a kept manifest) and whose link is older than cutoff, following the protocol:
// they are condemned first, and a write naming one (a push of it, a tag) rescues it or waits.
func (s *s3Store) deleteUntagged(ctx context.Context, state *s3GCState, putState func() error, cutoff time.Time,
	dryRun bool, rep *GCReport, logf func(string, ...any)) error {
	repos, err := s.repositories(ctx, "", -1)
	if err != nil {
		return err
	}
	type doomed struct {
		repo string
		d    digest.Digest
	}
	var untagged []doomed
	kept := map[string]map[digest.Digest]bool{}
	for _, repo := range repos {
		k, all, err := s.reachable(ctx, repo, cutoff)
		if err != nil {
			return err
		}
		kept[repo] = k
		for _, d := range all {
			if !k[d] {
				untagged = append(untagged, doomed{repo, d})
			}
		}
	}
	if len(untagged) == 0 {
		return nil
	}
	if !dryRun {
		for _, u := range untagged {
			state.Condemned = append(state.Condemned, u.d)
		}
		if err := putState(); err != nil {
			return err
		}
		rescued, err := s.pendingDigests(ctx)
		if err != nil {
			return err
		}
		recheck := map[string]map[digest.Digest]bool{}
		for _, u := range untagged {
			if rescued[u.d] {
				continue
			}
			if recheck[u.repo] == nil {
				// Tags moved or manifests pushed since the first look count.
				if recheck[u.repo], _, err = s.reachable(ctx, u.repo, cutoff); err != nil {
					return err
				}
			}
			if recheck[u.repo][u.d] {
				continue
			}
			if _, err := s.deleteManifest(ctx, u.repo, u.d); err != nil {
				return err
			}
			rep.Manifests++
			logf("%s: untagged manifest %s deleted", u.repo, u.d)
		}
		state.Condemned = nil
		return putState()
	}
	for _, u := range untagged {
		rep.Manifests++
		logf("%s: untagged manifest %s deleted", u.repo, u.d)
	}
	return nil
}

// reachable returns the manifests of repo a tag reaches (through indexes and referrers), with
// those linked since cutoff (a multi-platform push tags its index after the children), and
// every manifest of repo.
func (s *s3Store) reachable(ctx context.Context, repo string, cutoff time.Time) (map[digest.Digest]bool, []digest.Digest, error) {
	var all, queue []digest.Digest
	p := s.repoKey(repo) + "_manifests/"
	err := s.c.listEach(ctx, p, "", "", 0, func(e s3Entry, _ bool) bool {
		if d, ok := digestOfKey(strings.TrimPrefix(e.Key, p)); ok {
			all = append(all, d)
			if !e.LastModified.Before(cutoff) {
				queue = append(queue, d)
			}
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	tags, err := s.listTags(ctx, repo, "", -1)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	for _, t := range tags {
		d, ok, err := s.resolveTag(ctx, repo, t)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			queue = append(queue, d)
		}
	}
	kept := map[digest.Digest]bool{}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if kept[d] {
			continue
		}
		kept[d] = true
		if b, err := s.readBlob(ctx, d); err == nil {
			var m manifest
			if json.Unmarshal(b, &m) == nil {
				for _, c := range m.Manifests {
					if cd, ok := parseDigest(c.Digest); ok {
						queue = append(queue, cd)
					}
				}
			}
		} else if _, ok := err.(*apiError); !ok {
			return nil, nil, err
		}
		refs, err := s.referrers(ctx, repo, d)
		if err != nil {
			return nil, nil, err
		}
		for _, b := range refs {
			var desc descriptor
			if json.Unmarshal(b, &desc) == nil {
				if rd, ok := parseDigest(desc.Digest); ok {
					queue = append(queue, rd)
				}
			}
		}
	}
	return kept, all, nil
}

// pendingDigests reads every pending record: the digests writes under way are about to name.
func (s *s3Store) pendingDigests(ctx context.Context) (map[digest.Digest]bool, error) {
	pp := s.gcPendingPrefix()
	var keys []string
	if err := s.c.listEach(ctx, pp, "", "", 0, func(e s3Entry, _ bool) bool {
		keys = append(keys, e.Key)
		return true
	}); err != nil {
		return nil, err
	}
	out := map[digest.Digest]bool{}
	for _, k := range keys {
		b, err := s.get(ctx, k)
		if notFound(err) {
			continue // finished: a second look sees what it wrote
		}
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Fields(string(b)) {
			if d, ok := parseDigest(line); ok {
				out[d] = true
			}
		}
	}
	return out, nil
}

// expireUploads removes the sessions whose newest object is older than before, with their
// multipart uploads.
func (s *s3Store) expireUploads(ctx context.Context, before time.Time, dryRun bool, logf func(string, ...any)) (int, error) {
	up := s.prefix + "uploads/"
	newest := map[string]time.Time{}
	keys := map[string][]string{}
	err := s.c.listEach(ctx, up, "", "", 0, func(e s3Entry, _ bool) bool {
		id, _, ok := strings.Cut(strings.TrimPrefix(e.Key, up), "/")
		if !ok || !uploadIDRE().MatchString(id) {
			return true
		}
		if e.LastModified.After(newest[id]) {
			newest[id] = e.LastModified
		}
		keys[id] = append(keys[id], e.Key)
		return true
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for id, t := range newest {
		if !t.Before(before) {
			continue
		}
		n++
		logf("upload %s expired", id)
		if dryRun {
			continue
		}
		if b, err := s.get(ctx, up+id+"/state"); err == nil {
			var st s3UploadState
			if json.Unmarshal(b, &st) == nil && st.Multipart != "" {
				cctx, cancel := opCtx(ctx)
				s.c.abortMultipartUpload(cctx, s.up.dataKey(id), st.Multipart)
				cancel()
			}
		} else if !notFound(err) {
			return n, err
		}
		for _, k := range keys[id] {
			if err := s.del(ctx, k); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// digestOfKey reads "<alg>/<hex>" (the tail of a blob or link key).
func digestOfKey(k string) (digest.Digest, bool) {
	alg, enc, ok := strings.Cut(k, "/")
	if !ok {
		return "", false
	}
	return parseDigest(alg + ":" + enc)
}
