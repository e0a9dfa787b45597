package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ParseSignal reads a signal as Docker does: a number, "KILL" or "SIGKILL", any case.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("Invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("Invalid signal: %s", s)
}

// Kill sends a signal (default KILL) to a running container's main process.
func (m *Manager) Kill(ref, signal string) error {
	if signal == "" {
		signal = "KILL"
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	c, st, err := m.Get(ref)
	if err != nil {
		if errors.As(err, new(NotFoundError)) {
			return fmt.Errorf("Cannot kill container: %s: %w", ref, err) // Docker's daemon words it so
		}
		return err
	}
	if !st.Running() {
		return ConflictError{fmt.Sprintf("Cannot kill container: %s: Container %s is not running", ref, c.ID)}
	}
	// The user's kill is recorded before the signal goes: the supervisor reads it when the
	// process exits, and then does not restart the container.
	if st, err = m.markStopped(c, signal); err != nil {
		return err
	}
	m.event("kill", c, map[string]string{"signal": strconv.Itoa(int(sig))})
	if st.Restarting() {
		return nil // Docker: telling the supervisor not to restart it is enough
	}
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		return err
	}
	// The process may have exited between our look and the signal; or its supervisor may be
	// starting it (a restart by its policy) and the runtime not know it yet: it is tried again
	// for a while.
	deadline := time.Now().Add(2 * time.Second)
	for {
		var kerr error
		if !signalInit(st, sig) {
			kerr = rt.Kill(c.ID, sig, false)
		}
		if kerr == nil {
			if sig == syscall.SIGKILL {
				// Docker's kill of SIGKILL returns once the container is down, so what the
				// caller reads next (inspect, ps) shows it stopped.
				var nf NotFoundError
				if _, err := m.Wait(c.ID, 10*time.Second); err != nil && !errors.As(err, &nf) {
					return err
				}
			}
			return nil
		}
		_, st, gerr := m.Get(c.ID)
		if gerr == nil && (!st.Running() || st.Restarting()) {
			return nil
		}
		if gerr != nil || st.SupervisorPid == 0 || time.Now().After(deadline) {
			return fmt.Errorf("Cannot kill container: %s: %v", ref, kerr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signalInit signals a running container's init directly, as `runc kill` would, without
// spawning the runtime (a process on every stop's path). It only does so when it can be sure of
// the process: a pidfd pins it, and its parent being the container's supervisor (the
// subreaper that reaps it) says it is the init and not a process that took over its PID. It
// reports false when the caller should ask the runtime.
func signalInit(st State, sig syscall.Signal) bool {
	if st.Status != "running" || st.Pid <= 0 || st.SupervisorPid <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if ppid, err := procParent(st.Pid); err != nil || ppid != st.SupervisorPid {
		return false
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}

// procParent is a process's parent PID, from /proc.
func procParent(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 2 {
		return 0, errors.New("bad stat")
	}
	return strconv.Atoi(f[1])
}

// Stop sends the container's stop signal (STOPSIGNAL, default SIGTERM), waits up to timeout
// (nil: the container's StopTimeout, else 10 s) and then kills it.
func (m *Manager) Stop(ref string, timeout *int) error {
	_, err := m.StopWith(ref, StopOptions{Timeout: timeout})
	return err
}

// StopOptions are a stop's settings: the timeout (nil: the container's StopTimeout, else 10 s)
// and the signal ("": the container's STOPSIGNAL, else SIGTERM).
type StopOptions struct {
	Timeout *int
	Signal  string
}

// StopWith is Stop with a signal of the caller's choosing; it reports whether the container
// was running (Docker's 304 when it was not).
func (m *Manager) StopWith(ref string, o StopOptions) (bool, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return false, err
	}
	if !st.Running() {
		return false, nil
	}
	if o.Signal != "" {
		if _, err := ParseSignal(o.Signal); err != nil {
			return false, InvalidParameterError{err}
		}
	}
	if err := m.stop(c, st, o); err != nil {
		return true, err
	}
	m.event("stop", c, nil)
	return true, nil
}

func (m *Manager) stop(c *Container, st State, o StopOptions) error {
	t := 10
	if c.Config.StopTimeout != nil {
		t = *c.Config.StopTimeout
	}
	if o.Timeout != nil {
		t = *o.Timeout
	}
	sig := o.Signal
	if sig == "" {
		sig = c.Config.StopSignal
	}
	if sig == "" {
		sig = "TERM"
	}
	if st.Status == "paused" {
		m.markStopped(c, "KILL")
		if rt, err := m.Runtime(c.Host.Runtime); err == nil {
			rt.Kill(c.ID, syscall.SIGKILL, false)
			rt.Resume(c.ID)
		}
	} else if err := m.Kill(c.ID, sig); err != nil {
		var nf NotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	var nf NotFoundError
	if t < 0 {
		if _, err := m.Wait(c.ID, -1); err != nil && !errors.As(err, &nf) {
			return err
		}
		return nil
	}
	if t > 0 {
		st, err := m.Wait(c.ID, time.Duration(t)*time.Second)
		if errors.As(err, &nf) {
			return nil
		}
		if err != nil || !st.Running() {
			return err
		}
	}
	if err := m.Kill(c.ID, "KILL"); err != nil {
		if errors.As(err, &nf) {
			return nil // it ended and was removed (--rm) meanwhile
		}
		if _, ok := err.(ConflictError); !ok {
			return err
		}
	}
	_, err := m.Wait(c.ID, 30*time.Second)
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// Wait waits until the container is not running (or timeout passes; a negative timeout waits
// for ever) and returns its state. It returns once the exit is recorded, while the supervisor
// may still tear the container down (waitTeardown).
func (m *Manager) Wait(ref string, timeout time.Duration) (State, error) {
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	seen := false
	for {
		_, st, err := m.Get(ref)
		var nf NotFoundError
		if seen && errors.As(err, &nf) {
			// It went away while we waited (--rm): it is certainly not running.
			return State{Status: "removed"}, nil
		}
		if err != nil {
			return st, err
		}
		seen = true
		if !st.Running() {
			return st, nil
		}
		if timeout >= 0 && time.Now().After(deadline) {
			return st, nil
		}
		time.Sleep(delay)
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// WaitExit is `wait`: it waits until the container is not running, or, for a container whose
// restart policy restarts it, until its process next exits (Docker's wait returns then too), and
// returns its state.
func (m *Manager) WaitExit(ref string) (State, error) {
	_, st, err := m.Get(ref)
	if err != nil {
		return st, err
	}
	lastExit := st.FinishedAt
	delay := 5 * time.Millisecond
	for {
		if !st.Running() && st.SupervisorPid == 0 {
			return st, nil
		}
		if st.Restarting() && !st.FinishedAt.Equal(lastExit) {
			return st, nil
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
		var nf NotFoundError
		if _, st, err = m.Get(ref); errors.As(err, &nf) {
			return State{Status: "removed"}, nil
		} else if err != nil {
			return st, err
		}
	}
}

// Restart stops and starts a container (detached).
func (m *Manager) Restart(ref string, timeout *int) error {
	return m.RestartWith(ref, StopOptions{Timeout: timeout})
}

// RestartWith is Restart with a stop signal of the caller's choosing (the Engine API's signal).
func (m *Manager) RestartWith(ref string, o StopOptions) error {
	if _, err := m.StopWith(ref, o); err != nil {
		return err
	}
	if err := m.StartDetached(ref); err != nil {
		return err
	}
	if c, _, err := m.Get(ref); err == nil {
		m.event("restart", c, nil)
	}
	return nil
}

// Pause freezes a running container.
func (m *Manager) Pause(ref string) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	if st.Restarting() {
		return errRestarting(c.ID)
	}
	if st.Status != "running" {
		return ConflictError{fmt.Sprintf("Container %s is not running", c.ID)}
	}
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		return err
	}
	if err := rt.Pause(c.ID); err != nil {
		return err
	}
	m.event("pause", c, nil)
	_, err = m.updateState(c.ID, func(s *State) error {
		s.Status = "paused"
		if s.Health != nil {
			// Docker stops the health monitor of a paused container, which makes it unhealthy
			// until a probe succeeds again after unpause.
			s.Health.Status = HealthUnhealthy
		}
		return nil
	})
	return err
}

// Unpause thaws a paused container.
func (m *Manager) Unpause(ref string) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	if st.Status != "paused" {
		return ConflictError{fmt.Sprintf("Container %s is not paused", c.ID)}
	}
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		return err
	}
	if err := rt.Resume(c.ID); err != nil {
		return err
	}
	m.event("unpause", c, nil)
	_, err = m.updateState(c.ID, func(s *State) error {
		if s.Status == "paused" {
			s.Status = "running"
		}
		return nil
	})
	return err
}
