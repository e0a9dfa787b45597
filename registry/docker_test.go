package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerCLI returns a function running the docker CLI, or skips when no daemon answers.
func dockerCLI(t *testing.T) func(stdin []byte, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	cfg := t.TempDir() // a private client config: logins stay in the test
	run := func(stdin []byte, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("docker %s: %s", args[0], time.Since(start).Round(time.Millisecond))
		return string(out), err
	}
	if out, err := run(nil, "version", "--format", "{{.Server.Version}}"); err != nil {
		t.Skipf("no docker daemon: %v %s", err, out)
	}
	return run
}

// TestDockerInterop drives the Docker daemon against a `berth registry serve` process with token
// auth: login, push, anonymous pull, and `docker search` (the v1 endpoints).
func TestDockerInterop(t *testing.T) {
	docker := dockerCLI(t)
	hp := writeHtpasswd(t, map[string]string{"dev": "pw"})
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"auth": {"anonymousPull": true, "token": {}}}`), 0o644)
	p := startServe(t, "--storage", t.TempDir(), "--htpasswd", hp, "--config", cfg, "-q")

	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 5})
	tw.Write([]byte("hello"))
	tw.Close()
	tarFile := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(tarFile, tb.Bytes(), 0o644)
	img := fmt.Sprintf("%s/interop/hello-%d:1", p.addr, time.Now().UnixNano())
	t.Cleanup(func() { docker(nil, "rmi", "-f", img) })
	if out, err := docker(nil, "import", "--change", `LABEL org.opencontainers.image.description="hello from docker"`, tarFile, img); err != nil {
		t.Fatalf("docker import: %v %s", err, out)
	}
	if out, err := docker(nil, "push", img); err == nil || !strings.Contains(out, "denied: requested access to the resource is denied") {
		t.Fatalf("anonymous docker push: %v %s", err, out)
	}
	if out, err := docker([]byte("pw\n"), "login", "-u", "dev", "--password-stdin", p.addr); err != nil {
		t.Fatalf("docker login: %v %s", err, out)
	}
	if out, err := docker(nil, "push", img); err != nil {
		t.Fatalf("docker push: %v %s", err, out)
	}
	docker(nil, "logout", p.addr)
	docker(nil, "rmi", img)
	if out, err := docker(nil, "pull", img); err != nil {
		t.Fatalf("anonymous docker pull: %v %s", err, out)
	}
	out, err := docker(nil, "search", "--format", "{{.Name}}|{{.Description}}", p.addr+"/hello")
	if err != nil {
		t.Fatalf("docker search: %v %s", err, out)
	}
	if !strings.Contains(out, "|hello from docker") || !strings.HasPrefix(out, "interop/hello-") {
		t.Fatalf("docker search output: %q", out)
	}
}
