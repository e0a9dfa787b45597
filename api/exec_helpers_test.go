package api

// Helpers of the streams group's tests (attach, exec, volumes, networks, build): the real berth
// binary serving a fresh root on a unix socket, driven through github.com/moby/moby/client and
// the berth CLI. They need root, runc and overlayfs and skip without them.

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// execEnv is one test's berth root with a busybox image "busybox:latest", served by
// `berth serve` on sock.
type execEnv struct {
	t      *testing.T
	root   string
	bin    string
	sock   string
	client *client.Client
	serve  *exec.Cmd
}

// newExecEnv makes a root with busybox imported and starts berth serve on it.
func newExecEnv(t *testing.T) *execEnv {
	t.Helper()
	testNeedsContainers(t)
	bin := testBerth(t)
	// A short root: overlay options and runc's paths stay well under their limits.
	root, err := os.MkdirTemp("", "bta-")
	if err != nil {
		t.Fatal(err)
	}
	e := &execEnv{t: t, root: root, bin: bin, sock: filepath.Join(root, "api.sock")}
	t.Cleanup(e.cleanup)
	tarPath := filepath.Join(root, "busybox.tar")
	if err := os.WriteFile(tarPath, testBusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.berth("import", "-c", `CMD ["sh"]`, tarPath, "busybox:latest")
	e.serve = exec.Command(bin, "--root", root, "serve", "-H", "unix://"+e.sock)
	log := &execLockedBuffer{}
	e.serve.Stdout, e.serve.Stderr = log, log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("berth serve's log:\n%s", log.String())
		}
	})
	e.serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.serve.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(e.sock); err == nil {
			break
		}
		if i > 300 {
			t.Fatalf("berth serve did not listen on %s: %s", e.sock, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := client.New(client.WithHost("unix://"+e.sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	return e
}

// berth runs the CLI on the test's root and fails the test unless it succeeds.
func (e *execEnv) berth(args ...string) string {
	e.t.Helper()
	out, err := exec.Command(e.bin, append([]string{"--root", e.root}, args...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// berthRun runs the CLI and returns its output and exit code.
func (e *execEnv) berthRun(args ...string) (string, int) {
	e.t.Helper()
	out, err := exec.Command(e.bin, append([]string{"--root", e.root}, args...)...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return string(out), code
}

func (e *execEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// cleanup stops the server, removes every container and network, and checks nothing stays
// mounted under the root.
func (e *execEnv) cleanup() {
	if e.client != nil {
		e.client.Close()
	}
	if e.serve != nil && e.serve.Process != nil {
		e.serve.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { e.serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			e.serve.Process.Kill()
			<-done
		}
	}
	out, _ := exec.Command(e.bin, "--root", e.root, "ps", "-aq", "--no-trunc").Output()
	for _, id := range strings.Fields(string(out)) {
		exec.Command(e.bin, "--root", e.root, "rm", "-f", id).Run()
	}
	out, _ = exec.Command(e.bin, "--root", e.root, "network", "ls", "-q", "--filter", "type=custom").Output()
	for _, id := range strings.Fields(string(out)) {
		exec.Command(e.bin, "--root", e.root, "network", "rm", id).Run()
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], e.root+"/") {
				e.t.Errorf("left mounted after the test: %s", f[4])
				unix.Unmount(f[4], unix.MNT_DETACH)
			}
		}
	}
	os.RemoveAll(e.root)
}

// execWaitExited waits (at most a minute) for a container to stop running.
func (e *execEnv) execWaitExited(id string) {
	e.t.Helper()
	for i := 0; i < 600; i++ {
		if e.berth("inspect", "-f", "{{.State.Running}}", id) == "false" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("container %s still runs", id)
}

// dialSocket connects to the server's socket.
func (e *execEnv) dialSocket() (net.Conn, error) {
	return net.Dial("unix", e.sock)
}

// httpClient speaks HTTP to the server's socket.
func (e *execEnv) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", e.sock)
	}}}
}

// httpPost posts an empty body to path and returns the status.
func (e *execEnv) httpPost(path string) (int, error) {
	resp, err := e.httpClient().Post("http://berth"+path, "application/json", nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// httpDo sends a request with a JSON body and returns the status and the body.
func (e *execEnv) httpDo(method, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, "http://berth"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.httpClient().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// execLockedBuffer is a bytes.Buffer written by a child process and read by the test.
type execLockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *execLockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *execLockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
