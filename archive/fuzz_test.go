//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"
)

// fuzzOutside is a directory at a fixed path, so that seed layers can aim
// absolute symlinks and hard links at it. Fuzz workers create it with two
// files; plain test runs (seed corpus only) leave it alone, so that they
// write nothing outside t.TempDir(). FuzzApply checks that its state (its
// content, or its absence) never changes. Each input is otherwise applied
// in its own temporary directory.
const fuzzOutside = "/tmp/berth-archive-fuzz-outside"

func isFuzzWorker() bool {
	fl := flag.Lookup("test.fuzzworker")
	return fl != nil && fl.Value.String() == "true"
}

func fuzzOutsideState(t testing.TB) string {
	if _, err := os.Lstat(fuzzOutside); os.IsNotExist(err) {
		return "absent"
	}
	return snapshot(t, fuzzOutside)
}

func setupFuzzOutside(f *testing.F) string {
	if !isFuzzWorker() {
		return fuzzOutsideState(f)
	}
	if err := os.MkdirAll(filepath.Join(fuzzOutside, "etc"), 0o755); err != nil {
		f.Fatal(err)
	}
	for n, c := range map[string]string{"passwd": "sentinel\n", "etc/passwd": "root:x:0:0\n"} {
		p := filepath.Join(fuzzOutside, n)
		if b, err := os.ReadFile(p); err != nil || string(b) != c {
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				f.Fatal(err)
			}
		}
	}
	return fuzzOutsideState(f)
}

// fuzzSeeds are the interesting layers that seed FuzzApply (and are
// committed as its corpus under testdata/fuzz/FuzzApply).
func fuzzSeeds(t testing.TB) map[string][]byte {
	o := fuzzOutside
	return map[string][]byte{
		"file":       mkTar(t, tFile("usr/bin/su", "su", 0o4755)),
		"links":      mkTar(t, tFile("f", "f", 0o644), tSymlink("s", "/bin/busybox"), tHardlink("h", "f")),
		"devices":    mkTar(t, ent{h: &tar.Header{Typeflag: tar.TypeChar, Name: "null", Mode: 0o666, Devmajor: 1, Devminor: 3}}, ent{h: &tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o644}}),
		"whiteout":   mkTar(t, tFile("a", "a", 0o644), tWhiteout("a")),
		"opaque":     mkTar(t, tDir("d/", 0o755), tOpaque("d"), tFile("d/y", "y", 0o644)),
		"meta":       mkTar(t, tFile(".wh..wh.plnk/1", "1", 0o644), tFile(".wh.", "", 0o644)),
		"dotdot":     mkTar(t, tFile("a/../../x", "x", 0o644)),
		"abs":        mkTar(t, tFile(o+"/passwd", "pwn", 0o644)),
		"sym-abs":    mkTar(t, tSymlink("l", o), tFile("l/passwd", "pwn", 0o644)),
		"sym-abs-wh": mkTar(t, tSymlink("l", o), tWhiteout("l/passwd"), tOpaque("l/etc")),
		"sym-rel":    mkTar(t, tSymlink("l", "../../../../../../.."+o), tFile("l/passwd", "pwn", 0o644)),
		"hard-rel":   mkTar(t, tHardlink("x", "../../../../../../.."+o+"/passwd")),
		"hard-sym":   mkTar(t, tSymlink("l", o), tHardlink("y", "l/passwd")),
		"hard-abs":   mkTar(t, tHardlink("z", o+"/passwd")),
		"replace":    mkTar(t, tDir("d/", 0o755), tSymlink("d", o), tFile("d/passwd", "pwn", 0o644)),
		"xattr": mkTar(t, ent{h: &tar.Header{Typeflag: tar.TypeReg, Name: "x", Mode: 0o644, Format: tar.FormatPAX,
			PAXRecords: map[string]string{"SCHILY.xattr.user.a": "1", "SCHILY.xattr.trusted.overlay.opaque": "y"}}}),
	}
}

// fuzzTooBig keeps the fuzzer away from layers that are merely slow: huge
// (sparse) sizes or very many entries.
func fuzzTooBig(data []byte) bool {
	tr := tar.NewReader(bytes.NewReader(data))
	var total int64
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err != nil {
			return false
		}
		total += hdr.Size
		if total > 16<<20 || i > 2000 || len(hdr.Name) > 2000 || strings.Count(hdr.Name, "/") > 100 {
			return true
		}
	}
}

