package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/runtime"
	"github.com/docker/go-units"
	"github.com/spf13/pflag"
)

// securityFlags are create/run's flags about confinement: --security-opt and the namespace,
// device, sysctl and limit flags.
type securityFlags struct {
	securityOpt, devices, groupAdd  []string
	deviceCgroupRules, sysctls      checkedList
	ulimits                         ulimitList
	shmSize                         memBytes
	oomScoreAdj                     int
	cgroupns, ipc, pid, uts, userns string
}

func (f *securityFlags) bind(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.securityOpt, "security-opt", nil, "Security Options")
	fl.StringArrayVar(&f.devices, "device", nil, "Add a host device to the container")
	f.deviceCgroupRules.check = func(v string) error {
		_, err := runtime.ParseDeviceCgroupRule(v)
		return err
	}
	fl.Var(&f.deviceCgroupRules, "device-cgroup-rule", "Add a rule to the cgroup allowed devices list")
	fl.StringArrayVar(&f.groupAdd, "group-add", nil, "Add additional groups to join")
	f.sysctls.check = container.ValidateSysctl
	fl.Var(&f.sysctls, "sysctl", "Sysctl options")
	fl.Var(&f.ulimits, "ulimit", "Ulimit options")
	fl.Var(&f.shmSize, "shm-size", "Size of /dev/shm")
	fl.IntVar(&f.oomScoreAdj, "oom-score-adj", 0, "Tune host's OOM preferences (-1000 to 1000)")
	fl.StringVar(&f.cgroupns, "cgroupns", "", "Cgroup namespace to use (host|private)\n"+
		"'host':    Run the container in the Docker host's cgroup namespace\n"+
		"'private': Run the container in its own private cgroup namespace\n"+
		"'':        Use the cgroup namespace as configured by the\n"+
		"           default-cgroupns-mode option on the daemon (default)")
	fl.StringVar(&f.ipc, "ipc", "", "IPC mode to use")
	fl.StringVar(&f.pid, "pid", "", "PID namespace to use")
	fl.StringVar(&f.uts, "uts", "", "UTS namespace to use")
	fl.StringVar(&f.userns, "userns", "", "User namespace to use")
}

// apply puts the flags into the host config, doing what Docker's CLI does on the client side.
func (f *securityFlags) apply(h *container.HostConfig) error {
	opts, err := securityOpts(f.securityOpt)
	if err != nil {
		return err
	}
	h.SecurityOpt = nil
	for _, o := range opts {
		if o == "systempaths=unconfined" {
			// Docker's CLI keeps it to itself: nothing masked, nothing read-only.
			h.MaskedPaths, h.ReadonlyPaths = []string{}, []string{}
			continue
		}
		h.SecurityOpt = append(h.SecurityOpt, o)
	}
	if _, err = runtime.ParseSecurityOpts(h.SecurityOpt); err != nil {
		return err
	}
	for _, d := range f.devices {
		dm, err := parseDevice(d)
		if err != nil {
			return err
		}
		h.Devices = append(h.Devices, dm)
	}
	h.DeviceCgroupRules, h.GroupAdd, h.Ulimits = f.deviceCgroupRules.vals, f.groupAdd, f.ulimits.vals
	if len(f.sysctls.vals) > 0 {
		h.Sysctls = map[string]string{}
		for _, kv := range f.sysctls.vals {
			k, v, _ := strings.Cut(kv, "=")
			h.Sysctls[k] = v
		}
	}
	h.ShmSize, h.OomScoreAdj = int64(f.shmSize), f.oomScoreAdj
	h.CgroupnsMode, h.IpcMode, h.PidMode, h.UTSMode, h.UsernsMode = f.cgroupns, f.ipc, f.pid, f.uts, f.userns
	return container.ValidateIsolation(h)
}

// parseDevice reads --device HOST[:CONTAINER][:PERMS] as Docker's CLI does (PERMS defaults to
// rwm, CONTAINER to HOST).
func parseDevice(v string) (container.DeviceMapping, error) {
	parts := strings.Split(v, ":")
	if len(parts) > 3 || parts[0] == "" {
		return container.DeviceMapping{}, fmt.Errorf("bad format for path: %s", v)
	}
	d := container.DeviceMapping{PathOnHost: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 2:
		if runtime.ValidDeviceMode(parts[1]) {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
		if !runtime.ValidDeviceMode(parts[2]) {
			return d, fmt.Errorf("bad mode specified: %s", parts[2])
		}
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	if !path.IsAbs(d.PathInContainer) {
		return d, fmt.Errorf("%s is not an absolute path", d.PathInContainer)
	}
	d.PathInContainer = path.Clean(d.PathInContainer)
	return d, nil
}

// checkedList is a repeatable flag whose values are checked as they are given, so a bad one
// fails with pflag's `invalid argument "v" for "--flag" flag: ...`, as in Docker's CLI.
type checkedList struct {
	vals  []string
	check func(string) error
}

func (l *checkedList) String() string { return "[" + strings.Join(l.vals, ",") + "]" }
func (l *checkedList) Type() string   { return "list" }
func (l *checkedList) Set(v string) error {
	if err := l.check(v); err != nil {
		return err
	}
	l.vals = append(l.vals, v)
	return nil
}

// ulimitList is --ulimit, read by go-units as Docker's CLI reads it.
type ulimitList struct{ vals []*units.Ulimit }

func (l *ulimitList) String() string { return fmt.Sprint(l.vals) }
func (l *ulimitList) Type() string   { return "ulimit" }
func (l *ulimitList) Set(v string) error {
	u, err := units.ParseUlimit(v)
	if err != nil {
		return err
	}
	l.vals = append(l.vals, u)
	return nil
}

// memBytes is a size flag in Docker's units (--shm-size 64m).
type memBytes int64

func (m *memBytes) String() string { return "0" }
func (m *memBytes) Type() string   { return "bytes" }
func (m *memBytes) Set(v string) error {
	n, err := units.RAMInBytes(v)
	if err != nil {
		return fmt.Errorf("invalid size: '%s'", v) // Docker 20.10's wording for every bad size
	}
	*m = memBytes(n)
	return nil
}

// securityOpts checks --security-opt's shape as Docker's CLI does and replaces a seccomp profile
// file by its compacted JSON text (the engine, like Docker's daemon, never reads the client's
// files).
func securityOpts(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, opt := range in {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			if k, v, ok = strings.Cut(opt, ":"); !ok {
				return nil, fmt.Errorf("Invalid --security-opt: %q", opt)
			}
		}
		if k == "seccomp" && v != runtime.SeccompUnconfined {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("opening seccomp profile (%s) failed: %v", v, err)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, b); err != nil {
				return nil, fmt.Errorf("compacting json for seccomp profile (%s) failed: %v", v, err)
			}
			opt = "seccomp=" + c.String()
		}
		out = append(out, opt)
	}
	return out, nil
}
