package container

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The attach socket: a detached container's shim serves containers/<id>/attach.sock (0600, gone
// with the shim). A client sends one JSON line (attachHello), then its stdin, raw, half-closing
// the connection at its end. The shim sends the container's output from the moment the client
// attached, in Docker's stdcopy frames (a TTY's output as stdout frames), and a last frame with the
// exit code (streamExit) when the container exits, before it closes the connection.

const attachSocketName = "attach.sock"

type attachHello struct {
	Stdin bool `json:"stdin"`
}

// AttachOptions are a client's streams (`attach`, `start -a`).
type AttachOptions struct {
	// Stdin is sent to the container when it was created with -i (nil: stdin not attached).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// DetachKeys detach from a TTY container's stdin (nil: Docker's ctrl-p ctrl-q).
	DetachKeys []byte
	// ForwardSignals proxies SIGINT, SIGTERM, ... to a non-TTY container (--sig-proxy).
	ForwardSignals bool
}

// ErrDetached: the client typed the detach keys; the container runs on.
var ErrDetached = errors.New("read escape sequence")

// DefaultDetachKeys are Docker's ctrl-p ctrl-q.
var DefaultDetachKeys = []byte{16, 17}

// ParseDetachKeys reads Docker's --detach-keys: comma-separated keys, each one character or
// ctrl-<a-z @ [ \ ] ^ _>.
func ParseDetachKeys(s string) ([]byte, error) {
	var out []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case len(k) == 6 && strings.HasPrefix(k, "ctrl-"):
			ch := k[5]
			switch {
			case ch >= 'a' && ch <= 'z':
				out = append(out, ch-'a'+1)
			case ch == '@' || ch >= '[' && ch <= '_':
				out = append(out, ch-'@')
			default:
				return nil, fmt.Errorf("Unknown character: '%s'", k)
			}
		case k == "DEL":
			out = append(out, 127)
		default:
			return nil, fmt.Errorf("Unknown character: '%s'", k)
		}
	}
	return out, nil
}

// attachServer is the shim's side of the attach socket.
type attachServer struct {
	tty, stdinOnce bool
	dir            string
	l              *net.UnixListener

	mu      sync.Mutex
	clients map[*attachClient]struct{}
	stdin   io.WriteCloser // the running container's stdin (nil: none, or closed)
}

type attachClient struct {
	conn  *net.UnixConn
	stdin bool
}

