package e2e_test

import (
	"strings"
	"testing"
)

// filterStore holds, oldest first: filt-a:1 (label a=1), filt-b:1 (labels a=2, b=), a dangling
// image, busybox:latest (docker.io/library), localhost:5000/busybox:1 and other/app:v1.
func filterStore(t *testing.T) (*env, map[string]string) {
	e := newEnv(t)
	ids := map[string]string{}
	ids["filt-a:1"] = e.importNamed(fileTar(t, "a", "a"), "filt-a:1", "-c", "LABEL a=1")
	ids["filt-b:1"] = e.importNamed(fileTar(t, "b", "b"), "filt-b:1", "-c", "LABEL a=2 b=")
	ids["dangling"] = e.importTar(fileTar(t, "c", "c"))
	ids["busybox:latest"] = e.importNamed(fileTar(t, "d", "d"), "docker.io/library/busybox")
	ids["localhost:5000/busybox:1"] = e.importNamed(fileTar(t, "e", "e"), "localhost:5000/busybox:1")
	ids["other/app:v1"] = e.importNamed(fileTar(t, "f", "f"), "other/app:v1")
	return e, ids
}

func TestImagesFilters(t *testing.T) {
	e, ids := filterStore(t)
	created := func(ref string) string {
		return strings.TrimSpace(e.ok("inspect", "--format", "{{.Created}}", ref))
	}
	all := "other/app:v1 localhost:5000/busybox:1 busybox:latest <none>:<none> filt-b:1 filt-a:1"
	cases := []struct {
		args []string
		want string // rows newest first, space-separated
	}{
		{nil, all},
		{[]string{"-f", "dangling=true"}, "<none>:<none>"},
		{[]string{"-f", "dangling=false"}, "other/app:v1 localhost:5000/busybox:1 busybox:latest filt-b:1 filt-a:1"},
		{[]string{"-f", "label=a"}, "filt-b:1 filt-a:1"},
		{[]string{"-f", "label=a=1"}, "filt-a:1"},
		{[]string{"-f", "label=b"}, "filt-b:1"},
		{[]string{"-f", "label=b="}, "filt-b:1"},
		{[]string{"-f", "label=a=1", "-f", "label=b"}, ""}, // several labels must all match
		{[]string{"-f", "label=nosuch"}, ""},
		{[]string{"-f", "before=filt-b:1"}, "filt-a:1"},
		{[]string{"-f", "before=" + short(ids["filt-b:1"])}, "filt-a:1"},
		{[]string{"-f", "since=busybox"}, "other/app:v1 localhost:5000/busybox:1"},
		{[]string{"-f", "since=filt-a:1", "-f", "before=busybox:latest"}, "<none>:<none> filt-b:1"},
		{[]string{"-f", "reference=filt-*"}, "filt-b:1 filt-a:1"},
		{[]string{"-f", "reference=filt-a"}, "filt-a:1"},
		{[]string{"-f", "reference=filt-a:1"}, "filt-a:1"},
		{[]string{"-f", "reference=filt-a:2"}, ""},
		{[]string{"-f", "reference=*:v1"}, ""}, // path.Match: * stops at "/"
		{[]string{"-f", "reference=*/*:v1"}, "other/app:v1"},
		{[]string{"-f", "reference=*:1"}, "filt-b:1 filt-a:1"},
		{[]string{"-f", "reference=*/app"}, "other/app:v1"},
		{[]string{"-f", "reference=filt-a", "-f", "reference=other/*"}, "other/app:v1 filt-a:1"},
		// Familiar matching: busybox is docker.io/library/busybox, not localhost:5000/busybox.
		{[]string{"-f", "reference=busybox"}, "busybox:latest"},
		{[]string{"-f", "reference=busybox:latest"}, "busybox:latest"},
		{[]string{"-f", "reference=localhost:5000/*"}, "localhost:5000/busybox:1"},
		{[]string{"-f", "reference=*busybox*"}, "busybox:latest"},
		// Docker 20.10 matches patterns against the familiar form only: the full name finds nothing.
		{[]string{"-f", "reference=docker.io/library/busybox"}, ""},
		{[]string{"-f", "reference=nothing*"}, ""},
		{[]string{"-f", "until=" + created("busybox")}, "<none>:<none> filt-b:1 filt-a:1"},
		{[]string{"-f", "until=2999-01-01T00:00:00Z"}, all},
		{[]string{"-f", "until=1h"}, ""},
		{[]string{"-f", "until=1"}, ""},
		{[]string{"-f", "dangling=false", "-f", "label=a"}, "filt-b:1 filt-a:1"},
		{[]string{"busybox"}, "busybox:latest"},
		{[]string{"filt-*"}, "filt-b:1 filt-a:1"},
		{[]string{"filt-a:1"}, "filt-a:1"},
		{[]string{"localhost:5000/busybox"}, "localhost:5000/busybox:1"},
		{[]string{"-f", "label=a", "filt-b"}, "filt-b:1"},
	}
	for _, c := range cases {
		args := append([]string{"images", "--format", "{{.Repository}}:{{.Tag}}"}, c.args...)
		got := strings.Join(lines(e.ok(args...)), " ")
		if got != c.want {
			t.Errorf("images %s:\n got: %s\nwant: %s", strings.Join(c.args, " "), got, c.want)
		}
	}
}

func TestImagesFilterErrors(t *testing.T) {
	e, _ := filterStore(t)
	before := e.snapshot()
	e.fails(1, "Error: Invalid filter 'foo'\n", "images", "--filter", "foo=bar")
	e.fails(1, "Error: Invalid filter 'dangling=[maybe]'\n", "images", "-f", "dangling=maybe")
	// Docker names a missing before/since image with the tag it defaulted to.
	e.fails(1, "Error: No such image: nosuch:latest\n", "images", "-f", "before=nosuch")
	e.fails(1, "Error: No such image: nosuch:2\n", "images", "-f", "since=nosuch:2")
	r := e.run("images", "-f", "until=garbage")
	if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.HasPrefix(r.stderr, "Error: ") || r.stdout != "" {
		t.Errorf("until=garbage: want exit 1 and one error line, got %s", r)
	}
	// A filter without "=" is a usage error in Docker's CLI: no "Error: " prefix, exit 125.
	r = e.run("images", "--filter", "foo")
	want := `invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)`
	if r.code != 125 || lines(r.stderr) == nil || lines(r.stderr)[0] != want || r.stdout != "" {
		t.Errorf("images --filter foo: want exit 125 and first line %q, got %s", want, r)
	}
	r = e.run("images", "a", "b")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `"berth images" requires at most 1 argument`) {
		t.Errorf("images a b: want exit 1 and Docker's usage error, got %s", r)
	}
	e.unchanged(before, "failed listings")
}
