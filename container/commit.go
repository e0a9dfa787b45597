package container

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Change is one line of `diff`: Kind is 'A' (added), 'C' (changed) or 'D' (deleted).
type Change struct {
	Kind byte
	Path string
}

func (c Change) String() string { return string(c.Kind) + " " + c.Path }

// lowerDirs are the read-only layers under a container's writable layer, top first (the init
// layer, then the image's layers).
func (m *Manager) lowerDirs(c *Container) ([]string, error) {
	var layers []string
	err := m.Images.DB.View(func(tx *metadata.Tx) error {
		img, err := tx.Image(c.ImageID)
		layers = img.Layers
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []string{m.initLayer(c.ID)}
	for i := len(layers) - 1; i >= 0; i-- {
		out = append(out, m.Images.Layers.Dir(digest.Digest(layers[i])))
	}
	return out, nil
}

func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

// Diff lists what changed in a container's filesystem, as `docker diff` does: walking the
// writable layer, an overlay whiteout is a deletion, an entry the layers below have is a change
// (a directory only when its size, mode or time differ), anything else an addition; the parent of
// an addition or deletion counts as changed.
func (m *Manager) Diff(ref string) ([]Change, error) {
	c, _, err := m.Get(ref)
	if err != nil {
		return nil, err
	}
	lowers, err := m.lowerDirs(c)
	if err != nil {
		return nil, err
	}
	if c.Driver == driverCopy {
		return copyChanges(filepath.Join(m.dir(c.ID), "rootfs"), lowers)
	}
	upper := filepath.Join(m.dir(c.ID), "upper")
	var changes []Change
	changedDirs := map[string]bool{}
	err = filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		path := "/" + rel
		fi, err := d.Info()
		if err != nil {
			return err
		}
		ch := Change{Kind: 'A', Path: path}
		if isWhiteout(fi) {
			ch.Kind = 'D'
		} else {
			for _, l := range lowers {
				lfi, err := os.Lstat(filepath.Join(l, rel))
				if err != nil {
					continue
				}
				if isWhiteout(lfi) {
					break
				}
				if lfi.IsDir() && fi.IsDir() && lfi.Size() == fi.Size() && lfi.Mode() == fi.Mode() &&
					lfi.ModTime().Unix() == fi.ModTime().Unix() {
					return nil
				}
				ch.Kind = 'C'
				break
			}
		}
		changes = append(changes, ch)
		if fi.IsDir() {
			changedDirs[path] = true
		}
		if ch.Kind == 'A' || ch.Kind == 'D' {
			parent := filepath.Dir(path)
			if parent != "/" && !changedDirs[parent] {
				changes = append(changes, Change{Kind: 'C', Path: parent})
				changedDirs[parent] = true
			}
		}
		return nil
	})
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, err
}

// CommitOptions are `commit`'s flags.
type CommitOptions struct {
	Ref     string   // REPO[:TAG], optional
	Author  string   // -a
	Message string   // -m
	Changes []string // -c Dockerfile instructions
	Pause   bool     // freeze the container while its layer is read
	// Context, when canceled, stops the commit: nothing is recorded and a paused container is
	// resumed before Commit returns.
	Context context.Context
}

// Commit makes a new image of a container: its image's layers plus its writable layer as one new
// layer (deletions as whiteouts), its config with the changes applied.
func (m *Manager) Commit(ref string, o CommitOptions) (string, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return "", err
	}
	cfg := c.Config
	cfg.Env = append([]string(nil), c.Config.Env...)
	if err := image.ApplyChanges(&cfg, o.Changes); err != nil {
		return "", err
	}
	if o.Pause && st.Status == "running" {
		rt, err := m.Runtime(c.Host.Runtime)
		if err != nil {
			return "", err
		}
		if err := rt.Pause(c.ID); err != nil {
			return "", fmt.Errorf("pausing container %s: %w", c.ID, err)
		}
		defer rt.Resume(c.ID)
	}
	var layer io.ReadCloser
	if c.Driver == driverCopy {
		changes, err := m.Diff(c.ID)
		if err != nil {
			return "", err
		}
		layer, err = copyLayer(filepath.Join(m.dir(c.ID), "rootfs"), changes)
		if err != nil {
			return "", err
		}
	} else if layer, err = archive.Diff(filepath.Join(m.dir(c.ID), "upper")); err != nil {
		return "", err
	}
	defer layer.Close()
	var src io.Reader = layer
	if o.Context != nil {
		src = ctxReader{o.Context, layer}
	}
	containerCfg := c.Config
	return m.Images.PutChild(image.ChildImage{
		Parent: c.ImageID, Layer: src, Config: &cfg, ContainerConfig: &containerCfg, Container: c.ID,
		Author: o.Author, Comment: o.Message, CreatedBy: strings.Join(c.Config.Cmd, " "), Ref: o.Ref,
	})
}

