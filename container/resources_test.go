package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
)

// Docker 20.10's CLI errors, recorded with the reference daemon (testdata/parity/create-resource-error-*).
func TestParseBlkioFlags(t *testing.T) {
	for _, c := range []struct {
		v, err string
		iops   bool
	}{
		{"bad", "bad format: bad", false},
		{"sda:1", "bad format for device path: sda:1", true},
		{"/dev/loop0:x", "invalid rate for device: /dev/loop0:x. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb", false},
		{"/dev/loop0:x", "invalid rate for device: /dev/loop0:x. The correct format is <device-path>:<number>. Number must be a positive integer", true},
	} {
		if _, err := ParseThrottleDevice(c.v, c.iops); err == nil || err.Error() != c.err {
			t.Errorf("%q: %v, want %s", c.v, err, c.err)
		}
	}
	if d, err := ParseThrottleDevice("/dev/loop0:1mb", false); err != nil || d != (ThrottleDevice{"/dev/loop0", 1 << 20}) {
		t.Errorf("bps: %+v %v", d, err)
	}
	if d, err := ParseThrottleDevice("/dev/loop0:200", true); err != nil || d.Rate != 200 {
		t.Errorf("iops: %+v %v", d, err)
	}
	for v, want := range map[string]string{"/dev/sda": "bad format: /dev/sda", "sda:300": "bad format for device path: sda:300",
		"/dev/sda:x": "invalid weight for device: /dev/sda:x", "/dev/sda:5": "invalid weight for device: /dev/sda:5"} {
		if _, err := ParseWeightDevice(v); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", v, err, want)
		}
	}
	if d, err := ParseWeightDevice("/dev/sda:300"); err != nil || d != (WeightDevice{"/dev/sda", 300}) {
		t.Errorf("weight: %+v %v", d, err)
	}
}

func TestParseGpus(t *testing.T) {
	r, err := ParseGpus("all")
	if err != nil || r.Count != -1 || !reflect.DeepEqual(r.Capabilities, [][]string{{"gpu"}}) {
		t.Errorf("all: %+v %v", r, err)
	}
	r, err = ParseGpus(`"device=0,1",driver=nvidia`)
	if err != nil || !reflect.DeepEqual(r.DeviceIDs, []string{"0", "1"}) || r.Driver != "nvidia" {
		t.Errorf("device: %+v %v", r, err)
	}
	if _, err := ParseGpus("bogus=1"); err == nil || err.Error() != "unexpected key 'bogus' in 'bogus=1'" {
		t.Errorf("bogus: %v", err)
	}
	if err := checkDeviceRequests([]DeviceRequest{r}); err == nil || err.Error() != `could not select device driver "nvidia" with capabilities: [[gpu]]` {
		t.Errorf("start: %v", err)
	}
}

func TestCheckResources(t *testing.T) {
	// A host without blkio weights (this machine's cgroup v1): discarded with Docker's warnings,
	// in dockerd's order (testdata/parity/create-resource-warnings.txt).
	v1 := CgroupSupport{BlkioReadBps: true, BlkioWriteBps: true, BlkioReadIOps: true, BlkioWriteIOps: true,
		MemorySwappiness: true, KernelMemory: true, OomKillDisable: true, CPURealtime: true}
	h := HostConfig{Memory: 64 << 20, KernelMemory: 50 << 20, BlkioWeight: 300, BlkioWeightDevice: []WeightDevice{{"/dev/loop0", 300}}}
	w, err := checkResources(&h, v1)
	want := []string{"Specifying a kernel memory limit is deprecated and will be removed in a future release.",
		"Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
		"Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded."}
	if err != nil || !reflect.DeepEqual(w, want) || h.BlkioWeight != 0 || h.BlkioWeightDevice != nil || h.KernelMemory != 50<<20 {
		t.Errorf("v1: %q %v %+v", w, err, h)
	}
	// cgroup v2: no swappiness, kernel memory, OOM switch or real-time CPU.
	yes, sw := true, int64(50)
	h = HostConfig{MemorySwappiness: &sw, OomKillDisable: &yes, KernelMemory: 50 << 20, CPURealtimePeriod: 1000}
	w, err = checkResources(&h, CgroupSupport{})
	if err != nil || len(w) != 5 || h.MemorySwappiness != nil || h.OomKillDisable != nil || h.KernelMemory != 0 || h.CPURealtimePeriod != 0 {
		t.Errorf("v2: %q %v %+v", w, err, h)
	}
	for _, c := range []struct {
		h   HostConfig
		err string
	}{
		{HostConfig{KernelMemory: 1}, "Minimum kernel memory limit allowed is 6MB"},
		{HostConfig{CPURealtimePeriod: 100, CPURealtimeRuntime: 200}, "cpu real-time runtime cannot be higher than cpu real-time period"},
		{HostConfig{StorageOpt: map[string]string{"size": "1G"}}, "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"},
		{HostConfig{StorageOpt: map[string]string{"foo": "bar"}}, "Unknown option foo"},
	} {
		if _, err := checkResources(&c.h, v1); err == nil || err.Error() != c.err {
			t.Errorf("%+v: %v, want %s", c.h, err, c.err)
		}
	}
}

