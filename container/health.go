package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/image"
	"golang.org/x/sys/unix"
)

// Health statuses, as Docker names them ("none" is the ps filter's value for a container
// without a healthcheck).
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
	HealthNone      = "none"
)

// Docker's healthcheck defaults and limits.
const (
	defaultProbeInterval = 30 * time.Second
	defaultProbeTimeout  = 30 * time.Second
	defaultProbeRetries  = 3
	maxHealthLogEntries  = 5
	maxHealthOutput      = 4096
	minHealthDuration    = time.Millisecond
)

// Health is a container's healthcheck state, Docker's State.Health.
type Health struct {
	Status        string
	FailingStreak int
	Log           []HealthcheckResult // the last results, oldest first
}

// HealthcheckResult is one probe's result.
type HealthcheckResult struct {
	Start    time.Time
	End      time.Time
	ExitCode int // 0 healthy, else unhealthy; -1: the probe could not run or timed out
	Output   string
}

// MergeHealthcheck is the daemon's merge of the user's healthcheck (the --health-* flags, or
// --no-healthcheck's NONE) with the image's: what the user left unset comes from the image.
func MergeHealthcheck(img, user *image.HealthConfig) *image.HealthConfig {
	if user == nil {
		if img == nil {
			return nil
		}
		h := *img
		h.Test = append([]string(nil), img.Test...)
		return &h
	}
	h := *user
	h.Test = append([]string(nil), user.Test...)
	if img != nil {
		if len(h.Test) == 0 {
			h.Test = append([]string(nil), img.Test...)
		}
		if h.Interval == 0 {
			h.Interval = img.Interval
		}
		if h.Timeout == 0 {
			h.Timeout = img.Timeout
		}
		if h.StartPeriod == 0 {
			h.StartPeriod = img.StartPeriod
		}
		if h.StartInterval == 0 {
			h.StartInterval = img.StartInterval
		}
		if h.Retries == 0 {
			h.Retries = img.Retries
		}
	}
	return &h
}

// ValidateHealthcheck is the daemon's check of a merged healthcheck.
func ValidateHealthcheck(h *image.HealthConfig) error {
	if h == nil {
		return nil
	}
	if h.Interval != 0 && h.Interval < minHealthDuration {
		return fmt.Errorf("Interval in Healthcheck cannot be less than %s", minHealthDuration)
	}
	if h.Timeout != 0 && h.Timeout < minHealthDuration {
		return fmt.Errorf("Timeout in Healthcheck cannot be less than %s", minHealthDuration)
	}
	if h.Retries < 0 {
		return errors.New("Retries in Healthcheck cannot be negative")
	}
	if h.StartPeriod != 0 && h.StartPeriod < minHealthDuration {
		return fmt.Errorf("StartPeriod in Healthcheck cannot be less than %s", minHealthDuration)
	}
	return nil
}

// hasHealthcheck reports whether a config has a probe to run: CMD or CMD-SHELL (NONE, an empty
// test or an unknown kind disables it, and then the container has no health state).
func hasHealthcheck(c image.ContainerConfig) bool {
	h := c.Healthcheck
	return h != nil && len(h.Test) > 1 && (h.Test[0] == "CMD" || h.Test[0] == "CMD-SHELL")
}

// probeCommand is the command the probe executes in the container: CMD's arguments, or
// CMD-SHELL's through the image's shell (default /bin/sh -c).
func probeCommand(c image.ContainerConfig) []string {
	t := c.Healthcheck.Test
	if t[0] == "CMD" {
		return append([]string(nil), t[1:]...)
	}
	shell := c.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), shell...), t[1:]...)
}

func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// startHealth resets the health state of a container being started (the log is kept).
func startHealth(c *Container, st *State) {
	if !hasHealthcheck(c.Config) {
		st.Health = nil
		return
	}
	if st.Health == nil {
		st.Health = &Health{}
	}
	if st.Health.Log == nil {
		st.Health.Log = []HealthcheckResult{}
	}
	st.Health.Status, st.Health.FailingStreak = HealthStarting, 0
}

