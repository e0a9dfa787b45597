package registry

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var (
	berthOnce sync.Once
	berthBin  string
	berthErr  error
	binDir    string
	// cleanupDirs are removed when all tests are done (shared builds).
	cleanupDirs []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	for _, d := range cleanupDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// berth builds the berth binary once for the tests that run it as a process.
func berth(t *testing.T) string {
	t.Helper()
	berthOnce.Do(func() {
		binDir, berthErr = os.MkdirTemp("", "berth-registry-e2e-")
		if berthErr != nil {
			return
		}
		berthBin = filepath.Join(binDir, "berth")
		cmd := exec.Command("go", "build", "-o", berthBin, "github.com/berth-engine/berth/cmd/berth")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			berthErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if berthErr != nil {
		t.Fatal(berthErr)
	}
	return berthBin
}

// serveProc is a `berth registry serve` process.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

func (p *serveProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

var listenRE = regexp.MustCompile(`listening on https?://(\S+)`)

// startServe runs `berth registry serve --addr 127.0.0.1:0 ARGS...` and waits until it listens.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	p, err := startServeErr(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tryStartServe is startServe for a server that may fail to start yet (its storage is not up).
func tryStartServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	p, err := startServeErr(t, args...)
	if err != nil {
		t.Log(err)
		return nil
	}
	return p
}

func startServeErr(t *testing.T, args ...string) (*serveProc, error) {
	cmd := exec.Command(berth(t), append([]string{"registry", "serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				addrc <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.addr = <-addrc:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("berth registry serve exited: %s", p.logText())
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("berth registry serve did not start: %s", p.logText())
	}
}

func TestServeProcessLogsAndMetrics(t *testing.T) {
	p := startServe(t, "--storage", t.TempDir())
	r, err := name.ParseReference(p.addr+"/e2e/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := randomImage(t, 1024, 1, "")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`berth_registry_http_requests_total{method="PUT",code="201"} 3`,
		"# TYPE berth_registry_http_request_duration_seconds histogram", "berth_registry_manifests_pushed_total 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	// One line per request: time, client, method, path, status, bytes, duration.
	lineRE := regexp.MustCompile(`(?m)^\S+Z 127\.0\.0\.1 PUT "/v2/e2e/app/manifests/1" 201 0 [0-9.]+(µs|ms|s)$`)
	deadline := time.Now().Add(5 * time.Second)
	for !lineRE.MatchString(p.logText()) {
		if time.Now().After(deadline) {
			t.Fatalf("no request log line for the manifest PUT:\n%s", p.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKilledServerKeepsAcknowledgedPushes kills the server with SIGKILL while pushes are in
// flight, restarts it on the same storage and pulls back every push that was acknowledged.
func TestKilledServerKeepsAcknowledgedPushes(t *testing.T) {
	storage := t.TempDir()
	p := startServe(t, "--storage", storage, "-q")
	type pushed struct {
		tag string
		d   v1.Hash
	}
	var mu sync.Mutex
	var acked []pushed
	const perWorker = 100
	var imgs [4][perWorker]v1.Image
	for w := range imgs {
		for i := range imgs[w] {
			imgs[w][i] = randomImage(t, 16<<10, 2, "")
		}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				tag := fmt.Sprintf("w%d-%d", w, i)
				img := imgs[w][i]
				r, _ := name.ParseReference(p.addr+"/kill/app:"+tag, name.Insecure)
				if err := remote.Write(r, img, remote.WithRetryBackoff(remote.Backoff{Steps: 1})); err != nil {
					return // the server is gone
				}
				d, _ := img.Digest()
				mu.Lock()
				acked = append(acked, pushed{tag, d})
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 12 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	wg.Wait()
	p2 := startServe(t, "--storage", storage, "-q")
	for _, a := range acked {
		r, _ := name.ParseReference(p2.addr+"/kill/app:"+a.tag, name.Insecure)
		pullAndVerify(t, r, a.d)
	}
	t.Logf("%d acknowledged pushes survived SIGKILL", len(acked))
}

func TestSkopeoInterop(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed")
	}
	_, ts := newTestServer(t, Config{})
	img := randomImage(t, 4096, 2, "")
	if err := remote.Write(ref(t, ts, "interop/src:1"), img); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(skopeo, append([]string{"--insecure-policy"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo %v: %v\n%s", args, err, out)
		}
	}
	// berth -> OCI layout -> berth, and berth -> berth directly.
	run("copy", "--src-tls-verify=false", "docker://"+host(ts)+"/interop/src:1", "oci:"+dir+":img")
	run("copy", "--dest-tls-verify=false", "oci:"+dir+":img", "docker://"+host(ts)+"/interop/back:1")
	run("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"+host(ts)+"/interop/src:1", "docker://"+host(ts)+"/interop/copy:1")
	for _, repo := range []string{"interop/back:1", "interop/copy:1"} {
		got, err := remote.Image(ref(t, ts, repo))
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := got.Layers()
		want, _ := img.Layers()
		if len(layers) != len(want) {
			t.Fatalf("%s: %d layers, want %d", repo, len(layers), len(want))
		}
		for i := range layers {
			a, _ := layers[i].Digest()
			b, _ := want[i].Digest()
			if a != b {
				t.Fatalf("%s: layer %d is %s, want %s", repo, i, a, b)
			}
		}
		d, _ := got.Digest()
		pullAndVerify(t, ref(t, ts, repo), d)
	}
	cmd := exec.Command(skopeo, "inspect", "--tls-verify=false", "docker://"+host(ts)+"/interop/copy:1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
}
