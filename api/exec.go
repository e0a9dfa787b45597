package api

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/berth-engine/berth/container"
	ctypes "github.com/moby/moby/api/types/container"
)

// execRoutes registers the streams group's endpoints: attach and resize (attach.go) and exec.
func (s *Server) execRoutes() {
	s.attachRoutes()
	s.handle("POST /containers/{id}/exec", s.execCreate)
	s.handle("POST /exec/{id}/start", s.execStart)
	s.handle("POST /exec/{id}/resize", s.execResize)
	s.handle("GET /exec/{id}/json", s.execInspect)
}

// execErr gives the exec engine's errors their status.
func execErr(err error) error {
	var nf container.ExecNotFoundError
	var inv container.InvalidExecError
	switch {
	case errors.As(err, &nf):
		return notFound("%s", nf.Error())
	case errors.As(err, &inv):
		return badRequest("%s", inv.Error())
	}
	return err
}

// execCreate is POST /containers/{id}/exec: 201 {"Id": ...}.
func (s *Server) execCreate(w http.ResponseWriter, r *http.Request) error {
	var req ctypes.ExecCreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := s.execs.Create(s.containers, r.PathValue("id"), container.ExecConfig{
		Cmd: req.Cmd, Env: req.Env, User: req.User, WorkingDir: req.WorkingDir, Tty: req.Tty,
		Privileged: req.Privileged, AttachStdin: req.AttachStdin, AttachStdout: req.AttachStdout,
		AttachStderr: req.AttachStderr, DetachKeys: req.DetachKeys, ConsoleSize: req.ConsoleSize,
	})
	if err != nil {
		return execErr(err)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"Id": id})
	return nil
}

// execStart is POST /exec/{id}/start: with Detach, 200 once the process runs; otherwise the
// connection is taken over and carries the process's streams (raw with a terminal, multiplexed
// otherwise) until it ends.
func (s *Server) execStart(w http.ResponseWriter, r *http.Request) error {
	var req ctypes.ExecStartRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	st, err := s.execs.Inspect(id)
	if err != nil {
		return execErr(err)
	}
	switch {
	case st.ExitCode != nil:
		return conflict("Error: Exec command %s has already run", id)
	case st.Running:
		return conflict("Error: Exec command %s is already running", id)
	}
	if req.Detach {
		if _, err := s.execs.Start(s.containers, id, container.ExecStreams{Detach: true, ConsoleSize: req.ConsoleSize}); err != nil {
			var se *container.StartError
			if errors.As(err, &se) {
				// dockerd answers a command the runtime cannot start 400, with its words.
				return badRequest("%v", se.Err)
			}
			return execErr(err)
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	// dockerd frames the stream by the start request's Tty, not the instance's: a client that
	// starts a TTY instance with Tty false (docker-py's default) reads stdcopy frames.
	tty := req.Tty
	contentType := mediaRawStream
	if !tty && !versionBefore(r.Context(), "1.42") {
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
	// A client gone mid-stream does not stop the process (as in Docker): its output is then
	// drained and dropped, so it never blocks on a full pipe.
	cw := &dropOnError{w: conn}
	stdout, stderr := attachWriters(cw, tty, attachParams{stdout: true, stderr: true})
	var once sync.Once
	streams := container.ExecStreams{
		Stdout: stdout, Stderr: stderr, ConsoleSize: req.ConsoleSize,
		Detached: func() { once.Do(func() { conn.Close() }) },
	}
	if st.Config.AttachStdin {
		streams.Stdin = buf.Reader
	}
	ended := make(chan error, 1)
	go func() {
		_, err := s.execs.Start(s.containers, id, streams)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err != nil {
			// The stream has begun: Docker writes the error into it.
			io.WriteString(stdout, err.Error()+"\r\n")
			s.logf("exec %s: %v", id, err)
		}
	case <-s.ctx.Done():
		// The server closes: the client's stream ends; the process runs on (its output
		// drained and dropped) and its end is still recorded.
	}
	return nil
}

// dropOnError writes to w until a write fails, and drops everything after.
type dropOnError struct {
	mu     sync.Mutex
	w      io.Writer
	failed bool
}

func (d *dropOnError) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.failed {
		if _, err := d.w.Write(p); err != nil {
			d.failed = true
		}
	}
	return len(p), nil
}

// execResize is POST /exec/{id}/resize?h=&w=.
func (s *Server) execResize(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := resizeParams(r)
	if err != nil {
		return err
	}
	if err := s.execs.Resize(r.PathValue("id"), h, wd); err != nil {
		return execErr(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// execInspect is GET /exec/{id}/json.
func (s *Server) execInspect(w http.ResponseWriter, r *http.Request) error {
	st, err := s.execs.Inspect(r.PathValue("id"))
	if err != nil {
		return execErr(err)
	}
	var entry string
	var args []string
	if len(st.Config.Cmd) > 0 {
		entry, args = st.Config.Cmd[0], st.Config.Cmd[1:]
	}
	if args == nil {
		args = []string{}
	}
	priv := st.Config.Privileged
	var keys []byte
	if st.Config.DetachKeys != "" {
		keys, _ = container.ParseDetachKeys(st.Config.DetachKeys)
	}
	writeJSON(w, http.StatusOK, ctypes.ExecInspectResponse{
		ID: st.ID, Running: st.Running, ExitCode: st.ExitCode,
		ProcessConfig: &ctypes.ExecProcessConfig{Tty: st.Config.Tty, Entrypoint: entry, Arguments: args, Privileged: &priv, User: st.Config.User},
		OpenStdin:     st.Config.AttachStdin, OpenStdout: st.Config.AttachStdout, OpenStderr: st.Config.AttachStderr,
		CanRemove: st.CanRemove, ContainerID: st.ContainerID, DetachKeys: keys, Pid: st.Pid,
	})
	return nil
}
