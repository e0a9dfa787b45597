package container

import (
	"strings"
	"testing"
)

func TestRootlessLimits(t *testing.T) {
	swappiness := int64(10)
	if err := RootlessLimits(&HostConfig{ShmSize: 1 << 20}); err != nil {
		t.Errorf("no limits: %v", err)
	}
	// --memory alone (the CLI fills in its swap default): named once.
	err := RootlessLimits(&HostConfig{Memory: 10 << 20, MemorySwap: 20 << 20, NanoCPUs: 1e9, PidsLimit: 5})
	if err == nil || !strings.HasPrefix(err.Error(), "--memory, --cpus, --pids-limit: resource limits are not supported in rootless mode") {
		t.Errorf("limits: %v", err)
	}
	unset := int64(-1)
	if err := RootlessLimits(&HostConfig{PidsLimit: -1, MemorySwappiness: &unset}); err != nil {
		t.Errorf("--pids-limit -1 (unlimited): %v", err)
	}
	for _, h := range []HostConfig{{MemorySwap: 1}, {CPUShares: 2}, {CPUPeriod: 1}, {CPUQuota: 1}, {CpusetCpus: "0"}, {CpusetMems: "0"},
		{MemoryReservation: 1}, {DeviceCgroupRules: []string{"c 1:3 r"}}, {KernelMemory: 1}, {CPURealtimePeriod: 1}, {CPURealtimeRuntime: 1},
		{BlkioWeight: 10}, {BlkioWeightDevice: []WeightDevice{{}}}, {BlkioDeviceReadBps: []ThrottleDevice{{}}}, {BlkioDeviceWriteBps: []ThrottleDevice{{}}},
		{BlkioDeviceReadIOps: []ThrottleDevice{{}}}, {BlkioDeviceWriteIOps: []ThrottleDevice{{}}}, {MemorySwappiness: &swappiness}, {OomKillDisable: true}, {CgroupParent: "/x"}} {
		if RootlessLimits(&h) == nil {
			t.Errorf("%+v: no error", h)
		}
	}
}
