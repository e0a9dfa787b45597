package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allowed reports whether a filter has an SCMP_ACT_ALLOW rule naming call without conditions.
func allowed(f *specs.LinuxSeccomp, call string) bool {
	for _, s := range f.Syscalls {
		if s.Action == specs.ActAllow && len(s.Args) == 0 && slices.Contains(s.Names, call) {
			return true
		}
	}
	return false
}

func TestSpecSeccompDefaultFollowsCapabilities(t *testing.T) {
	s := mustSpec(t, SpecOptions{})
	f := s.Linux.Seccomp
	if f == nil {
		t.Fatal("no seccomp filter by default")
	}
	if f.DefaultAction != specs.ActErrno || f.DefaultErrnoRet == nil || *f.DefaultErrnoRet != 1 {
		t.Errorf("default action %s errno %v, want Docker's SCMP_ACT_ERRNO/EPERM", f.DefaultAction, f.DefaultErrnoRet)
	}
	if !allowed(f, "read") || allowed(f, "mount") || allowed(f, "unshare") || allowed(f, "keyctl") {
		t.Errorf("default profile: read %v mount %v unshare %v keyctl %v, want only read", allowed(f, "read"), allowed(f, "mount"), allowed(f, "unshare"), allowed(f, "keyctl"))
	}
	// CAP_SYS_ADMIN lifts the profile's rules on mount, unshare, setns...
	f = mustSpec(t, SpecOptions{CapAdd: []string{"SYS_ADMIN"}}).Linux.Seccomp
	if !allowed(f, "mount") || !allowed(f, "unshare") || !allowed(f, "setns") {
		t.Errorf("with SYS_ADMIN mount %v unshare %v setns %v, want all allowed", allowed(f, "mount"), allowed(f, "unshare"), allowed(f, "setns"))
	}
	// --cap-drop ALL: not even the calls of the default capabilities' rules.
	f = mustSpec(t, SpecOptions{CapDrop: []string{"ALL"}}).Linux.Seccomp
	if allowed(f, "mount") || !allowed(f, "read") {
		t.Error("cap-drop ALL: the profile should still allow read and deny mount")
	}
}

func TestSpecSeccompUnconfined(t *testing.T) {
	if s := mustSpec(t, SpecOptions{Privileged: true}); s.Linux.Seccomp != nil {
		t.Error("a privileged container runs unconfined, as in Docker")
	}
	if s := mustSpec(t, SpecOptions{Security: SecurityOptions{Seccomp: "unconfined"}}); s.Linux.Seccomp != nil {
		t.Error("seccomp=unconfined has a filter")
	}
}

