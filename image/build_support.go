package image

import "github.com/berth-engine/berth/reference"

// BuiltImage is an image a build made: its config (with rootfs and history), its layers bottom
// first with their blobs already in the content store and unpacked in the layer store, and the
// names to give it.
type BuiltImage struct {
	Config *Config
	Layers []LayerRecord
	Blobs  []Descriptor // one per layer, same order
	Tags   []reference.Tagged
}

// PutBuilt writes the config and manifest of a built image and records it with its names in one
// transaction. The caller holds the store's write lock (BeginWrite) since it ingested the layers.
func (s *Store) PutBuilt(b BuiltImage) (string, error) {
	return s.putWithManifest(Record{Config: b.Config, Layers: b.Layers, Tags: b.Tags}, b.Blobs)
}
