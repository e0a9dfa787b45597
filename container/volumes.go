package container

import (
	"crypto/rand"
	"encoding/csv"
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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/metadata"
	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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
				case "nocopy":
					mt.NoCopy = true
				case "rprivate", "private", "rshared", "shared", "rslave", "slave":
					mt.Propagation = o
				case "rw", "z", "Z", "":
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

// ParseMount reads a --mount value as Docker's CLI does (its errors, which the CLI wraps in
// `invalid argument "..." for "--mount" flag: `): comma-separated key=value fields, bare
// readonly/ro and volume-nocopy meaning true. What the daemon checks comes after, in CheckMount.
// Options berth cannot honour (volume-driver, volume-opt, volume-label, bind-nonrecursive) are
// refused by name rather than ignored.
func ParseMount(spec string) (Mount, error) {
	mt := Mount{Type: "volume", Spec: true}
	var bindOpt, volOpt, tmpfsOpt bool
	r := csv.NewReader(strings.NewReader(spec))
	fields, err := r.Read()
	if err != nil {
		return mt, err
	}
	for _, f := range fields {
		k, v, hasV := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !hasV {
			switch k {
			case "readonly", "ro", "volume-nocopy", "bind-nonrecursive":
				v = "true"
			default:
				return mt, fmt.Errorf("invalid field '%s' must be a key=value pair", f)
			}
		}
		parseBool := func() (bool, error) {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return false, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			return b, nil
		}
		switch k {
		case "type":
			mt.Type = strings.ToLower(v)
		case "source", "src":
			mt.Source = v
		case "target", "destination", "dst":
			mt.Target = v
		case "readonly", "ro":
			if mt.ReadOnly, err = parseBool(); err != nil {
				return mt, err
			}
		case "consistency": // Docker for Mac's; ignored on Linux, as by Docker
		case "bind-propagation":
			bindOpt, mt.Propagation = true, strings.ToLower(v)
		case "volume-nocopy":
			volOpt = true
			if mt.NoCopy, err = parseBool(); err != nil {
				return mt, fmt.Errorf("invalid value for volume-nocopy: %s", v)
			}
		case "tmpfs-size":
			tmpfsOpt = true
			n, err := units.RAMInBytes(v)
			if err != nil {
				return mt, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			mt.TmpfsSize = n
		case "tmpfs-mode":
			tmpfsOpt = true
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return mt, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			mt.TmpfsMode = os.FileMode(n)
		case "bind-nonrecursive", "volume-driver", "volume-label", "volume-opt":
			return mt, fmt.Errorf("mount option '%s' is not supported by berth", k)
		default:
			return mt, fmt.Errorf("unexpected key '%s' in '%s'", k, f)
		}
	}
	if mt.Target == "" {
		return mt, errors.New("target is required")
	}
	for opt, t := range map[string]bool{"bind": bindOpt, "volume": volOpt, "tmpfs": tmpfsOpt} {
		if t && mt.Type != opt {
			return mt, fmt.Errorf("cannot mix '%s-*' options with mount type '%s'", opt, mt.Type)
		}
	}
	return mt, nil
}

// propagations are the bind propagation modes Docker accepts.
var propagations = map[string]bool{"rprivate": true, "private": true, "rshared": true, "shared": true, "rslave": true, "slave": true}

// CheckMount is Docker's daemon-side check of a --mount (its errors, as "Error response from
// daemon: ..." says them).
func CheckMount(mt Mount) error {
	switch mt.Type {
	case "bind", "volume", "tmpfs":
	default:
		return fmt.Errorf("invalid mount config for type %q: mount type unknown", mt.Type)
	}
	if !path.IsAbs(mt.Target) {
		return fmt.Errorf("invalid mount config for type %q: invalid mount path: '%s' mount path must be absolute", mt.Type, mt.Target)
	}
	switch mt.Type {
	case "bind":
		if mt.Source == "" {
			return errors.New(`invalid mount config for type "bind": field Source must not be empty`)
		}
		if mt.Propagation != "" && !propagations[mt.Propagation] {
			return fmt.Errorf(`invalid mount config for type "bind": invalid propagation mode: %s`, mt.Propagation)
		}
		if _, err := os.Stat(mt.Source); err != nil {
			return fmt.Errorf(`invalid mount config for type "bind": bind source path does not exist: %s`, mt.Source)
		}
	case "volume":
		if mt.Source == "" && mt.ReadOnly {
			return errors.New(`invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`)
		}
	case "tmpfs":
		if mt.Source != "" {
			return errors.New(`invalid mount config for type "tmpfs": field Source must not be specified`)
		}
	}
	return nil
}

// tmpfsOptions are the mount options of a tmpfs mount: Docker's defaults, then its size and
// mode when --mount gave them.
func tmpfsOptions(mt Mount) []string {
	o := []string{"nosuid", "nodev", "noexec"}
	if mt.ReadOnly {
		o = append(o, "ro")
	}
	if mt.TmpfsSize > 0 {
		o = append(o, fmt.Sprintf("size=%dk", (mt.TmpfsSize+1023)/1024))
	}
	if mt.TmpfsMode != 0 {
		o = append(o, fmt.Sprintf("mode=%o", uint32(mt.TmpfsMode)))
	}
	return o
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
	v, err := m.CreateVolumeWith(VolumeOptions{Name: name, Labels: labels})
	return v.Name, err
}

// VolumeOptions are what `volume create` and POST /volumes/create ask for.
type VolumeOptions struct {
	Name   string // "": a random name (an anonymous volume)
	Driver string // "" or "local": the only driver there is
	// DriverOpts are the local driver's: type, device and o (mount(8)'s -t, device and -o),
	// mounted on the volume's directory when a container first uses it, until it is removed.
	DriverOpts map[string]string
	Labels     map[string]string
}

// VolumeNotFoundError is Docker's "No such volume".
type VolumeNotFoundError struct{ Name string }

func (e VolumeNotFoundError) Error() string { return "No such volume: " + e.Name }

// InvalidVolumeError is a volume request Docker refuses as invalid (a name, an option).
type InvalidVolumeError struct{ Msg string }

func (e InvalidVolumeError) Error() string { return e.Msg }

// VolumeDriverError is a driver that is not there (Docker looks it up as a plugin).
type VolumeDriverError struct{ Name, Driver string }

func (e VolumeDriverError) Error() string {
	return fmt.Sprintf("create %s: error looking up volume plugin %s: plugin %q not found", e.Name, e.Driver, e.Driver)
}

// localVolumeOpts are the options Docker's local driver takes.
var localVolumeOpts = map[string]bool{"type": true, "device": true, "o": true, "size": true}

// CreateVolumeWith makes a volume; one that exists is returned as it is, as Docker does.
func (m *Manager) CreateVolumeWith(o VolumeOptions) (Volume, error) {
	name := o.Name
	// Docker's order: the driver is looked up first, then the local driver checks the name.
	if o.Driver != "" && o.Driver != "local" {
		return Volume{}, VolumeDriverError{Name: name, Driver: o.Driver}
	}
	if len(name) == 1 {
		return Volume{}, InvalidVolumeError{fmt.Sprintf("create %s: volume name is too short, names should be at least two alphanumeric characters", name)}
	}
	if name != "" && !validVolumeName().MatchString(name) {
		return Volume{}, InvalidVolumeError{fmt.Sprintf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name, name)}
	}
	anon := name == ""
	if anon {
		name = randomHex(32)
	}
	keys := make([]string, 0, len(o.DriverOpts))
	for k := range o.DriverOpts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !localVolumeOpts[k] {
			return Volume{}, InvalidVolumeError{fmt.Sprintf("create %s: invalid option: %q", name, k)}
		}
	}
	if k := o.DriverOpts; k["size"] != "" {
		return Volume{}, InvalidVolumeError{fmt.Sprintf("create %s: quota size requested but no quota support", name)}
	}
	if opts := o.DriverOpts; (opts["type"] != "" || opts["o"] != "") && opts["device"] == "" {
		return Volume{}, InvalidVolumeError{fmt.Sprintf("create %s: missing required option: \"device\"", name)}
	}
	if _, err := m.putVolume(metadata.Volume{Name: name, Driver: "local", Created: time.Now(), Labels: o.Labels, Options: o.DriverOpts, Anonymous: anon}); err != nil {
		return Volume{}, err
	}
	return m.InspectVolume(name)
}

