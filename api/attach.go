package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/berth-engine/berth/container"
	"golang.org/x/net/websocket"
	"golang.org/x/sys/unix"
)

// Docker's media types of a hijacked stream: raw for a terminal (and for clients before API
// 1.42), multiplexed (stdcopy frames) otherwise.
const (
	mediaRawStream         = "application/vnd.docker.raw-stream"
	mediaMultiplexedStream = "application/vnd.docker.multiplexed-stream"
)

// attachRoutes registers attach, its WebSocket form and resize (called from execRoutes: the
// streams group's routes).
func (s *Server) attachRoutes() {
	s.handle("POST /containers/{id}/attach", s.containerAttach)
	s.handle("GET /containers/{id}/attach/ws", s.containerAttachWS)
	s.handle("POST /containers/{id}/resize", s.containerResize)
}

// attachParams are attach's query parameters.
type attachParams struct {
	logs, stream, stdin, stdout, stderr bool
	detachKeys                          []byte
}

func readAttachParams(r *http.Request) (attachParams, error) {
	if err := parseForm(r); err != nil {
		return attachParams{}, err
	}
	p := attachParams{
		logs: boolValue(r, "logs"), stream: boolValue(r, "stream"),
		stdin: boolValue(r, "stdin"), stdout: boolValue(r, "stdout"), stderr: boolValue(r, "stderr"),
	}
	if k := r.Form.Get("detachKeys"); k != "" {
		keys, err := container.ParseDetachKeys(k)
		if err != nil {
			return p, badRequest("Invalid detach keys (%s) provided", k)
		}
		p.detachKeys = keys
	}
	return p, nil
}

// attachTarget looks the container up and refuses, before the connection is taken over, what
// dockerd refuses with a status: no such container, paused, restarting.
func (s *Server) attachTarget(r *http.Request) (*container.Container, container.State, error) {
	c, st, err := s.containers.Get(r.PathValue("id"))
	if err != nil {
		return nil, st, err
	}
	switch {
	case st.Status == "paused":
		return nil, st, conflict("container %s is paused, unpause the container before attach", c.ID)
	case st.Restarting():
		return nil, st, conflict("container %s is restarting, wait until the container is running", c.ID)
	}
	return c, st, nil
}

// startWaiter registers, before the client has its answer, the wait of a streaming attach to a
// container that does not run for its next start: a client that attaches before it starts the
// container (docker run, docker-py's attach_socket) starts it as soon as it has the answer, and
// the container's shim looks for the waiting clients at once (nil: none needed).
func (s *Server) startWaiter(c *container.Container, st container.State, p attachParams) *container.StartWaiter {
	if !p.stream || st.Running() {
		return nil
	}
	w, err := s.containers.ListenStart(c.ID)
	if err != nil {
		return nil // Attach registers its own
	}
	return w
}

// containerAttach is POST /containers/{id}/attach: the connection is taken over (101 with
// Upgrade: tcp), the container's log is replayed with logs=1, and with stream=1 its output
// follows (from its next start if it does not run) until it exits or the client detaches.
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request) error {
	p, err := readAttachParams(r)
	if err != nil {
		return err
	}
	c, st, err := s.attachTarget(r)
	if err != nil {
		return err
	}
	if !(p.stdin || p.stdout || p.stderr) {
		return badRequest("Bad parameters: you must choose at least one stream")
	}
	waiter := s.startWaiter(c, st, p)
	defer waiter.Close()
	contentType := mediaRawStream
	if !c.Config.Tty && !versionBefore(r.Context(), "1.42") {
		contentType = mediaMultiplexedStream
	}
	s.streams.Add(1)
	defer s.streams.Done()
	conn, buf, err := hijack(w, r, contentType)
	if err != nil {
		return err
	}
	defer conn.Close()
	waitHeaderRead(conn)
	stdout, stderr := attachWriters(conn, c.Config.Tty, p)
	var stdin io.Reader
	if p.stdin {
		stdin = buf.Reader
	}
	if err := s.attachStreams(c, p, waiter, stdin, stdout, stderr); err != nil {
		s.logf("attach %s: %v", c.ID, err)
	}
	return nil
}

