// Package container is berth's container engine: container records and their lifecycle (create,
// start, stop, kill, wait, remove), the supervisor that holds a running container's stdio and
// writes its log (in-process for a foreground `run`, a re-executed berth "shim" for a
// detached one), and what is made from a container (logs, diff, commit, export).
//
// A container's record lives in the state database (one JSON record and one JSON state per row);
// its files live under containers/<id>/: upper/ and work/ (the writable overlay layer), rootfs/
// (mounted only while it runs), config.json (the OCI bundle), hosts, hostname, resolv.conf and
// the log (<id>-json.log, or local-logs/ for the local driver, with their rotated files). The
// database is the truth about what was decided; the runtime (runc state) is the truth about what
// runs: every read reconciles the two when a supervisor died.
package container

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/idmap"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/runtime"
	"github.com/docker/go-units"
)

// Container is a container's record: what create decided. It does not change while the container
// lives, except through rename.
type Container struct {
	ID      string
	Name    string // without Docker's leading "/"
	Created time.Time
	Path    string   // the command run, after entrypoint/cmd merging
	Args    []string // its arguments
	Image   string   // the image as the user named it
	ImageID string
	Config  image.ContainerConfig // the merged run config (Docker's container.Config)
	Host    HostConfig
	Driver  string // "overlay"
	// Networks are the networks the container joins when it starts, in interface order (eth0
	// first); NetworkMode names the first. Empty for host, none and container:ID.
	Networks []EndpointConfig `json:",omitempty"`
	// IDMap is the user namespace mapping of a container created under userns-remap (nil: the
	// host's IDs). Kept with the container, so a later change of the setting does not change
	// the owners its writable layer was made with.
	IDMap *idmap.Map `json:",omitempty"`
	// Disconnected: the container left its last network (network disconnect), which made its
	// NetworkMode none; unlike a container created with --network none it may be connected
	// again, as in Docker.
	Disconnected bool `json:",omitempty"`

	// Warnings are what Create adjusted that the user should hear of, as dockerd's create
	// returns them (not stored).
	Warnings []string `json:"-"`

	// ImageLayers are the image's layers (chain IDs, base first), kept so the container outlives
	// its image as Docker's does: `rmi -f` of a stopped container's image deletes the image, and
	// the layers stay for the container (metadata's UnusedLayers counts them as used). Empty for
	// containers of an older berth, which read them from the image.
	ImageLayers []string `json:",omitempty"`
	lock        *os.File // the container's lock, held from Create (HoldLock) until Unlock
}

