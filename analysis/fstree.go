package analysis

import (
	"sort"
	"strings"
)

// fsNode is a node of a merged filesystem tree; entry is nil for a parent no layer listed.
type fsNode struct {
	name     string
	entry    *Entry
	layer    int
	children map[string]*fsNode
}

func newFSTree() *fsNode { return &fsNode{} }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (n *fsNode) get(p string) *fsNode {
	for _, name := range splitPath(p) {
		if n = n.children[name]; n == nil {
			return nil
		}
	}
	return n
}

// put sets the entry at p, creating parents that are missing.
func (n *fsNode) put(p string, e *Entry, layer int) *fsNode {
	for _, name := range splitPath(p) {
		c := n.children[name]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*fsNode{}
			}
			c = &fsNode{name: name, layer: layer}
			n.children[name] = c
		}
		n = c
	}
	n.entry, n.layer = e, layer
	return n
}

func (n *fsNode) remove(p string) {
	names := splitPath(p)
	if len(names) == 0 {
		return
	}
	parent := n.get(strings.Join(names[:len(names)-1], "/"))
	if parent != nil {
		delete(parent.children, names[len(names)-1])
	}
}

func (n *fsNode) descendants() int {
	c := 0
	for _, ch := range n.children {
		c += 1 + ch.descendants()
	}
	return c
}

func (n *fsNode) sortedChildren() []*fsNode {
	out := make([]*fsNode, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
