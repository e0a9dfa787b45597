package distribution

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func writeTar(t *testing.T, w io.Writer, files map[string]string) {
	t.Helper()
	tw := tar.NewWriter(w)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func emptyIndex() v1.ImageIndex { return empty.Index }

// dockerConfig points DOCKER_CONFIG at a fresh directory for the test and returns the file.
func dockerConfig(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	return filepath.Join(dir, "config.json")
}

// Basic auth behind TLS with a test-made certificate: login checks the password, stores it in
// Docker's format, pull and push use it, logout removes it.
func TestLoginTLSBasicAuth(t *testing.T) {
	reg := startRegistry(t, registryConfig{user: "alice", password: "s3cret", tls: true})
	cfgFile := dockerConfig(t)
	o := testOptions(nil)
	o.Keychain = nil // the Docker config file, as berth uses it
	o.CertsDir = reg.CertsDir

	// Without the CA the certificate is refused; --tls-verify=false gets through.
	noCA := o
	noCA.CertsDir = t.TempDir()
	if err := CheckCredentials(ctx(t), reg.Host, "alice", "s3cret", noCA); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("unknown CA: %v", err)
	}
	noCA.SkipTLSVerify = true
	if err := CheckCredentials(ctx(t), reg.Host, "alice", "s3cret", noCA); err != nil {
		t.Fatalf("--tls-verify=false: %v", err)
	}

	// Docker's daemon's words for a refused login.
	if _, err := Login(ctx(t), reg.Host, "alice", "wrong", o); err == nil || err.Error() != "login attempt to https://"+reg.Host+"/v2/ failed with status: 401 Unauthorized" {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := os.Stat(cfgFile); err == nil {
		t.Fatal("a failed login wrote the config file")
	}
	res, err := Login(ctx(t), reg.Host, "alice", "s3cret", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Server != reg.Host || res.PlainTextFile != cfgFile {
		t.Fatalf("login result %+v", res)
	}
	var cf struct {
		Auths map[string]struct{ Auth string }
	}
	b, _ := os.ReadFile(cfgFile)
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	if got := cf.Auths[reg.Host].Auth; got != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Fatalf("config.json auths = %s", b)
	}

	// Push and pull with the stored credentials.
	s := openStore(t)
	var tarball strings.Builder
	writeTar(t, &tarball, map[string]string{"a": "a\n"})
	if _, err := s.Import(strings.NewReader(tarball.String()), importOpts(reg.Host+"/secure:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx(t), s, reg.Host+"/secure:1", PushOptions{Options: o}); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	if _, err := Pull(ctx(t), openStore(t), reg.Host+"/secure:1", PullOptions{Options: o}); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}

	key, removed, err := Logout(reg.Host)
	if err != nil || !removed || key != reg.Host {
		t.Fatalf("logout: %s %v %v", key, removed, err)
	}
	if _, removed, _ := Logout(reg.Host); removed {
		t.Fatal("second logout removed something")
	}
	_, err = Pull(ctx(t), openStore(t), reg.Host+"/secure:1", PullOptions{Options: o})
	if err == nil || err.Error() != "unauthorized: authentication required" {
		t.Fatalf("pull after logout: %v", err)
	}
}

// A registry that hands out bearer tokens (the WWW-Authenticate challenge Docker Hub uses).
func TestBearerTokenAuth(t *testing.T) {
	const token = "tok-123"
	var tokenURL string
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u, p, ok := r.BasicAuth()
			if !ok || u != "bob" || p != "pw" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
			if !strings.Contains(r.URL.RawQuery, "scope=") && !strings.Contains(r.URL.RawQuery, "service=") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": token})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenURL+`",service="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	tokenURL = srv.URL + "/token"
	host := strings.TrimPrefix(srv.URL, "http://")
	dockerConfig(t)
	o := testOptions(nil)
	o.Keychain = nil
	if _, err := Login(ctx(t), host, "bob", "nope", o); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Login(ctx(t), host, "bob", "pw", o); err != nil {
		t.Fatal(err)
	}
	seed(t, host+"/x:1", 10<<10, 1, remote.WithAuth(&authn.Basic{Username: "bob", Password: "pw"}))
	if _, err := Pull(ctx(t), openStore(t), host+"/x:1", PullOptions{Options: o}); err != nil {
		t.Fatalf("pull with a bearer token: %v", err)
	}
}

func TestServerKey(t *testing.T) {
	for in, want := range map[string]string{
		"": DockerHubServer, "docker.io": DockerHubServer, "https://index.docker.io/v1/": DockerHubServer,
		"127.0.0.1:5000": "127.0.0.1:5000", "https://reg.example:5000/v2/": "reg.example:5000",
	} {
		if got := ServerKey(in); got != want {
			t.Errorf("ServerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A registry on a private (non-loopback) address is not spoken to over plain HTTP unless listed
// as insecure.
func TestPlainHTTPOnlyForLoopbackOrInsecure(t *testing.T) {
	o := Options{}
	o.defaults()
	rt := o.guard(http.DefaultTransport, "10.1.2.3:5000")
	req, _ := http.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Fatalf("plain HTTP to a private address: %v", err)
	}
	o.InsecureRegistries = []string{"10.0.0.0/8"}
	if _, ok := o.guard(http.DefaultTransport, "10.1.2.3:5000").(httpGuard); ok {
		t.Fatal("an insecure registry is guarded")
	}
	if _, ok := (&Options{}).guard(http.DefaultTransport, "127.0.0.1:5000").(httpGuard); ok {
		t.Fatal("a loopback registry is guarded")
	}
}

func TestInsecureRegistries(t *testing.T) {
	o := Options{InsecureRegistries: []string{"reg.example:5000", "10.0.0.0/8", "plain.example"}}
	for host, want := range map[string]bool{
		"reg.example:5000": true, "reg.example:6000": false, "10.1.2.3:5000": true, "11.1.2.3": false,
		"plain.example:443": true, "other.example": false,
	} {
		if got := o.insecure(host); got != want {
			t.Errorf("insecure(%q) = %v, want %v", host, got, want)
		}
	}
}

func importOpts(ref string) image.ImportOptions { return image.ImportOptions{Ref: ref} }

// Credentials kept by a credential helper (credHelpers in config.json) are used by pull, and
// login stores through the helper instead of the file.
func TestCredentialHelper(t *testing.T) {
	reg := startRegistry(t, registryConfig{user: "carol", password: "helper-pw"})
	bin := t.TempDir()
	store := filepath.Join(t.TempDir(), "stored.json")
	script := `#!/bin/sh
case "$1" in
get) cat >/dev/null; if [ -f ` + store + ` ]; then cat ` + store + `; else echo "credentials not found in native keychain"; exit 1; fi ;;
store) cat > ` + store + ` ;;
erase) cat >/dev/null; rm -f ` + store + ` ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-berthtest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	cfgFile := dockerConfig(t)
	os.WriteFile(cfgFile, []byte(`{"credHelpers":{"`+reg.Host+`":"berthtest"}}`), 0o600)
	o := testOptions(nil)
	o.Keychain = nil

	res, err := Login(ctx(t), reg.Host, "carol", "helper-pw", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.PlainTextFile != "" {
		t.Fatalf("password went to %s instead of the helper", res.PlainTextFile)
	}
	b, _ := os.ReadFile(store)
	if !strings.Contains(string(b), `"Secret":"helper-pw"`) {
		t.Fatalf("helper stored %s", b)
	}
	if cfg, _ := os.ReadFile(cfgFile); strings.Contains(string(cfg), base64.StdEncoding.EncodeToString([]byte("carol:helper-pw"))) {
		t.Fatalf("password written to config.json: %s", cfg)
	}
	seedAuth := remote.WithAuth(&authn.Basic{Username: "carol", Password: "helper-pw"})
	seed(t, reg.Host+"/h:1", 10<<10, 1, seedAuth)
	if _, err := Pull(ctx(t), openStore(t), reg.Host+"/h:1", PullOptions{Options: o}); err != nil {
		t.Fatalf("pull with the helper's credentials: %v", err)
	}
	if _, removed, err := Logout(reg.Host); err != nil || !removed {
		t.Fatalf("logout through the helper: %v %v", removed, err)
	}
	if _, err := os.Stat(store); err == nil {
		t.Fatal("helper still holds the credentials after logout")
	}
}
