package ui

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/analysis/analysistest"
	"github.com/berth-engine/berth/api"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/registry"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const testToken = "t0ken-for-tests"

// uiFixture is a UI server over a fresh root holding two images that share their base layer.
type uiFixture struct {
	srv    *Server
	api    *api.Server
	images *image.Store
	ts     *httptest.Server
	host   string // the test server's host:port
}

func newUIFixture(t *testing.T) *uiFixture {
	t.Helper()
	a, err := api.New(api.Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	base := analysistest.LayerTar(t, analysistest.Dir("etc/"), analysistest.File("etc/os-release", "ID=test\n"),
		analysistest.Dir("bin/"), analysistest.Sized("bin/tool", 5000, 'b'))
	app := analysistest.LayerTar(t, analysistest.Dir("app/"), analysistest.File("app/hello.txt", "hello from layer 1\n"),
		analysistest.Dir("etc/"), analysistest.File("etc/os-release", "ID=changed\n"))
	other := analysistest.LayerTar(t, analysistest.Dir("srv/"), analysistest.Sized("srv/data", 3000, 'd'))
	for _, arch := range [][]byte{
		analysistest.DockerArchive(t, "ui-test/app:1", []string{"ADD base /", "COPY app /app"}, base, app),
		analysistest.DockerArchive(t, "ui-test/other:1", []string{"ADD base /", "COPY srv /srv"}, base, other),
	} {
		if _, err := a.Images().Load(bytes.NewReader(arch), image.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f := &uiFixture{api: a, images: a.Images()}
	f.ts = httptest.NewUnstartedServer(nil)
	f.host = f.ts.Listener.Addr().String()
	f.srv, err = New(Options{API: a, Images: a.Images(), Token: testToken, Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	f.ts.Config.Handler = f.srv
	f.ts.Start()
	t.Cleanup(f.ts.Close)
	return f
}

// do sends a request to the fixture; hdr values override, a "Host" key sets the Host.
func (f *uiFixture) do(t *testing.T, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func bearer() map[string]string { return map[string]string{"Authorization": "Bearer " + testToken} }

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func message(t *testing.T, resp *http.Response) string {
	t.Helper()
	var m struct{ Message string }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not Docker's error JSON: %q", b)
	}
	return m.Message
}

func TestGuardRefusesMissingAndWrongToken(t *testing.T) {
	f := newUIFixture(t)
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		want       string
	}{
		{"no token", "/v1.41/_ping", nil, "no token"},
		{"no token, page", "/", nil, "no token"},
		{"no token, berth endpoint", "/berth/images", nil, "no token"},
		{"no token, static", "/static/app.js", nil, "no token"},
		{"wrong bearer", "/v1.41/_ping", map[string]string{"Authorization": "Bearer nope"}, "wrong token"},
		{"wrong cookie", "/berth/images", map[string]string{"Cookie": CookieName + "=nope"}, "wrong token"},
		{"wrong query", "/?token=nope", nil, "wrong token"},
		// The query is read on the page only: an API URL with a token in it is not a key.
		{"query on the API", "/v1.41/_ping?token=" + testToken, nil, "no token"},
	} {
		resp := f.do(t, "GET", tc.path, tc.hdr)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, resp.StatusCode)
			continue
		}
		if m := message(t, resp); !strings.Contains(m, tc.want) {
			t.Errorf("%s: message %q, want it to say %q", tc.name, m, tc.want)
		}
	}
}

func TestGuardRefusesForeignHost(t *testing.T) {
	f := newUIFixture(t)
	_, port, _ := strings.Cut(f.host, ":")
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port, "10.0.0.1:" + port} {
		resp := f.do(t, "GET", "/v1.41/_ping", with(bearer(), "Host", host))
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %q: status %d, want 421", host, resp.StatusCode)
			continue
		}
		if m := message(t, resp); !strings.Contains(m, "DNS rebinding") {
			t.Errorf("Host %q: message %q", host, m)
		}
	}
	for _, host := range []string{f.host, "localhost:" + port, "LOCALHOST:" + port} {
		if resp := f.do(t, "GET", "/v1.41/_ping", with(bearer(), "Host", host)); resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: status %d, want 200", host, resp.StatusCode)
		}
	}
}

