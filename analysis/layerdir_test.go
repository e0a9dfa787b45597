package analysis

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	at "github.com/berth-engine/berth/analysis/analysistest"
	"github.com/berth-engine/berth/archive"
)

func describe(lc *LayerContent) string {
	var rows []string
	for i := range lc.Entries {
		e := &lc.Entries[i]
		if e.Kind != KindEntry {
			e.Mode = 0 // a marker's own mode means nothing
		}
		rows = append(rows, fmt.Sprintf("%s k%d t%c s%d m%o %q h%x", e.Path, e.Kind, e.Type, e.Size, e.Mode, e.Linkname, e.contentHash()))
	}
	sort.Strings(rows)
	return fmt.Sprintf("size %d\n%s", lc.TarSize, strings.Join(rows, "\n"))
}

// An unpacked layer (as the layer store keeps it: overlay whiteouts and opaque xattrs) reads as
// the same entries as its tar, and a layer with hard links is sent back to its tar.
func TestReadLayerDirMatchesTar(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: overlay whiteouts are character devices, opaque markers trusted xattrs")
	}
	layer := at.LayerTar(t, at.Dir("a/"), at.Whiteout("a/.wh..wh..opq"), at.Sized("a/f", 30, 'f'), at.Whiteout(".wh.gone"),
		at.Dir("b/"), at.Sized("b/g", 5, 'g'), at.Symlink("b/l", "g"))
	dir := t.TempDir()
	if _, err := archive.Apply(dir, bytes.NewReader(layer), archive.ApplyOptions{Whiteout: archive.WhiteoutOverlay}); err != nil {
		t.Fatal(err)
	}
	fromDir, err := ReadLayerDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := ReadLayer(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := describe(fromDir), describe(fromTar); a != b {
		t.Errorf("directory:\n%s\ntar:\n%s", a, b)
	}

	linked := t.TempDir()
	if _, err := archive.Apply(linked, bytes.NewReader(at.LayerTar(t, at.Sized("x", 3, 'x'), at.Hardlink("y", "x"))), archive.ApplyOptions{Whiteout: archive.WhiteoutOverlay}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLayerDir(linked); !errors.Is(err, ErrHardLinks) {
		t.Errorf("hard links: %v", err)
	}
}
