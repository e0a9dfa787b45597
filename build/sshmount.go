package build

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/berth-engine/berth/container"
)

// sshAgent is what --ssh ID=... forwards to RUN --mount=type=ssh,id=ID: connections to the
// socket a step sees go to a running agent's socket, or to an agent of berth's own holding the
// given private keys (BuildKit's two kinds of --ssh source). The keys never enter the container.
type sshAgent struct {
	socket  string      // an agent's socket, or
	keyring agent.Agent // keys served by berth
}

// newSSHAgent reads an --ssh source: one path that is a socket is an agent to forward to;
// anything else is private key files (unencrypted, as BuildKit takes them).
func newSSHAgent(id string, paths []string) (*sshAgent, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("ssh %s: no agent socket or key given", id)
	}
	if len(paths) == 1 {
		if fi, err := os.Stat(paths[0]); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return &sshAgent{socket: paths[0]}, nil
		}
	}
	kr := agent.NewKeyring()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("ssh %s: %v", id, err)
		}
		k, err := ssh.ParseRawPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("ssh %s: failed to parse %s: %v", id, p, err)
		}
		if err := kr.Add(agent.AddedKey{PrivateKey: k, Comment: p}); err != nil {
			return nil, fmt.Errorf("ssh %s: %s: %v", id, p, err)
		}
	}
	return &sshAgent{keyring: kr}, nil
}

// serve listens on a new socket at sock (mode and owner as the mount asks) until stop is called.
func (a *sshAgent) serve(sock string, mode os.FileMode, uid, gid int) (stop func(), err error) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(sock, mode); err == nil {
		err = os.Lchown(sock, uid, gid)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	var conns sync.Map
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Store(c, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conns.Delete(c)
				defer c.Close()
				a.handle(c)
			}()
		}
	}()
	return func() {
		l.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		wg.Wait()
		os.Remove(sock)
	}, nil
}

func (a *sshAgent) handle(c net.Conn) {
	if a.keyring != nil {
		agent.ServeAgent(a.keyring, c)
		return
	}
	up, err := net.Dial("unix", a.socket)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.UnixConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.(*net.UnixConn).CloseWrite()
	<-done
}

var sshSockets atomic.Int64

// sshMount adds RUN --mount=type=ssh (the n-th of its RUN): the agent forwarded for its id (by
// default "default") as a socket at its target (by default /run/buildkit/ssh_agent.N), as
// BuildKit does. A missing id fails the step only when the mount is required; the first ssh
// mount's target becomes SSH_AUTH_SOCK unless the stage sets it.
func (b *builder) sshMount(r *runMounts, m *instructions.Mount, root *view, seen map[string]bool, n int) error {
	id := m.CacheID
	if id == "" {
		id = "default"
	}
	target := m.Target
	if target == "" {
		target = fmt.Sprintf("/run/buildkit/ssh_agent.%d", n)
	}
	if !path.IsAbs(target) {
		target = "/" + target
	}
	r.key = append(r.key, fmt.Sprintf("ssh\x00%s\x00%s\x00%t\x00%s", id, target, m.Required, fileInfoKey(m)))
	if r.sshSock == "" {
		r.sshSock = target
	}
	src, ok := b.o.SSH[id]
	if !ok {
		if m.Required {
			return fmt.Errorf("no SSH key %q forwarded from the client", id)
		}
		return nil
	}
	a, err := b.sshAgent(id, src)
	if err != nil {
		return err
	}
	dest, err := root.resolve(target, true)
	if err != nil {
		return fmt.Errorf("ssh target %s: %v", target, err)
	}
	mode, uid, gid := os.FileMode(0o600), 0, 0
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode)
	}
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	if err := mountPoints(r, root, dest, true, seen); err != nil {
		return err
	}
	sock := filepath.Join(b.tmp, fmt.Sprintf("ssh-%d.sock", sshSockets.Add(1)))
	r.mounts = append(r.mounts, container.StepMount{Destination: dest, Type: "bind", Source: sock})
	r.lazy = append(r.lazy, func() error {
		stop, err := a.serve(sock, mode, uid, gid)
		if err != nil {
			return fmt.Errorf("ssh %s: %v", id, err)
		}
		r.release = append(r.release, stop)
		return nil
	})
	return nil
}

// sshAgent returns the build's agent for an --ssh id, reading its keys once.
func (b *builder) sshAgent(id string, paths []string) (*sshAgent, error) {
	b.sshMu.Lock()
	defer b.sshMu.Unlock()
	if a, ok := b.agents[id]; ok {
		return a, nil
	}
	a, err := newSSHAgent(id, paths)
	if err != nil {
		return nil, err
	}
	if b.agents == nil {
		b.agents = map[string]*sshAgent{}
	}
	b.agents[id] = a
	return a, nil
}

var errNoSSHAgent = errors.New("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set")

// ParseSSH reads --ssh values as Docker's CLI takes them: default|ID[=SOCKET|KEY[,KEY]]; an id
// alone forwards the agent of $SSH_AUTH_SOCK.
func ParseSSH(specs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, s := range specs {
		id, rest, ok := strings.Cut(s, "=")
		if id == "" {
			return nil, fmt.Errorf("invalid ssh spec %q", s)
		}
		var paths []string
		if ok && rest != "" {
			paths = strings.Split(rest, ",")
		} else {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, errNoSSHAgent
			}
			paths = []string{sock}
		}
		out[id] = paths
	}
	return out, nil
}
