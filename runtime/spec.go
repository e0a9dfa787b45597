package runtime

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPathEnv is the PATH Docker gives a container whose image sets none.
const DefaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCapabilities is Docker's default capability set (moby oci/caps/defaults.go): every set
// but the ambient one gets these 14.
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

// MaskedPaths are hidden from the container (bind-mounted over with /dev/null or an empty tmpfs).
func MaskedPaths() []string {
	return []string{
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	}
}

// ReadonlyPaths are remounted read-only inside the container.
func ReadonlyPaths() []string {
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

// DefaultMounts are the kernel filesystems every container gets, as Docker sets them up.
func DefaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
}

// defaultDevices is Docker's device cgroup: deny everything, then allow mknod of any device and
// the usual character devices (null, zero, full, random, urandom, tty, console, ptmx, pts, tun).
// A wildcard major or minor is left out (nil), which every runtime reads as "*"; runc also takes
// -1, but crun writes it to devices.allow as is and the kernel refuses it.
func defaultDevices() []specs.LinuxDeviceCgroup {
	i64 := func(v int64) *int64 { return &v }
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Access: "m"},
		{Allow: true, Type: "b", Access: "m"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(5), Minor: i64(1), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(136), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"},
	}
}

// Network modes a spec knows about; anything else is a path to a network namespace to join.
const (
	NetworkNone = "none"
	NetworkHost = "host"
)

// SpecOptions is everything a container's spec is made of, already merged and resolved (the
// container package merges the image config with the user's flags and resolves the user).
type SpecOptions struct {
	Rootfs     string // the rootfs path as the runtime sees it ("rootfs", relative to the bundle)
	Args       []string
	Env        []string
	Cwd        string
	User       specs.User
	Hostname   string
	Domainname string
	Terminal   bool
	ReadOnly   bool // --read-only: the rootfs is mounted read-only
	// Network is NetworkNone (a new, empty network namespace), NetworkHost (the host's), or the
	// path of a prepared network namespace to join.
	Network string
	// Mounts are added after the defaults (volumes, binds, tmpfs, /etc/hosts...); one on the same
	// destination as a default replaces it, as in Docker.
	Mounts  []specs.Mount
	CapAdd  []string // "NET_ADMIN" or "CAP_NET_ADMIN", "ALL"
	CapDrop []string
	// Privileged is Docker's --privileged: every capability (PrivilegedCapabilities; CapAdd and
	// CapDrop are ignored, as Docker ignores them), no masked or read-only paths, /sys and the
	// cgroup filesystem writable, and every device allowed by the device cgroup.
	Privileged bool
	// Devices are created in the container's /dev (a privileged container gets HostDevices).
	Devices    []specs.LinuxDevice
	Memory     int64 // bytes; 0 for no limit
	MemorySwap int64 // memory+swap bytes; 0 for Docker's default (twice Memory), -1 for unlimited
	NanoCPUs   int64 // --cpus × 1e9; 0 for no limit
	PidsLimit  int64 // 0 for no limit
	// CPU is --cpu-shares, --cpu-period, --cpu-quota, --cpuset-cpus/-mems (zero: unset).
	CPU CPUOptions
	// MemoryReservation is --memory-reservation, the soft limit (bytes; 0 for none).
	MemoryReservation int64
	// KernelMemory is --kernel-memory (bytes; 0 for none).
	KernelMemory int64
	CgroupsPath  string // e.g. "/berth/<id>"
	Annotations  map[string]string
	// Sysctls are --sysctl, set in the container's namespaces.
	Sysctls map[string]string
	// Namespaces says, for the IPC, PID, UTS and cgroup namespaces, whether the container gets
	// its own (the default; for cgroup only with NamespacePrivate, as Docker on a cgroup v1
	// host), shares the host's (NamespaceHost) or joins one at a path (/proc/PID/ns/...).
	Namespaces NamespaceModes
	// DeviceRules are added to the device cgroup after Docker's defaults (--device, and
	// --device-cgroup-rule).
	DeviceRules []specs.LinuxDeviceCgroup
	Rlimits     []specs.POSIXRlimit // --ulimit
	ShmSize     int64               // /dev/shm's size in bytes; 0 for Docker's 64 MiB
	OomScoreAdj *int                // --oom-score-adj
	// MaskedPaths and ReadonlyPaths replace MaskedPaths() and ReadonlyPaths() when not nil
	// (empty for --security-opt systempaths=unconfined).
	MaskedPaths, ReadonlyPaths []string
	// Security is --security-opt: the seccomp profile (Docker's default when none is named),
	// no-new-privileges.
	Security SecurityOptions
	// UIDMappings and GIDMappings, when set, put the container in a user namespace of its own
	// (userns-remap): its root is the first host ID of the mapping.
	UIDMappings, GIDMappings []specs.LinuxIDMapping
	// UsernsPath is the user namespace to join with those mappings (empty: the runtime makes one).
	UsernsPath string
}

