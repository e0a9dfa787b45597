package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/berth-engine/berth/archive"
	"github.com/opencontainers/go-digest"
)

// `import` of a tar made with GNU tar -S stored its sparse entries (type 'S') in the layer blob,
// and `docker load` of berth's `save` then failed ("unhandled tar header type 83"). The blob
// must hold only the entry types Docker's archive package writes, the files expanded (issue 12 §5).
func TestImportExpandsSparseEntries(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("needs GNU tar (Debian: tar)")
	}
	s := openTest(t)
	src := t.TempDir()
	f, _ := os.Create(filepath.Join(src, "sparse"))
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("tail"), 3<<20)
	f.Close()
	os.WriteFile(filepath.Join(src, "plain"), []byte("plain"), 0o644)
	tarball := filepath.Join(t.TempDir(), "s.tar")
	if out, err := exec.Command("tar", "-S", "--format=gnu", "-cf", tarball, "-C", src, "sparse", "plain").CombinedOutput(); err != nil {
		t.Fatalf("tar -S: %v %s", err, out)
	}
	raw, _ := os.ReadFile(tarball)
	if !hasType(t, bytes.NewReader(raw), tar.TypeGNUSparse) {
		t.Fatal("tar -S made no sparse entry; the test proves nothing here")
	}
	id, err := s.Import(bytes.NewReader(raw), ImportOptions{Ref: "sparse:1"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := s.Content.Open(img.Manifest.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	plain, _, err := archive.DecompressStream(blob)
	if err != nil {
		t.Fatal(err)
	}
	diff := digest.SHA256.Digester()
	tr := tar.NewReader(io.TeeReader(plain, diff.Hash()))
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default:
			t.Errorf("%s: entry type %q in the layer blob", h.Name, h.Typeflag)
		}
		for k := range h.PAXRecords {
			if len(k) > 11 && k[:11] == "GNU.sparse." {
				t.Errorf("%s: PAX record %s in the layer blob", h.Name, k)
			}
		}
		b, _ := io.ReadAll(tr)
		seen[h.Name] = true
		if h.Name == "sparse" && (len(b) != 3<<20+4 || string(b[:4]) != "head" || string(b[3<<20:]) != "tail") {
			t.Errorf("sparse: %d bytes", len(b))
		}
	}
	if !seen["sparse"] || !seen["plain"] {
		t.Errorf("entries: %v", seen)
	}
	io.Copy(diff.Hash(), plain)
	if got := img.Config.RootFS.DiffIDs[0]; got != diff.Digest() {
		t.Errorf("diff ID %s, but the blob's tar hashes to %s", got, diff.Digest())
	}
	if b, err := os.ReadFile(filepath.Join(s.Layers.Dir(ChainIDs(img.Config.RootFS.DiffIDs)[0]), "sparse")); err != nil || len(b) != 3<<20+4 {
		t.Errorf("unpacked: %d %v", len(b), err)
	}
}

func hasType(t *testing.T, r io.Reader, typ byte) bool {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if h.Typeflag == typ {
			return true
		}
	}
}
