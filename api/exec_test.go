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
)

// Exec create / start (multiplexed, stdin) / inspect, and the exit code recorded before the
// stream ends.
func TestExecStreamsAndInspect(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "busybox", "sleep", "300")
	cr, err := e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{
		Cmd: []string{"sh", "-c", "read x; echo out $x $FOO; echo err >&2; exit 7"}, Env: []string{"FOO=bar"},
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ins, err := e.client.ExecInspect(e.ctx(), cr.ID, client.ExecInspectOptions{})
	if err != nil || ins.Running || ins.ExitCode != 0 || ins.ContainerID != id {
		t.Fatalf("inspect before start: %+v %v", ins, err)
	}
	at, err := e.client.ExecAttach(e.ctx(), cr.ID, client.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	io.WriteString(at.Conn, "in\n")
	at.CloseWrite()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, at.Reader); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out in bar\n" || errb.String() != "err\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	ins, err = e.client.ExecInspect(e.ctx(), cr.ID, client.ExecInspectOptions{})
	if err != nil || ins.Running || ins.ExitCode != 7 || ins.PID == 0 {
		t.Errorf("inspect after: %+v %v", ins, err)
	}
	// Docker's answers: started twice 409, unknown 404, no command 400, stopped container 409.
	code, body := e.httpDo("POST", "/exec/"+cr.ID+"/start", `{}`)
	if code != http.StatusConflict || !strings.Contains(body, "has already run") {
		t.Errorf("second start: %d %s", code, body)
	}
	code, body = e.httpDo("GET", "/exec/nosuch/json", "")
	if code != http.StatusNotFound || !strings.Contains(body, "No such exec instance: nosuch") {
		t.Errorf("unknown exec: %d %s", code, body)
	}
	code, body = e.httpDo("POST", "/containers/"+id+"/exec", `{"Cmd":[]}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "No exec command specified") {
		t.Errorf("no command: %d %s", code, body)
	}
	code, body = e.httpDo("POST", "/containers/"+id+"/exec", `{"Cmd":`)
	if code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %s", code, body)
	}
	stopped := e.berth("create", "busybox", "true")
	code, body = e.httpDo("POST", "/containers/"+stopped+"/exec", `{"Cmd":["true"]}`)
	if code != http.StatusConflict || !strings.Contains(body, "is not running") {
		t.Errorf("exec in a stopped container: %d %s", code, body)
	}
}

// A detached exec runs in the background; a TTY exec is raw, resizable, and detachable.
func TestExecDetachedAndTTY(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "busybox", "sleep", "300")
	cr, err := e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "sleep 1; touch /done"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ExecStart(e.ctx(), cr.ID, client.ExecStartOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	ins, _ := e.client.ExecInspect(e.ctx(), cr.ID, client.ExecInspectOptions{})
	if !ins.Running || ins.PID == 0 {
		t.Errorf("detached exec right after start: %+v", ins)
	}
	for i := 0; ; i++ {
		ins, _ = e.client.ExecInspect(e.ctx(), cr.ID, client.ExecInspectOptions{})
		if !ins.Running {
			break
		}
		if i > 300 {
			t.Fatal("detached exec never ended")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, code := e.berthRun("exec", id, "ls", "/done"); code != 0 {
		t.Errorf("the detached exec did not run: %s", out)
	}

	cr, err = e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{Cmd: []string{"sh"}, TTY: true, AttachStdin: true, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	at, err := e.client.ExecAttach(e.ctx(), cr.ID, client.ExecAttachOptions{TTY: true, ConsoleSize: client.ConsoleSize{Height: 20, Width: 50}})
	if err != nil {
		t.Fatal(err)
	}
	defer at.Close()
	io.WriteString(at.Conn, "stty size; echo fi''rst\n")
	if got := readUntil(t, at.Reader, "first"); !strings.Contains(got, "20 50") {
		t.Errorf("initial size: %q", got)
	}
	if _, err := e.client.ExecResize(e.ctx(), cr.ID, client.ExecResizeOptions{Height: 40, Width: 100}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(at.Conn, "stty size; echo sec''ond\n")
	if got := readUntil(t, at.Reader, "second"); !strings.Contains(got, "40 100") {
		t.Errorf("size after resize: %q", got)
	}
	at.Conn.Write([]byte{16, 17}) // ctrl-p ctrl-q
	io.ReadAll(at.Reader)         // the server ends the stream
	ins, _ = e.client.ExecInspect(e.ctx(), cr.ID, client.ExecInspectOptions{})
	if !ins.Running {
		t.Errorf("after detaching, the exec runs on: %+v", ins)
	}
}
