package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/container"
)

// cacheMountsDir holds RUN --mount=type=cache directories under the store root: one directory
// per cache id (and more for sharing=private while one is in use), each with a lock file.
const cacheMountsDir = "build-mounts"

// runMounts is what a RUN's --mount flags turn into.
type runMounts struct {
	mounts  []container.StepMount
	points  []container.MountPoint
	key     []string // the mounts' definitions for the cache key (never a secret's or a cache's content)
	env     []string // secrets given as environment variables
	sshSock string   // where the first ssh mount's agent is: SSH_AUTH_SOCK
	release []func()
	lazy    []func() error // work only a step that runs needs (not a cached one)
}

// realize does the work left for a step that runs: locking (and seeding) cache mounts and
// making the filtered view of the context for a bind mount.
func (r *runMounts) realize() error {
	for _, f := range r.lazy {
		if err := f(); err != nil {
			return err
		}
	}
	r.lazy = nil
	return nil
}

func (r *runMounts) done() {
	for _, f := range r.release {
		f()
	}
	r.release = nil
}

// prepareMounts resolves a RUN's mounts against the stage (rootfs view root) and the build's
// inputs. Cache mounts are locked as their sharing mode says until done is called.
func (b *builder) prepareMounts(st *state, c *instructions.RunCommand, root *view) (*runMounts, error) {
	r := &runMounts{}
	ok := false
	defer func() {
		if !ok {
			r.done()
		}
	}()
	seen := map[string]bool{}
	ssh := 0
	for _, m := range instructions.GetMounts(c) {
		target := m.Target
		if m.Type == instructions.MountTypeSecret {
			if err := b.secretMount(r, m, root, seen); err != nil {
				return nil, err
			}
			continue
		}
		if m.Type == instructions.MountTypeSSH {
			if err := b.sshMount(r, m, root, seen, ssh); err != nil {
				return nil, err
			}
			ssh++
			continue
		}
		if target == "" {
			return nil, fmt.Errorf("mount target is required for type=%s", m.Type)
		}
		target = workdirJoin(st.cfg.Config.WorkingDir, target)
		if target == "/" {
			return nil, fmt.Errorf("invalid mount target %q", m.Target)
		}
		dest, err := root.resolve(target, true)
		if err != nil {
			return nil, fmt.Errorf("mount target %s: %v", target, err)
		}
		sm := container.StepMount{Destination: dest, ReadOnly: m.ReadOnly}
		isFile := false
		switch m.Type {
		case instructions.MountTypeTmpfs:
			sm.Type = "tmpfs"
			if m.SizeLimit > 0 {
				sm.Options = append(sm.Options, fmt.Sprintf("size=%d", m.SizeLimit))
			}
			if m.ReadOnly {
				sm.Options = append(sm.Options, "ro")
			}
			r.key = append(r.key, fmt.Sprintf("tmpfs\x00%s\x00%d\x00%t", target, m.SizeLimit, m.ReadOnly))
		case instructions.MountTypeCache:
			id := m.CacheID
			if id == "" {
				id = path.Clean(m.Target)
			}
			sharing := m.CacheSharing
			if sharing == "" {
				sharing = instructions.MountSharingShared
			}
			// With from=, a new cache starts as a copy of that stage's or image's source path
			// (and is another cache than the same id from elsewhere); else source is a path
			// inside the cache.
			dirID, sub, fromKey := id, m.Source, ""
			var seed func(dir string) error
			if m.From != "" {
				from, _, err := shell.NewLex(b.plan.Escape).ProcessWord(m.From, envGetter(b.plan.Global))
				if err != nil {
					return nil, err
				}
				srcState, err := b.fromState(from, st.stage)
				if err != nil {
					return nil, fmt.Errorf("--mount from=%s: %v", from, err)
				}
				v := srcState.view(b.s, b.empty)
				src := path.Clean("/" + m.Source)
				fi, _, rp, err := v.stat(src)
				if err != nil || !fi.IsDir() {
					return nil, fmt.Errorf("cache source %q: not a directory in %s", m.Source, from)
				}
				fromKey = srcState.key + "\x00" + rp
				dirID, sub = id+"\x00"+fromKey, ""
				seed = func(dir string) error {
					spec := &copySpec{ctx: b.ctx, tmp: b.tmp, src: v, srcs: []string{rp}, rawDest: "/m/", dest: "/m"}
					w := newLayerWriter(nil, b.now, nil, 0, 0)
					if err := spec.collect(w); err != nil {
						return err
					}
					return materializeCopy(w, "m", dir)
				}
			}
			idx := len(r.mounts)
			r.lazy = append(r.lazy, func() error {
				dir, release, err := b.cacheMount(dirID, id, sharing, m, seed)
				if err != nil {
					return err
				}
				r.release = append(r.release, release)
				src := filepath.Join(dir, filepath.Clean("/"+sub))
				if err := os.MkdirAll(src, 0o755); err != nil {
					return err
				}
				r.mounts[idx].Source = src
				return nil
			})
			sm.Type = "bind"
			r.key = append(r.key, fmt.Sprintf("cache\x00%s\x00%s\x00%s\x00%s\x00%t\x00%s\x00%s", target, id, sharing, m.Source, m.ReadOnly, fileInfoKey(m), fromKey))
		case instructions.MountTypeBind:
			sm.Type = "bind"
			sm.Discard = !m.ReadOnly
			srcKey, lazy, err := b.bindSource(st, m, &sm, &isFile)
			if err != nil {
				return nil, err
			}
			if lazy != nil {
				idx := len(r.mounts)
				r.lazy = append(r.lazy, func() error { return lazy(&r.mounts[idx]) })
			}
			r.key = append(r.key, fmt.Sprintf("bind\x00%s\x00%s\x00%t\x00%s", target, m.Source, m.ReadOnly, srcKey))
		default:
			return nil, fmt.Errorf("unsupported mount type %q", m.Type)
		}
		if err := mountPoints(r, root, dest, isFile, seen); err != nil {
			return nil, err
		}
		r.mounts = append(r.mounts, sm)
	}
	ok = true
	return r, nil
}

