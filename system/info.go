package system

import (
	"os"
	"os/exec"
	"runtime"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/image"
	berthruntime "github.com/berth-engine/berth/runtime"
	"golang.org/x/sys/unix"
)

// Info is what `berth info` reports (and the core of GET /info).
type Info struct {
	RootDir           string
	Driver            string
	Runtime           string
	Images            int
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	OperatingSystem   string
	Architecture      string
	ServerVersion     string
	// SecurityOptions are Docker's "name=seccomp,profile=default" entries.
	SecurityOptions []string
	// Docker's keys scripts read, under Docker's names.
	NCPU          int
	MemTotal      int64
	KernelVersion string
	// CgroupDriver is "cgroupfs": berth's containers get cgroupsPath /berth/ID, never a systemd slice.
	CgroupDriver  string
	CgroupVersion string
	DockerRootDir string
	// LoggingDriver is the default log driver (the config file's log-driver, else json-file).
	LoggingDriver string
	// Runtimes are the OCI runtimes found on PATH, as Docker lists them: name -> {"path": ...}.
	Runtimes map[string]InfoRuntime
	Name     string
	// Swarm is always inactive: berth has no swarm mode.
	Swarm InfoSwarm
	// Service says whether a `berth serve` (the Engine API) is running over this root.
	Service ServiceState
}

// InfoRuntime is one entry of Info.Runtimes.
type InfoRuntime struct {
	Path string `json:"path"`
}

// InfoSwarm is Docker's swarm.Info as an engine outside a swarm reports it.
type InfoSwarm struct {
	NodeID           string
	NodeAddr         string
	LocalNodeState   string
	ControlAvailable bool
	Error            string
	RemoteManagers   []struct{ NodeID, Addr string }
}

// InfoOptions are what the caller knows that the store does not.
type InfoOptions struct {
	Root          string // --root
	Version       string // berth's version
	LoggingDriver string // the configured default log driver ("" is json-file)
}

// CollectInfo counts the store's images and containers and describes the host.
func CollectInfo(s *image.Store, o InfoOptions) (Info, error) {
	du, err := s.DiskUsage()
	if err != nil {
		return Info{}, err
	}
	m := container.New(s)
	info := Info{RootDir: o.Root, Driver: StorageDriver(m), Runtime: "runc", Images: len(du.Images),
		OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH, ServerVersion: o.Version}
	info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped = ContainerCounts(m)
	if berthruntime.SeccompSupported() {
		info.SecurityOptions = []string{"name=seccomp,profile=default"}
	}
	hostInfo(&info, o)
	info.Service = Service(o.Root)
	return info, nil
}

// StorageDriver names the writable-layer driver containers get: overlayfs where it mounts, a
// copy of the image otherwise.
func StorageDriver(m *container.Manager) string {
	if m.StorageDriver() == "overlay" {
		return "overlay"
	}
	return "copy (overlayfs unavailable: containers get a copy of their image)"
}

// ContainerCounts are `info`'s container numbers: all, running, paused, stopped.
func ContainerCounts(m *container.Manager) (all, running, paused, stopped int) {
	list, err := m.List()
	if err != nil {
		return
	}
	for _, s := range list {
		all++
		switch s.State.Status {
		case "running":
			running++
		case "paused":
			paused++
		default:
			stopped++
		}
	}
	return
}

// hostInfo fills Info's keys that describe the host and the engine's defaults.
func hostInfo(info *Info, o InfoOptions) {
	info.NCPU = runtime.NumCPU()
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		info.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	info.KernelVersion = KernelVersion()
	info.CgroupDriver = "cgroupfs"
	info.CgroupVersion = berthruntime.CgroupVersion()
	info.DockerRootDir = o.Root
	info.LoggingDriver = o.LoggingDriver
	if info.LoggingDriver == "" {
		info.LoggingDriver = logging.DefaultDriver
	}
	info.Runtimes = map[string]InfoRuntime{}
	for _, name := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(name); err == nil {
			info.Runtimes[name] = InfoRuntime{Path: name}
		}
	}
	info.Name, _ = os.Hostname()
	info.Swarm = InfoSwarm{LocalNodeState: "inactive"}
}
