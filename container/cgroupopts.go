package container

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The cgroup settings of a container beyond its CPU and memory limits: --cgroup-parent,
// --oom-kill-disable, --memory-swappiness and the block I/O weights and throttles. Like dockerd,
// create keeps those the host's cgroups can apply and discards the others with Docker's
// warnings (checkCgroupOptions); ApplyCgroupOptions puts them in the OCI spec, so runc applies
// them as dockerd's containerd does.

// WeightDevice is --blkio-weight-device PATH:WEIGHT.
type WeightDevice struct {
	Path   string
	Weight uint16
}

// ThrottleDevice is --device-read-bps and its siblings, PATH:RATE (bytes or operations a second).
type ThrottleDevice struct {
	Path string
	Rate uint64
}

// CgroupsPath is the container's cgroup: /berth/ID, or PARENT/ID under --cgroup-parent, which
// is taken from the root of the cgroup hierarchies as dockerd's cgroupfs driver takes it
// ("mygroup" gives /mygroup/ID).
func (h *HostConfig) CgroupsPath(id string) string {
	if h.CgroupParent != "" {
		return path.Join("/", h.CgroupParent, id)
	}
	return "/berth/" + id
}

// cgroupSupport is what the host's cgroups can apply (dockerd's sysinfo): the files of the v1
// blkio and memory controllers; on the unified v2 hierarchy the io controller's throttles only
// (weights need BFQ's io.bfq.weight per cgroup, and v2 has no swappiness or OOM-killer switch).
type cgroupSupport struct {
	weight, weightDevice                   bool
	readBps, writeBps, readIOps, writeIOps bool
	swappiness, oomKillDisable             bool
}

func hostCgroupSupport() cgroupSupport {
	if b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		io := false
		for _, c := range strings.Fields(string(b)) {
			io = io || c == "io"
		}
		return cgroupSupport{readBps: io, writeBps: io, readIOps: io, writeIOps: io}
	}
	has := func(ctrl, file string) bool {
		_, err := os.Stat(filepath.Join(cgroupRoot, ctrl, file))
		return err == nil
	}
	return cgroupSupport{
		weight: has("blkio", "blkio.weight"), weightDevice: has("blkio", "blkio.weight_device"),
		readBps: has("blkio", "blkio.throttle.read_bps_device"), writeBps: has("blkio", "blkio.throttle.write_bps_device"),
		readIOps: has("blkio", "blkio.throttle.read_iops_device"), writeIOps: has("blkio", "blkio.throttle.write_iops_device"),
		swappiness: has("memory", "memory.swappiness"), oomKillDisable: has("memory", "memory.oom_control"),
	}
}

// checkCgroupOptions is dockerd's check of these settings at create (its
// verifyPlatformContainerResources, with its wording): what the host cannot apply is discarded
// with a warning, values out of range are refused.
func checkCgroupOptions(h *HostConfig, sup cgroupSupport) (warnings []string, err error) {
	if h.MemorySwappiness != nil && *h.MemorySwappiness == -1 {
		h.MemorySwappiness = nil // the API's "unset"
	}
	if h.OomKillDisable && !sup.oomKillDisable {
		warnings = append(warnings, "Your kernel does not support OomKillDisable. OomKillDisable discarded.")
		h.OomKillDisable = false
	}
	if h.OomKillDisable && h.Memory == 0 {
		warnings = append(warnings, "OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.")
	}
	if h.MemorySwappiness != nil && !sup.swappiness {
		warnings = append(warnings, "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.")
		h.MemorySwappiness = nil
	}
	if s := h.MemorySwappiness; s != nil && (*s < 0 || *s > 100) {
		return nil, fmt.Errorf("Invalid value: %v, valid memory swappiness range is 0-100", *s)
	}
	if h.BlkioWeight > 0 && !sup.weight {
		warnings = append(warnings, "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.")
		h.BlkioWeight = 0
	}
	if h.BlkioWeight > 0 && (h.BlkioWeight < 10 || h.BlkioWeight > 1000) {
		return nil, fmt.Errorf("Range of blkio weight is from 10 to 1000")
	}
	if len(h.BlkioWeightDevice) > 0 && !sup.weightDevice {
		warnings = append(warnings, "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.")
		h.BlkioWeightDevice = nil
	}
	for _, t := range []struct {
		list *[]ThrottleDevice
		ok   bool
		msg  string
	}{
		{&h.BlkioDeviceReadBps, sup.readBps, "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded."},
		{&h.BlkioDeviceWriteBps, sup.writeBps, "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded."},
		{&h.BlkioDeviceReadIOps, sup.readIOps, "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded."},
		{&h.BlkioDeviceWriteIOps, sup.writeIOps, "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded."},
	} {
		if len(*t.list) > 0 && !t.ok {
			warnings = append(warnings, t.msg)
			*t.list = nil
		}
	}
	return warnings, nil
}

