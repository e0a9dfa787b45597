package build

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/metadata"
)

// putEntries records cached steps of 100 bytes each, the i-th last used i+1 hours ago.
func putEntries(t *testing.T, s interface {
	Update(func(*metadata.Tx) error) error
}, n int, chain func(int) string) {
	t.Helper()
	now := time.Now()
	err := s.Update(func(tx *metadata.Tx) error {
		for i := 0; i < n; i++ {
			used := now.Add(-time.Duration(i+1) * time.Hour)
			if err := tx.PutCache(metadata.CacheEntry{Key: fmt.Sprintf("k%d", i), ChainID: chain(i), Size: 100, Created: used, LastUsed: used}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keys(t *testing.T, recs []CacheRecord) string {
	var out string
	for _, r := range recs {
		out += r.Key + " "
	}
	return out
}

func TestPruneCacheKeepStorageAndUnusedFor(t *testing.T) {
	s := newStore(t)
	putEntries(t, s.DB, 5, func(int) string { return "" })
	// Over 250 bytes: the least recently used go first until 200 are left.
	recs, _, err := PruneCacheWith(s, PruneOptions{KeepStorage: 250})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, recs); got != "k4 k3 k2 " {
		t.Errorf("--keep-storage 250 removed %q, want the three oldest", got)
	}
	// until=90m: what was used in the last 90 minutes stays.
	recs, _, err = PruneCacheWith(s, PruneOptions{UnusedFor: 90 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, recs); got != "k1 " {
		t.Errorf("until=90m removed %q, want k1", got)
	}
	left, _ := CacheUsage(s)
	if got := keys(t, left); got != "k0 " {
		t.Errorf("left %q", got)
	}
}

// Without -a, a step whose layer an image uses stays (removing it frees nothing).
func TestPruneCacheSharedNeedsAll(t *testing.T) {
	s := newStore(t)
	err := s.DB.Update(func(tx *metadata.Tx) error {
		if err := tx.PutLayer(metadata.Layer{ChainID: "sha256:c0", DiffID: "sha256:c0", Size: 100}); err != nil {
			return err
		}
		return tx.PutImage(metadata.Image{ID: "sha256:img", Manifest: "m", MediaType: "t", Created: time.Now(), Layers: []string{"sha256:c0"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	putEntries(t, s.DB, 2, func(i int) string {
		if i == 0 {
			return "sha256:c0"
		}
		return ""
	})
	recs, _, _ := PruneCacheWith(s, PruneOptions{})
	if got := keys(t, recs); got != "k1 " {
		t.Errorf("prune removed %q, want only the unshared k1", got)
	}
	recs, _, _ = PruneCacheWith(s, PruneOptions{All: true})
	if got := keys(t, recs); got != "k0 " {
		t.Errorf("prune -a removed %q, want k0", got)
	}
}

// Docker 20.10's errors, recorded with `docker builder prune -f --filter ...`.
func TestParsePruneFilters(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want time.Duration
		err  string
	}{
		{nil, 0, ""},
		{[]string{"until=24h"}, 24 * time.Hour, ""},
		{[]string{"unused-for=2h"}, 2 * time.Hour, ""},
		{[]string{"until=abc"}, 0, `"until" filter expects a duration (e.g., '24h'): time: invalid duration "abc"`},
		{[]string{"foo=bar"}, 0, "Invalid filter 'foo'"},
		{[]string{"until=1h", "unused-for=2h"}, 0, `conflicting filters: "until" and "unused-for"`},
		{[]string{"until=1h", "until=2h"}, 0, "filters expect only one value"},
	} {
		f, err := format.ParseFilters(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParsePruneFilters(f)
		if got := fmt.Sprint(err); tc.err != "" && got != tc.err || tc.err == "" && err != nil || d != tc.want {
			t.Errorf("%v: %v, %v; want %v, %q", tc.in, d, err, tc.want, tc.err)
		}
	}
}

func TestGCRules(t *testing.T) {
	off := false
	if r, err := (GCConfig{Enabled: &off}).Rules(t.TempDir()); err != nil || r != nil {
		t.Errorf("disabled: %v %v", r, err)
	}
	r, err := GCConfig{DefaultKeepStorage: "1GB"}.Rules(t.TempDir())
	if err != nil || len(r) != 4 {
		t.Fatalf("default policy: %v %v", r, err)
	}
	if r[0].KeepStorage != 512e6 || !r[0].MountsOnly || r[0].UnusedFor != 48*time.Hour ||
		r[1].KeepStorage != 1<<30 || r[1].UnusedFor != 60*24*time.Hour || r[2].All || !r[3].All {
		t.Errorf("default policy over 1GB: %+v", r)
	}
	r, _ = GCConfig{}.Rules(t.TempDir())
	if keep := r[3].KeepStorage; keep <= 0 || keep%1e9 != 0 {
		t.Errorf("default cap %d: want a tenth of the disk in whole GB", keep)
	}
	r, err = GCConfig{DefaultKeepStorage: "2GB", Policy: []GCRule{{KeepStorage: "10MB", Filter: []string{"unused-for=48h"}}, {All: true}}}.Rules(t.TempDir())
	if err != nil || len(r) != 2 || r[0].KeepStorage != 10<<20 || r[0].UnusedFor != 48*time.Hour || r[1].KeepStorage != 2<<30 || !r[1].All {
		t.Errorf("policy: %+v %v", r, err)
	}
	if _, err := (GCConfig{DefaultKeepStorage: "lots"}).Rules(t.TempDir()); err == nil ||
		err.Error() != "could not parse 'lots' as Builder.GC.DefaultKeepStorage config: invalid size: 'lots'" {
		t.Errorf("bad defaultKeepStorage: %v", err)
	}
}

// The automatic limit after a build: the cache is brought under the cap, oldest first.
func TestCollectCache(t *testing.T) {
	s := newStore(t)
	putEntries(t, s.DB, 10, func(int) string { return "" })
	rules, err := GCConfig{DefaultKeepStorage: "300"}.Rules(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CollectCache(s, rules); err != nil {
		t.Fatal(err)
	}
	left, _ := CacheUsage(s)
	if got := keys(t, left); got != "k0 k1 k2 " {
		t.Errorf("after GC over a 300-byte cap: %q", got)
	}
}
