package analysis

import (
	"path"
	"sort"
	"strings"
)

// This file computes dive's efficiency score and wasted bytes the way dive (wagoodman/dive,
// dive/filetree/efficiency.go) computes them, quirks included, so that a CI threshold written
// for `dive --ci` means the same for berth:
//
//   - Each layer is a tree built from its tar entries in order; a path's parents that the tar
//     does not list are implicit nodes with no size that are not directories. ".wh..wh." entries
//     (opaque markers and the like) are not in the tree: dive ignores opaque directories.
//   - Only leaves are visited (an empty directory is a leaf), children in name order, deepest
//     first. A path's size in a layer is its header size; for a whiteout it is 0, unless the
//     path was a directory in the layers below stacked together, then it is the sum of
//     everything under that directory.
//   - Efficiency = Σ over paths of the smallest size seen / Σ of all sizes seen (1 when nothing
//     was seen). Wasted bytes = Σ of all sizes of every path seen in two or more layers.
//   - A whiteout of a path the layers below do not have ends the visit of that layer (dive's
//     visitor returns an error there and logs it).
//
// Stacking here is done once per layer rather than once per whiteout as dive does; the result
// is the same because stacking does not depend on the whiteout being looked at.

type diveNode struct {
	name     string
	parent   *diveNode
	children map[string]*diveNode
	size     int64
	isDir    bool
}

func (n *diveNode) isWhiteout() bool { return strings.HasPrefix(n.name, whiteoutPrefix) }

