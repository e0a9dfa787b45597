package container

import (
	"os"
	"os/exec"
	goruntime "runtime"

	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/runtime"
	"golang.org/x/sys/unix"
)

// Info is `info`'s document: berth's own keys, then the keys of Docker's `info` that scripts read,
// under Docker's names. The CLI prints it and the Engine API serves it (GET /info), both from
// Manager.Info, so the two never disagree.
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
	NCPU            int
	MemTotal        int64
	KernelVersion   string
	// CgroupDriver is "cgroupfs": berth's containers get cgroupsPath /berth/ID, never a systemd slice.
	CgroupDriver  string
	CgroupVersion string
	DockerRootDir string
	// LoggingDriver is the default log driver (Manager.LogDefaults, else json-file).
	LoggingDriver string
	// Runtimes are the OCI runtimes found on PATH, as Docker lists them: name -> {"path": ...}.
	Runtimes map[string]InfoRuntime
	Name     string
	// Swarm is always inactive: berth has no swarm mode.
	Swarm InfoSwarm
	// UsernsLayers says how containers under userns-remap see the image's layers ("idmapped
	// mounts", or "chowned copies" where the kernel cannot idmap them); empty without userns-remap.
	UsernsLayers string `json:",omitempty"`
}

// InfoRuntime is one OCI runtime of Info.Runtimes.
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

// StorageDriverDescription names the writable-layer driver containers get, as `info` shows it:
// overlayfs where it mounts, a copy of the image otherwise.
func (m *Manager) StorageDriverDescription() string {
	if m.StorageDriver() == "overlay" {
		return "overlay"
	}
	return "copy (overlayfs unavailable: containers get a copy of their image)"
}

// Counts are how many containers there are, by state (`info`'s Containers, Running...).
func (m *Manager) Counts() (all, running, paused, stopped int) {
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

// Info describes the engine and the host; version is the engine's (the binary's) version.
func (m *Manager) Info(version string) (*Info, error) {
	du, err := m.Images.DiskUsage()
	if err != nil {
		return nil, err
	}
	root := m.Images.Root
	info := &Info{RootDir: root, Driver: m.StorageDriverDescription(), Runtime: m.DefaultRuntimeName(), Images: len(du.Images),
		OperatingSystem: goruntime.GOOS, Architecture: goruntime.GOARCH, ServerVersion: version}
	info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped = m.Counts()
	if runtime.SeccompSupported() {
		info.SecurityOptions = []string{"name=seccomp,profile=default"}
	}
	info.NCPU = goruntime.NumCPU()
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		info.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		info.KernelVersion = unix.ByteSliceToString(u.Release[:])
	}
	info.CgroupDriver = "cgroupfs"
	info.CgroupVersion = runtime.CgroupVersion()
	info.DockerRootDir = root
	info.LoggingDriver = m.LogDefaults.Type
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
	if m.UsernsRemap != "" {
		// Docker's "name=userns", and how remapped containers get their layers.
		mp, err := m.Remap()
		if err != nil {
			return nil, err
		}
		info.SecurityOptions = append(info.SecurityOptions, "name=userns")
		info.UsernsLayers = m.UsernsLayers(mp)
	}
	return info, nil
}
