package idmap

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayOverIdmappedLayers mounts an overlay whose lower layer is idmapped: a root-owned
// file of the layer shows as the mapped root, the layer on disk is unchanged, and a copy-up
// lands in the upper dir owned by the mapped IDs.
func TestOverlayOverIdmappedLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need root")
	}
	m := Map{UIDs: []Range{{0, 200000, 65536}}, GIDs: []Range{{0, 300000, 65536}}}
	dir := t.TempDir()
	if err := Probe(dir, m); err != nil {
		t.Skipf("this kernel does not mount overlays over idmapped layers (Linux 6.13+): %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the probe left %v", ents)
	}
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "upper"), 200000, 300000)
	os.WriteFile(filepath.Join(dir, "lower", "f"), []byte("x"), 0o644)
	ns, err := UsernsFile(m)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	o := FromOptions([]string{"lowerdir=" + filepath.Join(dir, "lower"), "upperdir=" + filepath.Join(dir, "upper"),
		"workdir=" + filepath.Join(dir, "work"), "index=off"})
	merged := filepath.Join(dir, "merged")
	if err := o.Mount(ns, merged); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	owner := func(p string) (uint32, uint32) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return st.Uid, st.Gid
	}
	if u, g := owner(filepath.Join(merged, "f")); u != 200000 || g != 300000 {
		t.Errorf("the layer's root-owned file shows as %d:%d, want 200000:300000", u, g)
	}
	if err := os.WriteFile(filepath.Join(merged, "f"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if u, g := owner(filepath.Join(dir, "upper", "f")); u != 200000 || g != 300000 {
		t.Errorf("the copy-up is owned by %d:%d on disk, want 200000:300000", u, g)
	}
	if u, _ := owner(filepath.Join(dir, "lower", "f")); u != 0 {
		t.Errorf("the layer's file is owned by %d on disk, want 0 (unchanged)", u)
	}
}
