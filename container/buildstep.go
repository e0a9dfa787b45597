package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/idmap"
	"github.com/berth-engine/berth/layer"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/rootless"
	"github.com/berth-engine/berth/runtime"
)

// StepOptions is one RUN of a build: a command over image layers with a throw-away writable
// layer, leaving no container record behind.
type StepOptions struct {
	Layers  []digest.Digest // chain IDs, bottom first
	Args    []string
	Env     []string
	User    string
	WorkDir string
	// Network is "none", "host", or ""/"default"/"bridge" for a namespace of its own on the
	// bridge network: BuildKit's default as dockerd runs it (its bridge provider), so a step can
	// fetch but neither sees nor takes the host's ports and addresses. Any other value names a
	// user-defined network (the classic builder's networkmode): the step gets an endpoint there
	// and asks the network's embedded DNS, as a container on it does.
	Network string
	// ShmSize is /dev/shm's size in bytes (build --shm-size); 0 for Docker's 64 MiB.
	ShmSize int64
	// Mounts are the step's RUN --mount mounts (and other per-step mounts such as a heredoc
	// script), mounted in this order after the defaults.
	Mounts []StepMount
	// MountPoints are made in the step's init layer, below the writable layer, so that mount
	// points (and parents the image lacks) never show up in the step's layer. A path the image
	// has is given with the image's attributes, so a copy-up of it keeps them.
	MountPoints []MountPoint
	// Insecure is RUN --security=insecure (with `build --allow security.insecure`): a privileged
	// step, as BuildKit runs it.
	Insecure bool
	// ExtraHosts are host:ip lines added to the step's /etc/hosts (build --add-host).
	ExtraHosts     []string
	Stdout, Stderr io.Writer
	// Context, when canceled, stops the step: its command is killed and everything the step
	// made is undone before RunStep returns the context's error.
	Context context.Context
	// Created, if set, is told the step's container ID ("build-" and 32 hex digits: the
	// runtime's container and builds/ID) once it has one, before the command runs.
	Created func(id string)
}

// StepMount is one mount of a build step.
type StepMount struct {
	Destination string // absolute in the rootfs, symlinks already resolved
	Type        string // "bind" or "tmpfs"
	// Source is a host file or directory to bind. Lowers, when set, replace it: the source is
	// then an overlay of these directories (top first, e.g. a stage's layers) seen at SubPath.
	Source  string
	Lowers  []string
	SubPath string
	// Data, when not nil, replaces Source: a file with this content, Mode and owner, made for
	// the step only and removed with it (a secret, a heredoc script).
	Data     []byte
	Mode     os.FileMode
	UID, GID int
	ReadOnly bool
	// Discard makes a writable mount whose writes go to a scratch layer thrown away after the
	// step (RUN --mount=type=bind,rw); without it a writable bind writes to its source (a cache).
	Discard bool
	Options []string // extra options (tmpfs: size=, mode=)
}

// MountPoint is a file or directory of a step's init layer.
type MountPoint struct {
	Path     string // absolute
	Dir      bool
	Mode     os.FileMode // permission bits (and setuid/setgid/sticky)
	UID, GID int
	ModTime  time.Time // zero: now
}

// StepError is a RUN whose command failed, in BuildKit's words.
type StepError struct {
	Args []string
	Code int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("process %q did not complete successfully: exit code: %d", strings.Join(e.Args, " "), e.Code)
}