// listenAttach starts serving a container's attach socket.
func (m *Manager) listenAttach(c *Container) (*attachServer, error) {
	s := &attachServer{tty: c.Config.Tty, stdinOnce: c.Config.StdinOnce, dir: m.dir(c.ID), clients: map[*attachClient]struct{}{}}
	path := filepath.Join(s.dir, attachSocketName)
	os.Remove(path)
	err := withSocketPath(path, func(p string) error {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err == nil {
			l.SetUnlinkOnClose(false)
			s.l = l
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	os.Chmod(path, 0o600)
	go func() {
		for {
			conn, err := s.l.AcceptUnix()
			if err != nil {
				return
			}
			go func() {
				if rd, hello, ok := s.register(conn); ok {
					s.forward(rd, hello)
				}
			}()
		}
	}()
	return s, nil
}

// withSocketPath calls fn with path, or, when path is too long for a unix socket (108 bytes), with
// a short name of it through its directory's descriptor (/proc/self/fd/N/name).
func withSocketPath(path string, fn func(string) error) error {
	if len(path) < 100 {
		return fn(path)
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return fn("/proc/self/fd/" + strconv.Itoa(fd) + "/" + filepath.Base(path))
}

// Close stops serving and removes the socket.
func (s *attachServer) Close() {
	s.l.Close()
	os.Remove(filepath.Join(s.dir, attachSocketName))
}

// serveSync adds a client (its hello read now, before the container starts) and forwards its
// stdin in the background.
func (s *attachServer) serveSync(conn *net.UnixConn) {
	if rd, hello, ok := s.register(conn); ok {
		go s.forward(rd, hello)
	}
}

// register reads a client's hello and adds it.
func (s *attachServer) register(conn *net.UnixConn) (*bufio.Reader, attachHello, bool) {
	rd := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := rd.ReadBytes('\n')
	var hello attachHello
	if err != nil || json.Unmarshal(line, &hello) != nil {
		conn.Close()
		return nil, hello, false
	}
	conn.SetReadDeadline(time.Time{})
	cl := &attachClient{conn: conn, stdin: hello.Stdin}
	s.mu.Lock()
	s.clients[cl] = struct{}{}
	s.mu.Unlock()
	return rd, hello, true
}

// forward copies a client's stdin to the container's.
func (s *attachServer) forward(rd *bufio.Reader, hello attachHello) {
	if !hello.Stdin {
		io.Copy(io.Discard, rd)
		return
	}
	buf := make([]byte, 32*1024)
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			s.mu.Lock()
			w := s.stdin
			s.mu.Unlock()
			if w != nil {
				w.Write(buf[:n])
			}
		}
		if err != nil {
			break
		}
	}
	// Docker's StdinOnce: the end of the attached client's stdin is the end of the container's
	// (a TTY's stdin, the pty, stays open).
	if s.stdinOnce && !s.tty {
		s.mu.Lock()
		if s.stdin != nil {
			s.stdin.Close()
			s.stdin = nil
		}
		s.mu.Unlock()
	}
}

// started is a run of the container beginning, stdin (if any) its stdin.
func (s *attachServer) started(stdin io.WriteCloser) {
	s.mu.Lock()
	s.stdin = stdin
	s.mu.Unlock()
}

// writer is the container's stream as frames to every client.
func (s *attachServer) writer(stream byte) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for cl := range s.clients {
			cl.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := writeFrame(cl.conn, stream, p); err != nil {
				cl.conn.Close()
				delete(s.clients, cl)
			}
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// exited ends a run of the container: every client gets the exit code (when there is one, code
// >= 0) and is let go.
func (s *attachServer) exited(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stdin != nil {
		s.stdin.Close()
		s.stdin = nil
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	for cl := range s.clients {
		if code >= 0 {
			cl.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			writeFrame(cl.conn, streamExit, b[:])
		}
		cl.conn.Close()
		delete(s.clients, cl)
	}
}

// nopCloser writes to a pty master without closing it.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Attach attaches to a running container through its shim (`attach`): the container's output
// from now on, stdin when it was created with -i, until it exits; its exit code is returned.
func (m *Manager) Attach(ref string, o AttachOptions) (int, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, err
	}
	if err := attachable(st); err != nil {
		return 0, err
	}
	var conn *net.UnixConn
	err = withSocketPath(filepath.Join(m.dir(c.ID), attachSocketName), func(p string) error {
		var err error
		conn, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("container %s: cannot attach (its supervisor does not serve it): %w", c.ID, err)
	}
	if err := m.sendHello(c, conn, o); err != nil {
		conn.Close()
		return 0, err
	}
	return m.attachConn(c, conn, o)
}

// attachable refuses, in Docker's words, to attach to a container that does not run.
func attachable(st State) error {
	switch {
	case st.Status == "paused":
		return ConflictError{"You cannot attach to a paused container, unpause it first"}
	case st.Restarting():
		return ConflictError{"You cannot attach to a restarting container, wait until it is running"}
	case !st.Running():
		return ConflictError{"You cannot attach to a stopped container, start it first"}
	}
	return nil
}

// StartAttached is `start -a [-i]`: it starts the container under a shim with this client
// attached from the first byte of output, and returns its exit code. A running container is
// attached to.
func (m *Manager) StartAttached(ref string, o AttachOptions) (int, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, err
	}
	if st.Running() {
		return m.Attach(c.ID, o)
	}
	lock, err := m.lockContainer(c.ID, true)
	if err != nil {
		return 0, err
	}
	defer func() {
		if lock != nil {
			lock.Close()
		}
	}()
	if _, _, err = m.Get(c.ID); err != nil { // a prune may have removed it meanwhile
		return 0, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "attach"), os.NewFile(uintptr(fds[1]), "attach-shim")
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		theirs.Close()
		return 0, err
	}
	conn := fc.(*net.UnixConn)
	if err := m.sendHello(c, conn, o); err != nil {
		theirs.Close()
		conn.Close()
		return 0, err
	}
	err = m.startShimWith(c, false, theirs)
	lock.Close() // it runs, or failed to start: released before the long attach
	lock = nil
	theirs.Close()
	if err != nil {
		conn.Close()
		return 0, err
	}
	return m.attachConn(c, conn, o)
}

func (m *Manager) sendHello(c *Container, conn *net.UnixConn, o AttachOptions) error {
	b, _ := json.Marshal(attachHello{Stdin: o.Stdin != nil && c.Config.OpenStdin})
	_, err := conn.Write(append(b, '\n'))
	return err
}

// attachConn runs a client (its hello sent) over a connection to the shim until the container exits or the
// client detaches.
func (m *Manager) attachConn(c *Container, conn *net.UnixConn, o AttachOptions) (int, error) {
	defer conn.Close()
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	stdin := o.Stdin != nil && c.Config.OpenStdin
	var detached sync.Once
	detach := make(chan struct{})
	if stdin {
		keys := o.DetachKeys
		if keys == nil {
			keys = DefaultDetachKeys
		}
		go func() {
			var err error
			if c.Config.Tty && len(keys) > 0 {
				err = copyEscapable(conn, o.Stdin, keys)
			} else {
				_, err = io.Copy(conn, o.Stdin)
			}
			if errors.Is(err, ErrDetached) {
				detached.Do(func() { close(detach) })
				conn.Close()
				return
			}
			conn.CloseWrite()
		}()
	} else {
		conn.CloseWrite()
	}
	if o.ForwardSignals && !c.Config.Tty {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				m.Kill(c.ID, strconv.Itoa(int(s.(syscall.Signal))))
			}
		}()
	}
	code, err := demuxFrames(conn, o.Stdout, o.Stderr)
	select {
	case <-detach:
		return 0, ErrDetached
	default:
	}
	if errors.Is(err, errNoExit) {
		// The shim went away without telling (killed): the store says how the container ended.
		st, werr := m.Wait(c.ID, -1)
		if werr != nil {
			return 0, werr
		}
		return st.ExitCode, nil
	}
	return code, err
}

// copyEscapable copies stdin to w until EOF, or until the detach keys are typed (ErrDetached);
// bytes that begin the sequence are held back until it is clear they do not complete it.
func copyEscapable(w io.Writer, r io.Reader, keys []byte) error {
	buf := make([]byte, 32*1024)
	matched := 0
	for {
		n, err := r.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n+matched)
			for _, b := range buf[:n] {
				if b == keys[matched] {
					matched++
					if matched == len(keys) {
						if len(out) > 0 {
							w.Write(out)
						}
						return ErrDetached
					}
					continue
				}
				out = append(out, keys[:matched]...)
				matched = 0
				if b == keys[0] {
					matched = 1
					continue
				}
				out = append(out, b)
			}
			if len(out) > 0 {
				if _, werr := w.Write(out); werr != nil {
					return werr
				}
			}
		}
		if err != nil {
			if matched > 0 {
				w.Write(keys[:matched]) // the start of the sequence, never completed
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
