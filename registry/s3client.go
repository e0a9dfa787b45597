package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Client speaks the few S3 operations s3Store needs over net/http, signing each request with
// AWS Signature Version 4 (AWS's own signer) and addressing the bucket path-style
// (http[s]://endpoint/bucket/key), which every S3-compatible server understands. Failed requests
// are retried a few times when the failure is transient (a network error, 5xx, SlowDown…).
type s3Client struct {
	hc     *http.Client
	scheme string
	host   string
	bucket string
	region string
	creds  aws.Credentials // empty: requests go unsigned (anonymous)
	signer *v4.Signer
	// maxKeys is the page size asked of ListObjectsV2; 0 leaves it to the server (1000).
	maxKeys int
}

const (
	emptySHA256   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	s3MaxAttempts = 5
	// s3MaxParts is the most parts S3 accepts in one multipart upload.
	s3MaxParts = 10000
)

// s3PartSize is the largest object PUT in one request; bigger blobs are uploaded in parts of
// this size (more when they would need over s3MaxParts), each its own request with its own
// timeout and retries. One S3 PUT takes at most 5 GiB.
var s3PartSize int64 = 64 << 20

// s3RetryUnit is the first wait before a retry; it doubles with every attempt, up to five.
var s3RetryUnit = 200 * time.Millisecond

func newS3Client(endpoint, bucket, region, accessKey, secretKey string, insecure bool) *s3Client {
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       time.Minute,
		TLSHandshakeTimeout:   10 * time.Second,
		// Objects are read byte for byte, never decompressed on the way.
		DisableCompression: true,
	}
	scheme := "https"
	if insecure {
		scheme = "http"
	}
	return &s3Client{
		hc: &http.Client{
			Transport: tr,
			// S3 answers a wrong region or endpoint with a redirect; report it instead of
			// following it unsigned.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		scheme: scheme,
		host:   endpoint,
		bucket: bucket,
		region: region,
		creds:  aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		signer: v4.NewSigner(func(o *v4.SignerOptions) {
			o.DisableURIPathEscaping = true // S3 signs the path as sent, escaped once (s3Escape)
		}),
	}
}

