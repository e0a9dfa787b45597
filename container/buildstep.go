package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/layer"
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
	// Network is "none", or "host"/"" for the host's network (what a build step gets by default:
	// it can fetch, and needs no bridge).
	Network        string
	Stdout, Stderr io.Writer
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
	idb := make([]byte, 32)
	rand.Read(idb)
	id := "build-" + hex.EncodeToString(idb)[:32]
	dir := filepath.Join(m.Images.Root, "builds", id)
	rootfs := filepath.Join(dir, "rootfs")
	upper = filepath.Join(dir, "upper")
	for _, d := range []string{rootfs, upper, filepath.Join(dir, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", nil, err
		}
	}
	cleanup = func() {
		unix.Unmount(rootfs, unix.MNT_DETACH)
		os.RemoveAll(dir)
	}
	fail := func(err error) (string, func(), error) {
		cleanup()
		return "", nil, err
	}
	init := filepath.Join(dir, "init")
	if err := makeInitLayer(init); err != nil {
		return fail(err)
	}
	if err := mountOverlay(m.stepMounts(dir, o.Layers), dir, rootfs); err != nil {
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
	network := runtime.NetworkHost
	if o.Network == runtime.NetworkNone {
		network = runtime.NetworkNone
	}
	var mounts []specs.Mount
	for _, name := range []string{"hosts", "resolv.conf"} {
		b, _ := os.ReadFile("/etc/" + name)
		if network == runtime.NetworkNone && name == "hosts" {
			b = runtime.HostsFile("", "buildkitsandbox", "", nil)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fail(err)
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p, Options: []string{"rbind", "ro", "rprivate"}})
	}
	spec := runtime.Spec(runtime.SpecOptions{
		Rootfs: "rootfs", Args: o.Args, Env: o.Env, Cwd: cwd, User: usr, Hostname: "buildkitsandbox",
		Network: network, Mounts: mounts, CgroupsPath: "/berth/" + id,
	})
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
	cmd, err := rt.RunAttached(id, dir, stdio)
	for _, f := range []*os.File{stdio.Stdout, stdio.Stderr} {
		if f != nil {
			f.Close() // the runtime holds its own copies
		}
	}
	if err != nil {
		return fail(err)
	}
	werr := cmd.Wait()
	for _, done := range copies {
		<-done
	}
	rt.Delete(id, true)
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
