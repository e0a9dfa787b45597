package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/image"
	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CgroupSupport is what the host's cgroups can limit, as Docker's sysinfo probes it: a resource
// the host cannot limit is discarded at create with Docker's warning, never silently.
type CgroupSupport struct {
	BlkioWeight, BlkioWeightDevice                 bool
	BlkioReadBps, BlkioWriteBps                    bool
	BlkioReadIOps, BlkioWriteIOps                  bool
	MemorySwappiness, KernelMemory, OomKillDisable bool
	CPURealtime                                    bool
}

// ProbeCgroups reads what the cgroup filesystem under root (/sys/fs/cgroup) offers: on cgroup v1
// the controllers' files, as Docker 20.10 checks them; on v2 what io.max and io.weight give
// (swappiness, kernel memory, the OOM killer switch and real-time CPU do not exist there).
func ProbeCgroups(root string) CgroupSupport {
	has := func(p ...string) bool {
		_, err := os.Stat(filepath.Join(append([]string{root}, p...)...))
		return err == nil
	}
	if has("cgroup.controllers") {
		b, _ := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		io := strings.Contains(" "+string(b)+" ", " io ")
		weight := io && (has("io.weight") || has("io.bfq.weight") || has("berth", "io.weight"))
		return CgroupSupport{BlkioWeight: weight, BlkioWeightDevice: weight,
			BlkioReadBps: io, BlkioWriteBps: io, BlkioReadIOps: io, BlkioWriteIOps: io}
	}
	weight := has("blkio", "blkio.weight") || has("blkio", "blkio.bfq.weight")
	return CgroupSupport{
		BlkioWeight:       weight,
		BlkioWeightDevice: has("blkio", "blkio.weight_device") || has("blkio", "blkio.bfq.weight_device"),
		BlkioReadBps:      has("blkio", "blkio.throttle.read_bps_device"),
		BlkioWriteBps:     has("blkio", "blkio.throttle.write_bps_device"),
		BlkioReadIOps:     has("blkio", "blkio.throttle.read_iops_device"),
		BlkioWriteIOps:    has("blkio", "blkio.throttle.write_iops_device"),
		MemorySwappiness:  has("memory", "memory.swappiness"),
		KernelMemory:      has("memory", "memory.kmem.limit_in_bytes"),
		OomKillDisable:    has("memory", "memory.oom_control"),
		CPURealtime:       has("cpu", "cpu.rt_period_us") && has("cpu", "cpu.rt_runtime_us"),
	}
}

// hostCgroups is probed once per process; tests replace it.
var hostCgroups = func() CgroupSupport { return ProbeCgroups("/sys/fs/cgroup") }

// checkResources is Docker 20.10's daemon check of these resources at create
// (verifyPlatformContainerResources): what the host cannot limit is discarded with Docker's
// warning, what is out of range is refused with Docker's message.
func checkResources(h *HostConfig, cg CgroupSupport) (warnings []string, err error) {
	if h.MemorySwappiness != nil && *h.MemorySwappiness == -1 {
		h.MemorySwappiness = nil // -1: the kernel's default, as Docker records it
	}
	if h.MemorySwappiness != nil && !cg.MemorySwappiness {
		warnings = append(warnings, "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.")
		h.MemorySwappiness = nil
	}
	if s := h.MemorySwappiness; s != nil && (*s < 0 || *s > 100) {
		return warnings, fmt.Errorf("Invalid value: %v, valid memory swappiness range is 0-100", *s)
	}
	if h.KernelMemory > 0 {
		warnings = append(warnings, "Specifying a kernel memory limit is deprecated and will be removed in a future release.")
	}
	if h.KernelMemory > 0 && !cg.KernelMemory {
		warnings = append(warnings, "Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.")
		h.KernelMemory = 0
	}
	if h.KernelMemory > 0 && h.KernelMemory < minMemory {
		return warnings, errors.New("Minimum kernel memory limit allowed is 6MB")
	}
	if h.OomKillDisable != nil && !cg.OomKillDisable {
		if *h.OomKillDisable {
			warnings = append(warnings, "Your kernel does not support OomKillDisable. OomKillDisable discarded.")
		}
		h.OomKillDisable = nil
	}
	if h.OomKillDisable != nil && *h.OomKillDisable && h.Memory == 0 {
		warnings = append(warnings, "OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.")
	}
	if h.CPURealtimePeriod > 0 && !cg.CPURealtime {
		warnings = append(warnings, "Your kernel does not support cgroup cpu real-time period. Period discarded.")
		h.CPURealtimePeriod = 0
	}
	if h.CPURealtimeRuntime > 0 && !cg.CPURealtime {
		warnings = append(warnings, "Your kernel does not support cgroup cpu real-time runtime. Runtime discarded.")
		h.CPURealtimeRuntime = 0
	}
	if h.CPURealtimePeriod != 0 && h.CPURealtimeRuntime != 0 && h.CPURealtimeRuntime > h.CPURealtimePeriod {
		return warnings, errors.New("cpu real-time runtime cannot be higher than cpu real-time period")
	}
	if h.BlkioWeight > 0 && !cg.BlkioWeight {
		warnings = append(warnings, "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.")
		h.BlkioWeight = 0
	}
	if h.BlkioWeight > 0 && (h.BlkioWeight < 10 || h.BlkioWeight > 1000) {
		return warnings, errors.New("Range of blkio weight is from 10 to 1000")
	}
	if len(h.BlkioWeightDevice) > 0 && !cg.BlkioWeightDevice {
		warnings = append(warnings, "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.")
		h.BlkioWeightDevice = nil
	}
	for _, t := range []struct {
		list *[]ThrottleDevice
		ok   bool
		warn string
	}{
		{&h.BlkioDeviceReadBps, cg.BlkioReadBps, "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded."},
		{&h.BlkioDeviceWriteBps, cg.BlkioWriteBps, "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded."},
		{&h.BlkioDeviceReadIOps, cg.BlkioReadIOps, "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded."},
		{&h.BlkioDeviceWriteIOps, cg.BlkioWriteIOps, "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded."},
	} {
		if len(*t.list) > 0 && !t.ok {
			warnings = append(warnings, t.warn)
			*t.list = nil
		}
	}
	if err := checkStorageOpt(h.StorageOpt); err != nil {
		return warnings, err
	}
	return warnings, nil
}

