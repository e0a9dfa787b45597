package ui

// The browser scenarios of issue 17: the real `berth ui` binary over a fresh root, driven by
// Debian's chromium through chromedp, against a registry started by the test. Screenshots of
// each view go to $BERTH_UI_SHOTS (or a directory the test names in its log).

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-engine/berth/analysis/analysistest"
	"github.com/berth-engine/berth/internal/testenv"
	"github.com/berth-engine/berth/registry"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const webMarker = "served by busybox httpd for the berth ui test"

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("browser tests need chromium (Debian: apt-get install chromium; scripts/deps.sh installs it)")
	return ""
}

func needContainers(t *testing.T) { testenv.NeedContainers(t, "the browser scenarios") }

// buildBerth is the berth binary, built once per test process.
func buildBerth(t *testing.T) string { return testenv.Berth(t, "ui") }

// rootfsLayer is a busybox root filesystem as a layer tar.
func rootfsLayer(t *testing.T) []byte { return testenv.BusyboxRootfs(t) }

func fileLayer(t *testing.T, dir, file, body string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + "/" + file, Mode: 0o644, Size: int64(len(body))})
	tw.Write([]byte(body))
	tw.Close()
	return buf.Bytes()
}

// pushWebImage pushes host/tools/webbox:1.0: busybox, then a layer adding /www/index.html.
func pushWebImage(t *testing.T, host string) string {
	t.Helper()
	img := empty.Image
	for _, l := range []struct {
		tar     []byte
		comment string
	}{{rootfsLayer(t), "ADD busybox.tar / # buildkit"}, {fileLayer(t, "www", "index.html", webMarker+"\n"), "COPY index.html /www/ # buildkit"}} {
		b := l.tar
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: l.comment, Created: v1.Time{Time: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Now()}
	cf.Config.Cmd = []string{"sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.description": "busybox with a web page"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref := host + "/tools/webbox:1.0"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// uiProcess is `berth ui` running on a fresh root.
type uiProcess struct {
	bin, root, url, base string
	cmd                  *exec.Cmd
}

func startUI(t *testing.T, bin string) *uiProcess {
	t.Helper()
	root, err := os.MkdirTemp("", "bu-") // short: overlay options stay small
	if err != nil {
		t.Fatal(err)
	}
	p := &uiProcess{bin: bin, root: root}
	t.Cleanup(func() {
		out, _ := exec.Command(bin, "--root", root, "ps", "-aq", "--no-trunc").Output()
		for _, id := range strings.Fields(string(out)) {
			exec.Command(bin, "--root", root, "rm", "-f", id).Run()
		}
		if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
					syscall.Unmount(f[4], syscall.MNT_DETACH)
				}
			}
		}
		os.RemoveAll(root)
	})
	p.cmd = exec.Command(bin, "--root", root, "ui", "--addr", "127.0.0.1:0", "--no-browser")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	p.cmd.Stderr = &stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("berth ui's stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("berth ui printed no URL: %v\n%s", err, stderr.String())
	}
	p.url = strings.TrimSpace(line)
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") || !strings.Contains(p.url, "/?token=") {
		t.Fatalf("first line %q, want http://127.0.0.1:PORT/?token=…", p.url)
	}
	p.base, _, _ = strings.Cut(p.url, "?")
	return p
}

func (p *uiProcess) rssKB(t *testing.T) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var n int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &n)
			return n
		}
	}
	return 0
}

// browser wraps a chromium tab with the helpers the scenarios use.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func newBrowser(t *testing.T, path string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	shots := os.Getenv("BERTH_UI_SHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "berth-ui-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of each view: %s", shots)
	// The first action starts the browser, which lives as long as the context it ran on: this
	// one, not a shorter one of a later step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, shots: shots}
}

