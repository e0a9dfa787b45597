//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// treeState describes a tree for comparisons: type, mode, owner, device
// numbers, link targets, contents and user/trusted xattrs (not times).
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s %o %d:%d", rel, st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case unix.S_IFREG:
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q nlink=%d", b, st.Nlink)
		case unix.S_IFCHR, unix.S_IFBLK:
			line += fmt.Sprintf(" %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		x, err := readXattrs(p)
		if err != nil {
			return err
		}
		var keys []string
		for k := range x {
			if strings.HasPrefix(k, "user.") || (strings.HasPrefix(k, "trusted.") && !strings.HasPrefix(k, "trusted.overlay.")) {
				keys = append(keys, k+"="+x[k])
			}
		}
		sort.Strings(keys)
		lines = append(lines, line+" "+strings.Join(keys, ","))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func mkdirs(t *testing.T, base string, names ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range names {
		m[n] = filepath.Join(base, n)
		if err := os.MkdirAll(m[n], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func mountOverlay(t *testing.T, merged, upper, work string, lowers ...string) {
	t.Helper()
	opts := "lowerdir=" + strings.Join(lowers, ":")
	if upper != "" {
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount overlay here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
}

func diffBytes(t *testing.T, upper string) []byte {
	t.Helper()
	rc, err := Diff(upper)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDiffRoundTrip: changes made in an overlay mount, exported with Diff
// and applied (both ways) reproduce the merged view.
func TestDiffRoundTrip(t *testing.T) {
	requireRoot(t)
	d := mkdirs(t, t.TempDir(), "lower", "upper", "work", "merged", "newlayer", "check", "flat")
	lowerEnts := []ent{
		tDir("etc/", 0o755), tFile("etc/passwd", "root", 0o644), tFile("etc/gone", "x", 0o644),
		tDir("var/", 0o755), tDir("var/cache/", 0o755), tFile("var/cache/a", "a", 0o644), tFile("var/cache/b", "b", 0o644),
		tDir("usr/", 0o755), tFile("usr/keep", "keep", 0o755),
	}
	apply(t, d["lower"], WhiteoutOverlay, lowerEnts...)
	apply(t, d["flat"], WhiteoutApply, lowerEnts...)
	mountOverlay(t, d["merged"], d["upper"], d["work"], d["lower"])

	m := func(n string) string { return filepath.Join(d["merged"], n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(m("etc/gone")))
	must(os.WriteFile(m("etc/passwd"), []byte("root\nuser"), 0o644))
	must(os.RemoveAll(m("var/cache")))
	must(os.Mkdir(m("var/cache"), 0o700)) // opaque now
	must(os.WriteFile(m("var/cache/new"), []byte("new"), 0o600))
	must(os.WriteFile(m("bin-su"), []byte("su"), 0o644))
	must(os.Chmod(m("bin-su"), 0o4755))
	must(os.Link(m("bin-su"), m("bin-su-link")))
	must(os.Symlink("/etc/passwd", m("pw")))
	must(unix.Mkfifo(m("fifo"), 0o640))
	must(unix.Mknod(m("null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(os.Lchown(m("pw"), 12, 34))
	must(unix.Lsetxattr(m("etc/passwd"), "user.tag", []byte("v"), 0))
	want := treeState(t, d["merged"])
	t.Logf("merged:\n%s", want)
	must(unix.Unmount(d["merged"], 0))

	layer := diffBytes(t, d["upper"])
	if again := diffBytes(t, d["upper"]); !bytes.Equal(layer, again) {
		t.Error("Diff is not deterministic")
	}

	// The tar itself.
	var names []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		names = append(names, fmt.Sprintf("%c:%s", hdr.Typeflag, hdr.Name))
		if hdr.Name == "bin-su-link" && hdr.Linkname != "bin-su" {
			t.Errorf("hard link to %q", hdr.Linkname)
		}
		for k := range hdr.PAXRecords {
			if strings.Contains(k, "overlay") {
				t.Errorf("%s: overlay xattr %s in the layer", hdr.Name, k)
			}
		}
	}
	got := strings.Join(names, " ")
	wantNames := "0:bin-su 1:bin-su-link 5:etc/ 0:etc/.wh.gone 0:etc/passwd 6:fifo 3:null 2:pw 5:var/ 5:var/cache/ 0:var/cache/.wh..wh..opq 0:var/cache/new"
	if got != wantNames {
		t.Errorf("layer entries:\n%s\nwant\n%s", got, wantNames)
	}

	// As an overlay layer.
	apply(t, d["newlayer"], WhiteoutOverlay, tarEntries(t, layer)...)
	mountOverlay(t, d["check"], "", "", d["newlayer"], d["lower"])
	if got := treeState(t, d["check"]); got != want {
		t.Errorf("overlay of the diff:\n%s\nwant\n%s", got, want)
	}
	// Flattened.
	if _, err := Apply(d["flat"], bytes.NewReader(layer), ApplyOptions{Whiteout: WhiteoutApply}); err != nil {
		t.Fatal(err)
	}
	if got := treeState(t, d["flat"]); got != want {
		t.Errorf("flattened diff:\n%s\nwant\n%s", got, want)
	}
}

// tarEntries re-reads a tar as entries (for apply).
func tarEntries(t *testing.T, b []byte) []ent {
	var out []ent
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out = append(out, ent{h: hdr, data: data})
	}
}

func TestDiffRejectsMetacopy(t *testing.T) {
	requireRoot(t)
	upper := t.TempDir()
	p := filepath.Join(upper, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(p, "trusted.overlay.metacopy", nil, 0); err != nil {
		t.Skip(err)
	}
	rc, err := Diff(upper)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil || !strings.Contains(err.Error(), "metacopy") {
		t.Errorf("err = %v", err)
	}
}

func TestDiffClose(t *testing.T) {
	upper := t.TempDir()
	if err := os.WriteFile(filepath.Join(upper, "big"), bytes.Repeat([]byte("x"), 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := Diff(upper)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Diff(filepath.Join(upper, "big")); err == nil {
		t.Error("Diff of a file accepted")
	}
}
