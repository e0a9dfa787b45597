package api

// Tests of issue 15's last gaps (detached exec events, pull of one platform, a network removed
// before start, link names, the classic build stream's IDs): a real `berth serve` and the CLI on
// the same root, with the expectations recorded from dockerd 20.10 here.

import (
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// apileftEvent waits (up to a minute: the machine is shared) for an event of container id whose
// action starts with action and whose execID is execID (any with ""), and returns it.
func apileftEvent(t *testing.T, e *execEnv, id, action, execID string) (restEvent, bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, ev := range restFind(restEvents(t, e), "container", action, id) {
			if execID == "" || ev.Actor.Attributes["execID"] == execID {
				return ev, true
			}
		}
	}
	return restEvent{}, false
}

// A detached exec has its exec_die with the exit code, from both faces, as dockerd 20.10 writes
// it (recorded with `docker exec -d` and POST /exec/ID/start {"Detach":true}): exec_create and
// exec_start name the command as entrypoint + " " + arguments ("true " alone), and a command
// the runtime cannot start has exec_create and exec_start but no exec_die.
func TestApileftExecDetachedEvents(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "--network", "none", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", id) })

	// The CLI: berth exec -d returns at once; the process ends later with 3.
	e.berth("exec", "-d", id, "sh", "-c", "sleep 0.3; exit 3")
	start, ok := apileftEvent(t, e, id, "exec_start: sh -c sleep 0.3; exit 3", "")
	if !ok {
		t.Fatal("no exec_start for exec -d")
	}
	xid := start.Actor.Attributes["execID"]
	if die, ok := apileftEvent(t, e, id, "exec_die", xid); !ok || die.Actor.Attributes["exitCode"] != "3" {
		t.Errorf("exec_die of exec -d: %+v %v", die, ok)
	}
	// With a terminal too.
	e.berth("exec", "-d", "-t", id, "sh", "-c", "exit 4")
	start, ok = apileftEvent(t, e, id, "exec_start: sh -c exit 4", "")
	if !ok {
		t.Fatal("no exec_start for exec -d -t")
	}
	if die, ok := apileftEvent(t, e, id, "exec_die", start.Actor.Attributes["execID"]); !ok || die.Actor.Attributes["exitCode"] != "4" {
		t.Errorf("exec_die of exec -d -t: %+v %v", die, ok)
	}
	// A command without arguments: "true " (dockerd's entrypoint + " " + args).
	e.berth("exec", "-d", id, "true")
	start, ok = apileftEvent(t, e, id, "exec_start: true ", "")
	if !ok || start.Action != "exec_start: true " {
		t.Fatalf("exec_start of true: %+v", start)
	}
	if die, ok := apileftEvent(t, e, id, "exec_die", start.Actor.Attributes["execID"]); !ok || die.Actor.Attributes["exitCode"] != "0" {
		t.Errorf("exec_die of true: %+v %v", die, ok)
	}

	// The API: a detached start.
	cr, err := e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "exit 5"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ExecStart(e.ctx(), cr.ID, client.ExecStartOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	if die, ok := apileftEvent(t, e, id, "exec_die", cr.ID); !ok || die.Actor.Attributes["exitCode"] != "5" {
		t.Errorf("exec_die of a detached API exec: %+v %v", die, ok)
	}

	// A command the runtime cannot start: 126 and runc's words (non-detached) and no exec_die
	// for either; the detached one's exec_start is there.
	if out, code := e.berthRun("exec", id, "nosuchcmd"); code != 126 {
		t.Errorf("exec nosuchcmd: %d %s", code, out)
	}
	if out, code := e.berthRun("exec", "-d", id, "nosuchcmd2"); code == 0 {
		t.Errorf("exec -d nosuchcmd2: %d %s", code, out)
	}
	if _, ok := apileftEvent(t, e, id, "exec_start: nosuchcmd2 ", ""); !ok {
		t.Error("no exec_start for exec -d nosuchcmd2")
	}
	// Every exec_die seen so far belongs to one of the four that ran.
	if dies := restFind(restEvents(t, e), "container", "exec_die", id); len(dies) != 4 {
		t.Errorf("exec_die events: %d, want 4 (none for a command that could not start): %+v", len(dies), dies)
	}
}
