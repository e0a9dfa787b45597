package distribution

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// checkPulled verifies the store holds img complete: record, blobs, unpacked layers, names.
func checkPulled(t *testing.T, s *image.Store, ref string, img v1.Image) *image.Image {
	t.Helper()
	id, err := s.Resolve(ref)
	if err != nil {
		t.Fatalf("resolve %s: %v", ref, err)
	}
	cfgName, _ := img.ConfigName()
	if id != cfgName.String() {
		t.Fatalf("%s resolves to %s, want the config digest %s", ref, id, cfgName)
	}
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.RawManifest()
	if string(got.ManifestRaw) != string(want) {
		t.Fatalf("stored manifest differs from the registry's")
	}
	ls, _ := img.Layers()
	for _, l := range ls {
		d, _ := l.Digest()
		if !s.Content.Has(digest.Digest(d.String())) {
			t.Fatalf("layer blob %s missing", d)
		}
	}
	for _, c := range got.Image.Layers {
		if !s.Layers.Exists(digest.Digest(c)) {
			t.Fatalf("layer %s not unpacked", c)
		}
	}
	return got
}

func TestPullFromRegistry(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:1", 300<<10, 3)
	s := openStore(t)
	ev := &events{}
	res, err := Pull(ctx(t), s, reg.Host+"/x:1", PullOptions{Options: testOptions(ev)})
	if err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	if res.Ref != reg.Host+"/x:1" || res.Digest.String() != md.String() || res.UpToDate {
		t.Fatalf("result %+v, want digest %s", res, md)
	}
	got := checkPulled(t, s, reg.Host+"/x:1", img)
	// The repo digest is recorded (images --digests, RepoDigests).
	if _, err := s.Resolve(reg.Host + "/x@" + md.String()); err != nil {
		t.Fatalf("repo digest not recorded: %v", err)
	}
	out := ev.lines()
	for _, want := range []string{"1: Pulling from x\n", ": Pulling fs layer\n", ": Verifying Checksum\n", ": Download complete\n",
		": Pull complete\n", "Digest: " + md.String() + "\n", "Status: Downloaded newer image for " + reg.Host + "/x:1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := ev.count(StatusPullComplete); n != 3 {
		t.Errorf("%d Pull complete lines, want 3", n)
	}
	if ev.count(StatusDownloading) == 0 {
		t.Errorf("no Downloading progress events")
	}

	// Again: nothing downloaded, up to date.
	ev2 := &events{}
	res, err = Pull(ctx(t), s, reg.Host+"/x:1", PullOptions{Options: testOptions(ev2)})
	if err != nil || !res.UpToDate {
		t.Fatalf("second pull: %+v %v", res, err)
	}
	if ev2.count(StatusPullingFSLayer) != 0 || !strings.Contains(ev2.lines(), "Status: Image is up to date for "+reg.Host+"/x:1") {
		t.Fatalf("second pull output:\n%s", ev2.lines())
	}

	// A second image sharing the base layers downloads only its own layer.
	layers, _ := img.Layers()
	extra, _ := random.Layer(100<<10, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	img2, err := mutate.AppendLayers(img, extra)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := name.ParseReference(reg.Host + "/x:2")
	if err := remote.Write(r2, img2); err != nil {
		t.Fatal(err)
	}
	ev3 := &events{}
	if _, err := Pull(ctx(t), s, reg.Host+"/x:2", PullOptions{Options: testOptions(ev3)}); err != nil {
		t.Fatal(err)
	}
	if ev3.count(StatusAlreadyExists) != len(layers) || ev3.count(StatusPullComplete) != 1 {
		t.Fatalf("want %d Already exists and 1 Pull complete:\n%s", len(layers), ev3.lines())
	}
	checkPulled(t, s, reg.Host+"/x:2", img2)
	if got.Config.RootFS.DiffIDs == nil {
		t.Fatal("config without diff IDs")
	}
}

func TestPullDefaultTagAndDigest(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:latest", 10<<10, 1)
	s := openStore(t)
	ev := &events{}
	if _, err := Pull(ctx(t), s, reg.Host+"/x", PullOptions{Options: testOptions(ev)}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.lines(), "Using default tag: latest\nlatest: Pulling from x\n") {
		t.Fatalf("output:\n%s", ev.lines())
	}
	md, _ := img.Digest()
	byDigest := reg.Host + "/x@" + md.String()
	s2 := openStore(t)
	res, err := Pull(ctx(t), s2, byDigest, PullOptions{Options: testOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != byDigest {
		t.Fatalf("ref %s", res.Ref)
	}
	checkPulled(t, s2, byDigest, img)
}

func TestPullAllTags(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	a := seed(t, reg.Host+"/x:a", 10<<10, 1)
	b := seed(t, reg.Host+"/x:b", 10<<10, 2)
	s := openStore(t)
	ev := &events{}
	res, err := Pull(ctx(t), s, reg.Host+"/x", PullOptions{Options: testOptions(ev), AllTags: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != reg.Host+"/x" {
		t.Fatalf("ref %q", res.Ref)
	}
	checkPulled(t, s, reg.Host+"/x:a", a)
	checkPulled(t, s, reg.Host+"/x:b", b)
	if !strings.HasSuffix(ev.lines(), "Status: Downloaded newer image for "+reg.Host+"/x\n") {
		t.Fatalf("output:\n%s", ev.lines())
	}
	if _, err := Pull(ctx(t), s, reg.Host+"/x:a", PullOptions{Options: testOptions(nil), AllTags: true}); err == nil || !strings.Contains(err.Error(), "tag can't be used with --all-tags/-a") {
		t.Fatalf("-a with a tag: %v", err)
	}
}

func TestPullIndexPicksPlatform(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	amd, _ := random.Image(10<<10, 1)
	arm, _ := random.Image(10<<10, 2)
	amd, _ = mutate.ConfigFile(amd, &v1.ConfigFile{Architecture: "amd64", OS: "linux", RootFS: mustCfg(amd).RootFS})
	arm, _ = mutate.ConfigFile(arm, &v1.ConfigFile{Architecture: "arm64", OS: "linux", Variant: "v8", RootFS: mustCfg(arm).RootFS})
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	r, _ := name.ParseReference(reg.Host + "/multi:1")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	s := openStore(t)
	res, err := Pull(ctx(t), s, reg.Host+"/multi:1", PullOptions{Options: testOptions(nil), Platform: "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest.String() != idxDigest.String() {
		t.Fatalf("repo digest %s, want the index's %s", res.Digest, idxDigest)
	}
	checkPulled(t, s, reg.Host+"/multi:1", arm)
	if _, err := s.Resolve(reg.Host + "/multi@" + idxDigest.String()); err != nil {
		t.Fatalf("index repo digest not recorded: %v", err)
	}
	s2 := openStore(t)
	if _, err := Pull(ctx(t), s2, reg.Host+"/multi:1", PullOptions{Options: testOptions(nil), Platform: "linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	checkPulled(t, s2, reg.Host+"/multi:1", amd)
	_, err = Pull(ctx(t), openStore(t), reg.Host+"/multi:1", PullOptions{Options: testOptions(nil), Platform: "linux/s390x"})
	if err == nil || err.Error() != "no matching manifest for linux/s390x in the manifest list entries" {
		t.Fatalf("s390x: %v", err)
	}
}

func mustCfg(img v1.Image) *v1.ConfigFile {
	c, err := img.ConfigFile()
	if err != nil {
		panic(err)
	}
	return c
}

func TestPullErrors(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	seed(t, reg.Host+"/x:1", 10<<10, 1)
	s := openStore(t)
	for _, tc := range []struct{ ref, want string }{
		{reg.Host + "/x:nope", "manifest for " + reg.Host + "/x:nope not found: manifest unknown: manifest unknown"},
		{reg.Host + "/nope", "manifest for " + reg.Host + "/nope:latest not found: manifest unknown: manifest unknown"},
	} {
		_, err := Pull(ctx(t), s, tc.ref, PullOptions{Options: testOptions(nil)})
		if err == nil || err.Error() != tc.want {
			t.Errorf("pull %s: %v, want %q", tc.ref, err, tc.want)
		}
	}
	down := "127.0.0.1:" + strconv.Itoa(freePort(t))
	_, err := Pull(ctx(t), s, down+"/x:1", PullOptions{Options: testOptions(nil)})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "\n") ||
		!strings.HasPrefix(err.Error(), `Get "http://`+down+`/v2/"`) {
		t.Errorf("registry down: %v", err)
	}
}

func TestPullRefusesSchema1(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", mediaTypeSchema1Signed)
		w.Write([]byte(`{"schemaVersion":1,"name":"old","tag":"1","fsLayers":[]}`))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	_, err := Pull(ctx(t), openStore(t), host+"/old:1", PullOptions{Options: testOptions(nil)})
	if err == nil || !strings.Contains(err.Error(), "schema 1") || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("schema1: %v", err)
	}
}

// A layer corrupted in transit fails the pull with its digest named, records nothing, and a
// retry once the fault is gone succeeds.
func TestPullCorruptLayer(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:1", 200<<10, 2)
	px := startProxy(t, reg.Host)
	layers, _ := img.Layers()
	bad, _ := layers[1].Digest()
	px.target.Store(bad.String())
	px.corrupt.Store(true)
	s := openStore(t)
	ref := px.Host + "/x:1"
	_, err := Pull(ctx(t), s, ref, PullOptions{Options: testOptions(nil)})
	if err == nil || !strings.Contains(err.Error(), bad.String()) {
		t.Fatalf("corrupt pull: %v (want the digest %s named)", err, bad)
	}
	if !strings.Contains(err.Error(), "verification failed") {
		t.Errorf("error does not say verification failed: %v", err)
	}
	if _, err := s.Resolve(ref); err == nil {
		t.Fatal("an image was recorded after a failed pull")
	}
	if s.Content.Has(digest.Digest(bad.String())) {
		t.Fatal("the corrupt blob was stored")
	}
	// The good layer unpacked beside it was never moved into place (layers take their final
	// names together, after every one is verified and synced), and nothing staged is left.
	if l, _ := s.Layers.List(); len(l) != 0 {
		t.Errorf("a failed pull left layers in place: %v", l)
	}
	if n, _ := s.Layers.CleanTemp(); n != 0 {
		t.Errorf("a failed pull left %d staged layer directories", n)
	}
	// Nor did the good layer's blob or the config take their final names (they wait for the
	// pull's durability point with the layers), and the pull cleaned its ingest files.
	s.Content.Walk(func(d digest.Digest, _ int64) error {
		t.Errorf("a failed pull left blob %s in place", d)
		return nil
	})
	if ents, _ := os.ReadDir(s.Content.IngestDir()); len(ents) != 0 {
		t.Errorf("a failed pull left ingest files: %v", ents)
	}
	px.corrupt.Store(false)
	if _, err := Pull(ctx(t), s, ref, PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatalf("retry after the fault: %v", err)
	}
	checkPulled(t, s, ref, img)
}

// A pull killed after some layers are complete leaves none of its blobs or layers in place:
// each appears under its final name only at the pull's one durability point, after every layer
// is verified and synced. The state is checked at the moment a layer reports "Pull complete"
// while another still downloads: what a SIGKILL then would leave (temporary files aside,
// which the next writer sweeps).
func TestPullKilledMidwayLeavesNothingInPlace(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:1", 1<<20, 2)
	px := startProxy(t, reg.Host)
	layers, _ := img.Layers()
	slow, _ := layers[1].Digest()
	px.target.Store(slow.String())
	px.slow.Store(true)
	s := openStore(t)
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	var checked atomic.Bool
	o := testOptions(nil)
	o.Progress = func(ev Event) {
		if ev.Status != StatusPullComplete || ev.ID == shortID(digest.Digest(slow.String())) || checked.Load() {
			return
		}
		checked.Store(true)
		s.Content.Walk(func(d digest.Digest, _ int64) error {
			t.Errorf("blob %s is in place while the pull still downloads", d)
			return nil
		})
		if l, _ := s.Layers.List(); len(l) != 0 {
			t.Errorf("layers %v are in place while the pull still downloads", l)
		}
		cancel()
	}
	if _, err := Pull(c, s, px.Host+"/x:1", PullOptions{Options: o}); err == nil {
		t.Fatal("the cancelled pull succeeded")
	}
	if !checked.Load() {
		t.Fatal("no layer completed before the slow one")
	}
	if ents, _ := os.ReadDir(s.Content.IngestDir()); len(ents) != 0 {
		t.Errorf("a cancelled pull left ingest files: %v", ents)
	}
	px.slow.Store(false)
	if _, err := Pull(ctx(t), s, px.Host+"/x:1", PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatal(err)
	}
	checkPulled(t, s, px.Host+"/x:1", img)
}

// A manifest that does not hash to its digest fails the pull and records nothing; a registry
// answering 503 for a while is retried.
func TestPullBadManifestAndTransientErrors(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:1", 10<<10, 1)
	md, _ := img.Digest()
	px := startProxy(t, reg.Host)
	px.badManifest.Store(true)
	s := openStore(t)
	_, err := Pull(ctx(t), s, px.Host+"/x@"+md.String(), PullOptions{Options: testOptions(nil)})
	if err == nil || !strings.Contains(err.Error(), md.String()) {
		t.Fatalf("altered manifest by digest: %v", err)
	}
	_, err = Pull(ctx(t), s, px.Host+"/x:1", PullOptions{Options: testOptions(nil)})
	if err == nil || !strings.Contains(err.Error(), md.String()) {
		t.Fatalf("altered manifest by tag: %v", err)
	}
	if _, err := s.Resolve(px.Host + "/x:1"); err == nil {
		t.Fatal("image recorded from an altered manifest")
	}
	px.badManifest.Store(false)
	px.fail503.Store(2)
	if _, err := Pull(ctx(t), s, px.Host+"/x:1", PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatalf("pull through two 503s: %v", err)
	}
	checkPulled(t, s, px.Host+"/x:1", img)
	if px.fail503.Load() != 0 {
		t.Fatal("the 503s were not hit")
	}
}

// A connection cut mid-layer is retried and resumed with a Range request.
func TestPullResumesCutLayer(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:1", 2<<20, 1)
	px := startProxy(t, reg.Host)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	size, _ := layers[0].Size()
	px.target.Store(d.String())
	px.cutAfter.Store(size / 3)
	px.cutsPending.Store(2) // the first two responses are cut
	s := openStore(t)
	ev := &events{}
	ref := px.Host + "/x:1"
	if _, err := Pull(ctx(t), s, ref, PullOptions{Options: testOptions(ev)}); err != nil {
		t.Fatalf("pull through cuts: %v", err)
	}
	checkPulled(t, s, ref, img)
	if px.rangeReqs.Load() < 2 {
		t.Errorf("%d Range requests, want 2 (resume after each cut)", px.rangeReqs.Load())
	}
	if served := px.served.Load(); served > size+size/2 {
		t.Errorf("served %d bytes for a %d-byte blob: the download restarted instead of resuming", served, size)
	}
	if ev.count("Retrying in") != 2 {
		t.Errorf("want 2 Retrying lines:\n%s", ev.lines())
	}

	// More cuts than retries: the pull fails, naming the blob.
	s2 := openStore(t)
	px.cutsPending.Store(100)
	px.cutAfter.Store(1000)
	o := testOptions(nil)
	o.Retries = 2
	_, err := Pull(ctx(t), s2, ref, PullOptions{Options: o})
	if err == nil || !strings.Contains(err.Error(), d.String()) {
		t.Fatalf("pull with endless cuts: %v", err)
	}
}

// A pull killed with SIGKILL mid-layer leaves the store consistent and the next pull finishes.
func TestPullKilledMidLayer(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	img := seed(t, reg.Host+"/x:1", 4<<20, 2)
	px := startProxy(t, reg.Host)
	layers, _ := img.Layers()
	d, _ := layers[1].Digest()
	px.target.Store(d.String())
	px.slow.Store(true)
	root := t.TempDir()
	ref := px.Host + "/x:1"
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BERTH_TEST_CHILD_PULL="+ref, "BERTH_TEST_CHILD_ROOT="+root)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for px.served.Load() < 200<<10 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never started downloading")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	px.slow.Store(false)

	s, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Resolve(ref); err == nil {
		t.Fatal("killed pull recorded an image")
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "ingest")); len(ents) == 0 {
		t.Log("note: the child left no partial ingest (killed between blobs)")
	}
	if _, err := Pull(ctx(t), s, ref, PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatalf("pull after kill: %v", err)
	}
	checkPulled(t, s, ref, img)
	if ents, _ := os.ReadDir(filepath.Join(root, "ingest")); len(ents) != 0 {
		t.Errorf("ingest/ still holds %d partial files after the next pull", len(ents))
	}
	ents, _ := os.ReadDir(filepath.Join(root, "layers"))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("staged layer %s left behind", e.Name())
		}
	}
}

func TestMain(m *testing.M) {
	if ref := os.Getenv("BERTH_TEST_CHILD_PULL"); ref != "" {
		s, err := image.Open(os.Getenv("BERTH_TEST_CHILD_ROOT"))
		if err != nil {
			os.Exit(3)
		}
		o := testOptions(nil)
		if _, err := Pull(context.Background(), s, ref, PullOptions{Options: o}); err != nil {
			os.Exit(4)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// OCI manifests with zstd layers (and an OCI config) pull like Docker's gzip ones.
func TestPullOCIZstdImage(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	var tb bytes.Buffer
	writeTar(t, &tb, map[string]string{"etc/hello": "zstd layer\n", "big": strings.Repeat("z", 1<<20)})
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb.Bytes())), nil },
		tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(reg.Host + "/zstd:1")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	if _, err := Pull(ctx(t), s, reg.Host+"/zstd:1", PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatal(err)
	}
	got := checkPulled(t, s, reg.Host+"/zstd:1", img)
	if got.Image.MediaType != image.MediaTypeOCIManifest {
		t.Fatalf("media type %q", got.Image.MediaType)
	}
	b, err := os.ReadFile(filepath.Join(s.Layers.Dir(digest.Digest(got.Image.Layers[0])), "etc/hello"))
	if err != nil || string(b) != "zstd layer\n" {
		t.Fatalf("unpacked file: %q %v", b, err)
	}
}

// choosePlatform as dockerd 20.10 chose from an index of amd64, arm/v7 and arm64/v8 (recorded
// with `docker pull --platform`): variants normalized, and for arm with no variant matching, the
// first arm entry (linux/arm/v6 got arm/v7).
func TestChoosePlatformArmFallback(t *testing.T) {
	d := func(n int, arch, variant string) image.Descriptor {
		return image.Descriptor{Digest: digest.FromString(strconv.Itoa(n)), Platform: &image.Platform{OS: "linux", Architecture: arch, Variant: variant}}
	}
	idx := image.Index{Manifests: []image.Descriptor{d(0, "amd64", ""), d(1, "arm", "v7"), d(2, "arm64", "v8")}}
	for _, tc := range []struct {
		want string
		got  int // -1: no match
	}{
		{"linux/amd64", 0}, {"linux/arm/v7", 1}, {"linux/arm", 1}, {"linux/arm/v6", 1}, {"linux/arm64", 2},
		{"linux/arm64/v8", 2}, {"Linux/AMD64", 0}, {"linux/s390x", -1}, {"windows/amd64", -1},
	} {
		p, err := image.ParsePlatform(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := choosePlatform(idx, p)
		switch {
		case tc.got < 0 && (err == nil || err.Error() != "no matching manifest for "+image.NormalizePlatform(p).String()+" in the manifest list entries"):
			t.Errorf("%s: %v %v", tc.want, got.Digest, err)
		case tc.got >= 0 && (err != nil || got.Digest != idx.Manifests[tc.got].Digest):
			t.Errorf("%s: %v %v, want entry %d", tc.want, got.Digest, err, tc.got)
		}
	}
}
