package cli

// End-to-end tests of confinement: a probe script run under berth, whose expected lines were
// recorded from Docker 20.10 on the same machine (`/usr/bin/docker run --rm --network none FLAGS
// -v probe.sh:/probe.sh:ro reference-busybox:1 sh /probe.sh`), devices, and regression tests of
// container-escape CVEs.

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// probeScript prints one line per check: seccomp mode, no_new_privs, capability sets, whether the
// namespace-creating and mount calls succeed, masked paths, /proc/sys writability and Docker's
// two network sysctls.
const probeScript = `#!/bin/sh
st() { grep "^$1:" /proc/self/status | tr -d ' \t' ; }
st Seccomp; st NoNewPrivs; st CapEff; st CapBnd
try() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "$n: ok"; else echo "$n: denied"; fi; }
try unshare-U unshare -U true
try unshare-Urm-tmpfs unshare -Urm sh -c 'mount -t tmpfs t /tmp'
try unshare-Urn-linkadd unshare -Urn sh -c 'ip link add p0 type bridge'
try mount-tmpfs mount -t tmpfs t /tmp
try ip-link-add ip link add p1 type bridge
for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
  if [ -s "$p" ] || [ "$(head -c 1 "$p" 2>/dev/null | wc -c)" != 0 ]; then echo "$p: visible"; else echo "$p: masked"; fi
done
echo "sysfirmware: $(ls /sys/firmware 2>/dev/null | wc -l)"
try proc-sys-write sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid'
echo "ping_group_range: $(cat /proc/sys/net/ipv4/ping_group_range 2>&1 | tr '\t' ' ')"
echo "ip_unprivileged_port_start: $(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>&1)"
`

// probeCommon is the end of every probe run recorded from Docker: the same masked paths,
// read-only /proc/sys and network sysctls whatever the flags.
const probeCommon = `/proc/kcore: masked
/proc/keys: masked
/proc/timer_list: masked
/proc/sched_debug: masked
sysfirmware: 0
proc-sys-write: denied
ping_group_range: 0 2147483647
ip_unprivileged_port_start: 0
`

func TestSecurityProbeMatchesDocker(t *testing.T) {
	e := newCtrEnv(t)
	if _, err := os.Stat("/sys/module/bridge"); err != nil {
		t.Skip("the probe's ip link add needs the bridge module loaded (modprobe bridge), as when the reference was recorded")
	}
	probe := filepath.Join(t.TempDir(), "probe.sh")
	if err := os.WriteFile(probe, []byte(probeScript), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		flags []string
		want  string
	}{
		{nil, "Seccomp:2\nNoNewPrivs:0\nCapEff:00000000a80425fb\nCapBnd:00000000a80425fb\n" +
			"unshare-U: denied\nunshare-Urm-tmpfs: denied\nunshare-Urn-linkadd: denied\nmount-tmpfs: denied\nip-link-add: denied\n"},
		{[]string{"--cap-drop", "ALL"}, "Seccomp:2\nNoNewPrivs:0\nCapEff:0000000000000000\nCapBnd:0000000000000000\n" +
			"unshare-U: denied\nunshare-Urm-tmpfs: denied\nunshare-Urn-linkadd: denied\nmount-tmpfs: denied\nip-link-add: denied\n"},
		{[]string{"--cap-add", "NET_ADMIN"}, "Seccomp:2\nNoNewPrivs:0\nCapEff:00000000a80435fb\nCapBnd:00000000a80435fb\n" +
			"unshare-U: denied\nunshare-Urm-tmpfs: denied\nunshare-Urn-linkadd: denied\nmount-tmpfs: denied\nip-link-add: ok\n"},
		// CAP_SYS_ADMIN lifts the profile's rules on unshare and mount.
		{[]string{"--cap-add", "SYS_ADMIN"}, "Seccomp:2\nNoNewPrivs:0\nCapEff:00000000a82425fb\nCapBnd:00000000a82425fb\n" +
			"unshare-U: ok\nunshare-Urm-tmpfs: ok\nunshare-Urn-linkadd: ok\nmount-tmpfs: ok\nip-link-add: denied\n"},
		{[]string{"--security-opt", "no-new-privileges"}, "Seccomp:2\nNoNewPrivs:1\nCapEff:00000000a80425fb\nCapBnd:00000000a80425fb\n" +
			"unshare-U: denied\nunshare-Urm-tmpfs: denied\nunshare-Urn-linkadd: denied\nmount-tmpfs: denied\nip-link-add: denied\n"},
		// Without the filter a user namespace gives its own root everything again.
		{[]string{"--security-opt", "seccomp=unconfined"}, "Seccomp:0\nNoNewPrivs:0\nCapEff:00000000a80425fb\nCapBnd:00000000a80425fb\n" +
			"unshare-U: ok\nunshare-Urm-tmpfs: ok\nunshare-Urn-linkadd: ok\nmount-tmpfs: denied\nip-link-add: denied\n"},
		{[]string{"--user", "1000:1000"}, "Seccomp:2\nNoNewPrivs:0\nCapEff:0000000000000000\nCapBnd:00000000a80425fb\n" +
			"unshare-U: denied\nunshare-Urm-tmpfs: denied\nunshare-Urn-linkadd: denied\nmount-tmpfs: denied\nip-link-add: denied\n"},
	}
	for _, c := range cases {
		args := append([]string{"run", "--rm", "--network", "none", "-v", probe + ":/probe.sh:ro"}, c.flags...)
		got := e.ok(append(args, "bb:1", "sh", "/probe.sh")...)
		if want := c.want + probeCommon; got != want {
			t.Errorf("run %v:\n%s\nwant (Docker 20.10):\n%s", c.flags, got, want)
		}
	}
}

