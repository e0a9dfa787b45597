package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// --env-file with bytes that are not UTF-8 is refused in Docker 20.10's words (recorded:
// "invalid env file (/tmp/bad.env): invalid utf8 bytes at line 2: [66 61 255 254 101 110 100]");
// berth took the file and its JSON record turned the bytes into U+FFFD without a word
// (issue 12 §5). -e gets the same care.
func TestEnvFileWithInvalidUTF8IsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.env")
	os.WriteFile(p, []byte("A=ok\nB=\xff\xfeend\n"), 0o644)
	_, err := readKVFile(p, true)
	want := "invalid env file (" + p + "): invalid utf8 bytes at line 2: [66 61 255 254 101 110 100]"
	if err == nil || err.Error() != want {
		t.Errorf("readKVFile = %v, want %q", err, want)
	}
	if _, err := envVar("X=\xff"); err == nil {
		t.Error("-e X=\\xff accepted")
	}
	good := filepath.Join(t.TempDir(), "good.env")
	os.WriteFile(good, []byte("A=ünïcode ✓\n"), 0o644)
	if vs, err := readKVFile(good, true); err != nil || len(vs) != 1 || vs[0] != "A=ünïcode ✓" {
		t.Errorf("valid UTF-8: %q %v", vs, err)
	}
}
