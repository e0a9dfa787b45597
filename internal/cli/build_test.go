package cli

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// buildFixture is a root holding base:1 and a context with Dockerfile and a file f ("file"),
// the set-up of the build command tests.
func buildFixture(t *testing.T, dockerfile string) (root, ctx string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: layers are unpacked with their owners")
	}
	root = t.TempDir()
	if _, errs, code := slRun(t, bytes.NewReader(slRootfs(t, "base")), "--root", root, "import", "-", "base:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	ctx = t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	return root, ctx
}

func TestBuildCommand(t *testing.T) {
	root, ctx := buildFixture(t, "FROM base:1\nCOPY f /f\nCMD [\"x\"]\n")
	iid := filepath.Join(t.TempDir(), "iid")

	// -q prints only the ID; -t (twice), --iidfile, --label.
	out, errs, code := slRun(t, nil, "--root", root, "build", "-q", "-t", "a:1", "-t", "b", "--iidfile", iid, "--label", "k=v", ctx)
	if code != 0 || errs != "" {
		t.Fatalf("build -q: %d %q", code, errs)
	}
	id := strings.TrimSpace(out)
	if !strings.HasPrefix(id, "sha256:") || strings.Count(out, "\n") != 1 {
		t.Fatalf("build -q printed %q", out)
	}
	if b, _ := os.ReadFile(iid); string(b) != id {
		t.Errorf("iidfile %q, want %q", b, id)
	}
	for _, n := range []string{"a:1", "b:latest"} {
		out, _, _ := slRun(t, nil, "--root", root, "image", "inspect", "--format", "{{.Id}} {{index .Config.Labels \"k\"}}", n)
		if strings.TrimSpace(out) != id+" v" {
			t.Errorf("%s: %q", n, out)
		}
	}
	// Plain progress on stderr; an unchanged rebuild is all cached and gives the same ID.
	out, errs, code = slRun(t, nil, "--root", root, "build", "--progress", "plain", "--label", "k=v", ctx)
	if code != 0 || out != "" || !strings.Contains(errs, "#6 [2/2] COPY f /f\n#6 CACHED\n") || !strings.Contains(errs, "writing image "+id) {
		t.Errorf("plain rebuild: %d %q\n%s", code, out, errs)
	}
	// A context as a tar on stdin, and a Dockerfile from stdin with -f -.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	df := "FROM base:1\nCOPY g /g\n"
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), Typeflag: tar.TypeReg})
	tw.Write([]byte(df))
	tw.WriteHeader(&tar.Header{Name: "g", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("g"))
	tw.Close()
	if _, errs, code := slRun(t, &tb, "--root", root, "build", "-q", "-t", "fromtar:1", "-"); code != 0 {
		t.Errorf("tar context on stdin: %d %s", code, errs)
	}
	if _, errs, code := slRun(t, strings.NewReader("FROM base:1\nCOPY f /copied\n"), "--root", root, "build", "-q", "-f", "-", ctx); code != 0 {
		t.Errorf("-f -: %d %s", code, errs)
	}
	// A failed build: one error line, exit 1, no name.
	_, errs, code = slRun(t, strings.NewReader("FROM base:1\nCOPY nosuch /x\n"), "--root", root, "build", "-q", "-t", "bad:1", "-f", "-", ctx)
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "Dockerfile:2:") {
		t.Errorf("failed build: %d %q", code, errs)
	}
	if _, _, code := slRun(t, nil, "--root", root, "image", "inspect", "bad:1"); code == 0 {
		t.Error("failed build was tagged")
	}
	// Intermediate states are not images.
	out, _, _ = slRun(t, nil, "--root", root, "images", "-a", "-q")
	uniq := map[string]bool{}
	for _, f := range strings.Fields(out) {
		uniq[f] = true
	}
	// base, a:1 (= b), fromtar:1 and the untagged -f - build.
	if n := len(uniq); n != 4 {
		t.Errorf("images -a: %d images\n%s", n, out)
	}
	out, _, code = slRun(t, nil, "--root", root, "builder", "du")
	if code != 0 || !strings.Contains(out, "Total:") || strings.Count(out, "\n") < 6 {
		t.Errorf("builder du: %q", out)
	}
	// Every record here is shared with an image: only -a removes them (TestBuilderPruneAll).
	out, _, code = slRun(t, nil, "--root", root, "builder", "prune", "-a", "-f")
	if code != 0 || !strings.HasPrefix(out, "Deleted build cache objects:\n") {
		t.Errorf("builder prune: %q", out)
	}
	out, _, _ = slRun(t, nil, "--root", root, "builder", "du")
	if !strings.HasPrefix(out, "ID") || strings.Count(out, "\n") != 5 {
		t.Errorf("du after prune: %q", out)
	}
	// The images survive the cache prune and GC.
	if _, errs, code := slRun(t, nil, "--root", root, "image", "inspect", "a:1"); code != 0 {
		t.Errorf("image gone after builder prune: %s", errs)
	}
}

