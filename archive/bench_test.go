//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// benchLayer builds a ~100 MB layer: 16 files of 4 MiB, 1200 of 32 KiB and
// 4000 of 1 KiB across 100 directories, plus symlinks and hard links.
func benchLayer(b *testing.B) []byte {
	b.Helper()
	rnd := rand.New(rand.NewSource(42))
	blob := make([]byte, 4<<20)
	rnd.Read(blob)
	var buf bytes.Buffer
	buf.Grow(110 << 20)
	tw := tar.NewWriter(&buf)
	write := func(h *tar.Header, data []byte) {
		h.ModTime = testTime
		if err := tw.WriteHeader(h); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	for d := 0; d < 100; d++ {
		write(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("usr/d%03d/", d), Mode: 0o755}, nil)
	}
	for i := 0; i < 16; i++ {
		write(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("usr/d%03d/big%d", i, i), Mode: 0o755, Size: 4 << 20}, blob)
	}
	for i := 0; i < 1200; i++ {
		off := rnd.Intn(len(blob) - 32<<10)
		write(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("usr/d%03d/mid%d", i%100, i), Mode: 0o644, Size: 32 << 10}, blob[off:off+32<<10])
	}
	for i := 0; i < 4000; i++ {
		off := rnd.Intn(len(blob) - 1024)
		name := fmt.Sprintf("usr/d%03d/small%d", i%100, i)
		write(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: 1024}, blob[off:off+1024])
		if i%20 == 0 {
			write(&tar.Header{Typeflag: tar.TypeSymlink, Name: name + ".sym", Linkname: fmt.Sprintf("small%d", i), Mode: 0o777}, nil)
			write(&tar.Header{Typeflag: tar.TypeLink, Name: name + ".lnk", Linkname: name, Mode: 0o644}, nil)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchApply(b *testing.B, data []byte, mode WhiteoutFormat, wrap func([]byte) *bytes.Reader) {
	base := b.TempDir()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(base, fmt.Sprint(i))
		if err := os.Mkdir(root, 0o755); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			os.RemoveAll(filepath.Join(base, fmt.Sprint(i-1)))
		}
		// Flush the previous iteration (writeback, journal, discards) so
		// that it is not billed to this one.
		unix.Sync()
		r := wrap(data)
		b.StartTimer()
		if _, err := Apply(root, r, ApplyOptions{Whiteout: mode}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply: go test -run='^$' -bench=BenchmarkApply -benchtime=10x ./archive/
func BenchmarkApply(b *testing.B) {
	data := benchLayer(b)
	b.Run("overlay", func(b *testing.B) { benchApply(b, data, WhiteoutOverlay, bytes.NewReader) })
	b.Run("apply", func(b *testing.B) { benchApply(b, data, WhiteoutApply, bytes.NewReader) })
}

// BenchmarkApplyGzip measures the import path DecompressStream + Apply;
// MB/s are of the uncompressed layer.
func BenchmarkApplyGzip(b *testing.B) {
	data := benchLayer(b)
	comp := compressGzip(b, data)
	base := b.TempDir()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(base, fmt.Sprint(i))
		os.Mkdir(root, 0o755)
		if i > 0 {
			os.RemoveAll(filepath.Join(base, fmt.Sprint(i-1)))
		}
		unix.Sync()
		b.StartTimer()
		rc, _, err := DecompressStream(bytes.NewReader(comp))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(root, rc, ApplyOptions{Whiteout: WhiteoutOverlay}); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
