package cli

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCrunPrecompiledSeccomp: with --runtime crun, berth compiles each seccomp profile once (in
// a probe container), caches crun's BPF under ROOT/seccomp and hands it to crun afterwards; the
// container is confined exactly as before, and the probe leaves nothing behind.
func TestCrunPrecompiledSeccomp(t *testing.T) {
	e := newCtrEnv(t)
	if _, err := exec.LookPath("crun"); err != nil {
		t.Skip("needs crun (Debian: apt-get install crun)")
	}
	probe := "grep Seccomp: /proc/self/status | tr -d ' \\t'; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-denied"
	for i := 0; i < 2; i++ {
		got := e.ok("run", "--rm", "--runtime", "crun", "--network", "none", "bb:1", "sh", "-c", probe)
		if got != "Seccomp:2\nunshare-denied\n" {
			t.Errorf("run %d under crun: %q", i, got)
		}
	}
	cached, _ := filepath.Glob(filepath.Join(e.root, "seccomp", "*"))
	if len(cached) != 1 {
		t.Fatalf("ROOT/seccomp holds %v, want one filter (and no probe left)", cached)
	}
	data, _ := os.ReadFile(cached[0])
	if prog, err := base64.StdEncoding.DecodeString(string(data)); err != nil || len(prog) < 8*100 || len(prog)%8 != 0 {
		t.Errorf("cached filter: %d bytes, %v; want a BPF program of hundreds of instructions", len(prog), err)
	}
	id := strings.TrimSpace(e.ok("create", "--runtime", "crun", "--network", "none", "bb:1", "true"))
	e.ok("start", "-a", id)
	spec, _ := os.ReadFile(filepath.Join(e.root, "containers", id, "config.json"))
	if !strings.Contains(string(spec), "run.oci.seccomp_bpf_data") {
		t.Error("the crun container's config.json has no precompiled filter")
	}
	// Another capability set is another profile; unconfined has none.
	if got := e.ok("run", "--rm", "--runtime", "crun", "--network", "none", "--cap-add", "SYS_ADMIN", "bb:1", "sh", "-c", probe); got != "Seccomp:2\nunshare-ok\n" {
		t.Errorf("--cap-add SYS_ADMIN under crun: %q", got)
	}
	if got := e.ok("run", "--rm", "--runtime", "crun", "--network", "none", "--security-opt", "seccomp=unconfined", "bb:1", "sh", "-c", probe); got != "Seccomp:0\nunshare-ok\n" {
		t.Errorf("seccomp=unconfined under crun: %q", got)
	}
	if cached, _ = filepath.Glob(filepath.Join(e.root, "seccomp", "*")); len(cached) != 2 {
		t.Errorf("ROOT/seccomp holds %v, want two filters", cached)
	}
	if out, _ := exec.Command("crun", "--root", filepath.Join(e.root, "runtime", "crun"), "list", "-q").Output(); strings.Contains(string(out), "seccomp-probe") {
		t.Errorf("probe containers left: %s", out)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/*/berth/seccomp-probe-*"); len(left) > 0 {
		t.Errorf("probe cgroups left: %v", left)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/berth/seccomp-probe-*"); len(left) > 0 {
		t.Errorf("probe cgroups left: %v", left)
	}
}
