package metadata

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Several processes share state.db: each opens its own handle. Writers must queue (busy timeout,
// BEGIN IMMEDIATE) rather than fail, and readers must see whole transactions only.
func TestConcurrentHandlesQueueWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			db, err := Open(path)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("sha256:%02d%04d", w, i)
				err := db.Update(func(tx *Tx) error {
					if err := tx.PutImage(Image{ID: id, Manifest: "m", MediaType: "t", Created: time.Now(), Blobs: []string{"b" + id}}); err != nil {
						return err
					}
					_, err := tx.SetName(fmt.Sprintf("docker.io/library/r%d:t%d", w, i), id, KindTag, time.Now())
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	// A reader beside them: every image it sees has its name (one transaction each).
	done := make(chan struct{})
	go func() {
		defer close(done)
		db, err := Open(path)
		if err != nil {
			errs <- err
			return
		}
		defer db.Close()
		for i := 0; i < 50; i++ {
			err := db.View(func(tx *Tx) error {
				imgs, err := tx.Images()
				if err != nil {
					return err
				}
				names, err := tx.Names()
				if err != nil {
					return err
				}
				if len(imgs) != len(names) {
					return fmt.Errorf("saw %d images but %d names: a half transaction", len(imgs), len(names))
				}
				return nil
			})
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *Tx) error {
		imgs, _ := tx.Images()
		if len(imgs) != writers*each {
			t.Errorf("%d images recorded, want %d", len(imgs), writers*each)
		}
		return nil
	})
}

func TestUpdateRollsBackOnError(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := fmt.Errorf("boom")
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutImage(Image{ID: "sha256:1", Manifest: "m", MediaType: "t"}); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update = %v", err)
	}
	db.View(func(tx *Tx) error {
		if _, err := tx.Image("sha256:1"); err != ErrNotFound {
			t.Errorf("rolled-back image visible: %v", err)
		}
		return nil
	})
}

func TestNamesAndLayers(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *Tx) error {
		for _, id := range []string{"sha256:a", "sha256:b"} {
			if err := tx.PutImage(Image{ID: id, Manifest: "m" + id, MediaType: "t", Layers: []string{"sha256:l1"}, Blobs: []string{"m" + id}}); err != nil {
				return err
			}
		}
		if err := tx.PutLayer(Layer{ChainID: "sha256:l1", DiffID: "sha256:l1", Size: 5}); err != nil {
			return err
		}
		if err := tx.PutLayer(Layer{ChainID: "sha256:orphan", DiffID: "sha256:o", Size: 1}); err != nil {
			return err
		}
		prev, err := tx.SetName("docker.io/library/x:1", "sha256:a", KindTag, time.Now())
		if err != nil || prev != "" {
			return fmt.Errorf("first SetName: %q %v", prev, err)
		}
		prev, err = tx.SetName("docker.io/library/x:1", "sha256:b", KindTag, time.Now())
		if err != nil || prev != "sha256:a" {
			return fmt.Errorf("moving a name: %q %v", prev, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		if id, _ := tx.ResolveName("docker.io/library/x:1"); id != "sha256:b" {
			t.Errorf("name points at %q", id)
		}
		unused, _ := tx.UnusedLayers()
		if len(unused) != 1 || unused[0] != "sha256:orphan" {
			t.Errorf("unused layers %v", unused)
		}
		ids, _ := tx.ImageIDsWithPrefix("sha256:", 10)
		if len(ids) != 2 {
			t.Errorf("prefix search %v", ids)
		}
		if used, _ := tx.BlobInUse("msha256:a"); !used {
			t.Error("blob of image a not in use")
		}
		return nil
	})
}

// SQLite's own errors reach users with what berth was doing and what to do about it, never as
// a bare "no such table" (issue 12 §5).
func TestSQLiteErrorsAreExplained(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.db.Exec(`DROP TABLE image_layers; DROP TABLE image_blobs; DROP TABLE names; DROP TABLE images`); err != nil {
		t.Fatal(err)
	}
	err = d.View(func(tx *Tx) error {
		_, err := tx.Images()
		return err
	})
	var me *Error
	if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), "reading the state database "+path+": ") ||
		!strings.Contains(err.Error(), "no such table") || !strings.Contains(err.Error(), "system check --repair") {
		t.Errorf("error = %v", err)
	}
	// A record's own errors pass through untouched.
	if err := d.View(func(tx *Tx) error { return ErrNotFound }); err != ErrNotFound {
		t.Errorf("ErrNotFound became %v", err)
	}
}
