package image

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/berth-engine/berth/metadata"
	"github.com/opencontainers/go-digest"
)

// InspectResponse is `image inspect`'s JSON, in the shape and field order of Docker's ImageInspect.
type InspectResponse struct {
	ID              string           `json:"Id"`
	RepoTags        []string         `json:"RepoTags"`
	RepoDigests     []string         `json:"RepoDigests"`
	Parent          string           `json:"Parent"`
	Comment         string           `json:"Comment"`
	Created         string           `json:"Created"`
	Container       string           `json:"Container"`
	ContainerConfig *ContainerConfig `json:"ContainerConfig"`
	DockerVersion   string           `json:"DockerVersion"`
	Author          string           `json:"Author"`
	Config          *ContainerConfig `json:"Config"`
	Architecture    string           `json:"Architecture"`
	Variant         string           `json:"Variant,omitempty"`
	Os              string           `json:"Os"`
	OsVersion       string           `json:"OsVersion,omitempty"`
	Size            int64            `json:"Size"`
	VirtualSize     int64            `json:"VirtualSize"`
	GraphDriver     GraphDriver      `json:"GraphDriver"`
	RootFS          InspectRootFS    `json:"RootFS"`
	Metadata        InspectMetadata  `json:"Metadata"`
}

// GraphDriver says where the image's layers are unpacked.
type GraphDriver struct {
	Data map[string]string `json:"Data"`
	Name string            `json:"Name"`
}

// InspectRootFS lists the layers' diff IDs.
type InspectRootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers,omitempty"`
}

// InspectMetadata holds what the store knows beyond the config.
type InspectMetadata struct {
	LastTagTime time.Time `json:"LastTagTime"`
}

// Inspect resolves ref and describes the image like `docker image inspect`.
func (s *Store) Inspect(ref string) (*InspectResponse, error) {
	id, err := s.Resolve(ref)
	if errors.Is(err, ErrNoSuchImage) {
		return nil, NotFoundError{ref} // docker image inspect echoes the argument
	}
	if err != nil {
		return nil, err
	}
	img, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	c := img.Config
	r := &InspectResponse{
		ID: id, RepoTags: []string{}, RepoDigests: []string{}, Parent: c.Parent, Comment: c.Comment,
		Container: c.Container, ContainerConfig: c.ContainerConfig, DockerVersion: c.DockerVersion,
		Author: c.Author, Config: c.Config, Architecture: c.Architecture, Variant: c.Variant,
		Os: c.OS, OsVersion: c.OSVersion, Size: img.Size, VirtualSize: img.Size,
		Metadata: InspectMetadata{LastTagTime: img.LastTagTime.UTC()},
		RootFS:   InspectRootFS{Type: c.RootFS.Type},
	}
	if r.Comment == "" && len(c.History) > 0 {
		// Docker's daemon: an image without a comment of its own shows its last history entry's.
		r.Comment = c.History[len(c.History)-1].Comment
	}
	if img.LastTagTime.IsZero() {
		r.Metadata.LastTagTime = time.Time{}
	}
	if c.Created != nil {
		r.Created = c.Created.UTC().Format(time.RFC3339Nano)
	}
	if r.ContainerConfig == nil {
		r.ContainerConfig = &ContainerConfig{}
	}
	if r.Config == nil {
		r.Config = &ContainerConfig{}
	}
	for _, d := range c.RootFS.DiffIDs {
		r.RootFS.Layers = append(r.RootFS.Layers, d.String())
	}
	for _, n := range img.Names {
		if n.Kind == metadata.KindDigest {
			r.RepoDigests = append(r.RepoDigests, familiarStored(n.Name))
		} else {
			r.RepoTags = append(r.RepoTags, familiarStored(n.Name))
		}
	}
	sort.Strings(r.RepoTags)
	sort.Strings(r.RepoDigests)
	r.GraphDriver = GraphDriver{Name: "overlay", Data: map[string]string{}}
	if n := len(img.Layers); n > 0 {
		r.GraphDriver.Data["UpperDir"] = s.Layers.Dir(digest.Digest(img.Layers[n-1]))
		var lowers []string
		for i := n - 2; i >= 0; i-- {
			lowers = append(lowers, s.Layers.Dir(digest.Digest(img.Layers[i])))
		}
		if len(lowers) > 0 {
			r.GraphDriver.Data["LowerDir"] = strings.Join(lowers, ":")
		}
	}
	return r, nil
}

// HistoryItem is one row of `history` (Docker's HistoryResponseItem).
type HistoryItem struct {
	ID        string // the image ID for the top row of each image in the parent chain, else "<missing>"
	Created   time.Time
	CreatedBy string
	Tags      []string
	Size      int64
	Comment   string
}

// History lists how an image was made, newest step first.
func (s *Store) History(ref string) ([]HistoryItem, error) {
	id, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	img, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	var items []HistoryItem
	layer := 0
	err = s.DB.View(func(tx *metadata.Tx) error {
		for _, h := range img.Config.History {
			var size int64
			if !h.EmptyLayer {
				if layer >= len(img.Layers) {
					return errors.New("too many non-empty layers in History section")
				}
				l, err := tx.Layer(img.Layers[layer])
				if err != nil {
					return err
				}
				size = l.Size
				layer++
			}
			item := HistoryItem{ID: "<missing>", CreatedBy: h.CreatedBy, Size: size, Comment: h.Comment}
			if h.Created != nil {
				item.Created = *h.Created
			}
			items = append([]HistoryItem{item}, items...)
		}
		// Name the rows that are whole images: this one, then its parents while they exist.
		cur := img.Image
		for i := range items {
			items[i].ID = cur.ID
			names, err := tx.NamesOf(cur.ID)
			if err != nil {
				return err
			}
			for _, n := range names {
				if n.Kind == metadata.KindTag {
					items[i].Tags = append(items[i].Tags, familiarStored(n.Name))
				}
			}
			if cur.Parent == "" {
				break
			}
			if cur, err = tx.Image(cur.Parent); err != nil {
				break
			}
		}
		return nil
	})
	return items, err
}
