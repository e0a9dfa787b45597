package container

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
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
	// Resize, instead of attaching, sets the size of the container's terminal (height, width)
	// and ends the connection (the Engine API's resize).
	Resize *[2]uint16 `json:"resize,omitempty"`
}

// A client waiting for a container that does not run yet (the Engine API attaches before it
// starts, as `docker run` does) listens on attach-wait-<random>.sock in the container's
// directory: a shim connects to every such socket before it starts the container, so the client
// sees the output from the first byte, whoever starts the container.
const attachWaitPrefix, attachWaitSuffix = "attach-wait-", ".sock"

// AttachOptions are a client's streams (`attach`, `start -a`).
type AttachOptions struct {
	// Stdin is sent to the container when it was created with -i (nil: stdin not attached).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// DetachKeys detach from a TTY container's stdin (nil: Docker's ctrl-p ctrl-q).
	DetachKeys []byte
	// ForwardSignals proxies SIGINT, SIGTERM, ... to a non-TTY container (--sig-proxy).
	ForwardSignals bool
	// WaitStart attaches to a container that does not run (created, exited) and waits for
	// its next start, as Docker's daemon does; without it such an attach is refused.
	WaitStart bool
	// Context, when canceled, ends the attach (the client went away); Attach then returns
	// its error. nil: only the container's exit or the detach keys end it.
	Context context.Context
	// Waiter, with WaitStart, is the wait for the next start registered beforehand
	// (ListenStart); Attach closes it. nil: Attach registers its own.
	Waiter *StartWaiter
}

// StartWaiter is a client's wait for a container's next start: a socket the container's shim
// connects to before it starts the container (dialWaiters). An API attach registers it before it
// answers the client, because the client starts the container as soon as it has the answer and
// the shim may look for waiters at once.
type StartWaiter struct {
	l    *net.UnixListener
	path string
}

// ListenStart registers a wait for container id's next start, for Attach (AttachOptions.Waiter).
func (m *Manager) ListenStart(id string) (*StartWaiter, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	path := filepath.Join(m.dir(id), attachWaitPrefix+hex.EncodeToString(rnd[:])+attachWaitSuffix)
	var l *net.UnixListener
	err := withSocketPath(path, func(p string) error {
		var err error
		l, err = net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err == nil {
			l.SetUnlinkOnClose(false)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	os.Chmod(path, 0o600)
	return &StartWaiter{l: l, path: path}, nil
}

// Close ends the wait (a shim no longer finds it); closing it again does nothing.
func (w *StartWaiter) Close() {
	if w == nil || w.l == nil {
		return
	}
	w.l.Close()
	os.Remove(w.path)
	w.l = nil
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
	pty     *os.File       // the running container's terminal (nil: none)
	size    *unix.Winsize  // a size asked for before the terminal was there
	// gate is closed when a run of the container begins (its stdin is set) or fails: a client
	// attached before the start holds its stdin back until then.
	gate chan struct{}
}

type attachClient struct {
	conn  *net.UnixConn
	stdin bool
}

// listenAttach starts serving a container's attach socket.
func (m *Manager) listenAttach(c *Container) (*attachServer, error) {
	s := &attachServer{tty: c.Config.Tty, stdinOnce: c.Config.StdinOnce, dir: m.dir(c.ID), clients: map[*attachClient]struct{}{}, gate: make(chan struct{})}
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
	if hello.Resize != nil {
		s.resize(conn, hello.Resize[0], hello.Resize[1])
		return nil, hello, false
	}
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
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	<-gate
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

// resize sets the running container's terminal size and answers one JSON line: {} or
// {"error": ...}.
func (s *attachServer) resize(conn *net.UnixConn, h, w uint16) {
	defer conn.Close()
	s.mu.Lock()
	pty := s.pty
	var err error
	switch {
	case pty == nil && s.tty:
		s.size = &unix.Winsize{Row: h, Col: w} // set when it starts
	case pty == nil:
		err = errors.New("the container has no terminal")
	default:
		err = unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: h, Col: w})
	}
	s.mu.Unlock()
	res := shimResult{}
	if err != nil {
		res.Error = err.Error()
	}
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	json.NewEncoder(conn).Encode(res)
}

// started is a run of the container beginning, stdin (if any) its stdin, pty (if any) its
// terminal.
func (s *attachServer) started(stdin io.WriteCloser, pty *os.File) {
	s.mu.Lock()
	s.stdin, s.pty = stdin, pty
	if pty != nil && s.size != nil {
		unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, s.size)
	}
	s.size = nil
	s.openGate()
	s.mu.Unlock()
}

// openGate lets held-back stdin through (s.mu held).
func (s *attachServer) openGate() {
	select {
	case <-s.gate:
	default:
		close(s.gate)
	}
}

// dialWaiters connects to the clients waiting for the container to start (attach-wait-*.sock)
// and adds them, their hellos read, before it starts.
func (s *attachServer) dialWaiters() {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, attachWaitPrefix) || !strings.HasSuffix(name, attachWaitSuffix) {
			continue
		}
		var conn *net.UnixConn
		err := withSocketPath(filepath.Join(s.dir, name), func(p string) error {
			var err error
			conn, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
			return err
		})
		if err != nil {
			continue // its client has gone (the file is its to remove)
		}
		s.serveSync(conn)
	}
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
	s.pty = nil
	s.openGate()
	s.gate = make(chan struct{}) // the next run's
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
		o.Waiter.Close()
		return 0, err
	}
	if err := attachable(st); err != nil {
		if !o.WaitStart || st.Status == "paused" || st.Restarting() {
			o.Waiter.Close()
			return 0, err
		}
		m.event("attach", c, nil)
		conn, err := m.waitStart(c, o)
		if err != nil {
			return 0, err
		}
		if conn == nil { // it runs now: attach to it
			return m.attachRunning(c, AttachOptions{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
				DetachKeys: o.DetachKeys, ForwardSignals: o.ForwardSignals, Context: o.Context})
		}
		return m.attachConn(c, conn, o)
	}
	// It runs: a wait registered for its next start would hold that start up.
	o.Waiter.Close()
	m.event("attach", c, nil)
	return m.attachRunning(c, o)
}