// The same profile file under berth and Docker (recorded): the filter is the file's, not the
// default's.
func TestSecurityOptSeccompFile(t *testing.T) {
	e := newCtrEnv(t)
	prof := filepath.Join(t.TempDir(), "deny-mkdir.json")
	os.WriteFile(prof, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644)
	out, _, _ := e.run("run", "--rm", "--network", "none", "--security-opt", "seccomp="+prof, "bb:1",
		"sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; unshare -U true && echo unshare ok")
	want := "Seccomp:\t2\nmkdir: can't create directory '/tmp/x': Operation not permitted\nunshare ok\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	id := strings.TrimSpace(e.ok("create", "--security-opt", "seccomp="+prof, "--security-opt", "no-new-privileges:true",
		"--security-opt", "systempaths=unconfined", "--security-opt", "apparmor=unconfined", "bb:1", "true"))
	got := e.inspect(id, "{{json .HostConfig.SecurityOpt}} {{json .HostConfig.MaskedPaths}} {{json .AppArmorProfile}}")
	if want := `["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}","no-new-privileges:true","apparmor=unconfined"] [] "unconfined"`; got != want {
		t.Errorf("inspect: %s\nwant %s", got, want)
	}
	// Docker 20.10's errors, exit 125.
	for opt, want := range map[string]string{
		"foo":                     `Invalid --security-opt: "foo"`,
		"foo=bar":                 `invalid --security-opt 2: "foo=bar"`,
		"no-new-privileges=maybe": `invalid --security-opt 2: "no-new-privileges=maybe"`,
		"seccomp=/nonexistent":    "opening seccomp profile (/nonexistent) failed: open /nonexistent: no such file or directory",
	} {
		_, errs, code := e.run("run", "--rm", "--security-opt", opt, "bb:1", "true")
		if code != 125 || !strings.Contains(errs, want) {
			t.Errorf("--security-opt %s: exit %d %q, want 125 %q", opt, code, errs, want)
		}
	}
	// An exec keeps the container's filter and no_new_privs.
	id = strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--security-opt", "no-new-privileges", "bb:1", "sleep", "60"))
	if got := e.ok("exec", id, "grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status"); got != "NoNewPrivs:\t1\nSeccomp:\t2\n" {
		t.Errorf("exec: %q", got)
	}
}