func FuzzApply(f *testing.F) {
	requireRoot(f)
	want := setupFuzzOutside(f)
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	scratch := fuzzScratch(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = fixTarChecksums(data)
		if fuzzTooBig(data) {
			return
		}
		var base string
		if scratch == "" {
			base = t.TempDir()
		} else {
			var err error
			if base, err = os.MkdirTemp(scratch, "in"); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(base)
		}
		for _, mode := range []WhiteoutFormat{WhiteoutOverlay, WhiteoutApply} {
			root := filepath.Join(base, mode.String())
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err1 := Apply(root, bytes.NewReader(data), ApplyOptions{Whiteout: mode})
			// A second time over the first: the replace paths.
			_, err2 := Apply(root, bytes.NewReader(data), ApplyOptions{Whiteout: mode})
			if got := fuzzOutsideState(t); got != want {
				t.Fatalf("%v: %s changed (errors %v, %v):\n%s", mode, fuzzOutside, err1, err2, got)
			}
		}
		if got := listNames(t, base); got != "apply,overlay" {
			t.Fatalf("entries next to the roots: %s", got)
		}
	})
}

// fixTarChecksums returns a copy of data with the checksum of every tar
// header recomputed, so that the fuzzer's mutations of header fields reach
// Apply instead of failing the tar reader's checksum test.
func fixTarChecksums(data []byte) []byte {
	d := bytes.Clone(data)
	for off := 0; off+512 <= len(d); {
		blk := d[off : off+512]
		if bytes.Count(blk, []byte{0}) == 512 {
			off += 512
			continue
		}
		copy(blk[148:156], "        ")
		var sum int64
		for _, c := range blk {
			sum += int64(c)
		}
		copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
		var size int64
		if blk[124]&0x80 == 0 {
			for _, c := range blk[124:136] {
				if c >= '0' && c <= '7' {
					size = size*8 + int64(c-'0')
				}
			}
		}
		switch blk[156] {
		case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
			size = 0
		}
		if size < 0 || size > int64(len(d)) {
			break
		}
		off += 512 + int(size+511)/512*512
	}
	return d
}

// fuzzScratch returns a tmpfs mounted in f.TempDir() when this process is
// a fuzz worker, "" otherwise. File creation on the ext4 of the test VMs
// costs ~0.5 ms; on tmpfs a FuzzApply execution is ~15x faster, which the
// fuzzer's input minimisation needs.
func fuzzScratch(f *testing.F) string {
	if !isFuzzWorker() {
		return ""
	}
	dir := f.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=2g"); err != nil {
		return ""
	}
	f.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzApply from fuzzSeeds
// when BERTH_WRITE_FUZZ_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("BERTH_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set BERTH_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz/FuzzApply")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzApply")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range fuzzSeeds(t) {
		// Without the end-of-archive blocks (the reader accepts that) the
		// seeds are smaller for the mutator.
		data = bytes.TrimRight(data, "\x00")
		data = data[:min(len(data)+511, len(fuzzSeeds(t)[name]))/512*512]
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzDecompressStream(f *testing.F) {
	payload := mkTar(f, tFile("a", "hello hello hello hello", 0o644))
	f.Add(payload)
	f.Add([]byte{})
	f.Add(compressGzip(f, payload))
	f.Add(compressZstd(f, payload))
	f.Add(compressXz(f, payload))
	f.Add([]byte("BZh91AY&SY"))
	f.Add(compressGzip(f, payload)[:30])

	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	var gzBuf bytes.Buffer
	gzw := gzip.NewWriter(&gzBuf)
	xzConf := xz.WriterConfig{DictCap: 64 << 10}

	f.Fuzz(func(t *testing.T, data []byte) {
		// Arbitrary input: must not panic; plain input passes through.
		rc, c, err := DecompressStream(bytes.NewReader(data))
		if err == nil {
			out, _ := io.ReadAll(io.LimitReader(rc, 32<<20))
			rc.Close()
			if c == Uncompressed && !bytes.Equal(out, data) {
				t.Fatalf("uncompressed pass-through changed the data")
			}
		}

		// Round trips, and the same streams cut short by one byte.
		gzBuf.Reset()
		gzw.Reset(&gzBuf)
		gzw.Write(data)
		gzw.Close()
		var xzBuf bytes.Buffer
		xw, err := xzConf.NewWriter(&xzBuf)
		if err != nil {
			t.Fatal(err)
		}
		xw.Write(data)
		xw.Close()
		for _, comp := range [][]byte{gzBuf.Bytes(), zenc.EncodeAll(data, nil), xzBuf.Bytes()} {
			rc, _, err := DecompressStream(bytes.NewReader(comp))
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("round trip: %v", err)
			}
			rc, _, err = DecompressStream(bytes.NewReader(comp[:len(comp)-1]))
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if err == nil {
				t.Fatalf("stream cut by one byte decoded without error")
			}
		}
	})
}
