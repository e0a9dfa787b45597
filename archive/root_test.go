//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// rootTree makes, under root: etc/hosts, abs -> /etc (absolute: inside the root), up ->
// ../../outside (climbs: clamped at the root), loop -> loop, dangling -> /nonexist, and
// escape -> OUTSIDE (the host path of the sandbox's outside directory).
func rootTree(t *testing.T, root, outside string) {
	t.Helper()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("inside\n"), 0o644)
	for name, target := range map[string]string{
		"abs": "/etc", "up": "../../outside", "loop": "loop", "dangling": "/nonexist", "escape": outside,
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRootLookup(t *testing.T) {
	withResolvers(t, func(t *testing.T) {
		root, outside, check := sandbox(t)
		defer check()
		rootTree(t, root, outside)
		r, err := OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, c := range []struct {
			p      string
			follow bool
			want   string // the entry's Path, its mode type, or the error's text
		}{
			{"/etc/hosts", false, "/etc/hosts -"},
			{"abs/hosts", false, "/abs/hosts -"},
			{"/abs", false, "/abs L"},
			{"/abs", true, "/etc d"},
			{"/../../etc/hosts", false, "/etc/hosts -"},
			{"/escape", true, "lstat " + outside + ": no such file or directory"},
			{"/escape/passwd", false, "lstat /escape/passwd: no such file or directory"},
			{"/up/passwd", false, "lstat /up/passwd: no such file or directory"},
			{"/dangling", true, "lstat /nonexist: no such file or directory"},
			{"/loop", true, "stat /loop: too many levels of symbolic links"},
			{"/etc/hosts/x", false, "lstat /etc/hosts/x: not a directory"},
			{"/", false, "/ d"},
		} {
			e, err := r.Lookup(c.p, c.follow)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = e.Path + " " + e.Mode().Type().String()[:1]
				e.Close()
			}
			if got != c.want {
				t.Errorf("Lookup(%q, %v) = %q, want %q", c.p, c.follow, got, c.want)
			}
			if err != nil && c.want[0] == 'l' && !errors.Is(err, fs.ErrNotExist) && strings.Contains(c.want, "no such") {
				t.Errorf("Lookup(%q): %v is not fs.ErrNotExist", c.p, err)
			}
		}
		f, err := r.Open("/abs/hosts")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "inside\n" {
			t.Errorf("Open through an absolute symlink read %q", b)
		}
		if _, err := r.Open("/escape/passwd"); err == nil {
			t.Errorf("Open followed a symlink out of the root")
		}
	})
}

func tarNames(t *testing.T, b []byte) string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return strings.Join(names, " ")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeSymlink {
			names = append(names, h.Name+"->"+h.Linkname)
		} else {
			names = append(names, h.Name)
		}
	}
}

func TestEntryWriteTarAndApply(t *testing.T) {
	root, outside, check := sandbox(t)
	defer check()
	rootTree(t, root, outside)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e, err := r.Lookup("/", false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.WriteTar(&buf, ""); err != nil {
		t.Fatal(err)
	}
	e.Close()
	want := "abs->/etc dangling->/nonexist escape->" + outside + " etc/ etc/hosts loop->loop up->../../outside"
	if got := tarNames(t, buf.Bytes()); got != want {
		t.Errorf("the root's content = %q, want %q", got, want)
	}
	e, _ = r.Lookup("/abs", true)
	buf.Reset()
	if err := e.WriteTar(&buf, "copy"); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if got := tarNames(t, buf.Bytes()); got != "copy/ copy/hosts" {
		t.Errorf("a followed symlink's tree = %q", got)
	}

	// Apply into a directory found through the root: ".wh." names are plain files with
	// WhiteoutNone, NoOverwriteDirNonDir refuses a file over a directory.
	e, _ = r.Lookup("/abs", true)
	defer e.Close()
	opts := ApplyOptions{Whiteout: WhiteoutNone, NoChown: true, NoOverwriteDirNonDir: true}
	if _, err := e.Apply(bytes.NewReader(mkTar(t, tFile(".wh.hosts", "x", 0o644), tFile("new", "n", 0o600))), opts); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"hosts", ".wh.hosts", "new"} {
		if _, err := os.Lstat(filepath.Join(root, "etc", n)); err != nil {
			t.Errorf("etc/%s: %v", n, err)
		}
	}
	os.Mkdir(filepath.Join(root, "etc", "d"), 0o755)
	if _, err := e.Apply(bytes.NewReader(mkTar(t, tFile("d", "x", 0o644))), opts); err == nil || !strings.Contains(err.Error(), `cannot overwrite directory "d" with non-directory`) {
		t.Errorf("a file over a directory: %v", err)
	}
	if _, err := e.Apply(bytes.NewReader(mkTar(t, tDir("hosts/", 0o755))), opts); err == nil || !strings.Contains(err.Error(), `cannot overwrite non-directory "hosts" with directory`) {
		t.Errorf("a directory over a file: %v", err)
	}
}

