package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// exec --privileged gives the process every capability. (Docker 20.10 with this host's runc 1.1
// fails it in a container that is not privileged — "unable to apply caps: operation not
// permitted", exit 126 — since runc cannot raise capabilities beyond the container's bounding
// set; berth gives what the flag says instead.)
func TestContainerExecPrivileged(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "pe", "bb:1", "sleep", "100")
	plain := e.ok("exec", "pe", "grep", "CapEff", "/proc/self/status")
	if plain != "CapEff:\t00000000a80425fb\n" {
		t.Errorf("exec without --privileged: %q (Docker 20.10: 00000000a80425fb)", plain)
	}
	priv := e.ok("exec", "--privileged", "pe", "grep", "CapEff", "/proc/self/status")
	if priv == plain || !strings.HasPrefix(priv, "CapEff:\t000001ff") {
		t.Errorf("exec --privileged: %q", priv)
	}
}

// run --platform: a local image for another platform counts as missing, so run pulls the
// reference for the platform asked for; a registry holding only linux/amd64 gives dockerd's error.
func TestContainerRunPlatformPulls(t *testing.T) {
	e := newCtrEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("BERTH_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	host := distRegistry(t, "", "")
	ref := host + "/plat/bb:1"
	e.ok("tag", "bb:1", ref)
	e.ok("push", "-q", ref)
	if out := e.ok("run", "--rm", "--platform", "linux/amd64", ref, "echo", "ok"); out != "ok\n" {
		t.Fatalf("linux/amd64: %q", out)
	}
	out, errs, code := e.run("run", "--rm", "--platform", "linux/arm64", ref, "true")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	// Docker 20.10 (recorded against a registry on 127.0.0.1): "Unable to find image '…' locally",
	// the pull's lines, then this, exit 125.
	want := "berth: Error: image with reference " + ref + " was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64."
	if code != 125 || out != "" || lines[0] != "Unable to find image '"+ref+"' locally" || !strings.Contains(errs, want+"\nSee 'berth run --help'.") {
		t.Fatalf("linux/arm64: %d %q %q", code, out, errs)
	}
}
