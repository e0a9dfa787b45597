package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
)

// blobReader streams a blob from the registry and survives a cut connection: when a read fails
// it waits, reopens the blob with "Range: bytes=OFFSET-" and carries on where it stopped, so the
// consumer (hashing, decompressing and unpacking as the bytes arrive) sees one unbroken stream.
// A registry that ignores Range answers 200; the bytes already delivered are then skipped.
// Verification is the consumer's: the content store checks the digest and size at commit.
type blobReader struct {
	ctx     context.Context
	c       *client
	digest  digest.Digest
	size    int64 // expected, -1 if unknown
	body    io.ReadCloser
	off     int64
	retries int // retries used so far
	onRetry func(attempt int, err error)
	err     error // the transfer error that ended the stream, if any
}

func (c *client) openBlob(ctx context.Context, d digest.Digest, size int64, onRetry func(int, error)) *blobReader {
	return &blobReader{ctx: ctx, c: c, digest: d, size: size, onRetry: onRetry}
}

// errPermanent marks an answer that retrying will not change (404, 401, ...).
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

func (r *blobReader) open() error {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.c.url("blobs/"+r.digest.String()), nil)
	if err != nil {
		return errPermanent{err}
	}
	if r.off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(r.off, 10)+"-")
	}
	resp, err := r.c.http.Do(req)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && r.off > 0:
		start := int64(-1)
		if cr := resp.Header.Get("Content-Range"); strings.HasPrefix(cr, "bytes ") {
			if i := strings.IndexByte(cr, '-'); i > 6 {
				start, _ = strconv.ParseInt(cr[6:i], 10, 64)
			}
		}
		if start != r.off {
			resp.Body.Close()
			return fmt.Errorf("registry answered range request at %d with %q", r.off, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		if r.off > 0 {
			// No range support: skip what the consumer already has.
			if _, err := io.CopyN(io.Discard, resp.Body, r.off); err != nil {
				resp.Body.Close()
				return err
			}
		}
	default:
		err := transport.CheckError(resp, http.StatusOK)
		resp.Body.Close()
		if err == nil {
			err = fmt.Errorf("unexpected status %s", resp.Status)
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return err
		}
		return errPermanent{err}
	}
	r.body = resp.Body
	return nil
}

func (r *blobReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.body == nil {
			if err := r.open(); err != nil {
				if err := r.retry(err); err != nil {
					return 0, err
				}
				continue
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == io.EOF && r.size >= 0 && r.off < r.size {
			err = io.ErrUnexpectedEOF
		}
		switch {
		case err == nil || err == io.EOF:
			return n, err
		case n > 0:
			// Hand over what arrived; the next Read reopens.
			r.body.Close()
			r.body = nil
			return n, nil
		}
		r.body.Close()
		r.body = nil
		if err := r.retry(err); err != nil {
			return 0, err
		}
	}
}

// retry waits before the next attempt, or ends the stream with err when retrying is pointless.
func (r *blobReader) retry(err error) error {
	var perm errPermanent
	if errors.As(err, &perm) || r.ctx.Err() != nil || r.retries >= r.c.o.Retries {
		if r.ctx.Err() != nil {
			err = r.ctx.Err()
		}
		r.err = fmt.Errorf("downloading %s: %w", r.digest, registryError(r.c.repo.Registry, err))
		return r.err
	}
	r.retries++
	if r.onRetry != nil {
		r.onRetry(r.retries, err)
	}
	wait := r.c.o.RetryDelay << (r.retries - 1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		r.err = r.ctx.Err()
		return r.err
	}
}

func (r *blobReader) Close() error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	return nil
}

// fetchSmall downloads a small blob (a config) whole and verifies it.
func (c *client) fetchSmall(ctx context.Context, d digest.Digest, size int64) ([]byte, error) {
	r := c.openBlob(ctx, d, size, nil)
	defer r.Close()
	const limit = 64 << 20
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("blob %s is larger than %d bytes", d, limit)
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return nil, fmt.Errorf("blob %s: digest mismatch: content hashes to %s", d, got)
	}
	return b, nil
}

// blobDigest downloads a blob once more, only to hash it.
func (c *client) blobDigest(ctx context.Context, d digest.Digest, size int64) (digest.Digest, error) {
	r := c.openBlob(ctx, d, size, nil)
	defer r.Close()
	h := d.Algorithm().Digester()
	if _, err := io.Copy(h.Hash(), r); err != nil {
		return "", err
	}
	return h.Digest(), nil
}