func (m *Manager) createVolume(name string, labels map[string]string, anon bool) (string, error) {
	_, err := m.putVolume(metadata.Volume{Name: name, Driver: "local", Created: time.Now(), Labels: labels, Anonymous: anon})
	return name, err
}

// putVolume records a volume and makes its directory (an existing one is left as it is).
func (m *Manager) putVolume(v metadata.Volume) (bool, error) {
	if err := os.MkdirAll(m.volumeDir(v.Name), 0o755); err != nil {
		return false, err
	}
	var created bool
	err := m.Images.DB.Update(func(tx *metadata.Tx) error {
		var err error
		created, err = tx.PutVolume(v)
		return err
	})
	if err == nil && created {
		m.volumeEvent("create", v.Name, nil)
	}
	return created, err
}

// volumeMounts are the spec mounts of a container's binds, volumes and tmpfs mounts; a new
// empty volume first gets a copy of what the image has at its target, as Docker does.
func (m *Manager) volumeMounts(c *Container, rootfs string) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, mt := range c.Host.Mounts {
		prop := "rprivate"
		if mt.Propagation != "" {
			prop = mt.Propagation
		}
		opts := []string{"rbind", prop}
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
			if err := m.mountVolume(mt.Source, dir); err != nil {
				return nil, err
			}
			if c.IDMap != nil {
				// An empty volume belongs to the container's root (copyUp then gives it the
				// image's owner at the target, already a mapped one), as Docker's do.
				if ents, err := os.ReadDir(dir); err == nil && len(ents) == 0 {
					uid, gid := c.IDMap.Root()
					if err := os.Chown(dir, uid, gid); err != nil {
						return nil, err
					}
				}
			}
			if mt.NoCopy {
				// volume-nocopy: the volume stays as it is, empty when new.
			} else if err := copyUp(rootfs, mt.Target, dir); err != nil {
				return nil, fmt.Errorf("copying image content into volume %s: %w", mt.Source, err)
			}
			out = append(out, specs.Mount{Destination: mt.Target, Type: "bind", Source: dir, Options: opts})
		case "tmpfs":
			out = append(out, specs.Mount{Destination: mt.Target, Type: "tmpfs", Source: "tmpfs", Options: tmpfsOptions(mt)})
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
	rows, err := m.containerRows()
	if err != nil {
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
	return Volume{}, VolumeNotFoundError{name}
}

// VolumesFiltered lists the volumes that pass Docker's volume filters: dangling, name (a
// substring), label (key or key=value), driver.
func (m *Manager) VolumesFiltered(f format.Args) ([]Volume, error) {
	if err := f.Validate(map[string]bool{"dangling": true, "name": true, "label": true, "driver": true}); err != nil {
		return nil, err
	}
	dangling, err := f.GetBoolOrDefault("dangling", false)
	if err != nil {
		return nil, err
	}
	vs, err := m.Volumes()
	if err != nil {
		return nil, err
	}
	out := []Volume{}
	for _, v := range vs {
		if f.Contains("dangling") && (v.Links == 0) != dangling {
			continue
		}
		if f.Contains("name") && !f.Match("name", v.Name) {
			continue
		}
		if !f.MatchKVList("label", v.Labels) || (f.Contains("driver") && !f.ExactMatch("driver", v.Driver)) {
			continue
		}
		out = append(out, v)
	}
	return out, nil
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
	// A volume mounted from its options is unmounted first: what it mounts (a device, a
	// host directory) is never removed with it.
	dir := m.volumeDir(name)
	if mounted(dir) {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("remove %s: unmounting its device: %w", name, err)
		}
	}
	if err := m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteVolume(name) }); err != nil {
		return err
	}
	m.volumeEvent("destroy", name, nil)
	if mounted(dir) {
		return fmt.Errorf("remove %s: %s is still mounted", name, dir)
	}
	return os.RemoveAll(filepath.Dir(dir))
}