// s3Error is an error response from S3 (or, for HEAD, which has no body, its status alone).
type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Op      string   `xml:"-"` // "GET bucket/key"
	Status  int      `xml:"-"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

func (e *s3Error) Error() string {
	msg := e.Code
	if e.Message != "" {
		if msg != "" {
			msg += ": "
		}
		msg += e.Message
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return oneLine(fmt.Sprintf("s3 %s: %s (HTTP %d)", e.Op, msg, e.Status))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// s3NetError is a request to S3 that got no answer: connection refused, reset, timed out.
type s3NetError struct {
	Op  string // "GET bucket/key"
	Err error
}

func (e *s3NetError) Error() string { return oneLine("s3 " + e.Op + ": " + e.Err.Error()) }
func (e *s3NetError) Unwrap() error { return e.Err }

// notFound reports whether err says the object (or the whole bucket) does not exist.
func notFound(err error) bool {
	var e *s3Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == "NoSuchKey" || e.Code == "NotFound" || e.Code == "NoSuchBucket"
}

// readS3Error turns a failed response into an s3Error, consuming and closing its body.
func readS3Error(op string, resp *http.Response) *s3Error {
	defer resp.Body.Close()
	e := &s3Error{Op: op, Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if xml.Unmarshal(b, e) != nil || e.Code == "" && e.Message == "" {
		e.Code, e.Message = "", ""
		if resp.StatusCode == http.StatusNotFound {
			e.Code = "NotFound" // a HEAD, or a server that does not say more
		}
	}
	return e
}

// retryable S3 error codes and HTTP statuses: the same request may well succeed a moment later.
var s3RetryCodes = map[string]bool{
	"RequestError": true, "RequestTimeout": true, "Throttling": true, "ThrottlingException": true,
	"RequestLimitExceeded": true, "RequestThrottled": true, "InternalError": true,
	"SlowDown": true, "SlowDownWrite": true, "SlowDownRead": true,
}

func s3Retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *s3Error
	if errors.As(err, &e) {
		switch e.Status {
		case 408, 429, 499, 500, 502, 503, 504, 520:
			return true
		}
		return s3RetryCodes[e.Code]
	}
	// A network error: retry unless it is about the server's certificate.
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
	)
	return !errors.As(err, &unknownAuthority) && !errors.As(err, &hostname) &&
		!errors.As(err, &invalid) && !errors.As(err, &verification)
}

// s3Escape escapes a request path the way SigV4 canonicalizes it for S3: every byte except
// the unreserved ones and '/'.
func s3Escape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// s3Request is one S3 call. body returns a fresh reader of the payload for every attempt (an
// abandoned attempt may still be reading the previous one); sha is the payload's hex SHA-256.
type s3Request struct {
	method string
	key    string // "" for the bucket itself
	query  url.Values
	header http.Header
	body   func() io.Reader
	size   int64
	sha    string
	region string // signing region, when not the client's
}

func (c *s3Client) op(r *s3Request) string {
	op := r.method + " " + c.bucket
	if r.key != "" {
		op += "/" + r.key
	}
	return op
}

func (c *s3Client) newRequest(ctx context.Context, r *s3Request) (*http.Request, error) {
	p := "/" + c.bucket
	if r.key != "" {
		p += "/" + r.key
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.scheme+"://"+c.host+"/", nil)
	if err != nil {
		return nil, err
	}
	req.URL.Path, req.URL.RawPath = p, s3Escape(p)
	req.URL.RawQuery = r.query.Encode() // the signer rewrites it in canonical form
	for k, v := range r.header {
		req.Header[k] = v
	}
	sha := r.sha
	if r.body != nil && r.size > 0 {
		req.Body = io.NopCloser(io.LimitReader(r.body(), r.size))
		req.ContentLength = r.size
	} else {
		sha = emptySHA256
	}
	req.Header.Set("X-Amz-Content-Sha256", sha)
	if c.creds.AccessKeyID != "" || c.creds.SecretAccessKey != "" {
		region := c.region
		if r.region != "" {
			region = r.region
		}
		if err := c.signer.SignHTTP(ctx, c.creds, req, sha, "s3", region, time.Now()); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// do sends r, retrying transient failures, and returns a successful (2xx) response; anything
// else is an error (an *s3Error when S3 answered).
func (c *s3Client) do(ctx context.Context, r *s3Request) (*http.Response, error) {
	op := c.op(r)
	for attempt := 1; ; attempt++ {
		req, err := c.newRequest(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("s3 %s: %w", op, err)
		}
		resp, err := c.hc.Do(req)
		if err == nil && resp.StatusCode/100 == 2 {
			return resp, nil
		}
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			err = &s3NetError{Op: op, Err: err}
		} else {
			err = readS3Error(op, resp)
		}
		if attempt == s3MaxAttempts || !s3Retryable(ctx, err) {
			return nil, err
		}
		d := min(s3RetryUnit<<(attempt-1), 5*s3RetryUnit)
		t := time.NewTimer(d/2 + rand.N(d/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// call sends r and discards a successful response's body.
func (c *s3Client) call(ctx context.Context, r *s3Request) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// callXML sends r and decodes a successful response's XML body into v.
func (c *s3Client) callXML(ctx context.Context, r *s3Request, v any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("s3 %s: %w", c.op(r), err)
	}
	// Some calls (CompleteMultipartUpload) report failure in a 200 response.
	if e := (&s3Error{}); xml.Unmarshal(b, e) == nil && e.Code != "" {
		e.Op, e.Status = c.op(r), resp.StatusCode
		return e
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("s3 %s: bad response: %w", c.op(r), err)
	}
	return nil
}

func bytesBody(b []byte) (func() io.Reader, int64, string) {
	sum := sha256.Sum256(b)
	return func() io.Reader { return bytes.NewReader(b) }, int64(len(b)), hex.EncodeToString(sum[:])
}

// bucketRegion asks S3 where the bucket is (GetBucketLocation), for signing when no region is
// configured; us-east-1 when it cannot tell.
func (c *s3Client) bucketRegion(ctx context.Context) string {
	var loc struct {
		Region string `xml:",chardata"`
	}
	err := c.callXML(ctx, &s3Request{method: "GET", query: url.Values{"location": {""}},
		region: "us-east-1"}, &loc) // any region may be asked
	switch r := strings.TrimSpace(loc.Region); {
	case err != nil || r == "":
		return "us-east-1"
	case r == "EU":
		return "eu-west-1"
	default:
		return r
	}
}

// headBucket reports whether the bucket exists.
func (c *s3Client) headBucket(ctx context.Context) (bool, error) {
	err := c.call(ctx, &s3Request{method: "HEAD"})
	if notFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (c *s3Client) createBucket(ctx context.Context) error {
	r := &s3Request{method: "PUT"}
	if c.region != "" && c.region != "us-east-1" {
		var b bytes.Buffer
		b.WriteString(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>`)
		xml.EscapeText(&b, []byte(c.region))
		b.WriteString(`</LocationConstraint></CreateBucketConfiguration>`)
		r.body, r.size, r.sha = bytesBody(b.Bytes())
	}
	err := c.call(ctx, r)
	if e := (*s3Error)(nil); errors.As(err, &e) && e.Code == "BucketAlreadyOwnedByYou" {
		return nil // created meanwhile by another registry sharing the bucket
	}
	return err
}

