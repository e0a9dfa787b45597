package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Restart policies are applied by the container's supervisor (the shim of a detached container,
// or the shim that a foreground `run` hands the container to when it must be restarted). berth
// has no daemon: without `berth serve`, nothing restarts a container whose supervisor is gone, so
// "always" and "unless-stopped" bring containers back after a reboot or after the shim was killed
// only when the service starts (RestartOnServiceStart); until then such a container is reconciled
// as exited like any other.

// RestartPolicy is Docker's HostConfig.RestartPolicy.
type RestartPolicy struct {
	Name              string // "no", "always", "unless-stopped", "on-failure" ("" as "no")
	MaximumRetryCount int
}

// Errors of --restart as Docker's CLI and daemon word them.
var ErrConflictRestartRm = errors.New("Conflicting options: --restart and --rm")

// ParseRestartPolicy reads --restart as Docker's CLI does: NAME[:MAX-RETRIES]; the name is
// checked by ValidateRestartPolicy.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	p := RestartPolicy{}
	if s == "" {
		return p, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return p, errors.New("invalid restart policy format")
	}
	if len(parts) == 2 {
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			return p, errors.New("maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	p.Name = parts[0]
	return p, nil
}

// ValidateRestartPolicy is the daemon's check of a policy.
func ValidateRestartPolicy(p RestartPolicy) error {
	switch p.Name {
	case "always", "unless-stopped", "no":
		if p.MaximumRetryCount != 0 {
			return fmt.Errorf("maximum retry count cannot be used with restart policy '%s'", p.Name)
		}
	case "on-failure":
		if p.MaximumRetryCount < 0 {
			return errors.New("maximum retry count cannot be negative")
		}
	case "":
	default:
		return fmt.Errorf("invalid restart policy '%s'", p.Name)
	}
	return nil
}

// IsNone reports whether the policy never restarts.
func (p RestartPolicy) IsNone() bool { return p.Name == "" || p.Name == "no" }

// ShouldRestart is moby's restart manager's decision when a container's process exits:
//   - a stop or kill by the user cancels any restart (canceled), whatever the policy;
//   - "always" restarts; "unless-stopped" unless the user stopped the container (a kill with a
//     signal other than the container's stop signal only marks it stopped, it does not cancel);
//   - "on-failure" restarts a non-zero exit while fewer than MaximumRetryCount restarts were made
//     (0: no limit).
func ShouldRestart(p RestartPolicy, exitCode, restartCount int, manuallyStopped, canceled bool) bool {
	if p.IsNone() || canceled {
		return false
	}
	switch p.Name {
	case "always":
		return true
	case "unless-stopped":
		return !manuallyStopped
	case "on-failure":
		if p.MaximumRetryCount == 0 || restartCount < p.MaximumRetryCount {
			return exitCode != 0
		}
	}
	return false
}

// Docker's restart backoff: 100 ms, doubled at each restart up to a minute, back to 100 ms once
// the container ran for 10 seconds.
const (
	restartDelayFirst = 100 * time.Millisecond
	restartDelayMax   = time.Minute
	restartResetAfter = 10 * time.Second
)

// NextRestartDelay is how long to wait before the next restart, given the previous delay (0
// before the first restart) and how long the container ran this time.
func NextRestartDelay(prev, ranFor time.Duration) time.Duration {
	if ranFor >= restartResetAfter {
		prev = 0
	}
	d := prev
	switch {
	case d <= 0:
		d = restartDelayFirst
	case d < restartDelayMax:
		d *= 2
	}
	return min(d, restartDelayMax)
}

// killStops reports whether a kill with sig by the user cancels the container's restart, as in
// Docker: SIGKILL, any signal when the container has no stop signal, else its stop signal only.
func killStops(c *Container, sig string) bool {
	s, err := ParseSignal(sig)
	if err != nil {
		return true
	}
	if c.Config.StopSignal == "" || s == 9 {
		return true
	}
	stop, err := ParseSignal(c.Config.StopSignal)
	return err != nil || stop == s
}

// markStopped records that the user stopped or killed the container (Docker's
// HasBeenManuallyStopped, and the restart manager's cancel when the signal stops it), before the
// signal is sent: the supervisor reads it when the process exits. It returns the state.
func (m *Manager) markStopped(c *Container, sig string) (State, error) {
	cancel := killStops(c, sig)
	return m.updateState(c.ID, func(st *State) error {
		if !st.Running() {
			return nil
		}
		st.ManuallyStopped = true
		st.RestartCanceled = st.RestartCanceled || cancel
		return nil
	})
}

// exited records the end of the container's process and decides, in the same transaction, whether
// its restart policy restarts it: then it is "restarting" (still owned by this supervisor) and the
// delay before the restart is returned. With tearingDown the supervisor records the exit before it
// unmounts the rootfs and releases the network: an exited container then keeps its SupervisorPid
// until tornDown, so that stop returns at once while start, rm and network rm wait for the
// teardown (waitTeardown).
func (m *Manager) exited(c *Container, code int, tearingDown bool) (bool, time.Duration) {
	restart, delay := false, time.Duration(0)
	// The policy may have changed since the supervisor started (update --restart).
	if cur, _, err := m.getState(c.ID); err == nil {
		c.Host.RestartPolicy = cur.Host.RestartPolicy
	}
	m.updateState(c.ID, func(st *State) error {
		now := time.Now().UTC()
		st.Pid, st.ExitCode, st.FinishedAt, st.Error = 0, code, now, ""
		if st.Health != nil {
			// Docker: a container whose health monitor stopped is unhealthy.
			st.Health.Status = HealthUnhealthy
		}
		restart = !c.Host.AutoRemove && ShouldRestart(c.Host.RestartPolicy, code, st.RestartCount, st.ManuallyStopped, st.RestartCanceled)
		if restart {
			delay = NextRestartDelay(st.RestartDelay, now.Sub(st.StartedAt))
			st.Status, st.RestartDelay = "restarting", delay
			st.RestartCount++
			return nil
		}
		st.Status = "exited"
		if !tearingDown {
			st.SupervisorPid, st.SupervisorStart = 0, 0
		}
		return nil
	})
	return restart, delay
}

// tornDown ends what exited(…, true) began: the supervisor's teardown is over, so the exited
// container is nobody's any more.
func (m *Manager) tornDown(id string) {
	m.updateState(id, func(st *State) error {
		if st.Running() || st.SupervisorPid != os.Getpid() {
			return errSkip
		}
		st.SupervisorPid, st.SupervisorStart = 0, 0
		return nil
	})
}

// tearingDown reports whether an exited container's supervisor is still unmounting its rootfs
// and releasing its network (see exited).
func tearingDown(st State) bool { return !st.Running() && st.SupervisorPid != 0 }

// waitTeardown waits until the supervisor of an exited container has torn it down (or died: Get
// reconciles then), so that what comes next (start, rm, network rm) does not race with it. It
// gives up after a while rather than hang on a stuck teardown.
func (m *Manager) waitTeardown(id string) {
	deadline := time.Now().Add(30 * time.Second)
	delay := 2 * time.Millisecond
	for {
		_, st, err := m.Get(id)
		if err != nil || !tearingDown(st) || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// waitRestart sleeps for a restart's delay, returning early (false) when the user stops the
// container meanwhile or removes it.
func (m *Manager) waitRestart(id string, delay time.Duration) bool {
	deadline := time.Now().Add(delay)
	for {
		_, st, err := m.getState(id)
		if err != nil || st.RestartCanceled || st.Status != "restarting" {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		time.Sleep(min(left, 50*time.Millisecond))
	}
}

// errNoRestart ends a supervisor whose container is not to be restarted after all.
var errNoRestart = errors.New("restart canceled")

// errRestartEnded: the user stopped the container while it waited to be restarted.
var errRestartEnded = errors.New("restart ended")

// RestartOnServiceStart starts what Docker's daemon starts when it starts: every container
// that nothing supervises and whose restart policy would restart it (always; unless-stopped not
// stopped by the user; on-failure after a failure, within its retry count), skipping those never
// started and --rm ones. `berth serve` calls it at start, so policies survive a reboot or a lost
// shim while the service runs; from then on each container's shim supervises it as usual. It
// returns the IDs it started and the failures, one per container.
func (m *Manager) RestartOnServiceStart() (started []string, errs []error) {
	list, err := m.List()
	if err != nil {
		return nil, []error{err}
	}
	for _, s := range list {
		st := s.State
		if st.Running() || st.SupervisorPid != 0 || st.StartedAt.IsZero() || s.Host.AutoRemove {
			continue
		}
		if !ShouldRestart(s.Host.RestartPolicy, st.ExitCode, st.RestartCount, st.ManuallyStopped, st.RestartCanceled) {
			continue
		}
		ok, err := m.Start(s.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("restarting container %s: %w", s.ID, err))
			continue
		}
		if ok {
			started = append(started, s.ID)
		}
	}
	return started, errs
}