// TestRootExchangeRace is CVE-2018-15664 in process: while a goroutine keeps exchanging a
// directory of the root with a symlink to the outside directory, lookups, tars and applies
// through that name never read or write outside.
func TestRootExchangeRace(t *testing.T) {
	withResolvers(t, func(t *testing.T) {
		root, outside, check := sandbox(t)
		defer check()
		os.MkdirAll(filepath.Join(root, "w", "d"), 0o755)
		os.WriteFile(filepath.Join(root, "w", "d", "passwd"), []byte("inside\n"), 0o644)
		if err := os.Symlink(outside, filepath.Join(root, "w", "s")); err != nil {
			t.Fatal(err)
		}
		a, b := filepath.Join(root, "w", "d"), filepath.Join(root, "w", "s")
		if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			t.Skipf("renameat2(RENAME_EXCHANGE): %v", err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
			}
		}()
		defer func() { stop.Store(true); wg.Wait() }()

		r, err := OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		payload := mkTar(t, tFile("payload", "p", 0o644))
		opts := ApplyOptions{Whiteout: WhiteoutNone, NoChown: true}
		var read, wrote int
		for i := 0; i < 1000; i++ {
			if f, err := r.Open("/w/d/passwd"); err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) != "inside\n" {
					t.Fatalf("read %q through the swapped symlink", b)
				}
				read++
			}
			if e, err := r.Lookup("/w/d", false); err == nil {
				var buf bytes.Buffer
				if err := e.WriteTar(&buf, "d"); err == nil && strings.Contains(tarNames(t, buf.Bytes()), "d/etc/") {
					t.Fatalf("the tar of /w/d has the outside's content: %s", tarNames(t, buf.Bytes()))
				}
				e.Close()
			}
			if e, err := r.Lookup("/w/d", true); err == nil {
				if e.IsDir() {
					if _, err := e.Apply(bytes.NewReader(payload), opts); err == nil {
						wrote++
					}
				}
				e.Close()
			}
		}
		if read == 0 || wrote == 0 {
			t.Errorf("the race left nothing to check: %d reads, %d writes", read, wrote)
		}
	})
}

func TestRootMkdirAll(t *testing.T) {
	withResolvers(t, func(t *testing.T) {
		root, outside, check := sandbox(t)
		defer check()
		rootTree(t, root, outside)
		r, err := OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		uid, gid := os.Getuid(), os.Getgid()
		// Through a symlink to the host's outside directory (dangling inside the root): made
		// where it leads inside the root, nothing outside (check).
		if err := r.MkdirAll("/escape/new", 0o750, uid, gid); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(root, outside, "new")); err != nil || !fi.IsDir() {
			t.Errorf("MkdirAll through a dangling symlink: %v", err)
		}
		if err := r.MkdirAll("/up/../../x/y", 0o750, uid, gid); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "x", "y")); err != nil {
			t.Errorf("MkdirAll with .. above the root: %v", err)
		}
		if err := r.MkdirAll("/loop/x", 0o750, uid, gid); err == nil {
			t.Errorf("MkdirAll through a symlink loop succeeded")
		}
		// Through an absolute symlink inside the root: created where it leads in the root.
		if err := r.MkdirAll("/abs/new/deeper", 0o750, uid, gid); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(root, "etc", "new", "deeper"))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Errorf("MkdirAll through an absolute symlink: %v %v", fi, err)
		}
		if err := r.MkdirAll("/etc/hosts/x", 0o755, uid, gid); err == nil {
			t.Errorf("MkdirAll below a file succeeded")
		}
		if err := r.MkdirAll("/abs", 0o755, uid, gid); err != nil {
			t.Errorf("MkdirAll of an existing directory (through a symlink): %v", err)
		}
	})
}
