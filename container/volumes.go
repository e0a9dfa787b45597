package container

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/metadata"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Volume is a named volume as `volume inspect` shows it.
type Volume struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
	// Not in the JSON: what listings need.
	Anonymous bool  `json:"-"`
	Links     int   `json:"-"` // containers using it
	Size      int64 `json:"-"`
}

var validVolumeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

func (m *Manager) volumeDir(name string) string {
	return filepath.Join(m.Images.Root, "volumes", name, "_data")
}

// ParseVolume reads a -v value: "/host:/ctr[:ro]" (bind), "name:/ctr[:ro]" (named volume) or
// "/ctr" (anonymous volume).
func ParseVolume(spec string) (Mount, error) {
	parts := strings.Split(spec, ":")
	var mt Mount
	switch len(parts) {
	case 1:
		mt = Mount{Type: "volume", Target: parts[0]}
	case 2, 3:
		mt = Mount{Source: parts[0], Target: parts[1]}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					mt.ReadOnly = true
				case "rw", "z", "Z", "nocopy", "rprivate", "private", "rshared", "shared", "rslave", "slave", "":
				default:
					return mt, fmt.Errorf("invalid mode: %s", parts[2])
				}
			}
		}
		if strings.HasPrefix(mt.Source, "/") || strings.HasPrefix(mt.Source, ".") {
			mt.Type = "bind"
		} else {
			mt.Type = "volume"
			if !validVolumeName().MatchString(mt.Source) {
				return mt, fmt.Errorf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", mt.Source, mt.Source)
			}
		}
	default:
		return mt, fmt.Errorf("invalid volume specification: '%s'", spec)
	}
	if !path.IsAbs(mt.Target) {
		return mt, fmt.Errorf("invalid volume specification: '%s': invalid mount config for type \"%s\": invalid mount path: '%s' mount path must be absolute", spec, mt.Type, mt.Target)
	}
	if mt.Type == "bind" {
		abs, err := filepath.Abs(mt.Source)
		if err != nil {
			return mt, err
		}
		mt.Source = abs
	}
	return mt, nil
}

// ParseMount reads a --mount value: type=bind|volume|tmpfs,source=...,target=...,readonly.
func ParseMount(spec string) (Mount, error) {
	mt := Mount{Type: "volume"}
	for _, f := range strings.Split(spec, ",") {
		k, v, hasV := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "type":
			mt.Type = v
		case "source", "src":
			mt.Source = v
		case "target", "destination", "dst":
			mt.Target = v
		case "readonly", "ro":
			mt.ReadOnly = !hasV || v == "1" || v == "true"
		case "bind-propagation", "volume-nocopy", "tmpfs-size", "tmpfs-mode", "consistency":
		default:
			return mt, fmt.Errorf("invalid field '%s' must be a key=value pair", f)
		}
	}
	return mt, ValidateMount(mt)
}

// ValidateMount checks a mount as Docker's daemon does (--mount, and the Engine API's Mounts).
func ValidateMount(mt Mount) error {
	switch mt.Type {
	case "bind", "volume", "tmpfs":
	default:
		return fmt.Errorf("invalid mount config for type %q: mount type unknown", mt.Type)
	}
	if mt.Target == "" {
		return errors.New("invalid mount config: target is required")
	}
	if mt.Type == "bind" {
		if mt.Source == "" {
			return fmt.Errorf("invalid mount config for type \"bind\": field Source must not be empty")
		}
		if _, err := os.Stat(mt.Source); err != nil {
			return fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", mt.Source)
		}
	}
	return nil
}

