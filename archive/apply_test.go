//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func apply(t *testing.T, root string, mode WhiteoutFormat, ents ...ent) int64 {
	t.Helper()
	n, err := Apply(root, bytes.NewReader(mkTar(t, ents...)), ApplyOptions{Whiteout: mode})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return n
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return &st
}

func assertNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s: exists (err=%v), want it absent", p, err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func getxattr(t *testing.T, p, attr string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, attr, buf)
	if err != nil {
		t.Fatalf("lgetxattr %s %s: %v", p, attr, err)
	}
	return string(buf[:n])
}

func TestApplyEntryTypes(t *testing.T) {
	requireRoot(t)
	withResolvers(t, func(t *testing.T) {
		root := t.TempDir()
		mtime := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
		atime := time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)
		withTimes := func(e ent) ent {
			e.h.ModTime, e.h.AccessTime, e.h.Format = mtime, atime, tar.FormatPAX
			return e
		}
		owned := func(e ent, uid, gid int) ent { e.h.Uid, e.h.Gid = uid, gid; return e }
		xattrs := func(e ent, kv ...string) ent {
			e.h.PAXRecords = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				e.h.PAXRecords["SCHILY.xattr."+kv[i]] = kv[i+1]
			}
			return e
		}
		ents := []ent{
			withTimes(owned(tDir("usr/", 0o755), 0, 0)),
			withTimes(owned(xattrs(tDir("usr/bin/", 0o750), "user.dir", "d1"), 10, 20)),
			withTimes(owned(xattrs(tFile("usr/bin/su", "#!/bin/su\n", 0o4755), "user.a", "1", "trusted.b", "2"), 1000, 1001)),
			withTimes(tFile("usr/bin/sg", "sg", 0o2711)),
			withTimes(owned(tDir("tmp", 0o1777), 0, 0)),
			withTimes(owned(tSymlink("usr/bin/sh", "/bin/busybox"), 5, 6)),
			withTimes(xattrs(tSymlink("usr/bin/rel", "su"), "trusted.lnk", "l")),
			withTimes(owned(ent{h: &tar.Header{Typeflag: tar.TypeLink, Name: "usr/bin/su2", Linkname: "usr/bin/su", Mode: 0o4755}}, 1000, 1001)),
			withTimes(xattrs(ent{h: &tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}, "trusted.dev", "c")),
			withTimes(ent{h: &tar.Header{Typeflag: tar.TypeBlock, Name: "dev/loop0", Mode: 0o660, Devmajor: 7, Devminor: 0, Gid: 6}}),
			withTimes(xattrs(ent{h: &tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o620}}, "trusted.f", "ff")),
			withTimes(tFile("empty", "", 0o400)),
			{h: &tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}, Format: tar.FormatPAX}},
		}
		size := apply(t, root, WhiteoutOverlay, ents...)
		// Files, plus the targets of the two symlinks (Docker's overlay2 size).
		if want := int64(len("#!/bin/su\n") + len("sg") + len("/bin/busybox") + len("su")); size != want {
			t.Errorf("size = %d, want %d", size, want)
		}

		p := func(n string) string { return filepath.Join(root, n) }
		check := func(name string, typ uint32, perm uint32, uid, gid uint32) *unix.Stat_t {
			t.Helper()
			st := lstat(t, p(name))
			if st.Mode&unix.S_IFMT != typ {
				t.Errorf("%s: type %o, want %o", name, st.Mode&unix.S_IFMT, typ)
			}
			if typ != unix.S_IFLNK && st.Mode&0o7777 != perm {
				t.Errorf("%s: mode %o, want %o", name, st.Mode&0o7777, perm)
			}
			if st.Uid != uid || st.Gid != gid {
				t.Errorf("%s: owner %d:%d, want %d:%d", name, st.Uid, st.Gid, uid, gid)
			}
			return st
		}
		checkTimes := func(name string) {
			t.Helper()
			st := lstat(t, p(name))
			if got := time.Unix(st.Mtim.Unix()); !got.Equal(mtime) {
				t.Errorf("%s: mtime %v, want %v", name, got, mtime)
			}
			if got := time.Unix(st.Atim.Unix()); !got.Equal(atime) {
				t.Errorf("%s: atime %v, want %v", name, got, atime)
			}
		}
		check("usr", unix.S_IFDIR, 0o755, 0, 0)
		check("usr/bin", unix.S_IFDIR, 0o750, 10, 20)
		su := check("usr/bin/su", unix.S_IFREG, 0o4755, 1000, 1001)
		check("usr/bin/sg", unix.S_IFREG, 0o2711, 0, 0)
		check("tmp", unix.S_IFDIR, 0o1777, 0, 0)
		check("usr/bin/sh", unix.S_IFLNK, 0, 5, 6)
		su2 := check("usr/bin/su2", unix.S_IFREG, 0o4755, 1000, 1001)
		if su.Ino != su2.Ino || su.Nlink != 2 {
			t.Errorf("hard link: inodes %d/%d nlink %d", su.Ino, su2.Ino, su.Nlink)
		}
		null := check("dev/null", unix.S_IFCHR, 0o666, 0, 0)
		if unix.Major(null.Rdev) != 1 || unix.Minor(null.Rdev) != 3 {
			t.Errorf("dev/null: rdev %d:%d", unix.Major(null.Rdev), unix.Minor(null.Rdev))
		}
		loop := check("dev/loop0", unix.S_IFBLK, 0o660, 0, 6)
		if unix.Major(loop.Rdev) != 7 || unix.Minor(loop.Rdev) != 0 {
			t.Errorf("dev/loop0: rdev %d:%d", unix.Major(loop.Rdev), unix.Minor(loop.Rdev))
		}
		check("run/fifo", unix.S_IFIFO, 0o620, 0, 0)
		check("empty", unix.S_IFREG, 0o400, 0, 0)
		// Implied parents.
		check("dev", unix.S_IFDIR, 0o755, 0, 0)
		check("run", unix.S_IFDIR, 0o755, 0, 0)

		for _, n := range []string{"usr", "usr/bin", "usr/bin/su", "usr/bin/sg", "tmp", "usr/bin/sh", "dev/null", "run/fifo", "empty"} {
			checkTimes(n)
		}
		if got := readFile(t, p("usr/bin/su")); got != "#!/bin/su\n" {
			t.Errorf("su content %q", got)
		}
		if l, _ := os.Readlink(p("usr/bin/sh")); l != "/bin/busybox" {
			t.Errorf("sh -> %q", l)
		}
		if l, _ := os.Readlink(p("usr/bin/rel")); l != "su" {
			t.Errorf("rel -> %q", l)
		}
		if _, err := os.Lstat(p("pax_global_header")); !os.IsNotExist(err) {
			t.Errorf("global header extracted: %v", err)
		}
		for _, x := range [][3]string{
			{"usr/bin", "user.dir", "d1"},
			{"usr/bin/su", "user.a", "1"},
			{"usr/bin/su", "trusted.b", "2"},
			{"usr/bin/rel", "trusted.lnk", "l"},
			{"dev/null", "trusted.dev", "c"},
			{"run/fifo", "trusted.f", "ff"},
		} {
			if got := getxattr(t, p(x[0]), x[1]); got != x[2] {
				t.Errorf("%s %s = %q, want %q", x[0], x[1], got, x[2])
			}
		}
	})
}

