package metadata

import (
	"path/filepath"
	"testing"
	"time"
)

// Version changes with every commit, this process's own (through the pool) and another
// process's (another DB on the same file), and stays when nothing was committed: what a cache
// revalidated by it relies on.
func TestVersionSeesEveryCommit(t *testing.T) {
	a, b := openTwice(t)
	version := func() Version {
		t.Helper()
		v, err := a.Version()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	put := func(db *DB, id string) {
		t.Helper()
		if err := db.Update(func(tx *Tx) error {
			return tx.PutContainer(Container{ID: id, Name: id, ImageID: "sha256:x", Created: time.Now(), Config: "{}"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	v0 := version()
	if v0 == (Version{}) {
		t.Fatal("a Version equal to the zero Version")
	}
	// Reads change nothing.
	if err := a.View(func(tx *Tx) error { _, err := tx.Containers(); return err }); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v0 {
		t.Fatalf("Version changed without a commit: %v then %v", v0, v)
	}
	put(a, "own") // this process's own commit
	v1 := version()
	if v1 == v0 {
		t.Fatal("Version unchanged after this DB's own commit")
	}
	put(b, "other") // another process's commit
	v2 := version()
	if v2 == v1 {
		t.Fatal("Version unchanged after another connection's commit")
	}
	if err := b.Update(func(tx *Tx) error { return tx.SetContainerConfig("other", "other", `{"a":1}`) }); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == v2 {
		t.Fatal("Version unchanged after another connection's update")
	}
	// A new asking connection never reproduces an old number.
	a.closeVersion()
	if v := version(); v == v2 || v == v1 || v == v0 {
		t.Fatalf("a new connection's Version %v equals an old one", v)
	}
}

// openTwice opens one new database file twice, as two berth processes would (each DB its own
// connections); both are closed when the test ends.
func openTwice(t *testing.T) (a, b *DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	for _, db := range []**DB{&a, &b} {
		d, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		*db = d
	}
	return a, b
}
