package build

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Remembered digests are used only while the file's stat data is unchanged: new content of the
// same size with the old mtime put back still changes ctime, so it is read again.
func TestSumCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	old := time.Now().Add(-time.Hour)
	os.WriteFile(p, []byte("aaaa"), 0o644)
	os.Chtimes(p, old, old)
	time.Sleep(10 * time.Millisecond)
	c := loadSums(filepath.Join(dir, "sums"))
	sum, err := c.digest(p, nil)
	if want := sha256.Sum256([]byte("aaaa")); err != nil || string(sum) != string(want[:]) {
		t.Fatalf("digest %x %v", sum, err)
	}
	// The ctime is fresh (just written): not remembered, so nothing is saved yet.
	c.save()
	if _, err := os.Stat(filepath.Join(dir, "sums")); err == nil {
		t.Error("a file changed within the last seconds was remembered")
	}
	// Pretend the file is old: remembered, saved, and reused from disk.
	k := statKey(t, p)
	k.Sum = sha256.Sum256([]byte("remembered"))
	c.used[p], c.dirty = k, true
	c.save()
	c2 := loadSums(filepath.Join(dir, "sums"))
	if sum, _ := c2.digest(p, nil); string(sum) != string(k.Sum[:]) {
		t.Error("the saved digest was not used for an unchanged file")
	}
	// Same size, mtime put back: the ctime differs, so the content is read.
	os.WriteFile(p, []byte("bbbb"), 0o644)
	os.Chtimes(p, old, old)
	if sum, _ := c2.digest(p, nil); string(sum) != string(func() []byte { s := sha256.Sum256([]byte("bbbb")); return s[:] }()) {
		t.Error("a changed file's remembered digest was used")
	}
}

func statKey(t *testing.T, p string) sumEntry {
	t.Helper()
	// The key the way digest makes it, without the recency rule.
	var e sumEntry
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	e.Dev, e.Ino, e.Size, e.Mtime, e.Ctime = uint64(st.Dev), st.Ino, st.Size, st.Mtim.Nano(), st.Ctim.Nano()
	return e
}
