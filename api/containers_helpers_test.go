package api

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// The container group's end-to-end tests drive a real `berth serve` (the binary, built once per
// test process) on a fresh root holding a busybox image "bb:1", through moby's Go client, with
// real runc containers.

// containersEnv is one test's root, its serve process and a client of it.
type containersEnv struct {
	t      *testing.T
	root   string
	bin    string
	sock   string
	serve  *exec.Cmd
	client *client.Client
	ctx    context.Context
}

// newContainersEnv starts berth serve on a fresh root with bb:1 imported.
func newContainersEnv(t *testing.T) *containersEnv {
	t.Helper()
	testNeedsContainers(t)
	bin := testBerth(t)
	root, err := os.MkdirTemp("", "bta-")
	if err != nil {
		t.Fatal(err)
	}
	e := &containersEnv{t: t, root: root, bin: bin, sock: filepath.Join(root, "s.sock"), ctx: context.Background()}
	t.Cleanup(e.cleanup)
	tarPath := filepath.Join(root, "busybox.tar")
	if err := os.WriteFile(tarPath, testBusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.berth("import", "-c", `CMD ["sh"]`, tarPath, "bb:1")
	e.startServe()
	return e
}

// startServe starts berth serve on the root and waits for its socket.
func (e *containersEnv) startServe() {
	e.t.Helper()
	os.Remove(e.sock)
	e.serve = exec.Command(e.bin, "--root", e.root, "serve", "-H", "unix://"+e.sock)
	e.serve.Stderr = &containersLog{}
	if err := e.serve.Start(); err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(e.sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, err := client.New(client.WithHost("unix://"+e.sock), client.WithAPIVersionNegotiation())
	if err != nil {
		e.t.Fatal(err)
	}
	e.client = c
}

// stopServe ends the serve process (its containers' shims stay, as after a daemon restart).
func (e *containersEnv) stopServe() {
	if e.serve == nil {
		return
	}
	e.serve.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.serve.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		e.serve.Process.Kill()
		<-done
	}
	if e.client != nil {
		e.client.Close()
	}
	e.serve = nil
}

type containersLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *containersLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// berth runs the CLI on the env's root and returns its stdout; a failure fails the test.
func (e *containersEnv) berth(args ...string) string {
	e.t.Helper()
	out, errs, err := e.berthTry(args...)
	if err != nil {
		e.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out
}

func (e *containersEnv) berthTry(args ...string) (string, string, error) {
	cmd := exec.Command(e.bin, append([]string{"--root", e.root}, args...)...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	return out.String(), errs.String(), err
}

// cleanup stops serve, removes every container, checks nothing stays mounted, removes the root.
func (e *containersEnv) cleanup() {
	e.stopServe()
	if out, _, _ := e.berthTry("ps", "-aq", "--no-trunc"); out != "" {
		for _, id := range strings.Fields(out) {
			e.berthTry("rm", "-f", id)
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], e.root+"/") {
				e.t.Errorf("left mounted after the test: %s", f[4])
				syscall.Unmount(f[4], syscall.MNT_DETACH)
			}
		}
	}
	os.RemoveAll(e.root)
}
