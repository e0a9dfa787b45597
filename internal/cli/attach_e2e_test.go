package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Docker 20.10's behaviour, checked against its daemon, is what these expect.

func TestContainerAttachStdin(t *testing.T) {
	e := newCtrEnv(t)
	// create -i: StdinOnce, so the end of the attached stdin is the end of cat's.
	e.ok("create", "-i", "--name", "cat1", "bb:1", "cat")
	if got := e.inspect("cat1", "{{.Config.OpenStdin}} {{.Config.StdinOnce}}"); got != "true true" {
		t.Errorf("create -i: OpenStdin StdinOnce = %q", got)
	}
	e.ok("start", "cat1")
	// The shim's socket, for root only, gone with the shim.
	sock := filepath.Join(e.root, "containers", e.inspect("cat1", "{{.Id}}"), "attach.sock")
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("attach socket: %v %v", fi, err)
	}
	out, errs, code := e.runIn("hello\n", "attach", "cat1")
	if out != "hello\n" || code != 0 {
		t.Errorf("echo hello | attach cat1: %q %q exit %d", out, errs, code)
	}
	e.ok("wait", "cat1")
	for i := 0; i < 40; i++ { // the shim removes it as it ends, just after recording the exit
		if _, err := os.Stat(sock); os.IsNotExist(err) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("attach socket after the shim: %v", err)
	}
	if got := e.inspect("cat1", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 0" {
		t.Errorf("after attach: %q", got)
	}
	// run -d -i keeps stdin open but attaches none: Docker's CLI sets no StdinOnce.
	e.ok("run", "-d", "-i", "--name", "dd", "bb:1", "cat")
	if got := e.inspect("dd", "{{.Config.OpenStdin}} {{.Config.StdinOnce}}"); got != "true false" {
		t.Errorf("run -d -i: OpenStdin StdinOnce = %q", got)
	}
	e.ok("rm", "-f", "dd")
}

func TestContainerAttachStreams(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "c2", "bb:1", "sh", "-c", "sleep 1; echo out; echo err >&2; exit 3")
	out, errs, code := e.run("attach", "c2")
	if out != "out\n" || errs != "err\n" || code != 3 {
		t.Errorf("attach c2: stdout %q stderr %q exit %d", out, errs, code)
	}
	// Errors in Docker's words.
	e.ok("create", "--name", "stopped", "bb:1", "true")
	if out, errs, code := e.run("attach", "stopped"); out != "" || errs != "You cannot attach to a stopped container, start it first\n" || code != 1 {
		t.Errorf("attach stopped: %q %q exit %d", out, errs, code)
	}
	if _, errs, code := e.run("attach", "nosuch"); errs != "Error: No such container: nosuch\n" || code != 1 {
		t.Errorf("attach nosuch: %q exit %d", errs, code)
	}
	e.ok("run", "-d", "--name", "paused", "bb:1", "sleep", "100")
	if _, _, code := e.run("pause", "paused"); code == 0 {
		if _, errs, code := e.run("attach", "paused"); errs != "You cannot attach to a paused container, unpause it first\n" || code != 1 {
			t.Errorf("attach paused: %q exit %d", errs, code)
		}
		e.ok("unpause", "paused")
	}
	e.ok("rm", "-f", "paused")
}

func TestContainerStartAttach(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("create", "--name", "sa", "bb:1", "sh", "-c", "echo o; echo e >&2; exit 4")
	out, errs, code := e.run("start", "-a", "sa")
	if out != "o\n" || errs != "e\n" || code != 4 {
		t.Errorf("start -a: stdout %q stderr %q exit %d", out, errs, code)
	}
	e.ok("create", "-i", "--name", "si", "bb:1", "cat")
	out, errs, code = e.runIn("in\n", "start", "-ai", "si")
	if out != "in\n" || code != 0 {
		t.Errorf("start -ai: %q %q exit %d", out, errs, code)
	}
}

func TestContainerAttachSigProxy(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "sig", "bb:1", "sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done")
	c := e.cmd("attach", "sig")
	var out syncBuffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	c.Process.Signal(syscall.SIGTERM)
	if code := waitCode(t, c, 15*time.Second, &out); code != 7 {
		t.Errorf("attach after SIGTERM: exit %d, output %q", code, out.String())
	}
	if !strings.Contains(out.String(), "got-term") {
		t.Errorf("output = %q", out.String())
	}
}

