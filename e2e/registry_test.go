package e2e_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// startRegistry runs `berth registry serve` as its own process (its own root) on a free loopback
// port and returns host:port; the process is killed when the test ends.
func startRegistry(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(berthBin, append([]string{"--root", filepath.Join(dir, "root"), "registry", "serve",
		"--addr", "127.0.0.1:0", "--storage", filepath.Join(dir, "storage"), "-q"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on https?://(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("berth registry serve did not start")
	}
	return ""
}

// berth pushes to berth's own registry and pulls back the same image, with the repo digest
// recorded and search finding the repository.
func TestPushPullThroughBerthRegistry(t *testing.T) {
	host := startRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	a := newEnv(t)
	ref := host + "/team/app:1"
	id := a.importNamed(sizedTar(t, "interop", 300000), ref, "-c", `LABEL org.opencontainers.image.description="berth interop"`)
	r := a.run("push", ref)
	digestLine := regexp.MustCompile(`(?m)^1: digest: (sha256:[0-9a-f]{64}) size: \d+$`)
	m := digestLine.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || !strings.Contains(r.stdout+r.stderr, "The push refers to repository ["+host+"/team/app]") {
		t.Fatalf("push: %s", r)
	}
	b := newEnv(t)
	r = b.run("pull", ref)
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Digest: "+m[1]) {
		t.Fatalf("pull: %s", r)
	}
	if got := b.ok("images", "--no-trunc", "--format", "{{.ID}} {{.Digest}}", host+"/team/app"); got != id+" "+m[1]+"\n" {
		t.Fatalf("pulled image: %q, want %q", got, id+" "+m[1])
	}
	if got := b.ok("image", "inspect", "--format", "{{index .RepoDigests 0}}", ref); got != host+"/team/app@"+m[1]+"\n" {
		t.Fatalf("RepoDigests: %q", got)
	}
	out := a.ok("search", "--format", "{{.Name}}|{{.Description}}", host+"/app")
	if !strings.Contains(out, "team/app|berth interop") {
		t.Fatalf("search: %q", out)
	}
}

// Docker token auth end to end, server and client both berth: the registry answers the
// WWW-Authenticate Bearer challenge with its own token endpoint, login stores the credentials in
// DOCKER_CONFIG/config.json, and push and pull go through with them.
func TestTokenAuthThroughBerthRegistry(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("alice:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host := startRegistry(t, "--htpasswd", htpasswd, "--token-auth")
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	a := newEnv(t)
	ref := host + "/private/app:1"
	id := a.importNamed(sizedTar(t, "token", 1000), ref)
	if r := a.run("push", ref); r.code != 1 || !strings.Contains(r.stderr, "unauthorized: authentication required") {
		t.Fatalf("push without login: %s", r)
	}
	if r := a.runIn(strings.NewReader("wrong\n"), "login", "-u", "alice", "--password-stdin", host); r.code == 0 {
		t.Fatalf("login with a wrong password succeeded: %s", r)
	}
	if r := a.runIn(strings.NewReader("s3cret\n"), "login", "-u", "alice", "--password-stdin", host); r.code != 0 || !strings.Contains(r.stdout, "Login Succeeded") {
		t.Fatalf("login: %s", r)
	}
	if b, err := os.ReadFile(filepath.Join(cfg, "config.json")); err != nil || !strings.Contains(string(b), `"`+host+`"`) {
		t.Fatalf("config.json after login: %s %v", b, err)
	}
	if r := a.run("push", ref); r.code != 0 {
		t.Fatalf("push after login: %s", r)
	}
	b := newEnv(t)
	if r := b.run("pull", ref); r.code != 0 {
		t.Fatalf("pull: %s", r)
	}
	if got := b.ok("images", "--no-trunc", "-q", ref); got != id+"\n" {
		t.Fatalf("pulled %q, want %s", got, id)
	}
	a.ok("logout", host)
	// Anonymous clients get a token without pull access: the registry denies the manifest.
	if r := b.run("pull", ref); r.code != 1 || !strings.Contains(r.stderr, "denied: requested access to the resource is denied") {
		t.Fatalf("pull after logout: %s", r)
	}
}
