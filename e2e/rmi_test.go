package e2e_test

import (
	"regexp"
	"strings"
	"testing"
)

// layerOf is the chain ID of a one-layer image (its only diff ID).
func (e *env) layerOf(ref string) string {
	e.t.Helper()
	return strings.TrimSpace(e.ok("inspect", "--format", "{{index .RootFS.Layers 0}}", ref))
}

func (e *env) names() string {
	e.t.Helper()
	return strings.Join(lines(e.ok("images", "-a", "--format", "{{.Repository}}:{{.Tag}}")), " ")
}

func TestTag(t *testing.T) {
	e := newEnv(t)
	id := e.importNamed(fileTar(t, "t", "t"), "src:1")
	for _, target := range []string{"dst", "dst:2", "localhost:5000/ns/dst:3", "docker.io/library/lib:4", "index.docker.io/other/img:5"} {
		if out := e.ok("tag", "src:1", target); out != "" {
			t.Errorf("tag printed %q", out)
		}
	}
	e.ok("tag", short(id), "byid:1")
	e.ok("tag", id, "byfullid:1")
	e.ok("image", "tag", "dst", "sub:1")
	want := "byfullid:1 byid:1 dst:2 dst:latest lib:4 localhost:5000/ns/dst:3 other/img:5 src:1 sub:1"
	got := strings.Fields(e.names())
	if strings.Join(sortedCopy(got), " ") != want {
		t.Errorf("names after tagging: %v, want %s", got, want)
	}
	if tags := e.ok("inspect", "--format", "{{json .RepoTags}}", "src:1"); tags != `["byfullid:1","byid:1","dst:2","dst:latest","lib:4","localhost:5000/ns/dst:3","other/img:5","src:1","sub:1"]`+"\n" {
		t.Errorf("RepoTags: %s", tags)
	}
	// Moving a tag leaves the old image dangling.
	id2 := e.importNamed(fileTar(t, "u", "u"), "other:1")
	e.ok("tag", "other:1", "src:1")
	if got := strings.TrimSpace(e.ok("images", "-q", "--no-trunc", "src:1")); got != id2 {
		t.Errorf("src:1 after retagging = %s, want %s", got, id2)
	}

	before := e.snapshot()
	e.fails(1, "Error: No such image: nosuch:latest\n", "tag", "nosuch", "x:1")
	e.fails(1, "Error: No such image: nosuch:2\n", "tag", "nosuch:2", "x:1")
	// A bad target is Docker's client-side error (printed without "Error response from daemon").
	wantLine(t, e.run("tag", "src:1", "Upper:1"), 1,
		`Error parsing reference: "Upper:1" is not a valid repository/tag: invalid reference format: repository name (\(library/Upper\) )?must be lowercase`)
	wantLine(t, e.run("tag", "src:1", "bad ref"), 1, `Error parsing reference: "bad ref" is not a valid repository/tag: invalid reference format`)
	r := e.run("tag", "src:1")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `"berth tag" requires exactly 2 arguments`) {
		t.Errorf("tag with one argument: %s", r)
	}
	e.unchanged(before, "failed tags")
}

