package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSpecDockerDefaults(t *testing.T) {
	s := mustSpec(t, SpecOptions{Rootfs: "rootfs", Args: []string{"sh"}, Cwd: "/", Hostname: "abc", CgroupsPath: "/berth/x"})
	// Docker's default set, CapEff 00000000a80425fb as `grep Cap /proc/self/status` shows it.
	var mask uint64
	bits := map[string]uint{"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
		"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13,
		"CAP_SYS_CHROOT": 18, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31}
	for _, c := range s.Process.Capabilities.Effective {
		b, ok := bits[c]
		if !ok {
			t.Fatalf("unexpected capability %s", c)
		}
		mask |= 1 << b
	}
	if mask != 0xa80425fb {
		t.Errorf("capability mask = %x, want a80425fb", mask)
	}
	if !reflect.DeepEqual(s.Process.Capabilities.Bounding, s.Process.Capabilities.Effective) ||
		!reflect.DeepEqual(s.Process.Capabilities.Permitted, s.Process.Capabilities.Effective) ||
		len(s.Process.Capabilities.Ambient) != 0 || len(s.Process.Capabilities.Inheritable) != 0 {
		t.Errorf("capability sets differ: %+v", s.Process.Capabilities)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	want := []string{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"}
	if !reflect.DeepEqual(dests, want) {
		t.Errorf("mounts = %v, want %v", dests, want)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" && !contains(m.Options, "ro") {
			t.Errorf("/sys not read-only: %v", m.Options)
		}
	}
	if !reflect.DeepEqual(s.Linux.MaskedPaths, []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"}) {
		t.Errorf("masked paths = %v", s.Linux.MaskedPaths)
	}
	if !reflect.DeepEqual(s.Linux.ReadonlyPaths, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
		t.Errorf("read-only paths = %v", s.Linux.ReadonlyPaths)
	}
	var ns []string
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, string(n.Type)+"="+n.Path)
	}
	if strings.Join(ns, ",") != "pid=,ipc=,uts=,mount=,network=" {
		t.Errorf("namespaces = %v", ns)
	}
	if s.Hostname != "abc" || s.Root.Path != "rootfs" || s.Root.Readonly || s.Linux.CgroupsPath != "/berth/x" {
		t.Errorf("spec = %+v", s)
	}
	if s.Linux.Resources.Memory != nil || s.Linux.Resources.CPU != nil || s.Linux.Resources.Pids != nil {
		t.Errorf("limits set without flags: %+v", s.Linux.Resources)
	}
	if d := s.Linux.Resources.Devices; len(d) == 0 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device cgroup must start by denying everything: %+v", d)
	}
	if s.Process.Rlimits != nil {
		t.Errorf("rlimits must be inherited, never raised: %+v", s.Process.Rlimits)
	}
}

func TestSpecNetworkAndLimits(t *testing.T) {
	s := mustSpec(t, SpecOptions{Network: NetworkHost, Memory: 64 << 20, NanoCPUs: 1500000000, PidsLimit: 50, ReadOnly: true})
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Errorf("host network must not get a network namespace")
		}
	}
	if *s.Linux.Resources.Memory.Limit != 64<<20 || *s.Linux.Resources.CPU.Quota != 150000 ||
		*s.Linux.Resources.CPU.Period != 100000 || *s.Linux.Resources.Pids.Limit != 50 || !s.Root.Readonly {
		t.Errorf("limits = %+v root=%+v", s.Linux.Resources, s.Root)
	}
	s = mustSpec(t, SpecOptions{Network: "/run/netns/x"})
	last := s.Linux.Namespaces[len(s.Linux.Namespaces)-1]
	if last.Type != specs.NetworkNamespace || last.Path != "/run/netns/x" {
		t.Errorf("netns = %+v", last)
	}
}

