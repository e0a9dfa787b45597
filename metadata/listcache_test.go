package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fromRows is what Listing must return: the rows read directly, as before the cache, each
// image with the names pointing at it.
func fromRows(t *testing.T, db *DB) []Image {
	t.Helper()
	var images []Image
	if err := db.View(func(tx *Tx) error {
		names, err := tx.NameRefs()
		if err != nil {
			return err
		}
		if images, err = tx.ImageSummaries(len(names)); err != nil {
			return err
		}
		for i := range images {
			for _, n := range names {
				if n.ImageID == images[i].ID {
					images[i].Names = append(images[i].Names, n)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(images) == 0 {
		return nil
	}
	return images
}

func listing(t *testing.T, db *DB) []Image {
	t.Helper()
	var images []Image
	if err := db.View(func(tx *Tx) error {
		var err error
		images, err = tx.Listing()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(images) == 0 {
		return nil
	}
	return images
}

// checkListing compares Listing with the rows; cached says whether Listing must have answered
// from the cache file (made by an earlier call) rather than refreshed it.
func checkListing(t *testing.T, db *DB, what string, cached bool) {
	t.Helper()
	before, _ := os.ReadFile(db.listCachePath())
	images := listing(t, db)
	if want := fromRows(t, db); !reflect.DeepEqual(images, want) {
		t.Errorf("%s: listing %+v, rows say %+v", what, images, want)
	}
	after, err := os.ReadFile(db.listCachePath())
	if err != nil {
		t.Fatalf("%s: no cache file after a listing: %v", what, err)
	}
	if same := reflect.DeepEqual(before, after); same != cached {
		t.Errorf("%s: cache file reused = %v, want %v", what, same, cached)
	}
}

// Every kind of change to images or names makes the next listing read the rows again (the
// triggers replace listing_gen); a listing with no change in between is answered from the file.
func TestListingCacheFollowsEveryChange(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkListing(t, db, "empty store", false)
	checkListing(t, db, "empty store again", true)
	created := time.Unix(1700000000, 123456789)
	update := func(what string, fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Update(fn); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkListing(t, db, what, false)
		checkListing(t, db, what+", listed again", true)
	}
	update("put images", func(tx *Tx) error {
		for i, id := range []string{"sha256:a", "sha256:b", "sha256:c"} {
			img := Image{ID: id, Manifest: "m", MediaType: "t", Created: created.Add(time.Duration(i) * time.Hour), Size: int64(100 * i)}
			if id == "sha256:b" {
				img.Parent = "sha256:a"
				img.Labels = map[string]string{"k": "v", "é": "\x00"}
			}
			if err := tx.PutImage(img); err != nil {
				return err
			}
		}
		return nil
	})
	update("tag", func(tx *Tx) error {
		_, err := tx.SetName("docker.io/library/x:1", "sha256:a", KindTag, time.Now())
		return err
	})
	update("digest name", func(tx *Tx) error {
		_, err := tx.SetName("docker.io/library/x@sha256:0123", "sha256:a", KindDigest, time.Now())
		return err
	})
	update("retag to another image", func(tx *Tx) error {
		_, err := tx.SetName("docker.io/library/x:1", "sha256:b", KindTag, time.Now())
		return err
	})
	update("re-put an image (manifest only)", func(tx *Tx) error {
		return tx.PutImage(Image{ID: "sha256:c", Manifest: "m2", MediaType: "t2"})
	})
	update("untag", func(tx *Tx) error {
		_, err := tx.DeleteName("docker.io/library/x:1")
		return err
	})
	update("delete image", func(tx *Tx) error {
		return tx.DeleteImage("sha256:c")
	})
	// A write that touches neither table keeps the cache.
	if err := db.Update(func(tx *Tx) error {
		return tx.PutLayer(Layer{ChainID: "sha256:l", DiffID: "sha256:l", Size: 1})
	}); err != nil {
		t.Fatal(err)
	}
	checkListing(t, db, "after a layer write", true)
}

// A file that is torn, corrupt, from another database or from another program is a miss: the
// listing comes from the rows and the file is rewritten.
func TestListingCacheRejectsBadFiles(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *Tx) error {
		if err := tx.PutImage(Image{ID: "sha256:a", Manifest: "m", MediaType: "t", Created: time.Now(), Labels: map[string]string{"a": "b"}}); err != nil {
			return err
		}
		_, err := tx.SetName("docker.io/library/x:1", "sha256:a", KindTag, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	checkListing(t, db, "first", false)
	good, err := os.ReadFile(db.listCachePath())
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	otherGen := append([]byte(nil), good...)
	otherGen[len(listCacheMagic)] ^= 1
	// What version 1 wrote for the same listing: magic "berthlc1", the same body, CRC-32C.
	body := append([]byte("berthlc1"), good[len(listCacheMagic):len(good)-4]...)
	version1 := binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	// This version's magic with version 1's checksum.
	body = good[:len(good)-4]
	castagnoliSum := binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	for what, b := range map[string][]byte{
		"empty":         {},
		"magic only":    []byte(listCacheMagic),
		"torn":          good[:len(good)-5],
		"bit flipped":   flipped,
		"other gen":     otherGen,
		"trailing junk": append(append([]byte(nil), good...), 0),
		"not a listing": []byte("hello, this is not a listing file at all"),
		"version 1":     version1,
		"crc-32c":       castagnoliSum,
	} {
		if err := os.WriteFile(db.listCachePath(), b, 0o600); err != nil {
			t.Fatal(err)
		}
		checkListing(t, db, what, false)
		if got, _ := os.ReadFile(db.listCachePath()); !reflect.DeepEqual(got, good) {
			t.Errorf("%s: the file was not rewritten", what)
		}
	}
	// A cache that cannot be written (here: its name taken by a directory) only costs speed.
	os.Remove(db.listCachePath())
	if err := os.Mkdir(db.listCachePath(), 0o700); err != nil {
		t.Fatal(err)
	}
	if images, want := listing(t, db), fromRows(t, db); !reflect.DeepEqual(images, want) {
		t.Errorf("unwritable cache: listing %+v, rows %+v", images, want)
	}
	if m, _ := filepath.Glob(db.listCachePath() + ".*"); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestListingEncodingRoundTrip(t *testing.T) {
	images := []Image{
		{ID: "sha256:b", Created: time.Unix(0, 5), Size: 1 << 40, Parent: "sha256:a", rawLabels: `{"x":"y"}`, Labels: map[string]string{"x": "y"},
			Names: []Name{{Name: "docker.io/library/b:1", ImageID: "sha256:b", Kind: KindTag}}},
		{ID: "sha256:a", Size: -1, Names: []Name{
			{Name: "docker.io/library/a:1", ImageID: "sha256:a", Kind: KindTag},
			{Name: "docker.io/library/a@sha256:9", ImageID: "sha256:a", Kind: KindDigest},
		}},
		{ID: "sha256:c"},
	}
	b := encodeListing(-42, "seal", images)
	gen, seal, got, ok := decodeListing(b)
	if !ok || gen != -42 || seal != "seal" {
		t.Fatalf("decode: %v %d %q", ok, gen, seal)
	}
	if !reflect.DeepEqual(got, images) {
		t.Errorf("round trip: %+v, want %+v", got, images)
	}
}

// Names are grouped under their images, in name order; a name of an image not listed is left out.
func TestGroupNames(t *testing.T) {
	images := []Image{{ID: "b"}, {ID: "a"}, {ID: "c"}}
	groupNames(images, []Name{{Name: "1", ImageID: "a"}, {Name: "2", ImageID: "gone"}, {Name: "3", ImageID: "b"}, {Name: "4", ImageID: "a"}})
	want := []Image{{ID: "b", Names: []Name{{Name: "3", ImageID: "b"}}}, {ID: "a", Names: []Name{{Name: "1", ImageID: "a"}, {Name: "4", ImageID: "a"}}}, {ID: "c"}}
	if !reflect.DeepEqual(images, want) {
		t.Errorf("grouped %+v, want %+v", images, want)
	}
}

func FuzzDecodeListing(f *testing.F) {
	f.Add(encodeListing(7, "boot 1 2", []Image{{ID: "i", Parent: "p", rawLabels: `{"a":"b"}`, Names: []Name{{Name: "m", ImageID: "i", Kind: KindDigest}, {Name: "n", ImageID: "i", Kind: KindTag}}}, {ID: "j"}}))
	f.Add([]byte(listCacheMagic + "\x07\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x0f\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		gen, seal, images, ok := decodeListing(append([]byte(nil), b...))
		if !ok {
			return
		}
		// What decodes encodes back to a listing that decodes the same.
		gen2, seal2, again, ok := decodeListing(encodeListing(gen, seal, images))
		if !ok || gen2 != gen || seal2 != seal || !reflect.DeepEqual(again, images) {
			t.Fatalf("re-encoding changed the listing: %+v, then %+v", images, again)
		}
	})
}

// sealed is SealedListing over db's file, failing the test when it disagrees with the rows.
func sealed(t *testing.T, db *DB, what string) bool {
	t.Helper()
	images, ok := SealedListing(db.Path())
	if ok {
		if want := fromRows(t, db); len(images) > 0 || len(want) > 0 {
			if !reflect.DeepEqual(images, want) {
				t.Errorf("%s: sealed listing %+v, rows say %+v", what, images, want)
			}
		}
	}
	return ok
}

func tagImage(t *testing.T, db *DB, name string) {
	t.Helper()
	if err := db.Update(func(tx *Tx) error {
		if err := tx.PutImage(Image{ID: "sha256:a", Manifest: "m", MediaType: "t", Created: time.Unix(1700000000, 0)}); err != nil {
			return err
		}
		_, err := tx.SetName(name, "sha256:a", KindTag, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// The listing is read without the database only while no change to it has been committed since
// it was sealed (listcache.go's rules 1 and 2), and only for the same database file on the same
// boot (rule 3).
func TestSealedListing(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if sealed(t, db, "before any listing") {
		t.Error("sealed before any listing")
	}
	tagImage(t, db, "docker.io/library/x:1")
	listing(t, db)
	if !sealed(t, db, "after a listing") {
		t.Fatal("not sealed after a listing")
	}
	// Rule 1: a change removes the seal before it commits; a write to another table keeps it.
	if err := db.Update(func(tx *Tx) error {
		return tx.PutLayer(Layer{ChainID: "sha256:l", DiffID: "sha256:l", Size: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if !sealed(t, db, "after a layer write") {
		t.Error("a layer write removed the seal")
	}
	tagImage(t, db, "docker.io/library/x:2")
	if sealed(t, db, "after a tag") {
		t.Error("still sealed after a tag")
	}
	// A change that failed (rolled back) removes nothing that matters either way; the next
	// listing seals again.
	listing(t, db)
	if !sealed(t, db, "listed again") {
		t.Fatal("not sealed after the second listing")
	}

	// Rule 2: a listing whose rows a later commit changed before it could seal does not seal.
	tagImage(t, db, "docker.io/library/x:3")
	if err := db.View(func(tx *Tx) error {
		if _, err := tx.Listing(); err != nil {
			return err
		}
		tagImage(t, db, "docker.io/library/x:4") // commits while this snapshot is open
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if sealed(t, db, "listing overtaken by a tag") {
		t.Error("sealed a listing that a commit had overtaken")
	}
	// Nor while a writer holds the lock between its removal of the file and its commit.
	lock, err := os.OpenFile(listLockPath(db.Path()), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	listing(t, db)
	if sealed(t, db, "writer in the way") {
		t.Error("sealed while a writer held the lock")
	}
	lock.Close()
	listing(t, db)
	if !sealed(t, db, "writer gone") {
		t.Fatal("not sealed once the writer had gone")
	}

	// Rule 3: another file in the database's place, a WAL gone, a torn file: misses.
	good, err := os.ReadFile(db.listCachePath())
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	os.Chtimes(db.Path(), st.ModTime(), st.ModTime().Add(time.Second))
	if sealed(t, db, "database file touched") {
		t.Error("sealed across a change of the database file's time")
	}
	// A listing then finds the file current (listing_gen unchanged) and seals it again for the
	// database as it is now (as after a checkpoint, or in a copied root).
	listing(t, db)
	if !sealed(t, db, "listed after the touch") {
		t.Error("a current file sealed for another identity was not sealed again")
	}
	os.WriteFile(db.listCachePath(), good, 0o600)
	os.Chtimes(db.Path(), st.ModTime(), st.ModTime())
	if !sealed(t, db, "time put back") {
		t.Fatal("not sealed with the same identity")
	}
	wal, err := os.ReadFile(db.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	os.Rename(db.Path()+"-wal", db.Path()+"-wal.aside")
	if sealed(t, db, "WAL removed") {
		t.Error("sealed without its WAL")
	}
	os.WriteFile(db.Path()+"-wal", wal, 0o644) // the same bytes, another file
	if sealed(t, db, "WAL replaced") {
		t.Error("sealed with another WAL")
	}
	os.Remove(db.Path() + "-wal")
	os.Rename(db.Path()+"-wal.aside", db.Path()+"-wal")
	if !sealed(t, db, "WAL back") {
		t.Fatal("not sealed with its own WAL back")
	}
	os.WriteFile(db.listCachePath(), good[:len(good)-1], 0o600)
	if sealed(t, db, "torn") {
		t.Error("sealed a torn file")
	}
	os.WriteFile(db.listCachePath(), good, 0o600)
	os.Remove(db.Path())
	if sealed(t, db, "database removed") {
		t.Error("sealed without a database")
	}
}

// A writer that cannot remove the cache file does not commit a change to the listing: the file
// would be trusted without the database.
func TestUnsealFailureKeepsTheChangeOut(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tagImage(t, db, "docker.io/library/x:1")
	listing(t, db)
	// A directory in the cache's place, not empty, cannot be removed as a file.
	os.Remove(db.listCachePath())
	os.MkdirAll(filepath.Join(db.listCachePath(), "x"), 0o700)
	err = db.Update(func(tx *Tx) error {
		_, err := tx.SetName("docker.io/library/x:2", "sha256:a", KindTag, time.Now())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "image listing's cache") {
		t.Fatalf("Update = %v, want the cache's removal to fail it", err)
	}
	if err := db.View(func(tx *Tx) error {
		_, err := tx.ResolveName("docker.io/library/x:2")
		if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("the tag was committed: %v", err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}
