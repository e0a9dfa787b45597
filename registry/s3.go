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
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// s3Store keeps a registry in an S3-compatible bucket with the filesystem layout of store, as
// objects under Prefix: blobs/<alg>/<hex>, and per repository _blobs/ and _manifests/ link
// objects (a manifest link holds the media type), _tags/<tag> (holding the digest) and
// _referrers/. S3 has no links or renames; instead every object is written whole by one PUT,
// which S3 makes visible atomically and durably before answering, and a blob is always written
// before any link to it. (A blob too big for one PUT goes up in parts, and S3 likewise shows it
// only once the upload completes.) The S3 calls themselves are in s3client.go.
type s3Store struct {
	c      *s3Client
	prefix string
}

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
	return &s3Store{c: c, prefix: prefix}, nil
}

func (s *s3Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute)
}

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

func (s *s3Store) stat(key string) (s3Object, bool, error) {
	ctx, cancel := s.ctx()
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

func (s *s3Store) has(key string) bool {
	_, ok, _ := s.stat(key)
	return ok
}

func (s *s3Store) put(key string, b []byte) error {
	ctx, cancel := s.ctx()
	defer cancel()
	body, size, sha := bytesBody(b)
	return s.c.putObject(ctx, key, body, size, sha)
}

func (s *s3Store) get(key string) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	o, err := s.c.getObject(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		return nil, fmt.Errorf("s3 GET %s/%s: %w", s.c.bucket, key, err)
	}
	return b, nil
}

