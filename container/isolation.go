package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-engine/berth/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DeviceMapping is one --device, as Docker's HostConfig.Devices holds it.
type DeviceMapping struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

// DefaultShmSize is the size of a container's /dev/shm unless --shm-size says otherwise.
const DefaultShmSize = 64 << 20

// Namespace modes of --ipc, --pid, --uts and --cgroupns besides runtime's host and private.
const (
	ipcShareable    = "shareable"
	containerPrefix = "container:"
)

// ValidateIsolation checks the namespace, sysctl, device and limit settings of a host config as
// Docker's CLI and daemon do, with their words.
func ValidateIsolation(h *HostConfig) error {
	switch h.CgroupnsMode {
	case "", runtime.NamespaceHost, runtime.NamespacePrivate:
	default:
		return errors.New("--cgroupns: invalid CGROUP mode")
	}
	switch {
	case h.IpcMode == "", h.IpcMode == runtime.NamespaceHost, h.IpcMode == runtime.NamespacePrivate,
		h.IpcMode == runtime.IPCNone, h.IpcMode == ipcShareable,
		strings.HasPrefix(h.IpcMode, containerPrefix) && len(h.IpcMode) > len(containerPrefix):
	default:
		return fmt.Errorf("Invalid IPC mode: %s", h.IpcMode)
	}
	switch {
	case h.PidMode == "", h.PidMode == runtime.NamespaceHost,
		strings.HasPrefix(h.PidMode, containerPrefix) && len(h.PidMode) > len(containerPrefix):
	default:
		return errors.New("--pid: invalid PID mode")
	}
	switch h.UTSMode {
	case "", runtime.NamespaceHost:
	default:
		return errors.New("--uts: invalid UTS mode")
	}
	switch h.UsernsMode {
	case "", runtime.NamespaceHost:
	default:
		return errors.New("--userns: invalid USER mode")
	}
	if h.OomScoreAdj < -1000 || h.OomScoreAdj > 1000 {
		return fmt.Errorf("Invalid value %d, range for oom score adj is [-1000, 1000]", h.OomScoreAdj)
	}
	if h.ShmSize < 0 {
		return errors.New("SHM size can not be less than 0")
	}
	for k, v := range h.Sysctls {
		if err := ValidateSysctl(k + "=" + v); err != nil {
			return err
		}
	}
	for _, r := range h.DeviceCgroupRules {
		if _, err := runtime.ParseDeviceCgroupRule(r); err != nil {
			return err
		}
	}
	for _, d := range h.Devices {
		if !runtime.ValidDeviceMode(d.CgroupPermissions) {
			return fmt.Errorf("bad mode specified: %s", d.CgroupPermissions)
		}
		if !filepath.IsAbs(d.PathInContainer) {
			return fmt.Errorf("%s is not an absolute path", d.PathInContainer)
		}
	}
	for _, u := range h.Ulimits {
		if _, err := u.GetRlimit(); err != nil {
			return err
		}
	}
	return nil
}

// ValidateSysctl is Docker's CLI check of a --sysctl KEY=VALUE: the namespaced sysctls only
// (IPC's kernel.* ones, fs.mqueue.*, net.*).
func ValidateSysctl(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	if ok {
		switch k {
		case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
			"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
			return nil
		}
		if strings.HasPrefix(k, "net.") || strings.HasPrefix(k, "fs.mqueue.") {
			return nil
		}
	}
	return fmt.Errorf("sysctl '%s' is not whitelisted", kv)
}

// isolation is what a container's --device, --group-add, --ulimit, namespace... settings make of
// its spec, resolved when it starts (other containers' namespaces, the host's devices).
type isolation struct {
	devices    []specs.LinuxDevice
	rules      []specs.LinuxDeviceCgroup
	groups     []uint32
	namespaces runtime.NamespaceModes
	rlimits    []specs.POSIXRlimit
	mounts     []specs.Mount
	oomAdj     *int
}