func TestApplyLargeFile(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+7) // > copy buffer, not aligned
	size := apply(t, root, WhiteoutApply, ent{h: &tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o644, Size: int64(len(big))}, data: big})
	if size != int64(len(big)) {
		t.Errorf("size %d", size)
	}
	got, err := os.ReadFile(filepath.Join(root, "big"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("content differs (err %v, len %d)", err, len(got))
	}
}

func TestApplyReplace(t *testing.T) {
	requireRoot(t)
	withResolvers(t, func(t *testing.T) {
		root, outside, check := sandbox(t)
		p := func(n string) string { return filepath.Join(root, n) }
		apply(t, root, WhiteoutApply,
			tFile("f2d", "file", 0o644),
			tDir("d2f", 0o755),
			tFile("d2f/child", "c", 0o644),
			tDir("merge", 0o700),
			tFile("merge/old", "old", 0o644),
			tSymlink("link2file", filepath.Join(outside, "passwd")),
			tSymlink("dirlink", outside),
			tFile("same", "v1", 0o644),
		)
		apply(t, root, WhiteoutApply,
			tDir("f2d", 0o711),
			tFile("f2d/x", "x", 0o644),
			tFile("d2f", "now a file", 0o600),
			tDir("merge", 0o755),
			tFile("merge/new", "new", 0o644),
			tFile("link2file", "replaced", 0o644),
			tDir("dirlink", 0o755),
			tFile("same", "v2", 0o644),
		)
		check()
		if st := lstat(t, p("f2d")); st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o777 != 0o711 {
			t.Errorf("f2d mode %o", st.Mode)
		}
		if got := readFile(t, p("d2f")); got != "now a file" {
			t.Errorf("d2f = %q", got)
		}
		if got := readFile(t, p("merge/old")); got != "old" {
			t.Errorf("merge/old = %q", got)
		}
		if st := lstat(t, p("merge")); st.Mode&0o777 != 0o755 {
			t.Errorf("merged dir mode %o, want 755", st.Mode&0o777)
		}
		if got := readFile(t, p("link2file")); got != "replaced" {
			t.Errorf("link2file = %q", got)
		}
		if st := lstat(t, p("dirlink")); st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Errorf("dirlink not replaced by a directory")
		}
		if got := readFile(t, p("same")); got != "v2" {
			t.Errorf("same = %q", got)
		}
	})
}

