package registry

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestS3ParseListPage(t *testing.T) {
	b := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>registry</Name><Prefix>p%2F</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <Delimiter>%2F</Delimiter><EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <ContinuationToken>abc</ContinuationToken><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>p%2Fa+b</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>"x"</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p%2F%25c</Key><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>p%2Fsub%2F</Prefix></CommonPrefixes>
</ListBucketResult>`)
	p, err := parseListPage(b)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range p.Contents {
		keys = append(keys, c.Key)
	}
	if !slices.Equal(keys, []string{"p/a b", "p/%c"}) || len(p.CommonPrefixes) != 1 || p.CommonPrefixes[0].Prefix != "p/sub/" ||
		!p.IsTruncated || p.NextContinuationToken != "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=" {
		t.Fatalf("%+v", p)
	}
	// Without encoding-type=url the keys are taken as they are.
	p, err = parseListPage([]byte(`<ListBucketResult><Contents><Key>a+b%2F</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>`))
	if err != nil || len(p.Contents) != 1 || p.Contents[0].Key != "a+b%2F" || p.IsTruncated {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := parseListPage([]byte(`<ListBucketResult><Contents>`)); err == nil {
		t.Fatal("truncated XML parsed")
	}
}

func TestS3Errors(t *testing.T) {
	resp := func(method string, status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)),
			Request: &http.Request{Method: method}}
	}
	cases := []struct {
		status   int
		body     string
		notFound bool
		retry    bool
		msg      string
	}{
		{404, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a/b</Key><RequestId>1</RequestId></Error>`,
			true, false, "s3 GET b/k: NoSuchKey: The specified key does not exist. (HTTP 404)"},
		{404, `<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>`,
			true, false, "s3 GET b/k: NoSuchBucket: The specified bucket does not exist (HTTP 404)"},
		{404, ``, true, false, "s3 GET b/k: NotFound (HTTP 404)"}, // HEAD: no body
		{403, ``, false, false, "s3 GET b/k: Forbidden (HTTP 403)"},
		{403, `<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated
 does not match the signature you provided.</Message></Error>`, false, false,
			"s3 GET b/k: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. (HTTP 403)"},
		{503, `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`,
			false, true, "s3 GET b/k: SlowDown: Please reduce your request rate. (HTTP 503)"},
		{400, `<Error><Code>RequestTimeout</Code></Error>`, false, true, "s3 GET b/k: RequestTimeout (HTTP 400)"},
		{502, "<html>\n<body>Bad gateway</body></html>", false, true, "s3 GET b/k: Bad Gateway (HTTP 502)"},
	}
	for _, c := range cases {
		err := readS3Error("GET b/k", resp("GET", c.status, c.body))
		if notFound(err) != c.notFound || s3Retryable(t.Context(), err) != c.retry || err.Error() != c.msg {
			t.Errorf("%d %q: notFound %v retry %v %q", c.status, c.body, notFound(err), s3Retryable(t.Context(), err), err)
		}
	}
	if notFound(io.EOF) || notFound(nil) {
		t.Error("notFound of a non-S3 error")
	}
	if !s3Retryable(t.Context(), fmt.Errorf("s3 GET b/k: %w", io.ErrUnexpectedEOF)) {
		t.Error("network error not retried")
	}
}

func TestS3Escape(t *testing.T) {
	if got := s3Escape("/b/a-z_0.9~/x y+z%é:@=&"); got != "/b/a-z_0.9~/x%20y%2Bz%25%C3%A9%3A%40%3D%26" {
		t.Fatal(got)
	}
}

