package container

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/berth-engine/berth/idmap"
	"github.com/berth-engine/berth/layer"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/rootless"
	"github.com/berth-engine/berth/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// User namespaces (userns-remap): a container created while the config file names a remap user
// records that user's mapping (Container.IDMap) and runs in a user namespace of its own, its root
// an unprivileged host uid. The image's layers stay as they are on disk and shared: the container
// sees them through idmapped mounts, stacked by overlayfs under a writable layer whose files are
// owned by the mapped IDs, as Docker's are. Where the kernel cannot idmap the layers, the
// container gets the copy driver with a copy of the image chowned into the mapped range.

// UsernsLayers says how a remapped container sees the image's layers, for `info`.
const (
	UsernsIdmapped = "idmapped mounts"
	UsernsCopied   = "chowned copies"
)

// usernsPrivilegedError is Docker's refusal of --privileged under userns-remap.
const usernsPrivilegedError = "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode"

// errRemapRootless: the rootless user namespace's map is the user's ranges; no other can nest.
var errRemapRootless = errors.New("userns-remap cannot be used in rootless mode: rootless containers already run in the user's own user namespace (remove userns-remap from berth's config file)")

// Remap is the mapping new containers get from the manager's UsernsRemap setting (the zero Map
// when it is empty), the default user and its ranges created on first use as dockerd does.
func (m *Manager) Remap() (idmap.Map, error) {
	if m.UsernsRemap == "" {
		return idmap.Map{}, nil
	}
	if rootless.Active() {
		return idmap.Map{}, errRemapRootless
	}
	usr, group, err := idmap.ParseRemap(m.UsernsRemap)
	if err != nil {
		return idmap.Map{}, err
	}
	if usr == idmap.DefaultUser {
		if err := idmap.EnsureUser(usr); err != nil {
			return idmap.Map{}, err
		}
	}
	return idmap.Lookup(usr, group)
}

// remapFor is the mapping of a container being created: none with --userns=host.
func (m *Manager) remapFor(h *HostConfig) (*idmap.Map, error) {
	if m.UsernsRemap == "" || h.UsernsMode == "host" {
		return nil, nil
	}
	if h.Privileged {
		return nil, errors.New(usernsPrivilegedError)
	}
	mp, err := m.Remap()
	if err != nil {
		return nil, err
	}
	return &mp, nil
}

// UsernsLayers tells how remapped containers get the image's layers on this kernel and
// filesystem: probed once per root with the remap user's mapping, the answer kept in
// ROOT/userns-layers.
func (m *Manager) UsernsLayers(mp idmap.Map) string {
	marker := filepath.Join(m.Images.Root, "userns-layers")
	if b, err := os.ReadFile(marker); err == nil {
		return strings.TrimSpace(string(b))
	}
	v := UsernsIdmapped
	if err := idmap.Probe(m.Images.Root, mp); err != nil {
		v = UsernsCopied
	}
	os.WriteFile(marker, []byte(v+"\n"), 0o600)
	return v
}

