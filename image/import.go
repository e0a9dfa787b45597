package image

import (
	"encoding/json"
	"io"
	"runtime"
	"time"

	"github.com/berth-engine/berth/reference"
	"github.com/opencontainers/go-digest"
)

// ImportOptions are `berth import`'s flags.
type ImportOptions struct {
	Changes []string // Dockerfile instructions applied to the config (-c)
	Message string   // commit message (-m); default "Imported from SOURCE"
	Source  string   // where the tarball came from: "-" for a file or stdin, or its URL
	Ref     string   // optional REPO[:TAG] to name the image
}

// Import makes a one-layer image from a rootfs tarball (plain, gzip, bzip2, xz or zstd), like
// `docker import`. Everything the options can get wrong is checked before the input is read, so
// bad flags write nothing.
func (s *Store) Import(r io.Reader, opts ImportOptions) (string, error) {
	var tag reference.Tagged
	if opts.Ref != "" {
		t, err := reference.ParseTagged(opts.Ref)
		if err != nil {
			return "", err
		}
		tag = t
	}
	cc := &ContainerConfig{}
	if err := ApplyChanges(cc, opts.Changes); err != nil {
		return "", err
	}
	msg := opts.Message
	if msg == "" {
		src := opts.Source
		if src == "" {
			src = "-"
		}
		msg = "Imported from " + src
	}

	release, err := s.BeginWrite()
	if err != nil {
		return "", err
	}
	defer release()

	l, err := s.IngestLayer(LayerSource{R: r, Size: -1, Recompress: true}, "")
	if err != nil {
		return "", err
	}
	created := time.Now().UTC()
	cfg := &Config{
		Architecture: runtime.GOARCH,
		Comment:      msg,
		Config:       cc,
		Created:      &created,
		History:      []History{{Created: &created, Comment: msg}},
		OS:           "linux",
		RootFS:       RootFS{Type: "layers", DiffIDs: []digest.Digest{l.DiffID}},
	}
	rec := Record{Config: cfg, Layers: []LayerRecord{{DiffID: l.DiffID, Size: l.Size}}}
	if tag != nil {
		rec.Tags = []reference.Tagged{tag}
	}
	id, err := s.putWithManifest(rec, []Descriptor{l.Blob})
	if err == nil {
		s.Event("import", id, id)
	}
	return id, err
}

// putWithManifest writes the config and an OCI manifest for layers, then records the image.
func (s *Store) putWithManifest(rec Record, layers []Descriptor) (string, error) {
	cfgRaw, err := json.Marshal(rec.Config)
	if err != nil {
		return "", err
	}
	cfgDigest, err := s.Content.Put(cfgRaw)
	if err != nil {
		return "", err
	}
	m := Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeOCIManifest,
		Config:        Descriptor{MediaType: MediaTypeOCIConfig, Digest: cfgDigest, Size: int64(len(cfgRaw))},
		Layers:        layers,
	}
	mRaw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	mDigest, err := s.Content.Put(mRaw)
	if err != nil {
		return "", err
	}
	rec.ManifestDigest, rec.MediaType, rec.ConfigDigest = mDigest, MediaTypeOCIManifest, cfgDigest
	for _, l := range layers {
		rec.Blobs = append(rec.Blobs, l.Digest)
	}
	return s.Put(rec)
}