// wantLine checks a failure that prints one line matching the regexp re, with or without berth's
// "Error: " prefix (Docker prints client-side errors bare).
func wantLine(t *testing.T, r result, code int, re string) {
	t.Helper()
	if r.code != code || !regexp.MustCompile(`^(Error: )?`+re+"\n$").MatchString(r.stderr) || r.stdout != "" {
		t.Errorf("want exit %d and one line matching %q, got %s", code, re, r)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string{}, s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestRmiUntagThenDelete(t *testing.T) {
	e := newEnv(t)
	id := e.importNamed(fileTar(t, "r", "r"), "rm:1")
	layer := e.layerOf("rm:1")
	e.ok("tag", "rm:1", "rm:2")
	if out := e.ok("rmi", "rm:1"); out != "Untagged: rm:1\n" {
		t.Errorf("rmi of one of two names:\n%s", out)
	}
	if got := e.names(); got != "rm:2" {
		t.Errorf("after untagging: %s", got)
	}
	want := "Untagged: rm:2\nDeleted: " + id + "\nDeleted: " + layer + "\n"
	if out := e.ok("image", "rm", "rm:2"); out != want {
		t.Errorf("rmi of the last name:\n%s\nwant:\n%s", out, want)
	}
	if got := e.names(); got != "" {
		t.Errorf("after deleting: %q", got)
	}
	if files := e.storeFiles(); len(files) != 0 {
		t.Errorf("files left after deleting the only image: %v", files)
	}
}

func TestRmiSharedLayerStays(t *testing.T) {
	e := newEnv(t)
	data := fileTar(t, "s", "s")
	id1 := e.importNamed(data, "one:1")
	e.importNamed(data, "two:1")
	if out, want := e.ok("rmi", "one:1"), "Untagged: one:1\nDeleted: "+id1+"\n"; out != want {
		t.Errorf("rmi of an image whose layer another image uses:\n%s\nwant:\n%s", out, want)
	}
	e.ok("inspect", "two:1")
	if got := e.ok("history", "-q", "two:1"); len(got) != 13 {
		t.Errorf("history of the survivor: %q", got)
	}
}

func TestRmiByID(t *testing.T) {
	e := newEnv(t)
	id := e.importNamed(fileTar(t, "i", "i"), "repo-a:1")
	layer := e.layerOf("repo-a:1")
	e.ok("tag", "repo-a:1", "repo-b:1")
	before := e.snapshot()
	want := "Error: conflict: unable to delete " + short(id) + " (must be forced) - image is referenced in multiple repositories\n"
	e.fails(1, want, "rmi", short(id))
	e.fails(1, want, "rmi", id)
	e.unchanged(before, "a refused rmi")
	// -f untags every name, then deletes.
	e.ok("tag", "repo-a:1", "repo-a:2")
	out := e.ok("rmi", "-f", short(id))
	if want := "Untagged: repo-a:1\nUntagged: repo-a:2\nUntagged: repo-b:1\nDeleted: " + id + "\nDeleted: " + layer + "\n"; out != want {
		t.Errorf("rmi -f by ID:\n%s\nwant:\n%s", out, want)
	}
	// One name: removing by ID untags it and deletes; a dangling image goes by an ID prefix.
	id = e.importNamed(fileTar(t, "j", "j"), "single:1")
	layer = e.layerOf(id)
	if out, want := e.ok("rmi", short(id)), "Untagged: single:1\nDeleted: "+id+"\nDeleted: "+layer+"\n"; out != want {
		t.Errorf("rmi by ID of a one-name image:\n%s\nwant:\n%s", out, want)
	}
	id = e.importTar(fileTar(t, "k", "k"))
	layer = e.layerOf(id)
	if out, want := e.ok("rmi", strings.TrimPrefix(id, "sha256:")[:5]), "Deleted: "+id+"\nDeleted: "+layer+"\n"; out != want {
		t.Errorf("rmi of a dangling image by a 5-digit prefix:\n%s\nwant:\n%s", out, want)
	}
}

// TestRmiByIDTwoTagsOneRepo: Docker's daemon (isSingleReference: one repository AND at most one
// tag) refuses to delete by ID an image with two tags in one repository, in the same words as for
// several repositories.
func TestRmiByIDTwoTagsOneRepo(t *testing.T) {
	e := newEnv(t)
	id := e.importNamed(fileTar(t, "i", "i"), "repo-a:1")
	e.ok("tag", "repo-a:1", "repo-a:2")
	before := e.snapshot()
	e.fails(1, "Error: conflict: unable to delete "+short(id)+" (must be forced) - image is referenced in multiple repositories\n", "rmi", short(id))
	e.unchanged(before, "a refused rmi")
}

func TestRmiSeveralArgs(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "a", "a"), "keep:1")
	e.ok("tag", "keep:1", "keep:2")
	e.importNamed(fileTar(t, "b", "b"), "gone:1")
	e.ok("tag", "gone:1", "gone:2")
	// Every argument is tried; each failure is one "Error: " line of its own, and the exit code
	// is 1. Docker 20.10's CLI echoes the argument as typed ("nosuch", not "nosuch:latest").
	r := e.run("rmi", "keep:2", "nosuch", "gone:1", "e2e-zz:1", "gone:2")
	wantOut := "Untagged: keep:2\nUntagged: gone:1\nUntagged: gone:2\n"
	if r.code != 1 || !strings.HasPrefix(r.stdout, wantOut) {
		t.Errorf("rmi with missing images among others: want exit 1 and stdout starting\n%s\ngot %s", wantOut, r)
	}
	wantErr := "Error: No such image: nosuch\nError: No such image: e2e-zz:1\n"
	if r.stderr != wantErr {
		t.Errorf("stderr:\n%q\nwant:\n%q", r.stderr, wantErr)
	}
	if got := e.names(); got != "keep:1" {
		t.Errorf("left: %s", got)
	}
}

func TestRmiErrors(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "a", "a"), "a:1")
	before := e.snapshot()
	// Docker 20.10's `docker rmi x` prints "Error: No such image: x" (newer clients add ":latest").
	e.fails(1, "Error: No such image: x\n", "rmi", "x")
	e.fails(1, "Error: No such image: nosuch:3\n", "image", "rm", "nosuch:3")
	e.fails(1, "Error: No such image: 0123456789ab\n", "rmi", "0123456789ab")
	zero := "sha256:" + strings.Repeat("0", 64)
	e.fails(1, "Error: No such image: "+zero+"\n", "rmi", zero)
	r := e.run("rmi")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `"berth rmi" requires at least 1 argument`) {
		t.Errorf("rmi without arguments: %s", r)
	}
	e.unchanged(before, "failed rmi")
}

// Commands over several objects report each failure on its own "Error: " line, as Docker 20.10's
// `docker rm nosuch1 nosuch2` and `docker volume rm` do, and exit 1.
func TestSeveralMissingObjectsOneLineEach(t *testing.T) {
	e := newEnv(t)
	e.fails(1, "Error: No such container: nosuch1\nError: No such container: nosuch2\n", "rm", "nosuch1", "nosuch2")
	e.fails(1, "Error: No such volume: nov1\nError: No such volume: nov2\n", "volume", "rm", "nov1", "nov2")
	e.fails(1, "Error: No such image: nosuch1\nError: No such image: nosuch2\n", "rmi", "nosuch1", "nosuch2")
}
