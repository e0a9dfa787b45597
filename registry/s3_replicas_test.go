package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// newS3Server opens a registry on the bucket, waiting for a SeaweedFS that just started.
func newS3Server(t *testing.T, cfg S3Config) *Server {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := New(Config{S3: &cfg})
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestS3Replicas: two registry replicas over one SeaweedFS bucket behind a round-robin balancer.
// A push whose requests alternate replicas (chunked, in parts); SeaweedFS killed mid-run gives
// 503s, and the registry carries on when it is back, the session started before included.
func TestS3Replicas(t *testing.T) {
	w := startWeed(t)
	cfg := *s3Config(w.endpoint)
	cfg.Bucket = "replicas"
	a, b := newS3Server(t, cfg), newS3Server(t, cfg)
	lb, _ := roundRobin(t, newTestServerFor(t, a).URL, newTestServerFor(t, b).URL)

	// 21 MB in 3 MB chunks: two 8 MiB parts stream into S3 while the chunks arrive.
	data := make([]byte, 21<<20+3)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	d := digest.FromBytes(data)
	r := do(t, "POST", lb.URL+"/v2/rep/big/blobs/uploads/", nil)
	expect(t, r, 202, "")
	loc := lb.URL + r.Header.Get("Location")
	off := 0
	for off+3<<20 < len(data) {
		expect(t, do(t, "PATCH", loc, data[off:off+3<<20], "Content-Range", rangeOf(off, 3<<20)), 202, "")
		off += 3 << 20
	}
	r = do(t, "GET", loc, nil)
	expect(t, r, 204, "")
	if r.Header.Get("Range") != rangeOf(0, off) {
		t.Fatalf("status: %s", r.Header.Get("Range"))
	}
	expect(t, do(t, "PUT", loc+"?digest="+d.String(), data[off:], "Content-Range", rangeOf(off, len(data)-off)), 201, "")
	for range 2 {
		r = do(t, "GET", lb.URL+"/v2/rep/big/blobs/"+d.String(), nil)
		if r.StatusCode != 200 || !bytes.Equal(r.body, data) {
			t.Fatalf("GET: %d, %d bytes", r.StatusCode, len(r.body))
		}
	}
	st := a.store.(*s3Store)
	if info, ok, err := st.stat(context.Background(), st.blobKey(d)); !ok || err != nil || info.Meta[metaData] == "" {
		t.Fatalf("a blob uploaded in parts should point at its multipart data: %v %v %v", info, ok, err)
	}

	img := randomImage(t, 300<<10, 3, "two replicas")
	if err := remote.Write(ref(t, lb, "rep/app:1"), img); err != nil {
		t.Fatal(err)
	}
	id, _ := img.Digest()
	pullAndVerify(t, ref(t, lb, "rep/app:1"), id)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()

	// A session started before the outage.
	r = do(t, "POST", lb.URL+"/v2/rep/app/blobs/uploads/", nil)
	loc = lb.URL + r.Header.Get("Location")
	expect(t, do(t, "PATCH", loc, data[:1000]), 202, "")

	defer func(d time.Duration) { s3RetryUnit = d }(s3RetryUnit)
	s3RetryUnit = 20 * time.Millisecond
	w.stop()
	for _, c := range []struct{ method, path string }{
		{"GET", "/v2/rep/app/manifests/1"}, {"HEAD", "/v2/rep/app/manifests/" + id.String()},
		{"GET", "/v2/rep/app/blobs/" + ld.String()}, {"HEAD", "/v2/rep/app/blobs/" + ld.String()},
		{"GET", "/v2/rep/app/tags/list"}, {"GET", "/v2/_catalog"}, {"GET", "/v1/search?q=rep"},
		{"GET", strings.TrimPrefix(loc, lb.URL)}, {"PATCH", strings.TrimPrefix(loc, lb.URL)},
		{"POST", "/v2/rep/app/blobs/uploads/"},
	} {
		r := do(t, c.method, lb.URL+c.path, []byte("x"))
		if r.StatusCode != 503 || c.method != "HEAD" && r.errCode() != "UNAVAILABLE" {
			t.Fatalf("%s %s with S3 down: %d %s", c.method, c.path, r.StatusCode, r.body)
		}
	}
	if err := remote.Write(ref(t, lb, "rep/down:1"), randomImage(t, 1<<10, 1, "")); err == nil {
		t.Fatal("push with S3 down succeeded")
	}
	w.start()
	deadline := time.Now().Add(60 * time.Second)
	for do(t, "GET", lb.URL+"/v2/rep/app/manifests/1", nil).StatusCode != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the registry did not recover with S3 back")
		}
		time.Sleep(500 * time.Millisecond)
	}
	pullAndVerify(t, ref(t, lb, "rep/app:1"), id)
	expect(t, do(t, "PATCH", loc, data[1000:2000], "Content-Range", rangeOf(1000, 1000)), 202, "")
	expect(t, do(t, "PUT", loc+"?digest="+digest.FromBytes(data[:2000]).String(), nil), 201, "")
	img2 := randomImage(t, 10<<10, 1, "")
	if err := remote.Write(ref(t, lb, "rep/down:1"), img2); err != nil {
		t.Fatal(err)
	}
}