func TestContainerAttachTTY(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-dit", "--name", "tt", "bb:1", "sh")
	for _, keys := range []string{"", "ctrl-x,y"} {
		args := []string{"attach", "tt"}
		seq := "\x10\x11"
		if keys != "" {
			args = append(args, "--detach-keys", keys)
			seq = "\x18y"
		}
		c := e.cmd(args...)
		f, err := pty.Start(c)
		if err != nil {
			t.Fatal(err)
		}
		var out syncBuffer
		go io.Copy(&out, f)
		time.Sleep(500 * time.Millisecond)
		f.Write([]byte("echo typed-$((40+2))\n"))
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "typed-42") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		f.Write([]byte(seq))
		// Docker: "read escape sequence" on stderr, exit 1.
		if code := waitCode(t, c, 10*time.Second, &out); code != 1 {
			t.Errorf("detach %q: exit %d", keys, code)
		}
		// The message may still be in the pty when the process has exited: read it out before
		// closing the pty (closing first lost it now and then).
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "read escape sequence") && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		f.Close()
		s := out.String()
		if !strings.Contains(s, "echo typed-$((40+2))") || !strings.Contains(s, "typed-42") || !strings.Contains(s, "read escape sequence") {
			t.Errorf("attach %q output = %q", keys, s)
		}
		if got := e.inspect("tt", "{{.State.Status}}"); got != "running" {
			t.Errorf("after detach: %s", got)
		}
	}
	e.ok("rm", "-f", "tt")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ptySession runs berth on a pseudo-terminal, as a user at a terminal does.
type ptySession struct {
	t   *testing.T
	c   *exec.Cmd
	f   *os.File
	out syncBuffer
}

func startPTY(t *testing.T, c *exec.Cmd) *ptySession {
	t.Helper()
	f, err := pty.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, c: c, f: f}
	go io.Copy(&s.out, f)
	t.Cleanup(func() { c.Process.Kill(); f.Close() })
	return s
}