// RunStep runs a build step and returns the directory holding what the command changed (an
// overlay upper dir: deletions are whiteouts, ready for archive.Diff) and a cleanup that removes
// everything the step made. On a failed command the error is a *StepError.
func (m *Manager) RunStep(o StepOptions) (upper string, cleanup func(), err error) {
	if err := needRoot(); err != nil {
		return "", nil, err
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	idb := make([]byte, 32)
	rand.Read(idb)
	id := "build-" + hex.EncodeToString(idb)[:32]
	if o.Created != nil {
		o.Created(id)
	}
	dir := filepath.Join(m.Images.Root, "builds", id)
	rootfs := filepath.Join(dir, "rootfs")
	upper = filepath.Join(dir, "upper")
	// The step's record comes first: a berth killed from here on leaves a directory whose
	// owner is gone, which the next berth sweeps (SweepInterrupted).
	owner, err := claimStepDir(dir)
	if err != nil {
		return "", nil, err
	}
	for _, d := range []string{rootfs, upper, filepath.Join(dir, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			os.RemoveAll(dir)
			owner.Close()
			return "", nil, err
		}
	}
	var overlays []string // host-side overlay mounts of mount sources, unmounted before removal
	var undoNetwork func()
	var dns *network.Resolver
	// sandbox is the step as a container: its user namespace mapping and network state.
	sandbox := &Container{ID: id, Host: HostConfig{NetworkMode: "bridge"}}
	// The record (dir) goes last, once everything it points to is undone.
	cleanup = func() {
		unix.Unmount(rootfs, unix.MNT_DETACH)
		for _, o := range overlays {
			unix.Unmount(o, unix.MNT_DETACH)
		}
		if dns != nil {
			dns.Close()
		}
		if undoNetwork != nil {
			undoNetwork()
		}
		if sandbox.IDMap != nil {
			idmap.RemoveNamespace(filepath.Join(m.dir(id), usernsFileName))
			os.RemoveAll(m.dir(id))
		}
		os.RemoveAll(dir)
		owner.Close()
	}
	fail := func(err error) (string, func(), error) {
		cleanup()
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		return "", nil, err
	}
	if sandbox.IDMap, err = m.remapFor(&HostConfig{Privileged: o.Insecure}); err != nil {
		return fail(err)
	}
	if sandbox.IDMap != nil {
		if err := m.prepareRemappedStep(sandbox, dir); err != nil {
			return fail(err)
		}
	}
	init := filepath.Join(dir, "init")
	if err := makeInitLayer(init); err != nil {
		return fail(err)
	}
	if err := makeMountPoints(init, o.MountPoints); err != nil {
		return fail(err)
	}
	if err := mountLayers(sandbox, m.stepMounts(dir, o.Layers), dir, rootfs); err != nil {
		return fail(err)
	}
	usr, _, err := runtime.ResolveUser(rootfs, o.User)
	if err != nil {
		return fail(err)
	}
	cwd := o.WorkDir
	if cwd == "" {
		cwd = "/"
	}
	netMode, ip := o.Network, ""
	switch netMode {
	case runtime.NetworkNone, runtime.NetworkHost:
	default:
		if netMode != "" && netMode != "default" && netMode != "bridge" {
			n, err := m.networks().Get(netMode)
			if errors.As(err, new(network.NotFoundError)) {
				return fail(NetworkNotFoundError{netMode})
			} else if err != nil {
				return fail(err)
			}
			if !n.UserDefined() {
				return fail(fmt.Errorf("network mode %q is not supported", netMode))
			}
			sandbox.Host.NetworkMode = n.Name
			sandbox.Networks = []EndpointConfig{{Network: n.Name, NetworkID: n.ID}}
		}
		// The step's network state lives where a container's does, and goes with the step.
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if err := os.MkdirAll(m.dir(id), 0o700); err != nil {
			return fail(err)
		}
		undoNetwork = func() {
			m.cleanupNetwork(sandbox)
			// A namespace made before the network's record was written.
			m.removeStaleNetNS(id)
			os.RemoveAll(m.dir(id))
		}
		if netMode, ip, err = m.setupNetwork(sandbox); err != nil {
			return fail(err)
		}
		if dns, err = m.startResolver(sandbox); err != nil {
			return fail(err)
		}
	}
	var mounts []specs.Mount
	for _, name := range []string{"hosts", "resolv.conf"} {
		b, _ := os.ReadFile("/etc/" + name)
		switch {
		case netMode == runtime.NetworkHost:
		case name == "hosts":
			b = runtime.HostsFile(ip, "buildkitsandbox", "", o.ExtraHosts)
		case sandbox.usesEmbeddedDNS():
			b = network.ResolvConf(b, nil, nil, nil, true)
		default:
			b = runtime.ResolvConf(b, false)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fail(err)
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p, Options: []string{"rbind", "ro", "rprivate"}})
	}
	var userns *os.File
	if sandbox.IDMap != nil {
		if userns, err = usernsFile(*sandbox.IDMap); err != nil {
			return fail(err)
		}
	}
	stepMounts, err := prepareStepMounts(dir, o.Mounts, &overlays, sandbox.hostOwner, userns)
	if err != nil {
		return fail(err)
	}
	mounts = append(mounts, stepMounts...)
	var uidMap, gidMap []specs.LinuxIDMapping
	usernsPath, ownNet := "", true
	if sandbox.IDMap != nil {
		uidMap, gidMap = sandbox.IDMap.Spec()
		if usernsPath, ownNet, err = m.containerUserns(sandbox, netMode); err != nil {
			return fail(err)
		}
		if !ownNet {
			mounts = append(mounts, specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys",
				Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}})
		}
	}
	spec, err := runtime.Spec(runtime.SpecOptions{
		Rootfs: "rootfs", Args: o.Args, Env: o.Env, Cwd: cwd, User: usr, Hostname: "buildkitsandbox",
		Network: netMode, Mounts: mounts, CgroupsPath: "/berth/" + id, Privileged: o.Insecure, ShmSize: o.ShmSize,
		UIDMappings: uidMap, GIDMappings: gidMap, UsernsPath: usernsPath, Rootless: rootless.Active(), RootlessMaxGID: rootless.MaxGID(),
	})
	if err != nil {
		return fail(err)
	}
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return fail(err)
	}
	rt, err := m.Runtime("")
	if err != nil {
		return fail(err)
	}
	// The runtime wants files for stdio: pipes, copied to the writers as output arrives.
	var stdio runtime.Stdio
	var copies []chan struct{}
	for _, s := range []struct {
		w  io.Writer
		to **os.File
	}{{o.Stdout, &stdio.Stdout}, {o.Stderr, &stdio.Stderr}} {
		if s.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		*s.to = w
		done := make(chan struct{})
		copies = append(copies, done)
		go func(dst io.Writer) {
			io.Copy(dst, r)
			r.Close()
			close(done)
		}(s.w)
	}
	if err := ctx.Err(); err != nil {
		for _, f := range []*os.File{stdio.Stdout, stdio.Stderr} {
			if f != nil {
				f.Close()
			}
		}
		return fail(err)
	}
	// In a process group of its own, the runtime does not get the terminal's Ctrl-C: berth
	// does, and stops the step itself (below), with nothing half-made behind.
	stdio.OwnGroup = true
	cmd, err := rt.RunAttached(id, dir, stdio)
	for _, f := range []*os.File{stdio.Stdout, stdio.Stderr} {
		if f != nil {
			f.Close() // the runtime holds its own copies
		}
	}
	if err != nil {
		return fail(err)
	}
	waited := make(chan struct{})
	go func() {
		select {
		case <-waited:
			return
		case <-ctx.Done():
		}
		// Interrupted: kill the step's processes, again until the runtime (which may still
		// be creating the container) has exited.
		for {
			rt.Kill(id, unix.SIGKILL, true)
			select {
			case <-waited:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	werr := cmd.Wait()
	close(waited)
	for _, done := range copies {
		<-done
	}
	rt.Delete(id, true)
	if err := ctx.Err(); err != nil {
		runtime.RemoveCgroup("/berth/" + id)
		return fail(err)
	}
	if werr != nil {
		if ce := rt.Failure(dir); ce != nil {
			return fail(ce)
		}
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return fail(werr)
		}
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return fail(&StepError{Args: o.Args, Code: code})
	}
	// The upper dir is read after the rootfs is gone, so nothing writes to it meanwhile.
	unix.Unmount(rootfs, unix.MNT_DETACH)
	if sandbox.IDMap != nil {
		// The layer is made of the step's own IDs, as without remapping.
		if err := shiftOwners(upper, sandbox.IDMap.ToContainer); err != nil {
			return fail(err)
		}
	}
	return upper, cleanup, nil
}

// stepMounts stacks the step's init layer on the image layers under its upper dir.
func (m *Manager) stepMounts(dir string, chains []digest.Digest) []layer.Mount {
	init := filepath.Join(dir, "init")
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	lowers := init
	for i := len(chains) - 1; i >= 0; i-- {
		lowers += ":" + m.Images.Layers.Dir(chains[i])
	}
	return []layer.Mount{{Type: "overlay", Source: "overlay", Options: []string{
		"index=off", "lowerdir=" + lowers, "upperdir=" + upper, "workdir=" + work}}}
}

// makeMountPoints adds the step's mount points to its init layer, parents first.
func makeMountPoints(init string, mps []MountPoint) error {
	type times struct {
		p string
		t time.Time
	}
	var settle []times
	for _, mp := range mps {
		p := filepath.Join(init, filepath.Clean("/"+mp.Path))
		if p == init {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if mp.Dir {
			if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
				return err
			}
		} else if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
		if err := os.Lchown(p, mp.UID, mp.GID); err != nil {
			return err
		}
		// After chown, which clears setuid/setgid.
		if err := os.Chmod(p, fileMode(mp.Mode)); err != nil {
			return err
		}
		if !mp.ModTime.IsZero() {
			settle = append(settle, times{p, mp.ModTime})
		}
	}
	// Times last: making a child changes its parent's.
	for i := len(settle) - 1; i >= 0; i-- {
		if err := os.Chtimes(settle[i].p, settle[i].t, settle[i].t); err != nil {
			return err
		}
	}
	return nil
}

// fileMode turns unix permission bits (07777) into an os.FileMode.
func fileMode(m os.FileMode) os.FileMode {
	out := m & os.ModePerm
	if m&0o4000 != 0 || m&os.ModeSetuid != 0 {
		out |= os.ModeSetuid
	}
	if m&0o2000 != 0 || m&os.ModeSetgid != 0 {
		out |= os.ModeSetgid
	}
	if m&0o1000 != 0 || m&os.ModeSticky != 0 {
		out |= os.ModeSticky
	}
	return out
}

// prepareStepMounts makes the host side of the step's mounts (files for Data, overlays for
// Lowers and Discard) under dir/mounts and returns them as runtime mounts, a parent before what
// is mounted inside it. Host-side overlay mount points are added to overlays for cleanup.
// For a remapped step (userns not nil), Data files are owned by owner's host IDs and every host
// directory is seen through an idmapped mount, so a cache or the context keeps the IDs it has
// without remapping.
func prepareStepMounts(dir string, ms []StepMount, overlays *[]string, owner func(uid, gid int) (int, int, error), userns *os.File) ([]specs.Mount, error) {
	ms = append([]StepMount(nil), ms...)
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(filepath.Clean(ms[i].Destination), "/") < strings.Count(filepath.Clean(ms[j].Destination), "/")
	})
	var out []specs.Mount
	for i, m := range ms {
		base := filepath.Join(dir, "mounts", fmt.Sprint(i))
		if err := os.MkdirAll(base, 0o700); err != nil {
			return nil, err
		}
		if m.Type == "tmpfs" {
			out = append(out, specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs",
				Options: append([]string{"nosuid", "nodev"}, m.Options...)})
			continue
		}
		src := m.Source
		switch {
		case m.Data != nil:
			src = filepath.Join(base, "file")
			if err := os.WriteFile(src, m.Data, 0o600); err != nil {
				return nil, err
			}
			uid, gid, err := owner(m.UID, m.GID)
			if err != nil {
				return nil, err
			}
			if err := os.Chown(src, uid, gid); err != nil {
				return nil, err
			}
			if err := os.Chmod(src, fileMode(m.Mode)); err != nil {
				return nil, err
			}
		case len(m.Lowers) > 0 || m.Discard:
			lowers := m.Lowers
			if len(lowers) == 0 {
				fi, err := os.Stat(m.Source)
				if err != nil {
					return nil, err
				}
				if !fi.IsDir() {
					// A file written through a discarded mount: a copy of it.
					src = filepath.Join(base, "file")
					if err := copyFile(m.Source, src, fi.Mode()); err != nil {
						return nil, err
					}
					if st, ok := fi.Sys().(*syscall.Stat_t); ok && userns != nil {
						// The copy keeps the source's owner, as the remapped step sees it.
						uid, gid, err := owner(int(st.Uid), int(st.Gid))
						if err != nil {
							return nil, err
						}
						if err := os.Chown(src, uid, gid); err != nil {
							return nil, err
						}
					}
					break
				}
				lowers = []string{m.Source}
			}
			root := filepath.Join(base, "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				return nil, err
			}
			if len(lowers) == 1 && m.ReadOnly {
				src = filepath.Join(lowers[0], filepath.Clean("/"+m.SubPath))
				break
			}
			if userns != nil {
				o := idmap.OverlayMount{Lowers: lowers, Options: []string{"index=off"}}
				if !m.ReadOnly {
					o.Upper, o.Work = filepath.Join(base, "upper"), filepath.Join(base, "work")
					uid, gid, _ := owner(0, 0)
					for _, d := range []string{o.Upper, o.Work} {
						if err := os.Mkdir(d, 0o755); err != nil {
							return nil, err
						}
						if err := os.Chown(d, uid, gid); err != nil {
							return nil, err
						}
					}
				}
				if err := o.Mount(userns, root); err != nil {
					return nil, fmt.Errorf("mounting the source of %s: %w", m.Destination, err)
				}
				*overlays = append(*overlays, root)
				src = filepath.Join(root, filepath.Clean("/"+m.SubPath))
				break
			}
			opts := "lowerdir=" + strings.Join(lowers, ":")
			if m.ReadOnly {
				// A read-only overlay needs two lower dirs: an empty one on top is invisible.
				empty := filepath.Join(base, "empty")
				if err := os.Mkdir(empty, 0o755); err != nil {
					return nil, err
				}
				if len(lowers) == 1 {
					opts = "lowerdir=" + empty + ":" + lowers[0]
				}
			} else {
				up, work := filepath.Join(base, "upper"), filepath.Join(base, "work")
				for _, d := range []string{up, work} {
					if err := os.Mkdir(d, 0o755); err != nil {
						return nil, err
					}
				}
				opts += ",upperdir=" + up + ",workdir=" + work
			}
			if err := unix.Mount("overlay", root, "overlay", 0, "index=off,"+opts); err != nil {
				return nil, fmt.Errorf("mounting the source of %s: %w", m.Destination, err)
			}
			*overlays = append(*overlays, root)
			src = filepath.Join(root, filepath.Clean("/"+m.SubPath))
		}
		if userns != nil && m.Data == nil && !strings.HasPrefix(src, base+"/") {
			// A host file or directory the step reaches directly: through an idmapped copy.
			fi, err := os.Stat(src)
			if err != nil {
				return nil, err
			}
			mp := filepath.Join(base, "idmapped")
			if fi.IsDir() {
				err = os.Mkdir(mp, 0o755)
			} else {
				err = os.WriteFile(mp, nil, 0o644)
			}
			if err != nil {
				return nil, err
			}
			if err := idmap.BindMount(src, mp, userns); err != nil {
				return nil, fmt.Errorf("mounting the source of %s: %w", m.Destination, err)
			}
			*overlays = append(*overlays, mp)
			src = mp
		}
		opts := []string{"rbind", "rprivate"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		out = append(out, specs.Mount{Destination: m.Destination, Type: "bind", Source: src, Options: append(opts, m.Options...)})
	}
	return out, nil
}
