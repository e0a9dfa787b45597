package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// s3Store keeps a registry in an S3-compatible bucket, as objects under Prefix, so that any
// number of registry processes (replicas behind a load balancer) serve one registry and hold no
// state of their own:
//
//	blobs/<alg>/<hex>                  a blob's content; or, for a blob that was uploaded in parts,
//	                                   an empty object whose metadata names its data object
//	                                   (berth-data) and size (berth-size)
//	data/<upload id>                   the content of a blob uploaded in parts: the S3 multipart
//	                                   upload of the session, completed in place (no copy)
//	uploads/<id>/state                 an upload session (JSON: repository, size, hash state, parts)
//	uploads/<id>/tail-<size>           the bytes of the session after its last part
//	repos/<name>/_blobs/<alg>/<hex>    empty: the blob is part of <name>
//	repos/<name>/_manifests/<alg>/<hex>  the manifest is part of <name>; holds its media type
//	repos/<name>/_tags/<tag>           the digest the tag points at
//	repos/<name>/_referrers/<alg>/<hex>/<alg>-<hex>  a referrer's descriptor
//	repos/<name>/_search               what search shows of <name> (JSON)
//	index/repositories/<code>          one empty object per repository, named so that listing
//	                                   them gives the catalog in order, a page per request
//	gc/state, gc/pending/<id>          a garbage collection in progress (see gcS3)
//
// S3 has no links or renames; instead every object is written whole by one PUT, which S3 makes
// visible atomically and durably before answering, and a blob is always written before any
// link to it. The S3 calls themselves are in s3client.go. Every answer "does not exist" comes
// from S3 saying so (404); any other failure is returned as an error.
type s3Store struct {
	c      *s3Client
	prefix string
	up     *s3Uploads

	// indexed remembers repositories whose index object this process wrote, to skip
	// rewriting it on every push. Only an optimisation: the index lives in the bucket.
	indexed sync.Map
	// bodies caches manifest contents by digest: content addressing makes the cache right in
	// every replica. Whether a repository holds a manifest is always asked of the bucket.
	bodies manifestCache
}

// manifestCache holds up to manifestCacheBytes of manifests, forgotten all at once when full.
type manifestCache struct {
	mu    sync.Mutex
	m     map[digest.Digest][]byte
	bytes int
}

const manifestCacheBytes = 16 << 20

func (c *manifestCache) get(d digest.Digest) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[d]
	return b, ok
}

func (c *manifestCache) add(d digest.Digest, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes+len(b) > manifestCacheBytes {
		c.m, c.bytes = map[digest.Digest][]byte{}, 0
	}
	c.m[d] = b
	c.bytes += len(b)
}

// s3CallTimeout bounds one storage operation (with its retries) when the client's request
// has no deadline of its own.
var s3CallTimeout = 2 * time.Minute

func newS3Store(cfg S3Config) (*s3Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("registry: s3 needs an endpoint and a bucket")
	}
	if cfg.AccessKey == "" {
		cfg.AccessKey = os.Getenv("AWS_ACCESS_KEY_ID")
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	if strings.ContainsAny(cfg.Endpoint, "/?#") {
		return nil, fmt.Errorf("registry: s3 endpoint %q must be host[:port], without a scheme (insecure selects http)", cfg.Endpoint)
	}
	c := newS3Client(cfg.Endpoint, cfg.Bucket, cfg.Region, cfg.AccessKey, cfg.SecretKey, cfg.Insecure)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c.region == "" {
		c.region = c.bucketRegion(ctx)
	}
	ok, err := c.headBucket(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: s3 bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("registry: s3 bucket %s does not exist at %s", cfg.Bucket, cfg.Endpoint)
		}
		if err := c.createBucket(ctx); err != nil {
			return nil, fmt.Errorf("registry: creating s3 bucket %s: %w", cfg.Bucket, err)
		}
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	s := &s3Store{c: c, prefix: prefix}
	s.up = &s3Uploads{s: s}
	if err := s.indexOldRepositories(ctx); err != nil {
		return nil, fmt.Errorf("registry: s3 bucket %s: indexing repositories: %w", cfg.Bucket, err)
	}
	return s, nil
}

// opCtx bounds one storage operation made for a request.
func opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s3CallTimeout)
}

