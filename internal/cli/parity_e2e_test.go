package cli

// End-to-end tests of small Docker habits (issue 18): each expected output and exit code was
// recorded from Docker 20.10 running the same command on a busybox image.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParityDockerenv: /.dockerenv is in every container, as Docker makes it, and is part of the
// init layer, so `diff` never lists it.
func TestParityDockerenv(t *testing.T) {
	e := newCtrEnv(t)
	// Docker 20.10: `docker run --rm busybox stat -c '%a %u %g %s' /.dockerenv` prints "755 0 0 0".
	if out := e.ok("run", "--name", "env", "bb:1", "stat", "-c", "%a %u %g %s", "/.dockerenv"); out != "755 0 0 0\n" {
		t.Errorf("/.dockerenv = %q, want %q", out, "755 0 0 0\n")
	}
	// Docker 20.10's `docker diff` of a container that changed nothing prints nothing.
	if out := e.ok("diff", "env"); out != "" {
		t.Errorf("diff = %q, want nothing", out)
	}
	// A root whose shared init layer an older berth made (without /.dockerenv) gets it too.
	shared := filepath.Join(e.root, "init-layer")
	if _, err := os.Lstat(filepath.Join(shared, ".dockerenv")); err != nil {
		entries, _ := os.ReadDir(e.root)
		t.Fatalf("the shared init layer has no .dockerenv (%v); root holds %v", err, entries)
	}
	if err := os.Remove(filepath.Join(shared, ".dockerenv")); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("run", "--rm", "bb:1", "ls", "/.dockerenv"); out != "/.dockerenv\n" {
		t.Errorf("after an older init layer: %q", out)
	}
}

// TestParityNotATTY: -it with stdin not a terminal is refused before anything is created, with
// Docker 20.10's bare message and exit code 1; -itd and -t alone are not refused.
func TestParityNotATTY(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "box", "bb:1", "sleep", "300")
	const want = "the input device is not a TTY\n"
	if out, errs, code := e.runIn("x\n", "run", "-it", "--name", "never", "bb:1", "true"); code != 1 || errs != want || out != "" {
		t.Errorf("run -it: exit %d, stdout %q, stderr %q; want 1, %q", code, out, errs, want)
	}
	if _, _, code := e.run("container", "inspect", "never"); code == 0 {
		t.Errorf("run -it without a terminal created a container")
	}
	if out, errs, code := e.run("exec", "-it", "box", "true"); code != 1 || errs != want || out != "" {
		t.Errorf("exec -it: exit %d, stdout %q, stderr %q; want 1, %q", code, out, errs, want)
	}
	if out := e.ok("run", "-t", "--rm", "bb:1", "echo", "hi"); out != "hi\r\n" {
		t.Errorf("run -t = %q", out)
	}
	if out := e.ok("exec", "-i", "box", "echo", "ok"); out != "ok\n" {
		t.Errorf("exec -i = %q", out)
	}
	e.ok("run", "-itd", "--rm", "bb:1", "true")
}