// checkStorageOpt is overlay2's reading of --storage-opt: "size" is the only option, and it
// needs project quotas (overlay over xfs with pquota), which berth's layer store does not set up.
func checkStorageOpt(opts map[string]string) error {
	if len(opts) == 0 {
		return nil
	}
	for k, v := range opts {
		switch strings.ToLower(k) {
		case "size":
			if _, err := units.RAMInBytes(v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("Unknown option %s", k)
		}
	}
	return errors.New("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
}

// cgroupsPath is the container's cgroup: under --cgroup-parent when given (as Docker's cgroupfs
// driver places it), under /berth otherwise.
func cgroupsPath(c *Container) string {
	if p := c.Host.CgroupParent; p != "" {
		if !filepath.IsAbs(p) {
			p = "/" + p
		}
		return filepath.Join(p, c.ID)
	}
	return "/berth/" + c.ID
}

// checkDeviceRequests is dockerd's answer to --gpus at start: berth has no device driver (no
// NVIDIA container toolkit hook), so every request fails as Docker's does without one.
func checkDeviceRequests(reqs []DeviceRequest) error {
	for _, r := range reqs {
		return fmt.Errorf("could not select device driver %q with capabilities: %v", r.Driver, r.Capabilities)
	}
	return nil
}

// blockIOSpec is the OCI blockIO of --blkio-weight, --blkio-weight-device and the throttles; each
// device is the host's block device at its path (Docker's words when it is missing: "stat
// /dev/sda: no such file or directory").
func blockIOSpec(h HostConfig) (*specs.LinuxBlockIO, error) {
	if h.BlkioWeight == 0 && len(h.BlkioWeightDevice)+len(h.BlkioDeviceReadBps)+len(h.BlkioDeviceWriteBps)+
		len(h.BlkioDeviceReadIOps)+len(h.BlkioDeviceWriteIOps) == 0 {
		return nil, nil
	}
	b := &specs.LinuxBlockIO{}
	if h.BlkioWeight > 0 {
		w := h.BlkioWeight
		b.Weight = &w
	}
	for _, d := range h.BlkioWeightDevice {
		maj, min, err := blockDevice(d.Path)
		if err != nil {
			return nil, err
		}
		w := d.Weight
		wd := specs.LinuxWeightDevice{Weight: &w}
		wd.Major, wd.Minor = maj, min
		b.WeightDevice = append(b.WeightDevice, wd)
	}
	throttle := func(list []ThrottleDevice) ([]specs.LinuxThrottleDevice, error) {
		var out []specs.LinuxThrottleDevice
		for _, d := range list {
			maj, min, err := blockDevice(d.Path)
			if err != nil {
				return nil, err
			}
			td := specs.LinuxThrottleDevice{Rate: d.Rate}
			td.Major, td.Minor = maj, min
			out = append(out, td)
		}
		return out, nil
	}
	var err error
	if b.ThrottleReadBpsDevice, err = throttle(h.BlkioDeviceReadBps); err != nil {
		return nil, err
	}
	if b.ThrottleWriteBpsDevice, err = throttle(h.BlkioDeviceWriteBps); err != nil {
		return nil, err
	}
	if b.ThrottleReadIOPSDevice, err = throttle(h.BlkioDeviceReadIOps); err != nil {
		return nil, err
	}
	if b.ThrottleWriteIOPSDevice, err = throttle(h.BlkioDeviceWriteIOps); err != nil {
		return nil, err
	}
	return b, nil
}

// blockDevice is a device file's major and minor numbers.
func blockDevice(path string) (int64, int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev))), nil
}