func TestProbeCgroups(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"blkio/blkio.throttle.read_bps_device", "memory/memory.swappiness", "cpu/cpu.rt_period_us", "cpu/cpu.rt_runtime_us"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	got := ProbeCgroups(root)
	if got != (CgroupSupport{BlkioReadBps: true, MemorySwappiness: true, CPURealtime: true}) {
		t.Errorf("v1: %+v", got)
	}
	root = t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu io memory pids\n"), 0o644)
	if got := ProbeCgroups(root); !got.BlkioReadBps || got.BlkioWeight || got.MemorySwappiness || got.OomKillDisable {
		t.Errorf("v2: %+v", got)
	}
}

func TestBlockIOSpecAndCgroupParent(t *testing.T) {
	b, err := blockIOSpec(HostConfig{BlkioDeviceReadBps: []ThrottleDevice{{"/dev/null", 1 << 20}}})
	if err != nil || len(b.ThrottleReadBpsDevice) != 1 || b.ThrottleReadBpsDevice[0].Major != 1 || b.ThrottleReadBpsDevice[0].Minor != 3 || b.ThrottleReadBpsDevice[0].Rate != 1<<20 {
		t.Errorf("/dev/null: %+v %v", b, err)
	}
	if _, err := blockIOSpec(HostConfig{BlkioDeviceWriteIOps: []ThrottleDevice{{"/dev/nosuch", 1}}}); err == nil || err.Error() != "stat /dev/nosuch: no such file or directory" {
		t.Errorf("missing device: %v", err)
	}
	if b, err := blockIOSpec(HostConfig{}); b != nil || err != nil {
		t.Errorf("none: %+v %v", b, err)
	}
	c := &Container{ID: "abc", Host: HostConfig{CgroupParent: "parity-cg"}}
	if p := cgroupsPath(c); p != "/parity-cg/abc" {
		t.Errorf("cgroup parent: %s", p)
	}
	c.Host.CgroupParent = ""
	if p := cgroupsPath(c); p != "/berth/abc" {
		t.Errorf("default: %s", p)
	}
}

func TestCheckPlatform(t *testing.T) {
	cfg := &image.Config{OS: "linux", Architecture: "amd64"}
	if err := checkPlatform("x:1", "linux/amd64", cfg); err != nil {
		t.Error(err)
	}
	err := checkPlatform("reg/x:1", "linux/arm64", cfg)
	if err == nil || err.Error() != "image with reference reg/x:1 was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64" ||
		!strings.Contains(err.Error(), "wanted") {
		t.Errorf("mismatch: %v", err)
	}
	if _, ok := err.(PlatformMismatchError); !ok {
		t.Errorf("type %T", err)
	}
	if err := checkPlatform("x", "bogus/x/y/z", cfg); err == nil || !strings.HasPrefix(err.Error(), `error parsing specified platform: "bogus/x/y/z"`) {
		t.Errorf("bad: %v", err)
	}
}