// Namespace modes of NamespaceModes besides a path to join.
const (
	NamespaceHost    = "host"
	NamespacePrivate = "private"
	// IPCNone is --ipc none: a namespace of its own and no /dev/shm.
	IPCNone = "none"
)

// NamespaceModes are the modes of a container's IPC, PID, UTS and cgroup namespaces.
type NamespaceModes struct {
	IPC, PID, UTS, Cgroup string
}

// OCIVersion is the runtime-spec version berth's specs declare: Docker 20.10's. The runtimes a
// distribution ships lag the spec module (crun 1.8 refuses "unknown version" for 1.2 and later),
// and berth uses nothing newer.
const OCIVersion = "1.0.2-dev"

// Spec builds the OCI runtime spec of a container. Options are validated by whoever parsed them
// (see NormalizeCapabilities for the capability names); it fails only on a seccomp profile the
// user gave that does not load.
func Spec(o SpecOptions) (*specs.Spec, error) {
	caps, _ := ContainerCapabilities(o.Privileged, o.CapAdd, o.CapDrop)
	s := &specs.Spec{
		Version:  OCIVersion,
		Root:     &specs.Root{Path: o.Rootfs, Readonly: o.ReadOnly},
		Hostname: o.Hostname,
		Process: &specs.Process{
			Terminal: o.Terminal,
			User:     o.User,
			Args:     o.Args,
			Env:      o.Env,
			Cwd:      o.Cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: o.Security.NoNewPrivileges,
			Rlimits:         o.Rlimits,
			OOMScoreAdj:     o.OomScoreAdj,
		},
		Annotations: o.Annotations,
		Mounts:      specMounts(o),
	}
	if o.Domainname != "" {
		s.Domainname = o.Domainname
	}
	if o.Namespaces.UTS == NamespaceHost {
		s.Hostname, s.Domainname = "", "" // the host's name, which the runtime must not set
	}
	s.Linux = &specs.Linux{
		Namespaces:  specNamespaces(o),
		Resources:   specResources(o),
		CgroupsPath: o.CgroupsPath,
		Devices:     o.Devices,
		Sysctl:      map[string]string{},
		UIDMappings: o.UIDMappings,
		GIDMappings: o.GIDMappings,
	}
	if o.Network != NetworkHost {
		// Docker's two sysctls of a network namespace of the container's own: ping without
		// CAP_NET_RAW, and any port without CAP_NET_BIND_SERVICE (the namespace has nothing else
		// to protect). --sysctl may set them otherwise. In a user namespace Docker leaves ping
		// alone (its group range names host groups).
		if len(o.UIDMappings) == 0 {
			s.Linux.Sysctl["net.ipv4.ping_group_range"] = "0 2147483647"
		}
		s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] = "0"
	}
	for k, v := range o.Sysctls {
		s.Linux.Sysctl[k] = v
	}
	if !o.Privileged {
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = MaskedPaths(), ReadonlyPaths()
		if o.MaskedPaths != nil {
			s.Linux.MaskedPaths = o.MaskedPaths
		}
		if o.ReadonlyPaths != nil {
			s.Linux.ReadonlyPaths = o.ReadonlyPaths
		}
	}
	// The filter is built from the final capability set: Docker's default profile allows the
	// calls a granted capability is about (mount with CAP_SYS_ADMIN, and so on).
	filter, err := SeccompFilter(o.Security, o.Privileged, caps)
	if err != nil {
		return nil, err
	}
	s.Linux.Seccomp = filter
	return s, nil
}

