// Package testenv holds what the end-to-end tests of several packages share: the berth binary built
// once per test process, the busybox-static root filesystem the tests make their images from, and the
// checks that skip a test, with a clear message, on a machine that cannot run containers.
//
// It is imported by tests only; nothing in the berth binary links it.
package testenv

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

// Busybox is where the tests find busybox-static (Debian's busybox-static package).
const Busybox = "/bin/busybox"

// NeedContainers skips t unless it runs as root with runc on PATH and busybox-static installed.
// what names the tests in the skip message ("container tests").
func NeedContainers(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("%s need root (mounts, namespaces, cgroups)", what)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skipf("%s need runc on PATH (Debian: apt-get install runc)", what)
	}
	if _, err := os.Stat(Busybox); err != nil {
		t.Skipf("%s need busybox-static at %s", what, Busybox)
	}
}

var (
	berthMu   sync.Mutex
	berthBins = map[string]string{}
)

// Berth builds the berth binary once per test process and name, into $TMPDIR/berth-NAME-bin-PID,
// and returns its path. Directories of test processes that are gone are removed first: a package
// has no end-of-tests hook to do it.
func Berth(t testing.TB, name string) string {
	t.Helper()
	berthMu.Lock()
	defer berthMu.Unlock()
	if bin, ok := berthBins[name]; ok {
		return bin
	}
	prefix := "berth-" + name + "-bin-"
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range old {
		if pid := strings.TrimPrefix(filepath.Base(d), prefix); pid != "" {
			if _, err := os.Stat("/proc/" + pid); err != nil {
				os.RemoveAll(d)
			}
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", prefix, os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "berth")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berth-engine/berth/cmd/berth")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building berth: %v\n%s", err, out)
	}
	berthBins[name] = bin
	return bin
}

// BusyboxRootfs is the root filesystem ../shared/tools/docker-reference.sh gives the reference
// daemon's image, as a tarball: /bin/busybox and a symlink per applet, /etc/passwd and /etc/group
// with root and nobody, /root and /tmp.
func BusyboxRootfs(t testing.TB) []byte {
	t.Helper()
	bb, err := os.ReadFile(Busybox)
	if err != nil {
		t.Skipf("needs busybox-static at %s: %v", Busybox, err)
	}
	list, err := exec.Command(Busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
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
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
