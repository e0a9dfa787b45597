//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// ent is one tar entry of a test layer.
type ent struct {
	h    *tar.Header
	data []byte
}

var testTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

func tDir(name string, mode int64) ent {
	return ent{h: &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: testTime}}
}

func tFile(name, content string, mode int64) ent {
	return ent{h: &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(content)), ModTime: testTime}, data: []byte(content)}
}

func tSymlink(name, target string) ent {
	return ent{h: &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: testTime}}
}

func tHardlink(name, target string) ent {
	return ent{h: &tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: testTime}}
}

func tWhiteout(name string) ent {
	dir, base := filepath.Split(name)
	return tFile(dir+".wh."+base, "", 0o600)
}

func tOpaque(dir string) ent {
	return tFile(strings.TrimSuffix(dir, "/")+"/.wh..wh..opq", "", 0o600)
}

// mkTar writes the entries as a PAX tar.
func mkTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := *e.h
		if h.Format == tar.FormatUnknown && len(h.PAXRecords) > 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %q: %v", h.Name, err)
		}
		if len(e.data) > 0 {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// snapshot records every path below dir with its type, size, mode, link
// target and content, to prove a tree did not change.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		if !fi.IsDir() {
			line += " " + fi.ModTime().String()
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sandbox returns a fresh layer root and a sibling "outside" directory with
// a file in it, both inside one temp dir. check() fails the test if the
// outside tree or the temp dir's other contents changed.
func sandbox(t testing.TB) (root, outside string, check func()) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(outside, "etc")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "etc", "passwd"), []byte("root:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "passwd"), []byte("sentinel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, outside)
	baseBefore := listNames(t, base)
	return root, outside, func() {
		t.Helper()
		if after := snapshot(t, outside); after != before {
			t.Errorf("outside tree changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if got := listNames(t, base); got != baseBefore {
			t.Errorf("entries next to the root changed: %q, want %q", got, baseBefore)
		}
	}
}

func listNames(t testing.TB, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// withResolvers runs f once with openat2 and once with the pathrs-lite
// fallback.
func withResolvers(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", func(t *testing.T) {
		if !haveOpenat2() {
			t.Skip("kernel has no openat2")
		}
		f(t)
	})
	t.Run("pathrs-lite", func(t *testing.T) {
		disableOpenat2 = true
		defer func() { disableOpenat2 = false }()
		f(t)
	})
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}