// resolveVolumes turns the image's VOLUMEs not covered by a user mount into anonymous volumes
// and creates the named volumes the mounts refer to (Docker does this at create).
func (m *Manager) resolveVolumes(c *Container) error {
	covered := map[string]bool{}
	for _, mt := range c.Host.Mounts {
		covered[path.Clean(mt.Target)] = true
	}
	var extra []string
	for v := range c.Config.Volumes {
		if !covered[path.Clean(v)] {
			extra = append(extra, v)
		}
	}
	sort.Strings(extra)
	for _, v := range extra {
		c.Host.Mounts = append(c.Host.Mounts, Mount{Type: "volume", Target: v})
	}
	for i, mt := range c.Host.Mounts {
		if mt.Type != "volume" {
			continue
		}
		anon := mt.Source == ""
		if anon {
			mt.Source = randomHex(32)
			c.Host.Mounts[i] = mt
		}
		if _, err := m.createVolume(mt.Source, nil, anon); err != nil {
			return err
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateVolume makes a named volume ("" for a random name); an existing one is returned as is.
func (m *Manager) CreateVolume(name string, labels map[string]string) (string, error) {
	if name != "" && !validVolumeName().MatchString(name) {
		return "", fmt.Errorf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name, name)
	}
	anon := name == ""
	if anon {
		name = randomHex(32)
	}
	return m.createVolume(name, labels, anon)
}

func (m *Manager) createVolume(name string, labels map[string]string, anon bool) (string, error) {
	if err := os.MkdirAll(m.volumeDir(name), 0o755); err != nil {
		return "", err
	}
	err := m.Images.DB.Update(func(tx *metadata.Tx) error {
		_, err := tx.PutVolume(metadata.Volume{Name: name, Driver: "local", Created: time.Now(), Labels: labels, Anonymous: anon})
		return err
	})
	if err == nil {
		m.volumeEvent("create", name, nil)
	}
	return name, err
}

// volumeMounts are the spec mounts of a container's binds, volumes and tmpfs mounts; a new
// empty volume first gets a copy of what the image has at its target, as Docker does.
func (m *Manager) volumeMounts(c *Container, rootfs string) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, mt := range c.Host.Mounts {
		opts := []string{"rbind", "rprivate"}
		if mt.ReadOnly {
			opts = append(opts, "ro")
		}
		switch mt.Type {
		case "bind":
			if _, err := os.Stat(mt.Source); os.IsNotExist(err) {
				// -v creates a missing host directory; --mount refuses (checked at parse).
				if err := os.MkdirAll(mt.Source, 0o755); err != nil {
					return nil, err
				}
			}
			out = append(out, specs.Mount{Destination: mt.Target, Type: "bind", Source: mt.Source, Options: opts})
		case "volume":
			dir := m.volumeDir(mt.Source)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			if err := copyUp(rootfs, mt.Target, dir); err != nil {
				return nil, fmt.Errorf("copying image content into volume %s: %w", mt.Source, err)
			}
			out = append(out, specs.Mount{Destination: mt.Target, Type: "bind", Source: dir, Options: opts})
		case "tmpfs":
			o := []string{"nosuid", "nodev", "noexec"}
			if mt.ReadOnly {
				o = append(o, "ro")
			}
			out = append(out, specs.Mount{Destination: mt.Target, Type: "tmpfs", Source: "tmpfs", Options: o})
		}
	}
	return out, nil
}

// copyUp fills an empty volume directory with the image's content at target (and its owner and
// mode), once: a volume that already holds anything is left alone. Both sides are worked on
// through descriptors: the rootfs may hold symlinks a previous run planted, and the volume may be
// in use by a running container that renames things in it.
func copyUp(rootfs, target, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) > 0 {
		return err
	}
	root, err := archive.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	src, err := root.Lookup(target, true)
	if err != nil {
		return nil
	}
	defer src.Close()
	if !src.IsDir() {
		return nil
	}
	uid, gid := src.Owner()
	os.Chown(dir, uid, gid)
	os.Chmod(dir, src.Mode().Perm())
	return pipeTar(func(w io.Writer) error { return src.WriteTar(w, ".") }, func(r io.Reader) error {
		_, err := archive.Apply(dir, r, archive.ApplyOptions{Whiteout: archive.WhiteoutNone, BestEffortXattrs: true})
		return err
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// volumeUsers maps each volume name to the IDs of the containers that mount it.
func (m *Manager) volumeUsers() (map[string][]string, error) {
	var rows []metadata.Container
	if err := m.Images.DB.View(func(tx *metadata.Tx) error {
		var err error
		rows, err = tx.Containers()
		return err
	}); err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, r := range rows {
		c, _, err := fromRow(r)
		if err != nil {
			continue
		}
		for _, mt := range c.Host.Mounts {
			if mt.Type == "volume" {
				users[mt.Source] = append(users[mt.Source], c.ID)
			}
		}
	}
	return users, nil
}

// Volumes lists every volume with how many containers use it.
func (m *Manager) Volumes() ([]Volume, error) {
	var rows []metadata.Volume
	if err := m.Images.DB.View(func(tx *metadata.Tx) error {
		var err error
		rows, err = tx.Volumes()
		return err
	}); err != nil {
		return nil, err
	}
	users, err := m.volumeUsers()
	if err != nil {
		return nil, err
	}
	out := make([]Volume, 0, len(rows))
	for _, r := range rows {
		out = append(out, m.volume(r, len(users[r.Name])))
	}
	return out, nil
}

func (m *Manager) volume(r metadata.Volume, links int) Volume {
	labels := r.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	opts := r.Options
	if opts == nil {
		opts = map[string]string{}
	}
	return Volume{
		CreatedAt: r.Created.UTC().Format(time.RFC3339), Driver: r.Driver, Labels: labels,
		Mountpoint: m.volumeDir(r.Name), Name: r.Name, Options: opts, Scope: "local",
		Anonymous: r.Anonymous, Links: links,
	}
}

// InspectVolume returns one volume or Docker's "No such volume: NAME".
func (m *Manager) InspectVolume(name string) (Volume, error) {
	vs, err := m.Volumes()
	if err != nil {
		return Volume{}, err
	}
	for _, v := range vs {
		if v.Name == name {
			return v, nil
		}
	}
	return Volume{}, fmt.Errorf("No such volume: %s", name)
}

// RemoveVolume deletes a volume that no container uses (force: a missing one is no error).
func (m *Manager) RemoveVolume(name string, force bool) error {
	users, err := m.volumeUsers()
	if err != nil {
		return err
	}
	if ids := users[name]; len(ids) > 0 {
		return ConflictError{fmt.Sprintf("remove %s: volume is in use - [%s]", name, strings.Join(ids, ", "))}
	}
	if _, err := m.InspectVolume(name); err != nil {
		if force {
			return nil
		}
		return err
	}
	if err := m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteVolume(name) }); err != nil {
		return err
	}
	m.volumeEvent("destroy", name, nil)
	return os.RemoveAll(filepath.Dir(m.volumeDir(name)))
}

// PruneVolumes removes every volume no container uses and returns their names and the bytes freed.
func (m *Manager) PruneVolumes() ([]string, int64, error) {
	vs, err := m.Volumes()
	if err != nil {
		return nil, 0, err
	}
	var names []string
	var freed int64
	for _, v := range vs {
		if v.Links > 0 {
			continue
		}
		size := dirSize(m.volumeDir(v.Name))
		if err := m.RemoveVolume(v.Name, false); err != nil {
			return names, freed, err
		}
		names = append(names, v.Name)
		freed += size
	}
	return names, freed, nil
}

func (m *Manager) removeAnonymousVolumes(c *Container) {
	vs, err := m.Volumes()
	if err != nil {
		return
	}
	anon := map[string]bool{}
	for _, v := range vs {
		if v.Anonymous && v.Links == 0 {
			anon[v.Name] = true
		}
	}
	for _, mt := range c.Host.Mounts {
		if mt.Type == "volume" && anon[mt.Source] {
			m.RemoveVolume(mt.Source, true)
		}
	}
}

// dirSize is the bytes of the regular files under dir (what Docker reports as a layer's size).
//
// The directory may be a running container's layer or a volume it writes to: the walk goes
// through an os.Root, so a directory swapped for a symlink is never followed out of it.
func dirSize(dir string) int64 {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0
	}
	defer root.Close()
	var n int64
	fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := root.Lstat(p); err == nil && fi.Mode().IsRegular() {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// VolumeSize is the bytes a volume's files hold.
func (m *Manager) VolumeSize(name string) int64 { return dirSize(m.volumeDir(name)) }
