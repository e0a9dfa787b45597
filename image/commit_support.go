package image

import (
	"io"
	"time"

	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/opencontainers/go-digest"
)

// ChildImage is an image made from another one plus one layer: what `commit` records.
type ChildImage struct {
	Parent          string           // the parent image's ID
	Layer           io.Reader        // the new layer as an uncompressed tar (whiteouts for deletions)
	Config          *ContainerConfig // the new image's run config
	ContainerConfig *ContainerConfig // the config of the container it was made from
	Container       string           // that container's ID
	Author          string
	Comment         string
	CreatedBy       string // the history line ("sh -c ...")
	Ref             string // optional REPO[:TAG]
}

// PutChild stores the layer on top of the parent's layers and records the new image, like
// `docker commit` does: the parent's history and layers, one more of each, Parent set.
func (s *Store) PutChild(c ChildImage) (string, error) {
	var tag reference.Tagged
	if c.Ref != "" {
		t, err := reference.ParseTagged(c.Ref)
		if err != nil {
			return "", err
		}
		tag = t
	}
	parent, err := s.Get(c.Parent)
	if err != nil {
		return "", err
	}
	release, err := s.BeginWrite()
	if err != nil {
		return "", err
	}
	defer release()
	var parentChain digest.Digest
	if n := len(parent.Layers); n > 0 {
		parentChain = digest.Digest(parent.Layers[n-1])
	}
	l, err := s.IngestLayer(LayerSource{R: c.Layer, Size: -1, Recompress: true}, parentChain)
	if err != nil {
		return "", err
	}
	var layers []LayerRecord
	err = s.DB.View(func(tx *metadata.Tx) error {
		for i, chain := range parent.Layers {
			lr, err := tx.Layer(chain)
			if err != nil {
				return err
			}
			layers = append(layers, LayerRecord{DiffID: parent.Config.RootFS.DiffIDs[i], Size: lr.Size})
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	layers = append(layers, LayerRecord{DiffID: l.DiffID, Size: l.Size})
	created := time.Now().UTC()
	pc := parent.Config
	cfg := &Config{
		Architecture:    pc.Architecture,
		Author:          c.Author,
		Comment:         c.Comment,
		Config:          c.Config,
		Container:       c.Container,
		ContainerConfig: c.ContainerConfig,
		Created:         &created,
		History: append(append([]History(nil), pc.History...),
			History{Created: &created, Author: c.Author, CreatedBy: c.CreatedBy, Comment: c.Comment}),
		OS:         pc.OS,
		OSVersion:  pc.OSVersion,
		OSFeatures: pc.OSFeatures,
		Variant:    pc.Variant,
		Parent:     c.Parent,
		RootFS:     RootFS{Type: "layers", DiffIDs: append(append([]digest.Digest(nil), pc.RootFS.DiffIDs...), l.DiffID)},
	}
	rec := Record{Config: cfg, Layers: layers}
	if tag != nil {
		rec.Tags = []reference.Tagged{tag}
	}
	descs := append(append([]Descriptor(nil), parent.Manifest.Layers...), l.Blob)
	return s.putWithManifest(rec, descs)
}
