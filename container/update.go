package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/rootless"
	"github.com/berth-engine/berth/runtime"
)

// UpdateOptions are `update`'s flags (nil: unchanged).
type UpdateOptions struct {
	Memory, MemorySwap, NanoCPUs, PidsLimit *int64
	CPUShares                               *int64
	CpusetCpus, CpusetMems                  *string
	RestartPolicy                           *RestartPolicy
}

// Empty reports an update that changes nothing (Docker refuses it).
func (o UpdateOptions) Empty() bool {
	return o.Memory == nil && o.MemorySwap == nil && o.NanoCPUs == nil && o.PidsLimit == nil && o.RestartPolicy == nil &&
		o.CPUShares == nil && o.CpusetCpus == nil && o.CpusetMems == nil
}

// minMemory is Docker's smallest memory limit.
const minMemory = 6 * 1024 * 1024

// swapLimitSupported reports whether the kernel accounts swap per cgroup; where it does not,
// Docker drops swap limits ("Memory limited without swap").
func swapLimitSupported() bool {
	if unified() {
		return true
	}
	_, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"))
	return err == nil
}

// ResolveMemorySwap applies Docker's rules to a container's memory limits: swap needs a memory
// limit and must be at least as large; a memory limit alone gets twice as much memory+swap.
func ResolveMemorySwap(h *HostConfig) error {
	if err := checkMemorySwap(h); err != nil {
		return err
	}
	if h.Memory > 0 && h.MemorySwap == 0 && swapLimitSupported() {
		h.MemorySwap = 2 * h.Memory
	}
	return nil
}

// checkMemorySwap is what create and update both check of the memory limits: swap needs a
// memory limit and must be at least as large; without swap accounting it is dropped.
func checkMemorySwap(h *HostConfig) error {
	if h.MemorySwap > 0 && h.Memory == 0 {
		return errors.New("You should always set the Memory limit when using Memoryswap limit, see usage")
	}
	if h.MemorySwap > 0 && h.MemorySwap < h.Memory {
		return errors.New("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if !swapLimitSupported() {
		h.MemorySwap = 0
	}
	return nil
}

// Update changes a container's resource limits and restart policy, as `docker update` does: in
// its record (every later start uses them) and, when it runs, in its cgroup at once.
func (m *Manager) Update(ref string, o UpdateOptions) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	h := c.Host
	if o.Memory != nil {
		if *o.Memory != 0 && *o.Memory < minMemory {
			return errors.New("Minimum memory limit allowed is 6MB")
		}
		if o.MemorySwap == nil && h.MemorySwap > 0 && *o.Memory > h.MemorySwap {
			return cannotUpdate(c, errors.New("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"))
		}
		h.Memory = *o.Memory
	}
	if o.MemorySwap != nil {
		h.MemorySwap = *o.MemorySwap
	}
	if o.MemorySwap != nil || o.Memory != nil {
		if err := checkMemorySwap(&h); err != nil {
			return cannotUpdate(c, err)
		}
	}
	if o.NanoCPUs != nil {
		if n := goruntime.NumCPU(); *o.NanoCPUs != 0 && (*o.NanoCPUs < 1e7 || *o.NanoCPUs > int64(n)*1e9) {
			return fmt.Errorf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n)
		}
		h.NanoCPUs = *o.NanoCPUs
	}
	if o.PidsLimit != nil {
		h.PidsLimit = *o.PidsLimit
	}
	if o.CPUShares != nil {
		h.CPUShares = *o.CPUShares
	}
	if o.CpusetCpus != nil {
		h.CpusetCpus = *o.CpusetCpus
	}
	if o.CpusetMems != nil {
		h.CpusetMems = *o.CpusetMems
	}
	if err := CheckCPUs(&h); err != nil {
		return err
	}
	if rootless.Active() {
		// Only the limits this update sets: a restart policy alone is fine.
		changed := h
		changed.Memory, changed.MemorySwap, changed.NanoCPUs, changed.PidsLimit = 0, 0, 0, 0
		changed.CPUShares, changed.CpusetCpus, changed.CpusetMems = 0, "", ""
		if o.Memory != nil {
			changed.Memory = h.Memory
		}
		if o.MemorySwap != nil {
			changed.MemorySwap = h.MemorySwap
		}
		if o.NanoCPUs != nil {
			changed.NanoCPUs = h.NanoCPUs
		}
		if o.PidsLimit != nil {
			changed.PidsLimit = h.PidsLimit
		}
		if o.CPUShares != nil {
			changed.CPUShares = h.CPUShares
		}
		if o.CpusetCpus != nil {
			changed.CpusetCpus = h.CpusetCpus
		}
		if o.CpusetMems != nil {
			changed.CpusetMems = h.CpusetMems
		}
		if err := RootlessLimits(&changed); err != nil {
			return err
		}
	}
	if o.RestartPolicy != nil {
		if err := ValidateRestartPolicy(*o.RestartPolicy); err != nil {
			return err
		}
		if h.AutoRemove && !o.RestartPolicy.IsNone() {
			return cannotUpdate(c, errors.New("Restart policy cannot be updated because AutoRemove is enabled for the container"))
		}
		h.RestartPolicy = *o.RestartPolicy
	}
	if st.Running() && !st.Restarting() {
		rt, err := m.Runtime(c.Host.Runtime)
		if err != nil {
			return err
		}
		if err := rt.Update(c.ID, resourcesOf(h, o)); err != nil {
			return cannotUpdate(c, err)
		}
	}
	c.Host = h
	return m.saveConfig(c)
}