func fileInfoKey(m *instructions.Mount) string {
	f := func(p *uint64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return f(m.UID) + ":" + f(m.GID) + ":" + f(m.Mode)
}

// secretMount mounts a build secret as a file (mode 0400 unless given; /run/secrets/ID unless a
// target is given) or passes it as an environment variable (env=). Its content is never part of
// the cache key, and its mount point never part of the layer.
func (b *builder) secretMount(r *runMounts, m *instructions.Mount, root *view, seen map[string]bool) error {
	id := m.CacheID
	if m.Source != "" {
		id = m.Source
	}
	if id == "" {
		id = path.Base(m.Target)
	}
	target := m.Target
	if m.Env == nil && target == "" {
		target = "/run/secrets/" + path.Base(id)
	}
	envName := ""
	if m.Env != nil {
		envName = *m.Env
		if envName == "" {
			envName = id
		}
	}
	r.key = append(r.key, fmt.Sprintf("secret\x00%s\x00%s\x00%s\x00%t\x00%s", id, target, envName, m.Required, fileInfoKey(m)))
	data, ok := b.o.Secrets[id]
	if !ok {
		if m.Required {
			return fmt.Errorf("secret %s: not found", id)
		}
		return nil
	}
	if envName != "" {
		r.env = append(r.env, envName+"="+string(data))
	}
	if target == "" {
		return nil
	}
	if !path.IsAbs(target) {
		target = "/" + target
	}
	dest, err := root.resolve(target, true)
	if err != nil {
		return fmt.Errorf("secret target %s: %v", target, err)
	}
	sm := container.StepMount{Destination: dest, Type: "bind", Data: append([]byte{}, data...), Mode: 0o400, ReadOnly: true}
	if m.Mode != nil {
		sm.Mode = os.FileMode(*m.Mode)
	}
	if m.UID != nil {
		sm.UID = int(*m.UID)
	}
	if m.GID != nil {
		sm.GID = int(*m.GID)
	}
	if err := mountPoints(r, root, dest, true, seen); err != nil {
		return err
	}
	r.mounts = append(r.mounts, sm)
	return nil
}

// bindSource fills in where a bind mount's files come from (the context, or a stage or image
// read through its layers) and returns what identifies them for the cache key.
func (b *builder) bindSource(st *state, m *instructions.Mount, sm *container.StepMount, isFile *bool) (key string, lazy func(*container.StepMount) error, err error) {
	src := path.Clean("/" + m.Source)
	if m.From == "" {
		fi, host, rp, err := b.ctxView.stat(src)
		if err != nil || (src != "/" && b.isIgnored(rp)) {
			return "", nil, fmt.Errorf("bind source %q: not found in the build context (or excluded by .dockerignore)", m.Source)
		}
		*isFile = !fi.IsDir()
		// The checksum of what is mounted, as COPY would compute it.
		spec := &copySpec{ctx: b.ctx, tmp: b.tmp, src: b.ctxView, isContext: true, ignore: b.ignore,
			srcs: []string{rp}, rawDest: "/m/", dest: "/m"}
		w := newLayerWriter(nil, b.now, nil, 0, 0)
		w.sums = b.sums
		if err := spec.collect(w); err != nil {
			return "", nil, fmt.Errorf("bind source %q: %v", m.Source, err)
		}
		sum, err := w.checksum()
		if err != nil {
			return "", nil, err
		}
		if b.ignore == nil {
			sm.Source = host
			return "context\x00" + sum, nil, nil
		}
		// With a .dockerignore, the mount shows only what the context would send: a tree of
		// hard links (copies across file systems) of the files kept, made if the step runs.
		file := *isFile
		return "context\x00" + sum, func(sm *container.StepMount) error {
			dir, err := os.MkdirTemp(b.tmp, "bind-")
			if err != nil {
				return err
			}
			if err := materialize(w, dir); err != nil {
				return err
			}
			sm.Source = filepath.Join(dir, "m")
			if file {
				sm.Source = filepath.Join(dir, "m", path.Base(rp))
			}
			return nil
		}, nil
	}
	from, _, err := shell.NewLex(b.plan.Escape).ProcessWord(m.From, envGetter(b.plan.Global))
	if err != nil {
		return "", nil, err
	}
	srcState, err := b.fromState(from, st.stage)
	if err != nil {
		return "", nil, fmt.Errorf("--mount from=%s: %v", from, err)
	}
	v := srcState.view(b.s, b.empty)
	fi, _, rp, err := v.stat(src)
	if err != nil {
		return "", nil, fmt.Errorf("bind source %q: not found in %s", m.Source, from)
	}
	*isFile = !fi.IsDir()
	sm.Lowers, sm.SubPath = v.dirs, rp
	return "from\x00" + srcState.key + "\x00" + rp, nil, nil
}

func (b *builder) isIgnored(p string) bool {
	c := copySpec{isContext: true, ignore: b.ignore}
	return c.ignored(p)
}

// materialize writes a layerWriter's files under dir: directories, symlinks, and hard links to
// (or copies of) regular files.
func materialize(w *layerWriter, dir string) error {
	for _, n := range w.sortedNames() {
		e := w.entries[n]
		p := filepath.Join(dir, filepath.FromSlash(n))
		var err error
		switch e.hdr.Typeflag {
		case '5':
			err = os.MkdirAll(p, os.FileMode(e.hdr.Mode)&os.ModePerm|0o700)
		case '2':
			err = os.Symlink(e.hdr.Linkname, p)
		case '0':
			if err = os.Link(e.src, p); err != nil {
				err = copyHostFile(e.src, p, os.FileMode(e.hdr.Mode)&os.ModePerm)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// materializeCopy writes the files of w under prefix into dir as copies (never links: the
// source may be a layer of the store), with their modes and owners.
func materializeCopy(w *layerWriter, prefix, dir string) error {
	for _, n := range w.sortedNames() {
		rel, ok := strings.CutPrefix(n, prefix+"/")
		if !ok {
			continue
		}
		e := w.entries[n]
		p := filepath.Join(dir, filepath.FromSlash(rel))
		mode := os.FileMode(e.hdr.Mode) & os.ModePerm
		var err error
		switch e.hdr.Typeflag {
		case '5':
			err = os.MkdirAll(p, 0o755)
		case '2':
			err = os.Symlink(e.hdr.Linkname, p)
		case '0':
			err = copyHostFile(e.src, p, mode)
		default:
			continue
		}
		if err != nil {
			return err
		}
		os.Lchown(p, e.hdr.Uid, e.hdr.Gid)
		if e.hdr.Typeflag != '2' {
			os.Chmod(p, mode)
		}
	}
	return nil
}

func copyHostFile(src, dst string, perm os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, perm)
}

// fromState is the state a --from (or --mount from=) names: an earlier stage, or an image.
func (b *builder) fromState(from string, cur int) (*state, error) {
	j, isStage, err := b.plan.stageRef(from, cur)
	if err != nil {
		return nil, err
	}
	if isStage {
		return b.states[j], nil
	}
	b.mu.Lock()
	src := b.images[from]
	b.mu.Unlock()
	if src != nil {
		return src, nil
	}
	// An image named by --from is for the build's target platform, as in BuildKit.
	src, err = b.imageState(from, false, b.plan.Platform)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.images[from] = src
	b.mu.Unlock()
	return src, nil
}

// mountPoints adds the mount point dest and its parents to the step's init layer: parents the
// image has with the image's attributes, the others as new directories. Targets under /dev,
// /proc and /sys live on the runtime's own file systems and need none.
func mountPoints(r *runMounts, root *view, dest string, isFile bool, seen map[string]bool) error {
	comps := splitPath(dest)
	if len(comps) == 0 {
		return nil
	}
	switch comps[0] {
	case "dev", "proc", "sys":
		return nil
	}
	for k := 1; k <= len(comps); k++ {
		p := "/" + strings.Join(comps[:k], "/")
		last := k == len(comps)
		fi, _, _, err := root.lstat(p)
		if err != nil {
			if seen[p] {
				continue
			}
			seen[p] = true
			r.points = append(r.points, container.MountPoint{Path: p, Dir: !(last && isFile), Mode: 0o755})
			continue
		}
		if !last && !fi.IsDir() {
			return fmt.Errorf("mount target %s: %s is not a directory", dest, p)
		}
		if last && fi.IsDir() == isFile {
			what := map[bool]string{true: "a file", false: "a directory"}
			return fmt.Errorf("mount target %s is %s in the image; the mount is %s", dest, what[!isFile], what[isFile])
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		mp := container.MountPoint{Path: p, Dir: fi.IsDir(), Mode: os.FileMode(unixMode(fi) & 0o7777), ModTime: fi.ModTime()}
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			mp.UID, mp.GID = int(sys.Uid), int(sys.Gid)
		}
		r.points = append(r.points, mp)
	}
	return nil
}

// cacheMount opens the directory of cache id and locks it as sharing says: shared mounts are
// used by any number of steps at once, locked ones by one step at a time (the others wait), and
// private ones by one step, another step getting another instance. release unlocks it.
func (b *builder) cacheMount(id, label string, sharing instructions.ShareMode, m *instructions.Mount, seed func(dir string) error) (string, func(), error) {
	base := filepath.Join(b.s.Root, cacheMountsDir)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, err
	}
	h := digestOf("cache-mount\x00" + id)[:32]
	for n := 0; ; n++ {
		name := h
		if n > 0 {
			name = fmt.Sprintf("%s-%d", h, n)
		}
		f, err := os.OpenFile(filepath.Join(base, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return "", nil, err
		}
		// Shared users share an instance no private or locked user holds; private users take
		// one nobody uses; locked users wait for the first one.
		how := unix.LOCK_SH | unix.LOCK_NB
		switch sharing {
		case instructions.MountSharingLocked:
			how = unix.LOCK_EX
		case instructions.MountSharingPrivate:
			how = unix.LOCK_EX | unix.LOCK_NB
		}
		if err := flock(int(f.Fd()), how); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				continue
			}
			return "", nil, err
		}
		// The lock file records the id (for `builder du`) and its time is the last use.
		f.Truncate(0)
		f.WriteAt([]byte(label), 0)
		now := time.Now()
		os.Chtimes(f.Name(), now, now)
		dir := filepath.Join(base, name)
		err = os.Mkdir(dir, 0o755)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			f.Close()
			return "", nil, err
		}
		if err == nil && seed != nil {
			// Seeded while this step holds the lock; a shared user arriving meanwhile finds the
			// directory made and may see it filling (as with any shared cache).
			if err := seed(dir); err != nil {
				os.RemoveAll(dir)
				f.Close()
				return "", nil, err
			}
		}
		if m.UID != nil || m.GID != nil {
			uid, gid := 0, 0
			if m.UID != nil {
				uid = int(*m.UID)
			}
			if m.GID != nil {
				gid = int(*m.GID)
			}
			os.Lchown(dir, uid, gid)
		}
		if m.Mode != nil {
			os.Chmod(dir, os.FileMode(*m.Mode)&os.ModePerm)
		}
		return dir, func() { f.Close() }, nil
	}
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}
