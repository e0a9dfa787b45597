package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/opencontainers/go-digest"
)

// s3Uploads keeps upload sessions in the bucket, so that every request of an upload may go to
// a different replica. A session is an object, uploads/<id>/state, holding the repository, the
// size so far, the running sha256 state (sha256 implements encoding.BinaryMarshaler) and the S3
// multipart upload its bytes stream into: every full part (s3UploadPartSize) goes up as it
// arrives, and the bytes after the last part are kept in uploads/<id>/tail-<size>. The final
// PUT therefore sends at most one last part, completes the multipart upload in place
// (data/<id>) and checks the digest from the saved hash state, without reading the blob again
// or copying it. A blob that fits in one part is written directly as its blob object.
//
// A request that fails half-way saves nothing: the parts it uploaded are overwritten by the
// next attempt (same part numbers), so the session stays where it was. Two requests writing to
// one session at the same time (which no client does) would race; the last saved state wins.
type s3Uploads struct {
	s *s3Store
}

// s3UploadPartSize is the size of the parts a session streams into S3 (at least 5 MiB, the
// least S3 accepts for any part but the last); a request holds at most this much in memory.
var s3UploadPartSize = 8 << 20

// partBufs recycles part buffers, which grow with the data they hold (a small blob's request
// never holds a whole part's worth of memory); readBufs are what a request reads into.
var (
	partBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}
	readBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}
)

type s3UploadState struct {
	Repo string `json:"repo"`
	Size int64  `json:"size"`
	// Hash is the sha256 state after Size bytes.
	Hash []byte `json:"hash"`
	// Multipart is the S3 upload of data/<id>, once the first part went up; Parts are the
	// ETags of its parts, PartBytes the bytes they hold. The rest is in the tail object.
	Multipart string   `json:"multipart,omitempty"`
	Parts     []string `json:"parts,omitempty"`
	PartBytes int64    `json:"partBytes,omitempty"`
}

type s3Session struct {
	s     *s3Store
	id    string
	st    s3UploadState
	saved bool // uploads/<id>/state exists
}

func (u *s3Uploads) key(id string) string { return u.s.prefix + "uploads/" + id + "/" }
func (u *s3Uploads) tailKey(id string, size int64) string {
	return u.key(id) + "tail-" + strconv.FormatInt(size, 10)
}
func (u *s3Uploads) dataKey(id string) string { return u.s.prefix + "data/" + id }

func (u *s3Uploads) start(_ context.Context, repo string) (uploadSession, error) {
	h, _ := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	return &s3Session{s: u.s, id: newUploadID(), st: s3UploadState{Repo: repo, Hash: h}}, nil
}

func (u *s3Uploads) resume(ctx context.Context, repo, id string) (uploadSession, error) {
	if !uploadIDRE().MatchString(id) {
		return nil, errUploadUnknown()
	}
	b, err := u.s.get(ctx, u.key(id)+"state")
	if notFound(err) {
		return nil, errUploadUnknown()
	}
	if err != nil {
		return nil, err
	}
	sess := &s3Session{s: u.s, id: id, saved: true}
	if err := json.Unmarshal(b, &sess.st); err != nil {
		return nil, fmt.Errorf("upload session %s: %w", id, err)
	}
	if sess.st.Repo != repo {
		return nil, errUploadUnknown()
	}
	return sess, nil
}

func (u *s3Session) ID() string  { return u.id }
func (u *s3Session) Size() int64 { return u.st.Size }
func (u *s3Session) release()    {}

func (u *s3Session) up() *s3Uploads { return u.s.up }

// filled is a session's state after a request's bytes were taken in, before it is saved.
type filled struct {
	st   s3UploadState
	h    hash.Hash
	tail *[]byte // the bytes after the last part
}

