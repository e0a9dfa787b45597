package container

import (
	"strings"
	"testing"
)

func TestResolveMemorySwap(t *testing.T) {
	swap := swapLimitSupported()
	h := HostConfig{Memory: 32 << 20}
	if err := ResolveMemorySwap(&h); err != nil {
		t.Fatal(err)
	}
	if want := int64(64 << 20); swap && h.MemorySwap != want {
		t.Errorf("memory alone: swap %d, want twice the memory %d (Docker's default)", h.MemorySwap, want)
	}
	for _, c := range []struct {
		h    HostConfig
		want string
	}{
		{HostConfig{MemorySwap: 64 << 20}, "You should always set the Memory limit when using Memoryswap limit, see usage"},
		{HostConfig{Memory: 64 << 20, MemorySwap: 32 << 20}, "Minimum memoryswap limit should be larger than memory limit, see usage"},
	} {
		if err := ResolveMemorySwap(&c.h); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.h, err, c.want)
		}
	}
	h = HostConfig{Memory: 32 << 20, MemorySwap: -1}
	if err := ResolveMemorySwap(&h); err != nil || swap && h.MemorySwap != -1 {
		t.Errorf("unlimited swap: %d %v", h.MemorySwap, err)
	}
}

// resourcesOf changes only what the update names; 0 means no limit, which runc takes as -1.
func TestResourcesOf(t *testing.T) {
	one := int64(1e9)
	r := resourcesOf(HostConfig{NanoCPUs: 5e8, PidsLimit: 0}, UpdateOptions{NanoCPUs: &one, PidsLimit: new(int64)})
	if r.Memory != nil || r.MemorySwap != nil {
		t.Errorf("memory changed: %+v", r)
	}
	if *r.CPUPeriod != 100000 || *r.CPUQuota != 50000 || *r.PidsLimit != -1 {
		t.Errorf("cpu %d/%d pids %d", *r.CPUQuota, *r.CPUPeriod, *r.PidsLimit)
	}
	r = resourcesOf(HostConfig{}, UpdateOptions{NanoCPUs: new(int64), Memory: new(int64)})
	if *r.CPUQuota != -1 || *r.Memory != -1 {
		t.Errorf("no limits: quota %d memory %d", *r.CPUQuota, *r.Memory)
	}
	if (UpdateOptions{}).Empty() != true || (UpdateOptions{Memory: &one}).Empty() {
		t.Error("Empty")
	}
	if !strings.Contains(cannotUpdate(&Container{ID: "abc"}, errString("x")).Error(), "Cannot update container abc: x") {
		t.Error("cannotUpdate")
	}
}

type errString string

func (e errString) Error() string { return string(e) }
