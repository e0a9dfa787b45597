package build

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// PruneOptions choose what `builder prune` (and the automatic GC) removes from the build cache.
type PruneOptions struct {
	// All removes cached steps whose layers images use too; without it only the cache's own
	// (Docker's "dangling") records go, the ones whose removal frees space.
	All bool
	// KeepStorage stops pruning once the cache takes at most this many bytes (0: prune every
	// candidate), removing the least recently used first.
	KeepStorage int64
	// UnusedFor keeps records used within this long (Docker's until / unused-for filter).
	UnusedFor time.Duration
	// MountsOnly limits the pass to RUN cache mounts (BuildKit's exec.cachemount records).
	MountsOnly bool
}

// ParsePruneFilters reads `builder prune --filter` values with Docker 20.10's errors: until
// (or its older name unused-for) is a duration, given once.
func ParsePruneFilters(f format.Args) (time.Duration, error) {
	if err := f.Validate(map[string]bool{"until": true, "unused-for": true}); err != nil {
		return 0, err
	}
	until, unused := f.Get("until"), f.Get("unused-for")
	if len(until) > 0 && len(unused) > 0 {
		return 0, errors.New(`conflicting filters: "until" and "unused-for"`)
	}
	key := "until"
	if len(unused) > 0 {
		key, until = "unused-for", unused
	}
	switch len(until) {
	case 0:
		return 0, nil
	case 1:
		d, err := time.ParseDuration(until[0])
		if err != nil {
			return 0, fmt.Errorf("%q filter expects a duration (e.g., '24h'): %w", key, err)
		}
		return d, nil
	}
	return 0, errors.New("filters expect only one value")
}

// PruneCache removes every cached step and cache mount and then collects what no image needs
// any more. It returns the removed entries and the space reclaimed.
func PruneCache(s *image.Store) ([]CacheRecord, int64, error) {
	return PruneCacheWith(s, PruneOptions{All: true})
}

// PruneCacheWith removes the cache records o selects, least recently used first, and then
// collects the layers and blobs no image needs any more. A cache mount a running build holds
// stays. It returns the removed records and the space reclaimed: the cache mounts removed and
// what the collection freed (layers and blobs only the cache held; a layer an image uses stays).
func PruneCacheWith(s *image.Store, o PruneOptions) ([]CacheRecord, int64, error) {
	recs, err := CacheUsage(s)
	if err != nil {
		return nil, 0, err
	}
	// The cache's size against KeepStorage: its own records, and with All the ones shared
	// with images too (what `builder du` totals), which All may remove.
	counts := func(r CacheRecord) bool { return !r.Shared || o.All }
	var total int64
	for _, r := range recs {
		if counts(r) {
			total += r.Size
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].LastUsed.Before(recs[j].LastUsed) })
	cutoff := time.Now().Add(-o.UnusedFor)
	var keys []string
	var removed []CacheRecord
	var reclaimed int64
	for _, r := range recs {
		if o.KeepStorage > 0 && total <= o.KeepStorage {
			break
		}
		if r.Shared && !o.All || o.UnusedFor > 0 && r.LastUsed.After(cutoff) || o.MountsOnly && r.Mount == "" {
			continue
		}
		if r.Mount == "" {
			keys = append(keys, r.Key)
		} else if !removeCacheMount(r.Mount) {
			continue
		} else {
			reclaimed += r.Size
		}
		removed = append(removed, r)
		if counts(r) {
			total -= r.Size
		}
	}
	if len(removed) == 0 {
		return nil, 0, nil
	}
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteCache(keys...) }); err != nil {
		return nil, 0, err
	}
	st, err := s.Collect()
	return removed, reclaimed + st.Reclaimed, err
}

// removeCacheMount removes a RUN cache mount unless a running build holds its lock.
func removeCacheMount(dir string) bool {
	f, err := os.OpenFile(dir+".lock", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false
	}
	if os.RemoveAll(dir) != nil {
		return false
	}
	os.Remove(dir + ".lock")
	return true
}

// GCConfig is dockerd's builder.gc (daemon.json), read from berth's config file:
//
//	"builder": {"gc": {"enabled": true, "defaultKeepStorage": "10GB",
//	                   "policy": [{"keepStorage": "512MB", "filter": ["unused-for=48h"]},
//	                              {"keepStorage": "10GB", "all": true}]}}
//
// berth has no daemon to collect in the background: the policy runs after each build. Unlike
// dockerd 20.10, where it is off until enabled, it is on unless "enabled" is false, since
// berth has no other place to bound the cache.
type GCConfig struct {
	Enabled            *bool    `json:"enabled"`
	DefaultKeepStorage string   `json:"defaultKeepStorage"`
	Policy             []GCRule `json:"policy"`
}

// GCRule is one rule of builder.gc.policy: prune (All: shared records too) what the filter
// selects until the cache takes at most KeepStorage.
type GCRule struct {
	All         bool     `json:"all"`
	Filter      []string `json:"filter"`
	KeepStorage string   `json:"keepStorage"`
}

// Rules turns the config into prune passes, as dockerd does: with no policy, BuildKit's default
// one (Docker 20.10's DefaultGCPolicy) over a cap of defaultKeepStorage, or else a tenth of
// the disk under root rounded up to a whole GB.
func (c GCConfig) Rules(root string) ([]PruneOptions, error) {
	if c.Enabled != nil && !*c.Enabled {
		return nil, nil
	}
	var keep int64
	if c.DefaultKeepStorage != "" {
		n, err := units.RAMInBytes(c.DefaultKeepStorage)
		if err != nil {
			return nil, fmt.Errorf("could not parse '%s' as Builder.GC.DefaultKeepStorage config: %w", c.DefaultKeepStorage, err)
		}
		keep = n
	}
	if c.Policy == nil {
		if keep == 0 {
			keep = defaultGCCap(root)
		}
		temp := max(keep/10, 512e6)
		return []PruneOptions{
			// BuildKit's first rule prunes easily remade data (local context, cache mounts, git
			// checkouts) unused for 48 h while the cache is over a tenth of the cap; of those
			// berth keeps only cache mounts.
			{UnusedFor: 48 * time.Hour, KeepStorage: temp, MountsOnly: true},
			{UnusedFor: 60 * 24 * time.Hour, KeepStorage: keep},
			{KeepStorage: keep},
			{All: true, KeepStorage: keep},
		}, nil
	}
	var out []PruneOptions
	for _, p := range c.Policy {
		var n int64
		if p.KeepStorage != "" {
			var err error
			if n, err = units.RAMInBytes(p.KeepStorage); err != nil {
				return nil, err
			}
		}
		if n == 0 {
			n = keep
		}
		f, err := format.ParseFilters(p.Filter)
		if err != nil {
			return nil, err
		}
		d, err := ParsePruneFilters(f)
		if err != nil {
			return nil, err
		}
		out = append(out, PruneOptions{All: p.All, KeepStorage: n, UnusedFor: d})
	}
	return out, nil
}

// defaultGCCap is BuildKit's default cache cap: a tenth of the disk, rounded up to whole GB.
func defaultGCCap(root string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return 2e9
	}
	tenth := int64(st.Bsize) * int64(st.Blocks) / 10
	return (tenth/(1<<30) + 1) * 1e9
}

// CollectCache applies the GC rules one after another (the automatic limit after a build).
func CollectCache(s *image.Store, rules []PruneOptions) ([]CacheRecord, error) {
	var all []CacheRecord
	for _, r := range rules {
		if r.KeepStorage <= 0 {
			continue // a rule without a cap would empty the cache after every build
		}
		recs, _, err := PruneCacheWith(s, r)
		all = append(all, recs...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}