// s3Object is what HeadObject says about an object.
type s3Object struct {
	Size         int64
	LastModified time.Time
	// Meta holds the object's user metadata (x-amz-meta-*), by lower-case name without the prefix.
	Meta map[string]string
}

func (c *s3Client) headObject(ctx context.Context, key string) (s3Object, error) {
	resp, err := c.do(ctx, &s3Request{method: "HEAD", key: key})
	if err != nil {
		return s3Object{}, err
	}
	resp.Body.Close()
	var o s3Object
	if o.Size, err = strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err != nil {
		return o, fmt.Errorf("s3 HEAD %s/%s: bad Content-Length %q", c.bucket, key, resp.Header.Get("Content-Length"))
	}
	o.LastModified, _ = http.ParseTime(resp.Header.Get("Last-Modified"))
	for k, v := range resp.Header {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && len(v) > 0 {
			if o.Meta == nil {
				o.Meta = map[string]string{}
			}
			o.Meta[name] = v[0]
		}
	}
	return o, nil
}

// getObject returns the object's content from offset off on.
func (c *s3Client) getObject(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	r := &s3Request{method: "GET", key: key}
	if off > 0 {
		r.header = http.Header{"Range": {"bytes=" + strconv.FormatInt(off, 10) + "-"}}
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if off > 0 && resp.StatusCode != http.StatusPartialContent {
		// The server ignored the range and sent it all: skip to off.
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("s3 GET %s/%s: %w", c.bucket, key, err)
		}
	}
	return resp.Body, nil
}

// putObject stores size bytes from body under key; sha is their hex SHA-256. meta is stored as
// the object's user metadata (names in lower case).
func (c *s3Client) putObject(ctx context.Context, key string, body func() io.Reader, size int64, sha string, meta ...string) error {
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	for i := 0; i+1 < len(meta); i += 2 {
		h.Set("X-Amz-Meta-"+meta[i], meta[i+1])
	}
	return c.call(ctx, &s3Request{method: "PUT", key: key, body: body, size: size, sha: sha, header: h})
}

func (c *s3Client) deleteObject(ctx context.Context, key string) error {
	return c.call(ctx, &s3Request{method: "DELETE", key: key})
}

func (c *s3Client) createMultipartUpload(ctx context.Context, key string) (string, error) {
	var res struct {
		UploadID string `xml:"UploadId"`
	}
	err := c.callXML(ctx, &s3Request{method: "POST", key: key, query: url.Values{"uploads": {""}},
		header: http.Header{"Content-Type": {"application/octet-stream"}}}, &res)
	if err == nil && res.UploadID == "" {
		err = fmt.Errorf("s3 POST %s/%s?uploads: no upload ID in the response", c.bucket, key)
	}
	return res.UploadID, err
}

// uploadPart uploads part n (from 1) and returns its ETag.
func (c *s3Client) uploadPart(ctx context.Context, key, uploadID string, n int, body func() io.Reader, size int64, sha string) (string, error) {
	resp, err := c.do(ctx, &s3Request{method: "PUT", key: key, body: body, size: size, sha: sha,
		query: url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {uploadID}}})
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("s3 PUT %s/%s part %d: no ETag in the response", c.bucket, key, n)
	}
	return etag, nil
}

func (c *s3Client) completeMultipartUpload(ctx context.Context, key, uploadID string, etags []string) error {
	type part struct {
		PartNumber int
		ETag       string
	}
	var req struct {
		XMLName xml.Name `xml:"CompleteMultipartUpload"`
		Parts   []part   `xml:"Part"`
	}
	for i, e := range etags {
		req.Parts = append(req.Parts, part{i + 1, e})
	}
	b, err := xml.Marshal(req)
	if err != nil {
		return err
	}
	r := &s3Request{method: "POST", key: key, query: url.Values{"uploadId": {uploadID}},
		header: http.Header{"Content-Type": {"application/xml"}}}
	r.body, r.size, r.sha = bytesBody(b)
	var res struct {
		Key string
	}
	return c.callXML(ctx, r, &res)
}

func (c *s3Client) abortMultipartUpload(ctx context.Context, key, uploadID string) error {
	return c.call(ctx, &s3Request{method: "DELETE", key: key, query: url.Values{"uploadId": {uploadID}}})
}

