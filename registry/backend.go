package registry

import (
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

// backend is where a registry keeps blobs, manifests, tags and the links that say which
// repository holds what. store (the filesystem, the default) and s3Store implement it; upload
// sessions live in a local spool either way and reach the backend through commitBlob.
//
// Every method that makes a blob part of a repository verifies nothing itself: callers hand it
// content whose digest was checked.
type backend interface {
	// commitBlob makes the verified file tmp the blob d (consuming tmp) and links it into repo.
	commitBlob(tmp string, d digest.Digest, repo string) error
	// mountBlob links an already stored blob into repo; false if it is not stored.
	mountBlob(repo string, d digest.Digest) (bool, error)
	// unlinkBlob removes a blob from repo; false if repo did not hold it.
	unlinkBlob(repo string, d digest.Digest) (bool, error)
	// repoHasBlob reports whether repo holds d as a blob or a manifest.
	repoHasBlob(repo string, d digest.Digest) bool
	// blobExists reports whether the blob is stored at all (any repository).
	blobExists(d digest.Digest) bool
	// openBlob opens a blob for (ranged) reading.
	openBlob(d digest.Digest) (io.ReadSeekCloser, error)
	// readBlob reads a small blob whole.
	readBlob(d digest.Digest) ([]byte, error)

	hasManifest(repo string, d digest.Digest) bool
	// readManifest returns a manifest of repo with its media type.
	readManifest(repo string, d digest.Digest) (mediaType string, body []byte, ok bool)
	// putManifest stores a manifest, links it into repo, points tags at it and, when subject is
	// set, records referrer (a descriptor) as one of the subject's referrers. refs are the blobs
	// and manifests it names.
	putManifest(repo string, d digest.Digest, mediaType string, body []byte, refs []digest.Digest,
		subject digest.Digest, referrer []byte, tags []string) error
	// deleteManifest removes a manifest from repo with its tags and referrer entry.
	deleteManifest(repo string, d digest.Digest) (bool, error)
	resolveTag(repo, tag string) (digest.Digest, bool)
	// tagTime is when the tag was last pointed at a manifest (or that manifest last pushed).
	tagTime(repo, tag string) (time.Time, bool)
	deleteTag(repo, tag string) (bool, error)
	// listTags returns repo's tags in lexical order; an error if repo does not exist.
	listTags(repo string) ([]string, error)
	// referrers returns the descriptors recorded for subject d.
	referrers(repo string, d digest.Digest) ([][]byte, error)
	repoExists(repo string) bool
	// repositories lists every repository in lexical order.
	repositories() ([]string, error)
}