func TestApplySymlinkParentsResolveInRoot(t *testing.T) {
	requireRoot(t)
	withResolvers(t, func(t *testing.T) {
		root, outside, check := sandbox(t)
		apply(t, root, WhiteoutApply,
			tDir("usr/lib/", 0o755),
			tDir("usr/lib64/", 0o755),
			tSymlink("lib", "usr/lib"),
			tSymlink("lib64", "/usr/lib64"),
			tFile("lib/libc.so", "libc", 0o755),
			tFile("lib64/ld.so", "ld", 0o755),
			tHardlink("lib/libc2.so", "lib/libc.so"),
			// Absolute symlink to the real outside dir: resolved in root.
			tSymlink("host", outside),
			tDir(strings.TrimPrefix(outside, "/")+"/", 0o755),
			tFile("host/passwd", "contained", 0o644),
		)
		check()
		for n, want := range map[string]string{
			"usr/lib/libc.so":  "libc",
			"usr/lib64/ld.so":  "ld",
			"usr/lib/libc2.so": "libc",
			filepath.Join(strings.TrimPrefix(outside, "/"), "passwd"): "contained",
		} {
			if got := readFile(t, filepath.Join(root, n)); got != want {
				t.Errorf("%s = %q, want %q", n, got, want)
			}
		}
	})
}

func TestApplyOverlayWhiteouts(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	wo := tWhiteout("etc/gone")
	wo.h.Uid, wo.h.Gid = 7, 8
	apply(t, root, WhiteoutOverlay,
		tDir("etc/", 0o755),
		wo,
		tDir("opq/", 0o755),
		tOpaque("opq"),
		tFile("opq/kept", "k", 0o644),
		tOpaque("implied/dir"),
		tFile(".wh..wh.plnk/123", "aufs", 0o644),
		tFile(".wh..wh.aufs", "", 0o644),
	)
	st := lstat(t, filepath.Join(root, "etc/gone"))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout: mode %o rdev %d, want a 0:0 char device", st.Mode, st.Rdev)
	}
	if st.Uid != 7 || st.Gid != 8 {
		t.Errorf("whiteout owner %d:%d", st.Uid, st.Gid)
	}
	assertNotExist(t, filepath.Join(root, "etc/.wh.gone"))
	for _, d := range []string{"opq", "implied/dir"} {
		if got := getxattr(t, filepath.Join(root, d), "trusted.overlay.opaque"); got != "y" {
			t.Errorf("%s: opaque xattr %q", d, got)
		}
		assertNotExist(t, filepath.Join(root, d, ".wh..wh..opq"))
	}
	if got := readFile(t, filepath.Join(root, "opq/kept")); got != "k" {
		t.Errorf("opq/kept = %q", got)
	}
	assertNotExist(t, filepath.Join(root, ".wh..wh.plnk"))
	assertNotExist(t, filepath.Join(root, ".wh..wh.aufs"))
}

