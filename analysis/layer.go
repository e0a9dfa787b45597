// Package analysis answers "how well are this image's layers built?" and "what in this Dockerfile
// will build them badly?" as plain values that a CLI, the Engine API and the web UI can all show.
//
// Image analysis reads every layer once, as its tar stream (from the content store or straight
// from a `docker save` / OCI archive file), keeping per entry only its header facts and a content
// hash. From those [Analyze] computes:
//
//   - dive's efficiency score and wasted bytes, by dive's own algorithm (see dive.go), so CI
//     thresholds written for dive carry over;
//   - berth's reclaimable bytes: the bytes of every entry that the final filesystem does not show
//     because a later layer overwrote or deleted it (itself or a directory above it) — what a
//     better layering would save, each byte counted once;
//   - per layer: the instruction that made it, its size, entries added / modified / removed and
//     the bytes it adds to the final filesystem;
//   - the top wasted paths, each with the layers that wrote and removed it and a suggestion.
//
// Dockerfile checks (check.go) are BuildKit's build checks plus layer-construction rules named
// after hadolint's.
package analysis

import (
	"archive/tar"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"strings"
)

// Whiteout naming as in the OCI image spec (AUFS style).
const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	whiteoutOpaque     = ".wh..wh..opq"
)

// Kind says what a layer entry does to the filesystem below it.
type Kind uint8

const (
	// KindEntry adds or replaces the entry at Path.
	KindEntry Kind = iota
	// KindWhiteout deletes Path (and everything under it) from the layers below.
	KindWhiteout
	// KindOpaque hides everything the layers below have under the directory Path.
	KindOpaque
	// KindMeta is another ".wh..wh." marker (hard-link bookkeeping of AUFS); it changes nothing.
	KindMeta
)

// Entry is one tar entry of a layer: header facts and a hash of the content, never the content.
type Entry struct {
	Path     string // absolute and clean: "/etc/passwd"; for a whiteout, the path it deletes
	Kind     Kind
	Type     byte  // tar type flag (tar.TypeReg, tar.TypeDir, tar.TypeLink, ...)
	Size     int64 // the header's size: content bytes of a regular file, 0 for hard links and dirs
	Linkname string
	Mode     int64
	UID, GID int
	Hash     uint64 // hash of a regular file's content (same seed for one process), else 0
	src      string // for an entry read from a directory: the file, hashed when first needed
}

// contentHash is Hash, computed from the file on first use for an entry read from a layer
// directory. A file that cannot be read hashes as its path, so it never compares equal.
func (e *Entry) contentHash() uint64 {
	if e.src != "" {
		h, err := hashFile(e.src)
		if err != nil {
			var mh maphash.Hash
			mh.SetSeed(hashSeed)
			mh.WriteString("unreadable:" + e.src)
			h = mh.Sum64()
		}
		e.Hash, e.src = h, ""
	}
	return e.Hash
}

// IsDir reports whether the entry is a directory.
func (e *Entry) IsDir() bool { return e.Kind == KindEntry && e.Type == tar.TypeDir }

// sameContent reports whether two entries at one path would look the same in a container:
// same type, content, link target, mode and owner (dive's "unmodified").
func (e *Entry) sameContent(o *Entry) bool {
	return e.Kind == o.Kind && e.Type == o.Type && e.Linkname == o.Linkname &&
		e.Mode == o.Mode && e.UID == o.UID && e.GID == o.GID && e.Size == o.Size &&
		e.contentHash() == o.contentHash()
}

// LayerContent is what one layer's tar holds.
type LayerContent struct {
	Entries []Entry
	TarSize int64 // Σ header sizes of every entry (dive's layer size)
}

// isSparse reports a sparse entry: its holes are not in the stream, and a hostile header can
// claim exabytes of them, so its content is never read (entries compare by size and header).
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// hashSeed is shared by every layer read in this process, so hashes of equal contents compare equal.
var hashSeed = maphash.MakeSeed()

// ReadLayer reads an uncompressed layer tar stream to its end and returns its entries. A PAX
// global header is skipped; names are cleaned; an entry naming the root itself is skipped.
func ReadLayer(r io.Reader) (*LayerContent, error) {
	tr := tar.NewReader(r)
	lc := &LayerContent{}
	var h maphash.Hash
	h.SetSeed(hashSeed)
	buf := make([]byte, 256<<10)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer tar: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := path.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		e := Entry{Path: name, Type: hdr.Typeflag, Size: hdr.Size, Linkname: hdr.Linkname,
			Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid}
		dir, base := path.Split(name)
		switch {
		case base == whiteoutOpaque:
			e.Kind, e.Path = KindOpaque, path.Clean(dir)
		case strings.HasPrefix(base, whiteoutMetaPrefix):
			e.Kind = KindMeta
		case strings.HasPrefix(base, whiteoutPrefix):
			e.Kind, e.Path = KindWhiteout, path.Join(dir, base[len(whiteoutPrefix):])
		}
		if e.Kind == KindEntry && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && hdr.Size > 0 && !isSparse(hdr) {
			h.Reset()
			if _, err := io.CopyBuffer(&h, tr, buf); err != nil {
				return nil, fmt.Errorf("reading layer tar: %s: %w", hdr.Name, err)
			}
			e.Hash = h.Sum64()
		}
		lc.TarSize += hdr.Size
		lc.Entries = append(lc.Entries, e)
	}
	// Drain what follows the end marker so a decompressor or verifier in front sees the whole stream.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("reading layer tar: %w", err)
	}
	return lc, nil
}