func TestSecurityDevices(t *testing.T) {
	e := newCtrEnv(t)
	for _, d := range []string{"/dev/net/tun", "/dev/fuse"} {
		if _, err := os.Stat(d); err != nil {
			t.Skipf("%s is missing on this host", d)
		}
	}
	out := e.ok("run", "--rm", "--network", "none", "--device", "/dev/net/tun", "--device", "/dev/fuse:/dev/myfuse:r", "bb:1",
		"sh", "-c", "stat -c '%n %t:%T %F' /dev/net/tun /dev/myfuse; grep -E '^c 10:(200|229) ' /sys/fs/cgroup/devices/devices.list || true; "+
			"echo x > /dev/myfuse 2>/dev/null || echo write refused")
	want := "/dev/net/tun a:c8 character special file\n/dev/myfuse a:e5 character special file\n"
	if !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "write refused\n") {
		t.Errorf("devices:\n%s", out)
	}
	// The device cgroup (v1 here) lists the rules as Docker writes them.
	if _, err := os.Stat("/sys/fs/cgroup/devices"); err == nil && !strings.Contains(out, "c 10:200 rwm\nc 10:229 r\n") {
		t.Errorf("device cgroup rules:\n%s", out)
	}
	_, errs, code := e.run("run", "--rm", "--device", "/nonexistent", "bb:1", "true")
	if code != 125 || !strings.Contains(errs, `error gathering device information while adding custom device "/nonexistent": no such file or directory`) {
		t.Errorf("missing device: %d %s", code, errs)
	}
}

func TestSecurityIsolationFlags(t *testing.T) {
	e := newCtrEnv(t)
	out := e.ok("run", "--rm", "--shm-size", "32m", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "--ulimit", "nofile=100:200",
		"--oom-score-adj", "500", "--group-add", "42", "--group-add", "nogroup", "--pid", "host", "--network", "none", "bb:1",
		"sh", "-c", "df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ulimit -n; ulimit -Hn; "+
			"cat /proc/self/oom_score_adj; id; [ $(ls -d /proc/[0-9]* | wc -l) -gt 5 ] && echo host pids")
	// Recorded from Docker 20.10 with the same flags.
	if want := "32768\n80\n100\n200\n500\nuid=0(root) gid=0(root) groups=0(root),42,65534(nogroup)\nhost pids\n"; out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	donor := strings.TrimSpace(e.ok("run", "-d", "--ipc", "shareable", "--network", "none", "bb:1", "sh", "-c", "echo hi > /dev/shm/x; exec sleep 60"))
	plain := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "bb:1", "sleep", "60"))
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, _, _ = e.run("run", "--rm", "--network", "none", "--pid", "container:"+donor, "--ipc", "container:"+donor, "bb:1",
			"sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /dev/shm/x"); got == "sleep 60 \nhi\n" {
			break
		}
	}
	if got != "sleep 60 \nhi\n" {
		t.Errorf("joining a shareable container's PID and IPC: %q", got)
	}
	_, errs, code := e.run("run", "--rm", "--ipc", "container:"+plain, "bb:1", "true")
	if code != 125 || !strings.Contains(errs, "non-shareable IPC (hint: use IpcMode:shareable for the donor container)") {
		t.Errorf("joining a private IPC: %d %s", code, errs)
	}
	// Docker 20.10's create exits 1 for what its daemon refuses (run: 125).
	if _, errs, code := e.run("create", "--pid", "container:nosuch", "bb:1", "true"); code != 1 || !strings.Contains(errs, "No such container: nosuch") {
		t.Errorf("--pid container:nosuch: %d %s", code, errs)
	}
	stopped := strings.TrimSpace(e.ok("create", "bb:1", "true"))
	if _, errs, code := e.run("run", "--rm", "--pid", "container:"+stopped, "bb:1", "true"); code != 125 || !strings.Contains(errs, "container "+stopped+" is not running") {
		t.Errorf("--pid of a stopped container: %d %s", code, errs)
	}
	got = e.inspect(donor, "{{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}} {{.HostConfig.CgroupnsMode}} {{json .HostConfig.Devices}}")
	if got != "shareable 67108864 host []" && got != "shareable 67108864 private []" {
		t.Errorf("inspect: %s", got)
	}
	e.ok("rm", "-f", donor, plain)
	if b, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(b, []byte(e.root)) {
		t.Error("the shareable /dev/shm is still mounted after rm")
	}
}