// deviceNumber is the major and minor number of the device file at p.
func deviceNumber(p string) (int64, int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: p, Err: err} // dockerd's words: "stat /dev/sda: no such file or directory"
	}
	return int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev))), nil
}

// ApplyCgroupOptions puts a container's cgroup settings into its OCI spec: the cgroup path
// (--cgroup-parent), linux.resources.memory's disableOOMKiller and swappiness, and
// linux.resources.blockIO's weight, per-device weights and throttles, the devices given by path
// and written by their major:minor numbers as runc wants them (read when the spec is made, as
// dockerd reads them). The settings are those checkCgroupOptions kept.
func ApplyCgroupOptions(spec *specs.Spec, id string, h *HostConfig) error {
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	spec.Linux.CgroupsPath = h.CgroupsPath(id)
	if !h.OomKillDisable && h.MemorySwappiness == nil && h.BlkioWeight == 0 && len(h.BlkioWeightDevice) == 0 &&
		len(h.BlkioDeviceReadBps)+len(h.BlkioDeviceWriteBps)+len(h.BlkioDeviceReadIOps)+len(h.BlkioDeviceWriteIOps) == 0 {
		return nil
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	res := spec.Linux.Resources
	if h.OomKillDisable || h.MemorySwappiness != nil {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		if h.OomKillDisable {
			t := true
			res.Memory.DisableOOMKiller = &t
		}
		if s := h.MemorySwappiness; s != nil {
			v := uint64(*s)
			res.Memory.Swappiness = &v
		}
	}
	if h.BlkioWeight == 0 && len(h.BlkioWeightDevice) == 0 &&
		len(h.BlkioDeviceReadBps)+len(h.BlkioDeviceWriteBps)+len(h.BlkioDeviceReadIOps)+len(h.BlkioDeviceWriteIOps) == 0 {
		return nil
	}
	bio := &specs.LinuxBlockIO{}
	if h.BlkioWeight > 0 {
		w := h.BlkioWeight
		bio.Weight = &w
	}
	for _, d := range h.BlkioWeightDevice {
		major, minor, err := deviceNumber(d.Path)
		if err != nil {
			return err
		}
		w := d.Weight
		wd := specs.LinuxWeightDevice{Weight: &w}
		wd.Major, wd.Minor = major, minor
		bio.WeightDevice = append(bio.WeightDevice, wd)
	}
	for _, t := range []struct {
		from []ThrottleDevice
		to   *[]specs.LinuxThrottleDevice
	}{
		{h.BlkioDeviceReadBps, &bio.ThrottleReadBpsDevice}, {h.BlkioDeviceWriteBps, &bio.ThrottleWriteBpsDevice},
		{h.BlkioDeviceReadIOps, &bio.ThrottleReadIOPSDevice}, {h.BlkioDeviceWriteIOps, &bio.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.from {
			major, minor, err := deviceNumber(d.Path)
			if err != nil {
				return err
			}
			td := specs.LinuxThrottleDevice{Rate: d.Rate}
			td.Major, td.Minor = major, minor
			*t.to = append(*t.to, td)
		}
	}
	res.BlockIO = bio
	return nil
}