// TestS3GCDuringPushes: a collection runs while replicas take pushes, some of which reference
// old unreferenced blobs the collection condemns. Nothing a push was told is stored is lost;
// the garbage goes.
func TestS3GCDuringPushes(t *testing.T) {
	w := startWeed(t)
	cfg := *s3Config(w.endpoint)
	cfg.Bucket = "collect"
	defer func(a, b, c time.Duration) { s3WriteWindow, s3GCMargin, s3GCPoll = a, b, c }(s3WriteWindow, s3GCMargin, s3GCPoll)
	a, b := newS3Server(t, cfg), newS3Server(t, cfg)
	lb, _ := roundRobin(t, newTestServerFor(t, a).URL, newTestServerFor(t, b).URL)
	st := a.store.(*s3Store)
	ctx := context.Background()

	// Garbage: orphan blobs, and the layers of an image whose manifest is deleted.
	var orphans []digest.Digest
	for i := range 4 {
		orphans = append(orphans, pushBlob(t, lb, "gc/old", []byte(fmt.Sprintf("orphan %d", i))))
	}
	gone := randomImage(t, 20<<10, 2, "")
	if err := remote.Write(ref(t, lb, "gc/gone:1"), gone); err != nil {
		t.Fatal(err)
	}
	goneID, _ := gone.Digest()
	expect(t, do(t, "DELETE", lb.URL+"/v2/gc/gone/manifests/"+goneID.String(), nil), 202, "")
	kept := randomImage(t, 20<<10, 2, "")
	if err := remote.Write(ref(t, lb, "gc/kept:1"), kept); err != nil {
		t.Fatal(err)
	}
	// A short write window, so the collection waits seconds, not 40 s (SeaweedFS is warm now:
	// its first writes allocate volumes and can take longer).
	s3WriteWindow, s3GCMargin, s3GCPoll = 5*time.Second, time.Second, 50*time.Millisecond
	const grace = 4 * time.Second
	time.Sleep(grace + time.Second)

	// Pushes while the collection runs; half of them reuse an orphan as a layer.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var images = map[string]v1.Hash{}
	var pushErrs []error
	stop := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				img := randomImage(t, 8<<10, 1, "")
				if n%2 == 0 {
					o := orphans[(i+n)%len(orphans)]
					l := static.NewLayer([]byte(fmt.Sprintf("orphan %d", (i+n)%len(orphans))), types.OCIUncompressedLayer)
					if ld, _ := l.Digest(); ld.String() != o.String() {
						panic("orphan layer digest")
					}
					var err error
					if img, err = mutate.AppendLayers(img, l); err != nil {
						panic(err)
					}
				}
				name := fmt.Sprintf("gc/new%d:%d", i, n)
				err := remote.Write(ref(t, lb, name), img)
				var te *transport.Error
				if errors.As(err, &te) && te.StatusCode == 400 && strings.Contains(err.Error(), "MANIFEST_BLOB_UNKNOWN") {
					// The collection deleted a condemned layer this push relied on: the
					// registry refused the manifest cleanly; pushing again uploads it.
					err = remote.Write(ref(t, lb, name), img)
				}
				d, _ := img.Digest()
				mu.Lock()
				if err != nil {
					pushErrs = append(pushErrs, fmt.Errorf("%s: %w", name, err))
				} else {
					images[name] = d
				}
				mu.Unlock()
			}
		}()
	}
	var logb bytes.Buffer
	rep, err := gcS3(ctx, st, GCOptions{Grace: grace, UploadExpiry: time.Hour, DeleteUntagged: true, Log: &logb})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gc: %+v\n%s", rep, logb.String())
	for _, e := range pushErrs {
		t.Error(e)
	}
	if len(images) < 4 {
		t.Fatalf("only %d pushes during the collection", len(images))
	}
	for name, d := range images {
		if err := verifyPull(ref(t, lb, name), d); err != nil {
			t.Errorf("%s lost by the collection: %v", name, err)
		}
	}
	keptID, _ := kept.Digest()
	pullAndVerify(t, ref(t, lb, "gc/kept:1"), keptID)
	goneLayers, _ := gone.Layers()
	for _, l := range goneLayers {
		ld, _ := l.Digest()
		if ok, err := st.blobExists(ctx, digest.Digest(ld.String())); ok || err != nil {
			t.Errorf("layer %s of a deleted image survived (%v)", ld, err)
		}
	}
	if rep.Blobs < len(goneLayers) {
		t.Errorf("collected %d blobs", rep.Blobs)
	}
	if ok, _ := st.has(ctx, st.gcStateKey()); ok {
		t.Error("gc/state left behind")
	}

	// Upload expiry: a session idle longer than UploadExpiry goes, with its multipart upload.
	r := do(t, "POST", lb.URL+"/v2/gc/up/blobs/uploads/", nil)
	loc := lb.URL + r.Header.Get("Location")
	expect(t, do(t, "PATCH", loc, bytes.Repeat([]byte("u"), 9<<20)), 202, "")
	time.Sleep(1100 * time.Millisecond)
	rep, err = gcS3(ctx, st, GCOptions{Grace: time.Hour, UploadExpiry: time.Second})
	if err != nil || rep.Uploads != 1 {
		t.Fatalf("expiry: %+v %v", rep, err)
	}
	expect(t, do(t, "GET", loc, nil), 404, "BLOB_UPLOAD_UNKNOWN")
}

