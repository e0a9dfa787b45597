package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
)

// cacheLabel is the label of an exported build cache's config that lists its steps. The cache
// travels as an ordinary image (the target's layers), so any registry stores it and a pull
// brings its layers into the store with the chain IDs the steps name.
const cacheLabel = "io.berth.build.cache.v1"

// cacheStep is one exported step. Layer and Parent index the image's layers (-1: none).
type cacheStep struct {
	Key         string    `json:"key"`
	Layer       int       `json:"layer"`
	Parent      int       `json:"parent"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
}

// exportCache pushes the steps that made st (mode=min) to ref: an image of st's layers whose
// config lists the steps' cache keys. The local name is removed afterwards; the layers stay,
// held by the built image and the cache.
func exportCache(ctx context.Context, s *image.Store, o Options, st *state, ref string) error {
	if o.PushCache == nil {
		return errors.New("no registry client to push the cache")
	}
	if err := putCacheImage(s, st, ref); err != nil {
		return err
	}
	defer s.Remove(ref, false)
	return o.PushCache(ctx, ref)
}

// putCacheImage records the cache of st as an image named ref: st's layers, and a config that
// lists the steps' cache keys.
func putCacheImage(s *image.Store, st *state, ref string) error {
	tag, err := reference.ParseTagged(ref)
	if err != nil {
		return err
	}
	list, err := cacheSteps(st)
	if err != nil {
		return err
	}
	created := time.Unix(0, 0).UTC()
	cfg := image.Config{Architecture: st.cfg.Architecture, OS: st.cfg.OS, Variant: st.cfg.Variant, Created: &created,
		Config: &image.ContainerConfig{Labels: map[string]string{cacheLabel: list}}}
	release, err := s.BeginWrite()
	if err != nil {
		return err
	}
	_, err = s.PutBuilt(st.builtImage(cfg, []reference.Tagged{tag}))
	release()
	return err
}

// cacheSteps lists the steps that made st (mode=min: those of its own layers), as the cache's
// JSON: each step's cache key and which of st's layers it made and started from.
func cacheSteps(st *state) (string, error) {
	index := map[string]int{}
	for i, l := range st.layers {
		index[l.chain.String()] = i
	}
	var steps []cacheStep
	for _, e := range st.steps {
		cs := cacheStep{Key: e.Key, Layer: -1, Parent: -1, Created: e.Created, Description: e.Description}
		if e.ChainID != "" {
			i, ok := index[e.ChainID]
			if !ok {
				continue
			}
			cs.Layer = i
		}
		if e.ParentChain != "" {
			i, ok := index[e.ParentChain]
			if !ok {
				continue
			}
			cs.Parent = i
		}
		steps = append(steps, cs)
	}
	list, err := json.Marshal(steps)
	return string(list), err
}

// importCache pulls an exported cache and records its steps in the local build cache, so that
// steps with the same keys are CACHED. The pulled name is removed; the cache keeps the layers.
func importCache(ctx context.Context, s *image.Store, o Options, ref string) error {
	if o.PullCache == nil {
		return errors.New("no registry client to pull the cache")
	}
	// An inline cache is an image the user may well have under that name: it stays then.
	_, had := s.Resolve(ref)
	id, err := o.PullCache(ctx, ref)
	if err != nil {
		return err
	}
	if had != nil {
		defer s.Remove(ref, false)
	}
	return recordCache(s, id, ref)
}

// recordCache records the steps of the cache image id (named ref) in the local build cache.
func recordCache(s *image.Store, id, ref string) error {
	img, err := s.Get(id)
	if err != nil {
		return err
	}
	var steps []cacheStep
	list := img.Config.BuildCache // inline, in a built image
	if img.Config.Config != nil && img.Config.Config.Labels[cacheLabel] != "" {
		list = img.Config.Config.Labels[cacheLabel] // a cache image
	}
	if list == "" {
		return fmt.Errorf("%s is not a build cache", ref)
	}
	if err := json.Unmarshal([]byte(list), &steps); err != nil {
		return fmt.Errorf("%s: bad cache list: %w", ref, err)
	}
	diffIDs := img.Config.RootFS.DiffIDs
	chains := image.ChainIDs(diffIDs)
	if len(chains) != len(img.Manifest.Layers) {
		return fmt.Errorf("%s: %d layers in the manifest, %d in the config", ref, len(img.Manifest.Layers), len(chains))
	}
	sizes := make([]int64, len(chains))
	for i, c := range chains {
		sizes[i], _ = s.RecordedLayer(c)
	}
	now := time.Now()
	return s.DB.Update(func(tx *metadata.Tx) error {
		for _, cs := range steps {
			if cs.Key == "" || cs.Layer >= len(chains) || cs.Parent >= len(chains) {
				continue
			}
			e := metadata.CacheEntry{Key: cs.Key, Created: cs.Created, LastUsed: now, Description: cs.Description}
			if cs.Parent >= 0 {
				e.ParentChain = chains[cs.Parent].String()
			}
			if cs.Layer >= 0 {
				l := img.Manifest.Layers[cs.Layer]
				size := sizes[cs.Layer]
				e.ChainID, e.DiffID, e.Blob, e.MediaType, e.BlobSize, e.Size = chains[cs.Layer].String(),
					diffIDs[cs.Layer].String(), l.Digest.String(), string(l.MediaType), l.Size, size
			}
			if _, err := tx.CacheLookup(cs.Key); err == nil {
				continue // this machine's own result of the step wins
			}
			if err := tx.PutCache(e); err != nil {
				return err
			}
		}
		return nil
	})
}
