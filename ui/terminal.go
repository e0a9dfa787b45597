package ui

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/net/websocket"
)

// terminal is the terminal's WebSocket: it starts exec ID (created by the page through the
// Engine API's POST /containers/{id}/exec, with Tty) by the Engine API's own POST
// /exec/{id}/start, and joins its raw stream to the socket. The page resizes by the API's
// POST /exec/{id}/resize. The guard has already checked the token and the Origin (an Upgrade
// counts as state-changing), so the handshake accepts any Origin here.
func (s *Server) terminal(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.opts.API == nil || id == "" || strings.ContainsAny(id, "/?# \r\n") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid exec ID"})
		return
	}
	websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
		Handler:   func(ws *websocket.Conn) { s.bridgeExec(ws, id) },
	}.ServeHTTP(w, r)
}

func (s *Server) bridgeExec(ws *websocket.Conn, id string) {
	defer ws.Close()
	ws.PayloadType = websocket.BinaryFrame
	conn, err := s.startExec(id)
	if err != nil {
		_, _ = ws.Write([]byte("\r\nberth: " + err.Error() + "\r\n"))
		return
	}
	defer conn.Close()
	var once sync.Once
	done := make(chan struct{})
	stop := func() { once.Do(func() { close(done) }) }
	go func() {
		defer stop()
		_, _ = io.Copy(ws, conn) // the process's output; ends when it exits
	}()
	go func() {
		defer stop()
		var msg []byte
		for {
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if _, err := conn.Write(msg); err != nil {
				return
			}
		}
	}()
	<-done
}

// startExec sends POST /exec/ID/start to the Engine API over an in-process connection and
// returns the stream once the API has taken it over.
func (s *Server) startExec(id string) (net.Conn, error) {
	client, server := net.Pipe()
	l := &oneConnListener{conn: server, done: make(chan struct{})}
	hs := &http.Server{Handler: s.opts.API}
	go func() { _ = hs.Serve(l) }()
	body := `{"Detach":false,"Tty":true}`
	req := fmt.Sprintf("POST /exec/%s/start HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n"+
		"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
	go func() { _, _ = io.WriteString(client, req) }()
	br := bufio.NewReader(client)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		client.Close()
		l.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		client.Close()
		l.Close()
		return nil, fmt.Errorf("starting exec %s: %s: %s", id, resp.Status, strings.TrimSpace(string(b)))
	}
	return &bufConn{Conn: client, r: br, l: l}, nil
}

// bufConn reads what the response reader buffered before the raw stream.
type bufConn struct {
	net.Conn
	r *bufio.Reader
	l *oneConnListener
}

func (c *bufConn) Close() error { c.l.Close(); return c.Conn.Close() }

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// oneConnListener serves one connection, then blocks until closed.
type oneConnListener struct {
	mu   sync.Mutex
	conn net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "berth-ui" }