func TestGuardRefusesForeignOrigin(t *testing.T) {
	f := newUIFixture(t)
	cookie := map[string]string{"Cookie": CookieName + "=" + testToken}
	for _, origin := range []string{"http://evil.example", "null", "https://" + f.host, "http://" + f.host + ".evil.example"} {
		resp := f.do(t, "POST", "/v1.41/images/prune", with(cookie, "Origin", origin))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST with Origin %q: status %d, want 403", origin, resp.StatusCode)
			continue
		}
		if m := message(t, resp); !strings.Contains(m, "cross-origin") {
			t.Errorf("Origin %q: message %q", origin, m)
		}
	}
	// A WebSocket is opened by GET, and runs a shell: it is held to the same rule.
	resp := f.do(t, "GET", "/berth/exec/abc/ws", with(cookie, "Origin", "http://evil.example", "Upgrade", "websocket",
		"Connection", "Upgrade", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin WebSocket: status %d, want 403", resp.StatusCode)
	}
	// Fetch metadata without Origin: a cross-site request is refused too.
	if resp := f.do(t, "DELETE", "/v1.41/images/ui-test/app:1", with(cookie, "Sec-Fetch-Site", "cross-site")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site DELETE: status %d, want 403", resp.StatusCode)
	}
	if _, err := f.images.Resolve("ui-test/app:1"); err != nil {
		t.Errorf("a refused DELETE removed the image: %v", err)
	}
	// The page's own requests pass.
	if resp := f.do(t, "POST", "/v1.41/images/ui-test/app:1/tag?repo=ui-test/app&tag=2", with(cookie, "Origin", "http://"+f.host)); resp.StatusCode/100 == 4 && resp.StatusCode != 404 {
		t.Errorf("same-origin POST refused: %d %s", resp.StatusCode, message(t, resp))
	}
}

func TestGuardTokenCookieAndBearer(t *testing.T) {
	f := newUIFixture(t)
	resp := f.do(t, "GET", "/?token="+testToken, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("first visit: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == CookieName {
			c = k
		}
	}
	if c == nil || c.Value != testToken || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("cookie %+v, want the token, HttpOnly, SameSite=Strict, Path=/", c)
	}
	page := f.do(t, "GET", "/", map[string]string{"Cookie": c.Name + "=" + c.Value})
	b, _ := io.ReadAll(page.Body)
	if page.StatusCode != 200 || !bytes.Contains(b, []byte(`src="/static/app.js"`)) {
		t.Fatalf("page with cookie: %d %.200s", page.StatusCode, b)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	ping := f.do(t, "GET", "/_ping", bearer())
	if b, _ := io.ReadAll(ping.Body); ping.StatusCode != 200 || string(b) != "OK" {
		t.Errorf("Docker client's ping with Bearer: %d %q", ping.StatusCode, b)
	}
	// No CORS, wildcard or otherwise, even for a preflight.
	for _, method := range []string{"OPTIONS", "GET"} {
		r := f.do(t, method, "/v1.41/images/json", with(bearer(), "Origin", "http://"+f.host, "Access-Control-Request-Method", "DELETE"))
		for k := range r.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s answered %s: %q", method, k, r.Header.Get(k))
			}
		}
	}
}

func TestListenRefusesRemoteWithoutTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:0", "[::]:0"} {
		if l, err := Listen(addr, "", ""); err == nil {
			l.Close()
			t.Errorf("Listen(%q) without TLS succeeded", addr)
		} else if !strings.Contains(err.Error(), "without TLS") {
			t.Errorf("Listen(%q): %v", addr, err)
		}
	}
	l, err := Listen("127.0.0.1:0", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.URL, "http://127.0.0.1:") || l.TLS {
		t.Errorf("loopback URL %q tls=%v", l.URL, l.TLS)
	}
	l.Close()
	cert, key := selfSigned(t)
	l, err = Listen("0.0.0.0:0", cert, key)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.TLS || !strings.HasPrefix(l.URL, "https://") || len(l.Hosts) == 0 {
		t.Errorf("TLS listener: %+v", l)
	}
}

func selfSigned(t *testing.T) (string, string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

func getJSON(t *testing.T, f *uiFixture, path string, v any) int {
	t.Helper()
	resp := f.do(t, "GET", path, bearer())
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %.300s", path, err, b)
		}
	} else {
		json.Unmarshal(b, v)
	}
	return resp.StatusCode
}

