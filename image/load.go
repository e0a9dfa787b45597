package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
)

// LoadOptions are `berth load`'s knobs.
type LoadOptions struct {
	// Progress, when not nil, gets one line per layer loaded, in Docker's words
	// ("e45243dc0bf3: Loading layer [====>]  2.13MB/2.13MB").
	Progress io.Writer
}

// LoadedImage is one image Load recorded.
type LoadedImage struct {
	ID    string       // the image ID ("sha256:<config digest>")
	Names []LoadedName // the names it was loaded under, in the archive's order; none for an unnamed image
}

// LoadedName is a name Load pointed at an image.
type LoadedName struct {
	Name     string // familiar form, as Docker prints it: "busybox:latest"
	Previous string // the image the name pointed at before, when that was another image ("" otherwise)
}

// ErrInvalidArchive is wrapped by every error about the archive's content (as opposed to I/O
// errors of the store).
var ErrInvalidArchive = errors.New("invalid archive")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArchive, fmt.Sprintf(format, args...))
}

// maxMetaSize bounds the JSON files (manifests, configs, indexes) read into memory.
const maxMetaSize = 32 << 20

// Load reads an image archive and records the images in it with their names: a docker-archive
// (`docker save` of Docker 20.10 with <id>/layer.tar, of Docker 25+, `podman save`, `skopeo copy
// ... docker-archive:`) or an OCI archive (`skopeo copy ... oci-archive:`, `berth save`), plain or
// compressed (gzip, bzip2, xz, zstd).
//
// The stream is first unpacked into a temporary directory under the store's ingest directory
// (entries whose names leave the archive are refused), then every image is checked: blobs named by
// digest must match it, each layer is stored and unpacked through IngestLayer (or, when the store
// already holds its blob and unpacked chain, only hashed again), and the diff IDs of the layers
// must be the ones the image config lists. Only when every image of the archive has
// passed are the images recorded, so a bad archive records nothing (a layer stored before the
// failure is garbage for the next prune).
//
// An OCI image keeps the archive's manifest blob, so its manifest digest survives; a
// docker-archive image (which has no manifest blob) gets an OCI manifest over its layer blobs as
// they were in the archive. An image already in the store keeps its record; only its names are
// (re)pointed. A name that pointed at another image moves, as with `docker load`.
func (s *Store) Load(r io.Reader, opts LoadOptions) ([]LoadedImage, error) {
	release, err := s.BeginWrite()
	if err != nil {
		return nil, err
	}
	defer release()

	dir, err := os.MkdirTemp(s.Content.IngestDir(), "load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	a, err := extractArchive(r, dir)
	if err != nil {
		return nil, err
	}
	plans, err := a.plan()
	if err != nil {
		return nil, err
	}

	// Verify and ingest everything before recording anything.
	done := map[ingestKey]IngestedLayer{}
	for _, p := range plans {
		if err := s.ingestPlan(a, p, done, opts.Progress); err != nil {
			return nil, err
		}
	}

	out := make([]LoadedImage, 0, len(plans))
	for _, p := range plans {
		li, err := s.recordPlan(p)
		if err != nil {
			return out, err
		}
		out = append(out, li)
		s.Event("load", li.ID, li.ID)
	}
	return out, nil
}

// ---- the archive on disk ----

// loadArchive is an unpacked archive: its entries by name, regular files stored under
// sequential names in dir (so no entry name ever becomes a path on disk) and symlinks kept as data.
type loadArchive struct {
	dir      string
	files    map[string]string // entry name → file on disk
	symlinks map[string]string // entry name → link target
}

func extractArchive(r io.Reader, dir string) (*loadArchive, error) {
	a := &loadArchive{dir: dir, files: map[string]string{}, symlinks: map[string]string{}}
	plain, _, err := archive.DecompressStream(r)
	if err != nil {
		return nil, fmt.Errorf("Error processing tar file: %w", err)
	}
	defer plain.Close()
	tr := tar.NewReader(plain)
	n := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("Error processing tar file: %w", err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return nil, err
		}
		if name == "" {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			n++
			p := filepath.Join(dir, strconv.Itoa(n))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, fmt.Errorf("Error processing tar file: %s: %w", hdr.Name, err)
			}
			a.files[name] = p
			delete(a.symlinks, name)
		case tar.TypeLink:
			target, err := entryName(hdr.Linkname)
			if err != nil {
				return nil, err
			}
			p, err := a.lookup(target)
			if err != nil {
				return nil, invalidf("hard link %q to %q: %v", hdr.Name, hdr.Linkname, err)
			}
			a.files[name] = p
			delete(a.symlinks, name)
		case tar.TypeSymlink:
			a.symlinks[name] = hdr.Linkname
			delete(a.files, name)
		default:
			// Directories are implied by the names; other types cannot be referenced.
		}
	}
	// Read what follows the end-of-archive marker, so a compressed stream's trailer is checked.
	io.Copy(io.Discard, plain)
	return a, nil
}

