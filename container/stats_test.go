package container

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCPUPercent(t *testing.T) {
	prev := Stats{CPUUsage: 1e9, SystemUsage: 100e9, OnlineCPUs: 2}
	// Half a second of one CPU while the host had 2 CPUs × 1 s: 50% of one CPU is 25% of the
	// host, Docker shows it ×CPUs = 50%.
	cur := Stats{CPUUsage: 1.5e9, SystemUsage: 102e9, OnlineCPUs: 2}
	if p := CPUPercent(prev, cur); p != 50 {
		t.Errorf("CPUPercent = %v, want 50", p)
	}
	if p := CPUPercent(cur, cur); p != 0 {
		t.Errorf("no time passed: %v", p)
	}
	if p := (Stats{MemUsage: 16 << 20, MemLimit: 64 << 20}).MemPercent(); p != 25 {
		t.Errorf("MemPercent = %v", p)
	}
}

func TestStatsFiles(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev")
	os.WriteFile(dev, []byte(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     999       7    0    0    0     0          0         0      999       5    0    0    0     0       0          0
  eth0:     630       7    0    0    0     0          0         0      382       5    0    0    0     0       0          0
  eth1:      10       1    0    0    0     0          0         0        8       1    0    0    0     0       0          0
`), 0o644)
	if rx, tx := netBytes(dev); rx != 640 || tx != 390 {
		t.Errorf("netBytes = %d %d, want 640 390 (lo left out)", rx, tx)
	}
	stat := filepath.Join(dir, "memory.stat")
	os.WriteFile(stat, []byte("cache 856064\ntotal_inactive_file 778240\n"), 0o644)
	if kv := keyValues(stat); kv["total_inactive_file"] != 778240 || kv["cache"] != 856064 {
		t.Errorf("keyValues = %v", kv)
	}
	if total, cpus := systemCPU(); total == 0 || cpus == 0 {
		t.Errorf("systemCPU = %d, %d", total, cpus)
	}
}
