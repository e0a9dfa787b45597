package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth-engine/berth/metadata"
	"github.com/opencontainers/go-digest"
)

// CheckReport is what `system check` found: the store's content against the database's records.
type CheckReport struct {
	// What the database records.
	Images, Layers, Blobs, CacheEntries, Containers int
	// What is on disk.
	BlobsOnDisk, LayersOnDisk, ContainersOnDisk int
	// Problems are records that point at content that is not there: what breaks a command.
	Problems []string
	// Unaccounted is content on disk the database does not know: kept (never collected),
	// listed so it can be adopted (--repair) or removed by hand.
	Unaccounted []string
	// Garbage counts blobs and layers GC will look at (system prune).
	Garbage int
	// Repaired is what Repair did, one line each; Notes are what it could not do.
	Repaired, Notes []string
}

// OK reports whether no record points at missing content.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

// Check compares what the store holds with what the database says. It changes nothing.
func (s *Store) Check() (CheckReport, error) {
	var r CheckReport
	bad, err := s.DB.QuickCheck()
	if err != nil {
		return r, err
	}
	for _, b := range bad {
		r.Problems = append(r.Problems, "the database is damaged: "+b)
	}
	err = s.DB.View(func(tx *metadata.Tx) error { return s.check(tx, &r) })
	return r, err
}

func (s *Store) check(tx *metadata.Tx, r *CheckReport) error {
	images, err := tx.Images()
	if err != nil {
		return err
	}
	layers, err := tx.Layers()
	if err != nil {
		return err
	}
	used, err := tx.UsedBlobs()
	if err != nil {
		return err
	}
	cache, err := tx.CacheEntries()
	if err != nil {
		return err
	}
	containers, err := tx.Containers()
	if err != nil {
		return err
	}
	cands, err := tx.Candidates()
	if err != nil {
		return err
	}
	r.Images, r.Layers, r.Blobs, r.CacheEntries, r.Containers = len(images), len(layers), len(used), len(cache), len(containers)
	candidate := map[string]bool{}
	for _, c := range cands {
		candidate[c.Kind+" "+c.ID] = true
	}
	for _, img := range images {
		for _, b := range img.Blobs {
			if !s.Content.Has(digest.Digest(b)) {
				r.Problems = append(r.Problems, fmt.Sprintf("image %s: blob %s is missing", img.ID, b))
			}
		}
		for _, c := range img.Layers {
			if !s.Layers.Exists(digest.Digest(c)) {
				r.Problems = append(r.Problems, fmt.Sprintf("image %s: layer %s is not unpacked (layers/%s/diff is missing)", img.ID, c, digest.Digest(c).Encoded()))
			}
		}
	}
	inImage := map[string]bool{}
	for _, img := range images {
		for _, c := range img.Layers {
			inImage[c] = true
		}
	}
	for c := range layers {
		if !inImage[c] && !s.Layers.Exists(digest.Digest(c)) {
			r.Problems = append(r.Problems, fmt.Sprintf("layer %s is recorded but layers/%s/diff is missing", c, digest.Digest(c).Encoded()))
		}
	}
	for _, e := range cache {
		if e.ChainID != "" && (!s.Layers.Exists(digest.Digest(e.ChainID)) || !s.Content.Has(digest.Digest(e.Blob))) {
			r.Problems = append(r.Problems, fmt.Sprintf("build cache entry %s (%s): its layer %s or blob %s is missing (the step is rebuilt when next used)",
				shortKey(e.Key), e.Description, e.ChainID, e.Blob))
		}
	}
	if err := s.Content.Walk(func(d digest.Digest, _ int64) error {
		r.BlobsOnDisk++
		if !used[d.String()] && !candidate[metadata.CandidateBlob+" "+d.String()] {
			r.Unaccounted = append(r.Unaccounted, "blob "+d.String())
		}
		return nil
	}); err != nil {
		return err
	}
	onDisk, err := s.Layers.List()
	if err != nil {
		return err
	}
	for _, c := range onDisk {
		r.LayersOnDisk++
		if _, ok := layers[c.String()]; !ok && !candidate[metadata.CandidateLayer+" "+c.String()] {
			r.Unaccounted = append(r.Unaccounted, "layer "+c.String())
		}
	}
	known := map[string]bool{}
	for _, c := range containers {
		known[c.ID] = true
		if _, err := os.Stat(filepath.Join(s.Root, "containers", c.ID)); errors.Is(err, fs.ErrNotExist) {
			r.Problems = append(r.Problems, fmt.Sprintf("container %s (%s): its directory containers/%s is missing", shortKey(c.ID), c.Name, c.ID))
		}
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root, "containers"))
	for _, e := range ents {
		// build-<id>: a RUN step's network state, which its build owns.
		if !e.IsDir() || strings.HasPrefix(e.Name(), "build-") {
			continue
		}
		r.ContainersOnDisk++
		if !known[e.Name()] {
			r.Unaccounted = append(r.Unaccounted, "container directory containers/"+e.Name())
		}
	}
	for _, c := range cands {
		switch c.Kind {
		case metadata.CandidateBlob:
			if !used[c.ID] && s.Content.Has(digest.Digest(c.ID)) {
				r.Garbage++
			}
		case metadata.CandidateLayer:
			if _, ok := layers[c.ID]; !ok && s.Layers.Exists(digest.Digest(c.ID)) {
				r.Garbage++
			}
		}
	}
	return nil
}

