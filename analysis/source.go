package analysis

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/image"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// historySteps pairs the config's history with the layers as dive does: each layer takes the
// next history entry that is not an empty layer, "(missing)" when there is none.
func historySteps(cfg *image.Config, layers int) []string {
	out := make([]string, layers)
	h := 0
	for i := range out {
		out[i] = "(missing)"
		for h < len(cfg.History) && cfg.History[h].EmptyLayer {
			h++
		}
		if h < len(cfg.History) {
			out[i] = cfg.History[h].CreatedBy
			h++
		}
	}
	return out
}

// FromStore reads the layers of a stored image (by name, ID or ID prefix), several at a time,
// each once: from the unpacked layer store where it is there, else from its blob.
func FromStore(s *image.Store, ref string) (Image, error) {
	id, err := s.Resolve(ref)
	if err != nil {
		return Image{}, err
	}
	img, err := s.Get(id)
	if err != nil {
		return Image{}, err
	}
	descs := img.Manifest.Layers
	diffIDs := img.Config.RootFS.DiffIDs
	if len(descs) != len(diffIDs) {
		return Image{}, fmt.Errorf("image %s: manifest has %d layers, config %d", id, len(descs), len(diffIDs))
	}
	steps := historySteps(img.Config, len(descs))
	chains := image.ChainIDs(diffIDs)
	out := Image{Name: ref, ID: id, Layers: make([]Layer, len(descs))}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range descs {
		out.Layers[i] = Layer{Digest: diffIDs[i].String(), CreatedBy: steps[i]}
		g.Go(func() error {
			// The unpacked layer needs no decompression and no reading of contents.
			if s.Layers.Exists(chains[i]) {
				lc, err := ReadLayerDir(s.Layers.Dir(chains[i]))
				if err == nil {
					out.Layers[i].Content = lc
					return nil
				}
			}
			f, err := s.Content.Open(d.Digest)
			if err != nil {
				return fmt.Errorf("image %s: layer %s: %w", id, d.Digest, err)
			}
			defer f.Close()
			lc, err := readCompressedLayer(f)
			if err != nil {
				return fmt.Errorf("image %s: layer %s: %w", id, d.Digest, err)
			}
			out.Layers[i].Content = lc
			return nil
		})
	}
	return out, g.Wait()
}

func readCompressedLayer(r io.Reader) (*LayerContent, error) {
	dr, _, err := archive.DecompressStream(r)
	if err != nil {
		return nil, err
	}
	defer dr.Close()
	return ReadLayer(dr)
}

// FromArchiveFile reads an image straight from a `docker save` archive (docker-archive, any
// Docker version) or an OCI image layout archive, in one pass over the file, without loading it.
// An archive with several images needs name (a RepoTags entry or an index ref name) to choose.
func FromArchiveFile(file, name string) (Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	img, err := FromArchive(bufio.NewReaderSize(f, 1<<20), name)
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", file, err)
	}
	if img.Name == "" {
		img.Name = file
	}
	return img, nil
}

// archiveScan is what one pass over an image archive found.
type archiveScan struct {
	json     map[string][]byte
	layers   map[string]*LayerContent
	layerErr map[string]error
	links    map[string]string // symlinked layer files (Docker 20.10 links a layer saved twice)
}

const maxArchiveJSON = 16 << 20

// FromArchive is FromArchiveFile over a stream.
func FromArchive(r io.Reader, name string) (Image, error) {
	sc := &archiveScan{json: map[string][]byte{}, layers: map[string]*LayerContent{},
		layerErr: map[string]error{}, links: map[string]string{}}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Image{}, fmt.Errorf("reading archive: %w", err)
		}
		n := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		switch hdr.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			t := hdr.Linkname
			if hdr.Typeflag == tar.TypeSymlink {
				t = path.Join(path.Dir(n), t)
			}
			sc.links[n] = path.Clean(t)
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			continue
		}
		br := bufio.NewReaderSize(tr, 4096)
		head, _ := br.Peek(1)
		if len(head) == 1 && (head[0] == '{' || head[0] == '[') && hdr.Size <= maxArchiveJSON {
			b, err := io.ReadAll(br)
			if err != nil {
				return Image{}, fmt.Errorf("reading archive: %s: %w", n, err)
			}
			sc.json[n] = b
			continue
		}
		if n == "oci-layout" || n == "repositories" || hdr.Size == 0 {
			continue
		}
		lc, err := readCompressedLayer(br)
		if err != nil {
			sc.layerErr[n] = err // fatal only if the image uses it
			continue
		}
		sc.layers[n] = lc
	}
	return sc.image(name)
}

func (sc *archiveScan) resolve(n string) string {
	for i := 0; i < 16; i++ {
		t, ok := sc.links[n]
		if !ok {
			return n
		}
		n = t
	}
	return n
}