func TestSpecUserMountsReplaceDefaultsAndSort(t *testing.T) {
	s := mustSpec(t, SpecOptions{Mounts: []specs.Mount{
		{Destination: "/data/sub", Type: "bind", Source: "/b"},
		{Destination: "/dev/shm", Type: "bind", Source: "/shm"},
		{Destination: "/data", Type: "bind", Source: "/a"},
	}})
	var got []string
	for _, m := range s.Mounts {
		got = append(got, m.Destination+"<"+m.Source)
	}
	want := []string{"/proc<proc", "/dev<tmpfs", "/dev/pts<devpts", "/sys<sysfs", "/sys/fs/cgroup<cgroup",
		"/dev/mqueue<mqueue", "/data</a", "/data/sub</b", "/dev/shm</shm"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mounts = %v\nwant %v", got, want)
	}
}

func TestNormalizeCapabilities(t *testing.T) {
	got, err := NormalizeCapabilities(DefaultCapabilities(), []string{"net_admin", "CAP_SYS_PTRACE"}, []string{"chown", "NET_RAW"})
	if err != nil {
		t.Fatal(err)
	}
	if contains(got, "CAP_CHOWN") || contains(got, "CAP_NET_RAW") || !contains(got, "CAP_NET_ADMIN") ||
		!contains(got, "CAP_SYS_PTRACE") || len(got) != 14 {
		t.Errorf("caps = %v", got)
	}
	got, _ = NormalizeCapabilities(DefaultCapabilities(), []string{"kill"}, []string{"ALL"})
	if !reflect.DeepEqual(got, []string{"CAP_KILL"}) {
		t.Errorf("drop ALL + add kill = %v", got)
	}
	// Docker 20.10's daemon, recorded: --cap-add FOO, --cap-drop foo.
	if _, err := NormalizeCapabilities(nil, []string{"FOO"}, nil); err == nil || err.Error() != `invalid CapAdd: unknown capability: "CAP_FOO"` {
		t.Errorf("bad --cap-add: %v", err)
	}
	if _, err := NormalizeCapabilities(nil, nil, []string{"foo"}); err == nil || err.Error() != `invalid CapDrop: unknown capability: "CAP_FOO"` {
		t.Errorf("bad --cap-drop: %v", err)
	}
	// ALL added: everything but what is dropped, as Docker's TweakCapabilities.
	got, _ = NormalizeCapabilities(DefaultCapabilities(), []string{"all"}, []string{"cap_sys_admin"})
	if contains(got, "CAP_SYS_ADMIN") || !contains(got, "CAP_NET_ADMIN") || len(got) != len(PrivilegedCapabilities())-1 {
		t.Errorf("add ALL drop SYS_ADMIN = %v", got)
	}
	got, _ = NormalizeCapabilities(DefaultCapabilities(), []string{"Cap_Net_Admin", "NET_ADMIN"}, nil)
	if len(got) != 15 || got[14] != "CAP_NET_ADMIN" {
		t.Errorf("mixed case, twice = %v", got)
	}
}

func TestHostsFileLikeDocker(t *testing.T) {
	// `docker run --network none` and the bridge's extra line, as Docker 20.10 writes them.
	base := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	if got := string(HostsFile("", "1bd84ddb5bfb", "", nil)); got != base {
		t.Errorf("hosts =\n%q\nwant\n%q", got, base)
	}
	if got := string(HostsFile("172.17.0.2", "1bd84ddb5bfb", "", nil)); got != base+"172.17.0.2\t1bd84ddb5bfb\n" {
		t.Errorf("hosts with IP =\n%q", got)
	}
	if got := string(HostsFile("10.0.0.2", "web", "example.com", []string{"db:10.0.0.9"})); got != base+"10.0.0.9\tdb\n10.0.0.2\tweb.example.com web\n" {
		t.Errorf("hosts with domain and --add-host =\n%q", got)
	}
}

