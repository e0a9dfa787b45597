package api

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
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

var (
	containersBinOnce sync.Once
	containersBin     string
	containersBinErr  error
)

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

// containersSkip skips a test when the machine cannot run containers.
func containersSkip(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container API tests need root (mounts, namespaces, cgroups)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("container API tests need runc on PATH (Debian: apt-get install runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("container API tests need busybox-static at /bin/busybox")
	}
}

func containersBuild(t *testing.T) string {
	t.Helper()
	containersBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-api-ctr-bin-")
		if err != nil {
			containersBinErr = err
			return
		}
		containersBin = filepath.Join(dir, "berth")
		cmd := exec.Command("go", "build", "-o", containersBin, "github.com/berth-engine/berth/cmd/berth")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			containersBinErr = fmt.Errorf("building berth: %v\n%s", err, out)
		}
	})
	if containersBinErr != nil {
		t.Fatal(containersBinErr)
	}
	return containersBin
}

// newContainersEnv starts berth serve on a fresh root with bb:1 imported.
func newContainersEnv(t *testing.T) *containersEnv {
	t.Helper()
	containersSkip(t)
	bin := containersBuild(t)
	root, err := os.MkdirTemp("", "bta-")
	if err != nil {
		t.Fatal(err)
	}
	e := &containersEnv{t: t, root: root, bin: bin, sock: filepath.Join(root, "s.sock"), ctx: context.Background()}
	t.Cleanup(e.cleanup)
	tarPath := filepath.Join(root, "busybox.tar")
	if err := os.WriteFile(tarPath, containersBusyboxTar(t), 0o644); err != nil {
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

// containersBusyboxTar is a busybox rootfs as a tarball.
func containersBusyboxTar(t *testing.T) []byte {
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
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox"})
		}
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	tw.Close()
	return buf.Bytes()
}
