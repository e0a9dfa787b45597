package api

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/moby/moby/api/pkg/stdcopy"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// containersProcs lists the PIDs of the processes whose arguments include every one of args.
func containersProcs(args ...string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if err != nil {
			continue
		}
		have := strings.Split(string(b), "\x00")
		all := true
		for _, a := range args {
			all = all && slices.Contains(have, a)
		}
		if all {
			pids = append(pids, pid)
		}
	}
	return pids
}

// containersEventually polls cond (10 s at most) and fails the test with what when it never holds.
func containersEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// berth serve keeps a shim started ahead once it has started a container: the next start hands
// its container to it, and the container runs, streams, exits and goes (--rm) as under a shim
// started for it, whose command line names the container. The spare goes with the server.
func TestContainersStartHandsOverToSpareShim(t *testing.T) {
	e := newContainersEnv(t)
	spares := func() []int {
		return containersProcs("--root", e.root, "container-shim", container.SparePlaceholder, "--spare")
	}
	if p := spares(); len(p) != 0 {
		t.Fatalf("a spare shim before any start: %v", p)
	}
	first := e.create("", &ctypes.Config{Cmd: []string{"true"}}, &ctypes.HostConfig{})
	e.start(first)
	containersEventually(t, "no spare shim after a start", func() bool { return len(spares()) == 1 })
	spare := spares()[0]

	// The next container: attached before its start, waits for a file, then writes on both
	// streams and exits 5; --rm.
	id := e.create("", &ctypes.Config{Cmd: []string{"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo out; echo err >&2; exit 5"}},
		&ctypes.HostConfig{AutoRemove: true})
	att, err := e.client.ContainerAttach(e.ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	wr := e.client.ContainerWait(e.ctx, id, client.ContainerWaitOptions{Condition: ctypes.WaitConditionRemoved})
	e.start(id)
	// Its supervisor is the spare, its command line now naming the container.
	if p := containersProcs("container-shim", id, "--spare"); len(p) != 1 || p[0] != spare {
		t.Errorf("the container's shim is %v, the spare was %d", p, spare)
	}
	if st := e.inspect(id).State; st.Status != "running" {
		t.Errorf("state %q", st.Status)
	}
	containersEventually(t, "no new spare after the handover", func() bool {
		p := spares()
		return len(p) == 1 && p[0] != spare
	})
	e.berth("exec", id, "touch", "/tmp/go")
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, att.Reader); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out\n" || errb.String() != "err\n" {
		t.Errorf("attached streams: %q %q", out.String(), errb.String())
	}
	select {
	case r := <-wr.Result:
		if r.StatusCode != 5 {
			t.Errorf("wait removed: %+v", r)
		}
	case err := <-wr.Error:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not return")
	}
	if code, _ := e.raw("GET", "/containers/"+id+"/json", ""); code != 404 {
		t.Errorf("the --rm container is still there: %d", code)
	}
	containersEventually(t, "the spare's shim outlived its container", func() bool {
		return len(containersProcs("container-shim", id)) == 0
	})

	e.stopServe()
	containersEventually(t, "the spare outlived the server", func() bool { return len(spares()) == 0 })
}

// A client that attaches to a container before it starts it (docker run, docker-py's
// attach_socket) starts it the moment it has the attach's answer, and a spare shim looks for
// waiting clients at once: the wait is registered before the answer, so the output of a
// container that is over in a moment still reaches the client.
func TestContainersAttachBeforeStartIsRegisteredFirst(t *testing.T) {
	e := newContainersEnv(t)
	warm := e.create("", &ctypes.Config{Cmd: []string{"true"}}, &ctypes.HostConfig{})
	e.start(warm) // the next start goes to a spare shim
	for i := 0; i < 3; i++ {
		id := e.create("", &ctypes.Config{Cmd: []string{"printf", "hi there"}}, &ctypes.HostConfig{})
		att, err := e.client.ContainerAttach(e.ctx, id, client.ContainerAttachOptions{Stream: true, Logs: true, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		if waits, _ := filepath.Glob(filepath.Join(e.root, "containers", id, "attach-wait-*.sock")); len(waits) != 1 {
			t.Errorf("waits registered when the attach answered: %v", waits)
		}
		e.start(id)
		var out bytes.Buffer
		done := make(chan error, 1)
		go func() { _, err := stdcopy.StdCopy(&out, io.Discard, att.Reader); done <- err }()
		select {
		case err := <-done:
			if err != nil || out.String() != "hi there" {
				t.Errorf("attached output %q %v", out.String(), err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the attached client got nothing")
		}
		att.Close()
	}
}