// entryName cleans an entry name and refuses one that leaves the archive ("../x", "/x"). The
// archive's root itself ("./") comes back as "".
func entryName(raw string) (string, error) {
	if strings.HasPrefix(raw, "/") {
		return "", invalidf("entry %q is outside the archive", raw)
	}
	clean := path.Clean(raw)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", invalidf("entry %q is outside the archive", raw)
	}
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// lookup finds the file an entry name stands for, following symlinks inside the archive.
func (a *loadArchive) lookup(name string) (string, error) {
	name, err := entryName(name)
	if err != nil {
		return "", err
	}
	for hops := 0; hops < 40; hops++ {
		parts := strings.Split(name, "/")
		followed := false
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			target, ok := a.symlinks[prefix]
			if !ok {
				continue
			}
			if strings.HasPrefix(target, "/") {
				return "", invalidf("symlink %q points outside the archive", prefix)
			}
			next := path.Join(append([]string{path.Dir(prefix), target}, parts[i:]...)...)
			if next == ".." || strings.HasPrefix(next, "../") {
				return "", invalidf("symlink %q points outside the archive", prefix)
			}
			name, followed = next, true
			break
		}
		if !followed {
			if p, ok := a.files[name]; ok {
				return p, nil
			}
			return "", fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
	}
	return "", invalidf("too many levels of symlinks at %q", name)
}