// busyboxRootfs is a layer tar with a static busybox as /bin/busybox and /bin/sh.
func busyboxRootfs(t *testing.T) []byte {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("needs busybox-static at /bin/busybox")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "etc/", "tmp/"} {
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	tw.Close()
	return buf.Bytes()
}

// --network is every RUN's network unless RUN --network says otherwise; --secret comes from a
// file or an environment variable.
func TestBuildRunFlags(t *testing.T) {
	needRunBuild(t)
	b, _ := os.ReadFile("/proc/net/dev")
	if strings.Count(string(b), "\n") <= 3 {
		t.Skip("the host has no network interface but lo: host and none networks look alike")
	}
	root := t.TempDir()
	if _, errs, code := slRun(t, bytes.NewReader(busyboxRootfs(t)), "--root", root, "import", "-", "bb:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	ctx := t.TempDir()
	// /proc/net/dev has 2 header lines and one per interface: 3 in an empty network namespace.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\n"+
		"RUN test $(/bin/busybox wc -l < /proc/net/dev) -eq 3\n"+
		"RUN --network=host test $(/bin/busybox wc -l < /proc/net/dev) -gt 3\n"+
		"RUN --mount=type=secret,id=a test \"$(/bin/busybox cat /run/secrets/a)\" = from-file\n"+
		"RUN --mount=type=secret,id=b,env=B test \"$B\" = from-env\n"), 0o644)
	sec := filepath.Join(t.TempDir(), "a")
	os.WriteFile(sec, []byte("from-file"), 0o600)
	t.Setenv("BERTH_TEST_SECRET", "from-env")
	args := []string{"--root", root, "build", "-q", "--secret", "id=a,src=" + sec, "--secret", "id=b,env=BERTH_TEST_SECRET"}
	if _, errs, code := slRun(t, nil, append(args, "--network", "none", ctx)...); code != 0 {
		t.Fatalf("build --network none: %d %s", code, errs)
	}
	// The host's network fails the first RUN.
	if _, errs, code := slRun(t, nil, append(args, "--network", "host", ctx)...); code == 0 || !strings.Contains(errs, "exit code: 1") {
		t.Errorf("build --network host: %d %s", code, errs)
	}
	// A network name is a user-defined network, as the classic builder takes it (BuildKit
	// refuses any): one that does not exist fails the first RUN.
	if _, errs, code := slRun(t, nil, append(args, "--network", "bogus", ctx)...); code == 0 || !strings.Contains(errs, `network bogus not found`) {
		t.Errorf("build --network bogus: %d %s", code, errs)
	}
	// A secret that is not there, and a malformed one.
	if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", "--secret", "id=a,src=/nonexistent", ctx); code == 0 || !strings.Contains(errs, "secret a:") {
		t.Errorf("missing secret file: %d %s", code, errs)
	}
	if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", "--secret", "src=/x", ctx); code == 0 || !strings.Contains(errs, "id is required") {
		t.Errorf("secret without id: %d %s", code, errs)
	}
}

// needRunBuild skips a test of builds with RUN where they cannot run.
func needRunBuild(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: RUN runs runc over overlayfs")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("needs runc on PATH")
	}
}