// specMounts are the default mounts (with /dev/shm's size, none with --ipc none) and the user's,
// with /sys (and the cgroup filesystem) read-only unless privileged.
func specMounts(o SpecOptions) []specs.Mount {
	defaults := DefaultMounts()
	for i := range defaults {
		if defaults[i].Destination != "/dev/shm" || o.ShmSize <= 0 {
			continue
		}
		for j, opt := range defaults[i].Options {
			if strings.HasPrefix(opt, "size=") {
				defaults[i].Options[j] = fmt.Sprintf("size=%dk", o.ShmSize/1024)
			}
		}
	}
	if o.Namespaces.IPC == IPCNone {
		defaults = withoutMount(defaults, "/dev/shm")
	}
	mounts := mergeMounts(defaults, o.Mounts)
	if o.ReadOnly {
		// Docker keeps /dev, /dev/pts, /dev/shm, /dev/mqueue writable but remounts /proc's
		// siblings as they are; the rootfs itself is read-only through Root.Readonly.
		for i := range mounts {
			if mounts[i].Destination == "/sys" && !contains(mounts[i].Options, "ro") {
				mounts[i].Options = append(mounts[i].Options, "ro")
			}
		}
	}
	if o.Privileged {
		// Docker's privileged container writes to /sys and its cgroups, --read-only or not.
		for i, m := range mounts {
			if m.Destination == "/sys" || m.Type == "cgroup" {
				mounts[i].Options = without(m.Options, "ro")
			}
		}
	}
	return mounts
}

// specNamespaces lists the namespaces the runtime makes (no path) or joins (a path); one the
// container shares with the host is left out.
func specNamespaces(o SpecOptions) []specs.LinuxNamespace {
	var ns []specs.LinuxNamespace
	for _, n := range []struct {
		typ  specs.LinuxNamespaceType
		mode string
	}{
		{specs.PIDNamespace, o.Namespaces.PID}, {specs.IPCNamespace, o.Namespaces.IPC},
		{specs.UTSNamespace, o.Namespaces.UTS}, {specs.MountNamespace, ""},
		{specs.CgroupNamespace, o.Namespaces.Cgroup},
	} {
		switch {
		case n.mode == NamespaceHost:
		case n.typ == specs.CgroupNamespace && n.mode != NamespacePrivate:
		case strings.HasPrefix(n.mode, "/"):
			ns = append(ns, specs.LinuxNamespace{Type: n.typ, Path: n.mode})
		default:
			ns = append(ns, specs.LinuxNamespace{Type: n.typ})
		}
	}
	if len(o.UIDMappings) > 0 {
		ns = append(ns, specs.LinuxNamespace{Type: specs.UserNamespace, Path: o.UsernsPath})
	}
	switch o.Network {
	case NetworkHost:
		// The host's network namespace: no entry. Docker keeps the UTS namespace but uses the
		// host's name; the caller sets Hostname accordingly.
	case "", NetworkNone:
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	default:
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: o.Network})
	}
	return ns
}

// CPUOptions are Docker's CPU flags beyond --cpus.
type CPUOptions struct {
	Shares                 int64
	Period, Quota          int64
	CpusetCpus, CpusetMems string
	// RealtimePeriod and RealtimeRuntime are --cpu-rt-period and --cpu-rt-runtime (µs).
	RealtimePeriod, RealtimeRuntime int64
}