// fill reads the stored tail and r into a new state, sending every full part to S3.
func (u *s3Session) fill(ctx context.Context, r io.Reader, limit, want int64) (*filled, int64, error) {
	f := &filled{st: u.st, h: sha256.New()}
	f.st.Parts = append([]string(nil), u.st.Parts...)
	if err := f.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.st.Hash); err != nil {
		return nil, 0, fmt.Errorf("upload session %s: bad hash state: %w", u.id, err)
	}
	f.tail = partBufs.Get().(*[]byte)
	buf := (*f.tail)[:0]
	if n := u.st.Size - u.st.PartBytes; n > 0 {
		b, err := u.s.get(ctx, u.up().tailKey(u.id, u.st.Size))
		if err != nil {
			u.drop(f)
			return nil, 0, err
		}
		if int64(len(b)) != n {
			u.drop(f)
			return nil, 0, fmt.Errorf("upload session %s: tail holds %d bytes, want %d", u.id, len(b), n)
		}
		buf = append(buf, b...)
	}
	if limit >= 0 {
		r = io.LimitReader(r, limit-u.st.Size+1)
	}
	var read int64
	created := false
	rb := readBufs.Get().(*[]byte)
	defer readBufs.Put(rb)
	for {
		m, err := r.Read((*rb)[:min(len(*rb), s3UploadPartSize-len(buf))])
		if m > 0 {
			f.h.Write((*rb)[:m])
			buf = append(buf, (*rb)[:m]...)
			read += int64(m)
			f.st.Size += int64(m)
		}
		if len(buf) == s3UploadPartSize {
			if f.st.Multipart == "" {
				ctx, cancel := opCtx(ctx)
				id, cerr := u.s.c.createMultipartUpload(ctx, u.up().dataKey(u.id))
				cancel()
				if cerr != nil {
					u.drop(f)
					return nil, read, cerr
				}
				f.st.Multipart, created = id, true
			}
			if perr := u.sendPart(ctx, f, buf); perr != nil {
				u.abandon(f, created)
				return nil, read, perr
			}
			buf = buf[:0]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			u.abandon(f, created)
			return nil, read, errUploadInvalid("reading the chunk: %v", err)
		}
	}
	*f.tail = buf
	if limit >= 0 && f.st.Size > limit {
		u.abandon(f, created)
		return nil, read, errTooLarge("blob exceeds the registry's limit of %d bytes", limit)
	}
	if want >= 0 && read != want {
		u.abandon(f, created)
		return nil, read, errSizeInvalid("got %d bytes, Content-Length said %d", read, want)
	}
	return f, read, nil
}