// twoMachines returns the roots of two stores holding the same base image bb:1 (the same ID:
// imported on one, saved and loaded on the other), as two CI machines sharing a build cache.
func twoMachines(t *testing.T) (rootA, rootB string) {
	t.Helper()
	rootA, rootB = t.TempDir(), t.TempDir()
	if _, errs, code := slRun(t, bytes.NewReader(busyboxRootfs(t)), "--root", rootA, "import", "-", "bb:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	saved := filepath.Join(t.TempDir(), "bb.tar")
	if _, errs, code := slRun(t, nil, "--root", rootA, "save", "-o", saved, "bb:1"); code != 0 {
		t.Fatalf("save: %s", errs)
	}
	if _, errs, code := slRun(t, nil, "--root", rootB, "load", "-i", saved); code != 0 {
		t.Fatalf("load: %s", errs)
	}
	return rootA, rootB
}

// A RUN's default network is BuildKit's as dockerd runs it: a namespace of its own on the bridge
// (lo and eth0), with an address in /etc/hosts and the host's nameservers, never the host's network.
func TestBuildRunDefaultNetwork(t *testing.T) {
	needRunBuild(t)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, errs, code := slRun(t, bytes.NewReader(busyboxRootfs(t)), "--root", root, "import", "-", "bb:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\n"+
		"ARG HOSTNS\n"+
		"RUN test \"$(/bin/busybox readlink /proc/self/ns/net)\" != \"$HOSTNS\" && "+
		"test $(/bin/busybox wc -l < /proc/net/dev) -eq 4 && /bin/busybox grep -q eth0 /proc/net/dev && "+
		"/bin/busybox grep -Eq '^10\\.[0-9.]+\tbuildkitsandbox$' /etc/hosts\n"), 0o644)
	if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", "--build-arg", "HOSTNS="+host, ctx); code != 0 {
		t.Fatalf("build: %d %s", code, errs)
	}
	// Nothing of the step's network is left: no namespace, no state.
	for _, d := range []string{"netns", "containers"} {
		if ents, _ := os.ReadDir(filepath.Join(root, d)); len(ents) > 0 {
			t.Errorf("%s/ keeps %d entries after the build", d, len(ents))
		}
	}
}

