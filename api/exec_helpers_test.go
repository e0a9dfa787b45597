package api

// Helpers of the streams group's tests (attach, exec, volumes, networks, build): the real berth
// binary serving a fresh root on a unix socket, driven through github.com/moby/moby/client and
// the berth CLI. They need root, runc and overlayfs and skip without them.

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
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

var (
	execBinOnce sync.Once
	execBinPath string
	execBinErr  error
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

// execNeedsContainers skips a test that runs containers on a machine that cannot.
func execNeedsContainers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container tests need root (mounts, namespaces, cgroups)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("container tests need runc on PATH (Debian: apt-get install runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("container tests need busybox-static at /bin/busybox")
	}
}

// execBerth builds the berth binary once per test process.
func execBerth(t *testing.T) string {
	t.Helper()
	execBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-api-exec-bin-")
		if err != nil {
			execBinErr = err
			return
		}
		execBinPath = filepath.Join(dir, "berth")
		cmd := exec.Command("go", "build", "-o", execBinPath, "github.com/berth-engine/berth/cmd/berth")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			execBinErr = fmt.Errorf("building berth: %v\n%s", err, out)
		}
	})
	if execBinErr != nil {
		t.Fatal(execBinErr)
	}
	return execBinPath
}

// newExecEnv makes a root with busybox imported and starts berth serve on it.
func newExecEnv(t *testing.T) *execEnv {
	t.Helper()
	execNeedsContainers(t)
	bin := execBerth(t)
	// A short root: overlay options and runc's paths stay well under their limits.
	root, err := os.MkdirTemp("", "bta-")
	if err != nil {
		t.Fatal(err)
	}
	e := &execEnv{t: t, root: root, bin: bin, sock: filepath.Join(root, "api.sock")}
	t.Cleanup(e.cleanup)
	tarPath := filepath.Join(root, "busybox.tar")
	if err := os.WriteFile(tarPath, execBusyboxTar(t), 0o644); err != nil {
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

// execBusyboxTar is a busybox-static rootfs tarball.
func execBusyboxTar(t *testing.T) []byte {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode})
	}
	file := func(name string, mode int64, data []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
		tw.Write(data)
	}
	dir("bin/", 0o755)
	dir("etc/", 0o755)
	dir("root/", 0o700)
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bb)
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777})
		}
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	tw.Close()
	return buf.Bytes()
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