// prepareRemapped makes a new remapped container's directories usable by its root: the
// writable layer owned by the mapped root, and the way from the store's root down to the
// container's rootfs searchable by the mapped root's group only (the runtime resolves the
// rootfs path as the container's root; Docker's data root is root:REMAPGID 0710 the same way).
func (m *Manager) prepareRemapped(c *Container) error {
	uid, gid := c.IDMap.Root()
	for _, d := range []string{m.Images.Root, filepath.Join(m.Images.Root, "containers"), m.dir(c.ID)} {
		if err := os.Chown(d, 0, gid); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o710); err != nil {
			return err
		}
	}
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.Chown(filepath.Join(m.dir(c.ID), d), uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// The user namespace handle of each mapping, made once per process (making one forks).
var (
	usernsMu    sync.Mutex
	usernsFiles = map[string]*os.File{}
)

func usernsFile(mp idmap.Map) (*os.File, error) {
	key := idmap.ProcMap(mp.UIDs) + "/" + idmap.ProcMap(mp.GIDs)
	usernsMu.Lock()
	defer usernsMu.Unlock()
	if f := usernsFiles[key]; f != nil {
		return f, nil
	}
	f, err := idmap.UsernsFile(mp)
	if err != nil {
		return nil, err
	}
	usernsFiles[key] = f
	return f, nil
}

// mountLayers mounts a container's overlay at target: as the layer store gives it, or with
// the lower layers idmapped for a remapped container.
func mountLayers(c *Container, mounts []layer.Mount, dir, target string) error {
	if c.IDMap == nil {
		return mountOverlay(mounts, dir, target)
	}
	ns, err := usernsFile(*c.IDMap)
	if err != nil {
		return err
	}
	for _, mt := range mounts {
		if mt.Type != "overlay" {
			return fmt.Errorf("mounting the rootfs of a user-namespaced container: %s mounts cannot be idmapped", mt.Type)
		}
		if err := idmap.FromOptions(mt.Options).Mount(ns, target); err != nil {
			if missing := missingMountDir(mt.Options); missing != "" {
				return fmt.Errorf("mounting the rootfs at %s: %s does not exist: a layer of the image is missing from the store", target, missing)
			}
			return fmt.Errorf("mounting the rootfs at %s with idmapped layers: %w", target, err)
		}
	}
	return nil
}

// hostOwner is the host owner of a file the container's uid and gid should own.
func (c *Container) hostOwner(uid, gid int) (int, int, error) {
	if c.IDMap == nil {
		return uid, gid, nil
	}
	return c.IDMap.ToHost(uid, gid)
}

// shiftTar rewrites the owners in a tar stream with shift (host IDs of a remapped container's
// files to the container's, or back); an owner outside the mapping becomes the overflow ID
// 65534, as the kernel shows it inside.
func shiftTar(r io.Reader, shift func(uid, gid int) (int, int, error)) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tr, tw := tar.NewReader(r), tar.NewWriter(pw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				pw.CloseWithError(tw.Close())
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if u, g, err := shift(hdr.Uid, hdr.Gid); err == nil {
				hdr.Uid, hdr.Gid = u, g
			} else {
				hdr.Uid, hdr.Gid = overflowID, overflowID
			}
			if err := tw.WriteHeader(hdr); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// overflowID is the kernel's overflowuid/overflowgid: what an unmapped ID looks like in a user namespace.
const overflowID = 65534

// writeTar writes the tar stream produce makes of the container's files to w, with the
// container's IDs where they are stored as mapped host IDs (a remapped container).
func (c *Container) writeTar(w io.Writer, produce func(io.Writer) error) error {
	if c.IDMap == nil {
		return produce(w)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := produce(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	shifted := shiftTar(pr, c.IDMap.ToContainer)
	_, err := io.Copy(w, shifted)
	shifted.Close()
	pr.CloseWithError(errors.New("stopped reading"))
	if perr := <-done; perr != nil && err == nil {
		err = perr
	}
	return err
}

// usernsFileName is where a remapped container's user namespace is bound while it runs
// (containers/<id>/userns).
const usernsFileName = "userns"

// newNetNS makes the network namespace of a container: for a remapped one, owned by the
// container's own user namespace, made with it (see idmap.MakeNamespaces).
func (m *Manager) newNetNS(c *Container, path string) error {
	if c.IDMap == nil {
		return network.NewNetNS(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	userns := filepath.Join(m.dir(c.ID), usernsFileName)
	idmap.RemoveNamespace(userns)
	if err := idmap.MakeNamespaces(*c.IDMap, userns, path); err != nil {
		return err
	}
	if err := network.LoopbackUpIn(path); err != nil {
		idmap.RemoveNamespace(userns)
		network.RemoveNetNS(path)
		return err
	}
	return nil
}

// containerUserns is the user namespace a remapped container joins: the one its network
// namespace was made with, the one owning the namespaces of another remapped container it joins
// (--network, --ipc or --pid container:X: only that user namespace may enter them, and runc exec
// joins the user namespace first), or a new one. ownNet reports whether that user namespace owns
// the container's network namespace (so the container may mount sysfs and set net sysctls).
func (m *Manager) containerUserns(c *Container, netns string, joined ...string) (path string, ownNet bool, err error) {
	path = filepath.Join(m.dir(c.ID), usernsFileName)
	var owners []*os.File
	defer func() {
		for _, o := range owners {
			o.Close()
		}
	}()
	var netOwner *os.File
	for i, p := range append([]string{netns}, joined...) {
		if !strings.HasPrefix(p, "/") {
			continue
		}
		owner, err := ownerUserns(p)
		if err != nil {
			return "", false, err
		}
		if owner == nil {
			continue
		}
		owners = append(owners, owner)
		if i == 0 {
			netOwner = owner
		}
	}
	for _, o := range owners[min(1, len(owners)):] {
		if !sameFile(o, owners[0]) {
			if netns == filepath.Join(m.Images.Root, "netns", c.ID) {
				return "", false, errors.New("with userns-remap, --ipc and --pid container:X need --network container:X or --network none: a network of the container's own belongs to a user namespace of its own, which cannot enter X's namespaces")
			}
			return "", false, errors.New("with userns-remap, --network, --ipc and --pid container:X must name containers in one user namespace")
		}
	}
	if len(owners) > 0 {
		// The network namespace berth made with this container's own user namespace is
		// owners[0] then; a joined IPC or PID namespace must be in that one too (checked above).
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil || st.Type != idmap.NSFSMagic {
			if err := bindNamespace(fmt.Sprintf("/proc/self/fd/%d", owners[0].Fd()), path); err != nil {
				return "", false, err
			}
		}
		return path, netOwner != nil || netns == runtime.NetworkNone, nil
	}
	idmap.RemoveNamespace(path)
	return path, netns == runtime.NetworkNone, idmap.MakeNamespaces(*c.IDMap, path, "")
}

// sameFile reports whether two open namespace files are the same namespace.
func sameFile(a, b *os.File) bool {
	var sa, sb unix.Stat_t
	return unix.Fstat(int(a.Fd()), &sa) == nil && unix.Fstat(int(b.Fd()), &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// ownerUserns opens the user namespace that owns the namespace at nsPath; nil when it is the
// host's (berth's own).
func ownerUserns(nsPath string) (*os.File, error) {
	ns, err := os.Open(nsPath)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	fd, err := unix.IoctlRetInt(int(ns.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		return nil, fmt.Errorf("finding the owner of namespace %s: %w", nsPath, err)
	}
	owner := os.NewFile(uintptr(fd), "userns")
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		owner.Close()
		return nil, err
	}
	if err := unix.Stat("/proc/self/ns/user", &b); err != nil {
		owner.Close()
		return nil, err
	}
	if a.Dev == b.Dev && a.Ino == b.Ino {
		owner.Close()
		return nil, nil
	}
	return owner, nil
}

// bindNamespace bind-mounts a namespace file at path (created empty).
func bindNamespace(src, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fmt.Errorf("binding the user namespace at %s: %w", path, err)
	}
	return nil
}

func hasMount(mounts []specs.Mount, dst string) bool {
	for _, mt := range mounts {
		if filepath.Clean(mt.Destination) == dst {
			return true
		}
	}
	return false
}

func needRoot() error { return rootless.NeedRoot("running containers") }

// prepareRemappedStep readies a build step's directories for a remapped root, as
// prepareRemapped does a container's.
func (m *Manager) prepareRemappedStep(c *Container, dir string) error {
	uid, gid := c.IDMap.Root()
	if err := os.MkdirAll(m.dir(c.ID), 0o700); err != nil {
		return err
	}
	for _, d := range []string{m.Images.Root, filepath.Dir(dir), dir} {
		if err := os.Chown(d, 0, gid); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o710); err != nil {
			return err
		}
	}
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// shiftOwners rewrites the owner of everything under dir with shift (a remapped step's layer
// back to the step's own IDs). chown clears set-uid and set-gid bits, so modes are put back;
// overlayfs whiteouts (made as the host's root) keep their owner, which a layer ignores.
func shiftOwners(dir string, shift func(uid, gid int) (int, int, error)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if isWhiteout(fi) {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		uid, gid, err := shift(int(st.Uid), int(st.Gid))
		if err != nil {
			uid, gid = overflowID, overflowID
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return unix.Chmod(p, st.Mode&0o7777)
		}
		return nil
	})
}

// precompiledSeccomp gives a crun container's spec the BPF crun compiled for the same profile
// before (ROOT/seccomp/<sha256 of the profile>), compiling it once in a probe container on a
// miss: loading it costs crun under 2 ms where compiling Docker's profile costs some 25 ms. On
// any failure crun compiles the profile itself, as it would have.
func (m *Manager) precompiledSeccomp(spec *specs.Spec) {
	rt, err := m.Runtime("crun")
	if err != nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	cache := runtime.SeccompCache{Dir: filepath.Join(m.Images.Root, "seccomp"), Probe: []string{exe, "seccomp-probe"}}
	cache.Precompiled(rt, spec)
}
