package api

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// execComposeBinary is Docker Compose v2 as scripts/compose-v2.sh builds it (BERTH_COMPOSE_BIN
// overrides the path).
func execComposeBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("BERTH_COMPOSE_BIN")
	if bin == "" {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, ".cache", "berth", "docker-compose-v2.40.3")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("Docker Compose v2 not found at %s: build it with scripts/compose-v2.sh (or set BERTH_COMPOSE_BIN)", bin)
	}
	return bin
}

// Docker Compose v2 drives berth serve through a project's life: up -d with a service built
// from a Dockerfile (the classic build endpoint, DOCKER_BUILDKIT=0) and one from an image, ps,
// logs, exec (the two services find each other by name), down.
func TestComposeV2Project(t *testing.T) {
	testNeedsContainers(t)
	compose := execComposeBinary(t)
	e := newExecEnv(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app/Dockerfile", "FROM busybox\nRUN echo built > /built\nCMD [\"sh\", \"-c\", \"cat /built; echo app up; exec sleep 300\"]\n")
	write("compose.yaml", "services:\n  app:\n    build: ./app\n  db:\n    image: busybox\n    command: [\"sh\", \"-c\", \"echo db ready; exec sleep 300\"]\n")
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(compose, append([]string{"-p", "bt", "--project-directory", dir}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+e.sock, "DOCKER_BUILDKIT=0", "COMPOSE_BAKE=false", "DOCKER_CONFIG="+t.TempDir())
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	t.Cleanup(func() { run("down", "--remove-orphans") })
	if out, code := run("up", "-d"); code != 0 || !strings.Contains(out, "Successfully tagged bt-app:latest") {
		t.Fatalf("up -d: %d\n%s", code, out)
	}
	out, code := run("ps", "--format", "{{.Name}} {{.State}}")
	if code != 0 || !strings.Contains(out, "bt-app-1 running") || !strings.Contains(out, "bt-db-1 running") {
		t.Errorf("ps: %d\n%s", code, out)
	}
	// The logs come once the containers have printed them.
	for i := 0; ; i++ {
		out, code = run("logs", "--no-color")
		if code == 0 && strings.Contains(out, "app-1  | built") && strings.Contains(out, "app-1  | app up") && strings.Contains(out, "db-1   | db ready") {
			break
		}
		if i == 50 {
			t.Fatalf("logs: %d\n%s", code, out)
		}
		e.berth("ps") // a pause that is real work, not a sleep
	}
	out, code = run("exec", "-T", "db", "sh", "-c", "echo exec ok; nslookup app >/dev/null && echo resolves")
	if code != 0 || out != "exec ok\nresolves\n" {
		t.Errorf("exec: %d %q", code, out)
	}
	if out, code := run("exec", "-T", "db", "sh", "-c", "exit 4"); code != 4 {
		t.Errorf("exec's exit code: %d\n%s", code, out)
	}
	if out, code := run("down"); code != 0 {
		t.Fatalf("down: %d\n%s", code, out)
	}
	if ids := e.berth("ps", "-aq", "--filter", "label=com.docker.compose.project=bt"); ids != "" {
		t.Errorf("containers left after down: %s", ids)
	}
	if nets := e.berth("network", "ls", "-q", "--filter", "name=bt_default"); nets != "" {
		t.Errorf("network left after down: %s", nets)
	}
}
