//go:build linux

package archive

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// testPayload is a tar of compressible and incompressible data.
func testPayload(t testing.TB) []byte {
	rnd := make([]byte, 200<<10)
	rand.New(rand.NewSource(1)).Read(rnd)
	return mkTar(t,
		tDir("d/", 0o755),
		tFile("d/text", string(bytes.Repeat([]byte("hello layer "), 50000)), 0o644),
		tFile("d/random", string(rnd), 0o644),
	)
}

func compressGzip(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compressZstd(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compressXz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// compressCLI runs a compressor CLI (there is no bzip2 writer in Go).
func compressCLI(t testing.TB, data []byte, name string, args ...string) []byte {
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s CLI not installed: skipping the %s case", name, name)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

type codec struct {
	c        Compression
	compress func(testing.TB, []byte) []byte
}

var codecs = []codec{
	{Uncompressed, func(_ testing.TB, d []byte) []byte { return d }},
	{Gzip, compressGzip},
	{Zstd, compressZstd},
	{Xz, compressXz},
	{Bzip2, func(t testing.TB, d []byte) []byte { return compressCLI(t, d, "bzip2", "-c") }},
}

func TestDecompressStream(t *testing.T) {
	payload := testPayload(t)
	for _, cd := range codecs {
		t.Run(cd.c.String(), func(t *testing.T) {
			comp := cd.compress(t, payload)
			rc, c, err := DecompressStream(bytes.NewReader(comp))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if c != cd.c {
				t.Errorf("detected %v, want %v", c, cd.c)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("decompressed %d bytes differ from the %d byte payload", len(got), len(payload))
			}
			if err := rc.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestDecompressStreamCLI cross-checks with streams made by the CLIs.
func TestDecompressStreamCLI(t *testing.T) {
	payload := testPayload(t)
	for _, c := range []struct {
		want Compression
		cmd  string
		args []string
	}{
		{Gzip, "gzip", []string{"-c"}},
		{Xz, "xz", []string{"-c", "-T2"}},
		{Zstd, "zstd", []string{"-c", "-q", "--long=27"}},
	} {
		t.Run(c.cmd, func(t *testing.T) {
			comp := compressCLI(t, payload, c.cmd, c.args...)
			// Two concatenated streams must decode as one.
			comp = append(comp, comp...)
			rc, got, err := DecompressStream(bytes.NewReader(comp))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if got != c.want {
				t.Errorf("detected %v", got)
			}
			out, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, append(append([]byte{}, payload...), payload...)) {
				t.Errorf("output differs (%d bytes)", len(out))
			}
		})
	}
}

func TestDecompressStreamTruncated(t *testing.T) {
	payload := testPayload(t)
	for _, cd := range codecs[1:] {
		t.Run(cd.c.String(), func(t *testing.T) {
			comp := cd.compress(t, payload)
			for _, cut := range []int{len(comp) - 1, len(comp) - 4, len(comp) / 2, 20} {
				rc, _, err := DecompressStream(bytes.NewReader(comp[:cut]))
				if err == nil {
					_, err = io.ReadAll(rc)
					rc.Close()
				}
				if err == nil {
					t.Errorf("cut at %d of %d: no error", cut, len(comp))
				} else {
					t.Logf("cut at %d: %v", cut, err)
				}
			}
		})
	}
}

func TestDecompressStreamTruncatedGzip(t *testing.T) {
	comp := compressGzip(t, testPayload(t))
	rc, c, err := DecompressStream(bytes.NewReader(comp[:len(comp)-3]))
	if err != nil || c != Gzip {
		t.Fatal(c, err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
}

func TestDecompressStreamCorrupt(t *testing.T) {
	payload := testPayload(t)
	for _, cd := range codecs[1:] {
		t.Run(cd.c.String(), func(t *testing.T) {
			comp := bytes.Clone(cd.compress(t, payload))
			comp[len(comp)/2] ^= 0x55
			comp[len(comp)/2+1] ^= 0xaa
			rc, _, err := DecompressStream(bytes.NewReader(comp))
			if err == nil {
				var out []byte
				out, err = io.ReadAll(rc)
				rc.Close()
				if err == nil && bytes.Equal(out, payload) {
					t.Skip("corruption hit a byte that does not matter")
				}
			}
			if err == nil {
				t.Error("corrupt stream decoded without error")
			}
		})
	}
}

func TestDecompressStreamSmallInputs(t *testing.T) {
	for _, in := range [][]byte{nil, {0x1f}, {0x1f, 0x8b}, []byte("BZ"), []byte("hello")} {
		rc, c, err := DecompressStream(bytes.NewReader(in))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if c != Uncompressed {
			t.Errorf("%q: detected %v", in, c)
		}
		out, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("%q: read %q, %v", in, out, err)
		}
	}
}

func TestDetectCompression(t *testing.T) {
	for in, want := range map[string]Compression{
		"\x1f\x8b\x08\x00":         Gzip,
		"BZh91AY":                  Bzip2,
		"\xfd7zXZ\x00\x00":         Xz,
		"\x28\xb5\x2f\xfd":         Zstd,
		"\x50\x2a\x4d\x18\x00":     Zstd,
		"\x5f\x2a\x4d\x18\x00":     Zstd,
		"ustar\x00":                Uncompressed,
		"":                         Uncompressed,
		"\x1f\x8b\x07":             Uncompressed,
		"\xfd7zXZ":                 Uncompressed,
		"\x60\x2a\x4d\x18\x00\x00": Uncompressed,
	} {
		if got := DetectCompression([]byte(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
	for c, s := range map[Compression]string{Uncompressed: "uncompressed", Gzip: "gzip", Bzip2: "bzip2", Xz: "xz", Zstd: "zstd", 42: "Compression(42)"} {
		if c.String() != s {
			t.Errorf("%d.String() = %q", int(c), c.String())
		}
	}
}

// TestApplyCompressed runs the import path: DecompressStream into Apply.
func TestApplyCompressed(t *testing.T) {
	requireRoot(t)
	payload := testPayload(t)
	for _, cd := range codecs {
		t.Run(cd.c.String(), func(t *testing.T) {
			rc, _, err := DecompressStream(bytes.NewReader(cd.compress(t, payload)))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			n, err := Apply(t.TempDir(), rc, ApplyOptions{Whiteout: WhiteoutApply})
			if err != nil {
				t.Fatal(err)
			}
			if n != 600000+200<<10 {
				t.Errorf("size %d", n)
			}
		})
	}
}

// TestDecompressStreamXzTruncatedEverywhere cuts an xz stream at every
// offset: each cut must fail, and padding after the stream is accepted.
func TestDecompressStreamXzTruncatedEverywhere(t *testing.T) {
	payload := mkTar(t, tFile("a", "hello hello hello", 0o644))
	comp := compressXz(t, payload)
	for cut := len(magicXz); cut < len(comp); cut++ { // shorter cuts are not recognised as xz
		rc, _, err := DecompressStream(bytes.NewReader(comp[:cut]))
		if err == nil {
			var out []byte
			out, err = io.ReadAll(rc)
			if err == nil && cut > 0 {
				t.Errorf("cut at %d of %d: no error (%d bytes out)", cut, len(comp), len(out))
			}
		}
	}
	for _, pad := range []int{4, 8, 4096} {
		padded := append(bytes.Clone(comp), make([]byte, pad)...)
		rc, _, err := DecompressStream(bytes.NewReader(padded))
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(out, payload) {
			t.Errorf("padding %d: %v", pad, err)
		}
	}
	// Two streams, cut in the second one's first block header.
	two := append(bytes.Clone(comp), comp...)
	rc, _, _ := DecompressStream(bytes.NewReader(two[:len(comp)+14]))
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("cut in the second stream: no error")
	}
}

func TestDecompressStreamTruncatedEverywhere(t *testing.T) {
	payload := mkTar(t, tFile("a", "hello hello hello", 0o644), tFile("b", string(bytes.Repeat([]byte{1, 2, 3}, 3000)), 0o644))
	for _, cd := range codecs[1:] {
		t.Run(cd.c.String(), func(t *testing.T) {
			comp := cd.compress(t, payload)
			for cut := 6; cut < len(comp); cut++ {
				rc, _, err := DecompressStream(bytes.NewReader(comp[:cut]))
				if err == nil {
					_, err = io.ReadAll(rc)
					rc.Close()
				}
				if err == nil {
					t.Errorf("cut at %d of %d: no error", cut, len(comp))
				}
			}
		})
	}
}
