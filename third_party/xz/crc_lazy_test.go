package xz

import (
	"bytes"
	"hash/crc64"
	"io"
	"testing"
)

// berth: crc64Table is built on first use instead of at init (third_party/xz/BERTH.md).
// These check that the CRC-64 checks are the ones upstream computed with its init-time table.

// foxCRC64 is `printf 'berth lazy crc64 table\n' | xz --check=crc64 -c` (xz-utils 5): its CRC-64
// check is the 8 bytes before the index (29 4c 09 72 90 42 b9 d2).
var foxCRC64 = []byte{
	0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, 0xe6, 0xd6, 0xb4, 0x46,
	0x02, 0x00, 0x21, 0x01, 0x16, 0x00, 0x00, 0x00, 0x74, 0x2f, 0xe5, 0xa3,
	0x01, 0x00, 0x16, 0x62, 0x65, 0x72, 0x74, 0x68, 0x20, 0x6c, 0x61, 0x7a,
	0x79, 0x20, 0x63, 0x72, 0x63, 0x36, 0x34, 0x20, 0x74, 0x61, 0x62, 0x6c,
	0x65, 0x0a, 0x00, 0x00, 0x29, 0x4c, 0x09, 0x72, 0x90, 0x42, 0xb9, 0xd2,
	0x00, 0x01, 0x2f, 0x17, 0x81, 0x08, 0x49, 0xb1, 0x1f, 0xb6, 0xf3, 0x7d,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x59, 0x5a,
}

const foxText = "berth lazy crc64 table\n"

func TestLazyCRC64Table(t *testing.T) {
	// The same table upstream made at init (crc64 hands out one shared table per polynomial,
	// so its fast path is kept), made once.
	if crc64Table() != crc64.MakeTable(crc64.ECMA) || crc64Table() != crc64Table() {
		t.Fatal("crc64Table is not crc64's ECMA table")
	}
	// The CRC-64/XZ check value: CRC-64("123456789").
	h := newCRC64()
	h.Write([]byte("123456789"))
	if got, want := h.Sum(nil), []byte{0xfa, 0x39, 0x19, 0xdf, 0xbb, 0xc9, 0x5d, 0x99}; !bytes.Equal(got, want) {
		t.Fatalf("CRC-64 check value: got % x, want % x", got, want)
	}
}

func TestCRC64Checks(t *testing.T) {
	// xz-utils' stream reads, and a flipped bit in its check is caught.
	r, err := NewReader(bytes.NewReader(foxCRC64))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || string(got) != foxText {
		t.Fatalf("read %q, %v", got, err)
	}
	bad := bytes.Clone(foxCRC64)
	bad[52] ^= 1
	if r, err := NewReader(bytes.NewReader(bad)); err == nil {
		if _, err := io.ReadAll(r); err == nil {
			t.Fatal("a flipped CRC-64 check was not caught")
		}
	}
	// What this package writes carries the same check for the same text.
	var buf bytes.Buffer
	w, err := WriterConfig{CheckSum: CRC64}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, foxText); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), foxCRC64[52:60]) {
		t.Fatalf("written stream % x lacks the check % x", buf.Bytes(), foxCRC64[52:60])
	}
}
