package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"

	"github.com/docker/go-units"
)

// Layer is one layer of an image to analyze, bottom first.
type Layer struct {
	Digest    string // the layer's diff ID (or its blob digest when that is all there is)
	CreatedBy string // the history entry that made it ("(missing)" when the image has none)
	Content   *LayerContent
}

// Image is an image to analyze: its name as the user gave it, its ID and its layers.
type Image struct {
	Name   string
	ID     string
	Layers []Layer
}

// Report is the analysis of one image. Sizes are bytes.
type Report struct {
	Image string `json:"image"`
	ID    string `json:"id"`
	// SizeBytes is Σ of the layers' tar sizes; UserSizeBytes leaves out the first (base) layer.
	SizeBytes     int64 `json:"sizeBytes"`
	UserSizeBytes int64 `json:"userSizeBytes"`
	// Efficiency, WastedBytes and UserWastedPercent are dive's numbers, computed as dive does.
	// UserWastedPercent is a ratio (0.1 = 10 %); it is +Inf when bytes are wasted and the layers
	// above the base add none, and NaN when neither (as in dive).
	Efficiency        float64 `json:"efficiency"`
	WastedBytes       int64   `json:"wastedBytes"`
	UserWastedPercent float64 `json:"-"`
	// ReclaimableBytes is what a better layering would save: the bytes of every entry a later
	// layer overwrote or deleted, counted once.
	ReclaimableBytes int64         `json:"reclaimableBytes"`
	Layers           []LayerReport `json:"layers"`
	// Inefficiencies is dive's list: every path seen in two or more layers, largest first.
	Inefficiencies []DivePath `json:"inefficiencies"`
	// Wasted are the reclaimable bytes grouped by the path that was removed or overwritten and
	// the layer that did it, largest first.
	Wasted []WastedPath `json:"wasted"`
	// Suggestions say, per pair of layers, what to change; largest first.
	Suggestions []Suggestion `json:"suggestions"`
}

// LayerReport is one layer's row.
type LayerReport struct {
	Index     int    `json:"index"`
	Digest    string `json:"digest"`
	CreatedBy string `json:"createdBy"`
	Size      int64  `json:"size"`
	Added     int    `json:"added"`     // paths this layer creates
	Modified  int    `json:"modified"`  // paths it replaces with different content or metadata
	Unchanged int    `json:"unchanged"` // paths it writes again exactly as they were
	Removed   int    `json:"removed"`   // paths it deletes (whiteouts; what an opaque directory hides)
	// FinalBytes is what this layer's entries add to the final filesystem (the bytes no later
	// layer hides); ReclaimableBytes is the rest of its content bytes.
	FinalBytes       int64 `json:"finalBytes"`
	ReclaimableBytes int64 `json:"reclaimableBytes"`
}

// Waste actions.
const (
	ActionDeleted     = "deleted"     // a later whiteout or opaque directory removes it
	ActionOverwritten = "overwritten" // a later layer writes the same path with other content
	ActionRecopied    = "recopied"    // a later layer writes the same path with the same content
	ActionReplaced    = "replaced"    // a later layer puts a non-directory where its directory was
)

// WastedPath is reclaimable space under one path, removed or overwritten by one layer.
type WastedPath struct {
	Path      string `json:"path"`
	Bytes     int64  `json:"bytes"`
	Files     int    `json:"files"`
	Action    string `json:"action"`
	WrittenBy []int  `json:"writtenBy"` // layer indexes that wrote the hidden entries
	RemovedBy int    `json:"removedBy"` // the layer that hid them
}

// Suggestion is what to change so that the bytes one layer writes and a later one hides are
// never stored.
type Suggestion struct {
	WrittenBy int    `json:"writtenBy"`
	RemovedBy int    `json:"removedBy"`
	Bytes     int64  `json:"bytes"`
	Files     int    `json:"files"`
	Action    string `json:"action"`
	Message   string `json:"message"`
}

// MaxWasted bounds Report.Wasted.
const MaxWasted = 50

// Analyze computes the report of an image whose layers have been read.
func Analyze(img Image) *Report {
	contents := make([]*LayerContent, len(img.Layers))
	r := &Report{Image: img.Name, ID: img.ID, Layers: make([]LayerReport, len(img.Layers))}
	for i, l := range img.Layers {
		contents[i] = l.Content
		r.SizeBytes += l.Content.TarSize
		if i > 0 {
			r.UserSizeBytes += l.Content.TarSize
		}
		r.Layers[i] = LayerReport{Index: i, Digest: l.Digest, CreatedBy: l.CreatedBy, Size: l.Content.TarSize}
	}
	d := diveEfficiency(contents)
	r.Efficiency, r.WastedBytes, r.Inefficiencies = d.Efficiency, d.WastedBytes, d.Inefficiencies
	if r.Inefficiencies == nil {
		r.Inefficiencies = []DivePath{}
	}
	r.UserWastedPercent = float64(r.WastedBytes) / float64(r.UserSizeBytes)

	countChanges(contents, r.Layers)
	r.reclaimable(img)
	return r
}