func (u *s3Session) sendPart(ctx context.Context, f *filled, b []byte) error {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	sum := sha256.Sum256(b)
	body := func() io.Reader { return bytes.NewReader(b) }
	etag, err := u.s.c.uploadPart(ctx, u.up().dataKey(u.id), f.st.Multipart, len(f.st.Parts)+1, body, int64(len(b)), hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	f.st.Parts = append(f.st.Parts, etag)
	f.st.PartBytes += int64(len(b))
	return nil
}

// abandon gives up a fill: a multipart upload this request created is aborted (the session's
// saved state does not know it); parts sent to an older one are overwritten by the next try.
func (u *s3Session) abandon(f *filled, created bool) {
	if created {
		ctx, cancel := opCtx(context.Background())
		u.s.c.abortMultipartUpload(ctx, u.up().dataKey(u.id), f.st.Multipart)
		cancel()
	}
	u.drop(f)
}

func (u *s3Session) drop(f *filled) {
	if f.tail != nil {
		*f.tail = (*f.tail)[:0]
		partBufs.Put(f.tail)
		f.tail = nil
	}
}

// save stores the filled state: the new tail first, then the state naming it (a tail's key
// holds the session size it ends at, so a state never names a tail another request wrote).
func (u *s3Session) save(ctx context.Context, f *filled) error {
	if h, ok := f.h.(encoding.BinaryMarshaler); ok {
		b, err := h.MarshalBinary()
		if err != nil {
			return err
		}
		f.st.Hash = b
	}
	tail := *f.tail
	oldTail := u.st.Size > u.st.PartBytes
	if len(tail) > 0 && (f.st.Size != u.st.Size || !oldTail) {
		if err := u.s.put(ctx, u.up().tailKey(u.id, f.st.Size), tail); err != nil {
			return err
		}
	}
	b, err := json.Marshal(f.st)
	if err != nil {
		return err
	}
	if err := u.s.put(ctx, u.up().key(u.id)+"state", b); err != nil {
		return err
	}
	if oldTail && f.st.Size != u.st.Size {
		u.s.del(ctx, u.up().tailKey(u.id, u.st.Size)) // garbage otherwise: expired with the session
	}
	u.st, u.saved = f.st, true
	return nil
}

func (u *s3Session) write(ctx context.Context, r io.Reader, limit, want int64) (int64, error) {
	f, n, err := u.fill(ctx, r, limit, want)
	if err != nil {
		return n, err
	}
	defer u.drop(f)
	return n, u.save(ctx, f)
}

func (u *s3Session) commit(ctx context.Context, r io.Reader, limit, want int64, d digest.Digest) (int64, error) {
	f, n, err := u.fill(ctx, r, limit, want)
	if err != nil {
		return n, err
	}
	defer u.drop(f)
	done := false
	defer func() {
		// A multipart upload this request created and no saved state knows of would be
		// left to S3's lifecycle rules: abort it.
		if !done && f.st.Multipart != "" && f.st.Multipart != u.st.Multipart {
			ctx, cancel := opCtx(context.WithoutCancel(ctx))
			u.s.c.abortMultipartUpload(ctx, u.up().dataKey(u.id), f.st.Multipart)
			cancel()
		}
	}()
	tail := *f.tail
	var got digest.Digest
	switch {
	case d.Algorithm() == digest.SHA256:
		got = digest.NewDigest(digest.SHA256, f.h)
	case f.st.Multipart == "":
		got = d.Algorithm().FromBytes(tail)
	}
	if got != "" && got != d {
		// As on the filesystem, the session keeps what was sent and can be finished right.
		if err := u.save(ctx, f); err != nil {
			return n, err
		}
		return n, errDigestInvalid("upload content digest %s does not match %s", got, d)
	}
	if f.st.Multipart == "" {
		err = u.s.guard(ctx, []digest.Digest{d}, func(ctx context.Context) error {
			ok, err := u.s.has(ctx, u.s.blobKey(d))
			if err != nil {
				return err
			}
			if !ok {
				sha := d.Encoded()
				if d.Algorithm() != digest.SHA256 {
					sum := sha256.Sum256(tail)
					sha = hex.EncodeToString(sum[:])
				}
				pctx, cancel := opCtx(ctx)
				err := u.s.c.putObject(pctx, u.s.blobKey(d), func() io.Reader { return bytes.NewReader(tail) }, int64(len(tail)), sha)
				cancel()
				if err != nil {
					return err
				}
			}
			return u.s.link(ctx, u.st.Repo, u.s.blobLinkKey(u.st.Repo, d), nil)
		})
	} else {
		err = u.completeParts(ctx, f, tail, d)
	}
	if err != nil {
		return n, err
	}
	done = true
	u.remove(ctx)
	return n, nil
}

// completeParts sends the last part, completes the multipart upload as data/<id> and makes the
// blob object point at it.
func (u *s3Session) completeParts(ctx context.Context, f *filled, tail []byte, d digest.Digest) error {
	if len(tail) > 0 {
		if err := u.sendPart(ctx, f, tail); err != nil {
			return err
		}
	}
	dk := u.up().dataKey(u.id)
	cctx, cancel := opCtx(ctx)
	err := u.s.c.completeMultipartUpload(cctx, dk, f.st.Multipart, f.st.Parts)
	cancel()
	if err != nil {
		return err
	}
	if d.Algorithm() != digest.SHA256 {
		// Only sha256 has its state saved: read the blob back once for another algorithm.
		got, err := u.hashObject(ctx, dk, d.Algorithm())
		if err != nil {
			return err
		}
		if got != d {
			u.s.del(ctx, dk)
			u.cancelSaved(ctx)
			return errDigestInvalid("upload content digest %s does not match %s", got, d)
		}
	}
	return u.s.guard(ctx, []digest.Digest{d}, func(ctx context.Context) error {
		ok, err := u.s.has(ctx, u.s.blobKey(d))
		if err != nil {
			return err
		}
		if ok {
			u.s.del(ctx, dk) // stored meanwhile by another push: keep that one
		} else if err := u.s.put(ctx, u.s.blobKey(d), nil, metaData, dk, metaSize, strconv.FormatInt(f.st.Size, 10)); err != nil {
			return err
		}
		return u.s.link(ctx, u.st.Repo, u.s.blobLinkKey(u.st.Repo, d), nil)
	})
}

func (u *s3Session) hashObject(ctx context.Context, key string, alg digest.Algorithm) (digest.Digest, error) {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	o, err := u.s.c.getObject(ctx, key, 0)
	if err != nil {
		return "", err
	}
	defer o.Close()
	h := alg.Digester()
	if _, err := io.Copy(h.Hash(), o); err != nil {
		return "", &s3NetError{Op: "GET " + u.s.c.bucket + "/" + key, Err: err}
	}
	return h.Digest(), nil
}

// remove deletes a finished session's objects (its data object, if any, now belongs to the blob).
func (u *s3Session) remove(ctx context.Context) {
	if !u.saved {
		return
	}
	u.s.del(ctx, u.up().key(u.id)+"state")
	if u.st.Size > u.st.PartBytes {
		u.s.del(ctx, u.up().tailKey(u.id, u.st.Size))
	}
	u.saved = false
}

// cancelSaved removes a session with its multipart upload.
func (u *s3Session) cancelSaved(ctx context.Context) {
	if u.st.Multipart != "" {
		cctx, cancel := opCtx(ctx)
		u.s.c.abortMultipartUpload(cctx, u.up().dataKey(u.id), u.st.Multipart)
		cancel()
	}
	u.remove(ctx)
}

func (u *s3Session) cancel(ctx context.Context) { u.cancelSaved(ctx) }