// HostConfig is the part of `run`'s flags about the host side of the container.
type HostConfig struct {
	AutoRemove      bool
	Binds           []string
	Mounts          []Mount
	Tmpfs           map[string]string
	ReadonlyRootfs  bool
	NetworkMode     string
	PortBindings    map[string][]PortBinding
	PublishAllPorts bool
	Memory          int64
	MemorySwap      int64 // memory+swap; 0: Docker's default, -1: unlimited
	NanoCPUs        int64
	PidsLimit       int64
	// Docker's other CPU and memory flags: --cpu-shares, --cpu-period, --cpu-quota,
	// --cpuset-cpus, --cpuset-mems, --memory-reservation (zero: unset).
	CPUShares         int64  `json:"CpuShares,omitempty"`
	CPUPeriod         int64  `json:"CpuPeriod,omitempty"`
	CPUQuota          int64  `json:"CpuQuota,omitempty"`
	CpusetCpus        string `json:",omitempty"`
	CpusetMems        string `json:",omitempty"`
	MemoryReservation int64  `json:",omitempty"`
	// ContainerIDFile is --cidfile, where the CLI wrote the container's ID.
	ContainerIDFile string `json:",omitempty"`
	CapAdd          []string
	CapDrop         []string
	ExtraHosts      []string
	DNS             []string `json:"Dns,omitempty"`
	DNSSearch       []string `json:"DnsSearch,omitempty"`
	DNSOptions      []string `json:"DnsOptions,omitempty"`
	Runtime         string
	Init            bool
	Privileged      bool // --privileged: all capabilities and host devices, nothing masked
	// LogConfig is the log driver and its options (--log-driver, --log-opt), merged at create
	// with the config file's defaults as dockerd does.
	LogConfig logging.Config
	// SecurityOpt is --security-opt as Docker's daemon receives it (a seccomp profile file
	// already replaced by "seccomp=" and its JSON text).
	SecurityOpt []string `json:",omitempty"`
	// MaskedPaths and ReadonlyPaths, when not nil, replace Docker's lists (the CLI makes them
	// empty for --security-opt systempaths=unconfined).
	MaskedPaths, ReadonlyPaths []string
	// Isolation beyond Docker's defaults (isolation.go): --device, --device-cgroup-rule,
	// --group-add, --sysctl, --ulimit, --shm-size (0: DefaultShmSize), --oom-score-adj, and
	// the modes of the cgroup, IPC, PID and UTS namespaces ("" for the default, "host",
	// "private", "container:NAME"...).
	Devices           []DeviceMapping   `json:",omitempty"`
	DeviceCgroupRules []string          `json:",omitempty"`
	GroupAdd          []string          `json:",omitempty"`
	Sysctls           map[string]string `json:",omitempty"`
	Ulimits           []*units.Ulimit   `json:",omitempty"`
	ShmSize           int64             `json:",omitempty"`
	OomScoreAdj       int               `json:",omitempty"`
	CgroupnsMode      string            `json:",omitempty"`
	IpcMode           string            `json:",omitempty"`
	PidMode           string            `json:",omitempty"`
	UTSMode           string            `json:",omitempty"`
	// UsernsMode is --userns: "" (a user namespace of the container's own under userns-remap,
	// the host's otherwise) or "host" (the host's, even under userns-remap).
	UsernsMode string `json:",omitempty"`
	// The cgroup settings of cgroupopts.go: --cgroup-parent (the cgroup is PARENT/ID instead
	// of /berth/ID), --oom-kill-disable, --memory-swappiness (nil: the kernel's), --blkio-weight,
	// --blkio-weight-device and the --device-{read,write}-{bps,iops} throttles.
	CgroupParent         string           `json:",omitempty"`
	OomKillDisable       bool             `json:",omitempty"`
	MemorySwappiness     *int64           `json:",omitempty"`
	BlkioWeight          uint16           `json:",omitempty"`
	BlkioWeightDevice    []WeightDevice   `json:",omitempty"`
	BlkioDeviceReadBps   []ThrottleDevice `json:",omitempty"`
	BlkioDeviceWriteBps  []ThrottleDevice `json:",omitempty"`
	BlkioDeviceReadIOps  []ThrottleDevice `json:",omitempty"`
	BlkioDeviceWriteIOps []ThrottleDevice `json:",omitempty"`
	RestartPolicy        RestartPolicy
	// VolumesFrom are --volumes-from's containers (NAME[:ro|rw]) as given; Create copies their
	// mounts into Mounts. Isolation is "" or "default", the only technology on Linux;
	// VolumeDriver is kept as given (berth's volumes are local).
	VolumesFrom  []string `json:",omitempty"`
	Isolation    string   `json:",omitempty"`
	VolumeDriver string   `json:",omitempty"`
	// The other resources of resources.go, by Docker's HostConfig names: --kernel-memory,
	// --cpu-rt-period/--cpu-rt-runtime, --gpus and --storage-opt.
	KernelMemory       int64             `json:",omitempty"`
	CPURealtimePeriod  int64             `json:"CpuRealtimePeriod,omitempty"`
	CPURealtimeRuntime int64             `json:"CpuRealtimeRuntime,omitempty"`
	DeviceRequests     []DeviceRequest   `json:",omitempty"`
	StorageOpt         map[string]string `json:",omitempty"`
	// Links are the legacy links (--link on the default bridge) Create resolved.
	Links []LegacyLink `json:",omitempty"`
}

// DeviceRequest is one --gpus (Docker's container.DeviceRequest).
type DeviceRequest struct {
	Driver       string
	Count        int
	DeviceIDs    []string
	Capabilities [][]string
	Options      map[string]string
}