// MarshalJSON writes the report with userWastedPercent, null when it is not a number (JSON has
// no NaN or infinity).
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		*plain
		UserWastedPercent *float64 `json:"userWastedPercent"`
	}{(*plain)(r), r.UserWastedRatio()})
}

// UserWastedRatio is UserWastedPercent for JSON: null when it is not a number.
func (r *Report) UserWastedRatio() *float64 {
	if math.IsNaN(r.UserWastedPercent) || math.IsInf(r.UserWastedPercent, 0) {
		return nil
	}
	v := r.UserWastedPercent
	return &v
}

// countChanges replays the layers onto one tree and counts what each adds, changes and removes.
func countChanges(layers []*LayerContent, out []LayerReport) {
	fs := newFSTree()
	for i, l := range layers {
		lr := &out[i]
		// A layer's whiteouts and opaque markers apply to the layers below it, whatever their
		// place in its tar, so they go first.
		for j := range l.Entries {
			e := &l.Entries[j]
			switch e.Kind {
			case KindWhiteout:
				if n := fs.get(e.Path); n != nil {
					lr.Removed += 1 + n.descendants()
					fs.remove(e.Path)
				}
			case KindOpaque:
				if n := fs.get(e.Path); n != nil {
					lr.Removed += n.descendants()
					n.children = nil
				}
			}
		}
		for j := range l.Entries {
			e := &l.Entries[j]
			switch e.Kind {
			case KindEntry:
				n := fs.get(e.Path)
				switch {
				case n == nil || n.entry == nil:
					lr.Added++
				case e.IsDir() && n.entry.IsDir():
					if e.Mode != n.entry.Mode || e.UID != n.entry.UID || e.GID != n.entry.GID {
						lr.Modified++
					}
				case e.sameContent(n.entry):
					lr.Unchanged++
				default:
					lr.Modified++
				}
				if n != nil && n.entry != nil && n.entry.IsDir() && !e.IsDir() {
					n.children = nil
				}
				fs.put(e.Path, e, i)
			}
		}
	}
}

// hider is what the layers above have put at a path, nearest layer first.
type hider struct {
	layer  int
	entry  *Entry
	covers bool // hides everything below the path too (whiteout, opaque directory, non-directory)
	hides  bool // hides the entry at the path itself (anything but an opaque marker)
}

// reclaimable walks the layers top-down: an entry is hidden when a layer above wrote or deleted
// its path, or deleted or replaced a directory above it.
func (r *Report) reclaimable(img Image) {
	above := map[string]hider{}
	type key struct {
		path    string
		removed int
		action  string
	}
	groups := map[key]*WastedPath{}
	type share struct {
		bytes int64
		files int
	}
	writers := map[key]map[int]*share{}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		entries := img.Layers[i].Content.Entries
		for j := range entries {
			e := &entries[j]
			if e.Kind != KindEntry || e.IsDir() {
				continue
			}
			h, at, ok := hiddenBy(above, e.Path)
			if !ok {
				r.Layers[i].FinalBytes += e.Size
				continue
			}
			action := ActionDeleted
			switch {
			case at == e.Path && h.entry != nil && h.entry.Kind == KindEntry && e.sameContent(h.entry):
				action = ActionRecopied
			case at == e.Path && h.entry != nil && h.entry.Kind == KindEntry:
				action = ActionOverwritten
			case h.entry != nil && h.entry.Kind == KindEntry:
				action = ActionReplaced
			}
			r.Layers[i].ReclaimableBytes += e.Size
			r.ReclaimableBytes += e.Size
			k := key{at, h.layer, action}
			g := groups[k]
			if g == nil {
				g = &WastedPath{Path: at, Action: action, RemovedBy: h.layer}
				groups[k] = g
				writers[k] = map[int]*share{}
			}
			g.Bytes += e.Size
			g.Files++
			sh := writers[k][i]
			if sh == nil {
				sh = &share{}
				writers[k][i] = sh
			}
			sh.bytes += e.Size
			sh.files++
		}
		// Now this layer is "above" for the layers below it; a nearer layer replaces a farther one.
		mine := map[string]hider{}
		for j := range entries {
			e := &entries[j]
			h, ok := mine[e.Path]
			if !ok {
				h = hider{layer: i}
			}
			switch e.Kind {
			case KindWhiteout:
				h.covers, h.hides = true, true
				if h.entry == nil || h.entry.Kind != KindEntry {
					h.entry = e
				}
			case KindOpaque:
				h.covers = true
				if h.entry == nil {
					h.entry = e
				}
			case KindEntry:
				h.hides, h.entry = true, e
				if !e.IsDir() {
					h.covers = true
				}
			default:
				continue
			}
			mine[e.Path] = h
		}
		for p, h := range mine {
			above[p] = h
		}
	}

	type pair struct {
		w, rm  int
		action string
	}
	sugg := map[pair]*Suggestion{}
	for k, g := range groups {
		for w := range writers[k] {
			g.WrittenBy = append(g.WrittenBy, w)
		}
		sort.Ints(g.WrittenBy)
		r.Wasted = append(r.Wasted, *g)
		for w, b := range writers[k] {
			act := g.Action
			if act == ActionReplaced {
				act = ActionDeleted
			}
			p := pair{w, g.RemovedBy, act}
			s := sugg[p]
			if s == nil {
				s = &Suggestion{WrittenBy: w, RemovedBy: g.RemovedBy, Action: act}
				sugg[p] = s
			}
			s.Bytes += b.bytes
			s.Files += b.files
		}
	}
	sort.Slice(r.Wasted, func(i, j int) bool {
		a, b := r.Wasted[i], r.Wasted[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.RemovedBy < b.RemovedBy
	})
	if len(r.Wasted) > MaxWasted {
		r.Wasted = r.Wasted[:MaxWasted]
	}
	if r.Wasted == nil {
		r.Wasted = []WastedPath{}
	}
	r.Suggestions = []Suggestion{}
	for _, s := range sugg {
		if s.Bytes == 0 {
			continue
		}
		s.Message = suggestion(img, *s)
		r.Suggestions = append(r.Suggestions, *s)
	}
	sort.Slice(r.Suggestions, func(i, j int) bool {
		a, b := r.Suggestions[i], r.Suggestions[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		if a.WrittenBy != b.WrittenBy {
			return a.WrittenBy < b.WrittenBy
		}
		return a.RemovedBy < b.RemovedBy
	})
}

// hiddenBy finds the nearest layer above that hides p: one that put something at p itself, or
// that deleted, made opaque or replaced with a non-directory a directory above p.
func hiddenBy(above map[string]hider, p string) (hider, string, bool) {
	best, at, found := hider{}, "", false
	if h, ok := above[p]; ok && h.hides {
		best, at, found = h, p, true
	}
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if h, ok := above[dir]; ok && h.covers && (!found || h.layer < best.layer) {
			best, at, found = h, dir, true
		}
		if dir == "/" {
			break
		}
	}
	return best, at, found
}