func (s *s3Store) uploads() uploadStore { return s.up }

func (s *s3Store) blobKey(d digest.Digest) string {
	return s.prefix + "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}
func (s *s3Store) repoKey(repo string) string { return s.prefix + "repos/" + repo + "/" }
func (s *s3Store) blobLinkKey(repo string, d digest.Digest) string {
	return s.repoKey(repo) + "_blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}
func (s *s3Store) manifestLinkKey(repo string, d digest.Digest) string {
	return s.repoKey(repo) + "_manifests/" + d.Algorithm().String() + "/" + d.Encoded()
}
func (s *s3Store) tagKey(repo, tag string) string { return s.repoKey(repo) + "_tags/" + tag }
func (s *s3Store) referrerPrefix(repo string, subject digest.Digest) string {
	return s.repoKey(repo) + "_referrers/" + subject.Algorithm().String() + "/" + subject.Encoded() + "/"
}
func (s *s3Store) indexPrefix() string { return s.prefix + "index/repositories/" }

// repoIndexCode names a repository's index object. Listing sorts keys bytewise, and the
// catalog must come in the names' lexical order, but a '/' in the key would make SeaweedFS
// and other filer-backed servers keep the object in a directory (listed in another order, and
// clashing with an object of the parent's name). So each character of a name is replaced by one
// of the same rank in a '/'-free alphabet: '-' ',', '.' '-', '/' '.', and the rest stays.
func repoIndexCode(name string) string { return toIndexCode.Replace(name) }

func repoIndexName(code string) string { return fromIndexCode.Replace(code) }

// Each pair is replaced in one pass (a Replacer never rescans what it wrote), so the two are
// exact inverses.
var (
	toIndexCode   = strings.NewReplacer("-", ",", ".", "-", "/", ".")
	fromIndexCode = strings.NewReplacer(",", "-", "-", ".", ".", "/")
)

func (s *s3Store) stat(ctx context.Context, key string) (s3Object, bool, error) {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	info, err := s.c.headObject(ctx, key)
	if err != nil {
		if notFound(err) {
			return info, false, nil
		}
		return info, false, err
	}
	return info, true, nil
}

func (s *s3Store) has(ctx context.Context, key string) (bool, error) {
	_, ok, err := s.stat(ctx, key)
	return ok, err
}

func (s *s3Store) put(ctx context.Context, key string, b []byte, meta ...string) error {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	body, size, sha := bytesBody(b)
	return s.c.putObject(ctx, key, body, size, sha, meta...)
}

// get reads a small object whole; the error satisfies notFound when it does not exist.
func (s *s3Store) get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	o, err := s.c.getObject(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		return nil, &s3NetError{Op: "GET " + s.c.bucket + "/" + key, Err: err}
	}
	return b, nil
}

func (s *s3Store) del(ctx context.Context, key string) error {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	return s.c.deleteObject(ctx, key)
}

func (s *s3Store) remove(ctx context.Context, key string) (bool, error) {
	ok, err := s.has(ctx, key)
	if !ok || err != nil {
		return false, err
	}
	return true, s.del(ctx, key)
}

// list returns the keys under prefix, relative to it; recursive or one level.
func (s *s3Store) list(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	delimiter := "/"
	if recursive {
		delimiter = ""
	}
	keys, prefixes, err := s.c.listObjects(ctx, prefix, delimiter, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys)+len(prefixes))
	for _, k := range append(keys, prefixes...) {
		out = append(out, strings.TrimPrefix(k, prefix))
	}
	return out, nil
}

