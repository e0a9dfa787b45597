package container

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/runtime"
	"github.com/moby/sys/user"
)

// `cp` between a container and the host. The container's side is its root filesystem opened as an
// archive.Root: every path is resolved there on descriptors, and what is found is then read or
// written through those descriptors, so a running container that swaps a symlink in under the
// path (CVE-2018-15664) cannot make berth read or write the host's files. Copies travel as tar
// streams, as Docker's do (GET/PUT /containers/{id}/archive): ArchivePath and ExtractTo are that
// container side, which the Engine API can serve as they are.

// CopyOptions are `cp`'s flags.
type CopyOptions struct {
	FollowLink bool // -L: a symlink source is copied as what it points to
	Archive    bool // -a: keep the uid/gid of what is copied in (else the container's root owns it)
	// AllowOverwriteDirWithFile lets a copy into the container replace a directory with a
	// non-directory and the reverse: the Engine API's PUT archive without noOverwriteDirNonDir
	// (docker-py's put_archive); `docker cp` always refuses it.
	AllowOverwriteDirWithFile bool
}

// Docker's errors for cp (moby's pkg/archive/copy.go).
var (
	errCannotCopyDir = CheckError{errors.New("cannot copy directory")}
	errDirNotExists  = CheckError{errors.New("no such directory")}
)

// CheckError is a cp refusal that Docker's CLI makes itself, from what it sees of both sides
// before anything moves; Docker prints these bare (no "Error: ").
type CheckError struct{ Err error }

func (e CheckError) Error() string { return e.Err.Error() }
func (e CheckError) Unwrap() error { return e.Err }

// copyPlan is where a copy lands: the source goes into the stream with its top entry named Name
// and is unpacked into the directory Into (a path on the destination's side).
type copyPlan struct {
	Into string
	Name string
}

// copySource is what planCopy needs to know of a source.
type copySource struct {
	Name        string // its top entry's name in the stream: its base name, "." for a directory's content
	IsDir       bool
	ContentOnly bool // "DIR/." (or "/"): the directory's content, not the directory
}

// sourceOf describes the source found at p.
func sourceOf(p string, isDir bool) copySource {
	s := copySource{Name: path.Base(path.Clean("/" + filepath.ToSlash(p))), IsDir: isDir}
	if isDir && (s.Name == "/" || strings.HasSuffix(p, "/.") || p == ".") {
		s.Name, s.ContentOnly = ".", true
	}
	return s
}

// planCopy applies `docker cp`'s rules for the destination dst (a path on its own side, which
// exists or not, is a directory or not): into an existing directory under the source's name (its
// content only for "DIR/."); over an existing file; or as a new entry named like dst in dst's
// parent, which the caller checks exists.
func planCopy(src copySource, dst string, exists, isDir bool) (copyPlan, error) {
	switch {
	case exists && isDir:
		return copyPlan{Into: dst, Name: src.Name}, nil
	case exists && src.IsDir:
		return copyPlan{}, errCannotCopyDir
	case !exists && !src.IsDir && (strings.HasSuffix(dst, "/") || strings.HasSuffix(dst, "/.")):
		return copyPlan{}, errDirNotExists
	}
	clean := filepath.Clean(dst)
	return copyPlan{Into: filepath.Dir(clean), Name: filepath.Base(clean)}, nil
}

// ArchivePath writes the tar stream of path src in the container to w, its top entry named after
// src (".": a directory's content, for "DIR/." or "/"), as GET /containers/{id}/archive does.
// It reports whether the source is a directory.
func (m *Manager) ArchivePath(ref, src string, o CopyOptions, w io.Writer) (isDir bool, err error) {
	err = m.withPathRoot(ref, src, func(c *Container, root *archive.Root, rel string) error {
		e, err := lookupSource(root, ref, rel, o.FollowLink)
		if err != nil {
			return err
		}
		defer e.Close()
		isDir = e.IsDir()
		to := archive.TarOptions{Names: ownerNames(root, c), TypeBits: true} // Docker's headers
		return c.writeTar(w, func(w io.Writer) error { return e.WriteTarWith(w, sourceOf(src, isDir).Name, to) })
	})
	return isDir, err
}