// --cache-to type=local,dest=DIR writes the same cache to a directory (an OCI layout) that
// --cache-from type=local,src=DIR reads on another machine: every step CACHED, the same image.
// A second export replaces the first whole.
func TestBuildCacheLocal(t *testing.T) {
	needRunBuild(t)
	rootA, rootB := twoMachines(t)
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nRUN /bin/busybox date +%s%N > /ran\nCOPY f /f\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	dir := filepath.Join(t.TempDir(), "cache")
	for i := 0; i < 2; i++ {
		if _, errs, code := slRun(t, nil, "--root", rootA, "build", "-q", "--no-cache", "--cache-to", "type=local,dest="+dir, ctx); code != 0 {
			t.Fatalf("build --cache-to type=local: %d %s", code, errs)
		}
	}
	out, errs, code := slRun(t, nil, "--root", rootA, "build", "-q", ctx)
	if code != 0 {
		t.Fatalf("rebuild: %s", errs)
	}
	idA := strings.TrimSpace(out)
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Fatalf("no OCI layout in %s: %v", dir, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 1 {
		t.Errorf("export left %d entries beside the cache directory", len(ents))
	}
	iid := filepath.Join(t.TempDir(), "iid")
	_, errs, code = slRun(t, nil, "--root", rootB, "build", "--progress", "plain", "--iidfile", iid, "--cache-from", "type=local,src="+dir, ctx)
	if code != 0 {
		t.Fatalf("build --cache-from type=local: %d %s", code, errs)
	}
	if n := strings.Count(errs, "CACHED\n"); n != 2 || strings.Contains(errs, "WARNING") {
		t.Errorf("build --cache-from type=local: %d steps CACHED, want 2\n%s", n, errs)
	}
	if b, _ := os.ReadFile(iid); string(b) != idA {
		t.Errorf("image from the local cache %s, want %s", b, idA)
	}
	if out, _, _ := slRun(t, nil, "--root", rootB, "images", "--format", "{{.Repository}}"); strings.Contains(out, "cache") {
		t.Errorf("the cache stayed as an image: %q", out)
	}
	if _, errs, code := slRun(t, nil, "--root", rootB, "build", "--cache-from", "type=local", ctx); code == 0 || !strings.Contains(errs, "src is required") {
		t.Errorf("type=local without src: %d %s", code, errs)
	}
	_, errs, code = slRun(t, nil, "--root", rootB, "build", "--progress", "plain", "--cache-from", "type=local,src="+t.TempDir(), ctx)
	if code != 0 || !strings.Contains(errs, "is not a build cache directory") {
		t.Errorf("empty cache directory: %d %s", code, errs)
	}
}

// --cache-to type=inline puts the cache in the built image's config: pushed with the image, it
// makes --cache-from of the image itself reuse every step on another machine (as BuildKit's
// inline cache does), without untagging an image of that name the user has.
func TestBuildCacheInline(t *testing.T) {
	needRunBuild(t)
	host := testRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	rootA, rootB := twoMachines(t)
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nRUN /bin/busybox date +%s%N > /ran\nCOPY f /f\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	ref := host + "/app:1"
	out, errs, code := slRun(t, nil, "--root", rootA, "build", "-q", "-t", ref, "--cache-to", "type=inline", ctx)
	if code != 0 {
		t.Fatalf("build --cache-to type=inline: %d %s", code, errs)
	}
	idA := strings.TrimSpace(out)
	if out, _, _ := slRun(t, nil, "--root", rootA, "image", "inspect", "-f", "{{.Config.Labels}}", ref); strings.Contains(out, "berth") {
		t.Errorf("the inline cache shows among the labels: %s", out)
	}
	if _, errs, code := slRun(t, nil, "--root", rootA, "push", ref); code != 0 {
		t.Fatalf("push: %s", errs)
	}
	iid := filepath.Join(t.TempDir(), "iid")
	_, errs, code = slRun(t, nil, "--root", rootB, "build", "--progress", "plain", "--iidfile", iid, "--cache-to", "type=inline", "--cache-from", ref, ctx)
	if code != 0 {
		t.Fatalf("build --cache-from: %d %s", code, errs)
	}
	if n := strings.Count(errs, "CACHED\n"); n != 2 || strings.Contains(errs, "WARNING") {
		t.Errorf("build --cache-from the image: %d steps CACHED, want 2\n%s", n, errs)
	}
	if b, _ := os.ReadFile(iid); string(b) != idA {
		t.Errorf("image from the inline cache %s, want %s", b, idA)
	}
	if out, _, _ := slRun(t, nil, "--root", rootB, "images", "--format", "{{.Repository}}"); strings.Contains(out, "app") {
		t.Errorf("the cache's name stayed on the second machine: %q", out)
	}
	// The machine that has the image keeps its name.
	if _, errs, code := slRun(t, nil, "--root", rootA, "build", "-q", "--cache-from", ref, ctx); code != 0 {
		t.Fatalf("rebuild: %s", errs)
	}
	if out, _, _ := slRun(t, nil, "--root", rootA, "images", "-q", ref); strings.TrimSpace(out) == "" {
		t.Errorf("--cache-from untagged the user's own %s", ref)
	}
}

// --cache-to type=registry exports the build's steps through a registry (berth's own, on
// 127.0.0.1); another store with --cache-from gets every step CACHED (the RUN is not run again)
// and the same image, and neither store keeps the cache's name as an image.
func TestBuildCacheRegistry(t *testing.T) {
	needRunBuild(t)
	host := testRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	rootA, rootB := twoMachines(t)
	ctx := t.TempDir()
	// The RUN writes something new each time it runs: a cache hit is the only way to the same image.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nRUN /bin/busybox date +%s%N > /ran\nCOPY f /f\nENV X=1\nRUN true\nCMD [\"/bin/sh\"]\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	ref := host + "/cache/app:buildcache"
	out, errs, code := slRun(t, nil, "--root", rootA, "build", "-q", "-t", "app:1", "--cache-to", "type=registry,ref="+ref, ctx)
	if code != 0 {
		t.Fatalf("build --cache-to: %d %s", code, errs)
	}
	idA := strings.TrimSpace(out)
	out, errs, code = slRun(t, nil, "--root", rootB, "build", "--progress", "plain", "--iidfile", filepath.Join(ctx, "..", "iid"),
		"--cache-from", "type=registry,ref="+ref, ctx)
	if code != 0 {
		t.Fatalf("build --cache-from: %d %s", code, errs)
	}
	if n := strings.Count(errs, "CACHED\n"); n != 3 || strings.Contains(errs, "WARNING") {
		t.Errorf("build --cache-from: %d steps CACHED, want 3 (RUN, COPY, RUN)\n%s", n, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(ctx, "..", "iid")); string(b) != idA {
		t.Errorf("image from the imported cache %s, want %s\n%s", b, idA, errs)
	}
	for _, root := range []string{rootA, rootB} {
		if out, _, _ := slRun(t, nil, "--root", root, "images", "--format", "{{.Repository}}"); strings.Contains(out, "cache/app") {
			t.Errorf("the cache's name stayed as an image: %q", out)
		}
	}
	// An unreachable cache is a warning, not a failure; a bad --cache-to type is an error.
	_, errs, code = slRun(t, nil, "--root", rootB, "build", "--progress", "plain", "--cache-from", host+"/nosuch/cache:1", ctx)
	if code != 0 || !strings.Contains(errs, "WARNING: cache "+host+"/nosuch/cache:1 not imported") {
		t.Errorf("missing cache: %d %s", code, errs)
	}
	if _, errs, code := slRun(t, nil, "--root", rootB, "build", "--cache-to", "type=gha", ctx); code == 0 || !strings.Contains(errs, `cache type "gha" is not supported`) {
		t.Errorf("--cache-to type=gha: %d %s", code, errs)
	}
}

// platformIndex pushes HOST/multi:1, an index of a linux/amd64 and a linux/arm64 image (random
// layers), to an in-process registry on 127.0.0.1 and returns the first layer's diff ID of each.
func platformIndex(t *testing.T) (ref string, firstLayer map[string]string) {
	t.Helper()
	host := distRegistry(t, "", "")
	firstLayer = map[string]string{}
	var adds []mutate.IndexAddendum
	for i, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(4<<10, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		firstLayer[arch] = cfg.RootFS.DiffIDs[0].String()
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref = host + "/multi:1"
	r, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(r, mutate.AppendManifests(empty.Index, adds...)); err != nil {
		t.Fatal(err)
	}
	return ref, firstLayer
}

// `berth build --platform` and FROM --platform pull the platform's image of an index and make an
// image for it; builds for two platforms share no cache; a bad --platform writes nothing.
func TestBuildPlatform(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: pulled layers are unpacked with their owners")
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("BERTH_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	ref, first := platformIndex(t)
	root := t.TempDir()
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	inspect := func(img string) string {
		t.Helper()
		out, errs, code := slRun(t, nil, "--root", root, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{index .RootFS.Layers 0}}", img)
		if code != 0 {
			t.Fatalf("inspect %s: %s", img, errs)
		}
		return strings.TrimSpace(out)
	}
	df := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(df, []byte("FROM --platform=linux/arm64 "+ref+"\nCOPY f /f\n"), 0o644)
	if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", "-t", "from-platform", "-f", df, ctx); code != 0 {
		t.Fatalf("build FROM --platform: %d %s", code, errs)
	}
	if got := inspect("from-platform"); got != "linux/arm64 "+first["arm64"] {
		t.Errorf("FROM --platform=linux/arm64: %q, want linux/arm64 over the arm64 image's layers", got)
	}

	// In a new store: amd64, then arm64, which must not get amd64's COPY step from the cache.
	root = t.TempDir()
	os.WriteFile(df, []byte("FROM "+ref+"\nCOPY f /f\n"), 0o644)
	for _, arch := range []string{"amd64", "arm64"} {
		_, errs, code := slRun(t, nil, "--root", root, "build", "--progress", "plain", "--platform", "linux/"+arch, "-t", "p-"+arch, "-f", df, ctx)
		if code != 0 {
			t.Fatalf("build --platform linux/%s: %d %s", arch, code, errs)
		}
		if strings.Contains(errs, "CACHED") {
			t.Errorf("build --platform linux/%s used the cache of another platform:\n%s", arch, errs)
		}
		if got := inspect("p-" + arch); got != "linux/"+arch+" "+first[arch] {
			t.Errorf("--platform linux/%s: %q", arch, got)
		}
	}

	fresh := filepath.Join(t.TempDir(), "root")
	_, errs, code := slRun(t, nil, "--root", fresh, "build", "--platform", "foo", "-f", df, ctx)
	want := `failed to parse platform foo: "foo": unknown operating system or architecture: invalid argument`
	if code == 0 || !strings.Contains(errs, want) || strings.Count(errs, "\n") != 1 {
		t.Errorf("--platform foo: %d %q, want %s", code, errs, want)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("--platform foo wrote to the store: %v", err)
	}
}

// Every build ends by applying builder.gc from the config file: a policy that keeps nothing
// leaves no cache for the rebuild; "enabled": false, or the default cap (a tenth of the disk),
// leaves it cached.
func TestBuildAppliesCacheGC(t *testing.T) {
	root, ctx := buildFixture(t, "FROM base:1\nCOPY f /f\n")
	conf := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("BERTH_CONFIG", conf)
	for _, tc := range []struct {
		config string
		cached bool
	}{
		{`{}`, true},
		{`{"builder": {"gc": {"policy": [{"keepStorage": "1", "all": true}]}}}`, false},
		{`{"builder": {"gc": {"enabled": false, "policy": [{"keepStorage": "1", "all": true}]}}}`, true},
	} {
		os.WriteFile(conf, []byte(`{}`), 0o644)
		if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", ctx); code != 0 {
			t.Fatalf("build: %s", errs)
		}
		os.WriteFile(conf, []byte(tc.config), 0o644)
		if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", ctx); code != 0 {
			t.Fatalf("build with %s: %s", tc.config, errs)
		}
		_, errs, _ := slRun(t, nil, "--root", root, "build", "--progress", "plain", ctx)
		if got := strings.Contains(errs, "COPY f /f\n#6 CACHED\n"); got != tc.cached {
			t.Errorf("config %s: rebuild cached = %v, want %v\n%s", tc.config, got, tc.cached, errs)
		}
	}
}

// `builder prune` as Docker 20.10 (BuildKit): without -a only dangling records go, the ones
// whose layer no image uses; -a removes the rest too. The prompt says which.
func TestBuilderPruneAll(t *testing.T) {
	root, ctx := buildFixture(t, "FROM base:1\nCOPY f /f\n")
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, errs, code := slRun(t, strings.NewReader(stdin), append([]string{"--root", root}, args...)...)
		if code != 0 || errs != "" {
			t.Fatalf("%v: %d %q", args, code, errs)
		}
		return out
	}
	cacheIDs := func() []string {
		t.Helper()
		var ids []string
		for _, l := range strings.Split(run("", "builder", "du"), "\n") {
			// Rows under the ID header; the totals ("Shared:", ...) are not records.
			if f := strings.Fields(l); len(f) > 0 && f[0] != "ID" && !strings.HasSuffix(f[0], ":") {
				ids = append(ids, f[0])
			}
		}
		return ids
	}
	// kept:1's step stays shared with an image; gone:1's step becomes dangling once its image
	// is removed.
	run("", "build", "-q", "-t", "kept:1", ctx)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("other"), 0o644)
	run("", "build", "-q", "-t", "gone:1", ctx)
	run("", "rmi", "gone:1")
	before := cacheIDs()
	if len(before) != 2 {
		t.Fatalf("builder du lists %d records, want 2: %v", len(before), before)
	}

	if out := run("n\n", "builder", "prune"); out != "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] " {
		t.Errorf("prompt: %q", out)
	}
	if out := run("n\n", "builder", "prune", "-a"); out != "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] " {
		t.Errorf("prompt with -a: %q", out)
	}
	if got := cacheIDs(); len(got) != 2 {
		t.Fatalf("answering n removed records: %v", got)
	}

	out := run("", "builder", "prune", "-f")
	if !strings.HasPrefix(out, "Deleted build cache objects:\n") || strings.Count(out, "\n") != 4 {
		t.Errorf("builder prune -f removed other than the one dangling record:\n%s", out)
	}
	left := cacheIDs()
	if len(left) != 1 {
		t.Fatalf("after prune: %v", left)
	}
	if strings.Contains(out, left[0]) {
		t.Errorf("prune without -a removed the record kept:1 uses (%s):\n%s", left[0], out)
	}
	// The cache hit still works for kept:1's step.
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	if _, errs, code := slRun(t, nil, "--root", root, "build", "--progress", "plain", ctx); code != 0 || !strings.Contains(errs, "CACHED") {
		t.Errorf("rebuild after prune did not hit the kept record: %d\n%s", code, errs)
	}

	out = run("", "builder", "prune", "-a", "-f")
	if !strings.HasPrefix(out, "Deleted build cache objects:\n"+left[0]+"\n") {
		t.Errorf("builder prune -a -f:\n%s", out)
	}
	if got := cacheIDs(); len(got) != 0 {
		t.Errorf("records left after prune -a: %v", got)
	}
	if _, errs, code := slRun(t, nil, "--root", root, "image", "inspect", "kept:1"); code != 0 {
		t.Errorf("kept:1 gone after builder prune -a: %s", errs)
	}
}