// putFile stores the verified file name, the blob d, under key, streaming it from disk: in one
// PUT up to s3PartSize, in parts beyond. The payload hash SigV4 signs is d itself for a sha256
// blob, and computed from the file otherwise. (Used to move a filesystem registry into S3.)
func (s *s3Store) putFile(key, name string, d digest.Digest) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	section := func(off, n int64) func() io.Reader {
		return func() io.Reader { return io.NewSectionReader(f, off, n) }
	}
	if size <= s3PartSize {
		sha := d.Encoded()
		if d.Algorithm() != digest.SHA256 {
			if sha, err = sha256Of(section(0, size)()); err != nil {
				return err
			}
		}
		ctx, cancel := opCtx(context.Background())
		defer cancel()
		return s.c.putObject(ctx, key, section(0, size), size, sha)
	}
	partSize := max(s3PartSize, (size+s3MaxParts-1)/s3MaxParts)
	ctx, cancel := opCtx(context.Background())
	id, err := s.c.createMultipartUpload(ctx, key)
	cancel()
	if err != nil {
		return err
	}
	err = func() error {
		var etags []string
		for off := int64(0); off < size; off += partSize {
			n := min(partSize, size-off)
			sha, err := sha256Of(section(off, n)())
			if err != nil {
				return err
			}
			ctx, cancel := opCtx(context.Background())
			etag, err := s.c.uploadPart(ctx, key, id, len(etags)+1, section(off, n), n, sha)
			cancel()
			if err != nil {
				return err
			}
			etags = append(etags, etag)
		}
		ctx, cancel := opCtx(context.Background())
		defer cancel()
		return s.c.completeMultipartUpload(ctx, key, id, etags)
	}()
	if err != nil {
		ctx, cancel := opCtx(context.Background())
		s.c.abortMultipartUpload(ctx, key, id) // best effort; S3 lifecycle rules can clean up the rest
		cancel()
	}
	return err
}