func TestImageListSharedUniqueAndTotals(t *testing.T) {
	f := newUIFixture(t)
	var l ImageList
	if code := getJSON(t, f, "/berth/images", &l); code != 200 {
		t.Fatalf("status %d", code)
	}
	du, err := f.images.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if l.Count != 2 || l.Count != len(du.Images) || l.Size != du.LayersSize {
		t.Fatalf("totals %d images %d bytes, system df says %d images %d bytes", l.Count, l.Size, len(du.Images), du.LayersSize)
	}
	var sumUnique int64
	for _, im := range l.Images {
		if im.SharedSize <= 0 || im.UniqueSize <= 0 || im.SharedSize+im.UniqueSize != im.Size {
			t.Errorf("%v: size %d = shared %d + unique %d?", im.RepoTags, im.Size, im.SharedSize, im.UniqueSize)
		}
		if im.Dangling || im.Containers != 0 {
			t.Errorf("%v: dangling=%v containers=%d", im.RepoTags, im.Dangling, im.Containers)
		}
		sumUnique += im.UniqueSize
	}
	// The base layer is shared: on disk once, so the total is the two unique parts plus it.
	if shared := l.Images[0].SharedSize; sumUnique+shared != l.Size {
		t.Errorf("unique %d + shared %d != on disk %d", sumUnique, shared, l.Size)
	}
	if l.Reclaimable != l.Size || l.Active != 0 {
		t.Errorf("nothing in use, so all reclaimable: %+v", l)
	}
}

func findNode(n *fileNode, p string) *fileNode {
	if n.Path == p {
		return n
	}
	for _, c := range n.Children {
		if r := findNode(c, p); r != nil {
			return r
		}
	}
	return nil
}

type fileNode struct {
	Path     string
	Status   string
	Layer    int
	Children []*fileNode
}

func TestLayerFilesAndAnalysis(t *testing.T) {
	f := newUIFixture(t)
	var tree fileNode
	if code := getJSON(t, f, "/berth/files?ref="+url.QueryEscape("ui-test/app:1")+"&layer=1&changed=1", &tree); code != 200 {
		t.Fatalf("status %d", code)
	}
	if n := findNode(&tree, "/app/hello.txt"); n == nil || n.Status != "added" || n.Layer != 1 {
		t.Errorf("/app/hello.txt in layer 1: %+v", n)
	}
	if n := findNode(&tree, "/etc/os-release"); n == nil || n.Status != "modified" {
		t.Errorf("/etc/os-release in layer 1: %+v", n)
	}
	if n := findNode(&tree, "/bin/tool"); n != nil {
		t.Errorf("changed=1 lists a file layer 1 did not touch: %+v", n)
	}
	var base fileNode
	getJSON(t, f, "/berth/files?ref=ui-test/app:1&layer=0", &base)
	if n := findNode(&base, "/bin/tool"); n == nil || n.Status != "added" {
		t.Errorf("/bin/tool in layer 0: %+v", n)
	}
	var rep struct {
		Efficiency  float64
		WastedBytes int64
		Layers      []struct{ Added, Modified int }
	}
	if code := getJSON(t, f, "/berth/analysis?ref=ui-test/app:1", &rep); code != 200 || len(rep.Layers) != 2 || rep.Layers[1].Modified != 1 || rep.WastedBytes == 0 {
		t.Errorf("analysis: %d %+v", code, rep)
	}
	var e struct{ Message string }
	if code := getJSON(t, f, "/berth/files?ref=nope:1&layer=0", &e); code != 404 || !strings.Contains(e.Message, "No such image") {
		t.Errorf("unknown image: %d %q", code, e.Message)
	}
	if code := getJSON(t, f, "/berth/files?ref=ui-test/app:1&layer=9", &e); code != 404 || !strings.Contains(e.Message, "out of range") {
		t.Errorf("layer 9: %d %q", code, e.Message)
	}
	if code := getJSON(t, f, "/berth/files?ref=ui-test/app:1&layer=x", &e); code != 400 {
		t.Errorf("layer x: %d %q", code, e.Message)
	}
}

// pushRandom writes a small random image to host/repo:tag.
func pushRandom(t *testing.T, host, repo, tag string) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
}

