package image

import (
	"sort"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
)

// Summary is one image as listings show it (Docker's ImageSummary).
type Summary struct {
	ID          string
	ParentID    string
	RepoTags    []string // familiar "repo:tag"; ["<none>:<none>"] for a dangling image
	RepoDigests []string // familiar "repo@sha256:..."; ["<none>@<none>"] for a dangling image
	Created     time.Time
	Size        int64
	SharedSize  int64 // -1 unless asked for (system df -v)
	Containers  int64 // -1 unless asked for
	Labels      map[string]string
	Layers      []string // chain IDs, only when asked for
}

// ListOptions are `images` flags.
type ListOptions struct {
	All     bool        // -a: include intermediate images
	Filters format.Args // dangling, label, before, since, reference, until
	// Containers fills Summary.Containers with the number of containers using each image
	// (the Engine API's GET /images/json from version 1.51).
	Containers bool
}

var imageFilters = map[string]bool{
	"dangling": true, "label": true, "before": true, "since": true, "reference": true, "until": true,
}

// listQuery is a listing's filters, read and checked once.
type listQuery struct {
	opts                 ListOptions
	danglingOnly         bool
	before, since, until time.Time
	patterns             []string
	perImage             map[string]int64 // containers per image, with opts.Containers
}

func newListQuery(opts ListOptions) (*listQuery, error) {
	f := opts.Filters
	if err := f.Validate(imageFilters); err != nil {
		return nil, err
	}
	q := &listQuery{opts: opts, patterns: f.Get("reference")}
	if f.Contains("dangling") {
		v, err := f.GetBoolOrDefault("dangling", false)
		if err != nil {
			return nil, err
		}
		q.danglingOnly = v
	}
	if err := f.WalkValues("until", func(v string) error {
		t, err := ParseTimestamp(v, time.Now())
		q.until = t
		return err
	}); err != nil {
		return nil, err
	}
	return q, nil
}

// needsDB says whether the query reads more than the listing: the before and since filters
// name images to resolve, and the container counts come from the containers' rows.
func (q *listQuery) needsDB() bool {
	return q.opts.Containers || q.opts.Filters.Contains("before") || q.opts.Filters.Contains("since")
}

// List returns the images matching opts, newest first, with Docker's filter semantics.
func (s *Store) List(opts ListOptions) ([]Summary, error) {
	q, err := newListQuery(opts)
	if err != nil {
		return nil, err
	}
	var out []Summary
	err = s.DB.View(func(tx *metadata.Tx) error {
		for key, t := range map[string]*time.Time{"before": &q.before, "since": &q.since} {
			err := opts.Filters.WalkValues(key, func(v string) error {
				id, err := resolve(tx, v)
				if err != nil {
					return err
				}
				img, err := tx.Image(id)
				if err != nil {
					return err
				}
				*t = img.Created
				return nil
			})
			if err != nil {
				return err
			}
		}
		images, err := tx.Listing()
		if err != nil {
			return err
		}
		if opts.Containers {
			containers, err := tx.Containers()
			if err != nil {
				return err
			}
			q.perImage = map[string]int64{}
			for _, c := range containers {
				q.perImage[c.ImageID]++
			}
		}
		out, err = q.summaries(images)
		return err
	})
	return out, err
}

// ListAt is List over the store at root. A listing that needs nothing but the images and their
// names is read without opening the store when the database's listing cache is sealed
// (metadata.SealedListing): what `berth images` does most of the time, and a fifth of its CPU
// was opening the database.
func ListAt(root string, opts ListOptions) ([]Summary, error) {
	q, err := newListQuery(opts)
	if err != nil {
		return nil, err
	}
	if !q.needsDB() {
		if images, ok := metadata.SealedListing(dbPath(root)); ok {
			return q.summaries(images)
		}
	}
	s, err := Open(root)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.List(opts)
}

