package build

import (
	"archive/tar"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func needRunc(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("RUN needs root (runc and overlayfs)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("RUN needs runc on PATH (Debian package runc)")
	}
}

// RUN runs in a real container over the stage's layers: its changes (a new file, a deletion as a
// whiteout, new directories) become the step's layer, its output is shown, a command that changes
// nothing makes an empty layer, and history and cache follow BuildKit.
func TestRun(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile": "FROM base:1\nENV GREETING=hello\nARG V=1\n" +
			"RUN echo \"$GREETING $V\" > /greeting && /bin/busybox rm /etc/group && /bin/busybox mkdir -p /d/e\n" +
			"RUN echo visible-output\n" +
			"WORKDIR /w\nRUN [\"/bin/busybox\", \"pwd\"]\n",
	})
	first := mustBuild(t, s, Options{ContextDir: ctx, Tags: []string{"ran:1"}})
	ranOutput := regexp.MustCompile(`(?m)^#\d+ \d+\.\d{3} visible-output$`)
	if !ranOutput.MatchString(first.out) || !regexp.MustCompile(`(?m)^#\d+ \d+\.\d{3} /w$`).MatchString(first.out) {
		t.Errorf("RUN output not shown:\n%s", first.out)
	}
	files, _ := layerFiles(t, s, first.res.ImageID, 1)
	if f, ok := files["greeting"]; !ok || f.data != "hello 1\n" {
		t.Errorf("greeting = %+v (files %v)", f, keysOf(files))
	}
	if _, ok := files["etc/.wh.group"]; !ok {
		t.Errorf("deleted /etc/group is no whiteout: %v", keysOf(files))
	}
	if _, ok := files["d/e/"]; !ok {
		t.Errorf("new dirs missing: %v", keysOf(files))
	}
	for name := range files {
		if runtimeMountPoint(name) {
			continue // as BuildKit's: see TestRunMountPoints
		}
		if strings.HasPrefix(name, "proc") || strings.HasPrefix(name, "dev") || strings.HasPrefix(name, "sys") ||
			strings.HasPrefix(name, "etc/hosts") || strings.HasPrefix(name, "etc/resolv") {
			t.Errorf("runtime mount point %s leaked into the layer", name)
		}
	}
	img, err := s.Get(first.res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, h := range img.Config.History {
		if strings.HasPrefix(h.CreatedBy, "RUN ") {
			runs = append(runs, h.CreatedBy+map[bool]string{true: " (empty)", false: ""}[h.EmptyLayer])
		}
	}
	want := []string{
		`RUN |1 V=1 /bin/sh -c echo "$GREETING $V" > /greeting && /bin/busybox rm /etc/group && /bin/busybox mkdir -p /d/e # buildkit`,
		"RUN |1 V=1 /bin/sh -c echo visible-output # buildkit",
		"RUN |1 V=1 /bin/busybox pwd # buildkit",
	}
	if strings.Join(runs, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(runs, "\n"), strings.Join(want, "\n"))
	}
	if d := img.Config.RootFS.DiffIDs[2]; d != emptyTarDiffID {
		t.Errorf("the layer of RUN echo visible-output is %s, want the empty tar's %s", d, emptyTarDiffID)
	}
	// ENV persists in the image; the build arg does not.
	if env := strings.Join(img.Config.Config.Env, " "); strings.Contains(env, "V=1") || !strings.Contains(env, "GREETING=hello") {
		t.Errorf("image env %q", env)
	}
	again := mustBuild(t, s, Options{ContextDir: ctx})
	if ranOutput.MatchString(again.out) || cachedCount(again.out) != 4 || again.res.ImageID != first.res.ImageID {
		t.Errorf("unchanged rebuild ran RUN again or changed the image:\n%s", again.out)
	}
	// A different build arg is a different RUN.
	third := mustBuild(t, s, Options{ContextDir: ctx, BuildArgs: map[string]string{"V": "2"}})
	files, _ = layerFiles(t, s, third.res.ImageID, 1)
	if files["greeting"].data != "hello 2\n" {
		t.Errorf("build arg not seen by RUN: %q", files["greeting"].data)
	}
	if ents, _ := os.ReadDir(s.Root + "/builds"); len(ents) != 0 {
		t.Errorf("RUN left %d scratch dirs", len(ents))
	}
}