// has reports whether the archive holds name; a name that resolves outside the archive is an error.
func (a *loadArchive) has(name string) (bool, error) {
	_, err := a.lookup(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// readFile reads a small file of the archive (JSON).
func (a *loadArchive) readFile(name string) ([]byte, error) {
	p, err := a.lookup(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetaSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetaSize {
		return nil, invalidf("%s is larger than %d bytes", name, maxMetaSize)
	}
	return b, nil
}

// readBlob reads a small blob of the OCI layout and checks it against its descriptor.
func (a *loadArchive) readBlob(d Descriptor) ([]byte, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, invalidf("bad digest %q: %v", d.Digest, err)
	}
	b, err := a.readFile(blobPath(d.Digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, invalidf("blob %s not found", d.Digest)
	}
	if err != nil {
		return nil, err
	}
	if got := d.Digest.Algorithm().FromBytes(b); got != d.Digest {
		return nil, invalidf("blob %s is corrupt: content hashes to %s", d.Digest, got)
	}
	if d.Size > 0 && int64(len(b)) != d.Size {
		return nil, invalidf("blob %s has %d bytes, its descriptor says %d", d.Digest, len(b), d.Size)
	}
	return b, nil
}

// ---- what to load ----

// loadPlan is one image to load, as the archive describes it.
type loadPlan struct {
	configRaw      []byte
	configName     string
	id             digest.Digest // digest of configRaw
	manifestRaw    []byte        // the archive's own manifest (OCI layout); nil: synthesize one
	manifestDigest digest.Digest
	manifestType   string
	layers         []planLayer
	names          []reference.Tagged

	// filled by ingestPlan
	config   *Config
	ingested []IngestedLayer
}

type planLayer struct {
	name string     // entry name in the archive
	desc Descriptor // digest, size and media type when the archive says them
}

func (p *loadPlan) addName(t reference.Tagged) {
	for _, n := range p.names {
		if n.String() == t.String() {
			return
		}
	}
	p.names = append(p.names, t)
}

// plan reads index.json and manifest.json. Images in index.json are loaded from their OCI
// manifests; manifest.json adds its names to those and contributes the images index.json lacks
// (every image, for a plain docker-archive).
func (a *loadArchive) plan() ([]*loadPlan, error) {
	hasIndex, err := a.has(indexFile)
	if err != nil {
		return nil, err
	}
	hasManifest, err := a.has(manifestFile)
	if err != nil {
		return nil, err
	}
	if !hasIndex && !hasManifest {
		return nil, invalidf("no manifest.json or index.json")
	}
	var plans []*loadPlan
	byID := map[digest.Digest]*loadPlan{}
	if hasIndex {
		raw, err := a.readFile(indexFile)
		if err != nil {
			return nil, err
		}
		var idx Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, invalidf("index.json: %v", err)
		}
		for _, d := range idx.Manifests {
			p, err := a.planManifest(d, 0)
			if err != nil {
				return nil, err
			}
			if p == nil {
				continue
			}
			name, err := annotatedName(d.Annotations)
			if err != nil {
				return nil, err
			}
			if q := byID[p.id]; q != nil {
				p = q
			} else {
				byID[p.id] = p
				plans = append(plans, p)
			}
			if name != nil {
				p.addName(name)
			}
		}
	}
	if hasManifest {
		raw, err := a.readFile(manifestFile)
		if err != nil {
			return nil, err
		}
		var items []manifestItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, invalidf("manifest.json: %v", err)
		}
		for _, it := range items {
			p, err := a.planItem(it)
			if err != nil {
				return nil, err
			}
			if q := byID[p.id]; q != nil {
				for _, n := range p.names {
					q.addName(n)
				}
				continue
			}
			byID[p.id] = p
			plans = append(plans, p)
		}
	}
	if len(plans) == 0 {
		return nil, invalidf("no image in the archive")
	}
	return plans, nil
}

// planManifest follows a descriptor of index.json to an image manifest, choosing this machine's
// platform from a nested index. It returns nil for something that is not an image (an artifact).
func (a *loadArchive) planManifest(d Descriptor, depth int) (*loadPlan, error) {
	if depth > 4 {
		return nil, invalidf("indexes nested too deep at %s", d.Digest)
	}
	raw, err := a.readBlob(d)
	if err != nil {
		return nil, err
	}
	mt := d.MediaType
	if mt == "" {
		var probe struct {
			MediaType string          `json:"mediaType"`
			Manifests json.RawMessage `json:"manifests"`
			Config    json.RawMessage `json:"config"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, invalidf("manifest %s: %v", d.Digest, err)
		}
		switch {
		case probe.MediaType != "":
			mt = probe.MediaType
		case probe.Manifests != nil:
			mt = MediaTypeOCIIndex
		case probe.Config != nil:
			mt = MediaTypeOCIManifest
		}
	}
	switch mt {
	case MediaTypeOCIIndex, MediaTypeDockerList:
		var idx Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, invalidf("index %s: %v", d.Digest, err)
		}
		var chosen *Descriptor
		for i, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
				chosen = &idx.Manifests[i]
				break
			}
		}
		if chosen == nil {
			return nil, invalidf("index %s has no image for linux/%s", d.Digest, runtime.GOARCH)
		}
		return a.planManifest(*chosen, depth+1)
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
	default:
		return nil, nil
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalidf("manifest %s: %v", d.Digest, err)
	}
	switch m.Config.MediaType {
	case MediaTypeOCIConfig, MediaTypeDockerConfig, "":
	default:
		return nil, nil // an artifact, not an image
	}
	cfg, err := a.readBlob(m.Config)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: config: %w", d.Digest, err)
	}
	p := &loadPlan{
		configRaw: cfg, configName: blobPath(m.Config.Digest), id: digest.FromBytes(cfg),
		manifestRaw: raw, manifestDigest: d.Digest, manifestType: mt,
	}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return nil, invalidf("manifest %s: layer digest %q: %v", d.Digest, l.Digest, err)
		}
		p.layers = append(p.layers, planLayer{name: blobPath(l.Digest), desc: l})
	}
	return p, nil
}

// annotatedName is the name index.json gives a manifest: containerd's full name, else an OCI
// ref.name that is a reference ("busybox:1", not a bare tag like "latest").
func annotatedName(ann map[string]string) (reference.Tagged, error) {
	if n := ann[annotationImageRef]; n != "" {
		named, err := reference.Parse(n)
		if err != nil {
			return nil, invalidf("index.json: image name %q: %v", n, err)
		}
		if _, ok := named.(reference.Canonical); ok {
			return nil, nil // a digest name: the manifest digest says it already
		}
		t, err := reference.ParseTagged(n)
		if err != nil {
			return nil, invalidf("index.json: image name %q: %v", n, err)
		}
		return t, nil
	}
	if n := ann[annotationRefName]; strings.ContainsAny(n, ":/") {
		if t, err := reference.ParseTagged(n); err == nil {
			return t, nil
		}
	}
	return nil, nil
}

// planItem reads one entry of manifest.json.
func (a *loadArchive) planItem(it manifestItem) (*loadPlan, error) {
	if it.Config == "" {
		return nil, invalidf("manifest.json: an entry has no Config")
	}
	p := &loadPlan{configName: it.Config}
	for _, rt := range it.RepoTags {
		t, err := reference.ParseTagged(rt)
		if err != nil {
			return nil, invalidf("manifest.json: invalid tag %q: %v", rt, err)
		}
		p.addName(t)
	}
	cfg, err := a.readFile(it.Config)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, invalidf("config %s not found", it.Config)
	}
	if err != nil {
		return nil, err
	}
	p.configRaw, p.id = cfg, digest.FromBytes(cfg)
	if d, ok := digestOfPath(it.Config); ok && d != p.id {
		return nil, invalidf("config %s is corrupt: content hashes to %s", it.Config, p.id)
	}
	for _, l := range it.Layers {
		pl := planLayer{name: l}
		if d, ok := digestOfPath(l); ok {
			pl.desc.Digest = d
		}
		p.layers = append(p.layers, pl)
	}
	return p, nil
}

// digestOfPath is the digest a "blobs/<alg>/<hex>" path names.
func digestOfPath(p string) (digest.Digest, bool) {
	parts := strings.Split(path.Clean(p), "/")
	if len(parts) != 3 || parts[0] != blobsDir {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(parts[1]), parts[2])
	return d, d.Validate() == nil
}

// ---- ingest and record ----

type ingestKey struct {
	parent digest.Digest
	file   string
}

// ingestPlan checks an image's config and stores and unpacks its layers, checking each against
// the config's diff IDs.
func (s *Store) ingestPlan(a *loadArchive, p *loadPlan, done map[ingestKey]IngestedLayer, progress io.Writer) error {
	cfg, err := ParseConfig(p.configRaw)
	if err != nil {
		return invalidf("config %s: %v", p.configName, err)
	}
	p.config = cfg
	if len(cfg.RootFS.DiffIDs) != len(p.layers) {
		return invalidf("image %s: the config lists %d layers, the manifest %d", p.id, len(cfg.RootFS.DiffIDs), len(p.layers))
	}
	var parent digest.Digest
	for i, l := range p.layers {
		file, err := a.lookup(l.name)
		if errors.Is(err, fs.ErrNotExist) {
			what := l.name
			if l.desc.Digest != "" && !strings.Contains(what, l.desc.Digest.Encoded()) {
				what += " (" + l.desc.Digest.String() + ")"
			}
			return invalidf("image %s: layer %s not found", p.id, what)
		}
		if err != nil {
			return err
		}
		key := ingestKey{parent, file}
		il, ok := done[key]
		if !ok {
			il, ok = s.reuseLayer(file, l.desc, cfg.RootFS.DiffIDs[i], parent)
		}
		if !ok {
			il, err = s.ingestFile(file, l.desc, cfg.RootFS.DiffIDs[i], parent)
			if err != nil {
				if l.desc.Digest != "" && strings.Contains(err.Error(), l.desc.Digest.String()) {
					return fmt.Errorf("image %s: %w", p.id, err) // IngestLayer named the layer already
				}
				return fmt.Errorf("image %s: layer %s: %w", p.id, l.name, err)
			}
			done[key] = il
			if progress != nil {
				size := units.HumanSize(float64(il.Blob.Size))
				fmt.Fprintf(progress, "%s: Loading layer [%s>] %8s/%s\n", il.DiffID.Encoded()[:12], strings.Repeat("=", 50), size, size)
			}
		}
		if want := cfg.RootFS.DiffIDs[i]; il.DiffID != want {
			return invalidf("image %s: layer %s has diff ID %s, but the image config says %s", p.id, l.name, il.DiffID, want)
		}
		p.ingested = append(p.ingested, il)
		parent = il.ChainID
	}
	return nil
}

// reuseLayer returns a layer the store already has, both its blob and its unpacked chain (a
// reload of an image, or a base layer shared with another image). The archive's file is still read
// to prove it is that layer (its digest, and its diff ID when compressed), but nothing is written
// or unpacked. Any doubt returns false, and the layer goes through IngestLayer, which reports
// what is wrong with it.
func (s *Store) reuseLayer(file string, desc Descriptor, wantDiff, parent digest.Digest) (IngestedLayer, bool) {
	var out IngestedLayer
	if wantDiff.Validate() != nil {
		return out, false
	}
	chain := ChainID(parent, wantDiff)
	if !s.Layers.Exists(chain) {
		return out, false
	}
	var meta metadata.Layer
	if err := s.DB.View(func(tx *metadata.Tx) error {
		var err error
		meta, err = tx.Layer(chain.String())
		return err
	}); err != nil || meta.DiffID != wantDiff.String() {
		return out, false
	}
	f, err := os.Open(file)
	if err != nil {
		return out, false
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	comp := archive.DetectCompression(head[:n])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return out, false
	}
	blob := desc.Digest
	if blob == "" && comp == archive.Uncompressed {
		blob = wantDiff // a plain tar is its own diff
	}
	if blob == "" || blob.Validate() != nil || !s.Content.Has(blob) {
		return out, false
	}
	bh := blob.Algorithm().Digester()
	var size int64
	if comp == archive.Uncompressed {
		if size, err = io.Copy(bh.Hash(), f); err != nil || bh.Digest() != wantDiff {
			return out, false
		}
	} else {
		cr := &countingReader{r: io.TeeReader(f, bh.Hash())}
		plain, _, err := archive.DecompressStream(cr)
		if err != nil {
			return out, false
		}
		dh := digest.SHA256.Digester()
		_, err = io.Copy(dh.Hash(), plain)
		plain.Close()
		if err != nil || dh.Digest() != wantDiff {
			return out, false
		}
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return out, false
		}
		size = cr.n
	}
	if bh.Digest() != blob || (desc.Size > 0 && size != desc.Size) {
		return out, false
	}
	mediaType := desc.MediaType
	if mediaType == "" {
		mediaType = layerMediaType(comp)
	}
	out.Blob = Descriptor{MediaType: mediaType, Digest: blob, Size: size}
	out.DiffID, out.ChainID, out.Size = wantDiff, chain, meta.Size
	return out, true
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Store) ingestFile(file string, desc Descriptor, diffID, parent digest.Digest) (IngestedLayer, error) {
	f, err := os.Open(file)
	if err != nil {
		return IngestedLayer{}, err
	}
	defer f.Close()
	size := desc.Size
	if size <= 0 {
		size = -1
	}
	return s.IngestLayer(LayerSource{R: f, Digest: desc.Digest, Size: size, MediaType: desc.MediaType, DiffID: diffID}, parent)
}

// recordPlan writes an image's config and manifest blobs and records it with its names.
func (s *Store) recordPlan(p *loadPlan) (LoadedImage, error) {
	li := LoadedImage{ID: p.id.String()}
	var exists bool
	prev := map[string]string{}
	err := s.DB.View(func(tx *metadata.Tx) error {
		if _, err := tx.Image(li.ID); err == nil {
			exists = true
		} else if !errors.Is(err, metadata.ErrNotFound) {
			return err
		}
		for _, t := range p.names {
			id, err := tx.ResolveName(t.String())
			if err == nil {
				prev[t.String()] = id
			} else if !errors.Is(err, metadata.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return li, err
	}
	if exists {
		// Keep the image's record; point the names at it.
		err = s.DB.Update(func(tx *metadata.Tx) error {
			now := time.Now()
			for _, t := range p.names {
				old, err := tx.SetName(t.String(), li.ID, metadata.KindTag, now)
				if err != nil {
					return err
				}
				prev[t.String()] = old
			}
			return nil
		})
	} else {
		err = s.putLoaded(p)
	}
	if err != nil {
		return li, err
	}
	for _, t := range p.names {
		n := LoadedName{Name: reference.Familiar(t)}
		if old := prev[t.String()]; old != "" && old != li.ID {
			n.Previous = old
		}
		li.Names = append(li.Names, n)
	}
	return li, nil
}

func (s *Store) putLoaded(p *loadPlan) error {
	if _, err := s.Content.Put(p.configRaw); err != nil {
		return err
	}
	rec := Record{ConfigDigest: p.id, Config: p.config, Tags: p.names}
	var layers []Descriptor
	for _, il := range p.ingested {
		rec.Layers = append(rec.Layers, LayerRecord{DiffID: il.DiffID, Size: il.Size})
		rec.Blobs = append(rec.Blobs, il.Blob.Digest)
		layers = append(layers, il.Blob)
	}
	if p.manifestRaw != nil {
		if _, err := s.Content.Put(p.manifestRaw); err != nil {
			return err
		}
		rec.ManifestDigest, rec.MediaType = p.manifestDigest, p.manifestType
	} else {
		if layers == nil {
			layers = []Descriptor{}
		}
		m := Manifest{
			SchemaVersion: 2,
			MediaType:     MediaTypeOCIManifest,
			Config:        Descriptor{MediaType: MediaTypeOCIConfig, Digest: p.id, Size: int64(len(p.configRaw))},
			Layers:        layers,
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		d, err := s.Content.Put(raw)
		if err != nil {
			return err
		}
		rec.ManifestDigest, rec.MediaType = d, MediaTypeOCIManifest
	}
	_, err := s.Put(rec)
	return err
}