func shortKey(k string) string {
	k = strings.TrimPrefix(k, "sha256:")
	if len(k) > 12 {
		return k[:12]
	}
	return k
}

// OpenForRepair opens the store at root for `system check --repair`. A database that is missing,
// empty or unreadable while the root holds content is moved aside (state.db.damaged-TIME, with
// its -wal and -shm, never deleted) and a new one is made, for Repair to fill from the blobs.
// movedAside names where the old database went ("" when it was usable).
func OpenForRepair(root string) (s *Store, movedAside string, err error) {
	s, err = openParts(root)
	if err != nil {
		return nil, "", err
	}
	s.DB, err = openDB(root)
	var damaged *DamagedError
	if errors.As(err, &damaged) || metadata.Unusable(err) {
		// A WAL left beside a missing database goes too: a new database must not replay it.
		path := dbPath(root)
		aside := fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		for _, suffix := range []string{"", "-wal", "-shm"} {
			rerr := os.Rename(path+suffix, aside+suffix)
			if rerr == nil && movedAside == "" {
				movedAside = aside + suffix
			} else if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("moving the damaged database aside: %w", rerr)
			}
		}
		s.DB, err = metadata.Open(path)
	}
	if err != nil {
		return nil, "", err
	}
	s.hook()
	return s, movedAside, nil
}

// Repair rebuilds what can be rebuilt from the content on disk, then checks again:
//   - an image manifest in the blobs whose image the database does not record is recorded again
//     (with its config, and its layers unpacked again from their blobs where needed); it has no
//     name, since names live only in the database;
//   - a recorded image whose layer directory is missing gets it unpacked again from its blob;
//   - a build cache entry whose content is missing is forgotten (the step is simply rebuilt);
//   - a layer record no image needs whose directory is missing is forgotten.
//
// It deletes no content: what it cannot account for stays on disk and in the report.
func (s *Store) Repair() (CheckReport, error) {
	release, err := s.beginExclusive()
	if err != nil {
		return CheckReport{}, err
	}
	var done, notes []string
	err = s.repairImages(&done, &notes)
	if err == nil {
		err = s.repairRecords(&done)
	}
	if err == nil {
		err = s.repairVolumes(&done, &notes)
	}
	release()
	if err != nil {
		return CheckReport{}, err
	}
	r, err := s.Check()
	r.Repaired, r.Notes = done, append(notes, r.Notes...)
	return r, err
}

// repairImages records images found as manifests in the blobs, and unpacks missing layers.
func (s *Store) repairImages(done, notes *[]string) error {
	var manifests []digest.Digest
	if err := s.Content.Walk(func(d digest.Digest, size int64) error {
		if size < 1<<20 {
			manifests = append(manifests, d)
		}
		return nil
	}); err != nil {
		return err
	}
	sort.Slice(manifests, func(i, j int) bool { return manifests[i] < manifests[j] })
	recovered := 0
	for _, md := range manifests {
		raw, err := s.Content.ReadAll(md)
		if err != nil {
			continue
		}
		m, mediaType, ok := parseImageManifest(raw)
		if !ok {
			continue
		}
		id := m.Config.Digest.String()
		var rec metadata.Image
		err = s.DB.View(func(tx *metadata.Tx) error {
			var err error
			rec, err = tx.Image(id)
			return err
		})
		known := err == nil
		if err != nil && !errors.Is(err, metadata.ErrNotFound) {
			return err
		}
		if known && rec.Manifest != md.String() {
			continue // recorded through another manifest (pushed with other compression)
		}
		cfgRaw, err := s.Content.ReadAll(m.Config.Digest)
		if err != nil {
			if !known {
				*notes = append(*notes, fmt.Sprintf("manifest %s: its config %s is missing: image not recovered", md, m.Config.Digest))
			}
			continue
		}
		cfg, err := ParseConfig(cfgRaw)
		if err != nil || len(cfg.RootFS.DiffIDs) != len(m.Layers) {
			continue
		}
		layers, ok, err := s.repairLayers(id, m, cfg, done, notes)
		if err != nil {
			return err
		}
		if known || !ok {
			continue
		}
		r := Record{ManifestDigest: md, MediaType: mediaType, ConfigDigest: m.Config.Digest, Config: cfg, Layers: layers}
		for _, l := range m.Layers {
			r.Blobs = append(r.Blobs, l.Digest)
		}
		if _, err := s.Put(r); err != nil {
			return err
		}
		recovered++
		*done = append(*done, fmt.Sprintf("image %s recovered from manifest %s (untagged)", id, md))
	}
	if recovered > 0 {
		*notes = append(*notes, fmt.Sprintf("%d image(s) recovered without names: tags are kept only in the database; "+
			"name the ones you need with 'berth tag IMAGE_ID NAME' before any prune, which removes untagged images", recovered))
	}
	return nil
}