// specResources are the cgroup's limits and device rules.
func specResources(o SpecOptions) *specs.LinuxResources {
	res := &specs.LinuxResources{Devices: append(defaultDevices(), o.DeviceRules...)}
	if o.Privileged {
		// "a *:* rwm": any device, the host's included.
		res.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	if o.Memory > 0 {
		m := o.Memory
		res.Memory = &specs.LinuxMemory{Limit: &m}
		if o.MemorySwap != 0 {
			sw := o.MemorySwap
			res.Memory.Swap = &sw
		}
	}
	if o.NanoCPUs > 0 {
		// Docker's --cpus: a 100 ms period and a quota of cpus × period.
		period := uint64(100000)
		quota := o.NanoCPUs * int64(period) / 1e9
		res.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if o.MemoryReservation > 0 {
		r := o.MemoryReservation
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		res.Memory.Reservation = &r
	}
	if c := o.CPU; c != (CPUOptions{}) {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		if c.Shares > 0 {
			sh := uint64(c.Shares)
			res.CPU.Shares = &sh
		}
		if c.Period > 0 {
			pe := uint64(c.Period)
			res.CPU.Period = &pe
		}
		if c.Quota != 0 {
			q := c.Quota
			res.CPU.Quota = &q
		}
		res.CPU.Cpus, res.CPU.Mems = c.CpusetCpus, c.CpusetMems
		if c.RealtimePeriod > 0 {
			rp := uint64(c.RealtimePeriod)
			res.CPU.RealtimePeriod = &rp
		}
		if c.RealtimeRuntime != 0 {
			rr := c.RealtimeRuntime
			res.CPU.RealtimeRuntime = &rr
		}
	}
	if o.KernelMemory > 0 {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		k := o.KernelMemory
		res.Memory.Kernel = &k
	}
	if o.PidsLimit > 0 {
		p := o.PidsLimit
		res.Pids = &specs.LinuxPids{Limit: &p}
	}
	return res
}

// mergeMounts puts user mounts after the defaults; a user mount on a default's destination (or
// under /dev when the user mounts /dev itself) replaces the default.
func mergeMounts(defaults, user []specs.Mount) []specs.Mount {
	taken := map[string]bool{}
	for _, m := range user {
		taken[cleanDest(m.Destination)] = true
	}
	var out []specs.Mount
	for _, m := range defaults {
		if taken[m.Destination] || (taken["/dev"] && strings.HasPrefix(m.Destination, "/dev/")) {
			continue
		}
		out = append(out, m)
	}
	// Parents before children, so "/data" is mounted before "/data/sub" (Docker sorts the same way).
	sorted := append([]specs.Mount(nil), user...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return depth(sorted[i].Destination) < depth(sorted[j].Destination)
	})
	return append(out, sorted...)
}

func cleanDest(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
}

func depth(p string) int { return strings.Count(cleanDest(p), "/") }

// withoutMount returns mounts less the one on dest.
func withoutMount(mounts []specs.Mount, dest string) []specs.Mount {
	var out []specs.Mount
	for _, m := range mounts {
		if m.Destination != dest {
			out = append(out, m)
		}
	}
	return out
}

// without returns list less every s, in a new slice.
func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// allCapabilities lists the capabilities Docker knows by name (for --cap-add ALL and validation).
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// NormalizeCapabilities applies --cap-add and --cap-drop to base the way Docker 20.10 does: names
// with or without "CAP_", any case; an unknown name fails with Docker's `invalid CapAdd: unknown
// capability: "CAP_FOO"`. "ALL" in add gives every capability (those berth can hand on, see
// PrivilegedCapabilities) less the dropped ones; "ALL" in drop leaves only the added ones;
// otherwise base less the drops, plus the adds. The result keeps base's order, then the
// additions in the order given.
func NormalizeCapabilities(base, add, drop []string) ([]string, error) {
	adds, err := normalizeCapabilityNames(add)
	if err != nil {
		return nil, fmt.Errorf("invalid CapAdd: %w", err)
	}
	drops, err := normalizeCapabilityNames(drop)
	if err != nil {
		return nil, fmt.Errorf("invalid CapDrop: %w", err)
	}
	var out []string
	switch {
	case contains(adds, "ALL"):
		for _, c := range PrivilegedCapabilities() {
			if !contains(drops, c) {
				out = append(out, c)
			}
		}
		return out, nil
	case contains(drops, "ALL"):
	default:
		for _, c := range base {
			if !contains(drops, c) {
				out = append(out, c)
			}
		}
	}
	for _, c := range adds {
		if !contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// normalizeCapabilityNames upper-cases names and gives them the CAP_ prefix ("ALL" stays as it is).
func normalizeCapabilityNames(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, c := range list {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if c != "ALL" && !contains(allCapabilities, c) {
			return nil, fmt.Errorf("unknown capability: %q", c)
		}
		out = append(out, c)
	}
	return out, nil
}
