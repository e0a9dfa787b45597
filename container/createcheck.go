package container

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
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
// negative, and the sets well formed and within the CPUs and memory nodes the host has.
func CheckCPUs(h *HostConfig) error {
	if h.CPUShares < 0 {
		return fmt.Errorf("invalid CPU shares (%d): value must be a positive integer", h.CPUShares)
	}
	for _, c := range []struct{ set, avail, what string }{
		{h.CpusetCpus, "/sys/devices/system/cpu/online", "CPUs"},
		{h.CpusetMems, "/sys/devices/system/node/online", "memory nodes"},
	} {
		if c.set == "" {
			continue
		}
		want, err := parseCPUSet(c.set)
		if err != nil {
			return fmt.Errorf("Invalid value %s for cpuset %s", c.set, map[string]string{"CPUs": "cpus", "memory nodes": "mems"}[c.what])
		}
		b, err := os.ReadFile(c.avail)
		if err != nil {
			continue // the host does not say: the runtime decides
		}
		have, err := parseCPUSet(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		for n := range want {
			if !have[n] {
				return fmt.Errorf("Requested %s are not available - requested %s, available: %s", c.what, c.set, strings.TrimSpace(string(b)))
			}
		}
	}
	return nil
}

// parseCPUSet reads a cpuset list ("0-2,4").
func parseCPUSet(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || l < 0 || h < l {
			return nil, fmt.Errorf("invalid cpuset %q", s)
		}
		for n := l; n <= h; n++ {
			out[n] = true
		}
	}
	return out, nil
}
