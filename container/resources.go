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
)

// resourceSupport is what the host's cgroups offer for resources.go's settings, as Docker's
// sysinfo probes it (cgroupopts.go probes the block I/O, swappiness and OOM-killer ones): a
// resource the host cannot limit is discarded at create with Docker's warning, never silently.
type resourceSupport struct {
	KernelMemory, CPURealtime bool
}

// probeResources reads the cgroup filesystem under root (/sys/fs/cgroup): cgroup v1's
// memory.kmem.limit_in_bytes and cpu.rt_*; cgroup v2 has neither.
func probeResources(root string) resourceSupport {
	has := func(p ...string) bool {
		_, err := os.Stat(filepath.Join(append([]string{root}, p...)...))
		return err == nil
	}
	if has("cgroup.controllers") {
		return resourceSupport{}
	}
	return resourceSupport{
		KernelMemory: has("memory", "memory.kmem.limit_in_bytes"),
		CPURealtime:  has("cpu", "cpu.rt_period_us") && has("cpu", "cpu.rt_runtime_us"),
	}
}

func hostResources() resourceSupport { return probeResources(cgroupRoot) }

// checkResources is Docker 20.10's daemon check of these resources at create
// (verifyPlatformContainerResources): what the host cannot limit is discarded with Docker's
// warning, what is out of range is refused with Docker's message.
func checkResources(h *HostConfig, cg resourceSupport) (warnings []string, err error) {
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

// checkDeviceRequests is dockerd's answer to --gpus at start: berth has no device driver (no
// NVIDIA container toolkit hook), so every request fails as Docker's does without one.
func checkDeviceRequests(reqs []DeviceRequest) error {
	for _, r := range reqs {
		return fmt.Errorf("could not select device driver %q with capabilities: %v", r.Driver, r.Capabilities)
	}
	return nil
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
