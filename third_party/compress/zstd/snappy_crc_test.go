package zstd

import (
	"bytes"
	"hash/crc32"
	"io"
	"math/rand"
	"testing"

	snappy "github.com/klauspost/compress/internal/snapref"
)

// berth: crcTable is built on first use instead of at init (third_party/compress/BERTH.md).
// These check that the checksum is the one upstream computed with its init-time table.
// (Upstream's own tests in this package need its testdata, which the copy leaves out.)

func TestLazySnappyCRCTable(t *testing.T) {
	// The CRC-32C check value: CRC-32C("123456789").
	if got := crc32.Update(0, crcTable(), []byte("123456789")); got != 0xe3069283 {
		t.Fatalf("CRC-32C check value: got %#x, want 0xe3069283", got)
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	rng := rand.New(rand.NewSource(2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n*n/3)
		rng.Read(b)
		c := crc32.Checksum(b, table)
		if got, want := snappyCRC(b), c>>15|c<<17+0xa282ead8; got != want {
			t.Fatalf("snappyCRC of %d bytes: got %#x, want %#x", len(b), got, want)
		}
	}
}

func TestSnappyConverterChecksums(t *testing.T) {
	// Random data, so the writer stores uncompressed chunks: the converter checks the checksum
	// of those (and not of compressed ones).
	data := make([]byte, 200<<10)
	rand.New(rand.NewSource(3)).Read(data)
	var framed bytes.Buffer
	w := snappy.NewBufferedWriter(&framed)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var conv SnappyConverter
	var out bytes.Buffer
	// Convert returns io.EOF at the clean end of its input.
	if _, err := conv.Convert(bytes.NewReader(framed.Bytes()), &out); err != io.EOF {
		t.Fatalf("convert: %v", err)
	}
	dec, err := NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(out.Bytes(), nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: err %v, equal %v", err, bytes.Equal(got, data))
	}
	// A flipped bit in the first chunk's checksum is caught (it follows the 10-byte stream
	// identifier and the 4-byte chunk header).
	bad := bytes.Clone(framed.Bytes())
	if bad[10] != chunkTypeUncompressedData {
		t.Fatalf("first chunk has type %#x, want uncompressed", bad[10])
	}
	bad[10+4] ^= 1
	var conv2 SnappyConverter
	if _, err := conv2.Convert(bytes.NewReader(bad), &bytes.Buffer{}); err != ErrSnappyCorrupt {
		t.Fatalf("flipped checksum: got %v, want ErrSnappyCorrupt", err)
	}
}
