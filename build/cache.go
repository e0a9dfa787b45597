package build

import (
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// CacheRecord is one cached build step as `builder du` lists it.
type CacheRecord struct {
	metadata.CacheEntry
	Shared bool // its layer is also used by an image, so pruning the cache frees nothing of it
}

// CacheUsage lists the build cache, most recently used first.
func CacheUsage(s *image.Store) ([]CacheRecord, error) {
	var out []CacheRecord
	err := s.DB.View(func(tx *metadata.Tx) error {
		es, err := tx.CacheEntries()
		if err != nil {
			return err
		}
		used, err := tx.ImageLayers()
		if err != nil {
			return err
		}
		inImage := map[string]bool{}
		for _, cs := range used {
			for _, c := range cs {
				inImage[c] = true
			}
		}
		for _, e := range es {
			out = append(out, CacheRecord{CacheEntry: e, Shared: e.ChainID != "" && inImage[e.ChainID]})
		}
		return nil
	})
	return out, err
}

// PruneCache removes every cached step and then collects what no image needs any more. It
// returns the removed entries.
func PruneCache(s *image.Store) ([]CacheRecord, error) {
	recs, err := CacheUsage(s)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
	}
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteCache(keys...) }); err != nil {
		return nil, err
	}
	if _, _, err := s.GC(); err != nil {
		return recs, err
	}
	return recs, nil
}
