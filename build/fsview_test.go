package build

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// The view of stacked layers must hide what overlayfs hides: whiteouts and the lower content of
// opaque directories.
func TestViewWhiteoutsAndOpaqueDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for whiteout devices and trusted xattrs")
	}
	lower, upper := t.TempDir(), t.TempDir()
	for _, f := range []string{"a/keep", "a/gone", "o/old", "f"} {
		os.MkdirAll(filepath.Join(lower, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(lower, f), []byte("lower "+f), 0o644)
	}
	os.MkdirAll(filepath.Join(upper, "a"), 0o755)
	os.MkdirAll(filepath.Join(upper, "o"), 0o755)
	os.WriteFile(filepath.Join(upper, "o/new"), []byte("new"), 0o644)
	os.WriteFile(filepath.Join(upper, "f"), []byte("upper f"), 0o644)
	if err := unix.Mknod(filepath.Join(upper, "a/gone"), unix.S_IFCHR, 0); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if err := unix.Setxattr(filepath.Join(upper, "o"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("setxattr: %v", err)
	}
	v := &view{dirs: []string{upper, lower}}
	if names, _ := v.readDir("/a"); !reflect.DeepEqual(names, []string{"keep"}) {
		t.Errorf("/a lists %q", names)
	}
	if names, _ := v.readDir("/o"); !reflect.DeepEqual(names, []string{"new"}) {
		t.Errorf("opaque /o lists %q", names)
	}
	if _, _, _, err := v.lstat("/a/gone"); err == nil {
		t.Error("whited-out file visible")
	}
	if _, _, _, err := v.lstat("/o/old"); err == nil {
		t.Error("file under an opaque dir visible")
	}
	if b, _ := v.readFile("/f"); string(b) != "upper f" {
		t.Errorf("/f = %q", b)
	}
	if b, _ := v.readFile("/a/keep"); string(b) != "lower a/keep" {
		t.Errorf("/a/keep = %q", b)
	}
}
