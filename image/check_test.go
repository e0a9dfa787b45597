package image

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/berth-engine/berth/metadata"
	"github.com/opencontainers/go-digest"
)

// filesUnder lists every path under root/dir, to prove nothing was removed.
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"blobs", "layers"} {
		filepath.Walk(filepath.Join(root, dir), func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				out = append(out, p)
			}
			return nil
		})
	}
	sort.Strings(out)
	return out
}

// A root holding images whose database is missing, empty or unreadable is refused, and nothing on
// disk changes; before, an empty database was made and `system prune -a` deleted every blob.
func TestOpenRefusesContentWithoutDatabase(t *testing.T) {
	damage := map[string]func(db string){
		"missing": func(db string) {
			for _, s := range []string{"", "-wal", "-shm"} {
				os.Remove(db + s)
			}
		},
		"empty": func(db string) {
			os.Remove(db + "-wal")
			os.WriteFile(db, nil, 0o644)
		},
		"unreadable": func(db string) {
			os.Remove(db + "-wal")
			os.WriteFile(db, []byte(strings.Repeat("not a database ", 500)), 0o644)
		},
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			s := openTest(t)
			mustImport(t, s, "keep:1", map[string]string{"a": "1"})
			root := s.Root
			s.Close()
			before := filesUnder(t, root)
			fn(filepath.Join(root, "state.db"))
			_, err := Open(root)
			var damaged *DamagedError
			if !errors.As(err, &damaged) {
				t.Fatalf("Open = %v, want a DamagedError", err)
			}
			msg := err.Error()
			for _, want := range []string{filepath.Join(root, "state.db"), "blobs/", "layers/", "system check --repair", "nothing has been removed"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
			if after := filesUnder(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// A brand-new root, and one whose only content is a fresh database, open silently.
func TestOpenNewRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "new")
	for i := 0; i < 2; i++ {
		s, err := Open(root)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		s.Close()
	}
}

// GC deletes only what the database knows to be garbage: content it has no word about (an
// older database restored, a file put there by hand) stays, and `system check` lists it.
func TestGCKeepsContentTheDatabaseDoesNotKnow(t *testing.T) {
	s := openTest(t)
	mustImport(t, s, "keep:1", map[string]string{"a": "1"})
	stranger := digest.FromString("a blob berth never recorded")
	os.WriteFile(s.Content.Path(stranger), []byte("a blob berth never recorded"), 0o644)
	strangeLayer := digest.FromString("a layer")
	os.MkdirAll(s.Layers.Dir(strangeLayer), 0o755)
	// A removed image is garbage the database knows about.
	gone := mustImport(t, s, "gone:1", map[string]string{"b": "2"})
	img, _ := s.Get(gone)
	if _, err := s.Remove("gone:1", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GC(); err != nil {
		t.Fatal(err)
	}
	if !s.Content.Has(stranger) || !s.Layers.Exists(strangeLayer) {
		t.Error("GC deleted content the database does not know")
	}
	if s.Content.Has(digest.Digest(img.Manifest.Layers[0].Digest)) {
		t.Error("GC kept the removed image's layer blob")
	}
	r, err := s.Check()
	if err != nil || !r.OK() {
		t.Fatalf("check: %+v %v", r, err)
	}
	if got := strings.Join(r.Unaccounted, "\n"); !strings.Contains(got, stranger.String()) || !strings.Contains(got, strangeLayer.String()) {
		t.Errorf("unaccounted: %v", r.Unaccounted)
	}
}

// --repair after the database is lost: images come back from their manifests (untagged, as the
// report says), a missing layer directory is unpacked again from its blob, nothing is deleted.
func TestRepairRebuildsFromBlobs(t *testing.T) {
	s := openTest(t)
	id := mustImport(t, s, "keep:1", map[string]string{"a": "1"})
	img, _ := s.Get(id)
	root := s.Root
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(root, "state.db") + suffix)
	}
	chain := digest.Digest(img.Layers[0])
	os.RemoveAll(filepath.Join(root, "layers", chain.Encoded()))

	s, moved, err := OpenForRepair(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if moved != "" {
		t.Errorf("moved %q aside, but there was nothing to move", moved)
	}
	r, err := s.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || len(r.Repaired) != 2 || !strings.Contains(strings.Join(r.Notes, " "), "without names") {
		t.Fatalf("repair: %+v", r)
	}
	got, err := s.Get(id)
	if err != nil || got.Image.Manifest != img.Image.Manifest {
		t.Fatalf("recovered image: %+v %v", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(s.Layers.Dir(chain), "a")); err != nil || string(b) != "1" {
		t.Errorf("layer not unpacked again: %q %v", b, err)
	}
	if _, err := s.Resolve("keep:1"); err == nil {
		t.Error("a tag came back from nowhere")
	}
}

// Errors from SQLite itself say what berth was doing and what to do.
func TestDatabaseErrorsAreExplained(t *testing.T) {
	s := openTest(t)
	err := s.DB.View(func(tx *metadata.Tx) error {
		_, err := tx.Candidates()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := filepath.Join(s.Root, "state.db")
	os.WriteFile(db, []byte(strings.Repeat("garbage!", 1000)), 0o644)
	_, err = metadata.OpenExisting(db)
	var me *metadata.Error
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "opening the state database "+db) || !strings.Contains(err.Error(), "--repair") {
		t.Errorf("OpenExisting of garbage: %v", err)
	}
}

// Repair reads every small blob as a possible manifest: whatever a damaged store holds must not
// make it panic, and what it accepts must name a valid config digest.
func FuzzParseImageManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`))
	f.Add([]byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("b", 64) + `"},"layers":[{"digest":"sha256:x"}]}`))
	f.Add([]byte(`{"manifests":[]}`))
	f.Add([]byte("\x1f\x8b"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, mt, ok := parseImageManifest(raw)
		if !ok {
			return
		}
		if m.Config.Digest.Validate() != nil || (mt != MediaTypeOCIManifest && mt != MediaTypeDockerManifest) {
			t.Fatalf("accepted %q: %+v %s", raw, m, mt)
		}
		for _, l := range m.Layers {
			if l.Digest.Validate() != nil {
				t.Fatalf("accepted a layer digest %q", l.Digest)
			}
		}
	})
}