// TestS3ReplicasConformance runs the OCI conformance suite through a round-robin balancer in
// front of two `berth registry serve` processes over one SeaweedFS bucket: 0 FAIL, as on one.
func TestS3ReplicasConformance(t *testing.T) {
	if os.Getenv("BERTH_CONFORMANCE") != "1" {
		t.Skip("set BERTH_CONFORMANCE=1 (and BERTH_WEED) to run the conformance suite on S3 replicas")
	}
	endpoint := weedS3(t)
	suite := buildConformance(t)
	cfg := filepath.Join(t.TempDir(), "s3.json")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`{"s3": {"endpoint": %q, "bucket": "replicas", "insecure": true,
		"createBucket": true, "accessKey": %q, "secretKey": %q, "region": "us-east-1"}}`, endpoint, weedAccessKey, weedSecretKey)), 0o644)
	var procs []*serveProc
	deadline := time.Now().Add(30 * time.Second)
	for len(procs) < 2 {
		p := tryStartServe(t, "--config", cfg, "-q")
		if p != nil {
			procs = append(procs, p)
			continue
		}
		if time.Now().After(deadline) {
			t.Fatal("berth registry serve on S3 did not start")
		}
		time.Sleep(500 * time.Millisecond)
	}
	lb, n := roundRobin(t, "http://"+procs[0].addr, "http://"+procs[1].addr)
	runConformanceAt(t, suite, host(lb), func() string { return procs[0].logText() + procs[1].logText() }, conformanceVersion, 0)
	t.Logf("%d requests alternated between the two replicas", n.Load())

	// `berth registry gc` on the same bucket, as the operator runs it (a dry run: the real one
	// waits for the write window, which TestS3GCDuringPushes covers). The suite deletes what it
	// pushed: push an image for the collection to find in use.
	if err := remote.Write(ref(t, lb, "gc/kept:1"), randomImage(t, 4<<10, 2, "")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(berth(t), "registry", "gc", "--config", cfg, "--dry-run").CombinedOutput()
	if err != nil || !regexp.MustCompile(`^\d+ blobs \(\d+ bytes\), 0 manifests, \d+ upload sessions would be deleted; [1-9]\d* blobs in use\n$`).Match(out) {
		t.Fatalf("registry gc --config: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