// attachWriters are the client's stdout and stderr on conn: the raw connection for a terminal
// (whose output is all stdout), stdcopy frames otherwise; a stream not asked for is dropped.
func attachWriters(conn io.Writer, tty bool, p attachParams) (stdout, stderr io.Writer) {
	// One lock for both: a raw connection gets whole writes, never interleaved pieces.
	var out, errw io.Writer
	if tty {
		lw := &lockedWriter{w: conn}
		out, errw = lw, lw
	} else {
		out, errw = container.StreamWriters(conn)
	}
	if !p.stdout {
		out = io.Discard
	}
	if !p.stderr {
		errw = io.Discard
	}
	return out, errw
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// attachStreams replays the log (logs=1) and then streams (stream=1) through the container's
// shim, as `berth attach` does, until the container exits, the client detaches or goes away,
// or the server closes.
func (s *Server) attachStreams(c *container.Container, p attachParams, waiter *container.StartWaiter, stdin io.Reader, stdout, stderr io.Writer) error {
	if p.logs {
		err := s.containers.Logs(c.ID, container.LogsOptions{Tail: -1}, stdout, stderr)
		if err != nil && p.stream {
			// A driver that keeps no log (none) has nothing to replay; the stream goes on.
			s.logf("attach %s: logs: %v", c.ID, err)
		} else if err != nil {
			return err
		}
	}
	if !p.stream {
		return nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	_, err := s.containers.Attach(c.ID, container.AttachOptions{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, DetachKeys: p.detachKeys,
		WaitStart: true, Context: ctx, Waiter: waiter,
	})
	if errors.Is(err, container.ErrDetached) || errors.Is(err, context.Canceled) {
		return nil
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return nil // the client went away
	}
	return err
}

// containerAttachWS is GET /containers/{id}/attach/ws: attach over a WebSocket, each message a
// piece of output (binary frames from API 1.28, text before), stdin from the client's messages.
// The output is never multiplexed.
func (s *Server) containerAttachWS(w http.ResponseWriter, r *http.Request) error {
	p, err := readAttachParams(r)
	if err != nil {
		return err
	}
	// Before API 1.42 the WebSocket attach always carried all three streams.
	if versionBefore(r.Context(), "1.42") {
		p.stdin, p.stdout, p.stderr = true, true, true
	}
	c, st, err := s.attachTarget(r)
	if err != nil {
		return err
	}
	waiter := s.startWaiter(c, st, p)
	defer waiter.Close()
	binary := !versionBefore(r.Context(), "1.28")
	s.streams.Add(1)
	defer s.streams.Done()
	srv := websocket.Server{
		// Docker's attach/ws takes any origin: the socket's permissions are the access check.
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler: func(ws *websocket.Conn) {
			defer ws.Close()
			if binary {
				ws.PayloadType = websocket.BinaryFrame
			}
			lw := &lockedWriter{w: ws}
			var stdout, stderr io.Writer = lw, lw
			if !p.stdout {
				stdout = io.Discard
			}
			if !p.stderr {
				stderr = io.Discard
			}
			var stdin io.Reader
			if p.stdin {
				stdin = ws
			}
			if err := s.attachStreams(c, p, waiter, stdin, stdout, stderr); err != nil {
				s.logf("attach/ws %s: %v", c.ID, err)
			}
		},
	}
	// x/net/websocket hijacks through a type assertion, not http.ResponseController.
	if tw, ok := w.(*trackingWriter); ok {
		w = tw.ResponseWriter
	}
	srv.ServeHTTP(w, r)
	return nil
}

// containerResize is POST /containers/{id}/resize?h=&w=: the container's terminal size.
func (s *Server) containerResize(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := resizeParams(r)
	if err != nil {
		return err
	}
	c, st, err := s.containers.Get(r.PathValue("id"))
	if err != nil {
		return err
	}
	if !st.Running() {
		return conflict("Container %s is not running", c.ID)
	}
	if !c.Config.Tty {
		// dockerd answers a resize of a container without a terminal with success (it has
		// nothing to resize); so does berth.
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if err := s.containers.Resize(c.ID, h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// resizeParams reads h and w, which dockerd requires as unsigned integers.
func resizeParams(r *http.Request) (uint16, uint16, error) {
	if err := parseForm(r); err != nil {
		return 0, 0, err
	}
	var out [2]uint16
	for i, k := range []string{"h", "w"} {
		v := r.Form.Get(k)
		var n uint64
		if _, err := fmt.Sscan(v, &n); err != nil || n > 0xffff {
			return 0, 0, badRequest("invalid resize parameter %s: %q", k, v)
		}
		out[i] = uint16(n)
	}
	return out[0], out[1], nil
}

// waitHeaderRead waits (a little) until the client has read the response header of a taken-over
// connection before the stream's first byte is written. Clients such as docker-py read the
// header through a buffered reader and then read the stream from the raw socket: bytes that
// arrived with the header are lost to them. dockerd is slow enough between the two that they
// never notice; berth asks the kernel how much of what it sent is still unread (SIOCOUTQ).
func waitHeaderRead(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		queued := 0
		if raw.Control(func(fd uintptr) { queued, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }) != nil || err != nil || queued == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