// repairLayers makes sure every layer of an image is unpacked, unpacking missing ones from
// their blobs, and returns their records; ok is false when a layer can be had from nowhere.
func (s *Store) repairLayers(id string, m *Manifest, cfg *Config, done, notes *[]string) ([]LayerRecord, bool, error) {
	chains := ChainIDs(cfg.RootFS.DiffIDs)
	out := make([]LayerRecord, len(chains))
	for i, c := range chains {
		out[i].DiffID = cfg.RootFS.DiffIDs[i]
		if s.Layers.Exists(c) {
			if size, ok := s.RecordedLayer(c); ok {
				out[i].Size = size
			} else {
				out[i].Size = dirSize(s.Layers.Dir(c))
			}
			continue
		}
		desc := m.Layers[i]
		f, err := s.Content.Open(desc.Digest)
		if err != nil {
			*notes = append(*notes, fmt.Sprintf("image %s: layer %s is not unpacked and its blob %s is missing: cannot rebuild it", id, c, desc.Digest))
			return nil, false, nil
		}
		var parent digest.Digest
		if i > 0 {
			parent = chains[i-1]
		}
		l, err := s.IngestLayer(LayerSource{R: f, Digest: desc.Digest, Size: desc.Size, MediaType: desc.MediaType, DiffID: cfg.RootFS.DiffIDs[i]}, parent)
		f.Close()
		if err != nil {
			*notes = append(*notes, fmt.Sprintf("image %s: layer %s: unpacking blob %s again failed: %v", id, c, desc.Digest, err))
			return nil, false, nil
		}
		out[i].Size = l.Size
		*done = append(*done, fmt.Sprintf("layer %s unpacked again from blob %s", c, desc.Digest))
	}
	return out, true, nil
}

// repairRecords forgets cache entries and unused layer records whose content is gone.
func (s *Store) repairRecords(done *[]string) error {
	return s.DB.Update(func(tx *metadata.Tx) error {
		cache, err := tx.CacheEntries()
		if err != nil {
			return err
		}
		for _, e := range cache {
			if e.ChainID != "" && (!s.Layers.Exists(digest.Digest(e.ChainID)) || !s.Content.Has(digest.Digest(e.Blob))) {
				if err := tx.DeleteCache(e.Key); err != nil {
					return err
				}
				*done = append(*done, fmt.Sprintf("build cache entry %s (%s) forgotten: its content is missing", shortKey(e.Key), e.Description))
			}
		}
		layers, err := tx.Layers()
		if err != nil {
			return err
		}
		unused, err := tx.UnusedLayers()
		if err != nil {
			return err
		}
		for _, c := range unused {
			if _, ok := layers[c]; ok && !s.Layers.Exists(digest.Digest(c)) {
				if err := tx.DeleteLayer(c); err != nil {
					return err
				}
				*done = append(*done, fmt.Sprintf("layer record %s forgotten: nothing uses it and its directory is missing", c))
			}
		}
		return nil
	})
}

// repairVolumes records again the named volumes whose data is on disk (volumes/NAME/_data) but
// which the database does not list, so `volume ls` shows them and they can be reached by name.
func (s *Store) repairVolumes(done, notes *[]string) error {
	ents, err := os.ReadDir(filepath.Join(s.Root, "volumes"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	n := 0
	err = s.DB.Update(func(tx *metadata.Tx) error {
		known, err := tx.Volumes()
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, v := range known {
			have[v.Name] = true
		}
		for _, e := range ents {
			fi, err := os.Stat(filepath.Join(s.Root, "volumes", e.Name(), "_data"))
			if err != nil || !fi.IsDir() || have[e.Name()] {
				continue
			}
			if _, err := tx.PutVolume(metadata.Volume{Name: e.Name(), Driver: "local", Created: fi.ModTime()}); err != nil {
				return err
			}
			*done = append(*done, "volume "+e.Name()+" recorded again from volumes/"+e.Name())
			n++
		}
		return nil
	})
	if n > 0 {
		*notes = append(*notes, fmt.Sprintf("%d volume(s) recorded again; no container uses them now, so 'berth volume prune' would delete them", n))
	}
	return err
}

// parseImageManifest reads raw as an OCI or Docker v2 image manifest.
func parseImageManifest(raw []byte) (*Manifest, string, bool) {
	var m Manifest
	if json.Unmarshal(raw, &m) != nil || m.SchemaVersion != 2 || m.Config.Digest.Validate() != nil {
		return nil, "", false
	}
	mediaType := m.MediaType
	switch mediaType {
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
	case "":
		if m.Config.MediaType != MediaTypeOCIConfig {
			return nil, "", false
		}
		mediaType = MediaTypeOCIManifest
	default:
		return nil, "", false
	}
	for _, l := range m.Layers {
		if l.Digest.Validate() != nil {
			return nil, "", false
		}
	}
	return &m, mediaType, true
}

// dirSize is the size of the regular files under dir (an unpacked layer's size).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
