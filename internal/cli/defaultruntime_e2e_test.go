package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-engine/berth/runtime"
)

// Where crun is installed and runs on the host it is the default runtime: info says so, a
// container records it (inspect's HostConfig.Runtime) and runs under it; --runtime runc and the
// config file's default-runtime (dockerd's key) still choose runc.
func TestContainerDefaultRuntime(t *testing.T) {
	if _, err := exec.LookPath("crun"); err != nil {
		t.Skip("needs crun on PATH (Debian: apt-get install crun; scripts/deps.sh installs it)")
	}
	if !runtime.CrunRunsHere() {
		t.Skip("crun does not run on this host's cgroup layout (scripts/deps.sh mounts the v2 controllers as v1)")
	}
	conf := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("BERTH_CONFIG", conf) // absent: the defaults
	e := newCtrEnv(t)
	if out := e.ok("info", "--format", "{{.Runtime}}"); out != "crun\n" {
		t.Errorf("info's default runtime = %q, want crun", out)
	}
	e.ok("run", "-d", "--name", "dflt", "--network", "none", "bb:1", "sleep", "300")
	if got := e.inspect("dflt", "{{.HostConfig.Runtime}}"); got != "crun" {
		t.Errorf("default: HostConfig.Runtime = %q", got)
	}
	id := e.inspect("dflt", "{{.Id}}")
	if _, err := os.Stat(filepath.Join(e.root, "runtime", "crun", id)); err != nil {
		t.Errorf("the default container is not crun's: %v", err)
	}
	// exec, its failures in Docker's words and codes, and stop go through the recorded runtime.
	if out := e.ok("exec", "dflt", "echo", "in"); out != "in\n" {
		t.Errorf("exec = %q", out)
	}
	if _, errs, code := e.run("exec", "dflt", "nosuch"); code != 126 || !strings.Contains(errs, `exec: "nosuch": executable file not found in $PATH`) || strings.Contains(errs, "`") {
		t.Errorf("exec nosuch: %d %q", code, errs)
	}
	if _, errs, code := e.run("exec", "dflt", "/etc"); code != 126 || !strings.Contains(errs, `exec: "/etc": permission denied`) {
		t.Errorf("exec /etc: %d %q", code, errs)
	}
	e.ok("rm", "-f", "dflt")
	if _, errs, code := e.run("run", "--rm", "--network", "none", "bb:1", "/etc/passwd"); code != 126 || !strings.Contains(errs, `exec: "/etc/passwd": permission denied`) {
		t.Errorf("run /etc/passwd: %d %q", code, errs)
	}
	if out, errs, code := e.run("run", "--rm", "-i", "--network", "none", "bb:1", "sh", "-c", "cat; echo err >&2; exit 5"); code != 5 || out != "" || errs != "err\n" {
		t.Errorf("run under crun: %d %q %q", code, out, errs)
	}
	if out, _, code := e.runIn("piped\n", "run", "--rm", "-i", "--network", "none", "bb:1", "cat"); code != 0 || out != "piped\n" {
		t.Errorf("run -i under crun: %d %q", code, out)
	}

	e.ok("create", "--name", "byflag", "--runtime", "runc", "--network", "none", "bb:1", "true")
	if got := e.inspect("byflag", "{{.HostConfig.Runtime}}"); got != "runc" {
		t.Errorf("--runtime runc: HostConfig.Runtime = %q", got)
	}
	if err := os.WriteFile(conf, []byte(`{"default-runtime": "runc"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("info", "--format", "{{.Runtime}}"); out != "runc\n" {
		t.Errorf("info with default-runtime runc = %q", out)
	}
	if out, errs, code := e.run("run", "--name", "byconf", "--network", "none", "bb:1", "echo", "ran"); code != 0 || out != "ran\n" {
		t.Fatalf("run with default-runtime runc: %d %q %q", code, out, errs)
	}
	if got := e.inspect("byconf", "{{.HostConfig.Runtime}}"); got != "runc" {
		t.Errorf("default-runtime runc: HostConfig.Runtime = %q", got)
	}
	if err := os.WriteFile(conf, []byte(`{"default-runtime": "kata"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := e.run("run", "--rm", "bb:1", "true"); code == 0 || !strings.Contains(errs, `default-runtime: unknown runtime "kata"`) {
		t.Errorf("default-runtime kata: %d %q", code, errs)
	}
}