// ownerNames names owners as the container's /etc/passwd and /etc/group do (the first line of an
// ID wins, as a lookup by ID finds it), read through root so that a symlink there cannot lead
// berth to the host's files. An ID the files do not name has no name, as in Docker's archives.
func ownerNames(root *archive.Root, c *Container) func(uid, gid int) (string, string) {
	users, groups := map[int]string{}, map[int]string{}
	if f, err := root.Open("/etc/passwd"); err == nil {
		us, _ := user.ParsePasswd(f)
		f.Close()
		for _, u := range us {
			if _, ok := users[u.Uid]; !ok {
				users[u.Uid] = u.Name
			}
		}
	}
	if f, err := root.Open("/etc/group"); err == nil {
		gs, _ := user.ParseGroup(f)
		f.Close()
		for _, g := range gs {
			if _, ok := groups[g.Gid]; !ok {
				groups[g.Gid] = g.Name
			}
		}
	}
	return func(uid, gid int) (string, string) {
		if c.IDMap != nil { // the files name the container's IDs; the headers hold the host's here
			uid, gid, _ = c.IDMap.ToContainer(uid, gid)
		}
		return users[uid], groups[gid]
	}
}

// lookupSource finds the source of a copy out of the container, with Docker's errors.
func lookupSource(root *archive.Root, ref, src string, follow bool) (*archive.Entry, error) {
	e, err := root.Lookup(src, follow)
	if errors.Is(err, fs.ErrNotExist) {
		// Docker names the path as given, or where -L led.
		missing := src
		if pe := (*os.PathError)(nil); errors.As(err, &pe) && pe.Path != path.Clean("/"+src) {
			missing = pe.Path
		}
		return nil, PathNotFoundError{Path: missing, Container: ref}
	}
	if err != nil {
		return nil, err
	}
	if !e.IsDir() && (strings.HasSuffix(src, "/") || strings.HasSuffix(src, "/.")) {
		e.Close()
		return nil, fmt.Errorf("lstat %s: not a directory", src)
	}
	return e, nil
}

// CopyFrom copies a path out of a container to a host path, with `docker cp`'s rules ("-": the
// tar stream to w).
func (m *Manager) CopyFrom(ref, src, dst string, o CopyOptions, w io.Writer) error {
	if dst == "-" {
		_, err := m.ArchivePath(ref, src, o, w)
		return err
	}
	// The host's side: what the user named, a symlink followed once, as Docker's CLI does.
	if fi, err := os.Lstat(dst); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(dst)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(dst), target)
		}
		dst = target
	}
	fi, err := os.Stat(dst)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return err
	}
	if !exists {
		if parent := filepath.Dir(filepath.Clean(dst)); !isDirPath(parent) {
			return CheckError{fmt.Errorf("invalid output path: directory %q does not exist", parent)}
		}
	}
	return m.withPathRoot(ref, src, func(_ *Container, root *archive.Root, rel string) error {
		e, err := lookupSource(root, ref, rel, o.FollowLink)
		if err != nil {
			return err
		}
		defer e.Close()
		s := sourceOf(src, e.IsDir())
		plan, err := planCopy(s, dst, exists, exists && fi.IsDir())
		if err != nil {
			return err
		}
		// A directory's content copied to a new dst is the directory renamed: plan.Name names
		// the top entry either way.
		return pipeTar(func(w io.Writer) error { return e.WriteTar(w, plan.Name) }, func(r io.Reader) error {
			_, err := archive.Apply(plan.Into, r, archive.ApplyOptions{
				Whiteout: archive.WhiteoutNone, NoChown: true, NoOverwriteDirNonDir: true,
			})
			return err
		})
	})
}