// TestParityExportFileMode: `export -o` writes a 0600 file, and nothing when the container is
// not there (Docker 20.10: mode 600 for a new file and for one that was 0644; for a missing
// container, exit 1 and no file).
func TestParityExportFileMode(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("create", "--name", "ctr", "bb:1", "true")
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.tar")
	e.ok("export", "-o", fresh, "ctr")
	old := filepath.Join(dir, "old.tar")
	if err := os.WriteFile(old, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("export", "-o", old, "ctr")
	for _, p := range []string{fresh, old} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() < 1024 {
			t.Errorf("%s: mode %v, %d bytes; want 0600 and an archive", p, fi.Mode().Perm(), fi.Size())
		}
	}
	if _, errs, code := e.run("export", "-o", filepath.Join(dir, "none.tar"), "nosuch"); code != 1 || errs != "Error: No such container: nosuch\n" {
		t.Errorf("export of a missing container: exit %d, %q", code, errs)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
}

// TestParityTopPsArgs: everything after the container is ps's arguments, and ps's failures are
// reported as Docker reports them. Docker 20.10 on a busybox container running `sleep 300`:
//
//	$ docker top ptop -o pid,comm
//	PID                 COMMAND
//	2120                sleep
//	$ docker top ptop aux
//	USER                PID                 %CPU  ...  COMMAND
//	root                2120                8.0   ...  sleep 300
//	$ docker top ptop -o comm                    (exit 1)
//	Error response from daemon: Couldn't find PID field in ps output
//	$ docker top ptop -o nosuchfield             (exit 1)
//	Error response from daemon: ps: error: unknown user-defined format specifier "nosuchfield"
func TestParityTopPsArgs(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "box", "bb:1", "sleep", "300")
	pid := e.inspect("box", "{{.State.Pid}}")
	want := fmt.Sprintf("%-20s%s\n%-20s%s\n", "PID", "COMMAND", pid, "sleep")
	if out := e.ok("top", "box", "-o", "pid,comm"); out != want {
		t.Errorf("top -o pid,comm =\n%q\nwant\n%q", out, want)
	}
	out := e.ok("top", "box", "aux")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	wantTitle := "USER                PID                 %CPU                %MEM                VSZ                 RSS                 TTY                 STAT                START               TIME                COMMAND"
	if len(lines) != 2 || lines[0] != wantTitle || !strings.HasPrefix(lines[1], fmt.Sprintf("%-20s%-20s", "root", pid)) ||
		!strings.HasSuffix(lines[1], "   sleep 300") {
		t.Errorf("top aux =\n%s", out)
	}
	if _, errs, code := e.run("top", "box", "-o", "comm"); code != 1 || errs != "Error: Couldn't find PID field in ps output\n" {
		t.Errorf("top -o comm: exit %d, %q", code, errs)
	}
	// The wording after "ps: " is the host's ps's (procps-ng here and in Docker's recording).
	if _, errs, code := e.run("top", "box", "-o", "nosuchfield"); code != 1 || !strings.HasPrefix(errs, "Error: ps: ") ||
		!strings.Contains(errs, "nosuchfield") || strings.Count(errs, "\n") != 1 {
		t.Errorf("top -o nosuchfield: exit %d, %q", code, errs)
	}
}

// TestParityImageComment: a built image's Comment is BuildKit's history comment, not its base
// image's; an imported image's is its -m message. Docker 20.10 (DOCKER_BUILDKIT=1):
//
//	$ docker image inspect -f '{{json .Comment}}' built     → "buildkit.dockerfile.v0"
//	$ docker import -m "hello msg" busybox.tar imp:1; docker image inspect -f '{{json .Comment}}' imp:1 → "hello msg"
//	$ docker history --format '{{.Comment}}' imp:1          → hello msg
func TestParityImageComment(t *testing.T) {
	e := newCtrEnv(t)
	ctx := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nENV A=b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("build", "-q", "-t", "built:1", ctx)
	if got := e.ok("image", "inspect", "-f", "{{json .Comment}}", "built:1"); got != "\"buildkit.dockerfile.v0\"\n" {
		t.Errorf("built image's Comment = %s", got)
	}
	if got := e.ok("image", "inspect", "-f", "{{json .Comment}}", "bb:1"); got == "\"buildkit.dockerfile.v0\"\n" {
		t.Errorf("the base image's Comment changed: %s", got)
	}
	tarPath := filepath.Join(ctx, "bb.tar")
	if err := os.WriteFile(tarPath, busyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("import", "-m", "hello msg", tarPath, "imp:1")
	if got := e.ok("image", "inspect", "-f", "{{json .Comment}}", "imp:1"); got != "\"hello msg\"\n" {
		t.Errorf("imported image's Comment = %s", got)
	}
	if got := e.ok("history", "--format", "{{.Comment}}", "imp:1"); got != "hello msg\n" {
		t.Errorf("imported image's history = %q", got)
	}
}
