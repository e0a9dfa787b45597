package e2e_test

// Small Docker habits (issue 18), each recorded from Docker 20.10 running the same command.

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParityRmiForceMissing: `rmi -f` of an image that is not there still prints the error but
// exits 0, and the other arguments are removed. Docker 20.10:
//
//	$ docker rmi -f nosuch:1 ptest:1; echo $?
//	Untagged: ptest:1                                       (stdout)
//	Error response from daemon: No such image: nosuch:1     (stderr)
//	0
func TestParityRmiForceMissing(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "a", "a"), "keep:1")
	e.ok("tag", "keep:1", "ptest:1")
	r := e.run("rmi", "-f", "nosuch:1", "ptest:1")
	if r.code != 0 || r.stdout != "Untagged: ptest:1\n" || r.stderr != "Error: No such image: nosuch:1\n" {
		t.Errorf("rmi -f with a missing image: %s", r)
	}
	if got := e.names(); got != "keep:1" {
		t.Errorf("left: %s", got)
	}
	r = e.run("rmi", "-f", "nosuch:1", "nosuch:2")
	if r.code != 0 || r.stdout != "" || r.stderr != "Error: No such image: nosuch:1\nError: No such image: nosuch:2\n" {
		t.Errorf("rmi -f of two missing images: %s", r)
	}
	// Without -f it is still a failure.
	e.fails(1, "Error: No such image: nosuch:1\n", "rmi", "nosuch:1")
}

// TestParitySaveFileMode: `save -o` writes a 0600 file, replacing an existing file's mode too
// (Docker 20.10: `stat -c %a` of the file is 600 in both cases, with umask 022).
func TestParitySaveFileMode(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "a", "a"), "keep:1")
	fresh := filepath.Join(e.dir, "fresh.tar")
	e.ok("save", "-o", fresh, "keep:1")
	old := filepath.Join(e.dir, "old.tar")
	if err := os.WriteFile(old, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("save", "-o", old, "keep:1")
	for _, p := range []string{fresh, old} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() < 1024 {
			t.Errorf("%s: mode %v, %d bytes; want 0600 and an archive", p, fi.Mode().Perm(), fi.Size())
		}
	}
}
