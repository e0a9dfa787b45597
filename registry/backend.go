package registry

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
)

// backend is where a registry keeps blobs, manifests, tags, upload sessions and the links that
// say which repository holds what. store (the filesystem, the default) and s3Store implement it.
//
// Every method that makes a blob part of a repository verifies nothing itself: callers hand it
// content whose digest was checked. A method answers false (or an *apiError such as
// BLOB_UNKNOWN) only when the storage said the object does not exist; any failure to ask it
// (S3 unreachable, throttled, 5xx) is an error, which the server answers with a 5xx, so an
// outage never looks like deleted content to clients and caches.
type backend interface {
	// uploads holds the blob upload sessions.
	uploads() uploadStore
	// mountBlob links an already stored blob into repo; false if it is not stored.
	mountBlob(ctx context.Context, repo string, d digest.Digest) (bool, error)
	// unlinkBlob removes a blob from repo; false if repo did not hold it.
	unlinkBlob(ctx context.Context, repo string, d digest.Digest) (bool, error)
	// repoHasBlob reports whether repo holds d as a blob or a manifest.
	repoHasBlob(ctx context.Context, repo string, d digest.Digest) (bool, error)
	// blobExists reports whether the blob is stored at all (any repository).
	blobExists(ctx context.Context, d digest.Digest) (bool, error)
	// openBlob opens a blob for (ranged) reading, for as long as ctx lives; BLOB_UNKNOWN if
	// it is not stored.
	openBlob(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, error)
	// readBlob reads a small blob whole; BLOB_UNKNOWN if it is not stored.
	readBlob(ctx context.Context, d digest.Digest) ([]byte, error)

	hasManifest(ctx context.Context, repo string, d digest.Digest) (bool, error)
	// readManifest returns a manifest of repo with its media type; ok is false if repo does
	// not hold it.
	readManifest(ctx context.Context, repo string, d digest.Digest) (mediaType string, body []byte, ok bool, err error)
	// putManifest stores a manifest, links it into repo, points tags at it and, when subject is
	// set, records referrer (a descriptor) as one of the subject's referrers. refs are the blobs
	// and manifests it names.
	putManifest(ctx context.Context, repo string, d digest.Digest, mediaType string, body []byte, refs []digest.Digest,
		subject digest.Digest, referrer []byte, tags []string) error
	// deleteManifest removes a manifest from repo with its tags and referrer entry.
	deleteManifest(ctx context.Context, repo string, d digest.Digest) (bool, error)
	resolveTag(ctx context.Context, repo, tag string) (digest.Digest, bool, error)
	// tagTime is when the tag was last pointed at a manifest (or that manifest last pushed).
	tagTime(ctx context.Context, repo, tag string) (time.Time, bool)
	deleteTag(ctx context.Context, repo, tag string) (bool, error)
	// listTags returns up to n (n < 0: all) of repo's tags sorting after last, in lexical
	// order; an error wrapping fs.ErrNotExist if repo has no tags directory.
	listTags(ctx context.Context, repo, last string, n int) ([]string, error)
	// referrers returns the descriptors recorded for subject d.
	referrers(ctx context.Context, repo string, d digest.Digest) ([][]byte, error)
	repoExists(ctx context.Context, repo string) (bool, error)
	// repositories lists up to n (n < 0: all) repositories sorting after last, in lexical order.
	repositories(ctx context.Context, last string, n int) ([]string, error)
	// searchInfo returns what search shows of repo: its description, stored when a tag was last
	// pushed; ok is false when nothing was stored (a repository pushed by an older berth).
	searchInfo(ctx context.Context, repo string) (desc string, ok bool, err error)
	// setSearchInfo stores repo's description.
	setSearchInfo(ctx context.Context, repo, desc string) error
}

// uploadStore holds blob upload sessions: a local spool for filesystem storage, the bucket for
// S3, so that with S3 any replica continues a session another one started.
type uploadStore interface {
	// start opens a new session of repo. It is stored by its first write or commit.
	start(ctx context.Context, repo string) (uploadSession, error)
	// resume finds a session of repo; BLOB_UPLOAD_UNKNOWN if there is none.
	resume(ctx context.Context, repo, id string) (uploadSession, error)
}

// uploadSession is one blob upload. Its methods are called by one request at a time; release
// ends the request's use of it.
type uploadSession interface {
	ID() string
	// Size is the number of bytes received so far.
	Size() int64
	// write appends r to the session and stores it: want bytes exactly (want < 0: any number),
	// at most limit bytes in all (limit < 0: no limit). On any failure the session stays as
	// it was, except when it grows past limit (errTooLarge), after which the caller cancels it.
	write(ctx context.Context, r io.Reader, limit, want int64) (int64, error)
	// commit appends r like write, verifies that the whole content has digest d and makes it
	// blob d of the session's repository, ending the session. A digest mismatch is
	// DIGEST_INVALID, and the session then holds what was appended.
	commit(ctx context.Context, r io.Reader, limit, want int64, d digest.Digest) (int64, error)
	// cancel removes the session and everything it stored.
	cancel(ctx context.Context)
	release()
}
