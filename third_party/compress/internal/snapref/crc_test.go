package snapref

import (
	"bytes"
	"hash/crc32"
	"io"
	"math/rand"
	"testing"
)

// berth: crcTable is built on first use instead of at init (third_party/compress/BERTH.md).
// These check that the checksum is the one upstream computed with its init-time table.

// maskedCastagnoli is section 3 of the framing format, over a table made here.
func maskedCastagnoli(b []byte) uint32 {
	c := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return uint32(c>>15|c<<17) + 0xa282ead8
}

func TestLazyCRCTable(t *testing.T) {
	// The CRC-32C check value (RFC 3720 B.4 and every CRC catalogue): CRC-32C("123456789").
	if got := crc32.Update(0, crcTable(), []byte("123456789")); got != 0xe3069283 {
		t.Fatalf("CRC-32C check value: got %#x, want 0xe3069283", got)
	}
	if crcTable() != crcTable() {
		t.Fatal("crcTable built twice")
	}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 300; n++ {
		b := make([]byte, n*n/3)
		rng.Read(b)
		if got, want := crc(b), maskedCastagnoli(b); got != want {
			t.Fatalf("crc of %d bytes: got %#x, want %#x", len(b), got, want)
		}
	}
}

func TestFramedChecksums(t *testing.T) {
	data := bytes.Repeat([]byte("berth lazy crc table "), 5000)
	var framed bytes.Buffer
	w := NewBufferedWriter(&framed)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Every chunk's stored checksum is the masked CRC-32C of its uncompressed data.
	b := framed.Bytes()[len(magicChunk):]
	off := 0
	for len(b) > 0 {
		typ, n := b[0], int(b[1])|int(b[2])<<8|int(b[3])<<16
		chunk := b[4 : 4+n]
		b = b[4+n:]
		var plain []byte
		switch typ {
		case chunkTypeCompressedData:
			var err error
			if plain, err = Decode(nil, chunk[checksumSize:]); err != nil {
				t.Fatal(err)
			}
		case chunkTypeUncompressedData:
			plain = chunk[checksumSize:]
		default:
			t.Fatalf("unexpected chunk type %#x", typ)
		}
		stored := uint32(chunk[0]) | uint32(chunk[1])<<8 | uint32(chunk[2])<<16 | uint32(chunk[3])<<24
		if want := maskedCastagnoli(plain); stored != want {
			t.Fatalf("chunk at %d: stored checksum %#x, want %#x", off, stored, want)
		}
		off += len(plain)
	}
	if off != len(data) {
		t.Fatalf("chunks hold %d bytes, want %d", off, len(data))
	}
	got, err := io.ReadAll(NewReader(bytes.NewReader(framed.Bytes())))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: err %v, equal %v", err, bytes.Equal(got, data))
	}
	// A flipped checksum bit is caught.
	bad := bytes.Clone(framed.Bytes())
	bad[len(magicChunk)+4] ^= 1
	if _, err := io.ReadAll(NewReader(bytes.NewReader(bad))); err != ErrCorrupt {
		t.Fatalf("flipped checksum: got %v, want ErrCorrupt", err)
	}
}
