package distribution

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

const registryBin = "/usr/bin/docker-registry"

type registryConfig struct {
	user, password string // htpasswd auth when set
	tls            bool
}

type testRegistry struct {
	Host     string // 127.0.0.1:PORT
	CertsDir string // with HOST/ca.crt when TLS
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRegistry runs Debian's docker-registry (CNCF distribution) on 127.0.0.1 for one test.
func startRegistry(t *testing.T, rc registryConfig) *testRegistry {
	t.Helper()
	if _, err := os.Stat(registryBin); err != nil {
		t.Skipf("%s is not installed (Debian package docker-registry); skipping the registry test", registryBin)
	}
	dir := t.TempDir()
	host := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: %s
`, dir, host)
	tr := &testRegistry{Host: host}
	if rc.tls {
		certPEM, keyPEM := selfSignedCert(t)
		os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
		os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
		cfg += fmt.Sprintf("  tls:\n    certificate: %s/cert.pem\n    key: %s/key.pem\n", dir, dir)
		tr.CertsDir = filepath.Join(dir, "certs.d")
		os.MkdirAll(filepath.Join(tr.CertsDir, host), 0o755)
		os.WriteFile(filepath.Join(tr.CertsDir, host, "ca.crt"), certPEM, 0o644)
	}
	if rc.user != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(rc.password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(rc.user+":"+string(h)+"\n"), 0o600)
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s/htpasswd\n", dir)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(registryBin, "serve", cfgPath)
	logf, _ := os.Create(filepath.Join(dir, "registry.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	scheme := "http"
	if rc.tls {
		scheme = "https"
	}
	for i := 0; ; i++ {
		resp, err := client.Get(scheme + "://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("registry did not start: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return tr
}

func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "berth test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// seed pushes a random image (gzip layers of random files) to ref with go-containerregistry.
func seed(t *testing.T, ref string, layerSize int64, layers int64, opts ...remote.Option) v1.Image {
	t.Helper()
	img, err := random.Image(layerSize, layers)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatal(err)
	}
	return img
}

func openStore(t *testing.T) *image.Store {
	t.Helper()
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// events collects progress events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) count(status string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Status == status || strings.HasPrefix(ev.Status, status) {
			n++
		}
	}
	return n
}

func (e *events) lines() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		if ev.IsProgress() {
			continue
		}
		if ev.ID != "" {
			b.WriteString(ev.ID + ": ")
		}
		b.WriteString(ev.Status + "\n")
	}
	return b.String()
}

func testOptions(ev *events) Options {
	o := Options{Keychain: authn.NewMultiKeychain(), RetryDelay: 10 * time.Millisecond}
	if ev != nil {
		o.Progress = ev.add
	}
	return o
}

// faultProxy sits between berth and the registry and misbehaves on one blob on demand.
type faultProxy struct {
	Host        string
	target      atomic.Value // digest string of the blob to misbehave on
	corrupt     atomic.Bool  // flip a byte in the blob
	cutAfter    atomic.Int64 // > 0: end the first response after this many bytes
	slow        atomic.Bool  // dribble the blob out slowly
	rangeReqs   atomic.Int32 // Range requests seen for the target
	served      atomic.Int64 // bytes of the target sent
	cutsPending atomic.Int32
	fail503     atomic.Int32 // answer this many manifest requests with 503
	badManifest atomic.Bool  // alter manifests (valid JSON, another digest)
	failPut     atomic.Int32 // answer this many blob upload PUTs with 503
}

func startProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	u, _ := url.Parse("http://" + upstream)
	fp := &faultProxy{}
	fp.target.Store("")
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if fp.badManifest.Load() && resp.Request.Method == http.MethodGet && strings.Contains(resp.Request.URL.Path, "/manifests/") {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			b = append([]byte(" "), b...)
			resp.Body = io.NopCloser(strings.NewReader(string(b)))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
			return nil
		}
		d := fp.target.Load().(string)
		if d == "" || resp.Request.Method != http.MethodGet || !strings.HasSuffix(resp.Request.URL.Path, "/blobs/"+d) {
			return nil
		}
		if resp.Request.Header.Get("Range") != "" {
			fp.rangeReqs.Add(1)
		}
		body := &faultBody{rc: resp.Body, p: fp}
		if n := fp.cutAfter.Load(); n > 0 && fp.cutsPending.Load() > 0 {
			fp.cutsPending.Add(-1)
			body.cut = n
		}
		resp.Body = body
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && fp.fail503.Load() > 0 {
			fp.fail503.Add(-1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") && fp.failPut.Load() > 0 {
			fp.failPut.Add(-1)
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	fp.Host = strings.TrimPrefix(srv.URL, "http://")
	return fp
}

type faultBody struct {
	rc   io.ReadCloser
	p    *faultProxy
	n    int64
	cut  int64
	done bool
}

func (b *faultBody) Read(p []byte) (int, error) {
	if b.cut > 0 && b.n >= b.cut {
		return 0, fmt.Errorf("connection cut by the test proxy")
	}
	if b.cut > 0 && int64(len(p)) > b.cut-b.n {
		p = p[:b.cut-b.n]
	}
	if b.p.slow.Load() && len(p) > 16<<10 {
		p = p[:16<<10]
		time.Sleep(20 * time.Millisecond)
	}
	n, err := b.rc.Read(p)
	if b.p.corrupt.Load() && b.n <= 100 && b.n+int64(n) > 100 {
		p[100-b.n] ^= 0xff
	}
	b.n += int64(n)
	b.p.served.Add(int64(n))
	return n, err
}

func (b *faultBody) Close() error { return b.rc.Close() }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
