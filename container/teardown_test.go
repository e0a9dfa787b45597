package container

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// An exited container whose supervisor still tears it down (exit recorded before the rootfs
// and network go) is stopped for Wait (stop returns) but not yet for waitTeardown (start, rm,
// network rm wait), until the supervisor lets go.
func TestWaitTeardown(t *testing.T) {
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := New(s)
	// A live process stands for the shim that tears the container down.
	shim := exec.Command("sleep", "600")
	if err := shim.Start(); err != nil {
		t.Skip("no sleep to stand for a shim")
	}
	t.Cleanup(func() {
		shim.Process.Kill()
		shim.Wait()
	})
	start, err := procStart(shim.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{ID: strings.Repeat("ab", 32), Name: "td"}
	row, err := c.row(State{Status: "exited", ExitCode: 137, FinishedAt: time.Now(), SupervisorPid: shim.Process.Pid, SupervisorStart: start})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.PutContainer(row) }); err != nil {
		t.Fatal(err)
	}
	st, err := m.Wait(c.ID, 0)
	if err != nil || st.Status != "exited" || !tearingDown(st) {
		t.Fatalf("Wait: %+v %v", st, err)
	}
	done := make(chan struct{})
	go func() { m.waitTeardown(c.ID); close(done) }()
	select {
	case <-done:
		t.Fatal("waitTeardown returned while the supervisor still tears the container down")
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := m.updateState(c.ID, func(st *State) error { st.SupervisorPid, st.SupervisorStart = 0, 0; return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("waitTeardown did not return once the teardown was over")
	}
}

// signalInit signals the container's init itself only when the process is the supervisor's
// child; anything else is left to the runtime.
func TestSignalInit(t *testing.T) {
	child := exec.Command("sleep", "600")
	if err := child.Start(); err != nil {
		t.Skip("no sleep")
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	pid := child.Process.Pid
	if signalInit(State{Status: "running", Pid: pid, SupervisorPid: pid + 1}, syscall.SIGTERM) {
		t.Error("signalled a process that is not the supervisor's child")
	}
	if signalInit(State{Status: "paused", Pid: pid, SupervisorPid: os.Getpid()}, syscall.SIGTERM) {
		t.Error("signalled a paused container's init (left to the runtime)")
	}
	if !signalInit(State{Status: "running", Pid: pid, SupervisorPid: os.Getpid()}, syscall.SIGTERM) {
		t.Fatal("did not signal the supervisor's child")
	}
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("child after SIGTERM: %v", err)
	}
}