func isDirPath(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// pipeTar runs produce and consume on the two ends of a pipe.
func pipeTar(produce func(io.Writer) error, consume func(io.Reader) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := produce(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	cerr := consume(pr)
	pr.CloseWithError(errors.New("stopped reading"))
	perr := <-done
	if perr != nil && cerr == nil {
		return perr
	}
	return cerr
}

// extractOptions are the options of an unpack into container c, as Docker's daemon has them:
// what arrives keeps the uid/gid of the stream, except that with -a a container run as a user
// (--user) gets everything owned by that user (resolved in the container's own /etc/passwd;
// Docker looks the name up on the host).
func extractOptions(c *Container, root *archive.Root, o CopyOptions) (archive.ApplyOptions, error) {
	opts := archive.ApplyOptions{Whiteout: archive.WhiteoutNone, NoOverwriteDirNonDir: !o.AllowOverwriteDirWithFile}
	if o.Archive && c.Config.User != "" {
		u, _, err := runtime.ResolveUserIn(root, c.Config.User)
		if err != nil {
			return opts, err
		}
		opts.IDMap = func(int, int) (int, int, error) { return int(u.UID), int(u.GID), nil }
	}
	if c.IDMap != nil {
		// The stream's owners are the container's IDs: stored as the host IDs they map to.
		inner, mp := opts.IDMap, *c.IDMap
		opts.IDMap = func(uid, gid int) (int, int, error) {
			if inner != nil {
				uid, gid, _ = inner(uid, gid)
			}
			return mp.ToHost(uid, gid)
		}
	}
	return opts, nil
}

// ExtractTo unpacks the tar stream r into directory dst of the container (a symlink is followed
// inside the container), as PUT /containers/{id}/archive does; `cp - CONTAINER:DIR`.
func (m *Manager) ExtractTo(ref, dst string, r io.Reader, o CopyOptions) error {
	return m.withPathRoot(ref, dst, func(c *Container, root *archive.Root, rel string) error {
		opts, err := extractOptions(c, root, o)
		if err != nil {
			return err
		}
		e, err := root.Lookup(rel, true)
		if err == nil && !e.IsDir() {
			e.Close()
			err = errors.New("not a directory")
		}
		if err != nil {
			return CheckError{fmt.Errorf("destination %q must be a directory", ref+":"+dst)}
		}
		defer e.Close()
		_, err = e.Apply(r, opts)
		return overwriteError(err, dst)
	})
}

// overwriteError words a refused replacement of a directory by a non-directory (or the
// reverse) as dockerd's copy into a container does, with the paths in the container: the
// entry's and the directory unpacked into.
func overwriteError(err error, into string) error {
	var oe *archive.OverwriteError
	if !errors.As(err, &oe) {
		return err
	}
	into = path.Clean("/" + into)
	p := path.Join(into, oe.Path)
	if oe.Dir {
		return fmt.Errorf("Error processing tar file(exit status 1): cannot overwrite directory %q with non-directory %q", p, into)
	}
	return fmt.Errorf("Error processing tar file(exit status 1): cannot overwrite non-directory %q with directory %q", p, into)
}

// CopyTarTo is `cp - CONTAINER:DIR`.
func (m *Manager) CopyTarTo(ref string, r io.Reader, dst string, o CopyOptions) error {
	return m.ExtractTo(ref, dst, r, o)
}

// CopyTo copies a host path into a container, with `docker cp`'s rules.
func (m *Manager) CopyTo(ref, src, dst string, o CopyOptions) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if strings.HasSuffix(src, "/.") {
		abs += "/."
	}
	stat := os.Lstat
	if o.FollowLink {
		stat = os.Stat
	}
	if _, err := stat(abs); err != nil {
		var pe *os.PathError
		if !o.FollowLink && errors.As(err, &pe) {
			// Docker's CLI resolves the parent's symlinks and names the source
			// PARENT + "/" + NAME ("//x" for "/x").
			dir, base := filepath.Split(abs)
			if r, rerr := filepath.EvalSymlinks(dir); rerr == nil {
				dir = r
			}
			pe.Path = strings.TrimSuffix(dir, "/") + "/" + base
			if dir == "/" {
				pe.Path = "//" + base
			}
		}
		return CheckError{err}
	}
	// The host's side is read on descriptors too: a host path is what it is when it is opened.
	host, err := archive.OpenRoot("/")
	if err != nil {
		return err
	}
	defer host.Close()
	se, err := host.Lookup(abs, o.FollowLink)
	if err != nil {
		return err
	}
	defer se.Close()
	if !se.IsDir() && (strings.HasSuffix(src, "/") || strings.HasSuffix(src, "/.")) {
		return &os.PathError{Op: "lstat", Path: src, Err: errors.New("not a directory")}
	}
	s := sourceOf(src, se.IsDir())
	return m.withPathRoot(ref, dst, func(c *Container, root *archive.Root, dst string) error {
		opts, err := extractOptions(c, root, o)
		if err != nil {
			return err
		}
		de, err := root.Lookup(dst, true)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("extraction point is not a directory")
		}
		if pe := (*os.PathError)(nil); errors.As(err, &pe) && pe.Path != path.Clean("/"+dst) {
			// A dangling symlink: Docker creates what it points to.
			dst = pe.Path
		}
		exists := err == nil
		if exists {
			defer de.Close()
			// "FILE/" is no directory: Docker's lstat fails, so the destination does not exist.
			exists = de.IsDir() || !strings.HasSuffix(dst, "/")
		}
		plan, err := planCopy(s, dst, exists, exists && de.IsDir())
		if err != nil {
			return err
		}
		apply := func(r io.Reader) error {
			var err error
			switch {
			case exists && de.IsDir():
				_, err = de.Apply(r, opts)
				err = overwriteError(err, dst)
			case exists:
				_, err = de.ApplyBeside(r, opts)
				err = overwriteError(err, path.Dir(path.Clean("/"+dst)))
			default:
				pe, lerr := root.Lookup(plan.Into, true)
				if lerr != nil {
					return PathNotFoundError{Path: plan.Into, Container: ref}
				}
				defer pe.Close()
				if !pe.IsDir() {
					return errors.New("extraction point is not a directory")
				}
				_, err = pe.Apply(r, opts)
				err = overwriteError(err, plan.Into)
			}
			return err
		}
		name := plan.Name
		if exists && !de.IsDir() {
			name = de.Base()
		}
		return pipeTar(func(w io.Writer) error { return se.WriteTar(w, name) }, apply)
	})
}

