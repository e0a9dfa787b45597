package api

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// The docker CLIs (clients only; no daemon is involved) through berth serve: `run` without -d
// attaches before it starts, `run -i` sends stdin, `run -it` and `exec -it` work through a
// terminal with its size.
func TestDockerCLIRunAndExec(t *testing.T) {
	testNeedsContainers(t)
	var clis []string
	for _, p := range []string{"/usr/bin/docker", "/usr/local/bin/docker"} {
		if _, err := os.Stat(p); err == nil {
			clis = append(clis, p)
		}
	}
	if len(clis) == 0 {
		t.Skip("no docker CLI at /usr/bin/docker or /usr/local/bin/docker (Debian: apt-get install docker.io)")
	}
	e := newExecEnv(t)
	cfg := t.TempDir()
	docker := func(cli string, stdin io.Reader, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(cli, args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+cfg)
		cmd.Stdin = stdin
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	id := e.berth("run", "-d", "busybox", "sleep", "300")
	for _, cli := range clis {
		if out, code := docker(cli, nil, "run", "--rm", "busybox", "echo", "hi"); code != 0 || out != "hi\n" {
			t.Errorf("%s run --rm: %d %q", cli, code, out)
		}
		if out, code := docker(cli, nil, "run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"); code != 3 || !strings.Contains(out, "out\n") || !strings.Contains(out, "err\n") {
			t.Errorf("%s run: %d %q", cli, code, out)
		}
		if out, code := docker(cli, nil, "run", "--rm", "busybox", "sh", "-c", "exit 3"); code != 3 || out != "" {
			t.Errorf("%s run --rm's exit code: %d %q", cli, code, out)
		}
		if out, code := docker(cli, strings.NewReader("piped\n"), "run", "-i", "--rm", "busybox", "cat"); code != 0 || out != "piped\n" {
			t.Errorf("%s run -i: %d %q", cli, code, out)
		}
		if out, code := docker(cli, nil, "exec", id, "sh", "-c", "echo in; exit 5"); code != 5 || out != "in\n" {
			t.Errorf("%s exec: %d %q", cli, code, out)
		}
		for _, args := range [][]string{{"run", "-it", "--rm", "busybox", "sh"}, {"exec", "-it", id, "sh"}} {
			cmd := exec.Command(cli, args...)
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_CONFIG="+cfg)
			f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 27, Cols: 83})
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			go func() { b, _ := io.ReadAll(f); got <- string(b) }()
			time.Sleep(500 * time.Millisecond) // the shell's prompt; input typed earlier is echoed twice, not lost
			io.WriteString(f, "stty size; exit 6\r")
			err = cmd.Wait()
			f.Close()
			out := <-got
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 6 || !strings.Contains(out, "27 83") {
				t.Errorf("%s %s through a terminal: %d %q", cli, strings.Join(args, " "), code, out)
			}
		}
	}
}