// cannotUpdate is Docker's wording for an update the container refuses (the limits' own
// checks, such as the 6MB minimum, come without it).
func cannotUpdate(c *Container, err error) error {
	return fmt.Errorf("Cannot update container %s: %v", c.ID, err)
}

// resourcesOf is the runtime update of the limits o changes, with their new values in h.
func resourcesOf(h HostConfig, o UpdateOptions) runtime.Resources {
	var r runtime.Resources
	i64 := func(v int64) *int64 { return &v }
	if o.Memory != nil || o.MemorySwap != nil {
		mem := h.Memory
		if mem == 0 {
			mem = -1 // no limit
		}
		r.Memory = i64(mem)
		if h.MemorySwap != 0 {
			r.MemorySwap = i64(h.MemorySwap)
		} else if swapLimitSupported() {
			r.MemorySwap = i64(-1)
		}
	}
	if o.NanoCPUs != nil {
		period := uint64(100000)
		quota := int64(-1)
		if h.NanoCPUs > 0 {
			quota = h.NanoCPUs * int64(period) / 1e9
		}
		r.CPUPeriod, r.CPUQuota = &period, &quota
	}
	if o.PidsLimit != nil {
		p := h.PidsLimit
		if p <= 0 {
			p = -1
		}
		r.PidsLimit = &p
	}
	if o.CPUShares != nil {
		sh := uint64(h.CPUShares)
		if sh == 0 {
			sh = 1024 // the kernel's default weight
		}
		r.CPUShares = &sh
	}
	if o.CpusetCpus != nil {
		r.CpusetCpus = &h.CpusetCpus
	}
	if o.CpusetMems != nil {
		r.CpusetMems = &h.CpusetMems
	}
	return r
}

// saveConfig records a container's changed configuration (not its name or state).
func (m *Manager) saveConfig(c *Container) error {
	return m.Images.DB.Update(func(tx *metadata.Tx) error {
		r, err := tx.Container(c.ID)
		if err != nil {
			return err
		}
		cur, _, err := fromRow(r)
		if err != nil {
			return err
		}
		cur.Host = c.Host
		b, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		return tx.SetContainerConfig(r.ID, r.Name, string(b))
	})
}
