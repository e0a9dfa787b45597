package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// Credentials SeaweedFS is started with: it then checks every request's SigV4 signature.
const weedAccessKey, weedSecretKey = "berth-test", "berth-test/secret+key"

// weedS3 starts SeaweedFS (`weed server -s3`) on loopback ports and returns its S3 endpoint.
// The binary comes from $BERTH_WEED or PATH (registry/s3test.sh builds it from the Go module
// proxy); without it the S3 tests skip.
func weedS3(t *testing.T) string { return startWeed(t).endpoint }

// weed is a SeaweedFS server a test can stop and start again (same ports, same data).
type weed struct {
	t        *testing.T
	bin, dir string
	ports    []int
	endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
	logf     *os.File
}

func startWeed(t *testing.T) *weed {
	t.Helper()
	bin := os.Getenv("BERTH_WEED")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("weed"); err != nil {
			t.Skip("SeaweedFS not available: run registry/s3test.sh")
		}
	}
	w := &weed{t: t, bin: bin, dir: t.TempDir(), ports: freePorts(t, 8)}
	w.endpoint = "127.0.0.1:" + strconv.Itoa(w.ports[6])
	t.Cleanup(w.stop)
	w.start()
	return w
}

func (w *weed) start() {
	t := w.t
	t.Helper()
	p := func(i int) string { return strconv.Itoa(w.ports[i]) }
	cmd := exec.Command(w.bin, "server", "-dir="+w.dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+p(0), "-master.port.grpc="+p(1),
		"-volume.port="+p(2), "-volume.port.grpc="+p(3),
		"-filer", "-filer.port="+p(4), "-filer.port.grpc="+p(5),
		"-s3", "-s3.port="+p(6), "-s3.port.grpc="+p(7),
		"-volume.max=4", "-master.volumeSizeLimitMB=64")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+weedAccessKey, "AWS_SECRET_ACCESS_KEY="+weedSecretKey)
	logf, err := os.OpenFile(filepath.Join(w.dir, "weed.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	w.cmd, w.done, w.logf = cmd, done, logf
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("weed exited:\n%s", b)
		default:
		}
		// The S3 gateway answers (even 403/404) once the filer behind it is up.
		if resp, err := http.Get("http://" + w.endpoint + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("weed S3 did not start:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop kills the server (as an outage would).
func (w *weed) stop() {
	if w.cmd == nil {
		return
	}
	w.cmd.Process.Kill()
	<-w.done
	w.logf.Close()
	w.cmd = nil
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func s3Config(endpoint string) *S3Config {
	return &S3Config{Endpoint: endpoint, Bucket: "registry", Insecure: true, CreateBucket: true,
		AccessKey: weedAccessKey, SecretKey: weedSecretKey, Region: "us-east-1", Prefix: "test"}
}

func TestS3Backend(t *testing.T) {
	endpoint := weedS3(t)
	var s *Server
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The filer may need a moment before it accepts bucket creation.
		var err error
		s, err = New(Config{Storage: t.TempDir(), S3: s3Config(endpoint)})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	srv := newTestServerFor(t, s)
	img := randomImage(t, 300<<10, 3, "stored in S3")
	if err := remote.Write(ref(t, srv, "s3/app:1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	pullAndVerify(t, ref(t, srv, "s3/app:1"), d)
	idx, _ := random.Index(1024, 1, 2)
	if err := remote.WriteIndex(ref(t, srv, "s3/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Index(ref(t, srv, "s3/multi:1")); err != nil {
		t.Fatal(err)
	}
	// Ranged reads, chunked uploads, tags, catalog, deletes: the same API as on the filesystem.
	data := make([]byte, 5000)
	for i := range data {
		data[i] = byte(i)
	}
	r := do(t, "POST", srv.URL+"/v2/s3/chunks/blobs/uploads/", nil)
	loc := srv.URL + r.Header.Get("Location")
	expect(t, do(t, "PATCH", loc, data[:2000], "Content-Range", "0-1999"), 202, "")
	expect(t, do(t, "PATCH", loc, data[3000:], "Content-Range", "3000-4999"), 416, "")
	expect(t, do(t, "PATCH", loc, data[2000:], "Content-Range", "2000-4999"), 202, "")
	bd := digest.FromBytes(data)
	expect(t, do(t, "PUT", loc+"?digest="+bd.String(), nil), 201, "")
	r = do(t, "GET", srv.URL+"/v2/s3/chunks/blobs/"+bd.String(), nil, "Range", "bytes=4990-")
	if r.StatusCode != 206 || len(r.body) != 10 || r.body[0] != data[4990] {
		t.Fatalf("range: %d %v", r.StatusCode, r.body)
	}
	r = do(t, "GET", srv.URL+"/v2/_catalog", nil)
	if string(r.body) != `{"repositories":["s3/app","s3/chunks","s3/multi"]}` { // before the concurrent pushes
		t.Fatalf("catalog: %s", r.body)
	}
	r = do(t, "GET", srv.URL+"/v1/search?q=s3", nil)
	if !strings.Contains(string(r.body), `"description":"stored in S3"`) {
		t.Fatalf("search: %s", r.body)
	}
	expect(t, do(t, "DELETE", srv.URL+"/v2/s3/app/manifests/1", nil), 202, "")
	expect(t, do(t, "GET", srv.URL+"/v2/s3/app/manifests/1", nil), 404, "MANIFEST_UNKNOWN")
	expect(t, do(t, "GET", srv.URL+"/v2/s3/app/manifests/"+d.String(), nil), 200, "")
	expect(t, do(t, "DELETE", srv.URL+"/v2/s3/chunks/blobs/"+bd.String(), nil), 202, "")
	expect(t, do(t, "HEAD", srv.URL+"/v2/s3/chunks/blobs/"+bd.String(), nil), 404, "")

	// Concurrent pushes and pulls, same and different repositories.
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		img := randomImage(t, 20<<10, 2, "")
		r := ref(t, srv, fmt.Sprintf("s3/conc%d:%d", i%3, i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := remote.Write(r, img); err != nil {
				errs <- err
				return
			}
			d, _ := img.Digest()
			if err := verifyPull(r, d); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A second server on the same bucket (another machine) sees everything.
	s2, err := New(Config{Storage: t.TempDir(), S3: s3Config(endpoint)})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := newTestServerFor(t, s2)
	pullAndVerify(t, ref(t, srv2, "s3/app@"+d.String()), d)
}

// TestS3Conformance runs the OCI conformance suite against `berth registry serve` on S3.
func TestS3Conformance(t *testing.T) {
	if os.Getenv("BERTH_CONFORMANCE") != "1" {
		t.Skip("set BERTH_CONFORMANCE=1 (and BERTH_WEED) to run the conformance suite on S3")
	}
	endpoint := weedS3(t)
	suite := buildConformance(t)
	cfg := filepath.Join(t.TempDir(), "s3.json")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`{"s3": {"endpoint": %q, "bucket": "conformance", "insecure": true,
		"createBucket": true, "accessKey": %q, "secretKey": %q, "region": "us-east-1"}}`, endpoint, weedAccessKey, weedSecretKey)), 0o644)
	var p *serveProc
	deadline := time.Now().Add(30 * time.Second)
	for p == nil {
		p = tryStartServe(t, "--storage", t.TempDir(), "--config", cfg, "-q")
		if p == nil && time.Now().After(deadline) {
			t.Fatal("berth registry serve on S3 did not start")
		}
		if p == nil {
			time.Sleep(500 * time.Millisecond)
		}
	}
	runConformance(t, suite, p, conformanceVersion, 0)
}

// TestS3BigBlobs streams blobs of several MB into SeaweedFS, in one PUT and in parts, reads them
// back with ranged GETs, and lists over several pages.
func TestS3BigBlobs(t *testing.T) {
	ctx := context.Background()
	endpoint := weedS3(t)
	cfg := *s3Config(endpoint)
	cfg.Bucket, cfg.Region = "big", "" // the region is asked of the server (GetBucketLocation)
	var s *s3Store
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if s, err = newS3Store(cfg); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("signing region %q", s.c.region)

	// 12 MB in one PUT, signed with the digest as payload hash.
	name, data, d := writeBlob(t, 12<<20+7, digest.SHA256)
	if err := s.commitBlob(name, d, "big/app"); err != nil {
		t.Fatal(err)
	}
	checkBlobRanges(t, s, d, data)

	// 13 MB in 5 MB parts (the least S3 takes but for the last part), and a sha512 blob in parts.
	defer func(n int64) { s3PartSize = n }(s3PartSize)
	s3PartSize = 5 << 20
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		name, data, d := writeBlob(t, 13<<20+1, alg)
		if err := s.commitBlob(name, d, "big/app"); err != nil {
			t.Fatal(err)
		}
		checkBlobRanges(t, s, d, data)
		if info, ok, err := s.stat(ctx, s.blobKey(d)); !ok || err != nil || info.Size != int64(len(data)) {
			t.Fatal(info, ok, err)
		}
	}

	// Listings over several pages.
	s.c.maxKeys = 7
	var want []string
	for i := range 20 {
		tag := fmt.Sprintf("t%02d", i)
		want = append(want, tag)
		if err := s.put(ctx, s.tagKey("big/app", tag), []byte(d.String())); err != nil {
			t.Fatal(err)
		}
	}
	if tags, err := s.listTags(ctx, "big/app", "", -1); err != nil || !slices.Equal(tags, want) {
		t.Fatal(tags, err)
	}
	if repos, err := s.repositories(ctx, "", -1); err != nil || !slices.Equal(repos, []string{"big/app"}) {
		t.Fatal(repos, err)
	}

	// A wrong secret is refused, in one line.
	cfg.SecretKey = "wrong"
	_, err := newS3Store(cfg)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "(HTTP 403)") {
		t.Fatal(err)
	}
	t.Log(err)
}
