package registry

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// age makes every file under the storage look written two hours ago.
func age(t *testing.T, root string) {
	t.Helper()
	old := time.Now().Add(-2 * time.Hour)
	filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil {
			os.Chtimes(p, old, old)
		}
		return nil
	})
}

func TestGC(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	root := s.cfg.Storage
	keep := randomImage(t, 512, 2, "")
	if err := remote.Write(ref(t, ts, "gc/app:keep"), keep); err != nil {
		t.Fatal(err)
	}
	untagged := randomImage(t, 512, 1, "")
	if err := remote.Write(ref(t, ts, "gc/app:tmp"), untagged); err != nil {
		t.Fatal(err)
	}
	expect(t, do(t, "DELETE", ts.URL+"/v2/gc/app/manifests/tmp", nil), 202, "")
	orphan := pushBlob(t, ts, "gc/app", []byte("nobody names me"))
	ud, _ := untagged.Digest()
	ul, _ := untagged.Layers()
	uld, _ := ul[0].Digest()

	// Fresh garbage is protected by the grace period.
	rep, err := GC(root, GCOptions{DeleteUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 0 || rep.Manifests != 0 {
		t.Fatalf("young garbage collected: %+v", rep)
	}
	age(t, root)
	rep, err = GC(root, GCOptions{DryRun: true, DeleteUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs == 0 || rep.Manifests != 1 || !exists(s.store.(*store).blobPath(orphan)) {
		t.Fatalf("dry run: %+v", rep)
	}
	// Without --delete-untagged the untagged manifest and its layers stay.
	rep, err = GC(root, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 1 || exists(s.store.(*store).blobPath(orphan)) || !exists(s.store.(*store).blobPath(digest.Digest(uld.String()))) {
		t.Fatalf("gc: %+v", rep)
	}
	expect(t, do(t, "HEAD", ts.URL+"/v2/gc/app/blobs/"+orphan.String(), nil), 404, "")
	expect(t, do(t, "GET", ts.URL+"/v2/gc/app/manifests/"+ud.String(), nil), 200, "")
	rep, err = GC(root, GCOptions{DeleteUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Manifests != 1 || rep.Blobs < 2 || exists(s.store.(*store).blobPath(digest.Digest(uld.String()))) {
		t.Fatalf("gc --delete-untagged: %+v", rep)
	}
	expect(t, do(t, "GET", ts.URL+"/v2/gc/app/manifests/"+ud.String(), nil), 404, "")
	kd, _ := keep.Digest()
	pullAndVerify(t, ref(t, ts, "gc/app:keep"), kd)
}

// TestGCWhileServing races collections against pushes that reuse exactly the blobs the collector
// finds unreferenced and old: after each round, everything acknowledged must still be pullable.
func TestGCWhileServing(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	root := s.cfg.Storage
	for round := range 8 {
		// Garbage that a client is about to reuse: blobs linked nowhere any manifest names, old.
		img := randomImage(t, 4096, 3, fmt.Sprintf("round %d", round))
		layers, _ := img.Layers()
		for _, l := range layers {
			if err := remote.WriteLayer(ref(t, ts, "race/seed").Context(), l); err != nil {
				t.Fatal(err)
			}
		}
		age(t, root)
		var wg sync.WaitGroup
		wg.Add(2)
		var gcErr error
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := GC(root, GCOptions{Grace: time.Second}); err != nil {
					gcErr = err
					return
				}
			}
		}()
		var pushErr error
		go func() {
			defer wg.Done()
			// Mount from seed (no upload) or upload again; either must leave a whole image.
			pushErr = remote.Write(ref(t, ts, fmt.Sprintf("race/app:%d", round)), img, remote.WithJobs(1))
		}()
		wg.Wait()
		if gcErr != nil {
			t.Fatal(gcErr)
		}
		if pushErr != nil {
			// A push may fail cleanly (a blob vanished under it); retrying must then succeed.
			if err := remote.Write(ref(t, ts, fmt.Sprintf("race/app:%d", round)), img); err != nil {
				t.Fatalf("round %d: push after gc: %v (first: %v)", round, err, pushErr)
			}
		}
		d, _ := img.Digest()
		pullAndVerify(t, ref(t, ts, fmt.Sprintf("race/app:%d", round)), d)
	}
	// A final collection keeps every acknowledged image whole.
	age(t, root)
	if _, err := GC(root, GCOptions{}); err != nil {
		t.Fatal(err)
	}
	for round := range 8 {
		img, err := remote.Image(ref(t, ts, fmt.Sprintf("race/app:%d", round)))
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			_, err = b.ReadFrom(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("round %d: layer lost to gc: %v", round, err)
			}
		}
	}
}

func TestGCExpiresUploads(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	r := do(t, "POST", ts.URL+"/v2/up/blobs/uploads/", nil)
	expect(t, r, 202, "")
	loc := ts.URL + r.Header.Get("Location")
	expect(t, do(t, "PATCH", loc, []byte("partial")), 202, "")
	if rep, _ := GC(s.cfg.Storage, GCOptions{}); rep.Uploads != 0 {
		t.Fatal("a live upload expired")
	}
	age(t, filepath.Join(s.cfg.Storage, "uploads"))
	if rep, _ := GC(s.cfg.Storage, GCOptions{UploadExpiry: time.Hour}); rep.Uploads != 1 {
		t.Fatalf("expired upload kept: %+v", rep)
	}
	expect(t, do(t, "PATCH", loc, []byte("more")), 404, "BLOB_UPLOAD_UNKNOWN")
}