// s3ListPage is one page of a ListObjectsV2 answer.
type s3ListPage struct {
	Contents       []s3Entry
	CommonPrefixes []struct {
		Prefix string
	}
	IsTruncated           bool
	NextContinuationToken string
	EncodingType          string
}

// s3Entry is one object of a listing.
type s3Entry struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// parseListPage decodes a ListObjectsV2 answer, undoing encoding-type=url.
func parseListPage(b []byte) (*s3ListPage, error) {
	var p s3ListPage
	if err := xml.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	if p.EncodingType == "url" {
		var err error
		for i := range p.Contents {
			if p.Contents[i].Key, err = url.QueryUnescape(p.Contents[i].Key); err != nil {
				return nil, err
			}
		}
		for i := range p.CommonPrefixes {
			if p.CommonPrefixes[i].Prefix, err = url.QueryUnescape(p.CommonPrefixes[i].Prefix); err != nil {
				return nil, err
			}
		}
	}
	return &p, nil
}

// listObjects lists the keys under prefix (whole keys) and, with a delimiter, the common
// prefixes one level down (ending in the delimiter), following continuation tokens until
// the listing is complete or, when limit > 0, has at least limit entries.
func (c *s3Client) listObjects(ctx context.Context, prefix, delimiter string, limit int) (keys, prefixes []string, err error) {
	err = c.listEach(ctx, prefix, delimiter, "", limit, func(e s3Entry, isPrefix bool) bool {
		if isPrefix {
			prefixes = append(prefixes, e.Key)
		} else {
			keys = append(keys, e.Key)
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	return keys, prefixes, nil
}

// listEach calls fn for every entry under prefix whose key sorts after startAfter (keys, and
// with a delimiter common prefixes, as entries with isPrefix set), page by page, until the
// listing ends, fn returns false, or (limit > 0) limit entries were seen. A page asks for no
// more entries than limit, so a caller wanting one page of n pays for one request.
func (c *s3Client) listEach(ctx context.Context, prefix, delimiter, startAfter string, limit int, fn func(e s3Entry, isPrefix bool) bool) error {
	token, seen := "", 0
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "encoding-type": {"url"}}
		if delimiter != "" {
			q.Set("delimiter", delimiter)
		}
		if n := c.maxKeys; n > 0 || limit > 0 {
			if limit > 0 && (n == 0 || limit-seen < n) {
				n = limit - seen
			}
			q.Set("max-keys", strconv.Itoa(n))
		}
		if token != "" {
			q.Set("continuation-token", token)
		} else if startAfter != "" {
			q.Set("start-after", startAfter)
		}
		r := &s3Request{method: "GET", query: q}
		resp, err := c.do(ctx, r)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("s3 list %s/%s: %w", c.bucket, prefix, err)
		}
		p, err := parseListPage(b)
		if err != nil {
			return fmt.Errorf("s3 list %s/%s: bad response: %w", c.bucket, prefix, err)
		}
		// Keys and prefixes come as two lists, each sorted: merge them into one sorted stream.
		i, j := 0, 0
		for i < len(p.Contents) || j < len(p.CommonPrefixes) {
			var ok bool
			if j == len(p.CommonPrefixes) || i < len(p.Contents) && p.Contents[i].Key < p.CommonPrefixes[j].Prefix {
				ok = fn(p.Contents[i], false)
				i++
			} else {
				ok = fn(s3Entry{Key: p.CommonPrefixes[j].Prefix}, true)
				j++
			}
			seen++
			if !ok || limit > 0 && seen >= limit {
				return nil
			}
		}
		if !p.IsTruncated {
			return nil
		}
		if p.NextContinuationToken == "" || p.NextContinuationToken == token {
			return fmt.Errorf("s3 list %s/%s: truncated listing without a new continuation token", c.bucket, prefix)
		}
		token = p.NextContinuationToken
	}
}

// s3Reader reads an object lazily: the first Read after opening or a Seek sends a GET for the
// rest of the object from that offset (a ranged GET), so http.ServeContent answers Range
// requests without downloading the whole object. Its requests end with ctx (the client's
// request: a client that goes away stops the download); the transport bounds the wait for each
// response.
type s3Reader struct {
	ctx  context.Context
	c    *s3Client
	key  string
	size int64
	off  int64
	body io.ReadCloser
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		body, err := r.c.getObject(r.ctx, r.key, r.off)
		if err != nil {
			return 0, err
		}
		r.body = body
	}
	if rest := r.size - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	if err == io.EOF && r.off < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("s3 reader: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("s3 reader: negative position")
	}
	if offset != r.off && r.body != nil {
		r.body.Close()
		r.body = nil
	}
	r.off = offset
	return offset, nil
}

func (r *s3Reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