// withPathRoot runs fn with the file system path p of the container lies on opened as a Root,
// and p as a path inside it: a volume or bind mount whose target holds p (the host directory
// behind it, which a stopped container's merged filesystem does not show and a running one's
// shows only in its own mount namespace), else the container's merged filesystem. A missing
// path is named as the container sees it.
func (m *Manager) withPathRoot(ref, p string, fn func(*Container, *archive.Root, string) error) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	if st.Running() && underTmpfs(c, p) {
		// A tmpfs exists only in the container's mount namespace: the copy goes through its
		// root there, every path resolved from that descriptor as the container sees it.
		root, err := m.namespaceRoot(c, st)
		if err != nil {
			return err
		}
		defer root.Close()
		return fn(c, root, p)
	}
	dir, target, rel := m.mountHolding(c, p)
	if dir == "" {
		return m.withContainerRoot(ref, func(c *Container, root *archive.Root) error { return fn(c, root, p) })
	}
	root, err := archive.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	err = fn(c, root, rel)
	var pnf PathNotFoundError
	if errors.As(err, &pnf) {
		pnf.Path = path.Join(target, pnf.Path)
		return pnf
	}
	return err
}

// underTmpfs reports whether path p of c lies on one of its tmpfs mounts (--tmpfs, --mount
// type=tmpfs).
func underTmpfs(c *Container, p string) bool {
	clean := path.Clean("/" + p)
	under := func(t string) bool {
		t = path.Clean("/" + t)
		return clean == t || strings.HasPrefix(clean, t+"/") || t == "/"
	}
	for t := range c.Host.Tmpfs {
		if under(t) {
			return true
		}
	}
	for _, mt := range c.Host.Mounts {
		if mt.Type == "tmpfs" && under(mt.Target) {
			return true
		}
	}
	return false
}