// A RUN after ENV V and ARG V sees the ARG's value, and its history lists it (BuildKit).
func TestRunArgAfterEnv(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\nENV V=env\nARG V=arg\nRUN echo $V > /v\n"})
	r := mustBuild(t, s, Options{ContextDir: ctx})
	if files, _ := layerFiles(t, s, r.res.ImageID, -1); files["v"].data != "arg\n" {
		t.Errorf("RUN saw V=%q, want arg", files["v"].data)
	}
	img, _ := s.Get(r.res.ImageID)
	if h := img.Config.History[len(img.Config.History)-1].CreatedBy; h != "RUN |1 V=arg /bin/sh -c echo $V > /v # buildkit" {
		t.Errorf("history %q", h)
	}
}

// runtimeMountPoint reports whether a layer entry is one of the mount points runc makes for
// BuildKit's default mounts, as a bare directory (its content would be a leak).
func runtimeMountPoint(name string) bool {
	return name == "dev/" || name == "proc/" || name == "sys/"
}

// The first RUN over an image without /dev, /proc and /sys has them in its layer, empty
// directories 0755 and root's, as BuildKit's (runc makes them as mount points, and BuildKit's
// MountStubsCleaner leaves them); a later RUN, or one over an image that has them, does not;
// nothing under them ever is.
func TestRunMountPoints(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1 AS lacks\nRUN true\nRUN true\n" +
		"FROM base:1 AS has\nWORKDIR /dev\nWORKDIR /proc\nWORKDIR /sys\nWORKDIR /\nRUN echo x > /x\n"})
	r := mustBuild(t, s, Options{ContextDir: ctx, Target: "lacks"})
	files, order := layerFiles(t, s, r.res.ImageID, 1)
	if len(files) != 3 {
		t.Errorf("first RUN layer %q, want dev/ proc/ sys/", order)
	}
	for _, d := range []string{"dev/", "proc/", "sys/"} {
		if h := files[d].hdr; h.Typeflag != tar.TypeDir || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: %+v", d, h)
		}
	}
	if files, order := layerFiles(t, s, r.res.ImageID, 2); len(files) != 0 {
		t.Errorf("second RUN layer %q, want empty", order)
	}
	r = mustBuild(t, s, Options{ContextDir: ctx, Target: "has"})
	if files, order := layerFiles(t, s, r.res.ImageID, 4); len(files) != 1 || files["x"].data != "x\n" {
		t.Errorf("RUN over an image with the mount points: %q", order)
	}
}

func keysOf(m map[string]tarFile) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The same Dockerfile through Docker 20.10's BuildKit gives these layers (docker save, tar -tvv),
// without the bare etc/ BuildKit 0.8 leaves in every RUN layer (current BuildKit does not); berth
// must give the same. The first RUN has runc's mount points dev/, proc/ and sys/, which the base
// lacks (TestRunMountPoints). The pwd RUN makes an empty layer under BuildKit (the classic
// builder drops empty layers and marks them empty_layer in history).
func TestRunLayerLikeDocker(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	// Docker's was "rm", "mkdir", "touch" on reference-busybox; the test base links few applets.
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\nARG V=1\n" +
		"RUN echo \"hi $V\" > /greeting && /bin/busybox rm /etc/group && /bin/busybox mkdir -p /d/e && /bin/busybox touch /tmp/x\n" +
		"RUN [\"/bin/busybox\", \"pwd\"]\nWORKDIR /w\nRUN echo x > f\n"})
	r := mustBuild(t, s, Options{ContextDir: ctx})
	want := [][]string{
		{"d/ 40755 0 0", "d/e/ 40755 0 0", "dev/ 40755 0 0", "etc/ 40755 0 0", "etc/.wh.group 100600 0 0", "greeting 100644 5 0",
			"proc/ 40755 0 0", "sys/ 40755 0 0", "tmp/ 40755 0 0", "tmp/x 100644 0 0"},
		{},
		{"w/ 40755 0 0"},
		{"w/ 40755 0 0", "w/f 100644 2 0"},
	}
	for i, w := range want {
		_, order := layerFiles(t, s, r.res.ImageID, 1+i)
		files, _ := layerFiles(t, s, r.res.ImageID, 1+i)
		var got []string
		for _, n := range order {
			h := files[n].hdr
			mode := h.Mode & 0o7777
			if h.Typeflag == '5' {
				mode |= 0o40000
			} else {
				mode |= 0o100000
			}
			got = append(got, fmt.Sprintf("%s %o %d %d", n, mode, h.Size, h.Uid))
		}
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("layer %d:\n%s\nwant (Docker):\n%s", 1+i, strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
	img, _ := s.Get(r.res.ImageID)
	if n := len(img.Manifest.Layers); n != 5 {
		t.Errorf("%d layers, want 5 (base, RUN, RUN pwd's empty one, WORKDIR, RUN)", n)
	}
}

// A proxy build arg reaches RUN without an ARG, stays out of history, and a different value
// is the same step (BuildKit keeps proxies out of the cache key).
func TestRunProxyArgs(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\nRUN echo \"$HTTP_PROXY $no_proxy\" > /p\n"})
	r := mustBuild(t, s, Options{ContextDir: ctx, BuildArgs: map[string]string{"HTTP_PROXY": "http://proxy:3128", "no_proxy": "local"}})
	files, _ := layerFiles(t, s, r.res.ImageID, -1)
	if got := files["p"].data; got != "http://proxy:3128 local\n" {
		t.Errorf("RUN saw proxies %q", got)
	}
	img, _ := s.Get(r.res.ImageID)
	if h := img.Config.History[len(img.Config.History)-1].CreatedBy; h != `RUN /bin/sh -c echo "$HTTP_PROXY $no_proxy" > /p # buildkit` {
		t.Errorf("history %q", h)
	}
	if env := strings.Join(img.Config.Config.Env, " "); strings.Contains(env, "proxy") {
		t.Errorf("proxy in the image env: %s", env)
	}
	again := mustBuild(t, s, Options{ContextDir: ctx, BuildArgs: map[string]string{"HTTP_PROXY": "http://other:1"}})
	if again.res.ImageID != r.res.ImageID {
		t.Errorf("another proxy missed the cache:\n%s", again.out)
	}
}

