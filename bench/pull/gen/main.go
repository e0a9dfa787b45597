// Command gen writes the pull benchmark's image as an OCI image layout: 6 gzip layers, about
// 400 MB unpacked, mixing big files, medium files and many small ones, with content that
// compresses about as well as real binaries and text do (half random, half repetitive).
//
// With -shape files it writes issue 11's image instead, the one whose pull suffers when file
// creation is slow: 7 gzip layers, busybox's rootfs (-busybox TAR, else /usr/bin/busybox and its
// links), two layers of one 40 MB random file each, a copy of /usr/lib/python3.11, a copy of
// /usr/share/doc, a 60 MB highly compressible text file, and a small layer of a few config files.
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

type layerSpec struct {
	files   int
	minSize int
	maxSize int
}

// About 380 MB in 6 layers.
var specs = []layerSpec{
	{files: 5000, minSize: 1 << 10, maxSize: 15 << 10},  // ~40 MB of small files
	{files: 2, minSize: 60 << 20, maxSize: 60 << 20},    // 120 MB in two big files
	{files: 20000, minSize: 100, maxSize: 4 << 10},      // ~40 MB of tiny files
	{files: 1, minSize: 100 << 20, maxSize: 100 << 20},  // one 100 MB file
	{files: 500, minSize: 80 << 10, maxSize: 120 << 10}, // ~50 MB of medium files
	{files: 60, minSize: 100 << 10, maxSize: 900 << 10}, // ~30 MB mixed
}

func main() {
	out := flag.String("o", "bench-image", "OCI layout directory to write")
	shape := flag.String("shape", "mixed", "mixed (6 generated layers) or files (issue 11's 7 layers)")
	busybox := flag.String("busybox", "/var/tmp/docker-reference/busybox.tar", "busybox rootfs tar (-shape files)")
	flag.Parse()
	if *shape == "files" {
		if err := filesImage(*out, *busybox); err != nil {
			log.Fatal(err)
		}
		return
	}
	rng := rand.New(rand.NewSource(42))
	tmp, err := os.MkdirTemp("", "bench-layers-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	img := empty.Image
	var total int64
	for i, sp := range specs {
		path := filepath.Join(tmp, fmt.Sprintf("layer%d.tar.gz", i))
		n, err := writeLayer(path, i, sp, rng)
		if err != nil {
			log.Fatal(err)
		}
		total += n
		l, err := tarball.LayerFromFile(path)
		if err != nil {
			log.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			log.Fatal(err)
		}
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}
	p, err := layout.Write(*out, empty.Index)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s: %d layers, %.0f MB unpacked\n", *out, len(specs), float64(total)/1e6)
}

func writeLayer(path string, idx int, sp layerSpec, rng *rand.Rand) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	tw := tar.NewWriter(zw)
	var total int64
	buf := make([]byte, 1<<20)
	for i := 0; i < sp.files; i++ {
		if i%500 == 0 {
			dir := fmt.Sprintf("l%d/d%03d/", idx, i/500)
			if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return 0, err
			}
		}
		size := sp.minSize
		if sp.maxSize > sp.minSize {
			size += rng.Intn(sp.maxSize - sp.minSize)
		}
		name := fmt.Sprintf("l%d/d%03d/f%05d", idx, i/500, i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)}); err != nil {
			return 0, err
		}
		for left := size; left > 0; {
			n := min(left, len(buf))
			fill(buf[:n], rng)
			if _, err := tw.Write(buf[:n]); err != nil {
				return 0, err
			}
			left -= n
		}
		total += int64(size)
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return total, nil
}

// fill writes alternating 4 KiB runs of random bytes and of repeated text.
func fill(b []byte, rng *rand.Rand) {
	const text = "the quick brown fox jumps over the lazy dog; berth pulls layers in parallel. "
	for off := 0; off < len(b); off += 8192 {
		end := min(off+4096, len(b))
		rng.Read(b[off:end])
		for j := end; j < min(off+8192, len(b)); j++ {
			b[j] = text[j%len(text)]
		}
	}
}
