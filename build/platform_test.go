package build

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/image"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestPlanPlatforms(t *testing.T) {
	host := image.DefaultPlatform().String()
	df := "ARG ARCH=arm64\n" +
		"FROM --platform=linux/$ARCH alpine AS a\n" + // 0: a global ARG
		"FROM --platform=$BUILDPLATFORM scratch AS b\n" + // 1: a predefined ARG
		"FROM --platform=linux/amd64 a AS c\n" + // 2: FROM a stage: that stage's platform
		"FROM --platform=${TARGETPLATFORM} scratch AS d\n" + // 3
		"FROM scratch AS e\n" + // 4: no --platform: the build's
		"FROM --platform=linux/arm/v6 scratch\n" // 5
	for _, tc := range []struct {
		platform string
		args     map[string]string
		want     []string
		global   map[string]string
	}{
		{"", nil, []string{"linux/arm64", host, "linux/arm64", host, host, "linux/arm/v6"},
			map[string]string{"TARGETPLATFORM": host, "BUILDPLATFORM": host, "TARGETOS": "linux", "TARGETARCH": runtime.GOARCH}},
		{"linux/s390x", map[string]string{"ARCH": "ppc64le"}, []string{"linux/ppc64le", host, "linux/ppc64le", "linux/s390x", "linux/s390x", "linux/arm/v6"},
			map[string]string{"TARGETPLATFORM": "linux/s390x", "TARGETARCH": "s390x", "TARGETVARIANT": "", "BUILDPLATFORM": host}},
		{"linux/arm64/v8", nil, []string{"linux/arm64", host, "linux/arm64", "linux/arm64", "linux/arm64", "linux/arm/v6"},
			map[string]string{"TARGETPLATFORM": "linux/arm64", "TARGETARCH": "arm64", "TARGETVARIANT": ""}},
		{"linux/arm", nil, nil, map[string]string{"TARGETPLATFORM": "linux/arm/v7", "TARGETARCH": "arm", "TARGETVARIANT": "v7"}},
		{"aarch64", nil, nil, map[string]string{"TARGETPLATFORM": "linux/arm64", "TARGETOS": "linux", "TARGETARCH": "arm64"}},
	} {
		p, err := ParsePlan([]byte(df), PlanOptions{Platform: tc.platform, BuildArgs: tc.args})
		if err != nil {
			t.Fatalf("--platform %q: %v", tc.platform, err)
		}
		if p.Explicit != (tc.platform != "") {
			t.Errorf("--platform %q: Explicit %v", tc.platform, p.Explicit)
		}
		if tc.want != nil {
			var got []string
			for _, pl := range p.Platforms {
				got = append(got, pl.String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("--platform %q: stage platforms\n got %q\nwant %q", tc.platform, got, tc.want)
			}
		}
		for k, v := range tc.global {
			if p.Global[k] != v {
				t.Errorf("--platform %q: %s=%q, want %q", tc.platform, k, p.Global[k], v)
			}
		}
	}

	for _, tc := range []struct{ df, platform, want string }{
		{"FROM scratch\n", "foo",
			`failed to parse platform foo: "foo": unknown operating system or architecture: invalid argument`},
		{"FROM scratch\n", "linux/arm64/v8/x",
			`failed to parse platform linux/arm64/v8/x: "linux/arm64/v8/x": cannot parse platform specifier: invalid argument`},
		{"FROM --platform=foo scratch\n", "",
			`Dockerfile:1: failed to parse platform foo: "foo": unknown operating system or architecture: invalid argument (in "FROM --platform=foo scratch")`},
		{"ARG P=bar\nFROM scratch\nFROM --platform=$P scratch\n", "",
			`Dockerfile:3: failed to parse platform bar: "bar": unknown operating system or architecture: invalid argument (in "FROM --platform=$P scratch")`},
		{"FROM --platform=${P:?unset} scratch\n", "",
			`Dockerfile:1: failed to process arguments for platform ${P:?unset}: failed to process "${P:?unset}": P: unset (in "FROM --platform=${P:?unset} scratch")`},
	} {
		_, err := ParsePlan([]byte(tc.df), PlanOptions{Platform: tc.platform})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q --platform %q:\n got %v\nwant %s", tc.df, tc.platform, err, tc.want)
		}
	}
}