// LegacyLink is one --link on the default bridge: the target by ID (so the link follows a
// rename) and the name the linking container knows it by.
type LegacyLink struct {
	Target string
	Alias  string
}

// PortBinding is one host side of a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// Mount is a volume or bind mount as Docker's API describes it.
type Mount struct {
	Type     string // "bind", "volume", "tmpfs"
	Source   string // host path or volume name
	Target   string
	ReadOnly bool
	// Spec: given with --mount, so kept in HostConfig.Mounts as Docker keeps it (-v's are Binds).
	Spec bool `json:",omitempty"`
	// Propagation of a bind ("" is rprivate): -v's mode or --mount's bind-propagation.
	Propagation string `json:",omitempty"`
	// NoCopy: a new volume is not filled with the image's content (-v's nocopy, volume-nocopy).
	NoCopy bool `json:",omitempty"`
	// TmpfsSize and TmpfsMode are --mount's tmpfs-size (bytes) and tmpfs-mode (0: the kernel's).
	TmpfsSize int64       `json:",omitempty"`
	TmpfsMode os.FileMode `json:",omitempty"`
}

// State is what happened to a container since it was created.
type State struct {
	Status     string // created, running, paused, exited, dead, removing
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	OOMKilled  bool
	// Health is the healthcheck's state while the container has one (Docker's State.Health).
	Health *Health `json:",omitempty"`
	// RestartCount is how many times the restart policy restarted the container since the user
	// last started it.
	RestartCount int `json:",omitempty"`
	// ManuallyStopped: the user stopped or killed the container (Docker's HasBeenManuallyStopped);
	// RestartCanceled: that stop cancels any restart. Both are cleared when the user starts it.
	ManuallyStopped bool `json:",omitempty"`
	RestartCanceled bool `json:",omitempty"`
	// RestartDelay is the restart backoff's current delay.
	RestartDelay time.Duration `json:",omitempty"`
	// The supervisor (shim or foreground berth) that owns the running container: while it lives
	// the record is the truth; when it is gone the runtime is asked.
	SupervisorPid   int    `json:",omitempty"`
	SupervisorStart uint64 `json:",omitempty"`
}

// Running reports whether the container's process is alive (running or paused), or is to be
// restarted by its restart policy (Docker counts a restarting container as running).
func (s State) Running() bool {
	return s.Status == "running" || s.Status == "paused" || s.Status == "restarting"
}

// Restarting reports whether the container waits to be restarted by its restart policy.
func (s State) Restarting() bool { return s.Status == "restarting" }

// CreateOptions are `create`/`run`'s flags that shape the container's config.
type CreateOptions struct {
	Name  string
	Image string // the reference as typed
	// Platform is --platform: the image must be for it (PlatformMismatchError otherwise).
	Platform   string
	Cmd        []string // the arguments after the image
	Entrypoint *string  // --entrypoint; nil when not given, "" to reset the image's
	// MacAddress is --mac-address: the first network's interface's.
	MacAddress string
	Env        []string // -e and --env-file, in order, already read
	WorkingDir string
	User       string
	Hostname   string
	Domainname string
	Labels     map[string]string
	Tty        bool
	OpenStdin  bool
	Detach     bool // run -d: stdin is not attached (no StdinOnce), as Docker's CLI sets it
	// Attach is -a's streams ("stdin", "stdout", "stderr"); none means stdout and stderr (and
	// stdin with -i), as Docker's CLI records them in Config.Attach*; run -d attaches none.
	Attach      []string
	StopSignal  string
	StopTimeout *int
	Expose      []string
	Volumes     []string // extra anonymous volumes
	// Healthcheck is the user's (--health-*, --no-healthcheck), merged with the image's.
	Healthcheck *image.HealthConfig
	Host        HostConfig
	// Networks are --network's values in order (Host.NetworkMode when empty); Aliases (--network-alias)
	// and IP (--ip) are for the first.
	Networks []string
	Aliases  []string
	IP       string
	// IP6 (--ip6), LinkLocalIPs (--link-local-ip), EndpointLinks and DriverOpts (the Engine
	// API's EndpointSettings) are for the first network too.
	IP6           string
	LinkLocalIPs  []string
	EndpointLinks []string
	DriverOpts    map[string]string
	// Links are --link's NAME[:ALIAS] (HostConfig.Links): legacy links on the default bridge,
	// endpoint links when the first network is a user-defined one.
	Links []string
	// HoldLock keeps the container locked after Create until its Unlock: `run` holds it from
	// create to start, so no prune takes the new container for a stopped one meanwhile.
	HoldLock bool

	// EntrypointArgs is an entrypoint in list form (Compose's entrypoint:, the Engine API's);
	// when not nil it wins over Entrypoint, and an empty list resets the image's.
	EntrypointArgs []string
}

