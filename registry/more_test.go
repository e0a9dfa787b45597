package registry

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// An upload session survives a restart of the server: its state is rebuilt from its file.
func TestUploadResumesAfterRestart(t *testing.T) {
	storage := t.TempDir()
	_, a := newTestServer(t, Config{Storage: storage})
	data := []byte(strings.Repeat("0123456789", 100))
	r := do(t, "POST", a.URL+"/v2/resume/blobs/uploads/", nil)
	expect(t, r, 202, "")
	loc := r.Header.Get("Location")
	expect(t, do(t, "PATCH", a.URL+loc, data[:400], "Content-Range", "0-399"), 202, "")
	a.Close()
	_, b := newTestServer(t, Config{Storage: storage})
	r = do(t, "GET", b.URL+loc, nil)
	expect(t, r, 204, "")
	if r.Header.Get("Range") != "0-399" {
		t.Fatalf("Range after restart %q", r.Header.Get("Range"))
	}
	expect(t, do(t, "PATCH", b.URL+loc, data[400:], "Content-Range", "400-999"), 202, "")
	d := digest.FromBytes(data)
	expect(t, do(t, "PUT", b.URL+loc+"?digest="+d.String(), nil), 201, "")
	if got := do(t, "GET", b.URL+"/v2/resume/blobs/"+d.String(), nil).body; !bytes.Equal(got, data) {
		t.Fatal("resumed blob differs")
	}
}