// markerImage is a one-layer image for linux/arch whose /etc/marker names the architecture.
func markerImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	data := "built for linux/" + arch + "\n"
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)})
	tw.WriteHeader(&tar.Header{Name: "etc/marker", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)})
	tw.Write([]byte(data))
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Config.Env = []string{"ARCH=" + arch}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// platformRegistry starts a registry on 127.0.0.1 holding HOST/multi:1, an index of a linux/amd64
// and a linux/arm64 marker image, and HOST/single:1, the amd64 image alone.
func platformRegistry(t *testing.T) (host string, ids map[string]string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	ids = map[string]string{}
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img := markerImage(t, arch)
		id, _ := img.ConfigName()
		ids[arch] = id.String()
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	r, _ := name.ParseReference(host + "/multi:1")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	r, _ = name.ParseReference(host + "/single:1")
	if err := remote.Write(r, adds[0].Add.(v1.Image)); err != nil {
		t.Fatal(err)
	}
	return host, ids
}

// puller is Options.Pull over distribution.Pull, recording what it was asked for.
type puller struct {
	s     *image.Store
	mu    sync.Mutex
	calls []string
}

func (p *puller) pull(ctx context.Context, ref, platform string) (string, error) {
	p.mu.Lock()
	p.calls = append(p.calls, ref+" "+platform)
	p.mu.Unlock()
	o := distribution.Options{Keychain: authn.NewMultiKeychain(), RetryDelay: 10 * time.Millisecond}
	res, err := distribution.Pull(ctx, p.s, ref, distribution.PullOptions{Options: o, Platform: platform})
	if err != nil {
		return "", err
	}
	return res.ImageID, nil
}

func (p *puller) took() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := strings.Join(p.calls, ", ")
	p.calls = nil
	return out
}