// namespaceRoot opens the root of a running container as its mount namespace has it
// (/proc/PID/root, a descriptor the kernel anchors there, not a path): lookups from it cross
// the container's own mounts. The init must be the same process after the open as before it
// (a PID reused by another process meanwhile would give another root).
func (m *Manager) namespaceRoot(c *Container, st State) (*archive.Root, error) {
	pid := m.pid(c.ID, st)
	if pid <= 0 {
		return nil, fmt.Errorf("container %s: its process is not known", c.ID)
	}
	before, err := procStart(pid)
	if err != nil {
		return nil, fmt.Errorf("container %s is not running", c.ID)
	}
	root, err := archive.OpenRoot(fmt.Sprintf("/proc/%d/root", pid))
	if err != nil {
		return nil, err
	}
	if after, err := procStart(pid); err != nil || after != before {
		root.Close()
		return nil, fmt.Errorf("container %s is not running", c.ID)
	}
	return root, nil
}

// mountHolding finds the volume or bind mount of c whose target holds path p (the deepest):
// its host directory, its target, and p relative to it ("" when none does).
func (m *Manager) mountHolding(c *Container, p string) (dir, target, rel string) {
	clean := path.Clean("/" + p)
	for _, mt := range c.Host.Mounts {
		t := path.Clean(mt.Target)
		if clean != t && !strings.HasPrefix(clean, t+"/") || len(t) <= len(target) {
			continue
		}
		var d string
		switch mt.Type {
		case "volume":
			d = m.volumeDir(mt.Source)
		case "bind":
			d = mt.Source
		}
		if fi, err := os.Stat(d); d == "" || err != nil || !fi.IsDir() {
			continue
		}
		dir, target = d, t
		rel = "/" + strings.TrimPrefix(strings.TrimPrefix(clean, t), "/")
		if strings.HasSuffix(p, "/") && rel != "/" {
			rel += "/"
		} else if strings.HasSuffix(p, "/.") {
			rel = strings.TrimSuffix(rel, "/") + "/."
		}
	}
	return dir, target, rel
}

// withContainerRoot runs fn with the container's merged filesystem opened as a Root.
func (m *Manager) withContainerRoot(ref string, fn func(*Container, *archive.Root) error) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	return m.withRootfs(c, st, func(dir string) error {
		root, err := archive.OpenRoot(dir)
		if err != nil {
			return err
		}
		defer root.Close()
		return fn(c, root)
	})
}

// PathStat is what GET/HEAD /containers/{id}/archive tell of a path in a container (Docker's
// X-Docker-Container-Path-Stat).
type PathStat struct {
	Name       string      `json:"name"`
	Size       int64       `json:"size"`
	Mode       fs.FileMode `json:"mode"`
	Mtime      time.Time   `json:"mtime"`
	LinkTarget string      `json:"linkTarget"`
}

// StatPath describes path p of a container, found on descriptors as a copy finds it (a final
// symlink not followed; its target, resolved inside the container, is LinkTarget).
func (m *Manager) StatPath(ref, p string) (PathStat, error) {
	var ps PathStat
	err := m.withPathRoot(ref, p, func(_ *Container, root *archive.Root, rel string) error {
		e, err := lookupSource(root, ref, rel, false)
		if err != nil {
			return err
		}
		defer e.Close()
		ps = PathStat{Name: e.Base(), Size: e.Size(), Mode: e.Mode(), Mtime: e.ModTime()}
		if e.Mode()&fs.ModeSymlink != 0 {
			if t, err := root.Lookup(rel, true); err == nil {
				ps.LinkTarget = t.Path
				t.Close()
			} else if target, err := e.Readlink(); err == nil {
				ps.LinkTarget = target
			}
		}
		return nil
	})
	return ps, err
}

// PathNotFoundError is a copy's missing path, in Docker's words (its API's 404).
type PathNotFoundError struct{ Path, Container string }

func (e PathNotFoundError) Error() string {
	return fmt.Sprintf("Could not find the file %s in container %s", e.Path, e.Container)
}