// path is dive's FileNode.Path: the names from the root, the whiteout prefix removed from the
// node's own name only.
func (n *diveNode) path() string {
	var parts []string
	for cur := n; cur.parent != nil; cur = cur.parent {
		name := cur.name
		if cur == n {
			name = strings.TrimPrefix(name, whiteoutPrefix)
		}
		parts = append(parts, name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.ReplaceAll("/"+strings.Join(parts, "/"), "//", "/")
}

func (n *diveNode) sortedChildren() []*diveNode {
	names := make([]string, 0, len(n.children))
	for k := range n.children {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]*diveNode, len(names))
	for i, k := range names {
		out[i] = n.children[k]
	}
	return out
}

// visitChildFirst visits every node below n (and n itself unless it is the root), deepest
// first; a visitor error stops the walk.
func (n *diveNode) visitChildFirst(fn func(*diveNode) error) error {
	for _, c := range n.sortedChildren() {
		if err := c.visitChildFirst(fn); err != nil {
			return err
		}
	}
	if n.parent == nil {
		return nil
	}
	return fn(n)
}

func (n *diveNode) copyTree(parent *diveNode) *diveNode {
	c := &diveNode{name: n.name, parent: parent, size: n.size, isDir: n.isDir, children: make(map[string]*diveNode, len(n.children))}
	for k, ch := range n.children {
		c.children[k] = ch.copyTree(c)
	}
	return c
}

func newDiveRoot() *diveNode { return &diveNode{children: map[string]*diveNode{}} }

// addPath is dive's FileTree.AddPath.
func (root *diveNode) addPath(p string, size int64, isDir bool) {
	p = path.Clean(p)
	if p == "." {
		return
	}
	names := strings.Split(strings.Trim(p, "/"), "/")
	node := root
	for i, name := range names {
		if name == "" {
			continue
		}
		if c := node.children[name]; c != nil {
			node = c
		} else {
			if strings.HasPrefix(name, whiteoutMetaPrefix) {
				return
			}
			c := &diveNode{name: name, parent: node, children: map[string]*diveNode{}}
			node.children[name] = c
			node = c
		}
		if i == len(names)-1 {
			node.size, node.isDir = size, isDir
		}
	}
}

func (root *diveNode) getNode(p string) *diveNode {
	node := root
	for _, name := range strings.Split(strings.Trim(p, "/"), "/") {
		if name == "" {
			continue
		}
		if node = node.children[name]; node == nil {
			return nil
		}
	}
	return node
}

// stack is dive's FileTree.Stack: graft upper onto root, whiteouts removing.
func (root *diveNode) stack(upper *diveNode) {
	_ = upper.visitChildFirst(func(n *diveNode) error {
		if n.isWhiteout() {
			if t := root.getNode(n.path()); t != nil && t.parent != nil {
				delete(t.parent.children, t.name)
			}
		} else {
			root.addPath(n.path(), n.size, n.isDir)
		}
		return nil
	})
}

// diveTree builds one layer's tree as dive's image reader does.
func diveTree(lc *LayerContent) *diveNode {
	root := newDiveRoot()
	for i := range lc.Entries {
		e := &lc.Entries[i]
		p := e.Path
		switch e.Kind {
		case KindWhiteout:
			dir, base := path.Split(e.Path)
			p = dir + whiteoutPrefix + base
		case KindOpaque:
			p = path.Join(e.Path, whiteoutOpaque)
		}
		root.addPath(p, e.Size, e.IsDir())
	}
	return root
}

// DivePath is one path dive found in more than one layer.
type DivePath struct {
	Path           string `json:"path"`
	Count          int    `json:"count"`          // layers the path was seen in
	CumulativeSize int64  `json:"cumulativeSize"` // Σ its sizes (dive's "wasted space" for it)
}

// DiveResult is what dive reports for an image.
type DiveResult struct {
	Efficiency     float64
	WastedBytes    int64
	Inefficiencies []DivePath // largest first
}

type diveData struct {
	count      int
	cumulative int64
	min        int64
}

// diveEfficiency computes dive's efficiency and wasted bytes over an image's layers, bottom first.
func diveEfficiency(layers []*LayerContent) DiveResult {
	trees := make([]*diveNode, len(layers))
	for i, l := range layers {
		trees[i] = diveTree(l)
	}
	data := map[string]*diveData{}
	var order []string
	var acc *diveNode // layers 0..cur-1 stacked, as dive's StackTreeRange(trees, 0, cur-1)
	for cur, tree := range trees {
		below := acc
		if cur == 0 {
			below = trees[0] // StackTreeRange(trees, 0, -1) is a copy of trees[0], unstacked
		}
		_ = tree.visitChildFirst(func(n *diveNode) error {
			if len(n.children) != 0 {
				return nil
			}
			p := n.path()
			var size int64
			if n.isWhiteout() {
				prev := below.getNode(p)
				if prev == nil {
					return errStopLayer
				}
				if prev.isDir {
					_ = prev.visitSelfAndChildren(func(c *diveNode) { size += c.size })
				}
			} else {
				size = n.size
			}
			d := data[p]
			if d == nil {
				d = &diveData{min: -1}
				data[p] = d
				order = append(order, p)
			}
			d.cumulative += size
			if d.min < 0 || size < d.min {
				d.min = size
			}
			d.count++
			return nil
		})
		if cur == 0 {
			acc = trees[0].copyTree(nil)
		}
		acc.stack(tree)
	}
	var minSum, cumSum int64
	res := DiveResult{}
	for _, p := range order {
		d := data[p]
		minSum += d.min
		cumSum += d.cumulative
		if d.count >= 2 {
			res.WastedBytes += d.cumulative
			res.Inefficiencies = append(res.Inefficiencies, DivePath{Path: p, Count: d.count, CumulativeSize: d.cumulative})
		}
	}
	res.Efficiency = 1
	if cumSum != 0 {
		res.Efficiency = float64(minSum) / float64(cumSum)
	}
	sort.SliceStable(res.Inefficiencies, func(i, j int) bool {
		a, b := res.Inefficiencies[i], res.Inefficiencies[j]
		if a.CumulativeSize != b.CumulativeSize {
			return a.CumulativeSize > b.CumulativeSize
		}
		return a.Path < b.Path
	})
	return res
}

type stopLayer struct{}

func (stopLayer) Error() string { return "whiteout of a path the layers below lack" }

var errStopLayer error = stopLayer{}

func (n *diveNode) visitSelfAndChildren(fn func(*diveNode)) error {
	for _, c := range n.sortedChildren() {
		_ = c.visitSelfAndChildren(fn)
	}
	fn(n)
	return nil
}
