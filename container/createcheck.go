package container

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/rootless"
)

// ErrConflictPublishNetwork is Docker's refusal to publish ports of a container without a
// network of its own.
var ErrConflictPublishNetwork = errors.New("conflicting options: port publishing and the container type network mode")

// checkCreate is what Docker's daemon checks and adjusts of a new container's host settings
// whichever face asked for it: the smallest memory limit, port publishing against the network
// mode (published ports are dropped, with a warning, on the host's network), the init binary.
func checkCreate(o *CreateOptions) (warnings []string, err error) {
	h := &o.Host
	// Kernel memory, real-time CPU and storage options (resources.go); the cgroup options
	// (cgroupopts.go) come after the CPU checks.
	warnings, err = checkResources(h, hostResources())
	if err != nil {
		return nil, err
	}
	if h.Memory > 0 && h.Memory < minMemory {
		return nil, errors.New("Minimum memory limit allowed is 6MB")
	}
	if len(h.PortBindings) > 0 || h.PublishAllPorts {
		switch mode := h.NetworkMode; {
		case mode == "none" || strings.HasPrefix(mode, "container:"):
			if len(h.PortBindings) > 0 {
				return nil, ErrConflictPublishNetwork
			}
		case mode == "host":
			if len(h.PortBindings) > 0 {
				warnings = append(warnings, "Published ports are discarded when using host network mode")
			}
			h.PortBindings, h.PublishAllPorts = nil, false
		}
	}
	if err := CheckCPUs(h); err != nil {
		return nil, err
	}
	if rootless.Active() {
		if err := RootlessLimits(h); err != nil {
			return nil, err
		}
	}
	cw, err := checkCgroupOptions(h, hostCgroupSupport())
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, cw...)
	if o.MacAddress != "" {
		if h.NetworkMode == "host" || strings.HasPrefix(h.NetworkMode, "container:") {
			return nil, errors.New("conflicting options: mac-address and the network mode")
		}
		if _, err := net.ParseMAC(o.MacAddress); err != nil {
			return nil, fmt.Errorf("%s is not a valid mac address", o.MacAddress)
		}
	}
	if h.Isolation != "" && h.Isolation != "default" {
		return nil, fmt.Errorf("Invalid isolation: %q - linux only supports 'default'", h.Isolation)
	}
	if h.Init {
		if _, err := InitBinary(); err != nil {
			return nil, err
		}
	}
	return warnings, nil
}

// volumesFrom adds the mounts of the containers --volumes-from names (NAME[:ro|rw]) to h's, as
// Docker does at create: each volume and bind mount not already at its target, read-only with
// ro, read-write with rw, as the other container has it otherwise.
func (m *Manager) volumesFrom(h *HostConfig) error {
	have := map[string]bool{}
	for _, mt := range h.Mounts {
		have[path.Clean(mt.Target)] = true
	}
	for _, spec := range h.VolumesFrom {
		ref, mode, hasMode := strings.Cut(spec, ":")
		if hasMode && mode != "ro" && mode != "rw" {
			return fmt.Errorf("invalid mode for volumes-from: %s", mode)
		}
		other, _, err := m.Get(ref)
		if err != nil {
			return err
		}
		for _, mt := range other.Host.Mounts {
			if mt.Type == "tmpfs" || have[path.Clean(mt.Target)] {
				continue
			}
			if hasMode {
				mt.ReadOnly = mode == "ro"
			}
			mt.Spec = false
			have[path.Clean(mt.Target)] = true
			h.Mounts = append(h.Mounts, mt)
		}
	}
	return nil
}