// attachRunning is Attach to a container that runs.
func (m *Manager) attachRunning(c *Container, o AttachOptions) (int, error) {
	conn, err := m.dialAttach(c.ID)
	if err != nil {
		return 0, fmt.Errorf("container %s: cannot attach (its supervisor does not serve it): %w", c.ID, err)
	}
	if err := m.sendHello(c, conn, o); err != nil {
		conn.Close()
		return 0, err
	}
	return m.attachConn(c, conn, o)
}

// dialAttach connects to a running container's attach socket.
func (m *Manager) dialAttach(id string) (*net.UnixConn, error) {
	var conn *net.UnixConn
	err := withSocketPath(filepath.Join(m.dir(id), attachSocketName), func(p string) error {
		var err error
		conn, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	return conn, err
}

// waitPoll is how often a waiting attach looks at the container's state.
const waitPoll = 250 * time.Millisecond

// waitStart waits for a container that does not run to start, listening on a wait socket its
// shim connects to before it starts the container, and returns that connection with the hello
// sent. It returns a nil connection when the container was found running without the shim
// having connected (started by a process that serves no waiters), and an error when the
// container is removed or o.Context is canceled meanwhile.
func (m *Manager) waitStart(c *Container, o AttachOptions) (*net.UnixConn, error) {
	w := o.Waiter
	if w == nil {
		var err error
		if w, err = m.ListenStart(c.ID); err != nil {
			return nil, err
		}
	}
	defer w.Close()
	l := w.l
	var done <-chan struct{}
	if o.Context != nil {
		done = o.Context.Done()
	}
	for {
		l.SetDeadline(time.Now().Add(waitPoll))
		conn, err := l.AcceptUnix()
		if err == nil {
			if err := m.sendHello(c, conn, o); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		}
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			return nil, err
		}
		select {
		case <-done:
			return nil, o.Context.Err()
		default:
		}
		_, st, err := m.Get(c.ID)
		if err != nil {
			return nil, err
		}
		if st.Status == "paused" || st.Restarting() {
			return nil, attachable(st)
		}
		if st.Running() {
			// A shim connects to its waiters before it calls the container running: a
			// connection is then already queued.
			l.SetDeadline(time.Now())
			if conn, err := l.AcceptUnix(); err == nil {
				if err := m.sendHello(c, conn, o); err != nil {
					conn.Close()
					return nil, err
				}
				return conn, nil
			}
			return nil, nil
		}
	}
}

// Resize sets the size of a running container's terminal through its shim (the Engine API's
// POST /containers/{id}/resize).
func (m *Manager) Resize(ref string, height, width uint16) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	if !st.Running() {
		return ConflictError{fmt.Sprintf("Container %s is not running", c.ID)}
	}
	conn, err := m.dialAttach(c.ID)
	if err != nil {
		return fmt.Errorf("container %s: cannot resize (its supervisor does not serve it): %w", c.ID, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := json.Marshal(attachHello{Resize: &[2]uint16{height, width}})
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return err
	}
	var res shimResult
	if err := json.NewDecoder(conn).Decode(&res); err != nil {
		return fmt.Errorf("container %s: resize: %w", c.ID, err)
	}
	if res.Error != "" {
		return fmt.Errorf("container %s: resize: %s", c.ID, res.Error)
	}
	return nil
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
	m.event("attach", c, nil)
	conn, err := m.startWithClient(c, o)
	lock.Close() // it runs, or failed to start: released before the long attach
	lock = nil
	if err != nil {
		return 0, err
	}
	return m.attachConn(c, conn, o)
}

// StartCreatedAttached is StartAttached for a container this process has just created holding
// its lock (`run -it`): the container runs under a shim with this process as its first client,
// so the client can detach (the detach keys) or die and the container runs on, and `attach`
// reaches it afterwards. The lock is released once the container runs or failed to start.
func (m *Manager) StartCreatedAttached(c *Container, o AttachOptions) (int, error) {
	conn, err := m.startWithClient(c, o)
	c.Unlock()
	if err != nil {
		return 0, err
	}
	return m.attachConn(c, conn, o)
}

// startWithClient starts the container's shim with one end of a socket pair as its first attach
// client, and returns the other end once the container runs.
func (m *Manager) startWithClient(c *Container, o AttachOptions) (*net.UnixConn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "attach"), os.NewFile(uintptr(fds[1]), "attach-shim")
	defer theirs.Close()
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, err
	}
	conn := fc.(*net.UnixConn)
	if err := m.sendHello(c, conn, o); err != nil {
		conn.Close()
		return nil, err
	}
	if err := m.startShimWith(c, false, theirs); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
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
	if o.Context != nil {
		stop := context.AfterFunc(o.Context, func() { conn.Close() })
		defer stop()
	}
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
	if o.Context != nil && o.Context.Err() != nil {
		return 0, o.Context.Err()
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
