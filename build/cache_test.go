package build

import (
	"strings"
	"testing"

	"github.com/berth-engine/berth/metadata"
	"github.com/opencontainers/go-digest"
)

// cacheEntryFor returns the cache entry whose description starts with desc.
func cacheEntryFor(t *testing.T, s interface {
	View(func(*metadata.Tx) error) error
}, desc string) metadata.CacheEntry {
	t.Helper()
	var out metadata.CacheEntry
	err := s.View(func(tx *metadata.Tx) error {
		es, err := tx.CacheEntries()
		for _, e := range es {
			if strings.HasPrefix(e.Description, desc) {
				out = e
			}
		}
		return err
	})
	if err != nil || out.Key == "" {
		t.Fatalf("no cache entry %q: %v", desc, err)
	}
	return out
}

// A build killed after it recorded a new result for one step (a --no-cache build, whose RUN
// output differs each time) leaves the entries of the later steps standing on the old result. Those
// must be misses: reused, they made an image whose chain IDs name layers that were never unpacked
// (issue 12: the next build said CACHED and the image could not start).
func TestCacheHitMustStandOnTheSameParent(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile": "FROM base:1\nCOPY a /a\nCOPY b /b\n",
		"a":          "a", "b": "b",
	})
	mustBuild(t, s, Options{ContextDir: ctx, Tags: []string{"built:1"}})
	// Another result for "COPY a": the layer of a build that copied other bytes there.
	other := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\nCOPY c /a\n", "c": "other"})
	mustBuild(t, s, Options{ContextDir: other})
	first, second := cacheEntryFor(t, s.DB, "COPY a"), cacheEntryFor(t, s.DB, "COPY c")
	first.ChainID, first.DiffID, first.Blob, first.BlobSize, first.Size = second.ChainID, second.DiffID, second.Blob, second.BlobSize, second.Size
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.PutCache(first) }); err != nil {
		t.Fatal(err)
	}

	r := mustBuild(t, s, Options{ContextDir: ctx, Tags: []string{"built:1"}})
	if n := cachedCount(r.out); n != 1 {
		t.Errorf("%d steps CACHED, want 1 (COPY a; COPY b stands on another parent now)\n%s", n, r.out)
	}
	img, err := s.Get(r.res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range img.Layers {
		if !s.Layers.Exists(digest.Digest(c)) {
			t.Errorf("the image names layer %s, which is not unpacked", c)
		}
	}
	files, _ := layerFiles(t, s, r.res.ImageID, -1)
	if files["b"].data != "b" {
		t.Errorf("top layer: %v", files)
	}
}

// A cached step whose layer directory is gone is rebuilt, with a warning, not reported CACHED.
func TestCacheHitWithMissingLayerIsRebuilt(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\nCOPY a /a\n", "a": "a"})
	mustBuild(t, s, Options{ContextDir: ctx})
	e := cacheEntryFor(t, s.DB, "COPY a")
	if err := s.Layers.Remove(digest.Digest(e.ChainID)); err != nil {
		t.Fatal(err)
	}
	r := mustBuild(t, s, Options{ContextDir: ctx})
	if n := cachedCount(r.out); n != 0 || !strings.Contains(r.out, "WARNING: the cached result of this step is incomplete (layer "+e.ChainID) {
		t.Errorf("%d CACHED; want a rebuild with a warning:\n%s", n, r.out)
	}
	if !s.Layers.Exists(digest.Digest(e.ChainID)) {
		t.Error("the layer was not made again")
	}
}