func TestManifestMediaTypes(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	cfg := pushBlob(t, ts, "mt/x", []byte("{}"))
	// No mediaType field: the Content-Type is remembered.
	m := []byte(fmt.Sprintf(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":2},"layers":[]}`, cfg))
	expect(t, do(t, "PUT", ts.URL+"/v2/mt/x/manifests/bare", m, "Content-Type", mtOCIManifest), 201, "")
	r := do(t, "GET", ts.URL+"/v2/mt/x/manifests/bare", nil)
	expect(t, r, 200, "")
	if r.Header.Get("Content-Type") != mtOCIManifest || !bytes.Equal(r.body, m) || r.Header.Get("Docker-Content-Digest") != digest.FromBytes(m).String() {
		t.Fatalf("bare manifest: %v %s", r.Header, r.body)
	}
	// A mediaType field contradicting the Content-Type is refused.
	m2 := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"x","digest":%q,"size":2},"layers":[]}`, mtDockerManifest, cfg))
	expect(t, do(t, "PUT", ts.URL+"/v2/mt/x/manifests/bad", m2, "Content-Type", mtOCIManifest), 400, "MANIFEST_INVALID")
	expect(t, do(t, "PUT", ts.URL+"/v2/mt/x/manifests/bad", m2, "Content-Type", mtDockerManifest), 201, "")
	// sha512 by digest, tagged with the tag parameter: the tag resolves to the sha512 digest.
	d512 := digest.SHA512.FromBytes(m)
	r = do(t, "PUT", ts.URL+"/v2/mt/x/manifests/"+d512.String()+"?tag=five12&tag=other", m, "Content-Type", mtOCIManifest)
	expect(t, r, 201, "")
	if tags := r.Header.Values("OCI-Tag"); strings.Join(tags, ",") != "five12,other" {
		t.Fatalf("OCI-Tag %v", tags)
	}
	r = do(t, "HEAD", ts.URL+"/v2/mt/x/manifests/five12", nil)
	if r.Header.Get("Docker-Content-Digest") != d512.String() {
		t.Fatalf("tag of a sha512 manifest resolves to %q", r.Header.Get("Docker-Content-Digest"))
	}
	// The same tag moved to the sha256 manifest resolves to that one.
	expect(t, do(t, "PUT", ts.URL+"/v2/mt/x/manifests/five12", m, "Content-Type", mtOCIManifest), 201, "")
	r = do(t, "HEAD", ts.URL+"/v2/mt/x/manifests/five12", nil)
	if r.Header.Get("Docker-Content-Digest") != digest.FromBytes(m).String() {
		t.Fatalf("moved tag resolves to %q", r.Header.Get("Docker-Content-Digest"))
	}
	expect(t, do(t, "PUT", ts.URL+"/v2/mt/x/manifests/x?tag=bad/tag", m, "Content-Type", mtOCIManifest), 400, "TAG_INVALID")
	expect(t, do(t, "PUT", ts.URL+"/v2/mt/x/manifests/v1", []byte(`{"schemaVersion":1}`), "Content-Type", mtDockerSchema1), 400, "MANIFEST_INVALID")
}

func TestTokenPasswordGrant(t *testing.T) {
	hp := writeHtpasswd(t, map[string]string{"ci": "pw"})
	_, ts := newTestServer(t, Config{Htpasswd: hp, Auth: AuthConfig{Token: &TokenConfig{}}})
	form := url.Values{"grant_type": {"password"}, "username": {"ci"}, "password": {"pw"},
		"service": {"berth-registry"}, "scope": {"repository:a/b:pull,push"}}
	resp, err := http.PostForm(ts.URL+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" || tok.ExpiresIn != 300 {
		t.Fatalf("token: %d %+v", resp.StatusCode, tok)
	}
	expect(t, do(t, "POST", ts.URL+"/v2/a/b/blobs/uploads/", nil, "Authorization", "Bearer "+tok.AccessToken), 202, "")
	form.Set("password", "wrong")
	resp, _ = http.PostForm(ts.URL+"/token", form)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	// Anonymous clients may not even ping: `docker login` relies on that 401.
	expect(t, do(t, "GET", ts.URL+"/v2/", nil), 401, "UNAUTHORIZED")
	expect(t, do(t, "GET", ts.URL+"/v2/", nil, "Authorization", "Bearer "+tok.AccessToken), 200, "")
}

func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return
}

func TestServeTLS(t *testing.T) {
	cert, key := selfSignedCert(t)
	p := startServe(t, "--storage", t.TempDir(), "--tls-cert", cert, "--tls-key", key, "-q")
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + p.addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Fatalf("https ping: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(p.logText(), "listening on https://") {
		t.Fatalf("log: %s", p.logText())
	}
}

// Abandoned upload sessions keep no file open.
func TestAbandonedUploadsHoldNoDescriptor(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	for range 20 {
		r := do(t, "POST", ts.URL+"/v2/fd/blobs/uploads/", nil)
		expect(t, r, 202, "")
		expect(t, do(t, "PATCH", ts.URL+r.Header.Get("Location"), []byte("abc")), 202, "")
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(target, s.cfg.Storage) {
			t.Errorf("descriptor %s still open on %s", e.Name(), target)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"storage": "/srv/reg", "maxBlobSize": 1024,
		"auth": {"anonymousPull": true, "token": {"service": "svc", "expiry": "15m"},
		         "rules": [{"repository": "team/**", "users": ["alice"], "actions": ["pull", "push"]}]},
		"proxy": {"url": "https://upstream.example", "tagTTL": "1h"}}`), 0o644)
	c, err := LoadConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage != "/srv/reg" || c.MaxBlobSize != 1024 || !c.Auth.AnonymousPull || c.Auth.Token.Service != "svc" ||
		time.Duration(c.Auth.Token.Expiry) != 15*time.Minute || c.Auth.Rules[0].Users[0] != "alice" ||
		time.Duration(c.Proxy.TagTTL) != time.Hour {
		t.Fatalf("config: %+v", c)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"storage": "/srv/reg", "maxBlobSise": 1}`), 0o644)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "maxBlobSise") {
		t.Fatalf("a misspelt field was accepted: %v", err)
	}
	os.WriteFile(bad, []byte(`{"auth": {"token": {"expiry": 300}}}`), 0o644)
	if _, err := LoadConfig(bad); err == nil {
		t.Fatal("a number was accepted as a duration")
	}
}
