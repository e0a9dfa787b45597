package build

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/image"
	"github.com/opencontainers/go-digest"
)

func newStore(t testing.TB) *image.Store {
	t.Helper()
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// importBase imports a busybox-static rootfs as base:1 (like docker-reference.sh makes it).
func importBase(t testing.TB, s *image.Store) string {
	t.Helper()
	tarball := baseTar(t)
	id, err := s.Import(bytes.NewReader(tarball), image.ImportOptions{Ref: "base:1"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// baseTar is the rootfs importBase imports: /bin/busybox (busybox-static) with the links sh,
// wget and cat, /etc/passwd and /etc/group, the directories bin etc root tmp, every time 0.
// The Docker golden files (testdata/docker) were built FROM this very tar imported into Docker
// (see TestDockerRecordPrepare), so both builders start from the same base.
func baseTar(t testing.TB) []byte {
	t.Helper()
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		bb, err = os.ReadFile("/bin/busybox")
	}
	if err != nil {
		t.Skip("busybox-static not installed")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(0, 0)
	for _, d := range []string{"bin/", "etc/", "root/", "tmp/"} {
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb)), ModTime: mt})
	tw.Write(bb)
	for _, l := range []string{"sh", "wget", "cat"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox", ModTime: mt})
	}
	for _, f := range []struct{ name, data string }{
		{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.data)), ModTime: mt})
		tw.Write([]byte(f.data))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// copyTree copies a testdata context into a temporary directory the test may change.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	return copyTreeTo(t, src, t.TempDir(), false)
}

// copyTreeTo copies src into dst, keeping symlinks. With gitModes the modes are those a git
// checkout gives whatever the umask (directories 0755, files 0755 when executable, else 0644);
// else each file keeps its own (less the umask).
func copyTreeTo(t testing.TB, src, dst string, gitModes bool) string {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		switch {
		case gitModes && fi.IsDir():
			mode = 0o755
		case gitModes && fi.Mode()&0o100 != 0:
			mode = 0o755
		case gitModes:
			mode = 0o644
		}
		switch {
		case fi.IsDir():
			err = os.MkdirAll(target, mode)
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		default:
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			err = os.WriteFile(target, b, mode)
		}
		if err == nil && gitModes {
			err = os.Chmod(target, mode)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

type buildRun struct {
	res *Result
	err error
	out string
}

func runBuild(t testing.TB, s *image.Store, o Options) buildRun {
	t.Helper()
	var out bytes.Buffer
	o.Progress = &out
	res, err := Build(context.Background(), s, o)
	return buildRun{res: res, err: err, out: out.String()}
}

func mustBuild(t testing.TB, s *image.Store, o Options) buildRun {
	t.Helper()
	r := runBuild(t, s, o)
	if r.err != nil {
		t.Fatalf("build: %v\n%s", r.err, r.out)
	}
	return r
}

type tarFile struct {
	hdr  tar.Header
	data string
}

// layerFiles reads layer i of an image from its stored blob.
func layerFiles(t testing.TB, s *image.Store, id string, i int) (map[string]tarFile, []string) {
	t.Helper()
	img, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if i < 0 {
		i += len(img.Manifest.Layers)
	}
	f, err := s.Content.Open(img.Manifest.Layers[i].Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plain, _, err := archive.DecompressStream(f)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	tr := tar.NewReader(plain)
	out := map[string]tarFile{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = tarFile{hdr: *h, data: string(b)}
		order = append(order, h.Name)
	}
	return out, order
}

// emptyTarDiffID is the diff ID of a layer with no files (1024 zero bytes), the layer BuildKit
// gives a step that changed nothing.
const emptyTarDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

func cachedCount(out string) int { return strings.Count(out, " CACHED\n") }

func digestFrom(s string) digest.Digest { return digest.Digest(s) }