func TestResolvConf(t *testing.T) {
	host := []byte("# comment\nnameserver 127.0.0.53\nsearch example.com\n")
	got := string(ResolvConf(host, false))
	want := "# comment\nsearch example.com\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
	if got != want {
		t.Errorf("resolv.conf = %q, want %q", got, want)
	}
	host = []byte("nameserver 10.255.255.53\n")
	if got := string(ResolvConf(host, false)); got != "nameserver 10.255.255.53\n" {
		t.Errorf("resolv.conf = %q", got)
	}
	loop := []byte("nameserver 127.0.0.1\n")
	if got := string(ResolvConf(loop, true)); got != string(loop) {
		t.Errorf("host network resolv.conf changed: %q", got)
	}
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\nnogroup:x:65534:\napp:x:1000:\nwheel:x:10:app\n"), 0o644)
	cases := []struct {
		spec string
		want specs.User
		home string
	}{
		{"", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0}}, "/root"},
		{"nobody", specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{65534}}, "/nonexistent"},
		{"app", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10}}, "/home/app"},
		{"1234", specs.User{UID: 1234, GID: 0, AdditionalGids: []uint32{0}}, "/"},
		{"nobody:root", specs.User{UID: 65534, GID: 0, AdditionalGids: []uint32{0}}, "/nonexistent"},
		{"1000:65534", specs.User{UID: 1000, GID: 65534, AdditionalGids: []uint32{65534}}, "/home/app"},
	}
	for _, c := range cases {
		u, home, err := ResolveUser(root, c.spec)
		if err != nil || !reflect.DeepEqual(u, c.want) || home != c.home {
			t.Errorf("ResolveUser(%q) = %+v %q %v, want %+v %q", c.spec, u, home, err, c.want, c.home)
		}
	}
	if _, _, err := ResolveUser(root, "nosuch"); err == nil || err.Error() != "unable to find user nosuch: no matching entries in passwd file" {
		t.Errorf("unknown user: %v", err)
	}
	if _, _, err := ResolveUser(root, "app:nosuch"); err == nil || err.Error() != "unable to find group nosuch: no matching entries in group file" {
		t.Errorf("unknown group: %v", err)
	}
}

func TestCreateErrorExitCodes(t *testing.T) {
	for msg, want := range map[string]int{
		`runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH`: 127,
		`runc create failed: unable to start container process: exec: "/etc": permission denied`:                    126,
		`runc create failed: unable to start container process: exec: "/x": stat /x: no such file or directory`:     127,
		`runc create failed: cgroup mount failed`:                                                                   125,
	} {
		if got := (&CreateError{Msg: msg}).ExitCode(); got != want {
			t.Errorf("%s: code %d, want %d", msg, got, want)
		}
	}
}

