package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// WaitCondition is what a wait waits for: Docker's condition parameter of POST /wait.
type WaitCondition string

const (
	// WaitNotRunning returns once the container does not run (at once when it does not).
	WaitNotRunning WaitCondition = "not-running"
	// WaitNextExit returns when the container's process next exits, even if it runs later.
	WaitNextExit WaitCondition = "next-exit"
	// WaitRemoved returns once the container is removed.
	WaitRemoved WaitCondition = "removed"
)

// ParseWaitCondition reads a condition ("" is not-running), with Docker's error.
func ParseWaitCondition(s string) (WaitCondition, error) {
	switch c := WaitCondition(s); c {
	case "":
		return WaitNotRunning, nil
	case WaitNotRunning, WaitNextExit, WaitRemoved:
		return c, nil
	}
	return "", InvalidParameterError{fmt.Errorf("invalid condition: %q", s)}
}

// WaitFor blocks until the container meets cond or ctx ends, and returns its state then (its
// last state seen, Status "removed", when it went away). A container running under its restart
// policy meets not-running when its process exits, as Docker's wait returns then too. The
// container must exist when the wait begins.
func (m *Manager) WaitFor(ctx context.Context, ref string, cond WaitCondition) (State, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return st, err
	}
	lastExit := st.FinishedAt
	// ready tells whether the state meets the condition; it runs on every poll.
	ready := func(st State) bool {
		stopped := !st.Running() && st.SupervisorPid == 0
		exitedAgain := !st.FinishedAt.Equal(lastExit) && !st.FinishedAt.IsZero()
		switch cond {
		case WaitNextExit:
			return exitedAgain && (stopped || st.Restarting())
		case WaitRemoved:
			return false
		}
		return stopped || st.Restarting() && exitedAgain
	}
	// The change that meets the condition is written by another process (the container's
	// shim, a CLI): a write to the database wakes the wait at once; the polls are for a
	// host without inotify.
	changed, stop, err := m.Images.DB.Watch()
	watching := err == nil
	delay := 5 * time.Millisecond
	if watching {
		defer stop()
		delay = time.Millisecond / 2 // a change may have come between the Get above and the watch
	}
	for {
		if ready(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-changed:
			// A commit is seen by readers a moment after its last write to the WAL (the
			// event): look again soon.
			delay = time.Millisecond / 2
		case <-time.After(delay):
		}
		if watching && delay >= watchSettle {
			// The change has settled (looked at 0.5, 1.5, 3.5 and 7.5 ms after it): the next
			// one wakes the wait, and the polls only catch what writes nothing (a supervisor
			// killed: Get's reconcile records its container's end).
			delay = 100 * time.Millisecond
		} else {
			delay = min(2*delay, 100*time.Millisecond)
		}
		_, now, err := m.Get(c.ID)
		if errors.As(err, new(NotFoundError)) {
			st.Status = "removed"
			if code, ok := m.removedExit(c.ID); ok {
				st.ExitCode = code
			}
			return st, nil
		} else if err != nil {
			return st, err
		}
		st = now
	}
}

// watchSettle is how long a wait woken by a change to the database keeps looking (at doubling
// intervals from 0.5 ms) before it goes back to its slow poll: the process that committed may
// still be committing the rest of a change.
const watchSettle = 4 * time.Millisecond

// exitsDir keeps the exit codes of --rm containers, which go with their record as they exit: a
// wait that sees the container gone reads how it ended there. Records older than exitsKeep are
// dropped as new ones are written.
func (m *Manager) exitsDir() string { return filepath.Join(m.Images.Root, "exits") }

const exitsKeep = 10 * time.Minute

// exitsSweepEvery is how often recordExit looks for records older than exitsKeep.
const exitsSweepEvery = time.Minute

// recordExit notes the exit code of container id, which is about to be removed.
func (m *Manager) recordExit(id string, code int) {
	dir := m.exitsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	// Old records go, looked for at most once a minute (a mark's time says when last): a
	// record per --rm container piles up in a busy minute, and every exit would read them all.
	mark := filepath.Join(dir, ".swept")
	if fi, err := os.Stat(mark); err != nil || time.Since(fi.ModTime()) > exitsSweepEvery {
		os.WriteFile(mark, nil, 0o600)
		os.Chtimes(mark, time.Now(), time.Now())
		if ents, err := os.ReadDir(dir); err == nil {
			for _, e := range ents {
				if e.Name() == ".swept" {
					continue
				}
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > exitsKeep {
					os.Remove(filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, werr := f.WriteString(strconv.Itoa(code))
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), filepath.Join(dir, id)) != nil {
		os.Remove(f.Name())
	}
}

// removedExit is the exit code recordExit noted for container id.
func (m *Manager) removedExit(id string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(m.exitsDir(), id))
	if err != nil {
		return 0, false
	}
	code, err := strconv.Atoi(string(b))
	return code, err == nil
}