// checkBuilt checks the built image is for os/arch and has the marker of the base for markerArch.
func checkBuilt(t *testing.T, s *image.Store, r buildRun, arch, markerArch string) {
	t.Helper()
	img, err := s.Get(r.res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.OS != "linux" || img.Config.Architecture != arch || img.Config.Variant != "" {
		t.Errorf("image is for %s/%s/%s, want linux/%s", img.Config.OS, img.Config.Architecture, img.Config.Variant, arch)
	}
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if got := files["etc/marker"].data; got != "built for linux/"+markerArch+"\n" {
		t.Errorf("marker %q, want the linux/%s image's", got, markerArch)
	}
}

func TestBuildPlatformFromIndex(t *testing.T) {
	host, _ := platformRegistry(t)
	ref := host + "/multi:1"
	ctx := writeCtx(t, map[string]string{"f": "context file\n"})

	// FROM --platform picks the arm64 image of the index; the result is an arm64 image.
	s := newStore(t)
	p := &puller{s: s}
	r := mustBuild(t, s, Options{ContextDir: ctx, Pull: p.pull,
		Dockerfile: []byte("FROM --platform=linux/arm64 " + ref + "\nCOPY f /f\n")})
	checkBuilt(t, s, r, "arm64", "arm64")
	if got := p.took(); got != ref+" linux/arm64" {
		t.Errorf("pulls: %q", got)
	}

	// --platform without FROM --platform does the same, in a store that never saw the image.
	s = newStore(t)
	p = &puller{s: s}
	r = mustBuild(t, s, Options{ContextDir: ctx, Pull: p.pull, Platform: "linux/arm64",
		Dockerfile: []byte("FROM " + ref + "\nCOPY f /f\n")})
	checkBuilt(t, s, r, "arm64", "arm64")
	if got := p.took(); got != ref+" linux/arm64" {
		t.Errorf("pulls: %q", got)
	}
	// A stage FROM --platform=$BUILDPLATFORM (a cross-compiling builder) is for this machine while
	// the image is for --platform.
	hostArch := runtime.GOARCH
	r = mustBuild(t, s, Options{ContextDir: ctx, Pull: p.pull, Platform: "linux/arm64",
		Dockerfile: []byte("FROM --platform=$BUILDPLATFORM " + ref + " AS tools\nFROM scratch\nCOPY --from=tools /etc/marker /etc/marker\n")})
	checkBuilt(t, s, r, "arm64", hostArch)
}

// The cache never gives an arm64 build the steps of an amd64 one. The store keeps one image per
// name: the last platform pulled holds the name, the other stays in the store unnamed.
func TestBuildPlatformCache(t *testing.T) {
	host, ids := platformRegistry(t)
	ref := host + "/multi:1"
	ctx := writeCtx(t, map[string]string{"f": "context file\n"})
	s := newStore(t)
	p := &puller{s: s}
	build := func(platform, df string) buildRun {
		t.Helper()
		return mustBuild(t, s, Options{ContextDir: ctx, Pull: p.pull, Platform: platform, Dockerfile: []byte(df)})
	}
	from := "FROM " + ref + "\nCOPY f /f\n"
	amd := build("linux/amd64", from)
	checkBuilt(t, s, amd, "amd64", "amd64")
	if again := build("linux/amd64", from); cachedCount(again.out) != 1 || again.res.ImageID != amd.res.ImageID {
		t.Fatalf("amd64 rebuild: %d cached, %s vs %s\n%s", cachedCount(again.out), again.res.ImageID, amd.res.ImageID, again.out)
	}
	p.took()
	arm := build("linux/arm64", from)
	if n := cachedCount(arm.out); n != 0 {
		t.Errorf("arm64 build after amd64: %d steps CACHED, want none\n%s", n, arm.out)
	}
	checkBuilt(t, s, arm, "arm64", "arm64")
	if got := p.took(); got != ref+" linux/arm64" {
		t.Errorf("the amd64 image in the store was used for arm64 (pulls %q)", got)
	}
	// The name moved to the arm64 image; the amd64 one is still there.
	if id, _ := s.Resolve(ref); id != ids["arm64"] {
		t.Errorf("%s names %s, want the arm64 image %s", ref, id, ids["arm64"])
	}
	if _, err := s.Get(ids["amd64"]); err != nil {
		t.Errorf("the amd64 image left the store: %v", err)
	}
	// Back to amd64: pulled again (the name moves back), and its steps are cached.
	if back := build("linux/amd64", from); cachedCount(back.out) != 1 || back.res.ImageID != amd.res.ImageID {
		t.Errorf("amd64 after arm64: %d cached, %s vs %s", cachedCount(back.out), back.res.ImageID, amd.res.ImageID)
	}
	if got := p.took(); got != ref+" linux/amd64" {
		t.Errorf("pulls: %q", got)
	}

	// FROM scratch: the platform is the only difference, and it is part of the key.
	scratch := "FROM scratch\nCOPY f /f\n"
	a := build("linux/amd64", scratch)
	b := build("linux/arm64", scratch)
	if n := cachedCount(b.out); n != 0 {
		t.Errorf("scratch arm64 after amd64: %d CACHED\n%s", n, b.out)
	}
	for id, arch := range map[string]string{a.res.ImageID: "amd64", b.res.ImageID: "arm64"} {
		img, _ := s.Get(id)
		if img == nil || img.Config.Architecture != arch {
			t.Errorf("scratch image %s: %+v, want %s", id, img, arch)
		}
	}
}

func TestBuildPlatformMismatch(t *testing.T) {
	host, _ := platformRegistry(t)
	ref := host + "/multi:1"
	ctx := writeCtx(t, map[string]string{"f": "x"})
	s := newStore(t)
	p := &puller{s: s}
	mustBuild(t, s, Options{ContextDir: ctx, Pull: p.pull, Platform: "linux/arm64", Dockerfile: []byte("FROM " + ref + "\n")})

	// The store has the arm64 image under the name; without pulling it is not used for amd64.
	r := runBuild(t, s, Options{ContextDir: ctx, Platform: "linux/amd64", Dockerfile: []byte("FROM " + ref + "\nCOPY f /f\n")})
	want := "Dockerfile:1: FROM " + ref + ": image with reference " + ref +
		" was found but does not match the specified platform: wanted linux/amd64, actual: linux/arm64"
	if r.err == nil || !strings.HasPrefix(r.err.Error(), want) {
		t.Errorf("mismatch without pull:\n got %v\nwant %s", r.err, want)
	}
	// COPY --from an image is for the target platform too.
	r = runBuild(t, s, Options{ContextDir: ctx, Platform: "linux/amd64", Dockerfile: []byte("FROM scratch\nCOPY --from=" + ref + " /etc/marker /m\n")})
	if r.err == nil || !strings.Contains(r.err.Error(), "does not match the specified platform: wanted linux/amd64, actual: linux/arm64") {
		t.Errorf("COPY --from mismatch: %v", r.err)
	}
	// A registry image that is not an index and is for another platform fails, as docker pull
	// --platform does.
	r = runBuild(t, s, Options{ContextDir: ctx, Pull: p.pull, Platform: "linux/arm64", Dockerfile: []byte("FROM " + host + "/single:1\n")})
	want = "image with reference " + host + "/single:1 was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"
	if r.err == nil || !strings.Contains(r.err.Error(), want) {
		t.Errorf("single-platform image:\n got %v\nwant %s", r.err, want)
	}
	// An index without the platform.
	r = runBuild(t, s, Options{ContextDir: ctx, Pull: p.pull, Platform: "linux/s390x", Dockerfile: []byte("FROM " + ref + "\n")})
	if r.err == nil || !strings.Contains(r.err.Error(), "no matching manifest for linux/s390x in the manifest list entries") {
		t.Errorf("s390x: %v", r.err)
	}
}