func suggestion(img Image, s Suggestion) string {
	w, rm := img.Layers[s.WrittenBy].CreatedBy, img.Layers[s.RemovedBy].CreatedBy
	size := units.HumanSizeWithPrecision(float64(s.Bytes), 3)
	wIsCopy := isCopyStep(w)
	switch s.Action {
	case ActionDeleted:
		if wIsCopy {
			return fmt.Sprintf("layer %d %s removes %s written by layer %d %s: leave those files out of the build context (.dockerignore) or out of the COPY",
				s.RemovedBy, quoteStep(rm), size, s.WrittenBy, quoteStep(w))
		}
		return fmt.Sprintf("layer %d %s removes %s written by layer %d %s: do both in one RUN",
			s.RemovedBy, quoteStep(rm), size, s.WrittenBy, quoteStep(w))
	case ActionRecopied:
		return fmt.Sprintf("layer %d %s writes %s again unchanged that layer %d %s already wrote: drop the second copy",
			s.RemovedBy, quoteStep(rm), size, s.WrittenBy, quoteStep(w))
	default:
		return fmt.Sprintf("layer %d %s overwrites %s written by layer %d %s: write those files once, in the later step",
			s.RemovedBy, quoteStep(rm), size, s.WrittenBy, quoteStep(w))
	}
}

// Step is a history created_by as the Dockerfile said it: without the classic builder's
// "/bin/sh -c #(nop) " and BuildKit's "RUN |2 A=b C=d /bin/sh -c … # buildkit".
func Step(createdBy string) string {
	s := strings.TrimSpace(createdBy)
	s = strings.TrimSpace(strings.TrimSuffix(s, "# buildkit"))
	s = strings.TrimPrefix(s, "/bin/sh -c #(nop) ")
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c "); ok {
		s = "RUN " + rest
	}
	if rest, ok := strings.CutPrefix(s, "RUN "); ok {
		// BuildKit lists the build arguments a RUN saw: "|N k=v ... " (N of them).
		if strings.HasPrefix(rest, "|") {
			f := strings.SplitN(rest[1:], " ", 2)
			n := 0
			for _, c := range f[0] {
				if c < '0' || c > '9' {
					n = -1
					break
				}
				n = n*10 + int(c-'0')
			}
			if n >= 0 && len(f) == 2 {
				parts := strings.SplitN(f[1], " ", n+1)
				if len(parts) == n+1 {
					rest = parts[n]
				}
			}
		}
		rest = strings.TrimPrefix(rest, "/bin/sh -c ")
		s = "RUN " + rest
	}
	return strings.TrimSpace(s)
}

func isCopyStep(createdBy string) bool {
	s := strings.ToUpper(Step(createdBy))
	return strings.HasPrefix(s, "COPY ") || strings.HasPrefix(s, "ADD ")
}

func quoteStep(createdBy string) string {
	s := Step(createdBy)
	if s == "" {
		s = "(missing)"
	}
	const max = 60
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return "`" + s + "`"
}
