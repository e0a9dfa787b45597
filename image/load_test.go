package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

func slLoad(t testing.TB, s *Store, data []byte) []LoadedImage {
	t.Helper()
	out, err := s.Load(bytes.NewReader(data), LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return out
}

// slDescribe prints what Load returned: "id name<-previous name ..." per image.
func slDescribe(out []LoadedImage) string {
	var lines []string
	for _, li := range out {
		l := li.ID
		for _, n := range li.Names {
			l += " " + n.Name
			if n.Previous != "" {
				l += "<-" + n.Previous
			}
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func slFilesToTar(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var ents []slEntry
	for _, n := range names {
		ents = append(ents, slEntry{n, files[n]})
	}
	return slTar(t, ents)
}

// ---- Docker 20.10's legacy `docker save` layout ----

type slLegacyImage struct {
	tags    []string // RepoTags; nil is written as null
	layers  [][]byte // plain layer tars, bottom first
	v1IDs   []string // the layer directories; a layer already written under another ID becomes a symlink
	diffIDs []digest.Digest
}

// slLegacyArchive lays images out the way `docker save` of Docker 20.10 does: <config hex>.json,
// <layer id>/{VERSION,json,layer.tar}, manifest.json and repositories. It returns the archive and
// the image IDs.
func slLegacyArchive(t testing.TB, imgs ...slLegacyImage) ([]byte, []string) {
	t.Helper()
	files := map[string][]byte{}
	written := map[digest.Digest]string{} // diff ID → layer dir holding it
	type item struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []item
	repos := map[string]map[string]string{}
	var ids []string
	for _, img := range imgs {
		var diffIDs []digest.Digest
		var layerPaths []string
		for i, l := range img.layers {
			d := digest.FromBytes(l)
			diffIDs = append(diffIDs, d)
			dir := img.v1IDs[i]
			layerPaths = append(layerPaths, dir+"/layer.tar")
			if _, ok := files[dir+"/VERSION"]; ok {
				continue
			}
			files[dir+"/VERSION"] = []byte("1.0")
			files[dir+"/json"] = []byte(fmt.Sprintf(`{"id":"%s","created":"2024-05-01T10:00:00Z","os":"linux"}`, dir))
			if prev, ok := written[d]; ok {
				files[dir+"/layer.tar"] = []byte("-> ../" + prev + "/layer.tar")
			} else {
				files[dir+"/layer.tar"] = l
				written[d] = dir
			}
		}
		if img.diffIDs != nil {
			diffIDs = img.diffIDs
		}
		cfg, err := json.Marshal(map[string]any{
			"architecture": runtime.GOARCH, "os": "linux", "created": "2024-05-01T10:00:00Z",
			"config": map[string]any{"Cmd": []string{"sh"}, "Labels": map[string]string{"from": "legacy"}},
			"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
		})
		if err != nil {
			t.Fatal(err)
		}
		id := digest.FromBytes(cfg)
		ids = append(ids, id.String())
		files[id.Encoded()+".json"] = cfg
		manifest = append(manifest, item{Config: id.Encoded() + ".json", RepoTags: img.tags, Layers: layerPaths})
		for _, tag := range img.tags {
			i := strings.LastIndex(tag, ":")
			if repos[tag[:i]] == nil {
				repos[tag[:i]] = map[string]string{}
			}
			repos[tag[:i]][tag[i+1:]] = img.v1IDs[len(img.v1IDs)-1]
		}
	}
	files["manifest.json"], _ = json.Marshal(manifest)
	files["repositories"], _ = json.Marshal(repos)
	// Docker's tar has the layer directories as entries too.
	for n := range files {
		if i := strings.Index(n, "/"); i > 0 {
			files[n[:i+1]] = nil
		}
	}
	return slFilesToTar(t, files), ids
}

func slV1ID(s string) string { return digest.FromString(s).Encoded() }

func slLegacyFixture(t testing.TB) ([]byte, []string, [][]byte) {
	base := slLayer(t, "etc/base", "base layer")
	top1 := slLayer(t, "etc/top", "one")
	top2 := slLayer(t, "etc/top", "two")
	data, ids := slLegacyArchive(t,
		slLegacyImage{tags: []string{"legacy:1"}, layers: [][]byte{base, top1}, v1IDs: []string{slV1ID("a"), slV1ID("b")}},
		// The same base layer under another v1 ID: Docker writes a symlink to the first layer.tar.
		slLegacyImage{tags: []string{"legacy:2", "localhost:5000/a/legacy:x"}, layers: [][]byte{base, top2},
			v1IDs: []string{slV1ID("c"), slV1ID("d")}},
		slLegacyImage{layers: [][]byte{top1}, v1IDs: []string{slV1ID("e")}},
	)
	return data, ids, [][]byte{base, top1, top2}
}

func TestLoadDocker2010LegacyArchive(t *testing.T) {
	data, ids, layers := slLegacyFixture(t)
	if files, _ := slEntries(t, data); !strings.HasPrefix(string(files[slV1ID("c")+"/layer.tar"]), "-> ../") {
		t.Fatal("fixture: the shared layer is not a symlink")
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", compress), func(t *testing.T) {
			s := slOpen(t)
			in := data
			if compress {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(data)
				zw.Close()
				in = buf.Bytes()
			}
			var progress bytes.Buffer
			out, err := s.Load(bytes.NewReader(in), LoadOptions{Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			want := ids[0] + " legacy:1\n" + ids[1] + " legacy:2 localhost:5000/a/legacy:x\n" + ids[2]
			if got := slDescribe(out); got != want {
				t.Errorf("loaded:\n%s\nwant\n%s", got, want)
			}
			if n := strings.Count(progress.String(), ": Loading layer ["); n != 4 {
				// base once (shared), top1, top2, and top1 again as a base layer of image 3
				t.Errorf("progress has %d layer lines:\n%s", n, progress.String())
			}
			// The layers are kept as they were (uncompressed tars) under an OCI manifest.
			img, err := s.Get(ids[1])
			if err != nil {
				t.Fatal(err)
			}
			if img.Image.MediaType != MediaTypeOCIManifest || len(img.Manifest.Layers) != 2 {
				t.Fatalf("manifest: %s", img.ManifestRaw)
			}
			for i, l := range img.Manifest.Layers {
				want := []digest.Digest{digest.FromBytes(layers[0]), digest.FromBytes(layers[2])}[i]
				if l.MediaType != MediaTypeOCILayer || l.Digest != want || !s.Content.Has(l.Digest) {
					t.Errorf("layer %d: %+v, want %s", i, l, want)
				}
			}
			if img.Config.Config.Labels["from"] != "legacy" {
				t.Errorf("config: %s", img.ConfigRaw)
			}
			chains := ChainIDs(img.Config.RootFS.DiffIDs)
			if b, err := os.ReadFile(filepath.Join(s.Layers.Dir(chains[1]), "etc/top")); err != nil || string(b) != "two" {
				t.Errorf("unpacked layer: %q %v", b, err)
			}
			if id, err := s.Resolve("localhost:5000/a/legacy:x"); err != nil || id != ids[1] {
				t.Errorf("resolve: %s %v", id, err)
			}
			if n := slImageCount(t, s); n != 3 {
				t.Errorf("%d images, want 3", n)
			}
			if ents, _ := os.ReadDir(s.Content.IngestDir()); len(ents) != 0 {
				t.Errorf("ingest dir not cleaned: %v", ents)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	a := slOpen(t)
	id1 := slImport(t, a, "test:1", "etc/a", "one", "etc/b", "bee")
	if err := a.Tag("test:1", "example.com/team/test:stable"); err != nil {
		t.Fatal(err)
	}
	id2 := slImport(t, a, "other:1", "etc/a", "two")
	// A multi-layer image too, from a legacy archive.
	legacy, lids, _ := slLegacyFixture(t)
	slLoad(t, a, legacy)
	data := slSave(t, a, "test", "example.com/team/test:stable", "other:1", "legacy:2", lids[2])

	b := slOpen(t)
	out := slLoad(t, b, data)
	want := id1 + " test:1 example.com/team/test:stable\n" + id2 + " other:1\n" +
		lids[1] + " legacy:2\n" + lids[2]
	if got := slDescribe(out); got != want {
		t.Errorf("loaded:\n%s\nwant\n%s", got, want)
	}
	for _, id := range []string{id1, id2, lids[1], lids[2]} {
		ia, err := a.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		ib, err := b.Get(id)
		if err != nil {
			t.Fatalf("loaded store: %v", err)
		}
		if ia.Image.Manifest != ib.Image.Manifest || !bytes.Equal(ia.ConfigRaw, ib.ConfigRaw) || ia.Image.Size != ib.Image.Size {
			t.Errorf("%s: manifest %s → %s, size %d → %d", id, ia.Image.Manifest, ib.Image.Manifest, ia.Image.Size, ib.Image.Size)
		}
		for _, c := range ChainIDs(ib.Config.RootFS.DiffIDs) {
			if !b.Layers.Exists(c) {
				t.Errorf("%s: layer %s not unpacked", id, c)
			}
		}
	}
	names := strings.Join(slNames(t, b), "\n")
	for _, n := range []string{"docker.io/library/test:1=" + id1, "example.com/team/test:stable=" + id1,
		"docker.io/library/other:1=" + id2, "docker.io/library/legacy:2=" + lids[1]} {
		if !strings.Contains(names, n) {
			t.Errorf("names:\n%s\nlack %s", names, n)
		}
	}
	// Saving the loaded store again gives the same archive.
	if again := slSave(t, b, "test", "example.com/team/test:stable", "other:1", "legacy:2", lids[2]); !bytes.Equal(again, data) {
		t.Error("save → load → save changed the archive")
	}
	// Loading into the store the images came from changes nothing.
	out = slLoad(t, a, data)
	if got := slDescribe(out); got != want {
		t.Errorf("reload:\n%s\nwant\n%s", got, want)
	}
}

func TestLoadMovesNames(t *testing.T) {
	a := slOpen(t)
	newID := slImport(t, a, "test:1", "etc/a", "new")
	data := slSave(t, a, "test:1")

	b := slOpen(t)
	oldID := slImport(t, b, "test:1", "etc/a", "old")
	if err := b.Tag("test:1", "keep:1"); err != nil {
		t.Fatal(err)
	}
	out := slLoad(t, b, data)
	if got, want := slDescribe(out), newID+" test:1<-"+oldID; got != want {
		t.Errorf("loaded %s, want %s", got, want)
	}
	if id, _ := b.Resolve("test:1"); id != newID {
		t.Errorf("test:1 → %s, want %s", id, newID)
	}
	if id, _ := b.Resolve("keep:1"); id != oldID {
		t.Errorf("keep:1 → %s, want %s", id, oldID)
	}
	// Loading it again: the name is already there, nothing moves.
	if got, want := slDescribe(slLoad(t, b, data)), newID+" test:1"; got != want {
		t.Errorf("second load %s, want %s", got, want)
	}
}

// ---- OCI layouts ----

// slOCIImage adds the blobs of a one-layer image (gzip layer) to files and returns its manifest
// descriptor.
func slOCIImage(t testing.TB, files map[string][]byte, arch string, kv ...string) Descriptor {
	t.Helper()
	layer := slLayer(t, kv...)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer)
	zw.Close()
	put := func(b []byte) digest.Digest {
		d := digest.FromBytes(b)
		files["blobs/sha256/"+d.Encoded()] = b
		return d
	}
	cfg, _ := json.Marshal(Config{Architecture: arch, OS: "linux",
		RootFS: RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(layer)}}})
	m, _ := json.Marshal(Manifest{SchemaVersion: 2, MediaType: MediaTypeOCIManifest,
		Config: Descriptor{MediaType: MediaTypeOCIConfig, Digest: put(cfg), Size: int64(len(cfg))},
		Layers: []Descriptor{{MediaType: MediaTypeOCILayerGzip, Digest: put(gz.Bytes()), Size: int64(gz.Len())}}})
	return Descriptor{MediaType: MediaTypeOCIManifest, Digest: put(m), Size: int64(len(m))}
}

func slOCILayout(t testing.TB, files map[string][]byte, descs ...Descriptor) {
	t.Helper()
	files["oci-layout"] = []byte(`{"imageLayoutVersion":"1.0.0"}`)
	files["index.json"], _ = json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: descs})
}

func TestLoadOCIArchiveNestedIndex(t *testing.T) {
	files := map[string][]byte{}
	mine := slOCIImage(t, files, runtime.GOARCH, "etc/arch", runtime.GOARCH)
	mine.Platform = &Platform{OS: "linux", Architecture: runtime.GOARCH}
	otherArch := "s390x"
	if runtime.GOARCH == otherArch {
		otherArch = "arm64"
	}
	// The other platform's blobs are not in the archive, as after a single-platform pull.
	foreign := Descriptor{MediaType: MediaTypeOCIManifest, Digest: digest.FromString("absent"), Size: 10,
		Platform: &Platform{OS: "linux", Architecture: otherArch}}
	idx, _ := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: []Descriptor{foreign, mine}})
	idxDigest := digest.FromBytes(idx)
	files["blobs/sha256/"+idxDigest.Encoded()] = idx
	// An artifact beside the image is skipped.
	art, _ := json.Marshal(Manifest{SchemaVersion: 2, MediaType: MediaTypeOCIManifest,
		Config: Descriptor{MediaType: "application/vnd.example.config+json", Digest: digest.FromString("x"), Size: 1}})
	files["blobs/sha256/"+digest.FromBytes(art).Encoded()] = art
	slOCILayout(t, files,
		Descriptor{MediaType: MediaTypeOCIIndex, Digest: idxDigest, Size: int64(len(idx)),
			Annotations: map[string]string{annotationImageRef: "docker.io/library/nested:1", annotationRefName: "1"}},
		Descriptor{MediaType: MediaTypeOCIManifest, Digest: digest.FromBytes(art), Size: int64(len(art))},
		// A bare tag in ref.name names nothing; the same image again by another descriptor.
		Descriptor{MediaType: MediaTypeOCIManifest, Digest: mine.Digest, Size: mine.Size,
			Annotations: map[string]string{annotationRefName: "latest"}},
		Descriptor{MediaType: MediaTypeOCIManifest, Digest: mine.Digest, Size: mine.Size,
			Annotations: map[string]string{annotationRefName: "quay.io/x/nested:2"}},
	)
	s := slOpen(t)
	out := slLoad(t, s, slFilesToTar(t, files))
	if len(out) != 1 || len(out[0].Names) != 2 || out[0].Names[0].Name != "nested:1" || out[0].Names[1].Name != "quay.io/x/nested:2" {
		t.Fatalf("loaded %s", slDescribe(out))
	}
	img, err := s.Get(out[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if digest.Digest(img.Image.Manifest) != mine.Digest || img.Manifest.Layers[0].MediaType != MediaTypeOCILayerGzip {
		t.Errorf("manifest %s (%s), want the archive's %s", img.Image.Manifest, img.ManifestRaw, mine.Digest)
	}
}

func slSkopeo(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("skopeo", append([]string{"--insecure-policy"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
}

func TestLoadSkopeoArchives(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is not installed: cannot make skopeo's docker-archive and oci-archive")
	}
	files := map[string][]byte{}
	m := slOCIImage(t, files, runtime.GOARCH, "etc/hello", "from skopeo", "etc/two", "2")
	slOCILayout(t, files, m)
	dir := t.TempDir()
	for n, b := range files {
		p := filepath.Join(dir, "layout", n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		slWriteFile(t, p, b)
	}
	var manifest Manifest
	json.Unmarshal(files["blobs/sha256/"+m.Digest.Encoded()], &manifest)
	wantID := manifest.Config.Digest.String()
	src := "oci:" + filepath.Join(dir, "layout")

	cases := []struct {
		test, dest, name string
		sameManifest     bool
	}{
		{"docker-archive", "docker-archive:" + filepath.Join(dir, "d.tar") + ":skopeo/test:1", "skopeo/test:1", false},
		{"docker-archive-unnamed", "docker-archive:" + filepath.Join(dir, "d-noname.tar"), "", false},
		{"oci-archive", "oci-archive:" + filepath.Join(dir, "o.tar") + ":skopeo/test:2", "skopeo/test:2", true},
		{"oci-archive-unnamed", "oci-archive:" + filepath.Join(dir, "o-noname.tar"), "", true},
	}
	for _, c := range cases {
		t.Run(c.test, func(t *testing.T) {
			slSkopeo(t, "copy", "-q", src, c.dest)
			file := strings.SplitN(c.dest, ":", 3)[1]
			s := slOpen(t)
			out := slLoad(t, s, slReadFile(t, file))
			want := wantID
			if c.name != "" {
				want += " " + c.name
			}
			if got := slDescribe(out); got != want {
				t.Fatalf("loaded %s, want %s", got, want)
			}
			img, err := s.Get(wantID)
			if err != nil {
				t.Fatal(err)
			}
			if c.sameManifest && digest.Digest(img.Image.Manifest) != m.Digest {
				t.Errorf("manifest %s, want the archive's %s", img.Image.Manifest, m.Digest)
			}
			chains := ChainIDs(img.Config.RootFS.DiffIDs)
			if b, err := os.ReadFile(filepath.Join(s.Layers.Dir(chains[0]), "etc/hello")); err != nil || string(b) != "from skopeo" {
				t.Errorf("unpacked: %q %v", b, err)
			}
		})
	}
}

// ---- bad archives: an error, and nothing recorded ----

func TestLoadBadArchivesRecordNothing(t *testing.T) {
	src := slOpen(t)
	id := slImport(t, src, "test:1", "etc/a", "one")
	img, _ := src.Get(id)
	layerPath := "blobs/sha256/" + img.Manifest.Layers[0].Digest.Encoded()
	saved := slSave(t, src, "test:1")
	legacy, _, layers := slLegacyFixture(t)
	wrong := digest.FromString("not the layer")
	mismatch, _ := slLegacyArchive(t, slLegacyImage{tags: []string{"bad:1"}, layers: [][]byte{layers[0], layers[1]},
		v1IDs: []string{slV1ID("x"), slV1ID("y")}, diffIDs: []digest.Digest{digest.FromBytes(layers[0]), wrong}})

	cases := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"damaged layer", slRewrite(t, saved, func(e *slEntry) bool {
			if e.name == layerPath {
				e.body = append([]byte(nil), e.body...)
				e.body[len(e.body)-12] ^= 0xff
			}
			return true
		}), img.Manifest.Layers[0].Digest.Encoded()},
		// The same tar compressed differently: it unpacks fine, but it is not the blob named.
		{"layer blob not its digest", slRewrite(t, saved, func(e *slEntry) bool {
			if e.name == layerPath {
				var buf bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
				zw.Write(slLayer(t, "etc/a", "one"))
				zw.Close()
				e.body = buf.Bytes()
			}
			return true
		}), "mismatch for " + img.Manifest.Layers[0].Digest.String()},
		{"truncated layer", slRewrite(t, saved, func(e *slEntry) bool {
			if e.name == layerPath {
				e.body = e.body[:len(e.body)/2]
			}
			return true
		}), img.Manifest.Layers[0].Digest.Encoded()},
		{"missing layer", slRewrite(t, saved, func(e *slEntry) bool { return e.name != layerPath }),
			"layer " + layerPath + " not found"},
		{"missing legacy layer", slRewrite(t, legacy, func(e *slEntry) bool { return e.name != slV1ID("b")+"/layer.tar" }),
			"layer " + slV1ID("b") + "/layer.tar not found"},
		{"diff id mismatch", mismatch, "but the image config says " + wrong.String()},
		{"no manifest", slTar(t, []slEntry{{"hello.txt", []byte("hi")}}), "invalid archive: no manifest.json or index.json"},
		{"empty", nil, "invalid archive: no manifest.json or index.json"},
		{"not a tar", []byte(strings.Repeat("not a tar archive\n", 40)), "Error processing tar file"},
		{"bad manifest.json", slTar(t, []slEntry{{"manifest.json", []byte("{")}}), "invalid archive: manifest.json"},
		{"path escape", slRewrite(t, legacy, func(e *slEntry) bool {
			if e.name == "repositories" {
				e.name = "../repositories"
			}
			return true
		}), `entry "../repositories" is outside the archive`},
		{"absolute path", slRewrite(t, legacy, func(e *slEntry) bool {
			if e.name == "repositories" {
				e.name = "/tmp/repositories"
			}
			return true
		}), `entry "/tmp/repositories" is outside the archive`},
		{"symlink escape", slRewrite(t, saved, func(e *slEntry) bool {
			if e.name == "manifest.json" {
				e.body = []byte("-> ../../../../../etc/passwd")
			}
			return e.name != "index.json"
		}), `symlink "manifest.json" points outside the archive`},
		{"manifest blob corrupt", slRewrite(t, saved, func(e *slEntry) bool {
			if e.name == "blobs/sha256/"+digest.Digest(img.Image.Manifest).Encoded() {
				e.body = bytes.Replace(e.body, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":3`), 1)
			}
			return true
		}), "blob " + img.Image.Manifest + " is corrupt"},
		{"bad tag", slRewrite(t, legacy, func(e *slEntry) bool {
			if e.name == "manifest.json" {
				e.body = bytes.Replace(e.body, []byte(`"legacy:1"`), []byte(`"Legacy:1"`), 1)
			}
			return true
		}), `invalid tag "Legacy:1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := slOpen(t)
			out, err := s.Load(bytes.NewReader(c.archive), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			t.Log(err)
			if len(out) != 0 || slImageCount(t, s) != 0 || len(slNames(t, s)) != 0 {
				t.Errorf("a failed load recorded %v, names %v", out, slNames(t, s))
			}
			if ents, _ := os.ReadDir(s.Content.IngestDir()); len(ents) != 0 {
				t.Errorf("ingest dir not cleaned: %v", ents)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(s.Content.IngestDir()), "repositories")); !errors.Is(err, os.ErrNotExist) {
				t.Error("an escaping entry was written outside the archive")
			}
		})
	}
}

func TestLoadReusesStoredLayers(t *testing.T) {
	s := slOpen(t)
	legacy, ids, layers := slLegacyFixture(t)
	load := func(data []byte) (string, int, error) {
		var progress bytes.Buffer
		out, err := s.Load(bytes.NewReader(data), LoadOptions{Progress: &progress})
		return slDescribe(out), strings.Count(progress.String(), "Loading layer"), err
	}
	first, n, err := load(legacy)
	if err != nil || n != 4 {
		t.Fatalf("first load: %v, %d layers", err, n)
	}
	sizes := map[string]int64{}
	for _, id := range ids {
		img, _ := s.Get(id)
		sizes[id] = img.Image.Size
	}
	// Again: every layer is in the store, so none is unpacked again.
	again, n, err := load(legacy)
	if err != nil || n != 0 || again != first {
		t.Fatalf("reload: %v, %d layers unpacked, %s", err, n, again)
	}
	// And from berth's own archive, whose layers are compressed blobs.
	saved := slSave(t, s, "legacy:2")
	if _, n, err := load(saved); err != nil || n != 0 {
		t.Fatalf("reload of a saved archive: %v, %d layers unpacked", err, n)
	}
	for _, id := range ids {
		if img, err := s.Get(id); err != nil || img.Image.Size != sizes[id] {
			t.Errorf("%s: %v, size %d → %d", id, err, sizes[id], img.Image.Size)
		}
	}

	// An archive whose layer is not the one its config claims is still caught when the claimed
	// layer is in the store.
	evil, _ := slLegacyArchive(t, slLegacyImage{tags: []string{"legacy:1"},
		layers: [][]byte{layers[0], slLayer(t, "etc/top", "evil")}, v1IDs: []string{slV1ID("a"), slV1ID("b")},
		diffIDs: []digest.Digest{digest.FromBytes(layers[0]), digest.FromBytes(layers[1])}})
	if _, _, err := load(evil); err == nil || !strings.Contains(err.Error(), "but the image config says "+digest.FromBytes(layers[1]).String()) {
		t.Errorf("load of a lying archive: %v", err)
	}
	if id, _ := s.Resolve("legacy:1"); id != ids[0] {
		t.Errorf("legacy:1 → %s after a failed load, want %s", id, ids[0])
	}
}