func TestSpecSeccompProfileJSON(t *testing.T) {
	prof := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},` +
		`{"names":["mount"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}`
	f := mustSpec(t, SpecOptions{Security: SecurityOptions{Seccomp: prof}}).Linux.Seccomp
	if f == nil || f.DefaultAction != specs.ActAllow || len(f.Syscalls) != 1 || f.Syscalls[0].Names[0] != "mkdir" {
		t.Fatalf("profile from JSON: %+v", f)
	}
	if _, err := Spec(SpecOptions{Security: SecurityOptions{Seccomp: "{bad"}}); err == nil || !strings.Contains(err.Error(), "Decoding seccomp profile failed") {
		t.Errorf("bad profile: %v", err)
	}
}

func TestSpecSecurityOptions(t *testing.T) {
	s := mustSpec(t, SpecOptions{Security: SecurityOptions{NoNewPrivileges: true}, MaskedPaths: []string{}, ReadonlyPaths: []string{}})
	if !s.Process.NoNewPrivileges {
		t.Error("no-new-privileges not set")
	}
	if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Error("systempaths=unconfined still masks paths")
	}
	if s := mustSpec(t, SpecOptions{}); s.Process.NoNewPrivileges || len(s.Linux.MaskedPaths) == 0 {
		t.Error("defaults: no-new-privileges set or nothing masked")
	}
}

func TestSpecNetworkSysctls(t *testing.T) {
	for _, network := range []string{"", NetworkNone, "/run/netns/x"} {
		s := mustSpec(t, SpecOptions{Network: network, Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"}})
		if s.Linux.Sysctl["net.ipv4.ping_group_range"] != "0 2147483647" || s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "80" {
			t.Errorf("network %q: sysctls %v", network, s.Linux.Sysctl)
		}
	}
	if s := mustSpec(t, SpecOptions{Network: NetworkHost}); len(s.Linux.Sysctl) != 0 {
		t.Errorf("the host's network namespace gets sysctls %v", s.Linux.Sysctl)
	}
}

func TestParseSecurityOpts(t *testing.T) {
	ok := map[string]SecurityOptions{
		"no-new-privileges":       {NoNewPrivileges: true},
		"no-new-privileges=true":  {NoNewPrivileges: true},
		"no-new-privileges:true":  {NoNewPrivileges: true},
		"no-new-privileges=false": {},
		"seccomp=unconfined":      {Seccomp: "unconfined"},
		"seccomp:unconfined":      {Seccomp: "unconfined"},
		"apparmor=unconfined":     {AppArmor: "unconfined"},
		"label=disable":           {Label: []string{"disable"}},
		"label:type:svirt_t":      {Label: []string{"type:svirt_t"}},
	}
	for in, want := range ok {
		got, err := ParseSecurityOpts([]string{in})
		if err != nil || !equalSecurity(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	// Docker 20.10's daemon, recorded: `docker run --security-opt X` → Error response from daemon: ...
	bad := map[string]string{
		"foo=bar":                 `invalid --security-opt 2: "foo=bar"`,
		"no-new-privileges=maybe": `invalid --security-opt 2: "no-new-privileges=maybe"`,
		"systempaths=unconfined":  `invalid --security-opt 2: "systempaths=unconfined"`,
		"foo":                     `invalid --security-opt 1: "foo"`,
	}
	for in, want := range bad {
		if _, err := ParseSecurityOpts([]string{in}); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
}

func equalSecurity(a, b SecurityOptions) bool {
	return a.Seccomp == b.Seccomp && a.NoNewPrivileges == b.NoNewPrivileges && a.AppArmor == b.AppArmor &&
		slices.Equal(a.Label, b.Label)
}

func BenchmarkDefaultSeccomp(b *testing.B) {
	caps := DefaultCapabilities()
	for i := 0; i < b.N; i++ {
		if _, err := defaultSeccomp(caps); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSpecNamespacesAndLimits(t *testing.T) {
	adj := 500
	s := mustSpec(t, SpecOptions{
		Namespaces:  NamespaceModes{PID: NamespaceHost, IPC: "/proc/7/ns/ipc", UTS: NamespaceHost, Cgroup: NamespacePrivate},
		Hostname:    "x",
		ShmSize:     32 << 20,
		OomScoreAdj: &adj,
		Rlimits:     []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 200, Soft: 100}},
		DeviceRules: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Access: "r"}},
	})
	var got []string
	for _, n := range s.Linux.Namespaces {
		got = append(got, string(n.Type)+"="+n.Path)
	}
	if want := "ipc=/proc/7/ns/ipc mount= cgroup= network="; strings.Join(got, " ") != want {
		t.Errorf("namespaces %v, want %s", got, want)
	}
	if s.Hostname != "" {
		t.Error("the host's UTS namespace, yet a hostname to set")
	}
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" && !slices.Contains(m.Options, "size=32768k") {
			t.Errorf("/dev/shm options %v", m.Options)
		}
	}
	if *s.Process.OOMScoreAdj != 500 || s.Process.Rlimits[0].Hard != 200 {
		t.Error("oom score adj or rlimits not set")
	}
	if r := s.Linux.Resources.Devices; r[len(r)-1].Access != "r" {
		t.Errorf("device rules %v", r)
	}
	// Docker's defaults: private PID, IPC, UTS; the host's cgroup namespace; /dev/shm 64 MiB.
	s = mustSpec(t, SpecOptions{Namespaces: NamespaceModes{IPC: IPCNone}})
	if len(s.Linux.Namespaces) != 5 {
		t.Errorf("default namespaces %v", s.Linux.Namespaces)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			t.Error("--ipc none has a /dev/shm")
		}
	}
}

func TestParseDeviceCgroupRule(t *testing.T) {
	r, err := ParseDeviceCgroupRule("c 1:3 mr")
	if err != nil || r.Type != "c" || *r.Major != 1 || *r.Minor != 3 || r.Access != "mr" || !r.Allow {
		t.Errorf("c 1:3 mr = %+v %v", r, err)
	}
	r, err = ParseDeviceCgroupRule("a *:* rwm")
	if err != nil || r.Type != "" || r.Major != nil || r.Minor != nil {
		t.Errorf("a *:* rwm = %+v %v", r, err)
	}
	for _, bad := range []string{"foo", "c 1:3 z", "c 1:3", "x 1:3 r", "c 1:3 rwmr"} {
		if _, err := ParseDeviceCgroupRule(bad); err == nil || err.Error() != "invalid device cgroup format '"+bad+"'" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDevicesFromPath(t *testing.T) {
	devs, rules, err := DevicesFromPath("/dev/null", "/dev/mynull", "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].Path != "/dev/mynull" || devs[0].Type != "c" || devs[0].Major != 1 || devs[0].Minor != 3 {
		t.Errorf("devices %+v", devs)
	}
	if len(rules) != 1 || rules[0].Access != "r" || *rules[0].Major != 1 || *rules[0].Minor != 3 {
		t.Errorf("rules %+v", rules)
	}
	if _, _, err := DevicesFromPath("/nonexistent", "/x", "rwm"); err == nil || err.Error() != `error gathering device information while adding custom device "/nonexistent": no such file or directory` {
		t.Errorf("missing device: %v", err)
	}
	if !ValidDeviceMode("rw") || ValidDeviceMode("rr") || ValidDeviceMode("") || ValidDeviceMode("rwz") {
		t.Error("ValidDeviceMode")
	}
}

func FuzzParseSecurityOpts(f *testing.F) {
	for _, s := range []string{"no-new-privileges", "seccomp=unconfined", "label:disable", "apparmor=x", "foo", "no-new-privileges=maybe", "seccomp={\"a\":1}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, opt string) {
		so, err := ParseSecurityOpts([]string{opt})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid --security-opt ") {
				t.Errorf("%q: %v", opt, err)
			}
			return
		}
		if so.Seccomp != "" && !strings.HasPrefix(opt, "seccomp") {
			t.Errorf("%q set seccomp %q", opt, so.Seccomp)
		}
	})
}

func FuzzParseDeviceCgroupRule(f *testing.F) {
	for _, s := range []string{"c 1:3 mr", "a *:* rwm", "b 8:* r", "foo", "c 1:3 z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		r, err := ParseDeviceCgroupRule(rule)
		if err != nil {
			return
		}
		if !r.Allow || !ValidDeviceMode(r.Access) && len(r.Access) > 3 {
			t.Errorf("%q: %+v", rule, r)
		}
		for _, c := range r.Access {
			if !strings.ContainsRune("rwm", c) {
				t.Errorf("%q: access %q", rule, r.Access)
			}
		}
	})
}

// SeccompSupported agrees with the kernel's own report in /proc/self/status.
func TestSeccompSupported(t *testing.T) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	if got, want := SeccompSupported(), strings.Contains(string(b), "\nSeccomp:"); got != want {
		t.Errorf("SeccompSupported() = %v, /proc/self/status says %v", got, want)
	}
}

func TestSeccompCacheKeyAndRuntime(t *testing.T) {
	a, err := Spec(SpecOptions{Args: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Spec(SpecOptions{Args: []string{"true"}, CapAdd: []string{"SYS_ADMIN"}})
	if SeccompKey(a.Linux.Seccomp) != SeccompKey(a.Linux.Seccomp) || SeccompKey(a.Linux.Seccomp) == SeccompKey(b.Linux.Seccomp) {
		t.Error("the cache key must name one profile: stable for it, different for another capability set")
	}
	// Only crun takes a precompiled filter: for runc nothing is compiled or set.
	dir := t.TempDir()
	c := SeccompCache{Dir: dir, Probe: []string{"/nonexistent", "x"}}
	if err := c.Precompiled(&Runtime{Binary: "/usr/bin/runc"}, a); err != nil || a.Annotations[SeccompBPFAnnotation] != "" {
		t.Errorf("runc: err %v, annotation %q", err, a.Annotations[SeccompBPFAnnotation])
	}
	// A cached filter is used as is, without a probe.
	if err := os.WriteFile(filepath.Join(dir, SeccompKey(a.Linux.Seccomp)), []byte("QUJD"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Precompiled(&Runtime{Binary: "/usr/bin/crun"}, a); err != nil || a.Annotations[SeccompBPFAnnotation] != "QUJD" {
		t.Errorf("crun with a cached filter: err %v, annotation %q", err, a.Annotations[SeccompBPFAnnotation])
	}
}