// summaries is the listing's images that match q, as Summaries.
func (q *listQuery) summaries(images []metadata.Image) ([]Summary, error) {
	f, opts := q.opts.Filters, q.opts
	hasChildren := map[string]bool{}
	for _, img := range images {
		if img.Parent != "" {
			hasChildren[img.Parent] = true
		}
	}
	out := make([]Summary, 0, len(images))
	for _, img := range images {
		if !q.before.IsZero() && !img.Created.Before(q.before) {
			continue
		}
		if !q.since.IsZero() && !img.Created.After(q.since) {
			continue
		}
		if !q.until.IsZero() && !img.Created.Before(q.until) {
			continue
		}
		if f.Contains("label") && !f.MatchKVList("label", img.Labels) {
			continue
		}
		sum := Summary{ID: img.ID, ParentID: img.Parent, Created: img.Created, Size: img.Size,
			SharedSize: -1, Containers: -1, Labels: img.Labels}
		if opts.Containers {
			sum.Containers = q.perImage[img.ID]
		}
		for _, n := range img.Names {
			if len(q.patterns) > 0 {
				found := false
				for _, p := range q.patterns {
					ok, err := reference.MatchStored(p, n.Name)
					if err != nil {
						return nil, err
					}
					if ok {
						found = true
						break
					}
				}
				if !found {
					continue
				}
			}
			if n.Kind == metadata.KindDigest {
				sum.RepoDigests = append(sum.RepoDigests, reference.FamiliarStored(n.Name))
			} else {
				sum.RepoTags = append(sum.RepoTags, reference.FamiliarStored(n.Name))
			}
		}
		if sum.RepoTags == nil && sum.RepoDigests == nil {
			if !opts.All && hasChildren[img.ID] {
				continue
			}
			if f.Contains("dangling") && !q.danglingOnly {
				continue
			}
			if len(q.patterns) > 0 {
				continue
			}
			sum.RepoTags = []string{"<none>:<none>"}
			sum.RepoDigests = []string{"<none>@<none>"}
		} else if q.danglingOnly && len(sum.RepoTags) > 0 {
			continue
		}
		out = append(out, sum)
	}
	return out, nil
}

// IsDangling reports whether a summary stands for an image without names.
func (s Summary) IsDangling() bool {
	return len(s.RepoTags) == 1 && s.RepoTags[0] == "<none>:<none>" &&
		len(s.RepoDigests) == 1 && s.RepoDigests[0] == "<none>@<none>"
}

// ParseTimestamp reads a filter time the way Docker does (see format.ParseTimestamp).
func ParseTimestamp(value string, now time.Time) (time.Time, error) {
	return format.ParseTimestamp(value, now)
}

// DiskUsage is what `system df` reports about images.
type DiskUsage struct {
	Images     []Summary // with SharedSize, Containers and Layers filled in
	LayersSize int64     // all layers, each counted once
}

// DiskUsage lists every image with the size it shares with others and the containers using it.
func (s *Store) DiskUsage() (DiskUsage, error) {
	var du DiskUsage
	images, err := s.List(ListOptions{All: true})
	if err != nil {
		return du, err
	}
	err = s.DB.View(func(tx *metadata.Tx) error {
		layers, err := tx.Layers()
		if err != nil {
			return err
		}
		imageLayers, err := tx.ImageLayers()
		if err != nil {
			return err
		}
		containers, err := tx.Containers()
		if err != nil {
			return err
		}
		users := map[string]int{}
		for _, il := range imageLayers {
			for _, c := range il {
				users[c]++
			}
		}
		for _, l := range layers {
			du.LayersSize += l.Size
		}
		perImage := map[string]int64{}
		for _, c := range containers {
			perImage[c.ImageID]++
		}
		for i := range images {
			img := &images[i]
			img.Layers = imageLayers[img.ID]
			img.Containers = perImage[img.ID]
			img.SharedSize = 0
			for _, c := range img.Layers {
				if users[c] > 1 {
					img.SharedSize += layers[c].Size
				}
			}
		}
		return nil
	})
	du.Images = images
	sort.SliceStable(du.Images, func(i, j int) bool { return du.Images[i].Created.After(du.Images[j].Created) })
	return du, err
}
