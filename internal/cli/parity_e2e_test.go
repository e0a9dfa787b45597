package cli

// End-to-end tests of small Docker habits (issue 18): each expected output and exit code was
// recorded from Docker 20.10 running the same command on a busybox image.

import (
	"os"
	"path/filepath"
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
