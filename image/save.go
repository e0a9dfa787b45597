package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"time"

	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/opencontainers/go-digest"
)

// The archive layout `berth save` writes is the one Docker 25+ writes: an OCI image layout
// (oci-layout, index.json, blobs/sha256/<hex>) that is at the same time a docker-archive
// (manifest.json, repositories), so `docker load` (any version), `skopeo ... docker-archive:` and
// `skopeo ... oci-archive:` all read it.
const (
	ociLayoutFile      = "oci-layout"
	ociLayoutContent   = `{"imageLayoutVersion":"1.0.0"}`
	indexFile          = "index.json"
	manifestFile       = "manifest.json"
	repositoriesFile   = "repositories"
	blobsDir           = "blobs"
	annotationImageRef = "io.containerd.image.name"
	annotationRefName  = "org.opencontainers.image.ref.name"
)

// manifestItem is one entry of a docker-archive's manifest.json.
type manifestItem struct {
	Config       string
	RepoTags     []string
	Layers       []string
	Parent       string                       `json:",omitempty"`
	LayerSources map[digest.Digest]Descriptor `json:",omitempty"`
}

// saveImage is one image to save with the names it is saved under.
type saveImage struct {
	id   string
	tags []reference.Tagged
	img  *Image
}

// Save writes the images named by refs to w as one tar archive (see the layout above). A name
// saves the image under that name; a repository without a tag saves every tag of it; an ID (full
// or short) saves the image without names, as `docker save` does. Blobs shared by several images
// are written once. The archive is deterministic: entries sorted, mtime 0, owner 0:0.
//
// Every reference is resolved and every blob checked before the first byte is written, so an
// unknown reference ("No such image: x") writes nothing.
func (s *Store) Save(w io.Writer, refs []string) (err error) {
	images, err := s.resolveForSave(refs)
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			for _, si := range images {
				s.Event("save", si.id, si.id)
			}
		}
	}()

	// Collect the blobs and build manifest.json, index.json and repositories.
	blobs := map[digest.Digest]int64{}
	var manifest []manifestItem
	index := Index{SchemaVersion: 2, MediaType: MediaTypeOCIIndex, Manifests: []Descriptor{}}
	repos := map[string]map[string]string{}
	for _, si := range images {
		img, err := s.Get(si.id)
		if err != nil {
			return err
		}
		si.img = img
		mDigest := digest.Digest(img.Image.Manifest)
		cDigest := digest.Digest(img.ID)
		if img.Manifest.Config.Digest != cDigest {
			return fmt.Errorf("image %s: manifest %s names config %s", img.ID, mDigest, img.Manifest.Config.Digest)
		}
		if len(img.Manifest.Layers) != len(img.Config.RootFS.DiffIDs) {
			return fmt.Errorf("image %s: manifest %s has %d layers, config %d", img.ID, mDigest,
				len(img.Manifest.Layers), len(img.Config.RootFS.DiffIDs))
		}
		blobs[mDigest] = int64(len(img.ManifestRaw))
		blobs[cDigest] = int64(len(img.ConfigRaw))
		item := manifestItem{Config: blobPath(cDigest), Layers: []string{}}
		for _, l := range img.Manifest.Layers {
			size, err := s.Content.Info(l.Digest)
			if err != nil {
				return fmt.Errorf("image %s: layer %w", img.ID, err)
			}
			if l.Size > 0 && size != l.Size {
				return fmt.Errorf("image %s: layer %s: stored blob has %d bytes, manifest says %d", img.ID, l.Digest, size, l.Size)
			}
			blobs[l.Digest] = size
			item.Layers = append(item.Layers, blobPath(l.Digest))
		}
		mediaType := img.Image.MediaType
		if mediaType == "" {
			mediaType = img.Manifest.MediaType
		}
		if mediaType == "" {
			mediaType = MediaTypeOCIManifest
		}
		desc := Descriptor{MediaType: mediaType, Digest: mDigest, Size: int64(len(img.ManifestRaw))}
		if len(si.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range si.tags {
			d := desc
			d.Annotations = map[string]string{annotationImageRef: t.String(), annotationRefName: t.Tag()}
			index.Manifests = append(index.Manifests, d)
			item.RepoTags = append(item.RepoTags, reference.Familiar(t))
			if n := len(img.Manifest.Layers); n > 0 {
				repo := reference.FamiliarName(t)
				if repos[repo] == nil {
					repos[repo] = map[string]string{}
				}
				repos[repo][t.Tag()] = img.Manifest.Layers[n-1].Digest.Encoded()
			}
		}
		manifest = append(manifest, item)
	}

	files := map[string][]byte{ociLayoutFile: []byte(ociLayoutContent)}
	if files[indexFile], err = json.Marshal(index); err != nil {
		return err
	}
	if files[manifestFile], err = jsonLine(manifest); err != nil {
		return err
	}
	if len(repos) > 0 {
		if files[repositoriesFile], err = jsonLine(repos); err != nil {
			return err
		}
	}

	// Write the entries in sorted order: "blobs/..." sorts before the top-level files.
	tw := tar.NewWriter(w)
	for _, dir := range []string{blobsDir + "/", blobsDir + "/sha256/"} {
		if err := tw.WriteHeader(tarHeader(dir, tar.TypeDir, 0)); err != nil {
			return err
		}
	}
	digests := make([]digest.Digest, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	sort.Slice(digests, func(i, j int) bool { return digests[i] < digests[j] })
	for _, d := range digests {
		if err := s.writeBlob(tw, d, blobs[d]); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(tarHeader(n, tar.TypeReg, int64(len(files[n])))); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// resolveForSave turns the references into images to save, with Docker's rules (moby's
// tarexporter parseNames): "name:tag" saves that tag; "name" saves every tag of the repository,
// or, when it has none, the image whose ID starts with it; "name@digest" and IDs save the image
// without a name. Images named several times are saved once, with every name.
func (s *Store) resolveForSave(refs []string) ([]*saveImage, error) {
	var out []*saveImage
	byID := map[string]*saveImage{}
	add := func(id string, tag reference.Tagged) {
		si := byID[id]
		if si == nil {
			si = &saveImage{id: id}
			byID[id] = si
			out = append(out, si)
		}
		if tag == nil {
			return
		}
		for _, t := range si.tags {
			if t.String() == tag.String() {
				return
			}
		}
		si.tags = append(si.tags, tag)
	}
	err := s.DB.View(func(tx *metadata.Tx) error {
		for _, ref := range refs {
			if _, err := digest.Parse(ref); err == nil {
				id, err := resolve(tx, ref)
				if err != nil {
					return err
				}
				add(id, nil)
				continue
			}
			n, err := reference.Parse(ref)
			if err != nil {
				// Not a name: maybe "sha256:<short ID>".
				if reference.LooksLikeID(ref) {
					id, err := resolve(tx, ref)
					if errors.Is(err, ErrNoSuchImage) {
						return NotFoundError{ref}
					}
					if err != nil {
						return err
					}
					add(id, nil)
					continue
				}
				return err
			}
			if _, ok := n.(reference.Canonical); ok {
				id, err := tx.ResolveName(n.String())
				if errors.Is(err, metadata.ErrNotFound) {
					return NotFoundError{ref}
				} else if err != nil {
					return err
				}
				add(id, nil)
				continue
			}
			if t, ok := n.(reference.Tagged); ok {
				id, err := tx.ResolveName(t.String())
				if errors.Is(err, metadata.ErrNotFound) {
					return NotFoundError{ref}
				} else if err != nil {
					return err
				}
				add(id, t)
				continue
			}
			// A repository name alone: every tag of it.
			tagged, err := tx.NamesWithPrefix(n.String() + ":")
			if err != nil {
				return err
			}
			found := false
			for _, nm := range tagged {
				if nm.Kind != metadata.KindTag {
					continue
				}
				sn, err := reference.ParseStored(nm.Name)
				if err != nil {
					continue
				}
				t, ok := sn.(reference.Tagged)
				if !ok || t.Name() != n.Name() {
					continue
				}
				add(nm.ImageID, t)
				found = true
			}
			if found {
				continue
			}
			id, err := resolve(tx, ref)
			if errors.Is(err, ErrNoSuchImage) {
				return NotFoundError{ref} // docker save echoes the argument
			}
			if err != nil {
				return err
			}
			add(id, nil)
		}
		return nil
	})
	return out, err
}

// writeBlob copies a stored blob into the archive, checking it against its digest on the way
// out: a blob that went bad on disk fails the save instead of producing a corrupt archive.
func (s *Store) writeBlob(tw *tar.Writer, d digest.Digest, size int64) error {
	f, err := s.Content.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(tarHeader(blobPath(d), tar.TypeReg, size)); err != nil {
		return err
	}
	v := d.Verifier()
	n, err := io.Copy(tw, io.TeeReader(io.LimitReader(f, size), v))
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if n != size || !v.Verified() {
		return fmt.Errorf("blob %s is corrupt in the store", d)
	}
	return nil
}

func blobPath(d digest.Digest) string {
	return path.Join(blobsDir, d.Algorithm().String(), d.Encoded())
}

func tarHeader(name string, typ byte, size int64) *tar.Header {
	mode := int64(0o644)
	if typ == tar.TypeDir {
		mode = 0o755
	}
	return &tar.Header{Typeflag: typ, Name: name, Size: size, Mode: mode, ModTime: time.Unix(0, 0)}
}

// jsonLine encodes v as json.Encoder does (with a final newline), as Docker writes manifest.json
// and repositories.
func jsonLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
