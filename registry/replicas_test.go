package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// roundRobin is a load balancer in front of replicas: each request goes to the next one.
func roundRobin(t *testing.T, backends ...string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var next atomic.Int64
	var urls []*url.URL
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, u)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		u := urls[int(next.Add(1)-1)%len(urls)]
		r.SetURL(u)
		r.Out.Host = r.In.Host // the replicas see the name clients use
	}}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	return ts, &next
}

// fakeReplicas starts n registry servers over one fake S3 bucket and a round-robin proxy.
func fakeReplicas(t *testing.T, n int) (*fakeS3, *httptest.Server, []*Server) {
	t.Helper()
	f, endpoint := newFakeS3(t, "reg")
	cfg := S3Config{Endpoint: endpoint, Bucket: "reg", Insecure: true, CreateBucket: true,
		AccessKey: f.accessKey, SecretKey: f.secretKey, Region: "us-east-1", Prefix: "p"}
	var urls []string
	var servers []*Server
	for range n {
		s, err := New(Config{S3: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, s)
		urls = append(urls, newTestServerFor(t, s).URL)
	}
	lb, _ := roundRobin(t, urls...)
	return f, lb, servers
}

func (f *fakeS3) keys(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// Upload sessions live in the bucket: every request of a chunked upload goes to another
// replica, the blob streams into a multipart upload part by part, and the final PUT only
// completes it.
func TestReplicaUploadSessions(t *testing.T) {
	defer func(n int) { s3UploadPartSize = n }(s3UploadPartSize)
	s3UploadPartSize = 64 << 10
	f, lb, _ := fakeReplicas(t, 2)

	data := make([]byte, 300<<10+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	d := digest.FromBytes(data)
	r := do(t, "POST", lb.URL+"/v2/team/app/blobs/uploads/", nil)
	expect(t, r, 202, "")
	loc := lb.URL + r.Header.Get("Location")
	if len(f.keys("p/uploads/")) != 1 {
		t.Fatalf("session not stored in the bucket: %v", f.keys("p/"))
	}
	// Chunks of odd sizes, across part boundaries; each request lands on the other replica.
	off := 0
	for i, n := range []int{1000, 70 << 10, 5, 150 << 10} {
		chunk := data[off : off+n]
		r := do(t, "PATCH", loc, chunk, "Content-Range", rangeOf(off, n))
		expect(t, r, 202, "")
		off += n
		if got := r.Header.Get("Range"); got != rangeOf(0, off) {
			t.Fatalf("chunk %d: Range %s, want %s", i, got, rangeOf(0, off))
		}
		// The status, from the other replica.
		st := do(t, "GET", loc, nil)
		expect(t, st, 204, "")
		if st.Header.Get("Range") != rangeOf(0, off) {
			t.Fatalf("status after chunk %d: %s", i, st.Header.Get("Range"))
		}
	}
	// An out-of-order chunk is refused by whichever replica gets it.
	expect(t, do(t, "PATCH", loc, data[off+10:off+20], "Content-Range", rangeOf(off+10, 10)), 416, "")
	f.mu.Lock()
	parts := 0
	for _, u := range f.uploads {
		parts += len(u)
	}
	f.mu.Unlock()
	if parts != off/(64<<10) {
		t.Fatalf("%d parts in S3 after %d bytes, want %d: chunks must stream into parts as they arrive", parts, off, off/(64<<10))
	}
	// The final PUT: the last bytes, the last part, completion; no GET of the data.
	getsBefore := f.requests("GET /reg/p/data/")
	r = do(t, "PUT", loc+"?digest="+d.String(), data[off:], "Content-Range", rangeOf(off, len(data)-off))
	expect(t, r, 201, "")
	if g := f.requests("GET /reg/p/data/") - getsBefore; g != 0 {
		t.Fatalf("the final PUT read the blob back %d times", g)
	}
	if left := f.keys("p/uploads/"); len(left) != 0 {
		t.Fatalf("session objects left: %v", left)
	}
	for range 2 { // both replicas serve it
		r = do(t, "GET", lb.URL+"/v2/team/app/blobs/"+d.String(), nil)
		if r.StatusCode != 200 || !bytes.Equal(r.body, data) {
			t.Fatalf("GET blob: %d, %d bytes", r.StatusCode, len(r.body))
		}
		r = do(t, "GET", lb.URL+"/v2/team/app/blobs/"+d.String(), nil, "Range", "bytes=200000-")
		if r.StatusCode != 206 || !bytes.Equal(r.body, data[200000:]) {
			t.Fatalf("ranged GET blob: %d, %d bytes", r.StatusCode, len(r.body))
		}
	}

	// A wrong digest is refused, and the session (on the bucket) can still be finished.
	r = do(t, "POST", lb.URL+"/v2/team/app/blobs/uploads/", nil)
	loc = lb.URL + r.Header.Get("Location")
	small := []byte("small blob")
	expect(t, do(t, "PATCH", loc, small), 202, "")
	expect(t, do(t, "PUT", loc+"?digest="+digest.FromString("other").String(), nil), 400, "DIGEST_INVALID")
	expect(t, do(t, "PUT", loc+"?digest="+digest.FromBytes(small).String(), nil), 201, "")

	// Cancel on one replica; the session is gone for the other.
	r = do(t, "POST", lb.URL+"/v2/team/app/blobs/uploads/", nil)
	loc = lb.URL + r.Header.Get("Location")
	expect(t, do(t, "PATCH", loc, data[:100<<10]), 202, "")
	expect(t, do(t, "DELETE", loc, nil), 204, "")
	expect(t, do(t, "GET", loc, nil), 404, "BLOB_UPLOAD_UNKNOWN")
	f.mu.Lock()
	open := len(f.uploads)
	f.mu.Unlock()
	if open != 0 || len(f.keys("p/uploads/")) != 0 {
		t.Fatalf("cancel left %d multipart uploads and %v", open, f.keys("p/uploads/"))
	}

	// A whole image pushed and pulled through the balancer (go-containerregistry's client).
	img := randomImage(t, 200<<10, 3, "replicated")
	if err := remote.Write(ref(t, lb, "team/img:1"), img); err != nil {
		t.Fatal(err)
	}
	id, _ := img.Digest()
	pullAndVerify(t, ref(t, lb, "team/img:1"), id)
	r = do(t, "GET", lb.URL+"/v1/search?q=team", nil)
	if !strings.Contains(string(r.body), `"description":"replicated"`) {
		t.Fatalf("search: %s", r.body)
	}
}

func rangeOf(off, n int) string { return fmt.Sprintf("%d-%d", off, off+n-1) }

// An unreachable or failing bucket is a 503 UNAVAILABLE, never a 404.
func TestS3OutageIsUnavailable(t *testing.T) {
	defer func(d time.Duration) { s3RetryUnit = d }(s3RetryUnit)
	s3RetryUnit = time.Millisecond
	f, lb, _ := fakeReplicas(t, 1)
	img := randomImage(t, 10<<10, 1, "")
	if err := remote.Write(ref(t, lb, "app:1"), img); err != nil {
		t.Fatal(err)
	}
	id, _ := img.Digest()
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	for _, m := range []string{"GET", "HEAD"} {
		f.mu.Lock()
		f.fail["HEAD"], f.fail["GET"] = 1000, 1000
		f.mu.Unlock()
		for _, p := range []string{"/v2/app/manifests/1", "/v2/app/manifests/" + id.String(), "/v2/app/blobs/" + ld.String(), "/v2/app/tags/list", "/v2/_catalog"} {
			r := do(t, m, lb.URL+p, nil)
			if r.StatusCode != 503 || (m == "GET" && r.errCode() != "UNAVAILABLE") || r.Header.Get("Retry-After") == "" {
				t.Fatalf("%s %s with S3 failing: %d %s", m, p, r.StatusCode, r.body)
			}
		}
		f.mu.Lock()
		f.fail["HEAD"], f.fail["GET"] = 0, 0
		f.mu.Unlock()
		pullAndVerify(t, ref(t, lb, "app:1"), id)
	}
	r := do(t, "GET", lb.URL+"/v2/app/blobs/"+ld.String(), nil)
	if r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	// A push while S3 throttles every PUT: 503, nothing half-written visible.
	f.mu.Lock()
	f.fail["PUT"] = 1000
	f.mu.Unlock()
	r = do(t, "POST", lb.URL+"/v2/app/blobs/uploads/?digest="+digest.FromString("x").String(), []byte("x"))
	expect(t, r, 503, "UNAVAILABLE")
	expect(t, do(t, "HEAD", lb.URL+"/v2/app/blobs/"+digest.FromString("x").String(), nil), 404, "")
}

// Token auth over S3 needs a shared key, and forwarded headers count only from trusted proxies.
func TestReplicaSettings(t *testing.T) {
	f, endpoint := newFakeS3(t, "reg")
	cfg := &S3Config{Endpoint: endpoint, Bucket: "reg", Insecure: true, CreateBucket: true,
		AccessKey: f.accessKey, SecretKey: f.secretKey, Region: "us-east-1"}
	hp := writeHtpasswd(t, map[string]string{"alice": "secret"})
	_, err := New(Config{S3: cfg, Htpasswd: hp, Auth: AuthConfig{Token: &TokenConfig{}}})
	if err == nil || !strings.Contains(err.Error(), "auth.token.key") || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("token auth without a key on S3: %v", err)
	}
	if _, err := New(Config{S3: cfg, TrustedProxies: []string{"not-an-ip"}}); err == nil {
		t.Fatal("bad trusted proxy accepted")
	}
	s, err := New(Config{S3: cfg, Htpasswd: hp, TrustedProxies: []string{"127.0.0.0/8"},
		Auth: AuthConfig{Token: &TokenConfig{Key: "shared"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServerFor(t, s)
	r := do(t, "GET", ts.URL+"/v2/", nil, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "registry.example.com")
	if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `realm="https://registry.example.com/token"`) {
		t.Fatalf("challenge behind a trusted proxy: %s", got)
	}
	s2, err := New(Config{S3: cfg, Htpasswd: hp, TrustedProxies: []string{"10.0.0.1"},
		Auth: AuthConfig{Token: &TokenConfig{Key: "shared"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := newTestServerFor(t, s2)
	r = do(t, "GET", ts2.URL+"/v2/", nil, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example.com")
	if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `realm="http://`+host(ts2)+`/token"`) {
		t.Fatalf("forwarded headers from an untrusted client were believed: %s", got)
	}
	// A token from one replica is good on the other (same key).
	tok := do(t, "GET", ts.URL+"/token?scope=repository:a:pull,push&service=berth-registry", nil, "Authorization", basic("alice", "secret"))
	var tr struct{ Token string }
	if err := json.Unmarshal(tok.body, &tr); err != nil || tr.Token == "" {
		t.Fatalf("token: %s", tok.body)
	}
	r = do(t, "POST", ts2.URL+"/v2/a/blobs/uploads/", nil, "Authorization", "Bearer "+tr.Token,
		"X-Forwarded-Proto", "https", "X-Forwarded-Host", "registry.example.com")
	expect(t, r, 202, "")
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/v2/a/blobs/uploads/") {
		t.Fatalf("Location from an untrusted client's headers: %s", loc)
	}
	r = do(t, "POST", ts.URL+"/v2/a/blobs/uploads/", nil, "Authorization", "Bearer "+tr.Token,
		"X-Forwarded-Proto", "https", "X-Forwarded-Host", "registry.example.com")
	expect(t, r, 202, "")
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "https://registry.example.com/v2/a/blobs/uploads/") {
		t.Fatalf("Location behind a trusted proxy: %s", loc)
	}
}

// The catalog and tag lists read one page from S3 per request.
func TestS3CatalogPages(t *testing.T) {
	f, lb, servers := fakeReplicas(t, 1)
	st := servers[0].store.(*s3Store)
	ctx := context.Background()
	names := []string{"a", "a-b", "a.b", "a/b", "a/b/c", "a0", "a_b", "b", "z/y"}
	for _, n := range names {
		if err := st.index(ctx, n); err != nil {
			t.Fatal(err)
		}
		for _, tag := range []string{"v1", "v2", "v3"} {
			if err := st.put(ctx, st.tagKey(n, tag), []byte(digest.FromString(n).String())); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	next := "/v2/_catalog?n=2"
	for next != "" {
		before := f.requests("GET /reg?")
		r := do(t, "GET", lb.URL+next, nil)
		expect(t, r, 200, "")
		if n := f.requests("GET /reg?") - before; n != 1 {
			t.Fatalf("%s: %d listings", next, n)
		}
		var c struct{ Repositories []string }
		json.Unmarshal(r.body, &c)
		got = append(got, c.Repositories...)
		next = ""
		if l := r.Header.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("catalog pages: %v, want %v", got, names)
	}
	r := do(t, "GET", lb.URL+"/v2/a/b/tags/list?n=2&last=v1", nil)
	if string(r.body) != `{"name":"a/b","tags":["v2","v3"]}` || r.Header.Get("Link") != "" {
		t.Fatalf("tags page: %s (Link %q)", r.body, r.Header.Get("Link"))
	}
	r = do(t, "GET", lb.URL+"/v2/a/b/tags/list?n=1", nil)
	if string(r.body) != `{"name":"a/b","tags":["v1"]}` || !strings.Contains(r.Header.Get("Link"), "last=v1") {
		t.Fatalf("tags page: %s (Link %q)", r.body, r.Header.Get("Link"))
	}
	expect(t, do(t, "GET", lb.URL+"/v2/nope/tags/list", nil), 404, "NAME_UNKNOWN")
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// A write that references a blob a running collection condemned waits for the collector's
// decision: refused cleanly if the blob went, stored if it was kept. Its pending record tells
// the collector what it is about to reference.
func TestS3WriterWaitsForCondemnedBlob(t *testing.T) {
	defer func(d time.Duration) { s3GCPoll = d }(s3GCPoll)
	s3GCPoll = 5 * time.Millisecond
	f, lb, servers := fakeReplicas(t, 1)
	st := servers[0].store.(*s3Store)
	ctx := context.Background()
	cfgD := pushBlob(t, lb, "w/app", []byte(`{"architecture":"amd64","os":"linux"}`))
	for _, deleted := range []bool{true, false} {
		layer := []byte(fmt.Sprintf("layer deleted=%v", deleted))
		ld := pushBlob(t, lb, "w/app", layer)
		state, _ := json.Marshal(s3GCState{Started: time.Now(), Expires: time.Now().Add(time.Hour), Condemned: []digest.Digest{ld}})
		if err := st.put(ctx, st.gcStateKey(), state); err != nil {
			t.Fatal(err)
		}
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":37},`+
			`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`, cfgD, ld, len(layer))
		res := make(chan apiResp, 1)
		go func() {
			res <- do(t, "PUT", lb.URL+"/v2/w/app/manifests/t", []byte(m), "Content-Type", "application/vnd.oci.image.manifest.v1+json")
		}()
		deadline := time.Now().Add(20 * time.Second)
		for len(f.keys("p/gc/pending/")) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no pending record while a collection runs")
			}
			time.Sleep(5 * time.Millisecond)
		}
		select {
		case r := <-res:
			t.Fatalf("the write went ahead with its blob condemned: %d %s", r.StatusCode, r.body)
		default:
		}
		if b, _ := st.get(ctx, f.keys("p/gc/pending/")[0]); !strings.Contains(string(b), ld.String()) {
			t.Fatalf("pending record %q does not name %s", b, ld)
		}
		if deleted {
			st.del(ctx, st.blobKey(ld))
		}
		st.del(ctx, st.gcStateKey())
		r := <-res
		if deleted {
			expect(t, r, 400, "MANIFEST_BLOB_UNKNOWN")
		} else {
			expect(t, r, 201, "")
		}
		if left := f.keys("p/gc/pending/"); len(left) != 0 {
			t.Fatalf("pending records left: %v", left)
		}
	}
}

// The catalog index keys sort as the names do and give the names back.
func FuzzRepoIndexCode(f *testing.F) {
	for _, s := range [][2]string{{"a", "a-b"}, {"a.b", "a/b"}, {"a/b", "a0"}, {"a_b", "a/b/c"}, {"team/app-1", "team/app.1"}, {"x__y", "x-y"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !ValidName(a) || !ValidName(b) {
			return
		}
		ca, cb := repoIndexCode(a), repoIndexCode(b)
		if strings.Contains(ca, "/") || repoIndexName(ca) != a {
			t.Fatalf("%q coded %q", a, ca)
		}
		if strings.Compare(a, b) != strings.Compare(ca, cb) {
			t.Fatalf("%q, %q sort unlike their codes %q, %q", a, b, ca, cb)
		}
	})
}

// --delete-untagged on S3: manifests no tag reaches go with their blobs; tagged images, the
// children of a tagged index and the referrers of kept manifests stay.
func TestS3GCDeleteUntagged(t *testing.T) {
	defer func(a, b time.Duration) { s3WriteWindow, s3GCMargin = a, b }(s3WriteWindow, s3GCMargin)
	s3WriteWindow, s3GCMargin = 10*time.Millisecond, 10*time.Millisecond
	_, lb, servers := fakeReplicas(t, 1)
	st := servers[0].store.(*s3Store)
	ctx := context.Background()
	tagged := randomImage(t, 2<<10, 1, "")
	if err := remote.Write(ref(t, lb, "u/app:1"), tagged); err != nil {
		t.Fatal(err)
	}
	untagged := randomImage(t, 2<<10, 2, "")
	ud, _ := untagged.Digest()
	if err := remote.Write(ref(t, lb, "u/app@"+ud.String()), untagged); err != nil {
		t.Fatal(err)
	}
	idx, _ := random.Index(1<<10, 1, 2)
	if err := remote.WriteIndex(ref(t, lb, "u/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	rep, err := gcS3(ctx, st, GCOptions{DeleteUntagged: true, Grace: time.Hour, UploadExpiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Manifests != 1 || rep.Blobs != 4 { // the manifest, its config and two layers
		t.Fatalf("%+v", rep)
	}
	expect(t, do(t, "GET", lb.URL+"/v2/u/app/manifests/"+ud.String(), nil), 404, "MANIFEST_UNKNOWN")
	td, _ := tagged.Digest()
	pullAndVerify(t, ref(t, lb, "u/app:1"), td)
	if _, err := remote.Index(ref(t, lb, "u/multi:1")); err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		pullAndVerify(t, ref(t, lb, "u/multi@"+m.Digest.String()), m.Digest)
	}
}
