package metadata

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
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
	b := encodeListing(-42, images)
	got, ok := decodeListing(b, -42)
	if !ok {
		t.Fatal("decode failed")
	}
	if !reflect.DeepEqual(got, images) {
		t.Errorf("round trip: %+v, want %+v", got, images)
	}
	if _, ok := decodeListing(b, 42); ok {
		t.Error("decoded with another gen")
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
	f.Add(encodeListing(7, []Image{{ID: "i", Parent: "p", rawLabels: `{"a":"b"}`, Names: []Name{{Name: "m", ImageID: "i", Kind: KindDigest}, {Name: "n", ImageID: "i", Kind: KindTag}}}, {ID: "j"}}), int64(7))
	f.Add([]byte(listCacheMagic+"\x07\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x0f\x00\x00\x00\x00"), int64(7))
	f.Fuzz(func(t *testing.T, b []byte, gen int64) {
		images, ok := decodeListing(append([]byte(nil), b...), gen)
		if !ok {
			return
		}
		// What decodes encodes back to a listing that decodes the same.
		again, ok := decodeListing(encodeListing(gen, images), gen)
		if !ok || !reflect.DeepEqual(again, images) {
			t.Fatalf("re-encoding changed the listing: %+v, then %+v", images, again)
		}
	})
}