// CheckCPUs is Docker's check of --cpu-shares and --cpuset-cpus/--cpuset-mems: shares not
// negative, and the sets well formed and within the CPUs and memory nodes the host has. As
// Docker's daemon, a set is parsed whole before it is compared with what is available.
func CheckCPUs(h *HostConfig) error {
	if h.CPUShares < 0 {
		return fmt.Errorf("invalid CPU shares (%d): value must be a positive integer", h.CPUShares)
	}
	for _, c := range []struct{ set, kind, avail, what, fallback string }{
		{h.CpusetCpus, "cpus", "/sys/devices/system/cpu/online", "CPUs", fmt.Sprintf("0-%d", goruntime.NumCPU()-1)},
		{h.CpusetMems, "mems", "/sys/devices/system/node/online", "memory nodes", "0"},
	} {
		if c.set == "" {
			continue
		}
		want, ok := cpusetRanges(c.set)
		if !ok {
			return fmt.Errorf("Invalid value %s for cpuset %s: invalid format: %s", c.set, c.kind, c.set)
		}
		avail := c.fallback // the host does not say: what Go sees, or node 0
		if b, err := os.ReadFile(c.avail); err == nil {
			avail = strings.TrimSpace(string(b))
		}
		have, ok := cpusetRanges(avail)
		if !ok {
			continue
		}
		for _, r := range want {
			if !cpusetCovers(have, r) {
				return fmt.Errorf("Requested %s are not available - requested %s, available: %s", c.what, c.set, avail)
			}
		}
	}
	return nil
}

// cpusetRanges parses a cpuset list ("0-2,4") into its ranges, without expanding them (a list
// may name a range of billions).
func cpusetRanges(s string) ([][2]int, bool) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || l < 0 || h < l {
			return nil, false
		}
		out = append(out, [2]int{l, h})
	}
	return out, true
}

// cpusetCovers says whether every number of r lies in one of the ranges of have.
func cpusetCovers(have [][2]int, r [2]int) bool {
	for n := r[0]; n <= r[1]; {
		next := -1
		for _, h := range have {
			if h[0] <= n && n <= h[1] {
				next = h[1] + 1
				break
			}
		}
		if next < 0 {
			return false
		}
		n = next
	}
	return true
}

// RootlessLimits refuses the flags that need a cgroup of the container's own, which berth's
// rootless mode does not give (on cgroup v1 nothing can be delegated to an unprivileged user):
// podman warns and ignores them there, berth fails rather than run without the limit asked for.
func RootlessLimits(h *HostConfig) error {
	var set []string
	add := func(on bool, flag string) {
		if on {
			set = append(set, flag)
		}
	}
	add(h.Memory != 0, "--memory")
	add(h.MemorySwap != 0 && h.Memory == 0, "--memory-swap")
	add(h.MemoryReservation != 0, "--memory-reservation")
	add(h.NanoCPUs != 0, "--cpus")
	add(h.CPUShares != 0, "--cpu-shares")
	add(h.CPUPeriod != 0, "--cpu-period")
	add(h.CPUQuota != 0, "--cpu-quota")
	add(h.CpusetCpus != "", "--cpuset-cpus")
	add(h.CpusetMems != "", "--cpuset-mems")
	add(h.PidsLimit > 0, "--pids-limit")
	add(len(h.DeviceCgroupRules) > 0, "--device-cgroup-rule")
	add(h.KernelMemory != 0, "--kernel-memory")
	add(h.CPURealtimePeriod != 0, "--cpu-rt-period")
	add(h.CPURealtimeRuntime != 0, "--cpu-rt-runtime")
	add(h.BlkioWeight != 0, "--blkio-weight")
	add(len(h.BlkioWeightDevice) > 0, "--blkio-weight-device")
	add(len(h.BlkioDeviceReadBps) > 0, "--device-read-bps")
	add(len(h.BlkioDeviceWriteBps) > 0, "--device-write-bps")
	add(len(h.BlkioDeviceReadIOps) > 0, "--device-read-iops")
	add(len(h.BlkioDeviceWriteIOps) > 0, "--device-write-iops")
	add(h.MemorySwappiness != nil && *h.MemorySwappiness != -1, "--memory-swappiness")
	add(h.OomKillDisable, "--oom-kill-disable")
	add(h.CgroupParent != "", "--cgroup-parent")
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s: resource limits are not supported in rootless mode on this host: "+
		"an unprivileged user cannot be given a cgroup on cgroup v1 (run berth as root to limit a container)", strings.Join(set, ", "))
}
