package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/berth-engine/berth/metadata"
	"github.com/opencontainers/go-digest"
)

// ---- helpers shared by the save and load tests (prefixed sl to keep clear of other tests) ----

// slOpen opens a fresh store; layer unpacking chowns files, so it needs root.
func slOpen(t testing.TB) *Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: layers are unpacked with their owners")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// slLayer builds a small rootfs tar: a directory and the given files (name, content, name, ...), in
// the order given so its digest is stable.
func slLayer(t testing.TB, kv ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: kv[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(kv[i+1]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(kv[i+1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func slImport(t testing.TB, s *Store, ref string, kv ...string) string {
	t.Helper()
	id, err := s.Import(bytes.NewReader(slLayer(t, kv...)), ImportOptions{Ref: ref})
	if err != nil {
		t.Fatalf("import %s: %v", ref, err)
	}
	return id
}

func slSave(t testing.TB, s *Store, refs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(&buf, refs); err != nil {
		t.Fatalf("save %v: %v", refs, err)
	}
	return buf.Bytes()
}

// slEntries reads a tar into name → content (symlinks as "-> target"), plus the names in order.
func slEntries(t testing.TB, data []byte) (map[string][]byte, []string) {
	t.Helper()
	out := map[string][]byte{}
	var order []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeSymlink {
			b = []byte("-> " + h.Linkname)
		}
		out[h.Name] = b
		order = append(order, h.Name)
	}
	return out, order
}

// slTar writes entries (in order) as a tar; an entry whose content starts with "-> " is a symlink.
type slEntry struct {
	name string
	body []byte
}

func slTar(t testing.TB, ents []slEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case bytes.HasPrefix(e.body, []byte("-> ")):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, string(e.body[3:]), 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// slRewrite copies a tar, letting edit change or drop (return false) each entry.
func slRewrite(t testing.TB, data []byte, edit func(e *slEntry) bool) []byte {
	t.Helper()
	m, order := slEntries(t, data)
	var ents []slEntry
	for _, n := range order {
		e := slEntry{n, m[n]}
		if edit(&e) {
			ents = append(ents, e)
		}
	}
	return slTar(t, ents)
}

// slNames lists every name in the store as "name=id".
func slNames(t testing.TB, s *Store) []string {
	t.Helper()
	var out []string
	err := s.DB.View(func(tx *metadata.Tx) error {
		ns, err := tx.Names()
		for _, n := range ns {
			out = append(out, n.Name+"="+n.ImageID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func slImageCount(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	err := s.DB.View(func(tx *metadata.Tx) error {
		imgs, err := tx.Images()
		n = len(imgs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func slReadFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func slWriteFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---- save ----

func TestSaveLayout(t *testing.T) {
	s := slOpen(t)
	id1 := slImport(t, s, "test:1", "etc/a", "one")
	if err := s.Tag("test:1", "localhost:5000/x/test:v2"); err != nil {
		t.Fatal(err)
	}
	id2 := slImport(t, s, "other:latest", "etc/b", "two")
	data := slSave(t, s, "test:1", "other", "localhost:5000/x/test:v2")

	// Deterministic.
	if again := slSave(t, s, "test:1", "other", "localhost:5000/x/test:v2"); !bytes.Equal(data, again) {
		t.Error("two saves of the same images differ")
	}
	files, order := slEntries(t, data)
	if !sort.StringsAreSorted(order) {
		t.Errorf("entries not sorted: %v", order)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", files["oci-layout"])
	}

	img1, err := s.Get(id1)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := s.Get(id2)
	if err != nil {
		t.Fatal(err)
	}
	// Blobs: each manifest, config and layer once, and whole.
	var blobs []string
	for n, b := range files {
		if strings.HasPrefix(n, "blobs/sha256/") && len(n) > len("blobs/sha256/") {
			blobs = append(blobs, n)
			if d := digest.FromBytes(b); d.Encoded() != strings.TrimPrefix(n, "blobs/sha256/") {
				t.Errorf("%s holds %s", n, d)
			}
		}
	}
	if len(blobs) != 6 {
		t.Errorf("blobs = %v, want 2 manifests + 2 configs + 2 layers", blobs)
	}

	var mf []manifestItem
	if err := json.Unmarshal(files["manifest.json"], &mf); err != nil {
		t.Fatal(err)
	}
	if len(mf) != 2 {
		t.Fatalf("manifest.json: %s", files["manifest.json"])
	}
	if mf[0].Config != "blobs/sha256/"+digest.Digest(id1).Encoded() ||
		strings.Join(mf[0].RepoTags, ",") != "test:1,localhost:5000/x/test:v2" ||
		len(mf[0].Layers) != 1 || mf[0].Layers[0] != "blobs/sha256/"+img1.Manifest.Layers[0].Digest.Encoded() {
		t.Errorf("manifest.json[0] = %+v", mf[0])
	}
	if strings.Join(mf[1].RepoTags, ",") != "other:latest" {
		t.Errorf("manifest.json[1] = %+v", mf[1])
	}

	var idx Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range idx.Manifests {
		got = append(got, d.Digest.String()+" "+d.Annotations[annotationImageRef]+" "+d.Annotations[annotationRefName])
	}
	want := []string{
		img1.Image.Manifest + " docker.io/library/test:1 1",
		img1.Image.Manifest + " localhost:5000/x/test:v2 v2",
		img2.Image.Manifest + " docker.io/library/other:latest latest",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("index.json manifests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var repos map[string]map[string]string
	if err := json.Unmarshal(files["repositories"], &repos); err != nil {
		t.Fatal(err)
	}
	if repos["test"]["1"] != img1.Manifest.Layers[0].Digest.Encoded() || repos["localhost:5000/x/test"]["v2"] == "" ||
		repos["other"]["latest"] == "" {
		t.Errorf("repositories = %s", files["repositories"])
	}
}

func TestSaveByIDHasNoNames(t *testing.T) {
	s := slOpen(t)
	id := slImport(t, s, "test:1", "etc/a", "one")
	files, _ := slEntries(t, slSave(t, s, digest.Digest(id).Encoded()[:12]))
	if !strings.Contains(string(files["manifest.json"]), `"RepoTags":null`) {
		t.Errorf("manifest.json = %s", files["manifest.json"])
	}
	if _, ok := files["repositories"]; ok {
		t.Error("an archive without names has a repositories file")
	}
	var idx Index
	json.Unmarshal(files["index.json"], &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Annotations != nil {
		t.Errorf("index.json = %s", files["index.json"])
	}

	// A name and the ID of the same image: one image, with the name (as docker save does).
	files, _ = slEntries(t, slSave(t, s, "test:1", id))
	var mf []manifestItem
	json.Unmarshal(files["manifest.json"], &mf)
	if len(mf) != 1 || strings.Join(mf[0].RepoTags, ",") != "test:1" {
		t.Errorf("manifest.json = %s", files["manifest.json"])
	}
}

func TestSaveRepositorySavesEveryTag(t *testing.T) {
	s := slOpen(t)
	slImport(t, s, "test:1", "etc/a", "one")
	slImport(t, s, "test:2", "etc/a", "two")
	slImport(t, s, "testing:1", "etc/a", "three")
	files, _ := slEntries(t, slSave(t, s, "test"))
	var mf []manifestItem
	json.Unmarshal(files["manifest.json"], &mf)
	var tags []string
	for _, m := range mf {
		tags = append(tags, m.RepoTags...)
	}
	if strings.Join(tags, ",") != "test:1,test:2" {
		t.Errorf("saved tags %v, want test:1,test:2", tags)
	}
}

func TestSaveUnknownWritesNothing(t *testing.T) {
	s := slOpen(t)
	slImport(t, s, "test:1", "etc/a", "one")
	for _, ref := range []string{"nosuch:1", "nosuch", "0123456789ab", "sha256:" + strings.Repeat("0", 64)} {
		var buf bytes.Buffer
		err := s.Save(&buf, []string{"test:1", ref})
		if !errors.Is(err, ErrNoSuchImage) || err.Error() != "No such image: "+ref {
			t.Errorf("save %s: err = %v", ref, err)
		}
		if buf.Len() != 0 {
			t.Errorf("save %s wrote %d bytes", ref, buf.Len())
		}
	}
}

func TestSaveFailsOnCorruptBlob(t *testing.T) {
	s := slOpen(t)
	id := slImport(t, s, "test:1", "etc/a", "one")
	img, _ := s.Get(id)
	p := s.Content.Path(img.Manifest.Layers[0].Digest)
	b := slReadFile(t, p)
	b[len(b)/2] ^= 0xff
	slWriteFile(t, p, b)
	if err := s.Save(io.Discard, []string{"test:1"}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("save of a corrupt blob: err = %v", err)
	}
}
