package image

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-engine/berth/events"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/opencontainers/go-digest"
)

// Tag points target (REPO[:TAG]) at the image source names, like `docker tag`.
func (s *Store) Tag(source, target string) error {
	t, err := reference.ParseTagged(target)
	if err != nil {
		return err
	}
	var tagged string
	err = s.DB.Update(func(tx *metadata.Tx) error {
		id, err := resolve(tx, source)
		if err != nil {
			if errors.Is(err, ErrNoSuchImage) {
				// Docker's daemon names the source with its default tag here.
				if n, perr := reference.Parse(source); perr == nil {
					return NotFoundError{reference.Familiar(reference.WithDefaultTag(n))}
				}
			}
			return err
		}
		_, err = tx.SetName(t.String(), id, metadata.KindTag, time.Now())
		if err == nil {
			tagged = id
		}
		return err
	})
	if err == nil {
		s.Event("tag", tagged, reference.Familiar(t))
	}
	return err
}

// DeleteResponse is one line of what rmi and prune did: a name untagged or an image or layer
// deleted (Docker's ImageDeleteResponseItem).
type DeleteResponse struct {
	Untagged string
	Deleted  string
}

// ConflictError is Docker's refusal to delete an image that is still needed.
type ConflictError struct{ Msg string }

func (e ConflictError) Error() string { return "conflict: " + e.Msg }

// Remove untags or deletes an image, with Docker's rmi semantics: a name only loses that name
// (the image goes when its last name does); an ID removes every name, which needs force when the
// names span several repositories; an image used by a container needs force.
func (s *Store) Remove(ref string, force bool) ([]DeleteResponse, error) {
	var out []DeleteResponse
	var removedID string
	var freed freedSet
	err := s.DB.Update(func(tx *metadata.Tx) error {
		out, freed = nil, freedSet{}
		id, err := resolve(tx, ref)
		if errors.Is(err, ErrNoSuchImage) {
			return NotFoundError{ref} // docker rmi echoes the argument
		}
		if err != nil {
			return err
		}
		removedID = id
		names, err := tx.NamesOf(id)
		if err != nil {
			return err
		}
		containers, err := tx.ContainersUsing(id)
		if err != nil {
			return err
		}
		byID := isIDRef(id, ref)
		if !byID {
			n, err := reference.Parse(ref)
			if err != nil {
				return err
			}
			name := reference.WithDefaultTag(n)
			if len(containers) > 0 && !force && len(names) == 1 {
				return ConflictError{fmt.Sprintf("unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
					ref, format.TruncateID(containers[0]), format.TruncateID(id))}
			}
			if _, err := tx.DeleteName(name.String()); err != nil {
				return err
			}
			out = append(out, DeleteResponse{Untagged: reference.Familiar(name)})
			rest, err := tx.NamesOf(id)
			if err != nil {
				return err
			}
			// The repository's digest names go with its last tag, whatever names other
			// repositories still give the image (Docker's rmi; checked against dockerd 20.10:
			// `rmi reg/a:1` of an image also pushed as reg/b:2 untags reg/a@sha256:... too).
			repo := n.Name()
			tagLeft := false
			for _, r := range rest {
				if p, err := reference.ParseStored(r.Name); err == nil && r.Kind == metadata.KindTag && p.Name() == repo {
					tagLeft = true
				}
			}
			if !tagLeft {
				kept := rest[:0:0]
				for _, r := range rest {
					if p, err := reference.ParseStored(r.Name); err == nil && r.Kind == metadata.KindDigest && p.Name() == repo {
						if _, err := tx.DeleteName(r.Name); err != nil {
							return err
						}
						out = append(out, DeleteResponse{Untagged: familiarStored(r.Name)})
						continue
					}
					kept = append(kept, r)
				}
				rest = kept
			}
			if len(rest) > 0 {
				return nil
			}
			if len(containers) > 0 {
				if !force {
					// Unforced, its last names gone (a tag and its digests): the image stays,
					// nameless, for its containers (Docker's quiet conflict).
					return nil
				}
				// Forced, its last name: Docker deletes the image too; containers of an older
				// berth (no layers recorded) keep it.
				older, err := tx.ContainersWithoutLayers(id)
				if err != nil || len(older) > 0 {
					return err
				}
			}
		} else {
			// A running container's image cannot go, forced or not (Docker's hard conflict,
			// checked before any name is touched).
			running, err := tx.RunningContainersUsing(id)
			if err != nil {
				return err
			}
			if len(running) > 0 {
				return ConflictError{fmt.Sprintf("unable to delete %s (cannot be forced) - image is being used by running container %s",
					format.TruncateID(id), format.TruncateID(running[0]))}
			}
			if len(names) > 1 && !force && !singleReference(names) {
				return ConflictError{fmt.Sprintf("unable to delete %s (must be forced) - image is referenced in multiple repositories", format.TruncateID(id))}
			}
			if len(containers) > 0 && !force {
				return ConflictError{fmt.Sprintf("unable to delete %s (must be forced) - image is being used by stopped container %s",
					format.TruncateID(id), format.TruncateID(containers[0]))}
			}
			for _, n := range names {
				if _, err := tx.DeleteName(n.Name); err != nil {
					return err
				}
				out = append(out, DeleteResponse{Untagged: familiarStored(n.Name)})
			}
			// Forced: Docker untags and deletes the image; its stopped containers keep the
			// layers they recorded. Containers of an older berth, which did not record them,
			// keep the image (nameless) instead.
			older, err := tx.ContainersWithoutLayers(id)
			if err != nil {
				return err
			}
			if len(older) > 0 {
				return nil
			}
		}
		deleted, err := deleteImage(tx, id, &freed)
		out = append(out, deleted...)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.release(freed)
	s.deleteEvents(out, removedID)
	return out, nil
}

func isIDRef(id, ref string) bool {
	if !reference.LooksLikeID(ref) {
		return false
	}
	return strings.HasPrefix(id, ref) || strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), ref)
}

