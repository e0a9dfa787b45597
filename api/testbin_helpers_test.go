package api

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The end-to-end tests of every endpoint group share these: a skip where containers cannot run,
// one berth binary per test process, and a busybox rootfs to import.

// testNeedsContainers skips a test that runs containers on a machine that cannot.
func testNeedsContainers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container API tests need root (mounts, namespaces, cgroups)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("container API tests need runc on PATH (Debian: apt-get install runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("container API tests need busybox-static at /bin/busybox")
	}
}

var (
	testBinOnce sync.Once
	testBin     string
	testBinErr  error
)

// testBerth builds the berth binary once per test process, in berth-api-bin-PID; those of
// processes that are gone are removed here (a package has no end-of-tests hook to do it).
func testBerth(t *testing.T) string {
	t.Helper()
	testBinOnce.Do(func() {
		old, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-api-*bin-*"))
		for _, d := range old {
			pid := d[strings.LastIndexByte(d, '-')+1:]
			if _, err := os.Stat("/proc/" + pid); err != nil {
				os.RemoveAll(d)
			}
		}
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("berth-api-bin-%d", os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			testBinErr = err
			return
		}
		testBin = filepath.Join(dir, "berth")
		cmd := exec.Command("go", "build", "-o", testBin, "github.com/berth-engine/berth/cmd/berth")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testBinErr = fmt.Errorf("building berth: %v\n%s", err, out)
		}
	})
	if testBinErr != nil {
		t.Fatal(testBinErr)
	}
	return testBin
}

// testBusyboxTar is a busybox-static rootfs as a tarball.
func testBusyboxTar(t *testing.T) []byte {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode})
	}
	file := func(name string, mode int64, data []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
		tw.Write(data)
	}
	dir("bin/", 0o755)
	dir("etc/", 0o755)
	dir("root/", 0o700)
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bb)
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777})
		}
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	tw.Close()
	return buf.Bytes()
}
