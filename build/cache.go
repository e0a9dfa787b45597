package build

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// CacheRecord is one cached build step as `builder du` lists it.
type CacheRecord struct {
	metadata.CacheEntry
	Shared bool // its layer is also used by an image, so pruning the cache frees nothing of it
	// Mount is the directory of a RUN --mount=type=cache (Key is its name, Description its id).
	Mount string
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
	if err != nil {
		return nil, err
	}
	mounts, err := cacheMounts(s)
	return append(out, mounts...), err
}

// cacheMounts lists the RUN --mount=type=cache directories.
func cacheMounts(s *image.Store) ([]CacheRecord, error) {
	base := filepath.Join(s.Root, cacheMountsDir)
	ents, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CacheRecord
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		r := CacheRecord{Mount: filepath.Join(base, e.Name())}
		r.Key = e.Name()
		lock := r.Mount + ".lock"
		if id, err := os.ReadFile(lock); err == nil {
			r.Description = "mount / from exec cache " + strings.TrimSpace(string(id))
		}
		if fi, err := os.Stat(lock); err == nil {
			r.LastUsed, r.Created = fi.ModTime(), fi.ModTime()
		}
		filepath.WalkDir(r.Mount, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					r.Size += fi.Size()
				}
			}
			return nil
		})
		out = append(out, r)
	}
	return out, nil
}

// PruneCache removes every cached step and then collects what no image needs any more. It
// returns the removed entries and the space reclaimed: the layers that only the cache held (a
// layer an image also uses stays) and the cache mounts.
func PruneCache(s *image.Store) ([]CacheRecord, int64, error) {
	recs, err := CacheUsage(s)
	if err != nil {
		return nil, 0, err
	}
	var reclaimed int64
	var keys []string
	var removed []CacheRecord
	for _, r := range recs {
		if r.Mount == "" {
			keys = append(keys, r.Key)
			removed = append(removed, r)
			continue
		}
		// A cache mount a running build holds (its lock) stays.
		f, err := os.OpenFile(r.Mount+".lock", os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			if err := os.RemoveAll(r.Mount); err == nil {
				os.Remove(r.Mount + ".lock")
				removed = append(removed, r)
				reclaimed += r.Size
			}
		}
		f.Close()
	}
	recs = removed
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteCache(keys...) }); err != nil {
		return nil, 0, err
	}
	st, err := s.Collect()
	return recs, reclaimed + st.Reclaimed, err
}
