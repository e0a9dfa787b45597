package container

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerd's checks and wording (verifyPlatformContainerResources; the warnings recorded from
// `docker create --blkio-weight 300 --blkio-weight-device ... --oom-kill-disable` on this
// cgroup v1 host without BFQ weights).
func TestCheckCgroupOptions(t *testing.T) {
	sw := int64(10)
	h := HostConfig{BlkioWeight: 300, BlkioWeightDevice: []WeightDevice{{"/dev/vda", 200}}, OomKillDisable: true,
		MemorySwappiness: &sw, BlkioDeviceReadBps: []ThrottleDevice{{"/dev/vda", 1 << 20}}}
	v1 := cgroupSupport{readBps: true, writeBps: true, readIOps: true, writeIOps: true, swappiness: true, oomKillDisable: true}
	w, err := checkCgroupOptions(&h, v1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.",
		"Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
		"Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.",
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("warnings %q\nwant %q", w, want)
	}
	if h.BlkioWeight != 0 || h.BlkioWeightDevice != nil || !h.OomKillDisable || h.MemorySwappiness == nil || len(h.BlkioDeviceReadBps) != 1 {
		t.Errorf("kept: %+v", h)
	}
	// Nothing of it on a host without the controllers' files (cgroup v2 without io).
	h2 := HostConfig{OomKillDisable: true, Memory: 64 << 20, MemorySwappiness: &sw, BlkioDeviceWriteIOps: []ThrottleDevice{{"/dev/vda", 5}}}
	if w, _ := checkCgroupOptions(&h2, cgroupSupport{}); len(w) != 3 || h2.OomKillDisable || h2.MemorySwappiness != nil || h2.BlkioDeviceWriteIOps != nil {
		t.Errorf("unsupported: %q %+v", w, h2)
	}
	for _, c := range []struct {
		h    HostConfig
		want string
	}{
		{HostConfig{BlkioWeight: 5}, "Range of blkio weight is from 10 to 1000"},
		{HostConfig{MemorySwappiness: cgPtr(int64(101))}, "Invalid value: 101, valid memory swappiness range is 0-100"},
	} {
		if _, err := checkCgroupOptions(&c.h, cgroupSupport{weight: true, swappiness: true}); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %s", c.h, err, c.want)
		}
	}
	// -1 is the API's "unset".
	h3 := HostConfig{MemorySwappiness: cgPtr(int64(-1))}
	if w, err := checkCgroupOptions(&h3, cgroupSupport{}); err != nil || len(w) != 0 || h3.MemorySwappiness != nil {
		t.Errorf("swappiness -1: %q %v %v", w, err, h3.MemorySwappiness)
	}
}

func cgPtr[T any](v T) *T { return &v }

func TestApplyCgroupOptions(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: cgPtr(int64(64 << 20))}}}}
	h := HostConfig{CgroupParent: "mygroup", OomKillDisable: true, MemorySwappiness: cgPtr(int64(10)), BlkioWeight: 300,
		BlkioWeightDevice:   []WeightDevice{{"/dev/null", 200}},
		BlkioDeviceReadBps:  []ThrottleDevice{{"/dev/null", 1 << 20}},
		BlkioDeviceWriteBps: []ThrottleDevice{{"/dev/zero", 7}}, BlkioDeviceReadIOps: []ThrottleDevice{{"/dev/null", 8}},
		BlkioDeviceWriteIOps: []ThrottleDevice{{"/dev/zero", 9}}}
	if err := ApplyCgroupOptions(spec, "abc", &h); err != nil {
		t.Fatal(err)
	}
	if spec.Linux.CgroupsPath != "/mygroup/abc" {
		t.Errorf("cgroups path %s", spec.Linux.CgroupsPath)
	}
	m := spec.Linux.Resources.Memory
	if *m.Limit != 64<<20 || !*m.DisableOOMKiller || *m.Swappiness != 10 {
		t.Errorf("memory %+v", m)
	}
	td := func(major, minor int64, rate uint64) specs.LinuxThrottleDevice {
		d := specs.LinuxThrottleDevice{Rate: rate}
		d.Major, d.Minor = major, minor
		return d
	}
	wd := specs.LinuxWeightDevice{Weight: cgPtr(uint16(200))}
	wd.Major, wd.Minor = 1, 3
	want := &specs.LinuxBlockIO{Weight: cgPtr(uint16(300)), WeightDevice: []specs.LinuxWeightDevice{wd},
		ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{td(1, 3, 1<<20)}, ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{td(1, 5, 7)},
		ThrottleReadIOPSDevice: []specs.LinuxThrottleDevice{td(1, 3, 8)}, ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{td(1, 5, 9)}}
	if !reflect.DeepEqual(spec.Linux.Resources.BlockIO, want) {
		t.Errorf("blockIO %+v\nwant %+v", spec.Linux.Resources.BlockIO, want)
	}
	// A device that is not there fails the start, as dockerd's stat does.
	if err := ApplyCgroupOptions(&specs.Spec{}, "abc", &HostConfig{BlkioDeviceReadBps: []ThrottleDevice{{"/dev/nosuch", 1}}}); err == nil {
		t.Error("a missing device was accepted")
	}
	// Without settings: the default cgroup, nothing else.
	s2 := &specs.Spec{}
	if err := ApplyCgroupOptions(s2, "abc", &HostConfig{}); err != nil || s2.Linux.CgroupsPath != "/berth/abc" || s2.Linux.Resources != nil {
		t.Errorf("defaults: %+v %v", s2.Linux, err)
	}
}