// PruneVolumes removes every volume no container uses and returns their names and the bytes freed.
func (m *Manager) PruneVolumes() ([]string, int64, error) {
	return m.PruneVolumesFiltered(format.NewArgs(), true)
}

// PruneVolumesFiltered is volume prune with Docker's filters (label, label!) and, unless all,
// only anonymous volumes (Docker from API 1.42; filter all=true lifts it).
func (m *Manager) PruneVolumesFiltered(f format.Args, all bool) ([]string, int64, error) {
	if err := f.Validate(map[string]bool{"label": true, "label!": true, "all": true}); err != nil {
		return nil, 0, err
	}
	if f.Contains("all") {
		a, err := f.GetBoolOrDefault("all", false)
		if err != nil {
			return nil, 0, err
		}
		all = all || a
	}
	vs, err := m.Volumes()
	if err != nil {
		return nil, 0, err
	}
	names := []string{}
	var freed int64
	for _, v := range vs {
		if v.Links > 0 || !all && !v.Anonymous {
			continue
		}
		if !f.MatchKVList("label", v.Labels) {
			continue
		}
		if f.Contains("label!") && matchAnyLabel(f.Get("label!"), v.Labels) {
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

// mounted reports whether dir is a mount point.
func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && unescapeMountPath(f[4]) == dir {
			return true
		}
	}
	return false
}

// mountFlags are the options of mount(8)'s -o that are flags, not data for the filesystem.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY}, "nosuid": {false, unix.MS_NOSUID},
	"suid": {true, unix.MS_NOSUID}, "nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC}, "sync": {false, unix.MS_SYNCHRONOUS},
	"async": {true, unix.MS_SYNCHRONOUS}, "noatime": {false, unix.MS_NOATIME}, "atime": {true, unix.MS_NOATIME},
	"nodiratime": {false, unix.MS_NODIRATIME}, "relatime": {false, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "bind": {false, unix.MS_BIND},
	"rbind": {false, unix.MS_BIND | unix.MS_REC}, "remount": {false, unix.MS_REMOUNT},
	"defaults": {false, 0},
}

// parseMountOptions splits mount(8)'s -o into flags and the filesystem's data.
func parseMountOptions(o string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, opt := range strings.Split(o, ",") {
		if opt == "" {
			continue
		}
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, opt)
	}
	return flags, strings.Join(data, ",")
}

// mountVolume mounts a volume created with the local driver's options (type, device, o) on its
// directory, once: it stays mounted until the volume is removed.
func (m *Manager) mountVolume(name, dir string) error {
	var opts map[string]string
	if err := m.Images.DB.View(func(tx *metadata.Tx) error {
		vs, err := tx.Volumes()
		for _, v := range vs {
			if v.Name == name {
				opts = v.Options
			}
		}
		return err
	}); err != nil {
		return err
	}
	if opts["device"] == "" || mounted(dir) {
		return nil
	}
	flags, data := parseMountOptions(opts["o"])
	typ := opts["type"]
	if flags&unix.MS_BIND != 0 {
		typ = ""
	}
	if err := unix.Mount(opts["device"], dir, typ, flags, data); err != nil {
		return fmt.Errorf("error while mounting volume '%s': failed to mount local volume: mount %s:%s, flags: %#x, data: %s: %w", filepath.Dir(dir), opts["device"], dir, flags, data, err)
	}
	return nil
}
