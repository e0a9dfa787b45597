package network

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// NewNetNS never leaves this process's own namespace changed: the thread that unshares is never
// the main thread (whose namespace /proc/self/ns/net shows, and which Go never lets exit).
func TestNewNetNSLeavesProcessNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: unshares network namespaces")
	}
	before, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 0; i < 30; i++ {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := NewNetNS(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { RemoveNetNS(p) })
	}
	if after, _ := os.Readlink("/proc/self/ns/net"); after != before {
		t.Fatalf("process namespace %s, was %s", after, before)
	}
}