// singleReference reports whether names amount to one reference: at most one tag, and digests
// only of that tag's repository (Docker's isSingleReference). Anything more needs -f to delete by ID.
func singleReference(names []metadata.Name) bool {
	tag := ""
	digestRepos := map[string]bool{}
	for _, n := range names {
		r, err := reference.ParseStored(n.Name)
		if err != nil {
			return false
		}
		if n.Kind == metadata.KindDigest {
			digestRepos[r.Name()] = true
			continue
		}
		if tag != "" {
			return false
		}
		tag = r.Name()
	}
	if tag == "" {
		return len(digestRepos) == 1
	}
	return len(digestRepos) == 1 && digestRepos[tag]
}

func familiarStored(name string) string { return reference.FamiliarStored(name) }

// freedSet is what a deletion left unreferenced: removed from the database in the deleting
// transaction, removed from disk afterwards by release.
type freedSet struct {
	layers []digest.Digest
	blobs  []digest.Digest
}

// deleteImage removes an image without names and the layers only it used.
func deleteImage(tx *metadata.Tx, id string, freed *freedSet) ([]DeleteResponse, error) {
	children, err := tx.Children(id)
	if err != nil {
		return nil, err
	}
	if len(children) > 0 {
		return nil, ConflictError{fmt.Sprintf("unable to delete %s (cannot be forced) - image has dependent child images", format.TruncateID(id))}
	}
	blobs, err := tx.ImageBlobs(id)
	if err != nil {
		return nil, err
	}
	img, err := tx.Image(id)
	if err != nil {
		return nil, err
	}
	if err := tx.DeleteImage(id); err != nil {
		return nil, err
	}
	out := []DeleteResponse{{Deleted: id}}
	for _, b := range blobs {
		used, err := tx.BlobInUse(b)
		if err != nil {
			return nil, err
		}
		if !used {
			freed.blobs = append(freed.blobs, digest.Digest(b))
		}
	}
	unused, err := tx.UnusedLayers()
	if err != nil {
		return nil, err
	}
	gone := map[string]bool{}
	for _, c := range unused {
		gone[c] = true
	}
	// Report this image's layers top first, as Docker does.
	for i := len(img.Layers) - 1; i >= 0; i-- {
		c := img.Layers[i]
		if gone[c] {
			out = append(out, DeleteResponse{Deleted: c})
		}
	}
	for _, c := range unused {
		if err := tx.DeleteLayer(c); err != nil {
			return nil, err
		}
		freed.layers = append(freed.layers, digest.Digest(c))
	}
	return out, nil
}

// release deletes freed files when no writer runs; otherwise they stay for the next GC (a writer
// may be about to reuse an identical layer it found on disk).
func (s *Store) release(freed freedSet) {
	if len(freed.layers) == 0 && len(freed.blobs) == 0 {
		return
	}
	f, err := s.lockFile()
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return
	}
	s.DB.View(func(tx *metadata.Tx) error {
		for _, c := range freed.layers {
			if _, err := tx.Layer(c.String()); errors.Is(err, metadata.ErrNotFound) {
				s.Layers.Remove(c)
			}
		}
		for _, b := range freed.blobs {
			if used, err := tx.BlobInUse(b.String()); err == nil && !used {
				s.Content.Delete(b)
			}
		}
		return nil
	})
}

// PruneOptions are `image prune` flags.
type PruneOptions struct {
	All     bool        // -a: every image without containers, not only dangling ones
	Filters format.Args // until, label, label!
}

var pruneFilters = map[string]bool{"until": true, "label": true, "label!": true}

