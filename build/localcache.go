package build

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/image"
)

// The local cache (--cache-to/--cache-from type=local,dest=|src=DIR) is the registry cache's
// image written to a directory instead of a registry: the layout `berth save` writes (an OCI
// image layout, which is also a docker-archive), for CI systems that keep a directory between
// runs. BuildKit's local cache is an OCI layout too, but of its own cache manifest: the two do
// not read each other's.

// localCacheName is the temporary name of a cache image on its way to or from a directory.
func localCacheName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "berth-local-cache:" + hex.EncodeToString(b)
}

// exportLocalCache writes the cache of st to dir, replacing what was there only once the new
// cache is complete.
func exportLocalCache(s *image.Store, st *state, dir string) error {
	name := localCacheName()
	if err := putCacheImage(s, st, name); err != nil {
		return err
	}
	defer s.Remove(name, false)
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".berth-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.Save(pw, []string{name})) }()
	if _, err := archive.Apply(tmp, pr, archive.ApplyOptions{Whiteout: archive.WhiteoutApply}); err != nil {
		pr.CloseWithError(err)
		return err
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return err
	}
	return os.RemoveAll(old)
}

// importLocalCache records the steps of the cache in dir in the local build cache.
func importLocalCache(s *image.Store, dir string) error {
	if fi, err := os.Stat(filepath.Join(dir, "index.json")); err != nil || fi.IsDir() {
		return fmt.Errorf("%s is not a build cache directory (no index.json)", dir)
	}
	rc, err := archive.Diff(dir)
	if err != nil {
		return err
	}
	defer rc.Close()
	loaded, err := s.Load(rc, image.LoadOptions{})
	if err != nil {
		return err
	}
	// The names go once the steps are recorded (the last name of an image takes it along); the
	// cache entries keep its layers.
	defer func() {
		for _, l := range loaded {
			for _, n := range l.Names {
				s.Remove(n.Name, false)
			}
		}
	}()
	if len(loaded) != 1 {
		return fmt.Errorf("%s: %d images, want the one cache image", dir, len(loaded))
	}
	return recordCache(s, loaded[0].ID, dir)
}
