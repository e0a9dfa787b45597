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
	// This machine's cgroup v1: kernel memory is deprecated but applied
	// (testdata/parity/create-resource-warnings.txt).
	v1 := resourceSupport{KernelMemory: true, CPURealtime: true}
	h := HostConfig{Memory: 64 << 20, KernelMemory: 50 << 20, CPURealtimePeriod: 1000, CPURealtimeRuntime: 500}
	w, err := checkResources(&h, v1)
	if err != nil || !reflect.DeepEqual(w, []string{"Specifying a kernel memory limit is deprecated and will be removed in a future release."}) ||
		h.KernelMemory != 50<<20 || h.CPURealtimePeriod != 1000 {
		t.Errorf("v1: %q %v %+v", w, err, h)
	}
	// cgroup v2: no kernel memory or real-time CPU; discarded with dockerd's warnings.
	h = HostConfig{KernelMemory: 50 << 20, CPURealtimePeriod: 1000, CPURealtimeRuntime: 500}
	w, err = checkResources(&h, resourceSupport{})
	if err != nil || len(w) != 4 || h.KernelMemory != 0 || h.CPURealtimePeriod != 0 || h.CPURealtimeRuntime != 0 {
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

func TestProbeResources(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"memory/memory.kmem.limit_in_bytes", "cpu/cpu.rt_period_us"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	if got := probeResources(root); got != (resourceSupport{KernelMemory: true}) {
		t.Errorf("v1 without cpu.rt_runtime_us: %+v", got)
	}
	root = t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu io memory pids\n"), 0o644)
	if got := probeResources(root); got != (resourceSupport{}) {
		t.Errorf("v2: %+v", got)
	}
}

// A missing device fails the start in dockerd's words (testdata/parity/start-device-missing.txt).
func TestMissingBlockDevice(t *testing.T) {
	if _, _, err := deviceNumber("/dev/nosuch"); err == nil || err.Error() != "stat /dev/nosuch: no such file or directory" {
		t.Errorf("missing device: %v", err)
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