// applyProbeResult is Docker's handling of a probe's result: it is logged (the last 5 kept); a
// success makes the container healthy; a failure counts towards the retries that make it
// unhealthy, except while it is still starting within its start period.
func applyProbeResult(h *Health, r HealthcheckResult, hc *image.HealthConfig, startedAt time.Time) {
	retries := hc.Retries
	if retries <= 0 {
		retries = defaultProbeRetries
	}
	h.Log = append(h.Log, r)
	if len(h.Log) > maxHealthLogEntries {
		h.Log = append([]HealthcheckResult(nil), h.Log[len(h.Log)-maxHealthLogEntries:]...)
	}
	if r.ExitCode == 0 {
		h.FailingStreak = 0
		h.Status = HealthHealthy
		return
	}
	if h.Status == HealthStarting && r.Start.Sub(startedAt) < hc.StartPeriod {
		return
	}
	h.FailingStreak++
	if h.FailingStreak >= retries {
		h.Status = HealthUnhealthy
	}
}

// monitorHealth runs the container's probe every interval until stop is closed: the supervisor
// (shim or foreground berth) runs it beside the container. A probe is an exec, as `berth exec`
// runs it; the next one starts an interval after the previous one ended.
func (m *Manager) monitorHealth(c *Container, init int, stop <-chan struct{}) {
	hc := c.Config.Healthcheck
	interval := durationOr(hc.Interval, defaultProbeInterval)
	timeout := durationOr(hc.Timeout, defaultProbeTimeout)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	reap := time.NewTicker(time.Second)
	defer reap.Stop()
	for {
		select {
		case <-stop:
			return
		case <-reap.C:
			reapOrphans(init)
			continue
		case <-timer.C:
		}
		if _, st, err := m.getState(c.ID); err != nil {
			return
		} else if st.Status == "running" {
			r := m.probe(c, timeout)
			select {
			case <-stop:
				return // the container ended meanwhile: its result does not count
			default:
			}
			var before, after string
			m.updateState(c.ID, func(st *State) error {
				if st.Status != "running" || st.Health == nil {
					return errSkip
				}
				before = st.Health.Status
				applyProbeResult(st.Health, r, hc, st.StartedAt)
				after = st.Health.Status
				return nil
			})
			if after != before {
				m.event("health_status: "+after, c, nil)
			}
		}
		timer.Reset(interval)
	}
}

var errSkip = errors.New("nothing to record")

// reapOrphans reaps the zombies a supervisor (a subreaper) inherits when the runc of a probe died
// before it reaped its own processes: runc's init stages, and the probe's process, which, a
// zombie in the container's PID namespace, would keep the container's init from ever finishing
// its exit (and the supervisor waiting for it). The container's init (waited for by the
// supervisor) and the supervisor's own children (runc, waited for by their exec.Cmd) are left
// alone.
func reapOrphans(init int) {
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid == init {
				continue
			}
			status, err := os.ReadFile("/proc/" + f + "/status")
			if err != nil {
				continue
			}
			var name, state string
			nspids := 0
			for _, line := range strings.Split(string(status), "\n") {
				k, v, _ := strings.Cut(line, ":")
				switch k {
				case "Name":
					name = strings.TrimSpace(v)
				case "State":
					state = strings.TrimSpace(v)
				case "NSpid":
					nspids = len(strings.Fields(v))
				}
			}
			if strings.HasPrefix(state, "Z") && (strings.HasPrefix(name, "runc:[") || nspids > 1) {
				var ws unix.WaitStatus
				unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			}
		}
	}
}

// probe runs the healthcheck once.
func (m *Manager) probe(c *Container, timeout time.Duration) HealthcheckResult {
	var out limitedBuffer
	var failed string
	start := time.Now().UTC()
	code, err := m.Exec(c.ID, ExecOptions{Cmd: probeCommand(c.Config), Stdout: &out, Stderr: &out, timeout: timeout, failed: &failed})
	r := HealthcheckResult{Start: start, End: time.Now().UTC(), ExitCode: code, Output: out.String()}
	switch {
	case errors.Is(err, errExecTimeout):
		r.ExitCode, r.Output = -1, fmt.Sprintf("Health check exceeded timeout (%v)", timeout)
	case err != nil:
		r.ExitCode, r.Output = -1, err.Error()
	case failed != "":
		// The probe could not be started: Docker reports its runtime's error.
		r.ExitCode, r.Output = -1, dockerExecFailure(failed)
	}
	return r
}

// limitedBuffer keeps the first 4096 bytes of a probe's output, and says "..." when there was
// more, as Docker does.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := min(maxHealthOutput-b.buf.Len(), len(p))
	if keep > 0 {
		b.buf.Write(p[:keep])
	}
	if keep < len(p) {
		b.truncated = true
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return b.buf.String() + "..."
	}
	return b.buf.String()
}
