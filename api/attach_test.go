package api

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"golang.org/x/net/websocket"
)

// An attach made before the container starts (what `docker run` does) gets its output from the
// first byte, stdout and stderr multiplexed, whoever starts it (here the CLI), and ends with it.
func TestAttachBeforeStartMultiplexed(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("create", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
	res, err := e.client.ContainerAttach(e.ctx(), id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if mt, _ := res.MediaType(); mt != mediaMultiplexedStream {
		t.Errorf("media type %q", mt)
	}
	e.berth("start", id)
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, res.Reader); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	// The replay of an exited container's log (logs=1, stream=0), as docker-py's attach.
	res2, err := e.client.ContainerAttach(e.ctx(), id, client.ContainerAttachOptions{Logs: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Close()
	out.Reset()
	errb.Reset()
	if _, err := stdcopy.StdCopy(&out, &errb, res2.Reader); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out\n" || errb.String() != "" {
		t.Errorf("logs: stdout %q stderr %q (stderr not asked for)", out.String(), errb.String())
	}
}

// A terminal's stream is raw; stdin goes in, resize reaches the pty, and the detach keys end the
// attach while the container runs on.
func TestAttachTTYStdinResizeDetach(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "-i", "-t", "busybox", "sh")
	res, err := e.client.ContainerAttach(e.ctx(), id, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true, DetachKeys: "ctrl-x"})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if mt, _ := res.MediaType(); mt != mediaRawStream {
		t.Errorf("media type %q", mt)
	}
	if _, err := e.client.ContainerResize(e.ctx(), id, client.ContainerResizeOptions{Height: 33, Width: 77}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(res.Conn, "stty size; echo do''ne\n")
	got := readUntil(t, res.Reader, "done")
	if !strings.Contains(got, "33 77") {
		t.Errorf("the terminal's size after resize: %q", got)
	}
	res.Conn.Write([]byte{24}) // ctrl-x
	rest, _ := io.ReadAll(res.Reader)
	if strings.Contains(string(rest), "exit") {
		t.Errorf("after detaching: %q", rest)
	}
	if st := e.berth("inspect", "-f", "{{.State.Running}}", id); st != "true" {
		t.Errorf("after detaching the container runs: %s", st)
	}
	// Bad input: no such container, and a resize with a bad height.
	if _, err := e.client.ContainerAttach(e.ctx(), "nosuch", client.ContainerAttachOptions{Stream: true, Stdout: true}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("attach to a missing container: %v", err)
	}
	resp, err := e.httpPost("/containers/" + id + "/resize?h=x&w=3")
	if err != nil || resp != http.StatusBadRequest {
		t.Errorf("resize h=x: %d %v", resp, err)
	}
}

// The WebSocket attach gets the raw output in binary messages.
func TestAttachWebSocket(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("create", "busybox", "printf", "hi there")
	cfg, err := websocket.NewConfig("ws://localhost/v1.41/containers/"+id+"/attach/ws?stream=1&stdout=1", "http://localhost")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := e.dialSocket()
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	e.berth("start", id)
	var msg []byte
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := websocket.Message.Receive(ws, &msg); err != nil {
		t.Fatal(err)
	}
	if string(msg) != "hi there" {
		t.Errorf("message %q", msg)
	}
}

// readUntil reads r until it has seen want (or fails after 30 s).
func readUntil(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for !strings.Contains(got.String(), want) {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("did not read %q; got %q", want, got.String())
	}
	if !strings.Contains(got.String(), want) {
		t.Fatalf("stream ended before %q: %q", want, got.String())
	}
	return got.String()
}
