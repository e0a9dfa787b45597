package image

import (
	"time"

	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/opencontainers/go-digest"
)

// AddNames points tags and repo digests (name@sha256:manifest, as a pull or push learns them) at
// an image already recorded, in one transaction.
func (s *Store) AddNames(id string, tags []reference.Tagged, digests []reference.Canonical) error {
	now := time.Now()
	return s.DB.Update(func(tx *metadata.Tx) error {
		if _, err := tx.Image(id); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.SetName(t.String(), id, metadata.KindTag, now); err != nil {
				return err
			}
		}
		for _, d := range digests {
			if _, err := tx.SetName(d.String(), id, metadata.KindDigest, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordedLayer returns the unpacked size of a layer when it is both recorded and unpacked (a
// layer directory a crashed writer left unrecorded does not count).
func (s *Store) RecordedLayer(chainID digest.Digest) (size int64, ok bool) {
	if !s.Layers.Exists(chainID) {
		return 0, false
	}
	err := s.DB.View(func(tx *metadata.Tx) error {
		l, err := tx.Layer(chainID.String())
		size = l.Size
		return err
	})
	return size, err == nil
}

// RepositoriesWithBlob returns the repositories (normalised names, without tag or digest) that
// name an image holding blob d: where a push may mount the blob from instead of uploading it.
func (s *Store) RepositoriesWithBlob(d digest.Digest) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	err := s.DB.View(func(tx *metadata.Tx) error {
		imgs, err := tx.Images()
		if err != nil {
			return err
		}
		for _, img := range imgs {
			blobs, err := tx.ImageBlobs(img.ID)
			if err != nil {
				return err
			}
			has := false
			for _, b := range blobs {
				if b == d.String() {
					has = true
					break
				}
			}
			if !has {
				continue
			}
			names, err := tx.NamesOf(img.ID)
			if err != nil {
				return err
			}
			for _, n := range names {
				r, err := reference.ParseStored(n.Name)
				if err != nil || seen[r.Name()] {
					continue
				}
				seen[r.Name()] = true
				out = append(out, r.Name())
			}
		}
		return nil
	})
	return out, err
}