// CVE-2024-21626: a working directory in /proc (a descriptor the runtime leaked) is refused
// before anything runs.
func TestCVE202421626WorkdirInProc(t *testing.T) {
	e := newCtrEnv(t)
	for _, n := range []string{"3", "7", "8"} {
		_, errs, code := e.run("run", "--rm", "--network", "none", "-w", "/proc/self/fd/"+n, "bb:1", "true")
		if code != 125 || !strings.Contains(errs, "the working directory '/proc/self/fd/"+n+"' is invalid, it is inside /proc") {
			t.Errorf("-w /proc/self/fd/%s: exit %d %s", n, code, errs)
		}
	}
	id := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "bb:1", "sleep", "60"))
	if _, errs, code := e.run("exec", "-w", "/proc/1/fd/5", id, "true"); code == 0 || !strings.Contains(errs, "inside /proc") {
		t.Errorf("exec -w /proc/1/fd/5: exit %d %s", code, errs)
	}
}

// CVE-2019-5736: a container that re-opens the runtime's binary through /proc/PID/exe of a
// process the runtime started as /proc/self/exe must not be able to write to it. Run against a
// copy of runc on PATH, so a regression damages only the copy.
func TestCVE20195736RuntimeBinary(t *testing.T) {
	e := newCtrEnv(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("needs runc")
	}
	bin := t.TempDir()
	orig, err := os.ReadFile(runc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "runc"), orig, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string) {
		c := e.cmd(args...)
		c.Env = append(c.Env, "PATH="+bin+":"+os.Getenv("PATH"))
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		c.Run()
		return out.String(), errb.String()
	}
	// The attack is on runc's binary (crun is the default where installed).
	id, errs := run("run", "-d", "--runtime", "runc", "--network", "none", "bb:1", "sh", "-c", "mkfifo /tmp/f; exec sleep 120")
	id = strings.TrimSpace(id)
	if id == "" {
		t.Fatalf("run: %s", errs)
	}
	// The runtime starts its own binary in the container (the exec's path is /proc/self/exe of
	// runc's init); --log on a FIFO nobody reads holds it open. A runtime may refuse to run
	// itself (Debian's runc 1.1.5 does: "exec /proc/self/exe: no such file or directory"), which
	// ends the attack before it starts.
	done := make(chan string, 1)
	go func() {
		_, errs := run("exec", id, "/proc/self/exe", "--log", "/tmp/f", "list")
		done <- errs
	}()
	var refusedToStart string
	select {
	case refusedToStart = <-done:
		if !strings.Contains(refusedToStart, "/proc/self/exe") {
			t.Fatalf("the runtime's binary neither ran nor was refused: %s", refusedToStart)
		}
	case <-time.After(3 * time.Second):
	}
	if refusedToStart == "" {
		// The attack: keep a descriptor on that process's exe, let the process end, then
		// re-open the descriptor for writing and write over the binary.
		attack := `for i in $(seq 100); do
  for p in /proc/[0-9]*; do
    case "$(readlink $p/exe 2>/dev/null)" in */busybox|"") continue;; esac
    exec 3< $p/exe
    cat /tmp/f > /dev/null
    sleep 1
    if printf 'PWNED' 1<> /proc/self/fd/3; then echo overwritten; else echo refused; fi
    exit 0
  done
  sleep 0.1
done
echo "no runtime process seen"`
		out, errs := run("exec", id, "sh", "-c", attack)
		<-done
		if strings.TrimSpace(out) != "refused" {
			t.Errorf("attack: %q %s", out, errs)
		}
	}
	after, err := os.ReadFile(filepath.Join(bin, "runc"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(after) != sha256.Sum256(orig) {
		t.Error("the runtime binary was overwritten from inside a container")
	}
}

// CVE-2021-41091: users other than root cannot walk into the store, not even when its root was
// made beforehand with a mode that lets them.
func TestCVE202141091DataRoot(t *testing.T) {
	e := newCtrEnv(t)
	if err := os.Chmod(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "bb:1", "sleep", "60"))
	fi, err := os.Stat(e.root)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("the root is %v after berth opened it", fi.Mode().Perm())
	}
	layers, _ := filepath.Glob(filepath.Join(e.root, "layers", "*", "diff", "bin", "busybox"))
	targets := append(layers, filepath.Join(e.root, "containers", id, "rootfs", "bin", "busybox"))
	for _, p := range targets {
		c := exec.Command("/bin/busybox", "stat", p)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if out, err := c.CombinedOutput(); err == nil {
			t.Errorf("user nobody reaches %s:\n%s", p, out)
		}
	}
}