func sha256Of(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// commitBlob stores the verified file tmp as blob d of repo (a blob that went through the
// filesystem: tests, and moving a registry into S3).
func (s *s3Store) commitBlob(tmp string, d digest.Digest, repo string) error {
	defer os.Remove(tmp)
	ctx := context.Background()
	return s.guard(ctx, []digest.Digest{d}, func(ctx context.Context) error {
		ok, err := s.has(ctx, s.blobKey(d))
		if err != nil {
			return err
		}
		if !ok {
			if err := s.putFile(s.blobKey(d), tmp, d); err != nil {
				return err
			}
		}
		return s.link(ctx, repo, s.blobLinkKey(repo, d), nil)
	})
}

// link writes a repository's link object and makes sure the repository is in the index.
func (s *s3Store) link(ctx context.Context, repo, key string, body []byte) error {
	if err := s.put(ctx, key, body); err != nil {
		return err
	}
	return s.index(ctx, repo)
}

func (s *s3Store) index(ctx context.Context, repo string) error {
	if _, ok := s.indexed.Load(repo); ok {
		return nil
	}
	if err := s.put(ctx, s.indexPrefix()+repoIndexCode(repo), nil); err != nil {
		return err
	}
	s.indexed.Store(repo, true)
	return nil
}

// indexOldRepositories writes the index objects of a bucket filled by a berth that kept no
// index (the walk over every repository object happens once: when the index is empty and
// repositories exist).
func (s *s3Store) indexOldRepositories(ctx context.Context) error {
	keys, _, err := s.c.listObjects(ctx, s.indexPrefix(), "", 1)
	if err != nil || len(keys) > 0 {
		return err
	}
	keys, _, err = s.c.listObjects(ctx, s.prefix+"repos/", "", 1)
	if err != nil || len(keys) == 0 {
		return err
	}
	repos, err := s.scanRepositories(ctx)
	if err != nil {
		return err
	}
	for _, r := range repos {
		if err := s.index(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// scanRepositories finds every repository by listing every repository object: O(bucket).
func (s *s3Store) scanRepositories(ctx context.Context) ([]string, error) {
	keys, err := s.list(ctx, s.prefix+"repos/", true)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, k := range keys {
		parts := strings.Split(k, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, "_") {
				if name := path.Join(parts[:i]...); ValidName(name) {
					seen[name] = true
				}
				break
			}
		}
	}
	repos := make([]string, 0, len(seen))
	for n := range seen {
		repos = append(repos, n)
	}
	slices.Sort(repos)
	return repos, nil
}

func (s *s3Store) mountBlob(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	ok := false
	err := s.guard(ctx, []digest.Digest{d}, func(ctx context.Context) error {
		var err error
		if ok, err = s.has(ctx, s.blobKey(d)); !ok || err != nil {
			return err
		}
		return s.link(ctx, repo, s.blobLinkKey(repo, d), nil)
	})
	return ok, err
}

func (s *s3Store) unlinkBlob(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	return s.remove(ctx, s.blobLinkKey(repo, d))
}

func (s *s3Store) repoHasBlob(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	if ok, err := s.has(ctx, s.blobLinkKey(repo, d)); ok || err != nil {
		return ok, err
	}
	return s.has(ctx, s.manifestLinkKey(repo, d))
}

func (s *s3Store) blobExists(ctx context.Context, d digest.Digest) (bool, error) {
	return s.has(ctx, s.blobKey(d))
}

// Metadata of a blob object that only points at its data (see s3Store).
const (
	metaData = "berth-data"
	metaSize = "berth-size"
)

// blobData finds where blob d's bytes are: its own object, or the data object it points at.
func (s *s3Store) blobData(ctx context.Context, d digest.Digest) (key string, size int64, err error) {
	info, ok, err := s.stat(ctx, s.blobKey(d))
	if err != nil {
		return "", 0, err
	}
	if !ok {
		return "", 0, errBlobUnknown(d)
	}
	if dk := info.Meta[metaData]; dk != "" {
		n, err := strconv.ParseInt(info.Meta[metaSize], 10, 64)
		if err != nil || !strings.HasPrefix(dk, s.prefix+"data/") {
			return "", 0, fmt.Errorf("s3 blob %s: bad data pointer %q (size %q)", d, dk, info.Meta[metaSize])
		}
		return dk, n, nil
	}
	return s.blobKey(d), info.Size, nil
}

func (s *s3Store) openBlob(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, error) {
	key, size, err := s.blobData(ctx, d)
	if err != nil {
		return nil, err
	}
	// The object reads lazily with ranged GETs, so http.ServeContent serves Range requests
	// without downloading the whole blob.
	return &s3Reader{ctx: ctx, c: s.c, key: key, size: size}, nil
}

func (s *s3Store) readBlob(ctx context.Context, d digest.Digest) ([]byte, error) {
	key, _, err := s.blobData(ctx, d)
	if err != nil {
		return nil, err
	}
	b, err := s.get(ctx, key)
	if notFound(err) {
		return nil, errBlobUnknown(d)
	}
	return b, err
}

func (s *s3Store) hasManifest(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	return s.has(ctx, s.manifestLinkKey(repo, d))
}

func (s *s3Store) readManifest(ctx context.Context, repo string, d digest.Digest) (string, []byte, bool, error) {
	mt, err := s.get(ctx, s.manifestLinkKey(repo, d))
	if notFound(err) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	if b, ok := s.bodies.get(d); ok {
		return string(mt), b, true, nil
	}
	b, err := s.get(ctx, s.blobKey(d))
	if notFound(err) {
		return "", nil, false, nil // linked, but collected since: as gone as can be
	}
	if err != nil {
		return "", nil, false, err
	}
	if d.Algorithm().FromBytes(b) == d { // what the bucket holds is what the digest says
		s.bodies.add(d, b)
	}
	return string(mt), b, true, nil
}

func (s *s3Store) putManifest(ctx context.Context, repo string, d digest.Digest, mediaType string, body []byte, refs []digest.Digest,
	subject digest.Digest, referrer []byte, tags []string) error {
	return s.guard(ctx, append(slices.Clone(refs), d), func(ctx context.Context) error {
		for _, r := range refs {
			// A blob condemned by a collection running meanwhile may be gone (guard waited
			// for the collector's decision); the repository's link alone does not say.
			if ok, err := s.has(ctx, s.blobKey(r)); err != nil {
				return err
			} else if !ok {
				return errManifestBlobUnknown(r)
			}
		}
		if ok, err := s.has(ctx, s.blobKey(d)); err != nil {
			return err
		} else if !ok {
			if err := s.put(ctx, s.blobKey(d), body); err != nil {
				return err
			}
		}
		if err := s.link(ctx, repo, s.manifestLinkKey(repo, d), []byte(mediaType)); err != nil {
			return err
		}
		if subject != "" {
			if err := s.put(ctx, s.referrerPrefix(repo, subject)+d.Algorithm().String()+"-"+d.Encoded(), referrer); err != nil {
				return err
			}
		}
		for _, t := range tags {
			if err := s.put(ctx, s.tagKey(repo, t), []byte(d.String())); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *s3Store) deleteManifest(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	if ok, err := s.hasManifest(ctx, repo, d); !ok || err != nil {
		return false, err
	}
	tags, err := s.listTags(ctx, repo, "", -1)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	for _, t := range tags {
		td, ok, err := s.resolveTag(ctx, repo, t)
		if err != nil {
			return false, err
		}
		if ok && td == d {
			if _, err := s.remove(ctx, s.tagKey(repo, t)); err != nil {
				return false, err
			}
		}
	}
	if b, err := s.get(ctx, s.blobKey(d)); err == nil {
		var m struct {
			Subject *struct {
				Digest string `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(b, &m) == nil && m.Subject != nil {
			if sd, ok := parseDigest(m.Subject.Digest); ok {
				if _, err := s.remove(ctx, s.referrerPrefix(repo, sd)+d.Algorithm().String()+"-"+d.Encoded()); err != nil {
					return false, err
				}
			}
		}
	} else if !notFound(err) {
		return false, err
	}
	return s.remove(ctx, s.manifestLinkKey(repo, d))
}

func (s *s3Store) resolveTag(ctx context.Context, repo, tag string) (digest.Digest, bool, error) {
	b, err := s.get(ctx, s.tagKey(repo, tag))
	if notFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	d, ok := parseDigest(strings.TrimSpace(string(b)))
	return d, ok, nil
}

func (s *s3Store) tagTime(ctx context.Context, repo, tag string) (time.Time, bool) {
	info, ok, err := s.stat(ctx, s.tagKey(repo, tag))
	if err != nil || !ok {
		return time.Time{}, false
	}
	return info.LastModified, true
}

func (s *s3Store) deleteTag(ctx context.Context, repo, tag string) (bool, error) {
	return s.remove(ctx, s.tagKey(repo, tag))
}

// listTags asks S3 for one page: O(n), whatever the number of tags or repositories.
func (s *s3Store) listTags(ctx context.Context, repo, last string, n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	p := s.repoKey(repo) + "_tags/"
	after := ""
	if last != "" {
		after = p + last
	}
	var tags []string
	err := s.c.listEach(ctx, p, "/", after, max(n, 0), func(e s3Entry, isPrefix bool) bool {
		if t := strings.TrimPrefix(e.Key, p); !isPrefix && ValidTag(t) {
			tags = append(tags, t)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 && last == "" {
		ok, err := s.repoExists(ctx, repo)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("repository %s: %w", repo, os.ErrNotExist)
		}
	}
	return tags, nil
}

func (s *s3Store) referrers(ctx context.Context, repo string, d digest.Digest) ([][]byte, error) {
	p := s.referrerPrefix(repo, d)
	keys, err := s.list(ctx, p, false)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, k := range keys {
		b, err := s.get(ctx, p+k)
		if notFound(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (s *s3Store) repoExists(ctx context.Context, repo string) (bool, error) {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	for _, sub := range []string{"_manifests/", "_blobs/", "_tags/"} {
		keys, _, err := s.c.listObjects(ctx, s.repoKey(repo)+sub, "", 1)
		if err != nil {
			return false, err
		}
		if len(keys) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// repositories reads one page of the index: O(n), whatever the size of the bucket.
func (s *s3Store) repositories(ctx context.Context, last string, n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	p := s.indexPrefix()
	after := ""
	if last != "" {
		after = p + repoIndexCode(last)
	}
	var repos []string
	err := s.c.listEach(ctx, p, "", after, max(n, 0), func(e s3Entry, _ bool) bool {
		if name := repoIndexName(strings.TrimPrefix(e.Key, p)); ValidName(name) {
			repos = append(repos, name)
		}
		return true
	})
	return repos, err
}

// searchRecord is what search shows of a repository, stored with it (repos/<name>/_search) so
// that every replica answers the same.
type searchRecord struct {
	Description string `json:"description"`
}

func (s *s3Store) searchInfo(ctx context.Context, repo string) (string, bool, error) {
	b, err := s.get(ctx, s.repoKey(repo)+"_search")
	if notFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	var r searchRecord
	if json.Unmarshal(b, &r) != nil {
		return "", false, nil
	}
	return r.Description, true, nil
}

func (s *s3Store) setSearchInfo(ctx context.Context, repo, desc string) error {
	b, _ := json.Marshal(searchRecord{Description: desc})
	return s.put(ctx, s.repoKey(repo)+"_search", b)
}