// on is b reporting to the (sub)test t.
func (b *browser) on(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// js evaluates expr (awaiting a promise) and returns its value.
func js[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// wait polls expr until it is truthy; on timeout it fails with the page's status line.
func (b *browser) wait(what, expr string, within time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		status, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('status').textContent + ' | ' + document.getElementById('view').innerText.slice(0, 600)`))
		b.shot("failed-" + strings.NewReplacer(" ", "-", "/", "-").Replace(what))
		b.t.Fatalf("waiting for %s: %v\npage: %s", what, err, status)
	}
}

func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644)
}

// open routes the single page to hash and waits until the view has rendered.
func (b *browser) open(hash string) {
	b.t.Helper()
	js[any](b, fmt.Sprintf(`document.body.dataset.view = ''; window.confirm = () => true; window.prompt = () => null;
		if (location.hash === %q) window.berthRoute(); else location.hash = %q; 1`, hash, hash))
	top := strings.SplitN(strings.TrimPrefix(hash, "#/"), "/", 2)[0]
	top, _, _ = strings.Cut(top, "?")
	b.wait("view "+hash, fmt.Sprintf(`document.body.dataset.view === %q`, top), 30*time.Second)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestBrowserScenarios(t *testing.T) {
	chromium := chromiumPath(t)
	needContainers(t)
	bin := buildBerth(t)
	reg, err := registry.New(registry.Config{Storage: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rs := httptest.NewServer(reg)
	defer rs.Close()
	regHost := strings.TrimPrefix(rs.URL, "http://")
	ref := pushWebImage(t, regHost)

	p := startUI(t, bin)
	time.Sleep(time.Second)
	t.Logf("berth ui idle RSS: %d kB", p.rssKB(t))
	b := newBrowser(t, chromium)

	t.Run("refusals", func(t *testing.T) {
		_, port, _ := strings.Cut(strings.TrimPrefix(p.base, "http://127.0.0.1"), ":")
		port = strings.TrimSuffix(port, "/")
		tok := strings.SplitN(p.url, "token=", 2)[1]
		for _, tc := range []struct {
			name, method, path string
			hdr                map[string]string
			want               int
		}{
			{"missing token", "GET", "v1.41/images/json", nil, 401},
			{"DNS rebinding", "GET", "v1.41/images/json", map[string]string{"Authorization": "Bearer " + tok, "Host": "rebind.example:" + port}, 421},
			{"wrong Origin", "POST", "v1.41/containers/create", map[string]string{"Authorization": "Bearer " + tok, "Origin": "http://evil.example"}, 403},
			{"with the token", "GET", "v1.41/images/json", map[string]string{"Authorization": "Bearer " + tok}, 200},
		} {
			req, _ := http.NewRequest(tc.method, p.base+tc.path, strings.NewReader(`{"Image":"x"}`))
			for k, v := range tc.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		}
	})

	t.Run("search and pull", func(t *testing.T) {
		b := b.on(t)
		b.do(chromedp.Navigate(p.url))
		b.wait("images page", `document.body.dataset.view === 'images'`, 30*time.Second)
		if got := js[string](b, `location.search`); got != "" {
			t.Errorf("the token stays in the address bar: %q", got)
		}
		b.shot("01-images-empty")
		// Keyboard: "/" jumps to the filter.
		b.do(chromedp.KeyEvent("/"))
		b.wait("the filter focused by /", `document.activeElement.id === 'itext'`, 10*time.Second)
		// (chromedp's separate char event types the "/" a real keydown's preventDefault stops.)
		js[any](b, `{ const f = document.getElementById('itext'); f.value = ''; f.dispatchEvent(new Event('input')); f.blur(); } 1`)
		b.open("#/search")
		js[any](b, fmt.Sprintf(`document.getElementById('sterm').value = %q; document.getElementById('sform').requestSubmit(); 1`, regHost+"/webbox"))
		b.wait("search results", fmt.Sprintf(`document.querySelector('#sresults tr[data-name=%q] select option')?.value === '1.0'`, regHost+"/tools/webbox"), 30*time.Second)
		b.shot("02-search")
		js[any](b, `document.querySelector('#sresults button[data-pull]').click(); 1`)
		b.wait("pull to finish", `document.getElementById('pull').dataset.done`, 120*time.Second)
		b.shot("03-pull-done")
		if d := js[string](b, `document.getElementById('pull').dataset.done`); d != "true" {
			t.Fatalf("pull: %s", js[string](b, `document.getElementById('pull').innerText`))
		}
		layers := js[[]string](b, `[...document.querySelectorAll('#layers .progress-row')].map(r => r.dataset.status)`)
		if len(layers) != 2 {
			t.Errorf("progress rows %q, want one per layer (2)", layers)
		}
		for _, s := range layers {
			if s != "Pull complete" && s != "Already exists" {
				t.Errorf("a layer ended with %q", s)
			}
		}
		if v := js[[]float64](b, `[...document.querySelectorAll('#layers progress')].map(p => p.value / p.max)`); len(v) == 0 || v[0] != 1 {
			t.Errorf("progress bars end at %v, want full", v)
		}
		b.open("#/images")
		b.wait("the pulled image listed", fmt.Sprintf(`document.querySelector('tr[data-ref=%q]')`, ref), 30*time.Second)
		b.shot("04-images")
		// Tag, push (to the test's registry) and save as a download, from the row's buttons.
		retag := regHost + "/tools/retagged:2"
		js[any](b, fmt.Sprintf(`window.prompt = () => %q; document.querySelector('tr[data-ref=%q] button[data-act=tag]').click(); 1`, retag, ref))
		b.wait("the new tag", fmt.Sprintf(`document.querySelector('tr[data-ref=%q]')`, retag), 30*time.Second)
		js[any](b, fmt.Sprintf(`document.querySelector('tr[data-ref=%q] button[data-act=push]').click(); 1`, retag))
		b.wait("the push", `document.getElementById('status').textContent.startsWith('Pushed ')`, 60*time.Second)
		var tags struct{ Tags []string }
		resp, err := http.Get(rs.URL + "/v2/tools/retagged/tags/list")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&tags)
		resp.Body.Close()
		if len(tags.Tags) != 1 || tags.Tags[0] != "2" {
			t.Errorf("the registry's tags of tools/retagged after the push: %v", tags.Tags)
		}
		save := js[string](b, fmt.Sprintf(`fetch(document.querySelector('tr[data-ref=%q] a[download]').href).then(async r => r.status + ' ' + (await r.arrayBuffer()).byteLength)`, ref))
		if code, size, _ := strings.Cut(save, " "); code != "200" || len(size) < 7 {
			t.Errorf("Save: %s, want 200 and a tar of some MB", save)
		}
		// Filters: nothing runs yet, so the image is unused.
		js[any](b, `{ const f = document.getElementById('ifilter'); f.value = 'inuse'; f.dispatchEvent(new Event('change')); } 1`)
		b.wait("in use: none", `document.getElementById('itotals').dataset.rows === '0'`, 10*time.Second)
		js[any](b, `{ const f = document.getElementById('ifilter'); f.value = 'unused'; f.dispatchEvent(new Event('change')); } 1`)
		b.wait("unused: both tags", `document.getElementById('itotals').dataset.rows === '2'`, 10*time.Second)
		js[any](b, `{ const f = document.getElementById('ifilter'); f.value = 'all'; f.dispatchEvent(new Event('change')); } 1`)
		js[any](b, fmt.Sprintf(`document.querySelector('tr[data-ref=%q] button[data-act=tag]') && fetch('/v1.41/images/%s', {method: 'DELETE'}).then(r => r.status)`, retag, retag))
	})

	t.Run("layers and find a file", func(t *testing.T) {
		b := b.on(t)
		b.open("#/images/" + ref)
		b.wait("layers", `document.querySelectorAll('#layers .layer').length === 2 && document.querySelector('#tree').dataset.layer`, 60*time.Second)
		js[any](b, `document.querySelector('#layers .layer[data-index="0"]').click(); 1`)
		b.wait("layer 0's tree", `document.querySelector('#tree').dataset.layer === '0'`, 30*time.Second)
		if js[bool](b, `!!document.querySelector('#tree [data-path="/www/index.html"]')`) {
			t.Errorf("layer 0 shows /www/index.html, which layer 1 adds")
		}
		js[any](b, `document.querySelector('#layers .layer[data-index="1"]').click(); 1`)
		b.wait("layer 1's tree", `document.querySelector('#tree').dataset.layer === '1'`, 30*time.Second)
		js[any](b, `{ const f = document.getElementById('ffind'); f.value = 'index'; f.dispatchEvent(new Event('input')); } 1`)
		b.wait("the file added by layer 1", `document.querySelector('#tree [data-path="/www/index.html"]')?.dataset.status === 'added'`, 10*time.Second)
		if txt := js[string](b, `document.querySelector('#tree [data-path="/www/index.html"]').textContent`); !strings.HasPrefix(txt, "+") {
			t.Errorf("added file shown as %q, want a + mark", txt)
		}
		if a := js[string](b, `document.getElementById('analysis').innerText`); !strings.Contains(a, "Efficiency") {
			t.Errorf("analysis panel: %q", a)
		}
		b.shot("05-image-detail-layers")
	})

	var ctrID string
	webPort := freePort(t)
	t.Run("run with a published port", func(t *testing.T) {
		b := b.on(t)
		b.open("#/run?image=" + ref)
		js[any](b, fmt.Sprintf(`document.getElementById('rname').value = 'web1';
			document.getElementById('rports').value = '127.0.0.1:%d:80';
			document.getElementById('renv').value = 'GREETING=hello';
			document.getElementById('rcmd').value = %q;
			document.getElementById('rform').requestSubmit(); 1`, webPort,
			`sh -c 'httpd -p 80 -h /www; i=0; while true; do echo "line $i $GREETING"; i=$((i+1)); sleep 0.2; done'`))
		b.shot("06-run-form")
		b.wait("the container's page", `/^#\/containers\/[0-9a-f]{64}/.test(location.hash) && document.body.dataset.view === 'containers'`, 60*time.Second)
		ctrID = strings.Split(js[string](b, `location.hash`), "/")[2]
		var body string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", webPort)); err == nil {
				bb, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if body = string(bb); strings.Contains(body, webMarker) {
					break
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
		if !strings.Contains(body, webMarker) {
			t.Fatalf("published port %d answered %q", webPort, body)
		}
	})

	t.Run("follow logs", func(t *testing.T) {
		b := b.on(t)
		if ctrID == "" {
			t.Skip("no container")
		}
		b.open("#/containers/" + ctrID + "/logs")
		b.wait("first lines", `document.getElementById('logs').textContent.includes('line 2 hello')`, 30*time.Second)
		// Following: lines printed after the page opened arrive without a reload.
		n := js[int](b, `document.getElementById('logs').textContent.split('\n').length`)
		b.wait("more lines", fmt.Sprintf(`document.getElementById('logs').textContent.split('\n').length > %d + 5`, n), 30*time.Second)
		js[any](b, `{ const s = document.getElementById('lsearch'); s.value = 'line 1 '; s.dispatchEvent(new Event('input')); } 1`)
		b.wait("search", `document.querySelectorAll('#logs mark').length >= 1 && !document.getElementById('logs').textContent.includes('line 2 hello')`, 10*time.Second)
		b.shot("07-logs")
		// Timestamps from the server: each line starts with Docker's RFC 3339 nano time.
		js[any](b, `{ const c = document.getElementById('lts'); c.checked = true; c.dispatchEvent(new Event('change')); } 1`)
		b.wait("timestamps", `/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+ hello/.test(document.getElementById('logs').textContent.split('\n').slice(-2)[0])`, 30*time.Second)
		js[any](b, `{ const c = document.getElementById('lts'); c.checked = false; c.dispatchEvent(new Event('change')); } 1`)
		js[any](b, `{ const s = document.getElementById('lsearch'); s.value = ''; s.dispatchEvent(new Event('input')); } 1`)
		b.open("#/containers/" + ctrID + "/stats")
		b.wait("stats", `Number(document.getElementById('stats').dataset.samples) >= 2`, 30*time.Second)
		b.shot("08-stats")
		b.open("#/containers/" + ctrID + "/inspect")
		b.shot("09-inspect")
		b.open("#/containers/" + ctrID + "/files")
		b.wait("files", `document.getElementById('flist').innerText.includes('www/')`, 30*time.Second)
		b.shot("10-files")
		// Lifecycle buttons: pause, then unpause, from the container's page.
		for _, step := range [][2]string{{"pause", "paused"}, {"unpause", "running"}} {
			js[any](b, fmt.Sprintf(`document.querySelector('.toolbar button[data-act=%s]').click(); 1`, step[0]))
			b.wait(step[1], fmt.Sprintf(`document.querySelector('h1 .tag')?.textContent === %q && document.querySelector('.toolbar button[data-act]')`, step[1]), 30*time.Second)
		}
		js[any](b, `document.getElementById('copyrun').click(); 1`)
		b.wait("docker run command", `document.getElementById('status').dataset.runcmd`, 10*time.Second)
		cmd := js[string](b, `document.getElementById('status').dataset.runcmd`)
		for _, want := range []string{"docker run -d --name web1", fmt.Sprintf("-p 127.0.0.1:%d:80", webPort), "-e GREETING=hello", ref + " sh -c "} {
			if !strings.Contains(cmd, want) {
				t.Errorf("docker run command %q lacks %q", cmd, want)
			}
		}
	})

	t.Run("terminal", func(t *testing.T) {
		b := b.on(t)
		if ctrID == "" {
			t.Skip("no container")
		}
		b.open("#/containers/" + ctrID + "/terminal")
		b.wait("terminal", `document.getElementById('view').dataset.terminal || document.getElementById('status').textContent`, 30*time.Second)
		if st := js[string](b, `document.getElementById('status').textContent`); strings.Contains(st, "page not found") {
			t.Skipf("the Engine API serves no exec yet (%s)", st)
		}
		b.wait("terminal open", `document.getElementById('view').dataset.terminal === 'open'`, 30*time.Second)
		screen := `(() => { const b = window.berthTerm.buffer.active; let s = ''; for (let i = 0; i < b.length; i++) s += b.getLine(i).translateToString(true) + '\n'; return s; })()`
		// Type once the shell prompts: before that, the terminal echoes what it gets and the
		// shell's line editor shows it again.
		b.wait("the shell's prompt", screen+`.includes('/ # ')`, 30*time.Second)
		// Text goes in as the browser's text input (Input.insertText), then Enter as a key: synthesized
		// keyDown+char pairs of printable keys reach xterm.js twice, which a real keyboard does not.
		js[any](b, `document.querySelector('textarea.xterm-helper-textarea').focus(); 1`)
		b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: "echo $((6*7))marker"})
			return err
		}), chromedp.KeyEvent("\r"))
		b.wait("command output in the terminal", screen+`.includes('42marker')`, 30*time.Second)
		if got := js[string](b, screen); strings.Count(got, "echo $((6*7))marker") != 1 {
			t.Errorf("the typed line is not on the screen once:\n%s", got)
		}
		// The page told the Engine API the size xterm.js fitted (POST /exec/{id}/resize answered).
		size := js[string](b, `window.berthTerm.cols + 'x' + window.berthTerm.rows`)
		b.wait("resize "+size, fmt.Sprintf(`document.getElementById('view').dataset.termSize === %q`, size), 30*time.Second)
		b.do(chromedp.EmulateViewport(900, 700))
		b.wait("resize after the window shrank", fmt.Sprintf(`document.getElementById('view').dataset.termSize !== %q && document.getElementById('view').dataset.termSize === window.berthTerm.cols + 'x' + window.berthTerm.rows`, size), 30*time.Second)
		b.do(chromedp.EmulateViewport(1280, 800))
		b.shot("11-terminal")
	})

	t.Run("live updates and a bounded log buffer", func(t *testing.T) {
		b := b.on(t)
		b.open("#/containers")
		js[any](b, `window.notReloaded = true; 1`)
		// Started by another berth process: the page hears of it through GET /events.
		if out, err := exec.Command(bin, "--root", p.root, "run", "-d", "--name", "chatty",
			"--label", "com.docker.compose.project=demo", "--label", "com.docker.compose.service=talker", ref, "sh", "-c", "seq 1 30000; sleep 120").CombinedOutput(); err != nil {
			t.Fatalf("berth run: %v\n%s", err, out)
		}
		b.wait("the CLI's container listed without a reload", `window.notReloaded && [...document.querySelectorAll('tbody a')].some(a => a.textContent === 'chatty')`, 30*time.Second)
		b.shot("11b-containers-live")
		js[any](b, `[...document.querySelectorAll('tbody a')].find(a => a.textContent === 'chatty').click(); 1`)
		b.wait("chatty's logs", `document.getElementById('lcount')?.textContent.startsWith('500 lines')`, 30*time.Second)
		// All of the log (no tail): the page keeps the last 5,000 lines and says how many it dropped.
		js[any](b, `{ const tl = document.getElementById('ltail'); tl.value = ''; tl.dispatchEvent(new Event('change')); } 1`)
		b.wait("the bounded buffer", `document.getElementById('lcount').textContent === '5000 lines shown, 25000 older lines dropped from the page'`, 60*time.Second)
		if last := js[string](b, `document.getElementById('logs').textContent.trim().split('\n').slice(-1)[0]`); last != "30000" {
			t.Errorf("last line shown %q, want 30000", last)
		}
		b.shot("11c-logs-bounded")
		b.open("#/compose")
		b.wait("the compose project", `document.querySelector('section[data-project="demo"]')?.innerText.includes('talker')`, 30*time.Second)
		b.shot("11d-compose")
		exec.Command(bin, "--root", p.root, "rm", "-f", "chatty").Run()
	})

	t.Run("compose project up and down", func(t *testing.T) {
		b := b.on(t)
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		yaml := "name: uiproj\nservices:\n  app:\n    image: " + ref + "\n    command: [\"sleep\", \"300\"]\n    stop_signal: SIGKILL\n"
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		compose := func(args ...string) {
			t.Helper()
			if out, err := exec.Command(bin, append([]string{"--root", p.root, "compose", "-f", file}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("berth compose %v: %v\n%s", args, err, out)
			}
		}
		compose("up", "-d")
		t.Cleanup(func() { exec.Command(bin, "--root", p.root, "compose", "-f", file, "down", "-t", "0").Run() })
		state := `document.querySelector('section[data-project="uiproj"]')?.innerText`
		b.open("#/compose")
		b.wait("the project running", state+`?.includes('running')`, 30*time.Second)
		js[any](b, `document.querySelector('section[data-project="uiproj"] button[data-act="stop"]').click(); 1`)
		b.wait("the project stopped", state+`?.includes('exited')`, 60*time.Second)
		// Up is Compose's up -d from the project's files (the compose package), not a plain start.
		js[any](b, `document.querySelector('section[data-project="uiproj"] button[data-act="up"]').click(); 1`)
		b.wait("compose up's steps", `document.getElementById('status').textContent.includes('Container uiproj-app-1  Started')`, 60*time.Second)
		b.wait("the project running again", state+`?.includes('running')`, 30*time.Second)
		b.shot("11e-compose-up")
		js[any](b, `document.querySelector('section[data-project="uiproj"] button[data-act="down"]').click(); 1`)
		b.wait("compose down's steps", `document.getElementById('status').textContent.includes('Network uiproj_default  Removed')`, 60*time.Second)
		b.wait("the project gone", `!document.querySelector('section[data-project="uiproj"]')`, 30*time.Second)
		if out, _ := exec.Command(bin, "--root", p.root, "network", "ls", "-q", "--filter", "name=uiproj_default").Output(); len(out) != 0 {
			t.Errorf("compose down from the page left the network: %s", out)
		}
	})

	t.Run("delete container and image", func(t *testing.T) {
		b := b.on(t)
		if ctrID == "" {
			t.Skip("no container")
		}
		id := strings.TrimSpace(string(must(exec.Command(bin, "--root", p.root, "images", "-q", "--no-trunc", ref).Output())))
		b.open("#/images")
		b.wait("image row", fmt.Sprintf(`document.querySelector('tr[data-ref=%q]')`, ref), 30*time.Second)
		// Docker removes a tag even while a container uses the image, which stays as <none>.
		js[any](b, fmt.Sprintf(`document.querySelector('tr[data-ref=%q] .isel').click(); document.getElementById('idelete').click(); 1`, ref))
		b.wait("untagged", fmt.Sprintf(`!document.querySelector('tr[data-ref=%q]') && document.querySelector('tr[data-ref=%q]')`, ref, id), 30*time.Second)
		// The image itself is refused, with Docker's reason.
		js[any](b, fmt.Sprintf(`document.querySelector('tr[data-ref=%q] .isel').click(); document.getElementById('idelete').click(); 1`, id))
		state, _ := exec.Command(bin, "--root", p.root, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", ctrID).CombinedOutput()
		t.Logf("container state: %s", state)
		b.wait("Docker's refusal", `/conflict: unable to delete [0-9a-f]{12} \(.*\) - image is being used by (running|stopped) container [0-9a-f]{12}/.test(document.getElementById('status').textContent)`, 30*time.Second)
		b.shot("12-delete-refused")
		t.Logf("refusal shown: %s", js[string](b, `document.getElementById('status').textContent`))
		ref := id
		b.open("#/containers")
		b.wait("container row", fmt.Sprintf(`document.querySelector('tr[data-id=%q]')`, ctrID), 30*time.Second)
		b.shot("13-containers")
		js[any](b, fmt.Sprintf(`document.querySelector('tr[data-id=%q] button[data-act=remove]').click(); 1`, ctrID))
		b.wait("container gone", fmt.Sprintf(`!document.querySelector('tr[data-id=%q]')`, ctrID), 60*time.Second)
		b.open("#/images")
		b.wait("image row", fmt.Sprintf(`document.querySelector('tr[data-ref=%q]')`, ref), 30*time.Second)
		js[any](b, fmt.Sprintf(`document.querySelector('tr[data-ref=%q] .isel').click(); document.getElementById('idelete').click(); 1`, ref))
		b.wait("image gone", fmt.Sprintf(`!document.querySelector('tr[data-ref=%q]')`, ref), 60*time.Second)
		if out, _ := exec.Command(bin, "--root", p.root, "images", "-q").Output(); strings.TrimSpace(string(out)) != "" {
			t.Errorf("berth images still lists %q", out)
		}
	})

	t.Run("load by upload", func(t *testing.T) {
		b := b.on(t)
		arch := filepath.Join(t.TempDir(), "up.tar")
		layer := analysistest.LayerTar(t, analysistest.Dir("up/"), analysistest.File("up/loaded.txt", "uploaded\n"))
		if err := os.WriteFile(arch, analysistest.DockerArchive(t, "uploaded/img:1", []string{"ADD up /up"}, layer), 0o644); err != nil {
			t.Fatal(err)
		}
		b.open("#/images")
		b.do(chromedp.SetUploadFiles("#iload", []string{arch}))
		b.wait("the loaded image", `document.querySelector('tr[data-ref="uploaded/img:1"]') && document.getElementById('status').textContent.includes('Loaded image: uploaded/img:1')`, 60*time.Second)
		b.shot("13b-loaded")
	})

	t.Run("other views, narrow and dark", func(t *testing.T) {
		b := b.on(t)
		// Volumes and networks: create from the form, see it listed, remove it.
		for i, v := range []struct{ view, form, input, name, row string }{
			{"volumes", "vform", "vname", "uivol1", `tr[data-name="uivol1"]`},
			{"networks", "nform", "nname", "uinet1", `tr[data-id]`},
		} {
			b.open("#/" + v.view)
			js[any](b, fmt.Sprintf(`document.getElementById(%q).value = %q; document.getElementById(%q).requestSubmit(); 1`, v.input, v.name, v.form))
			has := fmt.Sprintf(`[...document.querySelectorAll('tbody tr')].some(r => r.textContent.includes(%q))`, v.name)
			b.wait(v.name+" listed", has, 30*time.Second)
			b.shot(fmt.Sprintf("%02d-%s", 14+i, v.view))
			// Found and clicked in one step: a reload may replace the row between two steps.
			b.wait("remove "+v.name, fmt.Sprintf(`(() => { const r = [...document.querySelectorAll('tbody tr')].find(r => r.textContent.includes(%q)); r?.querySelector('[data-rm]').click(); return !!r; })()`, v.name), 30*time.Second)
			b.wait(v.name+" removed", "!"+has, 30*time.Second)
		}
		b.open("#/compose")
		b.shot("16-compose-empty")
		js[any](b, `document.documentElement.dataset.theme = 'dark'; 1`)
		b.open("#/images")
		b.shot("17-images-dark")
		b.do(chromedp.EmulateViewport(420, 800))
		b.open("#/search")
		b.shot("18-search-narrow-dark")
		if w := js[float64](b, `document.documentElement.scrollWidth`); w > 440 {
			t.Errorf("the narrow page scrolls sideways: %v px wide", w)
		}
	})
	t.Logf("berth ui RSS after the scenarios: %d kB", p.rssKB(t))
}

// TestServeWithUI: `berth serve --ui` serves the Engine API on its socket and the UI, guarded, on
// the UI's address, over one server.
func TestServeWithUI(t *testing.T) {
	bin := buildBerth(t)
	root := t.TempDir()
	sock := filepath.Join(root, "api.sock")
	cmd := exec.Command(bin, "--root", root, "serve", "-H", "unix://"+sock, "--ui", "--ui-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL: %v\n%s", err, stderr.String())
	}
	url := strings.TrimSpace(line)
	base, tok, ok := strings.Cut(url, "?token=")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", url)
	}
	get := func(hdr string) int {
		req, _ := http.NewRequest("GET", base+"v1.41/version", nil)
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("Bearer " + tok); code != 200 {
		t.Errorf("UI address with the token: %d", code)
	}
	if code := get(""); code != 401 {
		t.Errorf("UI address without the token: %d", code)
	}
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	var resp *http.Response
	for i := 0; i < 50; i++ {
		if resp, err = c.Get("http://berth/_ping"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the API socket: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the API socket's ping: %d", resp.StatusCode)
	}
}