// RUN --security=insecure runs privileged only when the build allows security.insecure, as
// BuildKit's entitlement; a sandboxed step keeps Docker's seccomp filter.
func TestBuildRunSecurityInsecure(t *testing.T) {
	e := newCtrEnv(t)
	ctx := t.TempDir()
	df := "FROM bb:1\nRUN --security=insecure grep -E '^(Seccomp|CapEff):' /proc/self/status > /insecure\n" +
		"RUN grep -E '^(Seccomp|CapEff):' /proc/self/status > /sandbox\n"
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644)
	_, errs, code := e.run("build", "-q", ctx)
	if code == 0 || !strings.Contains(errs, "security.insecure is not allowed") {
		t.Errorf("without --allow: exit %d %s", code, errs)
	}
	e.ok("build", "-q", "--allow", "security.insecure", "-t", "ins:1", ctx)
	out := e.ok("run", "--rm", "--network", "none", "ins:1", "cat", "/insecure", "/sandbox")
	if !strings.Contains(out, "Seccomp:\t0\n") || !strings.Contains(out, "CapEff:\t00000000a80425fb\nSeccomp:\t2\n") ||
		strings.Count(out, "CapEff:\t00000000a80425fb") != 1 {
		t.Errorf("steps' confinement:\n%s", out)
	}
	if _, errs, code := e.run("build", "--allow", "foo", ctx); code == 0 || !strings.Contains(errs, "unknown entitlement foo") {
		t.Errorf("--allow foo: exit %d %s", code, errs)
	}
}

// The calls the default profile is about, tried by a static Go program. berth's profile is
// moby/profiles v0.3.0's, stricter than Docker 20.10's built-in one on io_uring, AF_ALG and
// AF_VSOCK, so the expected lines were recorded from Docker 20.10 running that profile's JSON
// (`--security-opt seccomp=.../moby/profiles/seccomp@v0.3.0/default.json`). (Docker's built-in
// profile gives "io_uring_setup: ok", "socket-AF_ALG: EAFNOSUPPORT", "socket-AF_VSOCK: ok".)
func TestSecuritySyscallProbe(t *testing.T) {
	e := newCtrEnv(t)
	probe := filepath.Join(t.TempDir(), "sysprobe")
	build := exec.Command("go", "build", "-o", probe, "./testdata/sysprobe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	common := "keyctl: EPERM\nuserfaultfd: EPERM\n"
	tail := "kcmp: EPERM\nio_uring_setup: EPERM\nsocket-AF_ALG: EPERM\nsocket-AF_VSOCK: EPERM\n"
	cases := []struct {
		flags []string
		want  string
	}{
		{nil, common + "perf_event_open: EPERM\n" + tail + "unshare-user: EPERM\npersonality-query: ok\n"},
		// CAP_SYS_ADMIN allows perf_event_open and unshare (EINVAL: the probe has threads).
		{[]string{"--cap-add", "SYS_ADMIN"}, common + "perf_event_open: ok\n" + tail + "unshare-user: EINVAL\npersonality-query: ok\n"},
	}
	for _, c := range cases {
		args := append([]string{"run", "--rm", "--network", "none", "-v", probe + ":/sysprobe:ro"}, c.flags...)
		if got := e.ok(append(args, "bb:1", "/sysprobe")...); got != c.want {
			t.Errorf("run %v:\n%s\nwant (Docker 20.10 with the same profile):\n%s", c.flags, got, c.want)
		}
	}
}
