package container

import (
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
	"github.com/berth-engine/berth/rootless"
	"github.com/berth-engine/berth/runtime"
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
	layers, err := m.imageLayers(c)
	if err != nil {
		return nil, err
	}
	out := []string{m.initLayer(c.ID)}
	for i := len(layers) - 1; i >= 0; i-- {
		out = append(out, m.Images.Layers.Dir(digest.Digest(layers[i])))
	}
	return out, nil
}

// imageLayers are the layers under a container: those it recorded at create, or (a container of
// an older berth) its image's.
func (m *Manager) imageLayers(c *Container) ([]string, error) {
	if c.ImageLayers != nil {
		return c.ImageLayers, nil
	}
	var layers []string
	err := m.Images.DB.View(func(tx *metadata.Tx) error {
		img, err := tx.Image(c.ImageID)
		layers = img.Layers
		return err
	})
	return layers, err
}

func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

// Diff lists what changed in a container's filesystem, as `docker diff` does: walking the
// writable layer, an overlay whiteout is a deletion, an entry the layers below have is a change
// (a directory only when its size, mode or time differ), anything else an addition; the parent of
// an addition or deletion counts as changed.
//
// A running container changes its layer meanwhile: the walk goes through os.Root handles, so a
// directory it swaps for a symlink is never followed out of the layer (the diff fails instead).
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
		return copyChanges(filepath.Join(m.dir(c.ID), "rootfs"), lowers, c.hostOwner)
	}
	upper, err := os.OpenRoot(filepath.Join(m.dir(c.ID), "upper"))
	if err != nil {
		return nil, err
	}
	defer upper.Close()
	var lowerRoots []*os.Root
	defer func() {
		for _, r := range lowerRoots {
			r.Close()
		}
	}()
	for _, l := range lowers {
		r, err := os.OpenRoot(l)
		if err != nil {
			return nil, err
		}
		lowerRoots = append(lowerRoots, r)
	}
	var changes []Change
	changedDirs := map[string]bool{}
	err = fs.WalkDir(upper.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		path := "/" + rel
		fi, err := upper.Lstat(rel)
		if err != nil {
			return err
		}
		ch := Change{Kind: 'A', Path: path}
		if isWhiteout(fi) {
			ch.Kind = 'D'
		} else {
			for _, l := range lowerRoots {
				lfi, err := l.Lstat(rel)
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
		// Docker lists every directory above a change as changed (C /etc for a changed
		// /etc/passwd), even when the directory itself was only copied up unchanged.
		for parent := filepath.Dir(path); parent != "/" && !changedDirs[parent]; parent = filepath.Dir(parent) {
			changes = append(changes, Change{Kind: 'C', Path: parent})
			changedDirs[parent] = true
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
	// Config, when set, is the new image's config (the Engine API's POST /commit body): the
	// changes apply to it, then the container's config fills what it leaves out, as dockerd
	// merges them (see MergeCommitConfig). Nil: the container's own config.
	Config *image.ContainerConfig
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
	if o.Config != nil {
		cfg = *o.Config
	}
	cfg.Env = append([]string(nil), cfg.Env...)
	if err := image.ApplyChanges(&cfg, o.Changes); err != nil {
		return "", err
	}
	if o.Config != nil {
		MergeCommitConfig(&cfg, c.Config)
	}
	// Rootless containers have no freezer cgroup to pause them in: commit reads the layer of a
	// running container as podman does by default.
	if o.Pause && st.Status == "running" && !rootless.Active() {
		rt, err := m.Runtime(c.Host.Runtime)
		if err != nil {
			return "", err
		}
		if err := rt.Pause(c.ID); err == nil {
			defer rt.Resume(c.ID)
		} else if rs, serr := rt.State(c.ID); !(errors.Is(serr, runtime.ErrNotExist) || serr == nil && rs.Status == "stopped") {
			// Unless it exited between the look and the pause (a short command: nothing to
			// freeze then), the pause failed.
			return "", fmt.Errorf("pausing container %s: %w", c.ID, err)
		}
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
	if c.IDMap != nil {
		// The layer holds the container's IDs, as the image's layers do.
		diff := layer
		defer diff.Close()
		layer = shiftTar(diff, c.IDMap.ToContainer)
	}
	defer layer.Close()
	var src io.Reader = layer
	if o.Context != nil {
		src = ctxReader{o.Context, layer}
	}
	containerCfg := c.Config
	id, err := m.Images.PutChild(image.ChildImage{
		Parent: c.ImageID, Layer: src, Config: &cfg, ContainerConfig: &containerCfg, Container: c.ID,
		Author: o.Author, Comment: o.Message, CreatedBy: strings.Join(c.Config.Cmd, " "), Ref: o.Ref,
	})
	if err == nil {
		m.event("commit", c, map[string]string{"comment": o.Message, "imageID": id, "imageRef": o.Ref})
	}
	return id, err
}

// MergeCommitConfig fills a commit's config (a POST /commit body with the changes applied) from
// the container's, as dockerd's commit merges them: User, WorkingDir and StopSignal when unset;
// the container's exposed ports, volumes and labels added; its Env entries whose names the
// config lacks appended; Cmd (with ArgsEscaped) when neither Cmd nor Entrypoint is set, and
// Entrypoint when the config has none; the healthcheck's unset fields. The other fields
// (Hostname, Tty, OpenStdin...) are the config's own.
func MergeCommitConfig(cfg *image.ContainerConfig, from image.ContainerConfig) {
	if cfg.User == "" {
		cfg.User = from.User
	}
	if len(cfg.ExposedPorts) == 0 {
		cfg.ExposedPorts = from.ExposedPorts
	} else {
		for p := range from.ExposedPorts {
			cfg.ExposedPorts[p] = struct{}{}
		}
	}
	if len(cfg.Env) == 0 {
		cfg.Env = append([]string(nil), from.Env...)
	} else {
		have := map[string]bool{}
		for _, e := range cfg.Env {
			k, _, _ := strings.Cut(e, "=")
			have[k] = true
		}
		for _, e := range from.Env {
			if k, _, _ := strings.Cut(e, "="); !have[k] {
				cfg.Env = append(cfg.Env, e)
			}
		}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range from.Labels {
		if _, ok := cfg.Labels[k]; !ok {
			cfg.Labels[k] = v
		}
	}
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd, cfg.ArgsEscaped = from.Cmd, from.ArgsEscaped
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = from.Entrypoint
		}
	}
	if from.Healthcheck != nil {
		// What the body left unset comes from the container's, as at create.
		cfg.Healthcheck = MergeHealthcheck(from.Healthcheck, cfg.Healthcheck)
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = from.WorkingDir
	}
	if len(cfg.Volumes) == 0 {
		cfg.Volumes = from.Volumes
	} else {
		for k, v := range from.Volumes {
			cfg.Volumes[k] = v
		}
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = from.StopSignal
	}
}

// withRootfs runs fn with the container's merged filesystem: the running container's own mount,
// or a private, temporary mount of a stopped one.
func (m *Manager) withRootfs(c *Container, st State, fn func(root string) error) error {
	dir := m.dir(c.ID)
	if st.Running() && !st.Restarting() || c.Driver == driverCopy {
		return fn(filepath.Join(dir, "rootfs"))
	}
	layers, _ := m.imageLayers(c)
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
	if err := mountLayers(c, m.rootfsMounts(c.ID, chains), dir, mnt); err != nil {
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

// Export writes a container's whole filesystem as a tar stream (`docker export`). A running
// container's rootfs is read on descriptors (archive.Root), so what it renames meanwhile cannot
// lead the walk out of it.
func (m *Manager) Export(ref string, w io.Writer) error {
	return m.withContainerRoot(ref, func(c *Container, root *archive.Root) error {
		e, err := root.Lookup("/", false)
		if err != nil {
			return err
		}
		defer e.Close()
		return c.writeTar(w, func(w io.Writer) error { return e.WriteTar(w, "") })
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
