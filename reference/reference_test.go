package reference

import (
	"strings"
	"testing"
)

func TestParseNormalises(t *testing.T) {
	cases := []struct{ in, full, familiar string }{
		{"busybox", "docker.io/library/busybox", "busybox"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox", "busybox"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"},
		{"user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
		{"localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"},
		{"localhost/x", "localhost/x", "localhost/x"},
		{"127.0.0.1:5000/x@sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/x@sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/x@sha256:" + strings.Repeat("a", 64)},
	}
	for _, c := range cases {
		n, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		if n.String() != c.full {
			t.Errorf("Parse(%q) = %q, want %q", c.in, n.String(), c.full)
		}
		if got := Familiar(n); got != c.familiar {
			t.Errorf("Familiar(%q) = %q, want %q", c.in, got, c.familiar)
		}
	}
}

func TestParseTaggedDefaultsToLatest(t *testing.T) {
	n, err := ParseTagged("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if n.String() != "docker.io/library/busybox:latest" || n.Tag() != "latest" {
		t.Fatalf("got %q", n.String())
	}
	if _, err := ParseTagged("busybox@sha256:" + strings.Repeat("a", 64)); err == nil ||
		err.Error() != "refusing to create a tag with a digest reference" {
		t.Fatalf("digest tag: %v", err)
	}
}

func TestParseErrorsUseDockerWording(t *testing.T) {
	cases := map[string]string{
		"BAD": "invalid reference format: repository name must be lowercase",
		// Docker 20.10: "Error response from daemon: invalid reference format: repository
		// name must be lowercase" (a first component is a host only with a dot, a port or
		// as localhost).
		"Foo/bar":               "invalid reference format: repository name must be lowercase",
		"Foo/bar:1":             "invalid reference format: repository name must be lowercase",
		"a:b:c":                 "invalid reference format",
		"":                      "invalid reference format",
		"-x":                    "invalid reference format",
		strings.Repeat("a", 64): "invalid repository name (" + strings.Repeat("a", 64) + "), cannot specify 64-byte hexadecimal strings",
	}
	for in, want := range cases {
		_, err := Parse(in)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) error = %v, want %q", in, err, want)
		}
	}
	// Hosts with a dot or a port, and localhost, keep their case, as in Docker.
	for _, ok := range []string{"Foo.example/bar", "Foo:5000/bar", "localhost/bar"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

func TestFamiliarMatch(t *testing.T) {
	n, _ := Parse("docker.io/library/busybox:latest")
	for pattern, want := range map[string]bool{
		"busybox":         true,
		"busy*":           true,
		"busybox:latest":  true,
		"busybox:l*":      true,
		"*/busybox":       false,
		"library/busybox": false,
		"alpine":          false,
	} {
		got, err := FamiliarMatch(pattern, n)
		if err != nil || got != want {
			t.Errorf("FamiliarMatch(%q) = %v, %v; want %v", pattern, got, err, want)
		}
	}
}

func TestLooksLikeID(t *testing.T) {
	for s, want := range map[string]bool{
		"84a2d8c5e9ff": true, "sha256:84a2": true, "busybox": false, "84A2": false, "": false,
	} {
		if LooksLikeID(s) != want {
			t.Errorf("LooksLikeID(%q) != %v", s, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"busybox", "a/b:c", "localhost:5000/x@sha256:" + strings.Repeat("0", 64), "UPPER", "::", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed name must round-trip through its stored and familiar forms.
		again, err := ParseStored(n.String())
		if err != nil || again.String() != n.String() {
			t.Fatalf("stored form %q does not round-trip: %v", n.String(), err)
		}
		fam, err := Parse(Familiar(n))
		if err != nil || fam.String() != n.String() {
			t.Fatalf("familiar form %q of %q does not round-trip: %v", Familiar(n), s, err)
		}
	})
}

func TestStoredHelpersAgreeWithParsing(t *testing.T) {
	names := []string{
		"docker.io/library/busybox:latest", "docker.io/user/app:v1", "docker.io/library/a/b:c",
		"localhost:5000/a/b:t", "localhost:5000/x", "127.0.0.1:5000/x@sha256:" + strings.Repeat("a", 64),
		"docker.io/library/busybox@sha256:" + strings.Repeat("b", 64), "quay.io/library/x:1",
	}
	patterns := []string{"busybox", "busy*", "busybox:l*", "*/app", "user/*", "localhost:5000/*/*", "*", "[", "a/b"}
	for _, name := range names {
		n, err := ParseStored(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := FamiliarStored(name), Familiar(n); got != want {
			t.Errorf("FamiliarStored(%q) = %q, want %q", name, got, want)
		}
		if repo, _, _ := SplitStored(name); repo != FamiliarName(n) {
			t.Errorf("SplitStored(%q) repo = %q, want %q", name, repo, FamiliarName(n))
		}
		for _, p := range patterns {
			got, gerr := MatchStored(p, name)
			want, werr := FamiliarMatch(p, n)
			if got != want || (gerr == nil) != (werr == nil) {
				t.Errorf("MatchStored(%q, %q) = %v %v, want %v %v", p, name, got, gerr, want, werr)
			}
		}
	}
}