// RUN --mount=type=ssh forwards an agent as BuildKit does: one holding --ssh's key files, or a
// running agent's socket; at /run/buildkit/ssh_agent.0 with SSH_AUTH_SOCK set, or at a target
// with the mode and owner asked; a required id that was not forwarded fails the step.
func TestRunMountSSH(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := t.TempDir()
	bin := filepath.Join(ctx, "agentlist")
	build := exec.Command("go", "build", "-o", bin, "./testdata/agentlist/main.go")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent client: %v\n%s", err, out)
	}
	// A key file, as --ssh default=KEY gives it.
	_, priv, _ := ed25519.GenerateKey(nil)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_test")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	list := "RUN --mount=type=bind,source=agentlist,target=/agentlist --mount=type=ssh " +
		"sh -c 'test \"$SSH_AUTH_SOCK\" = /run/buildkit/ssh_agent.0 && /agentlist'\n"
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM base:1\n" + list),
		SSH: map[string][]string{"default": {keyFile}}})
	if !strings.Contains(r.out, "key: "+keyFile+"\n") {
		t.Errorf("key file agent: %s", r.out)
	}
	// A running agent's socket.
	kr := agent.NewKeyring()
	_, priv2, _ := ed25519.GenerateKey(nil)
	kr.Add(agent.AddedKey{PrivateKey: priv2, Comment: "from-running-agent"})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	r = mustBuild(t, s, Options{ContextDir: ctx, NoCache: true, Dockerfile: []byte("FROM base:1\n" + list),
		SSH: map[string][]string{"default": {sock}}})
	if !strings.Contains(r.out, "key: from-running-agent\n") {
		t.Errorf("forwarded agent: %s", r.out)
	}
	// Target, mode and owner; an optional id that was not forwarded is simply absent.
	df := "FROM base:1\n" +
		"RUN --mount=type=ssh,id=k,target=/tmp/a.sock,mode=0660,uid=65534 --mount=type=ssh,id=nope " +
		"sh -c 'test \"$SSH_AUTH_SOCK\" = /tmp/a.sock && test -S /tmp/a.sock && " +
		"test \"$(/bin/busybox stat -c %a:%u /tmp/a.sock)\" = 660:65534 && test ! -e /run/buildkit/ssh_agent.1'\n"
	mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(df), SSH: map[string][]string{"k": {keyFile}}})
	r = runBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM base:1\nRUN --mount=type=ssh,id=nope,required true\n")})
	if r.err == nil || !strings.Contains(r.err.Error(), `no SSH key "nope" forwarded from the client`) {
		t.Errorf("required ssh id missing: %v", r.err)
	}
}