// typeAndSee types line and waits until want shows in the output.
func (s *ptySession) typeAndSee(line, want string) {
	s.t.Helper()
	s.f.Write([]byte(line))
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(s.out.String(), want); {
		if time.Now().After(deadline) {
			s.t.Fatalf("%q never showed after typing %q: %q", want, line, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// end waits for the client's exit code, then for want in its output (read before the pty closes).
func (s *ptySession) end(want string) int {
	s.t.Helper()
	code := waitCode(s.t, s.c, 15*time.Second, &s.out)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.out.String(), want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(s.out.String(), want) {
		s.t.Errorf("%s: no %q in %q", strings.Join(s.c.Args, " "), want, s.out.String())
	}
	return code
}

// Docker 20.10, through a real terminal: ctrl-p ctrl-q leaves `run -it` silently (exit 0) with
// the container running; `attach` and `exec -it` print "read escape sequence" and exit 1; the
// keys come from --detach-keys or from detachKeys in the client's config.json; a `run -it`
// client killed leaves the container running for `attach`.
func TestRunTTYDetachKeys(t *testing.T) {
	e := newCtrEnv(t)
	s := startPTY(t, e.cmd("run", "-it", "--name", "rt", "bb:1", "sh"))
	s.typeAndSee("echo run-$((20+1))\n", "run-21")
	s.f.Write([]byte{0x10, 0x11})
	if code := s.end(""); code != 0 || strings.Contains(s.out.String(), "read escape sequence") {
		t.Errorf("run -it detached: exit %d, output %q", code, s.out.String())
	}
	if got := e.inspect("rt", "{{.State.Status}}"); got != "running" {
		t.Fatalf("after run -it detached: %s", got)
	}

	// detachKeys from the client's config.
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"detachKeys":"ctrl-a,a"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := e.cmd("attach", "rt")
	c.Env = append(c.Env, "DOCKER_CONFIG="+cfg)
	s = startPTY(t, c)
	time.Sleep(300 * time.Millisecond)
	s.typeAndSee("echo back-$((30+3))\n", "back-33")
	s.f.Write([]byte{0x10, 0x11}) // not the keys now: the shell gets them
	s.f.Write([]byte{0x01, 'a'})
	if code := s.end("read escape sequence"); code != 1 {
		t.Errorf("attach detached by config keys: exit %d", code)
	}

	// exec -it: Docker's words; --detach-keys over the config.
	c = e.cmd("exec", "-it", "--detach-keys", "ctrl-x,y", "rt", "sh")
	c.Env = append(c.Env, "DOCKER_CONFIG="+cfg)
	s = startPTY(t, c)
	s.typeAndSee("echo exec-$((40+4))\n", "exec-44")
	s.f.Write([]byte{0x18, 'y'})
	if code := s.end("read escape sequence"); code != 1 {
		t.Errorf("exec -it detached: exit %d", code)
	}
	if got := e.inspect("rt", "{{.State.Status}}"); got != "running" {
		t.Errorf("after exec detached: %s", got)
	}
	// A spec berth cannot read is refused as Docker's daemon refuses it.
	if _, errs, code := e.run("attach", "--detach-keys", "ctrl-1", "rt"); errs != "Error: Invalid detach keys (ctrl-1) provided\n" || code != 1 {
		t.Errorf("attach --detach-keys ctrl-1: %q exit %d", errs, code)
	}
	e.ok("rm", "-f", "rt")
}

func TestAttachAfterRunClientKilled(t *testing.T) {
	e := newCtrEnv(t)
	s := startPTY(t, e.cmd("run", "-it", "--name", "rk", "bb:1", "sh"))
	s.typeAndSee("echo first-$((1+1))\n", "first-2")
	s.c.Process.Signal(syscall.SIGKILL)
	s.c.Wait()
	if got := e.inspect("rk", "{{.State.Status}}"); got != "running" {
		t.Fatalf("after the run client was killed: %s", got)
	}
	a := startPTY(t, e.cmd("attach", "rk"))
	time.Sleep(300 * time.Millisecond)
	a.typeAndSee("echo again-$((2+3))\n", "again-5")
	a.f.Write([]byte("exit 6\n"))
	if code := a.end(""); code != 6 {
		t.Errorf("attach, then exit 6: exit %d", code)
	}
	if got := e.inspect("rk", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 6" {
		t.Errorf("after exit: %s", got)
	}
}

// Docker 20.10: an `exec -it` detached with ctrl-p ctrl-q ("read escape sequence", exit 1) leaves
// its process running, its terminal held by the daemon; berth's exec-shim holds it. Under both
// runtimes (crun proxies the terminal's master to berth, runc a terminal of berth's).
func TestExecTTYDetachKeepsProcess(t *testing.T) {
	e := newCtrEnv(t)
	for _, rt := range []string{"crun", "runc"} {
		if _, err := exec.LookPath(rt); err != nil {
			t.Logf("%s not installed: skipped", rt)
			continue
		}
		name := "ed-" + rt
		e.ok("run", "-d", "--runtime", rt, "--name", name, "bb:1", "sleep", "1000")
		s := startPTY(t, e.cmd("exec", "-it", name, "sh"))
		s.typeAndSee("echo in-$((50+5)); exec sleep 4242\n", "in-55")
		time.Sleep(200 * time.Millisecond)
		s.f.Write([]byte{0x10, 0x11})
		if code := s.end("read escape sequence"); code != 1 {
			t.Errorf("%s: exec -it detached: exit %d", rt, code)
		}
		time.Sleep(500 * time.Millisecond) // a SIGHUP would have ended it by now
		out, errs, code := e.run("top", name)
		if code != 0 || !strings.Contains(out, "sleep 4242") {
			t.Errorf("%s: after exec -it detached, top: %q %q exit %d", rt, out, errs, code)
		}
		// A second exec -it still works, and its exit code is the process's.
		s = startPTY(t, e.cmd("exec", "-it", name, "sh"))
		s.typeAndSee("echo again-$((6+1))\n", "again-7")
		s.f.Write([]byte("exit 3\n"))
		if code := s.end(""); code != 3 {
			t.Errorf("%s: exec -it, exit 3: exit %d", rt, code)
		}
		e.ok("rm", "-f", name)
	}
}
