package analysis

import "fmt"

// File statuses in a layer's tree.
const (
	StatusAdded     = "added"
	StatusModified  = "modified"
	StatusUnchanged = "unchanged" // written again by this layer exactly as it was
	StatusRemoved   = "removed"
)

// FileNode is one path of the filesystem as it stands after a layer, with what that layer did to
// it (Status empty when the layer did not touch it). Removed paths stay in the tree, marked.
type FileNode struct {
	Name     string      `json:"name"`
	Path     string      `json:"path"`
	Type     string      `json:"type"` // file, dir, symlink, hardlink, char, block, fifo
	Size     int64       `json:"size"`
	Mode     int64       `json:"mode"`
	UID      int         `json:"uid"`
	GID      int         `json:"gid"`
	Linkname string      `json:"linkname,omitempty"`
	Layer    int         `json:"layer"` // the layer the entry comes from
	Status   string      `json:"status,omitempty"`
	Children []*FileNode `json:"children,omitempty"`
}

func typeName(t byte) string {
	switch t {
	case '0', 0:
		return "file"
	case '1':
		return "hardlink"
	case '2':
		return "symlink"
	case '3':
		return "char"
	case '4':
		return "block"
	case '5':
		return "dir"
	case '6':
		return "fifo"
	}
	return string(t)
}

// Files is the filesystem after layer idx (0-based; -1 for the last), marked with what that
// layer added, modified and removed. With changedOnly only the paths the layer touched are kept
// (and the directories leading to them).
func Files(img Image, idx int, changedOnly bool) (*FileNode, error) {
	if idx < 0 {
		idx = len(img.Layers) - 1
	}
	if idx < 0 || idx >= len(img.Layers) {
		return nil, fmt.Errorf("layer %d out of range: the image has %d layers", idx, len(img.Layers))
	}
	fs := newFSTree()
	status := map[*fsNode]string{}
	removed := map[string]*fsNode{} // path → what was there before layer idx removed it
	for i := 0; i <= idx; i++ {
		entries := img.Layers[i].Content.Entries
		for j := range entries {
			e := &entries[j]
			n := fs.get(e.Path)
			switch {
			case n == nil:
			case e.Kind == KindWhiteout:
				if i == idx {
					removed[e.Path] = n
				}
				fs.remove(e.Path)
			case e.Kind == KindOpaque:
				if i == idx {
					for _, c := range n.children {
						removed[joinPath(e.Path, c.name)] = c
					}
				}
				n.children = nil
			}
		}
		for j := range entries {
			e := &entries[j]
			if e.Kind != KindEntry {
				continue
			}
			prev := fs.get(e.Path)
			var old *Entry
			if prev != nil {
				old = prev.entry
				if old != nil && old.IsDir() && !e.IsDir() {
					prev.children = nil
				}
			}
			n := fs.put(e.Path, e, i)
			if i != idx {
				continue
			}
			switch {
			case old == nil:
				status[n] = StatusAdded
			case e.IsDir() && old.IsDir():
				if e.Mode != old.Mode || e.UID != old.UID || e.GID != old.GID {
					status[n] = StatusModified
				}
			case e.sameContent(old):
				status[n] = StatusUnchanged
			default:
				status[n] = StatusModified
			}
		}
	}
	for p, n := range removed {
		if fs.get(p) != nil {
			continue // written again by the same layer: shown as what it is now
		}
		parent := fs.get(parentPath(p))
		if parent == nil {
			parent = fs.put(parentPath(p), nil, idx)
		}
		if parent.children == nil {
			parent.children = map[string]*fsNode{}
		}
		parent.children[n.name] = n
		markRemoved(n, status)
	}
	root := convert(fs, "/", status, changedOnly)
	if root == nil {
		root = &FileNode{Name: "/", Path: "/", Type: "dir"}
	}
	return root, nil
}

func markRemoved(n *fsNode, status map[*fsNode]string) {
	status[n] = StatusRemoved
	for _, c := range n.children {
		markRemoved(c, status)
	}
}

func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

func parentPath(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

func convert(n *fsNode, p string, status map[*fsNode]string, changedOnly bool) *FileNode {
	fn := &FileNode{Name: n.name, Path: p, Type: "dir", Layer: n.layer, Status: status[n]}
	if p == "/" {
		fn.Name = "/"
	}
	if e := n.entry; e != nil {
		fn.Type, fn.Size, fn.Mode, fn.UID, fn.GID, fn.Linkname = typeName(e.Type), e.Size, e.Mode, e.UID, e.GID, e.Linkname
	}
	for _, c := range n.sortedChildren() {
		if cn := convert(c, joinPath(p, c.name), status, changedOnly); cn != nil {
			fn.Children = append(fn.Children, cn)
		}
	}
	if changedOnly && fn.Status == "" && len(fn.Children) == 0 && p != "/" {
		return nil
	}
	return fn
}