// ParseWeightDevice reads --blkio-weight-device DEVICE:WEIGHT, with Docker's CLI errors.
func ParseWeightDevice(v string) (WeightDevice, error) {
	p, w, ok := strings.Cut(v, ":")
	if !ok || strings.Contains(w, ":") {
		return WeightDevice{}, fmt.Errorf("bad format: %s", v)
	}
	if !strings.HasPrefix(p, "/dev/") {
		return WeightDevice{}, fmt.Errorf("bad format for device path: %s", v)
	}
	n, err := strconv.ParseUint(w, 10, 16)
	if err != nil || (n > 0 && (n < 10 || n > 1000)) {
		return WeightDevice{}, fmt.Errorf("invalid weight for device: %s", v)
	}
	return WeightDevice{Path: p, Weight: uint16(n)}, nil
}

// ParseThrottleDevice reads --device-{read,write}-bps DEVICE:RATE[UNIT] (bytes) or, with iops,
// --device-{read,write}-iops DEVICE:N, with Docker's CLI errors.
func ParseThrottleDevice(v string, iops bool) (ThrottleDevice, error) {
	p, r, ok := strings.Cut(v, ":")
	if !ok || strings.Contains(r, ":") {
		return ThrottleDevice{}, fmt.Errorf("bad format: %s", v)
	}
	if !strings.HasPrefix(p, "/dev/") {
		return ThrottleDevice{}, fmt.Errorf("bad format for device path: %s", v)
	}
	if iops {
		n, err := strconv.ParseUint(r, 10, 64)
		if err != nil {
			return ThrottleDevice{}, fmt.Errorf("invalid rate for device: %s. The correct format is <device-path>:<number>. Number must be a positive integer", v)
		}
		return ThrottleDevice{Path: p, Rate: n}, nil
	}
	n, err := units.RAMInBytes(r)
	if err != nil || n < 0 {
		return ThrottleDevice{}, fmt.Errorf("invalid rate for device: %s. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb", v)
	}
	return ThrottleDevice{Path: p, Rate: uint64(n)}, nil
}

// ParseGpus reads one --gpus as Docker's CLI does: "all", a count, or comma-separated
// count=, device=, driver=, capabilities= (the "gpu" capability is always added).
func ParseGpus(v string) (DeviceRequest, error) {
	r := DeviceRequest{}
	fields := splitCSV(v)
	seen := false
	for _, f := range fields {
		k, val, hasVal := strings.Cut(f, "=")
		if !hasVal {
			if seen {
				return r, fmt.Errorf("invalid gpu value: %s", f) // only the first may be bare
			}
			seen = true
			if f == "all" {
				r.Count = -1
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				return r, fmt.Errorf("unexpected key '%s' in '%s'", f, v)
			}
			r.Count = n
			continue
		}
		switch k {
		case "driver":
			r.Driver = val
		case "count":
			if val == "all" {
				r.Count = -1
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return r, fmt.Errorf("invalid count (%s): %w", val, err)
			}
			r.Count = n
		case "device":
			r.DeviceIDs = strings.Split(val, ",")
		case "capabilities":
			r.Capabilities = [][]string{strings.Split(val, ",")}
		case "options":
			r.Options = map[string]string{}
			for _, o := range strings.Split(val, ",") {
				ok, ov, _ := strings.Cut(o, "=")
				r.Options[ok] = ov
			}
		default:
			return r, fmt.Errorf("unexpected key '%s' in '%s'", k, v)
		}
	}
	if r.Count != 0 && len(r.DeviceIDs) > 0 {
		return r, errors.New("cannot set both Count and DeviceIDs on device request")
	}
	if len(r.Capabilities) == 0 {
		r.Capabilities = [][]string{{}}
	}
	r.Capabilities[0] = append(r.Capabilities[0], "gpu")
	return r, nil
}

// splitCSV splits a --gpus value on commas outside double quotes ("device=0,1" is quoted as
// '"device=0,1"' to keep both IDs), dropping the quotes.
func splitCSV(v string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, c := range v {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(c)
		}
	}
	return append(out, cur.String())
}

// PlatformMismatchError is dockerd's answer to --platform when the local image is for another
// platform; it counts as the image missing (errors.Is image.ErrNoSuchImage), so `run` pulls the
// reference for the platform asked for, as Docker does.
type PlatformMismatchError struct{ Ref, Want, Have string }

func (e PlatformMismatchError) Error() string {
	return fmt.Sprintf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", e.Ref, e.Want, e.Have)
}

func (e PlatformMismatchError) Unwrap() error { return image.ErrNoSuchImage }

// ParsePlatformFlag reads --platform with Docker's words for a bad one.
func ParsePlatformFlag(s string) (image.Platform, error) {
	p, err := image.ParsePlatform(s)
	if err != nil {
		return p, fmt.Errorf("error parsing specified platform: %w", err)
	}
	return p, nil
}

// checkPlatform compares the image's OS and architecture with --platform's (none: any image).
func checkPlatform(ref, platform string, cfg *image.Config) error {
	if platform == "" {
		return nil
	}
	want, err := ParsePlatformFlag(platform)
	if err != nil {
		return err
	}
	have := image.PlatformOf(cfg)
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return PlatformMismatchError{Ref: ref, Want: want.String(), Have: have.String()}
	}
	return nil
}
