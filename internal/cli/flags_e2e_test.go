package cli

import (
	"net"
	"path/filepath"
	"regexp"
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

	// `pull --platform` itself takes a single-platform image of another architecture as it is.
	// Docker 20.10 (recorded against a registry on 127.0.0.1, the image already here under
	// another name), exit 0, nothing on stderr:
	//   1: Pulling from plat/bb
	//   Digest: sha256:47f559dafab75cdace576ba812431ed7c2ad9ccd2e27fb3ad8c87320562a2eeb
	//   Status: Downloaded newer image for 127.0.0.1:5791/plat/bb:1
	//   127.0.0.1:5791/plat/bb:1
	e.ok("rmi", ref)
	out, errs, code = e.run("pull", "--platform", "linux/arm64", ref)
	if !regexp.MustCompile(`^1: Pulling from plat/bb\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for `+regexp.QuoteMeta(ref)+`\n`+regexp.QuoteMeta(ref)+`\n$`).MatchString(out) || errs != "" || code != 0 {
		t.Fatalf("pull --platform linux/arm64 of a linux/amd64 image: %d %q %q", code, out, errs)
	}
	if got := e.ok("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", ref); got != "linux/amd64\n" {
		t.Errorf("pulled for linux/arm64: %q", got)
	}
}

// The port check is host-wide and race-free: two simultaneous `run -p PORT:80` in two roots, and
// exactly one gets the port; the other gets Docker's "port is already allocated", exit 125. Once
// the winner is removed the port is free again.
func TestContainerPortAllocatedAcrossRoots(t *testing.T) {
	a, b := newCtrEnv(t), newCtrEnv(t)
	port, err := freePortForTest()
	if err != nil {
		t.Fatal(err)
	}
	p := port + ":80"
	type res struct {
		stdout, stderr string
		code           int
	}
	results := make(chan res, 2)
	for _, e := range []*ctrEnv{a, b} {
		go func(e *ctrEnv) {
			out, errs, code := e.run("run", "-d", "--name", "pp", "-p", p, "bb:1", "sleep", "100")
			results <- res{out, errs, code}
		}(e)
	}
	r1, r2 := <-results, <-results
	if r1.code != 0 {
		r1, r2 = r2, r1
	}
	if r1.code != 0 || r2.code != 125 || !strings.HasSuffix(r2.stderr, "Bind for 0.0.0.0:"+port+" failed: port is already allocated.\n") {
		t.Fatalf("want one winner and Docker's refusal:\n%+v\n%+v", r1, r2)
	}
	winner, loser := a, b
	if strings.TrimSpace(a.inspect("pp", "{{.State.Status}}")) != "running" {
		winner, loser = b, a
	}
	winner.ok("rm", "-f", "pp")
	loser.ok("start", "pp")
	if got := loser.inspect("pp", "{{.State.Status}}"); got != "running" {
		t.Fatalf("after the winner's removal: %s", got)
	}
}

// freePortForTest is a TCP port nothing listens on now.
func freePortForTest() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p, nil
}

// rmi -f ID of an image with several tags that a stopped container uses: Docker 20.10 untags
// every name and deletes the image (recorded: "Untagged: parity-img:1", "Untagged:
// parity-img:2", "Untagged: parity-other:x", "Deleted: sha256:…"); the container keeps its
// layers, still starts, and names its image by ID.
func TestRmiForceStoppedContainer(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "--name", "src", "bb:1", "touch", "/f")
	e.ok("commit", "src", "img:1")
	e.ok("rm", "src")
	e.ok("tag", "img:1", "img:2")
	e.ok("tag", "img:1", "other:x")
	e.ok("create", "--name", "user", "img:1", "ls", "/f")
	id := strings.TrimSpace(e.ok("images", "-q", "--no-trunc", "img:1"))
	if _, errs, code := e.run("rmi", id[7:19]); code != 1 || !strings.Contains(errs, "image is referenced in multiple repositories") {
		t.Fatalf("rmi without -f: %d %q", code, errs)
	}
	out := e.ok("rmi", "-f", id[7:19])
	if want := "Untagged: img:1\nUntagged: img:2\nUntagged: other:x\nDeleted: " + id + "\n"; out != want {
		t.Fatalf("rmi -f:\n%s\nwant\n%s", out, want)
	}
	if out := e.ok("images", "-aq", "--no-trunc"); strings.Contains(out, id) {
		t.Fatalf("image still listed:\n%s", out)
	}
	if got := e.ok("ps", "-a", "--filter", "name=user", "--format", "{{.Image}}"); got != id[7:19]+"\n" {
		t.Errorf("ps IMAGE: %q, want the short ID as Docker shows it", got)
	}
	if out := e.ok("start", "-a", "user"); out != "/f\n" {
		t.Fatalf("the container lost its layers: %q", out)
	}
	// Its layers go once the container does.
	e.ok("rm", "user")
	e.ok("image", "prune", "-f")
	if out := e.ok("system", "df", "--format", "{{.Type}} {{.TotalCount}}"); !strings.Contains(out, "Images 1\n") {
		t.Errorf("after rm and prune:\n%s", out)
	}
}
