package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The in-process allocator keeps host-local's lease files: one per address holding "ID\r\nIFNAME",
// the last one given in last_reserved_ip.0, the gateway never given.
func TestAllocateLikeHostLocal(t *testing.T) {
	dir := t.TempDir()
	n := Network{ID: "n1", Name: "app", Driver: "bridge", IPAM: []IPAMConfig{{Subnet: "10.9.0.0/29", Gateway: "10.9.0.1"}}}
	r, err := rangeOf(n)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 5; i++ {
		ip, err := allocate(dir, r, "c"+string(rune('a'+i)), "eth0", "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	if want := "10.9.0.2 10.9.0.3 10.9.0.4 10.9.0.5 10.9.0.6"; join(got) != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "10.9.0.3")); string(b) != "cb\r\neth0" {
		t.Errorf("lease file %q", b)
	}
	if _, err := allocate(dir, r, "cz", "eth0", ""); err == nil {
		t.Error("allocated past the end of the range")
	}
	// Releasing one frees it for the next, and a fixed address is given only when free.
	lockAndRelease(dir, "cb", "eth0")
	if _, err := os.Stat(filepath.Join(dir, "10.9.0.3")); !os.IsNotExist(err) {
		t.Fatal("lease not released")
	}
	if _, err := allocate(dir, r, "cy", "eth1", "10.9.0.4"); err == nil {
		t.Error("a taken fixed address given")
	}
	if ip, err := allocate(dir, r, "cy", "eth1", "10.9.0.3"); err != nil || ip.String() != "10.9.0.3" {
		t.Errorf("fixed address: %v %v", ip, err)
	}
	if _, err := allocate(dir, r, "cx", "eth0", "10.9.0.1"); err == nil {
		t.Error("the gateway given")
	}
}

func join(s []string) string { return strings.Join(s, " ") }

func TestDockerMAC(t *testing.T) {
	if got := DockerMAC([]byte{172, 18, 0, 2}).String(); got != "02:42:ac:12:00:02" {
		t.Errorf("MAC %s", got)
	}
}
