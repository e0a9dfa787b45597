package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression identifies the compression of a layer stream.
type Compression int

const (
	// Uncompressed is a plain (tar) stream.
	Uncompressed Compression = iota
	// Gzip is RFC 1952 gzip (possibly multi-member).
	Gzip
	// Bzip2 is bzip2.
	Bzip2
	// Xz is xz (LZMA2).
	Xz
	// Zstd is Zstandard (RFC 8878), including skippable frames.
	Zstd
)

// String returns the conventional name of the compression: "uncompressed",
// "gzip", "bzip2", "xz" or "zstd".
func (c Compression) String() string {
	switch c {
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Bzip2:
		return "bzip2"
	case Xz:
		return "xz"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// peekSize is the bufio buffer DecompressStream puts in front of the source.
// It also serves as the read buffer of the decompressors.
const peekSize = 64 << 10

var (
	magicGzip  = []byte{0x1f, 0x8b, 0x08}
	magicBzip2 = []byte{'B', 'Z', 'h'}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// DetectCompression reports the compression of a stream from its first
// bytes. Anything it does not recognise is reported as Uncompressed.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return Gzip
	case bytes.HasPrefix(head, magicBzip2):
		return Bzip2
	case bytes.HasPrefix(head, magicXz):
		return Xz
	case bytes.HasPrefix(head, magicZstd):
		return Zstd
	case len(head) >= 4 && head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18:
		// Zstandard skippable frame, magic 0x184D2A5? little endian.
		return Zstd
	}
	return Uncompressed
}

// DecompressStream detects the compression of r from its magic bytes and
// returns a reader of the decompressed data together with the detected
// compression. A stream that is not recognised is returned as is
// (Uncompressed); whether it is a valid tar is for the tar reader to decide.
//
// Truncated or corrupt compressed data surfaces as an error from Read (for
// example io.ErrUnexpectedEOF), never as a silent early io.EOF. Closing the
// returned reader releases the decompressor; it does not close r.
func DecompressStream(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, peekSize)
	head, err := br.Peek(6)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, Uncompressed, fmt.Errorf("archive: reading stream header: %w", err)
	}
	c := DetectCompression(head)
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("archive: gzip: %w", err)
		}
		return zr, c, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), c, nil
	case Xz:
		xr, err := xz.NewReader(&xzTailGuard{r: br})
		if err != nil {
			return nil, c, fmt.Errorf("archive: xz: %w", err)
		}
		return io.NopCloser(xr), c, nil
	case Zstd:
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("archive: zstd: %w", err)
		}
		return &zstdReadCloser{zr}, c, nil
	}
	return io.NopCloser(br), Uncompressed, nil
}

type zstdReadCloser struct{ d *zstd.Decoder }

func (z *zstdReadCloser) Read(p []byte) (int, error) { return z.d.Read(p) }

func (z *zstdReadCloser) Close() error {
	z.d.Close()
	return nil
}

// xzTailGuard turns the io.EOF of an xz source into io.ErrUnexpectedEOF
// unless the data read so far ends with a complete xz stream footer
// (followed by stream padding: a multiple of four zero bytes).
//
// github.com/ulikunitz/xz reports a stream cut off at a block boundary
// (or inside a block header) as a clean io.EOF; with the guard the cut
// surfaces as an error instead.
type xzTailGuard struct {
	r     io.Reader
	tail  [12]byte // the last bytes before the trailing zero bytes
	ntail int      // how many bytes of tail are valid
	zeros int64    // zero bytes seen after tail
}

func (g *xzTailGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.observe(p[:n])
	if err == io.EOF && !g.endsWithFooter() {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (g *xzTailGuard) push(c byte) {
	copy(g.tail[:], g.tail[1:])
	g.tail[len(g.tail)-1] = c
	g.ntail = min(g.ntail+1, len(g.tail))
}

func (g *xzTailGuard) observe(b []byte) {
	last := len(b) - 1
	for last >= 0 && b[last] == 0 {
		last--
	}
	if last < 0 {
		g.zeros += int64(len(b))
		return
	}
	// The zeros were not padding after all.
	for i := int64(0); i < min(g.zeros, int64(len(g.tail))); i++ {
		g.push(0)
	}
	data := b[:last+1]
	if len(data) >= len(g.tail) {
		copy(g.tail[:], data[len(data)-len(g.tail):])
		g.ntail = len(g.tail)
	} else {
		for _, c := range data {
			g.push(c)
		}
	}
	g.zeros = int64(len(b) - 1 - last)
}

// endsWithFooter checks the last 12 bytes before the padding: CRC32 of the
// backward size and flags, the backward size, the flags and "YZ".
func (g *xzTailGuard) endsWithFooter() bool {
	if g.ntail < len(g.tail) || g.zeros%4 != 0 {
		return false
	}
	t := g.tail[:]
	return t[10] == 'Y' && t[11] == 'Z' && crc32.ChecksumIEEE(t[4:10]) == binary.LittleEndian.Uint32(t[0:4])
}
