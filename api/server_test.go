package api

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newTestServer is a Server over a fresh root in a temporary directory, behind httptest.
func newTestServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	srv, err := New(Config{Root: t.TempDir(), BerthVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return srv, hs
}

func get(t *testing.T, method, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPingAndVersionPrefix(t *testing.T) {
	_, hs := newTestServer(t)
	for _, path := range []string{"/_ping", "/v1.24/_ping", "/v1.41/_ping", "/v" + MaxVersion + "/_ping"} {
		code, h, body := get(t, "GET", hs.URL+path)
		if code != 200 || body != "OK" || h.Get("Api-Version") != MaxVersion || h.Get("Ostype") != "linux" {
			t.Errorf("GET %s: %d %q %v", path, code, body, h)
		}
	}
	code, h, body := get(t, "HEAD", hs.URL+"/_ping")
	if code != 200 || body != "" || h.Get("Api-Version") == "" {
		t.Errorf("HEAD /_ping: %d %q", code, body)
	}
	// dockerd's wording for versions it does not serve, as a 400 with {"message": ...}.
	for path, want := range map[string]string{
		"/v1.99/_ping": "client version 1.99 is too new. Maximum supported API version is " + MaxVersion,
		"/v1.12/_ping": "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
	} {
		code, _, body := get(t, "GET", hs.URL+path)
		var e errorBody
		if code != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Message != want {
			t.Errorf("GET %s: %d %s, want 400 %q", path, code, body, want)
		}
	}
	code, _, body = get(t, "GET", hs.URL+"/v1.41/no/such/endpoint")
	if code != 404 || !strings.Contains(body, `"message":"page not found"`) {
		t.Errorf("unknown path: %d %s", code, body)
	}
	code, _, _ = get(t, "DELETE", hs.URL+"/_ping")
	if code != 404 {
		t.Errorf("DELETE /_ping: %d, want 404 as dockerd", code)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"1.24", "1.24", 0}, {"1.9", "1.24", -1}, {"1.41", "1.24", 1}, {"1.57", "1.100", -1}, {"2.0", "1.57", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestListenUnixSocketMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "berth.sock")
	ls, err := Listen(ListenOptions{Hosts: []string{"unix://" + path}, Group: "root", GroupSet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, l := range ls {
			l.Close()
		}
	})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v, want a 0660 socket", fi.Mode())
	}
	// A second server on the same live socket is refused; the first keeps it.
	if _, err := Listen(ListenOptions{Hosts: []string{"unix://" + path}}); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Fatalf("second listener on a live socket: %v", err)
	}
	if _, err := Listen(ListenOptions{Hosts: []string{"unix://" + path + "x"}, Group: "no-such-group-berth", GroupSet: true}); err == nil {
		t.Fatal("a missing --group was accepted")
	}
}

func TestListenRefusesPlainTCPBeyondLoopback(t *testing.T) {
	if _, err := Listen(ListenOptions{Hosts: []string{"tcp://0.0.0.0:0"}}); err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Fatalf("plain TCP on 0.0.0.0: %v", err)
	}
	ls, err := Listen(ListenOptions{Hosts: []string{"tcp://127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ls[0].Close()
	if _, _, err := net.SplitHostPort(ls[0].Addr().String()); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(ListenOptions{Hosts: []string{"tcp://0.0.0.0:0"}, TLSVerify: true}); err == nil || !strings.Contains(err.Error(), "--tlscacert") {
		t.Fatalf("--tlsverify without certificates: %v", err)
	}
	for _, h := range []string{"0.0.0.0:2375", "ssh://x", "unix://"} {
		if _, err := Listen(ListenOptions{Hosts: []string{h}}); err == nil || !strings.Contains(err.Error(), "invalid bind address") {
			t.Errorf("-H %s: %v", h, err)
		}
	}
}