func (sc *archiveScan) layer(n string) (*LayerContent, error) {
	n = sc.resolve(path.Clean(n))
	if lc, ok := sc.layers[n]; ok {
		return lc, nil
	}
	if err, ok := sc.layerErr[n]; ok {
		return nil, fmt.Errorf("layer %s: %w", n, err)
	}
	return nil, fmt.Errorf("layer %s is not in the archive", n)
}

func blobPath(d digest.Digest) string { return path.Join("blobs", d.Algorithm().String(), d.Encoded()) }

type archiveItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (sc *archiveScan) image(name string) (Image, error) {
	var cfgRaw []byte
	var layerFiles []string
	var id string
	if raw, ok := sc.json["manifest.json"]; ok {
		var items []archiveItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return Image{}, fmt.Errorf("manifest.json: %w", err)
		}
		it, err := chooseItem(items, name)
		if err != nil {
			return Image{}, err
		}
		if cfgRaw, ok = sc.json[sc.resolve(path.Clean(it.Config))]; !ok {
			return Image{}, fmt.Errorf("config %s is not in the archive", it.Config)
		}
		layerFiles = it.Layers
		if name == "" && len(it.RepoTags) > 0 {
			name = it.RepoTags[0]
		}
	} else if raw, ok := sc.json["index.json"]; ok {
		m, ref, err := sc.ociManifest(raw, name, 0)
		if err != nil {
			return Image{}, err
		}
		if name == "" {
			name = ref
		}
		if cfgRaw, ok = sc.json[blobPath(m.Config.Digest)]; !ok {
			return Image{}, fmt.Errorf("config %s is not in the archive", m.Config.Digest)
		}
		for _, l := range m.Layers {
			layerFiles = append(layerFiles, blobPath(l.Digest))
		}
	} else {
		return Image{}, errors.New("not an image archive: no manifest.json or index.json")
	}
	cfg, err := image.ParseConfig(cfgRaw)
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	id = digest.FromBytes(cfgRaw).String()
	if len(cfg.RootFS.DiffIDs) != len(layerFiles) {
		return Image{}, fmt.Errorf("image %s: manifest has %d layers, config %d", id, len(layerFiles), len(cfg.RootFS.DiffIDs))
	}
	steps := historySteps(cfg, len(layerFiles))
	img := Image{Name: name, ID: id}
	for i, lf := range layerFiles {
		lc, err := sc.layer(lf)
		if err != nil {
			return Image{}, err
		}
		img.Layers = append(img.Layers, Layer{Digest: cfg.RootFS.DiffIDs[i].String(), CreatedBy: steps[i], Content: lc})
	}
	return img, nil
}

func chooseItem(items []archiveItem, name string) (archiveItem, error) {
	if len(items) == 0 {
		return archiveItem{}, errors.New("manifest.json lists no image")
	}
	if name == "" {
		if len(items) > 1 {
			return archiveItem{}, fmt.Errorf("the archive holds %d images: name one", len(items))
		}
		return items[0], nil
	}
	for _, it := range items {
		for _, t := range it.RepoTags {
			if t == name || strings.TrimPrefix(t, "docker.io/library/") == name {
				return it, nil
			}
		}
	}
	return archiveItem{}, fmt.Errorf("No such image in the archive: %s", name)
}

// ociManifest follows index.json (and nested indexes) to the one image manifest it names.
func (sc *archiveScan) ociManifest(raw []byte, name string, depth int) (*image.Manifest, string, error) {
	if depth > 4 {
		return nil, "", errors.New("index nesting too deep")
	}
	var idx image.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, "", fmt.Errorf("index: %w", err)
	}
	var cands []image.Descriptor
	for _, d := range idx.Manifests {
		ref := d.Annotations["org.opencontainers.image.ref.name"]
		if n := d.Annotations["io.containerd.image.name"]; n != "" {
			ref = n
		}
		if name == "" || ref == name || strings.HasSuffix(ref, ":"+name) || strings.TrimPrefix(ref, "docker.io/library/") == name {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return nil, "", fmt.Errorf("No such image in the archive: %s", name)
	}
	if len(cands) > 1 && depth == 0 {
		return nil, "", fmt.Errorf("the archive holds %d images: name one", len(cands))
	}
	d := cands[0]
	b, ok := sc.json[blobPath(d.Digest)]
	if !ok {
		return nil, "", fmt.Errorf("manifest %s is not in the archive", d.Digest)
	}
	ref := d.Annotations["io.containerd.image.name"]
	if ref == "" {
		ref = d.Annotations["org.opencontainers.image.ref.name"]
	}
	var probe struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	_ = json.Unmarshal(b, &probe)
	if len(probe.Manifests) > 0 {
		m, _, err := sc.ociManifest(b, "", depth+1)
		return m, ref, err
	}
	var m image.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	if !bytes.Contains(b, []byte(`"config"`)) {
		return nil, "", fmt.Errorf("manifest %s is not an image manifest", d.Digest)
	}
	return &m, ref, nil
}