// ErrNoCommand is Docker's refusal to create a container with nothing to run.
var ErrNoCommand = errors.New("No command specified")

// MergeConfig merges the image's run config with the user's options exactly as Docker does (the
// CLI's parsing plus the daemon's merge):
//   - --entrypoint replaces the image's ENTRYPOINT and then the image's CMD is not used; an empty
//     --entrypoint resets it. Arguments after the image replace CMD.
//   - -e values come first, then the image's variables not overridden by name.
//   - -w, -u, --stop-signal replace the image's; labels are merged, the user's winning.
//   - exposed ports and volumes are the image's plus the user's.
func MergeConfig(img *image.ContainerConfig, o CreateOptions) (image.ContainerConfig, error) {
	if img == nil {
		img = &image.ContainerConfig{}
	}
	c := image.ContainerConfig{
		Hostname:    o.Hostname,
		Domainname:  o.Domainname,
		User:        o.User,
		Tty:         o.Tty,
		OpenStdin:   o.OpenStdin,
		StdinOnce:   o.OpenStdin && !o.Detach,
		AttachStdin: o.OpenStdin && !o.Detach,
		// Without -a Docker's CLI attaches stdout and stderr (create too: start -a uses them).
		AttachStdout: !o.Detach && len(o.Attach) == 0,
		AttachStderr: !o.Detach && len(o.Attach) == 0,
		Env:          append([]string(nil), o.Env...),
		Cmd:          append([]string(nil), o.Cmd...),
		Image:        o.Image,
		WorkingDir:   o.WorkingDir,
		StopSignal:   o.StopSignal,
		StopTimeout:  o.StopTimeout,
		Healthcheck:  MergeHealthcheck(img.Healthcheck, o.Healthcheck),
		OnBuild:      nil,
	}
	for _, a := range o.Attach {
		switch {
		case o.Detach:
		case a == "stdin":
			c.AttachStdin = true
		case a == "stdout":
			c.AttachStdout = true
		case a == "stderr":
			c.AttachStderr = true
		}
	}
	resetEntrypoint := false
	if o.EntrypointArgs != nil {
		c.Entrypoint = append([]string(nil), o.EntrypointArgs...)
		resetEntrypoint = len(o.EntrypointArgs) == 0
	} else if o.Entrypoint != nil {
		if *o.Entrypoint == "" {
			resetEntrypoint = true
		} else {
			c.Entrypoint = []string{*o.Entrypoint}
		}
	}
	if c.WorkingDir != "" && !path.IsAbs(c.WorkingDir) {
		return c, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", c.WorkingDir)
	}
	if err := checkWorkingDir(c.WorkingDir); err != nil {
		return c, err
	}
	if c.User == "" {
		c.User = img.User
	}
	if len(c.Env) == 0 {
		c.Env = append([]string(nil), img.Env...)
	} else {
		for _, ie := range img.Env {
			k, _, _ := strings.Cut(ie, "=")
			found := false
			for _, ue := range c.Env {
				if uk, _, _ := strings.Cut(ue, "="); uk == k {
					found = true
					break
				}
			}
			if !found {
				c.Env = append(c.Env, ie)
			}
		}
	}
	if len(c.Entrypoint) == 0 && !resetEntrypoint {
		if len(c.Cmd) == 0 {
			c.Cmd = append([]string(nil), img.Cmd...)
			c.ArgsEscaped = img.ArgsEscaped
		}
		c.Entrypoint = append([]string(nil), img.Entrypoint...)
	}
	if len(c.Entrypoint) == 0 && len(c.Cmd) == 0 {
		return c, ErrNoCommand
	}
	if c.WorkingDir == "" {
		c.WorkingDir = img.WorkingDir
	}
	if c.StopSignal == "" {
		c.StopSignal = img.StopSignal
	}
	if c.StopTimeout == nil {
		c.StopTimeout = img.StopTimeout
	}
	// Docker's container config always has labels ({}), and commit carries them into the image.
	c.Labels = map[string]string{}
	{
		for k, v := range img.Labels {
			c.Labels[k] = v
		}
		for k, v := range o.Labels {
			c.Labels[k] = v
		}
	}
	if len(img.ExposedPorts) > 0 || len(o.Expose) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for p := range img.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
		ports, err := image.NormalizePorts(o.Expose)
		if err != nil {
			return c, err
		}
		for _, p := range ports {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	if len(img.Volumes) > 0 || len(o.Volumes) > 0 {
		c.Volumes = map[string]struct{}{}
		for v := range img.Volumes {
			c.Volumes[v] = struct{}{}
		}
		for _, v := range o.Volumes {
			c.Volumes[v] = struct{}{}
		}
	}
	return c, nil
}

// checkWorkingDir refuses a working directory in /proc. The container's /proc is the kernel's,
// so a directory there is never the user's, and /proc/self/fd/N is a descriptor the runtime may
// have leaked from the host (CVE-2024-21626: runc < 1.1.12 left a host cgroup directory open,
// and a container started there could walk out to the host's root).
func checkWorkingDir(dir string) error {
	if dir == "" {
		return nil
	}
	if p := path.Clean(dir); p == "/proc" || strings.HasPrefix(p, "/proc/") {
		return fmt.Errorf("the working directory '%s' is invalid, it is inside /proc", dir)
	}
	return nil
}

// EntrypointAndArgs is the command a config runs: ENTRYPOINT followed by CMD.
func EntrypointAndArgs(c image.ContainerConfig) (string, []string) {
	all := append(append([]string(nil), c.Entrypoint...), c.Cmd...)
	if len(all) == 0 {
		return "", nil
	}
	return all[0], all[1:]
}

// ProcessEnv is the environment the container's process gets, as Docker's daemon computes it:
// PATH (default), HOSTNAME and TERM (with a tty) first, then the config's variables replacing
// those or appended; a variable given without "=" is removed. (The runtime adds HOME from the
// user's passwd entry when it is missing.)
func ProcessEnv(c image.ContainerConfig) []string { return ProcessEnvLinks(c, nil) }

// ProcessEnvLinks is ProcessEnv with legacy links' variables between the defaults and the
// config's, a variable repeated keeping its first place, as in Docker.
func ProcessEnvLinks(c image.ContainerConfig, links []string) []string {
	env := []string{"PATH=" + runtime.DefaultPathEnv, "HOSTNAME=" + c.Hostname}
	if c.Tty {
		env = append(env, "TERM=xterm")
	}
	return ReplaceOrAppendEnv(ReplaceOrAppendEnv(env, links), c.Env)
}

// ReplaceOrAppendEnv overrides defaults with overrides by variable name.
func ReplaceOrAppendEnv(defaults, overrides []string) []string {
	out := append([]string(nil), defaults...)
	for _, o := range overrides {
		k, _, hasValue := strings.Cut(o, "=")
		idx := -1
		for i, d := range out {
			if dk, _, _ := strings.Cut(d, "="); dk == k {
				idx = i
				break
			}
		}
		switch {
		case !hasValue && idx >= 0:
			out = append(out[:idx], out[idx+1:]...)
		case !hasValue:
		case idx >= 0:
			out[idx] = o
		default:
			out = append(out, o)
		}
	}
	return out
}