// fakeS3 is an in-memory S3 bucket server that checks every request's SigV4 signature
// (computed independently of the client's signer) and payload hash, for testing s3Client and
// s3Store without SeaweedFS.
type fakeS3 struct {
	t                *testing.T
	accessKey        string
	secretKey        string
	region           string // answered to GetBucketLocation
	pageSize         int    // most entries per list page
	ignoreRange      bool
	failCompleteBody bool // CompleteMultipartUpload answers 200 with an <Error>

	mu        sync.Mutex
	bucket    string
	exists    bool
	createLoc string // LocationConstraint of the CreateBucket request
	objects   map[string][]byte
	meta      map[string]http.Header // x-amz-meta-* headers of objects
	uploads   map[string]map[int][]byte
	aborted   int
	seq       int
	fail      map[string]int // method → answers 503 SlowDown to give
	log       []string
}

func newFakeS3(t *testing.T, bucket string) (*fakeS3, string) {
	f := &fakeS3{t: t, accessKey: "AKIDTEST", secretKey: "secret/test+key", region: "eu-central-1", pageSize: 1000,
		bucket: bucket, objects: map[string][]byte{}, meta: map[string]http.Header{}, uploads: map[string]map[int][]byte{}, fail: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

func s3ErrorXML(w http.ResponseWriter, status int, code string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>fake %s</Message></Error>`, code, code)
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// verify checks r's SigV4 signature and payload hash; "" when they are right, else the error code.
func (f *fakeS3) verify(r *http.Request, body []byte) string {
	sum := sha256.Sum256(body)
	if r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
		return "XAmzContentSHA256Mismatch"
	}
	auth := r.Header.Get("Authorization")
	var cred, signed, sig string
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	scope := strings.SplitN(cred, "/", 2)
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || len(scope) != 2 || scope[0] != f.accessKey {
		return "InvalidAccessKeyId"
	}
	if !strings.Contains(";"+signed+";", ";x-amz-content-sha256;") || !strings.Contains(";"+signed+";", ";host;") {
		return "AccessDenied"
	}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	var qs []string
	for k, vs := range q {
		for _, v := range vs {
			qs = append(qs, s3Escape(k)+"="+strings.ReplaceAll(s3Escape(v), "/", "%2F"))
		}
	}
	sort.Strings(qs)
	var hdrs strings.Builder
	for _, h := range strings.Split(signed, ";") {
		v := r.Header.Get(h)
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		}
		hdrs.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(qs, "&"), hdrs.String(), signed,
		r.Header.Get("X-Amz-Content-Sha256")}, "\n")
	creq := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope[1] + "\n" + hex.EncodeToString(creq[:])
	s := strings.Split(scope[1], "/") // date/region/s3/aws4_request
	key := []byte("AWS4" + f.secretKey)
	for _, p := range s {
		key = hmacSHA256(key, p)
	}
	if hex.EncodeToString(hmacSHA256(key, toSign)) != sig {
		return "SignatureDoesNotMatch"
	}
	return ""
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.RequestURI())
	if code := f.verify(r, body); code != "" {
		s3ErrorXML(w, 403, code)
		return
	}
	if f.fail[r.Method] > 0 {
		f.fail[r.Method]--
		s3ErrorXML(w, 503, "SlowDown")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if bucket != f.bucket || !f.exists && !(key == "" && r.Method == "PUT") {
		if r.Method == "HEAD" {
			w.WriteHeader(404)
		} else {
			s3ErrorXML(w, 404, "NoSuchBucket")
		}
		return
	}
	switch {
	case key == "" && r.Method == "PUT":
		if f.exists {
			s3ErrorXML(w, 409, "BucketAlreadyOwnedByYou")
			return
		}
		var c struct{ LocationConstraint string }
		xml.Unmarshal(body, &c)
		f.exists, f.createLoc = true, c.LocationConstraint
	case key == "" && r.Method == "HEAD":
	case key == "" && q.Has("location"):
		fmt.Fprintf(w, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LocationConstraint>`, f.region)
	case key == "" && q.Get("list-type") == "2":
		f.list(w, q)
	case key == "":
		s3ErrorXML(w, 400, "NotImplemented")
	case r.Method == "POST" && q.Has("uploads"):
		f.seq++
		id := fmt.Sprint("upload-", f.seq)
		f.uploads[id] = map[int][]byte{}
		fmt.Fprintf(w, `<InitiateMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>`, bucket, key, id)
	case r.Method == "PUT" && q.Has("uploadId"):
		parts, ok := f.uploads[q.Get("uploadId")]
		n, _ := strconv.Atoi(q.Get("partNumber"))
		if !ok || n < 1 {
			s3ErrorXML(w, 404, "NoSuchUpload")
			return
		}
		parts[n] = body
		sum := md5.Sum(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	case r.Method == "POST" && q.Has("uploadId"):
		parts, ok := f.uploads[q.Get("uploadId")]
		var c struct {
			Part []struct {
				PartNumber int
				ETag       string
			}
		}
		if !ok || xml.Unmarshal(body, &c) != nil {
			s3ErrorXML(w, 404, "NoSuchUpload")
			return
		}
		if f.failCompleteBody {
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n\n"+`<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>`)
			return
		}
		var all []byte
		for i, p := range c.Part {
			sum := md5.Sum(parts[p.PartNumber])
			if p.PartNumber != i+1 || p.ETag != `"`+hex.EncodeToString(sum[:])+`"` {
				s3ErrorXML(w, 400, "InvalidPart")
				return
			}
			all = append(all, parts[p.PartNumber]...)
		}
		f.objects[key] = all
		delete(f.uploads, q.Get("uploadId"))
		fmt.Fprintf(w, `<CompleteMultipartUploadResult><Key>%s</Key></CompleteMultipartUploadResult>`, key)
	case r.Method == "DELETE" && q.Has("uploadId"):
		delete(f.uploads, q.Get("uploadId"))
		f.aborted++
		w.WriteHeader(204)
	case r.Method == "PUT":
		f.objects[key] = body
		delete(f.meta, key)
		for k, v := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
				if f.meta[key] == nil {
					f.meta[key] = http.Header{}
				}
				f.meta[key][k] = v
			}
		}
	case r.Method == "DELETE":
		delete(f.objects, key)
		w.WriteHeader(204)
	case r.Method == "HEAD" || r.Method == "GET":
		b, ok := f.objects[key]
		if !ok {
			if r.Method == "HEAD" {
				w.WriteHeader(404)
			} else {
				s3ErrorXML(w, 404, "NoSuchKey")
			}
			return
		}
		w.Header().Set("Last-Modified", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat))
		for k, v := range f.meta[key] {
			w.Header()[k] = v
		}
		status := 200
		if rg := r.Header.Get("Range"); rg != "" && !f.ignoreRange {
			off, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			if err != nil || off >= len(b) {
				s3ErrorXML(w, 416, "InvalidRange")
				return
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, len(b)-1, len(b)))
			b, status = b[off:], 206
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		if r.Method == "GET" {
			w.Write(b)
		}
	default:
		s3ErrorXML(w, 400, "NotImplemented")
	}
}