// resolveIsolation prepares a container's isolation settings for its spec.
func (m *Manager) resolveIsolation(c *Container, rootfs string) (*isolation, error) {
	h := &c.Host
	iso := &isolation{}
	for _, d := range h.Devices {
		devs, rules, err := runtime.DevicesFromPath(d.PathOnHost, d.PathInContainer, d.CgroupPermissions)
		if err != nil {
			return nil, err
		}
		iso.devices, iso.rules = append(iso.devices, devs...), append(iso.rules, rules...)
	}
	for _, r := range h.DeviceCgroupRules {
		rule, err := runtime.ParseDeviceCgroupRule(r)
		if err != nil {
			return nil, err
		}
		iso.rules = append(iso.rules, rule)
	}
	groups, err := runtime.ResolveGroups(rootfs, h.GroupAdd)
	if err != nil {
		return nil, err
	}
	iso.groups = groups
	for _, u := range h.Ulimits {
		rl, err := u.GetRlimit()
		if err != nil {
			return nil, err
		}
		if err := checkRlimit(u.Name, rl.Type, rl.Hard); err != nil {
			return nil, err
		}
		iso.rlimits = append(iso.rlimits, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Hard: rl.Hard, Soft: rl.Soft})
	}
	if h.OomScoreAdj != 0 {
		adj := h.OomScoreAdj
		iso.oomAdj = &adj
	}
	ns := &iso.namespaces
	ns.Cgroup, ns.UTS = cgroupnsMode(h.CgroupnsMode), h.UTSMode
	if h.NetworkMode == runtime.NetworkHost {
		ns.UTS = runtime.NamespaceHost // berth keeps the host's name with its network
	}
	switch {
	case h.PidMode == runtime.NamespaceHost:
		ns.PID = runtime.NamespaceHost
	case strings.HasPrefix(h.PidMode, containerPrefix):
		pid, _, err := m.joinTarget(h.PidMode, "PID")
		if err != nil {
			return nil, err
		}
		ns.PID = fmt.Sprintf("/proc/%d/ns/pid", pid)
	}
	switch {
	case h.IpcMode == runtime.NamespaceHost:
		// The host's IPC: its namespace and its /dev/shm, as Docker binds it.
		ns.IPC = runtime.NamespaceHost
		iso.mounts = append(iso.mounts, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "rprivate"}})
	case h.IpcMode == runtime.IPCNone:
		ns.IPC = runtime.IPCNone
	case h.IpcMode == ipcShareable:
		// Its /dev/shm is mounted on the host (containers/<id>/shm), as Docker does, so that a
		// container joining its IPC namespace can bind the same one.
		shm, err := m.mountShm(c)
		if err != nil {
			return nil, err
		}
		iso.mounts = append(iso.mounts, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: shm, Options: []string{"rbind", "rprivate"}})
	case strings.HasPrefix(h.IpcMode, containerPrefix):
		pid, donor, err := m.joinTarget(h.IpcMode, "IPC")
		if err != nil {
			return nil, err
		}
		shm := filepath.Join(m.dir(donor.ID), "shm")
		switch donor.Host.IpcMode {
		case runtime.NamespaceHost:
			shm = "/dev/shm"
		case ipcShareable:
		default:
			return nil, fmt.Errorf("can't join IPC of container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", donor.ID)
		}
		ns.IPC = fmt.Sprintf("/proc/%d/ns/ipc", pid)
		iso.mounts = append(iso.mounts, specs.Mount{Destination: "/dev/shm", Type: "bind", Source: shm, Options: []string{"rbind", "rprivate"}})
	}
	return iso, nil
}

// mountShm mounts a shareable container's /dev/shm at containers/<id>/shm (unmountShm undoes it).
func (m *Manager) mountShm(c *Container) (string, error) {
	dir := filepath.Join(m.dir(c.ID), "shm")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	size := c.Host.ShmSize
	if size <= 0 {
		size = DefaultShmSize
	}
	unix.Unmount(dir, unix.MNT_DETACH) // a mount a crashed supervisor left
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, fmt.Sprintf("mode=1777,size=%d", size)); err != nil {
		return "", fmt.Errorf("mounting the shareable /dev/shm: %w", err)
	}
	return dir, nil
}

func unmountShm(dir string) {
	unix.Unmount(filepath.Join(dir, "shm"), unix.MNT_DETACH)
}

// cgroupnsMode is a container's cgroup namespace mode: Docker's default is the host's on a
// cgroup v1 host and a private one on a unified (v2) host.
func cgroupnsMode(mode string) string {
	if mode != "" {
		return mode
	}
	if unified() {
		return runtime.NamespacePrivate
	}
	return runtime.NamespaceHost
}

// checkJoinTargets makes sure the containers named by container:NAME modes exist, when the
// container is created (they need to run only when it starts).
func (m *Manager) checkJoinTargets(h *HostConfig) error {
	for _, mode := range []string{h.PidMode, h.IpcMode} {
		if ref, ok := strings.CutPrefix(mode, containerPrefix); ok {
			if _, _, err := m.Get(ref); err != nil {
				return err
			}
		}
	}
	return nil
}

// joinTarget is the running container named by a "container:NAME" mode and its init's pid.
func (m *Manager) joinTarget(mode, what string) (int, *Container, error) {
	ref := strings.TrimPrefix(mode, containerPrefix)
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, nil, err
	}
	pid := m.pid(c.ID, st)
	if !st.Running() || st.Restarting() || pid == 0 {
		if what == "PID" {
			return 0, nil, fmt.Errorf("container %s is not running", c.ID)
		}
		return 0, nil, fmt.Errorf("can't join %s of container %s: container %s is not running", what, c.ID, c.ID)
	}
	return pid, c, nil
}

// checkRlimit refuses a hard limit above berth's own when berth may not raise it (no
// CAP_SYS_RESOURCE): the runtime would fail with "error setting rlimit type 7: operation not
// permitted".
func checkRlimit(name string, typ int, hard uint64) error {
	var own unix.Rlimit
	if unix.Getrlimit(typ, &own) != nil || hard <= own.Max || hasCapability(unix.CAP_SYS_RESOURCE) {
		return nil
	}
	return fmt.Errorf("--ulimit %s: hard limit %d is above berth's own (%d) and berth lacks CAP_SYS_RESOURCE to raise it", name, hard, own.Max)
}

// hasCapability reports whether this process has capability c in its effective set.
func hasCapability(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}