// kernelLastCap is /proc/sys/kernel/cap_last_cap.
func kernelLastCap(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skipf("no cap_last_cap: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestKernelCapabilities(t *testing.T) {
	last := kernelLastCap(t)
	all := KernelCapabilities()
	want := last + 1
	if want > len(allCapabilities) {
		t.Logf("the kernel knows %d capabilities, berth names %d", want, len(allCapabilities))
		want = len(allCapabilities)
	}
	if len(all) != want || all[0] != "CAP_CHOWN" {
		t.Fatalf("kernel capabilities = %d %v, want %d (cap_last_cap %d)", len(all), all, want, last)
	}
	// Bit order, which PrivilegedCapabilities relies on: CAP_SYS_ADMIN is 21, CAP_AUDIT_READ 37.
	if all[21] != "CAP_SYS_ADMIN" || (len(all) > 37 && all[37] != "CAP_AUDIT_READ") {
		t.Errorf("capabilities out of bit order: %v", all)
	}
	// The privileged set is those of berth's own bounding set (all of them on an ordinary host).
	status, _ := os.ReadFile("/proc/self/status")
	var bnd uint64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	var wantPriv []string
	for i, c := range all {
		if bnd&(1<<uint(i)) != 0 {
			wantPriv = append(wantPriv, c)
		}
	}
	if got := PrivilegedCapabilities(); !reflect.DeepEqual(got, wantPriv) {
		t.Errorf("privileged capabilities = %v\nwant %v (CapBnd %x)", got, wantPriv, bnd)
	}
	if len(wantPriv) != len(all) {
		t.Logf("berth's bounding set lacks %d of the kernel's capabilities (CapBnd %x)", len(all)-len(wantPriv), bnd)
	}
}

// Docker's privileged container (moby's oci_linux.go, and what a 20.10 daemon writes to the
// bundle): every capability, --cap-add/--cap-drop ignored, no masked or read-only paths, /sys and
// the cgroup filesystem writable even with --read-only, the device cgroup "a *:* rwm" alone.
func TestSpecPrivileged(t *testing.T) {
	devs := []specs.LinuxDevice{{Path: "/dev/loop-control", Type: "c", Major: 10, Minor: 237}}
	s := mustSpec(t, SpecOptions{Privileged: true, ReadOnly: true, CapDrop: []string{"NET_ADMIN"}, CapAdd: []string{"SYS_ADMIN"}, Devices: devs})
	caps := s.Process.Capabilities
	if want := PrivilegedCapabilities(); !reflect.DeepEqual(caps.Bounding, want) || !reflect.DeepEqual(caps.Effective, want) ||
		!reflect.DeepEqual(caps.Permitted, want) {
		t.Errorf("capabilities = %+v, want %v", caps, want)
	}
	// With a full bounding set (an ordinary host), that is every capability the kernel knows:
	// cap_last_cap + 1 of them.
	if n, last := len(caps.Effective), kernelLastCap(t); len(PrivilegedCapabilities()) == len(KernelCapabilities()) &&
		n != last+1 && n != len(allCapabilities) {
		t.Errorf("%d capabilities, want cap_last_cap+1 = %d", n, last+1)
	}
	if !contains(caps.Effective, "CAP_SYS_ADMIN") || !contains(caps.Effective, "CAP_NET_ADMIN") {
		t.Errorf("privileged without SYS_ADMIN or with NET_ADMIN dropped: %v", caps.Effective)
	}
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Errorf("masked %v read-only %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	for _, m := range s.Mounts {
		if (m.Destination == "/sys" || m.Type == "cgroup") && contains(m.Options, "ro") {
			t.Errorf("%s read-only: %v", m.Destination, m.Options)
		}
	}
	if !s.Root.Readonly {
		t.Errorf("--read-only lost")
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" || d[0].Type != "" ||
		d[0].Major != nil || d[0].Minor != nil {
		t.Errorf("device cgroup = %+v, want allow all", d)
	}
	if !reflect.DeepEqual(s.Linux.Devices, devs) {
		t.Errorf("devices = %+v", s.Linux.Devices)
	}
	// Unprivileged, the cgroup filesystem stays read-only and no device is added.
	s = mustSpec(t, SpecOptions{})
	for _, m := range s.Mounts {
		if m.Type == "cgroup" && !contains(m.Options, "ro") {
			t.Errorf("cgroup writable: %v", m.Options)
		}
	}
	if s.Linux.Devices != nil || len(s.Linux.Resources.Devices) < 2 {
		t.Errorf("unprivileged devices %+v %+v", s.Linux.Devices, s.Linux.Resources.Devices)
	}
}

func TestContainerCapabilities(t *testing.T) {
	got, err := ContainerCapabilities(false, []string{"NET_ADMIN"}, []string{"CHOWN"})
	if err != nil || contains(got, "CAP_CHOWN") || !contains(got, "CAP_NET_ADMIN") {
		t.Errorf("unprivileged = %v %v", got, err)
	}
	got, err = ContainerCapabilities(true, nil, []string{"ALL"})
	if err != nil || !reflect.DeepEqual(got, PrivilegedCapabilities()) {
		t.Errorf("privileged --cap-drop ALL = %v %v", got, err)
	}
}

// HostDevices finds what runc's libcontainer finds: /dev/null as 1:3, devices in subdirectories,
// nothing from pts, shm or mqueue, no console, no symbolic link.
func TestHostDevices(t *testing.T) {
	devs, err := HostDevices()
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]specs.LinuxDevice{}
	for _, d := range devs {
		byPath[d.Path] = d
		for _, skip := range []string{"/dev/pts/", "/dev/shm/", "/dev/mqueue/", "/dev/fd/"} {
			if strings.HasPrefix(d.Path, skip) {
				t.Errorf("%s listed", d.Path)
			}
		}
		if fi, err := os.Lstat(d.Path); err != nil || fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%s: %v %v", d.Path, fi, err)
		}
		if d.FileMode == nil || d.UID == nil || d.GID == nil || (d.Type != "c" && d.Type != "b") {
			t.Errorf("incomplete device %+v", d)
		}
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		if n, ok := byPath["/dev/null"]; !ok || n.Type != "c" || n.Major != 1 || n.Minor != 3 || *n.FileMode != 0o666 {
			t.Errorf("/dev/null = %+v", n)
		}
	}
	if _, ok := byPath["/dev/console"]; ok {
		t.Errorf("/dev/console listed")
	}
	if _, err := os.Stat("/dev/net/tun"); err == nil {
		if _, ok := byPath["/dev/net/tun"]; !ok {
			t.Errorf("/dev/net/tun (in a subdirectory) not listed")
		}
	}
}