// Prune deletes dangling images (all unused ones with All) and reports what it deleted and the
// space it reclaimed.
func (s *Store) Prune(opts PruneOptions) ([]DeleteResponse, int64, error) {
	f := opts.Filters
	if err := f.Validate(pruneFilters); err != nil {
		return nil, 0, err
	}
	var until time.Time
	if err := f.WalkValues("until", func(v string) error {
		t, err := ParseTimestamp(v, time.Now())
		until = t
		return err
	}); err != nil {
		return nil, 0, err
	}
	var out []DeleteResponse
	var reclaimed int64
	// pruned marks each image's lines in out, for its events.
	type pruned struct {
		id        string
		from, end int
	}
	var evs []pruned
	var freed freedSet
	err := s.DB.Update(func(tx *metadata.Tx) error {
		out, reclaimed, freed, evs = nil, 0, freedSet{}, nil
		layersBefore, err := tx.Layers()
		if err != nil {
			return err
		}
		images, err := tx.Images()
		if err != nil {
			return err
		}
		containers, err := tx.Containers()
		if err != nil {
			return err
		}
		used := map[string]bool{}
		for _, c := range containers {
			used[c.ImageID] = true
		}
		for _, img := range images {
			if used[img.ID] {
				continue
			}
			if !until.IsZero() && !img.Created.Before(until) {
				continue
			}
			if f.Contains("label") && !f.MatchKVList("label", img.Labels) {
				continue
			}
			if f.Contains("label!") && len(img.Labels) > 0 && f.MatchKVList("label!", img.Labels) {
				continue
			}
			names, err := tx.NamesOf(img.ID)
			if err != nil {
				return err
			}
			hasTag := false
			for _, n := range names {
				hasTag = hasTag || n.Kind == metadata.KindTag
			}
			if hasTag && !opts.All {
				continue
			}
			if children, err := tx.Children(img.ID); err != nil || len(children) > 0 {
				continue
			}
			sort.Slice(names, func(i, j int) bool { return names[i].Name < names[j].Name })
			from := len(out)
			for _, n := range names {
				if _, err := tx.DeleteName(n.Name); err != nil {
					return err
				}
				out = append(out, DeleteResponse{Untagged: familiarStored(n.Name)})
			}
			deleted, err := deleteImage(tx, img.ID, &freed)
			if err != nil {
				return err
			}
			out = append(out, deleted...)
			evs = append(evs, pruned{img.ID, from, len(out)})
		}
		for _, c := range freed.layers {
			reclaimed += layersBefore[c.String()].Size
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	s.release(freed)
	for _, e := range evs {
		s.deleteEvents(out[e.from:e.end], e.id)
	}
	events.Log(s.Root, events.TypeImage, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(reclaimed, 10)})
	return out, reclaimed, nil
}

// GC removes from disk the blobs and layers the database positively knows to be garbage: its
// garbage candidates (written before each blob or layer appears, and whenever a record stops
// referring to one) that no image and no build cache entry needs, plus the leftovers of
// interrupted writes (ingest files, staged layers). Content the database does not know at all is
// never deleted: it may be what a lost or older database no longer lists (`system check`
// reports it). GC holds the store's lock exclusively and the database open for the whole sweep.
func (s *Store) GC() (removedBlobs, removedLayers int, err error) {
	st, err := s.Collect()
	return st.Blobs, st.Layers, err
}

// GCStats is what a garbage collection removed.
type GCStats struct {
	Blobs, Layers int
	// Reclaimed is the unpacked size of the layers it found unused (those no image or cache
	// entry needs any more), the bytes Docker counts as reclaimed for them.
	Reclaimed int64
}

// Collect is GC, reporting what it removed and the space it reclaimed.
func (s *Store) Collect() (GCStats, error) {
	var st GCStats
	release, err := s.beginExclusive()
	if err != nil {
		return st, err
	}
	defer release()
	s.sweep()
	err = s.DB.Update(func(tx *metadata.Tx) error {
		st = GCStats{}
		layersBefore, err := tx.Layers()
		if err != nil {
			return err
		}
		unused, err := tx.UnusedLayers()
		if err != nil {
			return err
		}
		for _, c := range unused {
			if err := tx.DeleteLayer(c); err != nil {
				return err
			}
			if s.Layers.Exists(digest.Digest(c)) {
				st.Reclaimed += layersBefore[c].Size
			}
		}
		layers, err := tx.Layers()
		if err != nil {
			return err
		}
		used, err := tx.UsedBlobs()
		if err != nil {
			return err
		}
		cands, err := tx.Candidates()
		if err != nil {
			return err
		}
		for _, c := range cands {
			d := digest.Digest(c.ID)
			switch {
			case d.Validate() != nil:
			case c.Kind == metadata.CandidateLayer:
				if _, ok := layers[c.ID]; !ok && s.Layers.Exists(d) {
					if err := s.Layers.Remove(d); err != nil {
						return err
					}
					st.Layers++
				}
			case c.Kind == metadata.CandidateBlob:
				if !used[c.ID] && s.Content.Has(d) {
					if err := s.Content.Delete(d); err != nil {
						return err
					}
					st.Blobs++
				}
			}
			if err := tx.DeleteCandidate(c); err != nil {
				return err
			}
		}
		return nil
	})
	return st, err
}