// withRootfs runs fn with the container's merged filesystem: the running container's own mount,
// or a private, temporary mount of a stopped one.
func (m *Manager) withRootfs(c *Container, st State, fn func(root string) error) error {
	dir := m.dir(c.ID)
	if st.Running() && !st.Restarting() || c.Driver == driverCopy {
		return fn(filepath.Join(dir, "rootfs"))
	}
	var layers []string
	m.Images.DB.View(func(tx *metadata.Tx) error {
		img, err := tx.Image(c.ImageID)
		layers = img.Layers
		return err
	})
	chains := make([]digest.Digest, len(layers))
	for i, l := range layers {
		chains[i] = digest.Digest(l)
	}
	// A reader that goes away (`export | head`) must not kill us with SIGPIPE before the
	// temporary mount is undone: broken pipes become write errors.
	signal.Ignore(syscall.SIGPIPE)
	// The temporary mount is claimed like a build step (claimStepDir): one that a killed berth
	// left is found by its free owner lock and undone here, or when the container goes.
	sweepTempMounts(dir)
	b := make([]byte, 8)
	rand.Read(b)
	claim := filepath.Join(dir, tempMountPrefix+hex.EncodeToString(b))
	owner, err := claimStepDir(claim)
	if err != nil {
		return err
	}
	defer owner.Close()
	defer os.RemoveAll(claim)
	mnt := filepath.Join(claim, "root")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return err
	}
	clearVolatile(dir)
	if err := mountOverlay(m.rootfsMounts(c.ID, chains), dir, mnt); err != nil {
		return err
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	return fn(mnt)
}

// tempMountPrefix names withRootfs's temporary mounts in a container's directory.
const tempMountPrefix = "mnt-"

// sweepTempMounts undoes the temporary mounts (withRootfs) that killed berths left in a
// container's directory.
func sweepTempMounts(dir string) {
	sweepClaimed(dir, tempMountPrefix, func(name string) error {
		unmountUnder(filepath.Join(dir, name))
		return os.RemoveAll(filepath.Join(dir, name))
	})
}

// Export writes a container's whole filesystem as a tar stream (`docker export`).
func (m *Manager) Export(ref string, w io.Writer) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	return m.withRootfs(c, st, func(root string) error {
		tw := tar.NewWriter(w)
		if err := writeTree(tw, root, ""); err != nil {
			return err
		}
		return tw.Close()
	})
}

// writeTree adds the tree at dir to a tar under the name prefix ("" for the root's content).
func writeTree(tw *tar.Writer, dir, prefix string) error {
	links := map[[2]uint64]string{}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		if rel == "." {
			if prefix == "" {
				return nil
			}
			name = prefix
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		target := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, target)
		if err != nil {
			return err
		}
		hdr.Name = name
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if fi.Mode().IsRegular() && st.Nlink > 1 {
				key := [2]uint64{st.Dev, st.Ino}
				if first, ok := links[key]; ok {
					hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				} else {
					links[key] = hdr.Name
				}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
}

// CopyFrom copies a path out of a container to a host path ("-": a tar stream to w), with
// `docker cp`'s rules: into an existing directory, else to the destination name.
func (m *Manager) CopyFrom(ref, src, dst string, w io.Writer) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	return m.withRootfs(c, st, func(root string) error {
		p, err := securejoin.SecureJoin(root, src)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("Could not find the file %s in container %s", src, ref)
		}
		base := filepath.Base(filepath.Clean("/" + src))
		if dst == "-" {
			tw := tar.NewWriter(w)
			if err := writeTree(tw, p, base); err != nil {
				return err
			}
			return tw.Close()
		}
		return copyPath(p, fi, dst, base)
	})
}

// CopyTo copies a host path into a container.
func (m *Manager) CopyTo(ref, src, dst string) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	return m.withRootfs(c, st, func(root string) error {
		p, err := securejoin.SecureJoin(root, dst)
		if err != nil {
			return err
		}
		return copyPath(src, fi, p, filepath.Base(filepath.Clean(src)))
	})
}

// copyPath copies src (a file or a directory) to dst: into dst when it is an existing directory,
// as dst otherwise.
func copyPath(src string, fi fs.FileInfo, dst, base string) error {
	if dfi, err := os.Stat(dst); err == nil && dfi.IsDir() {
		dst = filepath.Join(dst, base)
	} else if err == nil && fi.IsDir() {
		return errors.New("cannot copy a directory to a file")
	} else if !os.IsNotExist(err) && err != nil {
		return err
	} else if _, perr := os.Stat(filepath.Dir(dst)); perr != nil {
		return fmt.Errorf("destination directory %s does not exist", filepath.Dir(dst))
	}
	switch {
	case fi.IsDir():
		if err := os.MkdirAll(dst, fi.Mode().Perm()); err != nil {
			return err
		}
		return copyTree(src, dst)
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		os.Remove(dst)
		return os.Symlink(t, dst)
	default:
		if err := copyFile(src, dst, fi.Mode().Perm()); err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			os.Chown(dst, int(st.Uid), int(st.Gid))
		}
		return os.Chmod(dst, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	}
}

// CopyTarTo extracts a tar stream (`cp - CONTAINER:DIR`) into a directory of the container, safely
// (no entry lands outside the container's filesystem).
func (m *Manager) CopyTarTo(ref string, r io.Reader, dst string) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	return m.withRootfs(c, st, func(root string) error {
		p, err := securejoin.SecureJoin(root, dst)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return fmt.Errorf("extraction point is not a directory: %s", dst)
		}
		_, err = archive.Apply(p, r, archive.ApplyOptions{Whiteout: archive.WhiteoutApply})
		return err
	})
}

// ctxReader stops a read once its context is canceled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