func TestApplyOverlayUserXattr(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	if _, err := Apply(root, bytes.NewReader(mkTar(t, tDir("d", 0o755), tOpaque("d"))), ApplyOptions{Whiteout: WhiteoutOverlay, UserXattr: true}); err != nil {
		t.Fatal(err)
	}
	if got := getxattr(t, filepath.Join(root, "d"), "user.overlay.opaque"); got != "y" {
		t.Errorf("user.overlay.opaque = %q", got)
	}
}

// TestApplyOverlayMount checks the overlay layers with a real overlay mount.
func TestApplyOverlayMount(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"l1", "l2", "upper", "work", "merged"} {
		dirs[d] = filepath.Join(base, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	apply(t, dirs["l1"], WhiteoutOverlay,
		tFile("a", "a", 0o644),
		tFile("b", "b", 0o644),
		tDir("d/", 0o755),
		tFile("d/x", "x", 0o644),
		tDir("e/", 0o755),
		tFile("e/keep", "keep", 0o644),
		tFile("e/del", "del", 0o644),
	)
	apply(t, dirs["l2"], WhiteoutOverlay,
		tWhiteout("a"),
		tDir("d/", 0o755),
		tOpaque("d"),
		tFile("d/y", "y", 0o644),
		tDir("e/", 0o755),
		tWhiteout("e/del"),
	)
	opts := "lowerdir=" + dirs["l2"] + ":" + dirs["l1"] + ",upperdir=" + dirs["upper"] + ",workdir=" + dirs["work"]
	if err := unix.Mount("overlay", dirs["merged"], "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount overlay here: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dirs["merged"], unix.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	m := func(n string) string { return filepath.Join(dirs["merged"], n) }
	assertNotExist(t, m("a"))
	assertNotExist(t, m("d/x"))
	assertNotExist(t, m("e/del"))
	for n, want := range map[string]string{"b": "b", "d/y": "y", "e/keep": "keep"} {
		if got := readFile(t, m(n)); got != want {
			t.Errorf("merged %s = %q, want %q", n, got, want)
		}
	}
	es, err := os.ReadDir(m("d"))
	if err != nil || len(es) != 1 {
		t.Errorf("merged d lists %v (err %v), want only y", es, err)
	}
}

func TestApplyWhiteoutApply(t *testing.T) {
	requireRoot(t)
	withResolvers(t, func(t *testing.T) {
		root, outside, check := sandbox(t)
		p := func(n string) string { return filepath.Join(root, n) }
		// Lower layer.
		apply(t, root, WhiteoutApply,
			tFile("a", "a", 0o644),
			tDir("gone/", 0o755),
			tFile("gone/x", "x", 0o644),
			tDir("d/", 0o755),
			tFile("d/old", "old", 0o644),
			tDir("d/sub/", 0o755),
			tFile("d/sub/old", "old", 0o644),
			tDir("d/keepdir/", 0o755),
			tFile("d/keepdir/old", "old", 0o644),
			tDir("d/implied/", 0o755),
			tFile("d/implied/old", "old", 0o644),
			tSymlink("d/link", outside),
			tDir("e/", 0o755),
			tFile("e/old", "old", 0o644),
			tSymlink("escape", outside),
		)
		apply(t, root, WhiteoutApply,
			tWhiteout("a"),
			tWhiteout("gone"),
			tWhiteout("nothing-here"),
			tDir("d/", 0o755),
			tFile("d/new1", "new1", 0o644), // written before the marker: kept
			tOpaque("d"),
			tFile("d/new2", "new2", 0o644),
			tDir("d/keepdir/", 0o755), // merged, but its old content is hidden
			tFile("d/keepdir/new", "new", 0o644),
			tFile("d/implied/new", "new", 0o644), // parent not listed
			tFile("e/new", "new", 0o644),
			tOpaque("e"), // after its new content
			// Whiteouts and opaque markers through a symlink to outside
			// stay in the root.
			tWhiteout("escape/passwd"),
			tOpaque("escape/etc"),
		)
		check()
		assertNotExist(t, p("a"))
		assertNotExist(t, p("gone"))
		assertNotExist(t, p(".wh.a"))
		assertNotExist(t, p("d/.wh..wh..opq"))
		assertNotExist(t, p("d/old"))
		assertNotExist(t, p("d/sub"))
		assertNotExist(t, p("d/link"))
		assertNotExist(t, p("d/keepdir/old"))
		assertNotExist(t, p("d/implied/old"))
		assertNotExist(t, p("e/old"))
		for n, want := range map[string]string{"d/new1": "new1", "d/new2": "new2", "d/keepdir/new": "new", "d/implied/new": "new", "e/new": "new"} {
			if got := readFile(t, p(n)); got != want {
				t.Errorf("%s = %q, want %q", n, got, want)
			}
		}
	})
}

// TestApplyEscapes feeds layers that try to write outside the root.
func TestApplyEscapes(t *testing.T) {
	requireRoot(t)
	type tc struct {
		name     string
		ents     func(outside string) []ent
		breakout bool // a *BreakoutError is expected
	}
	cases := []tc{
		{"dotdot", func(string) []ent { return []ent{tFile("../x", "pwn", 0o644)} }, true},
		{"dotdot-deep", func(string) []ent { return []ent{tFile("../outside/passwd", "pwn", 0o644)} }, true},
		{"absolute", func(o string) []ent { return []ent{tFile(filepath.Join(o, "passwd"), "pwn", 0o644)} }, true},
		{"absolute-etc", func(string) []ent { return []ent{tFile("/etc/passwd", "pwn", 0o644)} }, true},
		{"a-dotdot-dotdot", func(string) []ent { return []ent{tDir("a/", 0o755), tFile("a/../../x", "pwn", 0o644)} }, true},
		{"dir-dotdot", func(string) []ent { return []ent{tDir("../newdir/", 0o755)} }, true},
		{"symlink-dotdot", func(string) []ent {
			return []ent{tSymlink("link", "../../.."), tFile("link/x", "pwn", 0o644)}
		}, true},
		{"symlink-dotdot-nested", func(string) []ent {
			return []ent{tDir("a/", 0o755), tSymlink("a/link", "../../outside"), tFile("a/link/passwd", "pwn", 0o644)}
		}, true},
		{"hardlink-dotdot", func(string) []ent { return []ent{tHardlink("x", "../../etc/passwd")} }, true},
		{"hardlink-dotdot-outside", func(string) []ent { return []ent{tHardlink("x", "../outside/passwd")} }, true},
		{"whiteout-dotdot", func(string) []ent { return []ent{tFile(".wh...", "", 0o644)} }, true},
		{"whiteout-dot", func(string) []ent { return []ent{tFile("a/.wh..", "", 0o644)} }, true},
		{"whiteout-empty", func(string) []ent { return []ent{tFile(".wh.", "", 0o644)} }, true},
		{"whiteout-of-parent", func(string) []ent { return []ent{tFile("../.wh.outside", "", 0o644)} }, true},
		// Absolute symlinks are allowed, and what goes through them lands
		// inside the root: Apply errors (the target dir is missing inside
		// the root) or writes inside; it never touches outside.
		{"symlink-abs-write-through", func(o string) []ent {
			return []ent{tSymlink("link", o), tFile("link/passwd", "pwn", 0o644)}
		}, false},
		{"symlink-etc-write-through", func(string) []ent {
			return []ent{tSymlink("link", "/etc"), tFile("link/passwd", "pwn", 0o644)}
		}, false},
		{"symlink-abs-dotdot", func(o string) []ent {
			return []ent{tSymlink("link", "/../../../../.."+o), tFile("link/passwd", "pwn", 0o644)}
		}, false},
		{"symlink-abs-dir-then-file", func(o string) []ent {
			return []ent{tSymlink("link", o), tDir("link/etc/", 0o755), tFile("link/etc/passwd", "pwn", 0o644)}
		}, false},
		{"hardlink-through-symlink", func(o string) []ent {
			return []ent{tSymlink("link", o), tHardlink("x", "link/passwd")}
		}, false},
		{"hardlink-abs", func(o string) []ent { return []ent{tHardlink("x", filepath.Join(o, "passwd"))} }, false},
		{"symlink-then-replace-parent", func(o string) []ent {
			return []ent{tDir("d/", 0o755), tSymlink("d", o), tFile("d/passwd", "pwn", 0o644)}
		}, false},
		{"chained-symlinks", func(o string) []ent {
			return []ent{tSymlink("a", "b"), tSymlink("b", "/c"), tSymlink("c", o), tFile("a/passwd", "pwn", 0o644)}
		}, false},
		{"symlink-loop", func(string) []ent {
			return []ent{tSymlink("a", "b"), tSymlink("b", "a"), tFile("a/x", "pwn", 0o644)}
		}, false},
	}
	for _, mode := range []WhiteoutFormat{WhiteoutOverlay, WhiteoutApply} {
		for _, c := range cases {
			t.Run(mode.String()+"/"+c.name, func(t *testing.T) {
				withResolvers(t, func(t *testing.T) {
					root, outside, check := sandbox(t)
					_, err := Apply(root, bytes.NewReader(mkTar(t, c.ents(outside)...)), ApplyOptions{Whiteout: mode})
					check()
					var be *BreakoutError
					if c.breakout {
						if !errors.As(err, &be) {
							t.Fatalf("err = %v, want a BreakoutError", err)
						}
						if !strings.Contains(err.Error(), "archive: entry ") {
							t.Errorf("error %q does not name the entry", err)
						}
					} else if errors.As(err, &be) {
						t.Errorf("unexpected breakout error %v", err)
					}
					t.Logf("err = %v", err)
				})
			})
		}
	}
}

// TestApplyEscapeWritesInsideRoot pins down where writes through absolute
// symlinks go: inside the root, as in a chroot.
func TestApplyEscapeWritesInsideRoot(t *testing.T) {
	requireRoot(t)
	withResolvers(t, func(t *testing.T) {
		root, _, check := sandbox(t)
		apply(t, root, WhiteoutApply, tDir("etc/", 0o755), tSymlink("link", "/etc"), tFile("link/passwd", "mine", 0o644))
		check()
		if got := readFile(t, filepath.Join(root, "etc/passwd")); got != "mine" {
			t.Errorf("etc/passwd = %q", got)
		}
	})
}

func TestApplyErrorMessage(t *testing.T) {
	root := t.TempDir()
	_, err := Apply(root, bytes.NewReader(mkTar(t, tFile("../../etc/passwd", "x", 0o644))), ApplyOptions{Whiteout: WhiteoutApply})
	want := `archive: entry "../../etc/passwd" is outside the layer root`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestApplyIDMap(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	opts := ApplyOptions{Whiteout: WhiteoutApply, IDMap: func(uid, gid int) (int, int, error) {
		if uid == 666 {
			return 0, 0, errors.New("unmapped")
		}
		return uid + 100000, gid + 100000, nil
	}}
	f := tFile("d/f", "x", 0o644)
	f.h.Uid, f.h.Gid = 1, 2
	if _, err := Apply(root, bytes.NewReader(mkTar(t, f)), opts); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(root, "d/f")); st.Uid != 100001 || st.Gid != 100002 {
		t.Errorf("f owner %d:%d", st.Uid, st.Gid)
	}
	if st := lstat(t, filepath.Join(root, "d")); st.Uid != 100000 || st.Gid != 100000 {
		t.Errorf("implied dir owner %d:%d", st.Uid, st.Gid)
	}
	bad := tFile("bad", "x", 0o644)
	bad.h.Uid = 666
	if _, err := Apply(root, bytes.NewReader(mkTar(t, bad)), opts); err == nil || !strings.Contains(err.Error(), "unmapped") {
		t.Errorf("err = %v", err)
	}
}

func TestApplyOptionsRequired(t *testing.T) {
	if _, err := Apply(t.TempDir(), bytes.NewReader(mkTar(t)), ApplyOptions{}); err == nil {
		t.Error("zero ApplyOptions accepted")
	}
	if _, err := Apply(filepath.Join(t.TempDir(), "missing"), bytes.NewReader(mkTar(t)), ApplyOptions{Whiteout: WhiteoutApply}); err == nil {
		t.Error("missing root accepted")
	}
}

func TestApplyFiltersOverlayXattrs(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	d := tDir("d", 0o755)
	d.h.PAXRecords = map[string]string{
		"SCHILY.xattr.trusted.overlay.redirect": "/etc",
		"SCHILY.xattr.trusted.overlay.opaque":   "y",
		"SCHILY.xattr.user.ok":                  "1",
	}
	apply(t, root, WhiteoutOverlay, d)
	buf := make([]byte, 64)
	if _, err := unix.Lgetxattr(filepath.Join(root, "d"), "trusted.overlay.redirect", buf); err == nil {
		t.Error("trusted.overlay.redirect was set from the layer")
	}
	if _, err := unix.Lgetxattr(filepath.Join(root, "d"), "trusted.overlay.opaque", buf); err == nil {
		t.Error("trusted.overlay.opaque was set from the layer")
	}
	if got := getxattr(t, filepath.Join(root, "d"), "user.ok"); got != "1" {
		t.Errorf("user.ok = %q", got)
	}
}

func TestApplyNotATar(t *testing.T) {
	root := t.TempDir()
	_, err := Apply(root, strings.NewReader(strings.Repeat("this is not a tar archive\n", 100)), ApplyOptions{Whiteout: WhiteoutApply})
	if err == nil {
		t.Fatal("garbage accepted as a layer")
	}
	t.Log(err)
	// Via DecompressStream: detected as uncompressed, then rejected.
	rc, c, err := DecompressStream(strings.NewReader(strings.Repeat("garbage!", 200)))
	if err != nil || c != Uncompressed {
		t.Fatalf("DecompressStream: %v %v", c, err)
	}
	if _, err := Apply(root, rc, ApplyOptions{Whiteout: WhiteoutApply}); err == nil {
		t.Fatal("garbage accepted as a layer")
	}
}

func TestApplyTruncatedTar(t *testing.T) {
	root := t.TempDir()
	data := mkTar(t, tFile("a", strings.Repeat("x", 5000), 0o644), tFile("b", "b", 0o644))
	_, err := Apply(root, bytes.NewReader(data[:2000]), ApplyOptions{Whiteout: WhiteoutApply})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
}

// TestApplyDrainsInput: Apply reads its input to EOF (trailing padding).
func TestApplyDrainsInput(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	data := append(mkTar(t, tFile("a", "a", 0o644)), make([]byte, 9000)...)
	r := bytes.NewReader(data)
	n, err := Apply(root, r, ApplyOptions{Whiteout: WhiteoutApply})
	if err != nil || n != 1 {
		t.Fatalf("Apply = %d, %v", n, err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left unread", r.Len())
	}
}

func TestApplyUnsupportedType(t *testing.T) {
	root := t.TempDir()
	_, err := Apply(root, bytes.NewReader(mkTar(t, ent{h: &tar.Header{Typeflag: 'V', Name: "vol", Mode: 0o644}})), ApplyOptions{Whiteout: WhiteoutApply})
	if err == nil {
		t.Error("unsupported entry type accepted")
	}
}

// TestApplySparse applies a GNU sparse tar made by the tar CLI.
func TestApplySparse(t *testing.T) {
	requireRoot(t)
	tarCmd, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("tar CLI not installed: skipping the sparse file case")
	}
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("middle"), 20<<20)
	f.WriteAt([]byte("tail"), size-4)
	f.Close()
	for _, format := range []string{"gnu", "posix"} {
		t.Run(format, func(t *testing.T) {
			out, err := exec.Command(tarCmd, "--sparse", "--format="+format, "-C", src, "-cf", "-", "sparse").Output()
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > 1<<20 {
				t.Fatalf("tar did not write a sparse entry (%d bytes)", len(out))
			}
			root := t.TempDir()
			n, err := Apply(root, bytes.NewReader(out), ApplyOptions{Whiteout: WhiteoutApply})
			if err != nil {
				t.Fatal(err)
			}
			if n != size {
				t.Errorf("size %d, want %d", n, size)
			}
			got, err := os.ReadFile(filepath.Join(root, "sparse"))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(filepath.Join(src, "sparse"))
			if !bytes.Equal(got, want) {
				t.Errorf("content differs")
			}
			if st := lstat(t, filepath.Join(root, "sparse")); st.Blocks*512 > 1<<20 {
				t.Errorf("%d bytes allocated: holes were written", st.Blocks*512)
			}
		})
	}
}