func (f *fakeS3) list(w http.ResponseWriter, q url.Values) {
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	n := f.pageSize
	if m, err := strconv.Atoi(q.Get("max-keys")); err == nil && m < n {
		n = m
	}
	type entry struct {
		name     string
		isPrefix bool
	}
	var entries []entry
	seen := map[string]bool{}
	for k := range f.objects {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if i := strings.Index(k[len(prefix):], delim); delim != "" && i >= 0 {
			if p := k[:len(prefix)+i+len(delim)]; !seen[p] {
				seen[p] = true
				entries = append(entries, entry{p, true})
			}
			continue
		}
		entries = append(entries, entry{k, false})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	after := q.Get("start-after")
	if tok := q.Get("continuation-token"); tok != "" {
		after = strings.TrimPrefix(tok, "token:")
	}
	for len(entries) > 0 && entries[0].name <= after {
		entries = entries[1:]
	}
	enc := func(s string) string { return s }
	if q.Get("encoding-type") == "url" {
		enc = url.QueryEscape
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	if q.Get("encoding-type") == "url" {
		b.WriteString(`<EncodingType>url</EncodingType>`)
	}
	truncated := len(entries) > n
	if truncated {
		entries = entries[:n]
	}
	for _, e := range entries {
		if e.isPrefix {
			fmt.Fprintf(&b, `<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>`, enc(e.name))
		} else {
			fmt.Fprintf(&b, `<Contents><Key>%s</Key><Size>%d</Size></Contents>`, enc(e.name), len(f.objects[e.name]))
		}
	}
	fmt.Fprintf(&b, `<IsTruncated>%v</IsTruncated>`, truncated)
	if truncated {
		fmt.Fprintf(&b, `<NextContinuationToken>token:%s</NextContinuationToken>`, entries[len(entries)-1].name)
	}
	b.WriteString(`</ListBucketResult>`)
	io.WriteString(w, b.String())
}

func (f *fakeS3) requests(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// writeBlob writes size random bytes to a file and returns it with its digest.
func writeBlob(t *testing.T, size int, alg digest.Algorithm) (string, []byte, digest.Digest) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	name := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name, b, alg.FromBytes(b)
}

// checkBlobRanges reads the blob d back through openBlob: whole, after seeks, and as
// http.ServeContent serves a Range request.
func checkBlobRanges(t *testing.T, s *s3Store, d digest.Digest, want []byte) {
	t.Helper()
	rc, err := s.openBlob(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("whole blob: %d bytes, %v", len(got), err)
	}
	for _, off := range []int64{int64(len(want)) - 1, 0, int64(len(want)) / 3, int64(len(want)) * 2 / 3} {
		if pos, err := rc.Seek(off, io.SeekStart); err != nil || pos != off {
			t.Fatal(pos, err)
		}
		buf := make([]byte, min(100<<10, int64(len(want))-off))
		if _, err := io.ReadFull(rc, buf); err != nil || !bytes.Equal(buf, want[off:off+int64(len(buf))]) {
			t.Fatalf("at %d: %v", off, err)
		}
	}
	if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != int64(len(want)) {
		t.Fatal(end, err)
	}
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatal(n, err)
	}
	if _, err := rc.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("negative seek")
	}
	// As the registry serves GET /v2/<name>/blobs/<digest> with a Range.
	rc2, err := s.openBlob(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	lo, hi := len(want)/2, len(want)/2+4095
	req := httptest.NewRequest("GET", "/blob", nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", lo, hi))
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "", time.Time{}, rc2)
	if rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), want[lo:hi+1]) {
		t.Fatalf("ServeContent range: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestS3StoreFake(t *testing.T) {
	ctx := context.Background()
	f, endpoint := newFakeS3(t, "reg")
	f.pageSize = 2 // every listing takes several pages
	t.Setenv("AWS_ACCESS_KEY_ID", f.accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", f.secretKey)
	cfg := S3Config{Endpoint: endpoint, Bucket: "reg", Insecure: true, Prefix: "/odd +%é/"}
	if _, err := newS3Store(cfg); err == nil || err.Error() != "registry: s3 bucket reg does not exist at "+endpoint {
		t.Fatalf("missing bucket: %v", err)
	}
	cfg.CreateBucket = true
	s, err := newS3Store(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// No region configured and no bucket to ask: created in us-east-1, as AWS does.
	if s.c.region != "us-east-1" || f.createLoc != "" {
		t.Fatalf("region %q, bucket created in %q", s.c.region, f.createLoc)
	}
	// Now that it exists, requests are signed for its own region (GetBucketLocation).
	if s, err = newS3Store(cfg); err != nil || s.c.region != "eu-central-1" {
		t.Fatal(err)
	}
	f2, endpoint2 := newFakeS3(t, "other")
	if _, err := newS3Store(S3Config{Endpoint: endpoint2, Bucket: "other", Insecure: true, CreateBucket: true,
		Region: "ap-south-1"}); err != nil || f2.createLoc != "ap-south-1" {
		t.Fatalf("%v, created in %q", err, f2.createLoc)
	}
	if _, err := newS3Store(S3Config{Endpoint: "https://" + endpoint, Bucket: "reg"}); err == nil ||
		!strings.Contains(err.Error(), "must be host[:port]") {
		t.Fatal(err)
	}

	// Small objects, listings over several pages, removal.
	for _, k := range []string{"a", "b", "c/1", "c/2", "d/x/1", "e"} {
		if err := s.put(ctx, s.prefix+"l/"+k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := s.get(ctx, s.prefix+"l/c/2"); err != nil || string(b) != "vc/2" {
		t.Fatal(string(b), err)
	}
	if _, err := s.get(ctx, s.prefix+"l/zz"); !notFound(err) {
		t.Fatal(err)
	}
	keys, err := s.list(ctx, s.prefix+"l/", false)
	if slices.Sort(keys); err != nil || !slices.Equal(keys, []string{"a", "b", "c/", "d/", "e"}) {
		t.Fatal(keys, err)
	}
	keys, err = s.list(ctx, s.prefix+"l/", true)
	if err != nil || !slices.Equal(keys, []string{"a", "b", "c/1", "c/2", "d/x/1", "e"}) {
		t.Fatal(keys, err)
	}
	if info, ok, err := s.stat(ctx, s.prefix+"l/c/1"); !ok || err != nil || info.Size != 4 || info.LastModified.Year() != 2024 {
		t.Fatal(info, ok, err)
	}
	if _, ok, err := s.stat(ctx, s.prefix+"l/nope"); ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := s.remove(ctx, s.prefix+"l/a"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := s.remove(ctx, s.prefix+"l/a"); ok || err != nil {
		t.Fatal(ok, err)
	}

	// Blobs: a sha256 one in one PUT (its digest is the signed payload hash), a sha512 one,
	// and one in several parts.
	defer func(n int64) { s3PartSize = n }(s3PartSize)
	s3PartSize = 1 << 20
	for _, c := range []struct {
		size  int
		alg   digest.Algorithm
		parts int
	}{{700 << 10, digest.SHA256, 0}, {1 << 20, digest.SHA512, 0}, {3<<20 + 12345, digest.SHA256, 4}, {2 << 20, digest.SHA512, 2}} {
		if err := s.index(ctx, "app"); err != nil { // the first link also writes the index object
			t.Fatal(err)
		}
		name, data, d := writeBlob(t, c.size, c.alg)
		before := f.requests("PUT ")
		if err := s.commitBlob(name, d, "app"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Fatal("commitBlob left its file", err)
		}
		// The parts (or the one PUT) and the repository link.
		if puts := f.requests("PUT ") - before; puts != max(c.parts, 1)+1 {
			t.Errorf("%d bytes: %d PUTs", c.size, puts)
		}
		if !yes(t)(s.blobExists(ctx, d)) || !yes(t)(s.repoHasBlob(ctx, "app", d)) || yes(t)(s.repoHasBlob(ctx, "other", d)) {
			t.Fatal("blob not stored")
		}
		checkBlobRanges(t, s, d, data)
		if b, err := s.readBlob(context.Background(), d); err != nil || !bytes.Equal(b, data) {
			t.Fatal(err)
		}
	}
	if _, err := s.openBlob(context.Background(), digest.FromString("nope")); err == nil {
		t.Fatal("opened a missing blob")
	}

	// A failed multipart upload is aborted and reported in one line.
	f.failCompleteBody = true
	name, _, d := writeBlob(t, 2<<20+1, digest.SHA256)
	err = s.commitBlob(name, d, "app")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "InternalError: We encountered an internal error.") ||
		f.aborted != 1 || len(f.uploads) != 0 || yes(t)(s.blobExists(ctx, d)) {
		t.Fatalf("%v; aborted %d, uploads %d", err, f.aborted, len(f.uploads))
	}
	f.failCompleteBody = false

	// Transient failures are retried.
	defer func(d time.Duration) { s3RetryUnit = d }(s3RetryUnit)
	s3RetryUnit = time.Millisecond
	f.fail["PUT"], f.fail["GET"] = 2, 1
	if err := s.put(ctx, s.prefix+"retry", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.get(ctx, s.prefix+"retry"); err != nil || string(b) != "x" {
		t.Fatal(err)
	}
	f.fail["HEAD"] = s3MaxAttempts
	if _, _, err := s.stat(ctx, s.prefix+"retry"); err == nil || !strings.HasSuffix(err.Error(), "Service Unavailable (HTTP 503)") {
		t.Fatal(err)
	}

	// Manifests, tags, referrers and repositories on top.
	m := []byte(`{"schemaVersion":2,"subject":{"digest":"` + d.String() + `"}}`)
	md := digest.FromBytes(m)
	if err := s.putManifest(ctx, "team/app", md, "application/vnd.oci.image.manifest.v1+json", m, nil, d, []byte("referrer"), []string{"v1", "v2", "v3"}); err != nil {
		t.Fatal(err)
	}
	if tags, err := s.listTags(ctx, "team/app", "", -1); err != nil || !slices.Equal(tags, []string{"v1", "v2", "v3"}) {
		t.Fatal(tags, err)
	}
	if _, err := s.listTags(ctx, "none", "", -1); err == nil {
		t.Fatal("tags of a missing repository")
	}
	if refs, err := s.referrers(ctx, "team/app", d); err != nil || len(refs) != 1 || string(refs[0]) != "referrer" {
		t.Fatal(refs, err)
	}
	if tm, ok := s.tagTime(ctx, "team/app", "v2"); !ok || tm.IsZero() {
		t.Fatal("tagTime")
	}
	if repos, err := s.repositories(ctx, "", -1); err != nil || !slices.Equal(repos, []string{"app", "team/app"}) {
		t.Fatal(repos, err)
	}
	if !yes(t)(s.repoExists(ctx, "team/app")) || yes(t)(s.repoExists(ctx, "team")) {
		t.Fatal("repoExists")
	}
	if ok, err := s.deleteManifest(ctx, "team/app", md); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, ok, _ := s.resolveTag(ctx, "team/app", "v1"); ok || yes(t)(s.hasManifest(ctx, "team/app", md)) {
		t.Fatal("tag or manifest left")
	}
	if refs, _ := s.referrers(ctx, "team/app", d); len(refs) != 0 {
		t.Fatal(refs)
	}

	// A wrong secret: a clear one-line error, not retried.
	before := len(f.log)
	_, err = newS3Store(S3Config{Endpoint: endpoint, Bucket: "reg", Insecure: true, Region: "eu-central-1",
		AccessKey: f.accessKey, SecretKey: "wrong"})
	if err == nil || err.Error() != "registry: s3 bucket reg at "+endpoint+": s3 HEAD reg: Forbidden (HTTP 403)" || len(f.log)-before != 1 {
		t.Fatalf("%v (%d requests)", err, len(f.log)-before)
	}
}

// TestS3ReaderRangeIgnored: a server that answers a ranged GET with the whole object.
func TestS3ReaderRangeIgnored(t *testing.T) {
	f, endpoint := newFakeS3(t, "reg")
	f.ignoreRange = true
	s, err := newS3Store(S3Config{Endpoint: endpoint, Bucket: "reg", Insecure: true, CreateBucket: true,
		Region: "us-east-1", AccessKey: f.accessKey, SecretKey: f.secretKey})
	if err != nil {
		t.Fatal(err)
	}
	if f.createLoc != "" || f.requests("GET /reg?location") != 0 {
		t.Fatalf("us-east-1: location %q asked", f.createLoc)
	}
	name, data, d := writeBlob(t, 300<<10, digest.SHA256)
	if err := s.commitBlob(name, d, "app"); err != nil {
		t.Fatal(err)
	}
	checkBlobRanges(t, s, d, data)
}