func mustSpec(t *testing.T, o SpecOptions) *specs.Spec {
	t.Helper()
	s, err := Spec(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecUserNamespace(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s, err := Spec(SpecOptions{Args: []string{"sh"}, Network: "/run/ns/x", UIDMappings: m, GIDMappings: m, UsernsPath: "/c/userns"})
	if err != nil {
		t.Fatal(err)
	}
	var user *specs.LinuxNamespace
	for i, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			user = &s.Linux.Namespaces[i]
		}
	}
	if user == nil || user.Path != "/c/userns" {
		t.Fatalf("user namespace = %+v, want one joined at /c/userns", user)
	}
	if len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0] != m[0] || len(s.Linux.GIDMappings) != 1 {
		t.Errorf("mappings = %+v %+v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	// As Docker: no ping group range in a user namespace, the port sysctl still set.
	if _, ok := s.Linux.Sysctl["net.ipv4.ping_group_range"]; ok {
		t.Error("ping_group_range set in a user namespace")
	}
	if s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("sysctls = %v", s.Linux.Sysctl)
	}
	// Without mappings, no user namespace.
	s, _ = Spec(SpecOptions{Args: []string{"sh"}})
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			t.Error("user namespace without mappings")
		}
	}
}

// --cpu-shares, --cpu-period/--cpu-quota, --cpuset-*, --memory-reservation reach the spec's resources.
func TestSpecCPUOptions(t *testing.T) {
	s := mustSpec(t, SpecOptions{Network: NetworkHost, MemoryReservation: 32 << 20,
		CPU: CPUOptions{Shares: 512, Period: 50000, Quota: 25000, CpusetCpus: "0", CpusetMems: "0"}})
	c := s.Linux.Resources.CPU
	if c == nil || *c.Shares != 512 || *c.Period != 50000 || *c.Quota != 25000 || c.Cpus != "0" || c.Mems != "0" {
		t.Errorf("cpu: %+v", c)
	}
	if m := s.Linux.Resources.Memory; m == nil || m.Reservation == nil || *m.Reservation != 32<<20 || m.Limit != nil {
		t.Errorf("memory: %+v", m)
	}
	if s := mustSpec(t, SpecOptions{Network: NetworkHost}); s.Linux.Resources.CPU != nil || s.Linux.Resources.Memory != nil {
		t.Errorf("no flags, yet resources: %+v", s.Linux.Resources)
	}
}

// --cpu-rt-* and --kernel-memory reach the spec's resources (the block I/O, swappiness and OOM
// settings are container.ApplyCgroupOptions').
func TestSpecOtherResources(t *testing.T) {
	s := mustSpec(t, SpecOptions{Network: NetworkHost, KernelMemory: 50 << 20, CPU: CPUOptions{RealtimePeriod: 1000, RealtimeRuntime: 500}})
	r := s.Linux.Resources
	if r.Memory == nil || *r.Memory.Kernel != 50<<20 || r.Memory.Limit != nil {
		t.Errorf("memory: %+v", r.Memory)
	}
	if r.CPU == nil || *r.CPU.RealtimePeriod != 1000 || *r.CPU.RealtimeRuntime != 500 {
		t.Errorf("cpu: %+v", r.CPU)
	}
}