func TestSearchByV1SearchAndByCatalog(t *testing.T) {
	f := newUIFixture(t)
	own, err := registry.New(registry.Config{Storage: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	berthReg := httptest.NewServer(own)
	defer berthReg.Close()
	plain := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer plain.Close()
	for _, srv := range []*httptest.Server{berthReg, plain} {
		h := strings.TrimPrefix(srv.URL, "http://")
		pushRandom(t, h, "tools/busybox", "1.36")
		pushRandom(t, h, "tools/busybox", "latest")
		pushRandom(t, h, "other/thing", "1")
	}
	for _, tc := range []struct {
		srv    *httptest.Server
		method string
	}{{berthReg, "search"}, {plain, "catalog"}} {
		h := strings.TrimPrefix(tc.srv.URL, "http://")
		var a SearchAnswer
		if code := getJSON(t, f, "/berth/search?term="+url.QueryEscape(h+"/busy"), &a); code != 200 {
			t.Fatalf("%s: status %d", h, code)
		}
		if a.Method != tc.method || len(a.Results) != 1 || a.Results[0].Name != h+"/tools/busybox" {
			t.Errorf("%s: %+v, want %s answering %s/tools/busybox", h, a, tc.method, h)
		}
		var tags struct{ Tags []string }
		if code := getJSON(t, f, "/berth/tags?repo="+url.QueryEscape(h+"/tools/busybox"), &tags); code != 200 || strings.Join(tags.Tags, ",") != "1.36,latest" {
			t.Errorf("%s tags: %d %v", h, code, tags.Tags)
		}
	}
	var e struct{ Message string }
	if code := getJSON(t, f, "/berth/search?term=busybox", &e); code != 400 || !strings.Contains(e.Message, "names no registry") {
		t.Errorf("term without registry: %d %q", code, e.Message)
	}
	if code := getJSON(t, f, "/berth/search?term=127.0.0.1:1/x", &e); code != 502 {
		t.Errorf("unreachable registry: %d %q", code, e.Message)
	}
}

// FuzzGuard: whatever the Host, Origin, Authorization, cookie, method and path, a request the
// guard lets through carries the token, names this server as Host, and, when it changes state
// from a browser, comes from this origin.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:9100", "", "Bearer "+testToken, "", "GET", "/v1.41/_ping")
	f.Add("evil.example:9100", "http://evil.example", "", CookieName+"="+testToken, "POST", "/v1.41/containers/create")
	f.Add("[::1]:9100", "null", "Bearer", "", "DELETE", "/?token="+testToken)
	f.Add("localhost.", "http://localhost.", "Basic abc", CookieName+"=", "PUT", "/berth/exec/x/ws")
	s := &Server{opts: Options{Token: testToken, Hosts: []string{"127.0.0.1"}}}
	f.Fuzz(func(t *testing.T, host, origin, auth, cookie, method, target string) {
		if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") {
			return
		}
		r, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Authorization", auth)
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		if !s.guard(w, r) {
			if w.Code < 400 {
				t.Fatalf("refused with status %d", w.Code)
			}
			return
		}
		h := strings.ToLower(host)
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
		if h != "localhost" && h != "127.0.0.1" {
			t.Fatalf("let Host %q through", host)
		}
		tok := strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
		if !strings.HasPrefix(auth, "Bearer ") && !strings.Contains(cookie, testToken) && !strings.Contains(target, testToken) {
			t.Fatalf("let a request without the token through: auth %q cookie %q target %q", auth, cookie, target)
		}
		if strings.HasPrefix(auth, "Bearer ") && tok != testToken {
			t.Fatalf("let a wrong bearer through: %q", auth)
		}
		if changesState(r) && origin != "" && !strings.EqualFold(origin, "http://"+host) {
			t.Fatalf("let a %s from Origin %q through", method, origin)
		}
	})
}

func TestStaticFilesRevalidate(t *testing.T) {
	f := newUIFixture(t)
	resp := f.do(t, "GET", "/static/app.js", bearer())
	tag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || tag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("app.js: %d ETag %q Cache-Control %q", resp.StatusCode, tag, resp.Header.Get("Cache-Control"))
	}
	if again := f.do(t, "GET", "/static/app.js", with(bearer(), "If-None-Match", tag)); again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", again.StatusCode)
	}
}