func (s *s3Store) remove(key string) (bool, error) {
	if !s.has(key) {
		return false, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return true, s.c.deleteObject(ctx, key)
}

// list returns the keys under prefix, relative to it; recursive or one level.
func (s *s3Store) list(prefix string, recursive bool) ([]string, error) {
	ctx, cancel := s.ctx()
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
// blob, and computed from the file otherwise.
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
		ctx, cancel := s.ctx()
		defer cancel()
		return s.c.putObject(ctx, key, section(0, size), size, sha)
	}
	partSize := max(s3PartSize, (size+s3MaxParts-1)/s3MaxParts)
	ctx, cancel := s.ctx()
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
			ctx, cancel := s.ctx()
			etag, err := s.c.uploadPart(ctx, key, id, len(etags)+1, section(off, n), n, sha)
			cancel()
			if err != nil {
				return err
			}
			etags = append(etags, etag)
		}
		ctx, cancel := s.ctx()
		defer cancel()
		return s.c.completeMultipartUpload(ctx, key, id, etags)
	}()
	if err != nil {
		ctx, cancel := s.ctx()
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

func (s *s3Store) commitBlob(tmp string, d digest.Digest, repo string) error {
	defer os.Remove(tmp)
	if !s.has(s.blobKey(d)) {
		if err := s.putFile(s.blobKey(d), tmp, d); err != nil {
			return err
		}
	}
	return s.put(s.blobLinkKey(repo, d), nil)
}

func (s *s3Store) mountBlob(repo string, d digest.Digest) (bool, error) {
	if !s.has(s.blobKey(d)) {
		return false, nil
	}
	return true, s.put(s.blobLinkKey(repo, d), nil)
}

func (s *s3Store) unlinkBlob(repo string, d digest.Digest) (bool, error) {
	return s.remove(s.blobLinkKey(repo, d))
}

func (s *s3Store) repoHasBlob(repo string, d digest.Digest) bool {
	return s.has(s.blobLinkKey(repo, d)) || s.has(s.manifestLinkKey(repo, d))
}

func (s *s3Store) blobExists(d digest.Digest) bool { return s.has(s.blobKey(d)) }

func (s *s3Store) openBlob(d digest.Digest) (io.ReadSeekCloser, error) {
	info, ok, err := s.stat(s.blobKey(d))
	if err != nil || !ok {
		if err == nil {
			err = errBlobUnknown(d)
		}
		return nil, err
	}
	// The object reads lazily with ranged GETs, so http.ServeContent serves Range requests
	// without downloading the whole blob.
	return &s3Reader{c: s.c, key: s.blobKey(d), size: info.Size}, nil
}

func (s *s3Store) readBlob(d digest.Digest) ([]byte, error) { return s.get(s.blobKey(d)) }

func (s *s3Store) hasManifest(repo string, d digest.Digest) bool {
	return s.has(s.manifestLinkKey(repo, d))
}

func (s *s3Store) readManifest(repo string, d digest.Digest) (string, []byte, bool) {
	mt, err := s.get(s.manifestLinkKey(repo, d))
	if err != nil {
		return "", nil, false
	}
	b, err := s.get(s.blobKey(d))
	if err != nil {
		return "", nil, false
	}
	return string(mt), b, true
}

func (s *s3Store) putManifest(repo string, d digest.Digest, mediaType string, body []byte, refs []digest.Digest,
	subject digest.Digest, referrer []byte, tags []string) error {
	if !s.has(s.blobKey(d)) {
		if err := s.put(s.blobKey(d), body); err != nil {
			return err
		}
	}
	if err := s.put(s.manifestLinkKey(repo, d), []byte(mediaType)); err != nil {
		return err
	}
	if subject != "" {
		if err := s.put(s.referrerPrefix(repo, subject)+d.Algorithm().String()+"-"+d.Encoded(), referrer); err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := s.put(s.tagKey(repo, t), []byte(d.String())); err != nil {
			return err
		}
	}
	return nil
}

func (s *s3Store) deleteManifest(repo string, d digest.Digest) (bool, error) {
	if !s.hasManifest(repo, d) {
		return false, nil
	}
	tags, _ := s.listTags(repo)
	for _, t := range tags {
		if td, ok := s.resolveTag(repo, t); ok && td == d {
			if _, err := s.remove(s.tagKey(repo, t)); err != nil {
				return false, err
			}
		}
	}
	if b, err := s.get(s.blobKey(d)); err == nil {
		var m struct {
			Subject *struct {
				Digest string `json:"digest"`
			} `json:"subject"`
		}
		if json.Unmarshal(b, &m) == nil && m.Subject != nil {
			if sd, ok := parseDigest(m.Subject.Digest); ok {
				s.remove(s.referrerPrefix(repo, sd) + d.Algorithm().String() + "-" + d.Encoded())
			}
		}
	}
	return s.remove(s.manifestLinkKey(repo, d))
}

func (s *s3Store) resolveTag(repo, tag string) (digest.Digest, bool) {
	b, err := s.get(s.tagKey(repo, tag))
	if err != nil {
		return "", false
	}
	return parseDigest(strings.TrimSpace(string(b)))
}

func (s *s3Store) tagTime(repo, tag string) (time.Time, bool) {
	info, ok, err := s.stat(s.tagKey(repo, tag))
	if err != nil || !ok {
		return time.Time{}, false
	}
	return info.LastModified, true
}

func (s *s3Store) deleteTag(repo, tag string) (bool, error) { return s.remove(s.tagKey(repo, tag)) }

func (s *s3Store) listTags(repo string) ([]string, error) {
	keys, err := s.list(s.repoKey(repo)+"_tags/", false)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 && !s.repoExists(repo) {
		return nil, fmt.Errorf("repository %s: %w", repo, os.ErrNotExist)
	}
	tags := make([]string, 0, len(keys))
	for _, k := range keys {
		if ValidTag(k) {
			tags = append(tags, k)
		}
	}
	slices.Sort(tags)
	return tags, nil
}

func (s *s3Store) referrers(repo string, d digest.Digest) ([][]byte, error) {
	p := s.referrerPrefix(repo, d)
	keys, err := s.list(p, false)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, k := range keys {
		if b, err := s.get(p + k); err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}

func (s *s3Store) repoExists(repo string) bool {
	for _, sub := range []string{"_manifests/", "_blobs/", "_tags/"} {
		ctx, cancel := s.ctx()
		keys, _, err := s.c.listObjects(ctx, s.repoKey(repo)+sub, "", 1)
		cancel()
		if err == nil && len(keys) > 0 {
			return true
		}
	}
	return false
}

func (s *s3Store) repositories() ([]string, error) {
	keys, err := s.list(s.prefix+"repos/", true)
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
