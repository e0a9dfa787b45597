package distribution

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
)

func TestPushToRegistry(t *testing.T) {
	src := startRegistry(t, registryConfig{})
	img := seed(t, src.Host+"/x:1", 200<<10, 3)
	s := openStore(t)
	if _, err := Pull(ctx(t), s, src.Host+"/x:1", PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatal(err)
	}
	dst := startRegistry(t, registryConfig{})
	if err := s.Tag(src.Host+"/x:1", dst.Host+"/y:1"); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	res, err := Push(ctx(t), s, dst.Host+"/y:1", PushOptions{Options: testOptions(ev)})
	if err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	raw, _ := img.RawManifest()
	if len(res) != 1 || res[0].Digest.String() != md.String() || res[0].Size != int64(len(raw)) {
		t.Fatalf("push result %+v, want digest %s (manifest kept byte for byte)", res, md)
	}
	out := ev.lines()
	cfg, _ := img.ConfigFile()
	top := shortID(digest.Digest(cfg.RootFS.DiffIDs[2].String()))
	for _, want := range []string{"The push refers to repository [" + dst.Host + "/y]\n", top + ": Preparing\n", top + ": Pushed\n",
		"1: digest: " + md.String() + " size: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "The push refers to repository ["+dst.Host+"/y]\n"+top+": Preparing\n") {
		t.Errorf("layers are not listed top first:\n%s", out)
	}
	if ev.count(StatusPushed) != 3 {
		t.Errorf("want 3 Pushed:\n%s", out)
	}
	id, _ := s.Resolve(dst.Host + "/y:1")
	if got, err := s.Resolve(dst.Host + "/y@" + md.String()); err != nil || got != id {
		t.Errorf("pushed repo digest not recorded: %v", err)
	}

	// Again: everything is there.
	ev = &events{}
	if _, err := Push(ctx(t), s, dst.Host+"/y:1", PushOptions{Options: testOptions(ev)}); err != nil {
		t.Fatal(err)
	}
	if ev.count(StatusLayerExists) != 3 || ev.count(StatusPushed) != 0 {
		t.Errorf("second push:\n%s", ev.lines())
	}
	// Another repository of the same registry: blobs are mounted from y.
	if err := s.Tag(src.Host+"/x:1", dst.Host+"/z:1"); err != nil {
		t.Fatal(err)
	}
	ev = &events{}
	if _, err := Push(ctx(t), s, dst.Host+"/z:1", PushOptions{Options: testOptions(ev)}); err != nil {
		t.Fatal(err)
	}
	if ev.count(StatusMountedFrom+"y") != 3 {
		t.Errorf("want 3 Mounted from y:\n%s", ev.lines())
	}

	// What was pushed pulls back into an empty store as the same image.
	s2 := openStore(t)
	if _, err := Pull(ctx(t), s2, dst.Host+"/z:1", PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatal(err)
	}
	checkPulled(t, s2, dst.Host+"/z:1", img)
}

func TestPushImportedImageAndAllTags(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	s := openStore(t)
	var tarball bytes.Buffer
	writeTar(t, &tarball, map[string]string{"hello.txt": "hello\n", "etc/os-release": "ID=berth\n"})
	id, err := s.Import(&tarball, image.ImportOptions{Ref: reg.Host + "/imp:a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(reg.Host+"/imp:a", reg.Host+"/imp:b"); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx(t), s, reg.Host+"/imp", PushOptions{Options: testOptions(nil), AllTags: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Tag != "a" || res[1].Tag != "b" {
		t.Fatalf("push -a: %+v", res)
	}
	s2 := openStore(t)
	r, err := Pull(ctx(t), s2, reg.Host+"/imp:b", PullOptions{Options: testOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if r.ImageID != id {
		t.Fatalf("pulled back %s, pushed %s", r.ImageID, id)
	}
	_, err = Push(ctx(t), s, reg.Host+"/nothere:1", PushOptions{Options: testOptions(nil)})
	if err == nil || err.Error() != "An image does not exist locally with the tag: "+reg.Host+"/nothere:1" {
		t.Fatalf("push of a missing image: %v", err)
	}
}

// skopeo pushes, berth pulls; berth pushes, skopeo inspects.
func TestSkopeoInterop(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is not installed")
	}
	reg := startRegistry(t, registryConfig{})
	img, err := random.Image(100<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lp, err := layout.Write(dir, emptyIndex())
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	skopeo := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command("skopeo", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo %v: %v\n%s", args, err, out)
		}
		return out
	}
	skopeo("copy", "--dest-tls-verify=false", "oci:"+dir, "docker://"+reg.Host+"/sk:1")
	s := openStore(t)
	res, err := Pull(ctx(t), s, reg.Host+"/sk:1", PullOptions{Options: testOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(reg.Host+"/sk:1", reg.Host+"/back:1"); err != nil {
		t.Fatal(err)
	}
	pushed, err := Push(ctx(t), s, reg.Host+"/back:1", PushOptions{Options: testOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Digest string
		Layers []string
	}
	if err := json.Unmarshal(skopeo("inspect", "--tls-verify=false", "docker://"+reg.Host+"/back:1"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Digest != pushed[0].Digest.String() || info.Digest != res.Digest.String() || len(info.Layers) != 2 {
		t.Fatalf("skopeo sees %+v; berth pulled %s and pushed %s", info, res.Digest, pushed[0].Digest)
	}
	// skopeo can copy what berth pushed (every blob is whole and verified).
	skopeo("copy", "--src-tls-verify=false", "docker://"+reg.Host+"/back:1", "oci:"+t.TempDir())
	_ = os.Remove
}

// An upload the registry fails (503) is retried.
func TestPushRetriesFailedUpload(t *testing.T) {
	reg := startRegistry(t, registryConfig{})
	px := startProxy(t, reg.Host)
	s := openStore(t)
	var tarball bytes.Buffer
	writeTar(t, &tarball, map[string]string{"f": strings.Repeat("x", 100000)})
	if _, err := s.Import(&tarball, image.ImportOptions{Ref: px.Host + "/r:1"}); err != nil {
		t.Fatal(err)
	}
	px.failPut.Store(2)
	ev := &events{}
	if _, err := Push(ctx(t), s, px.Host+"/r:1", PushOptions{Options: testOptions(ev)}); err != nil {
		t.Fatalf("push through two failed uploads: %v", err)
	}
	if px.failPut.Load() != 0 || ev.count("Retrying in") != 2 || ev.count(StatusPushed) != 1 {
		t.Fatalf("want 2 retries then Pushed:\n%s", ev.lines())
	}
	if _, err := Pull(ctx(t), openStore(t), px.Host+"/r:1", PullOptions{Options: testOptions(nil)}); err != nil {
		t.Fatal(err)
	}
}
