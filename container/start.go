package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berth-engine/berth/container/logging"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/idmap"
	"github.com/berth-engine/berth/layer"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/rootless"
	"github.com/berth-engine/berth/runtime"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Attach is a client attached to a foreground container.
type Attach struct {
	Stdin          io.Reader // nil: the container's stdin is /dev/null
	Stdout, Stderr io.Writer
	// ForwardSignals proxies SIGINT, SIGTERM, ... received by berth to the container (--sig-proxy).
	ForwardSignals bool
	// Setup, when canceled before the container runs (the user interrupted `run` while it set
	// the container up), abandons the start: what was set up is undone, a container that the
	// runtime started meanwhile is killed, and the error is the context's.
	Setup context.Context
	// Started, if set, is called once the container runs and signals are proxied to it.
	Started func()
}

// setupErr is the cancellation of a foreground start's set-up (nil: go on).
func (at *Attach) setupErr() error {
	if at == nil || at.Setup == nil {
		return nil
	}
	return at.Setup.Err()
}

// started tells the client the container runs; it reports whether the set-up was canceled
// meanwhile (the container must then be stopped).
func (at *Attach) started() bool {
	if at == nil {
		return false
	}
	if at.Started != nil {
		at.Started()
	}
	return at.setupErr() != nil
}

// StartError is a failure to start a container with the exit code Docker gives it (125, or
// 126/127 when the command cannot be invoked or is not found).
type StartError struct {
	Code int
	Err  error
	// Shown: the runtime already printed the reason on the client's stderr.
	Shown bool
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Run starts a container in the foreground and supervises it in this process until it exits,
// returning its exit code. With AutoRemove the container is removed afterwards.
func (m *Manager) Run(ref string, at *Attach) (int, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, err
	}
	if st.Running() {
		return 0, ConflictError{fmt.Sprintf("container %s is already running", c.ID)}
	}
	return m.runAttached(c, at)
}

// RunCreated is Run for a container this process has just created (`run`): nobody else has
// started it, so it is not looked up again.
func (m *Manager) RunCreated(c *Container, at *Attach) (int, error) {
	return m.runAttached(c, at)
}

// runAttached supervises a container in the foreground until its process exits. When its restart
// policy restarts it, a shim takes it over (as Docker's daemon does, the client only sees the
// first run) and the exit code is returned.
func (m *Manager) runAttached(c *Container, at *Attach) (int, error) {
	if at != nil {
		m.event("attach", c, nil) // the client is attached before the start, as `docker run`'s
	}
	code, restart, err := m.supervise(c, at, nil, false, nil)
	if err == nil && restart {
		if herr := m.startShim(c, true); herr != nil {
			m.endRestart(c.ID, os.Getpid(), herr.Error())
		}
	}
	return code, err
}

// StartDetached starts a container under a shim (berth re-executed) that outlives this process,
// and returns once the container runs or failed to start.
func (m *Manager) StartDetached(ref string) error {
	_, err := m.Start(ref)
	return err
}

// Start is StartDetached reporting whether it started the container: false when it was running
// already (a no-op for Docker's CLI, a 304 for its API).
func (m *Manager) Start(ref string) (bool, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return false, err
	}
	if st.Running() {
		return false, nil
	}
	lock, err := m.lockContainer(c.ID, true)
	if err != nil {
		return false, err
	}
	defer lock.Close()
	// A prune may have removed it, or another start started it, while we waited for the lock.
	if _, st, err = m.Get(c.ID); err != nil {
		return false, err
	} else if st.Running() {
		return false, nil
	}
	return true, m.startShim(c, false)
}

// StartCreated is StartDetached for a container this process has just created holding its lock
// (`run -d`); the lock is released once the container runs or failed to start.
func (m *Manager) StartCreated(c *Container) error {
	defer c.Unlock()
	return m.startShim(c, false)
}

// startShim starts a container's shim and returns once the container runs or failed to start.
// With handoff, the container is "restarting" under this process, and the shim takes it over and
// restarts it: it returns once the shim owns it.
func (m *Manager) startShim(c *Container, handoff bool) error {
	return m.startShimWith(c, handoff, nil)
}

// startShimWith is startShim with a client attached from the start: attach is the shim's end of
// a connection on which the client's hello is written (StartAttached).
func (m *Manager) startShimWith(c *Container, handoff bool, attach *os.File) error {
	if !handoff {
		// A network unknown at create fails the start here, typed (the API's 404), rather than
		// as the shim's message.
		if err := m.missingNetwork(c, true); err != nil {
			return m.networkStartFailed(c.ID, err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// The shim's own complaints (it has no terminal) go to a file beside the container's log.
	var shimLog *os.File
	if f, err := os.OpenFile(filepath.Join(m.dir(c.ID), "shim.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		defer f.Close()
		shimLog = f
	}
	if sp := m.takeSpare(); sp == nil || !sp.handOver(spareHandover{ID: c.ID, Restarting: handoff}, w, shimLog, attach) {
		args, err := m.shimArgs()
		if err != nil {
			w.Close()
			return err
		}
		if handoff {
			args = append(args, "--restarting")
		}
		if attach != nil {
			args = append(args, "--attached")
		}
		cmd := exec.Command(args[0], append(args[1:], c.ID)...)
		cmd.ExtraFiles = []*os.File{w}
		if attach != nil {
			cmd.ExtraFiles = append(cmd.ExtraFiles, attach) // fd 4
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if shimLog != nil {
			cmd.Stderr = shimLog
		}
		cmd.Env = os.Environ()
		if err := cmd.Start(); err != nil {
			w.Close()
			return err
		}
		go cmd.Wait() // reap the shim if it exits while we still run
	}
	w.Close()
	b, _ := io.ReadAll(r)
	// The next start's shim is started a moment after this one's start is over, not to compete
	// for the CPU with what follows a start (a short container's exit and removal).
	m.refillSpareSoon()
	var res shimResult
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("container %s: supervisor exited before starting it", c.ID)
	}
	if res.Error != "" {
		// A network removed since create failed the shim: told typed, as one unknown at
		// create (looked for only now, so a start that works pays nothing for it).
		if err := m.missingNetwork(c, false); err != nil {
			return m.networkStartFailed(c.ID, err)
		}
		return &StartError{Code: res.Code, Err: errors.New(res.Error)}
	}
	return nil
}

// networkStartFailed records a start that failed for a missing network as dockerd does (the
// container stays "created", with the error and exit code 128) and returns err.
func (m *Manager) networkStartFailed(id string, err error) error {
	m.updateState(id, func(st *State) error {
		st.Error = err.Error()
		if st.ExitCode == 0 {
			st.ExitCode = 128
		}
		return nil
	})
	return err
}

// missingNetwork is NetworkNotFoundError for the first of c's networks that does not exist: only
// those unknown at create (no NetworkID) with unresolvedOnly.
func (m *Manager) missingNetwork(c *Container, unresolvedOnly bool) error {
	for _, ec := range c.Networks {
		if ec.NetworkID != "" && unresolvedOnly {
			continue
		}
		_, err := m.networks().Get(ec.Network)
		if ec.NetworkID != "" && errors.As(err, new(network.NotFoundError)) {
			_, err = m.networks().Get(ec.NetworkID) // renamed since, or a name taken by another
		}
		if errors.As(err, new(network.NotFoundError)) {
			return NetworkNotFoundError{ec.Network}
		}
	}
	return nil
}

type shimResult struct {
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

// Shim is the body of `berth container-shim ID`: it supervises the container until it exits and
// reports on notify (fd 3) whether the start went well. While the container's restart policy
// restarts it, the shim stays and starts it again after the policy's delay. With handoff
// (`--restarting`), the container is "restarting" under the foreground berth that ran it: the
// shim takes it over, reports that on notify, and restarts it. The shim serves the container's
// attach socket; attached (fd 4 of `--attached`) is a client attached before the container starts.
func (m *Manager) Shim(id string, notify *os.File, handoff bool, attached *os.File) error {
	c, st, err := m.Get(id)
	if err == nil && st.Running() && !handoff {
		err = ConflictError{"container already running"}
	}
	ready := func(err error) {
		if notify == nil {
			return
		}
		res := shimResult{}
		if err != nil {
			res.Error, res.Code = err.Error(), 125
			var se *StartError
			if errors.As(err, &se) {
				res.Code = se.Code
			}
		}
		json.NewEncoder(notify).Encode(res)
		notify.Close()
		notify = nil
	}
	if err != nil {
		ready(err)
		return err
	}
	// Leave the caller's working directory, so a detached container never pins it.
	os.Chdir("/")
	hub, herr := m.listenAttach(c)
	if herr != nil {
		fmt.Fprintf(os.Stderr, "container %s: no attach socket: %v\n", c.ID, herr)
	} else {
		defer hub.Close()
		if attached != nil {
			if fc, err := net.FileConn(attached); err == nil {
				hub.serveSync(fc.(*net.UnixConn))
			}
			attached.Close()
		}
	}
	again, delay := false, time.Duration(0)
	if handoff {
		self, _ := procStart(os.Getpid())
		st, err = m.updateState(c.ID, func(s *State) error {
			if !s.Restarting() || s.SupervisorPid != st.SupervisorPid {
				return errNoRestart
			}
			s.SupervisorPid, s.SupervisorStart = os.Getpid(), self
			return nil
		})
		ready(err)
		if err != nil {
			return nil
		}
		again, delay = true, st.RestartDelay
	}
	for {
		if again && !m.waitRestart(c.ID, delay) {
			m.endRestart(c.ID, os.Getpid(), "")
			return nil
		}
		var restart bool
		var code int
		if hub != nil {
			hub.dialWaiters()
		}
		code, restart, err = m.supervise(c, nil, ready, again, hub)
		if hub != nil {
			if err != nil {
				code = -1
			}
			hub.exited(code)
		}
		if err != nil || !restart {
			if errors.Is(err, errNoRestart) {
				err = nil
			}
			return err
		}
		_, st, err := m.getState(c.ID)
		if err != nil {
			return nil
		}
		again, delay = true, st.RestartDelay
	}
}

// endRestart ends a restart that will not happen (the user stopped the container while it
// waited, or it could not be handed over): the container stays exited as it last exited.
func (m *Manager) endRestart(id string, supervisor int, errMsg string) {
	m.updateState(id, func(st *State) error {
		if !st.Restarting() || st.SupervisorPid != supervisor {
			return errSkip
		}
		st.Status, st.SupervisorPid, st.SupervisorStart, st.Pid = "exited", 0, 0, 0
		if errMsg != "" {
			st.Error = errMsg
		}
		return nil
	})
}

var subreaperOnce = func() func() error {
	var done bool
	var err error
	return func() error {
		if !done {
			err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
			done = true
		}
		return err
	}
}()

// supervise starts a container and stays with it until it exits: stdio to the log (and the
// attached client), the exit recorded, the rootfs unmounted. ready (if set) is told once the
// container runs or failed to start. restart reports that the restart policy restarts the
// container: it is then "restarting", still owned by this process. again is such a restart.
// hub (if set) is the shim's attach socket, which gets the output and feeds stdin (-i).
func (m *Manager) supervise(c *Container, at *Attach, ready func(error), again bool, hub *attachServer) (code int, restart bool, err error) {
	notified := false
	fail := func(e error) (int, bool, error) {
		if !notified && ready != nil {
			ready(e)
		}
		return 0, false, e
	}
	if err := at.setupErr(); err != nil {
		return fail(err)
	}
	self, _ := procStart(os.Getpid())
	// One write claims the container and calls it running, before the process runs: a `ps` or
	// `stop` in between finds the supervisor (alive) and waits for it rather than calling the
	// container stopped. A start that fails before the runtime ran anything puts the state back.
	var prev State
	claim := func(st *State) error {
		if again {
			// A restart: still ours and not canceled by the user meanwhile.
			if !st.Restarting() || st.SupervisorPid != os.Getpid() {
				return errNoRestart
			}
			if st.RestartCanceled {
				st.Status, st.SupervisorPid, st.SupervisorStart = "exited", 0, 0
				return errRestartEnded
			}
		} else {
			if st.Running() {
				return ConflictError{fmt.Sprintf("container %s is already running", c.ID)}
			}
			if tearingDown(*st) {
				return errTearingDown // its last supervisor still unmounts and releases it
			}
			// Started by the user: the restart policy starts afresh.
			st.RestartCount, st.ManuallyStopped, st.RestartCanceled, st.RestartDelay = 0, false, false, 0
		}
		prev = *st
		if st.Health != nil {
			h := *st.Health
			prev.Health = &h
		}
		if again {
			prev.Status = "exited" // a restart that fails leaves the container as it exited
		}
		st.SupervisorPid, st.SupervisorStart = os.Getpid(), self
		st.Status, st.StartedAt, st.ExitCode, st.Error, st.FinishedAt = "running", time.Now().UTC(), 0, "", time.Time{}
		startHealth(c, st)
		return nil
	}
	_, err = m.updateState(c.ID, claim)
	if errors.Is(err, errTearingDown) {
		m.waitTeardown(c.ID)
		_, err = m.updateState(c.ID, claim)
	}
	if errors.Is(err, errRestartEnded) {
		return 0, false, errNoRestart
	} else if err != nil {
		return fail(err)
	}
	// release puts the state back after a start that failed before the runtime ran anything
	// (an exit is recorded by exited).
	release := func(errMsg string) {
		m.updateState(c.ID, func(st *State) error {
			st.SupervisorPid, st.SupervisorStart, st.Pid = 0, 0, 0
			st.Status, st.StartedAt, st.ExitCode, st.FinishedAt = prev.Status, prev.StartedAt, prev.ExitCode, prev.FinishedAt
			st.Health, st.Error = prev.Health, errMsg
			return nil
		})
	}
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		release(err.Error())
		return fail(err)
	}
	if err := subreaperOnce(); err != nil {
		release(err.Error())
		return fail(err)
	}
	dir := m.dir(c.ID)
	if err := m.prepare(c); err != nil {
		m.teardown(c, rt)
		release(err.Error())
		if cerr := at.setupErr(); cerr != nil {
			return fail(cerr)
		}
		return fail(&StartError{Code: 125, Err: err})
	}
	if err := at.setupErr(); err != nil {
		m.teardown(c, rt)
		release("")
		return fail(err)
	}
	// The embedded DNS of a container on a user-defined network lives as long as this
	// supervision (the container's namespace goes with its exit).
	if dns, err := m.startResolver(c); err != nil {
		m.teardown(c, rt)
		release(err.Error())
		return fail(&StartError{Code: 125, Err: err})
	} else if dns != nil {
		defer dns.Close()
	}
	// So is the userland proxy of the ports published on [::].
	if px, err := m.startProxy(c); err != nil {
		m.teardown(c, rt)
		release(err.Error())
		return fail(&StartError{Code: 125, Err: fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w", c.Name, c.ID, err)})
	} else if px != nil {
		defer px.Close()
	}
	// And the host ports of its DNAT bindings stay bound, as docker-proxy keeps them.
	if err := m.holdPorts(c); err != nil {
		m.teardown(c, rt)
		release(err.Error())
		return fail(&StartError{Code: 125, Err: fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w", c.Name, c.ID, err)})
	}
	defer m.letPortsGo(c.ID)
	log, err := logging.Open(c.LogConfig(), m.dir(c.ID), c.ID)
	if err != nil {
		m.teardown(c, rt)
		release(err.Error())
		return fail(err)
	}
	defer log.Close()

	outR, outW, err := os.Pipe()
	if err != nil {
		m.teardown(c, rt)
		release(err.Error())
		return fail(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		m.teardown(c, rt)
		release(err.Error())
		return fail(err)
	}
	// stdin is the client's (-i): its file when it has one, else a pipe we fill.
	var stdin *os.File
	var stdinCopy io.Reader
	if at != nil && at.Stdin != nil {
		if f, ok := at.Stdin.(*os.File); ok && !c.Config.Tty {
			stdin = f
		} else {
			stdinCopy = at.Stdin
		}
	}
	if stdinCopy != nil && !c.Config.Tty {
		r, w, err := os.Pipe()
		if err != nil {
			m.teardown(c, rt)
			release(err.Error())
			return fail(err)
		}
		stdin = r
		defer r.Close()
		go func() {
			io.Copy(w, stdinCopy)
			w.Close()
		}()
	}
	// Under a shim, a -i container's stdin is a pipe whose other end the shim keeps for the
	// clients that attach.
	var hubStdin *os.File
	if hub != nil && c.Config.OpenStdin && !c.Config.Tty {
		r, w, err := os.Pipe()
		if err != nil {
			m.teardown(c, rt)
			release(err.Error())
			return fail(err)
		}
		stdin, hubStdin = r, w
		defer r.Close()
	}
	stdio := runtime.Stdio{Stdin: stdin, Stdout: outW, Stderr: errW}
	consolePath := ""
	var gotPty chan *os.File
	if c.Config.Tty {
		// With a terminal the process's stdio is the pty, whose master the runtime passes us
		// over a socket; the runtime's own stdio then only carries its errors.
		console, err := newConsoleSocket()
		if err != nil {
			m.teardown(c, rt)
			release(err.Error())
			return fail(err)
		}
		defer console.Close()
		consolePath, stdio.Stdin = console.Path(), nil
		gotPty = make(chan *os.File, 1)
		go func() {
			f, _ := console.receive()
			gotPty <- f
		}()
	}
	// In the foreground the runtime runs attached to the client's streams, except crun: it
	// prints its failures on the container's stderr in its own words, which the detached start
	// below keeps from the client and reports in Docker's (runtime.DockerMessage).
	foreground := at != nil && ready == nil
	if foreground && !c.Config.Tty && !rt.IsCrun() {
		return m.runForeground(c, rt, at, log, stdio, outR, errR, release, prev.Health)
	}
	pid, err := rt.RunDetached(c.ID, dir, stdio, consolePath)
	outW.Close()
	errW.Close()
	var master *os.File
	if err == nil && gotPty != nil {
		select {
		case master = <-gotPty:
		case <-time.After(10 * time.Second):
		}
		if master == nil {
			unix.Kill(pid, unix.SIGKILL)
			err = errors.New("the runtime did not pass the container's terminal")
		}
	}
	if err != nil {
		outR.Close()
		errR.Close()
		if hubStdin != nil {
			hubStdin.Close()
		}
		rt.Delete(c.ID, true)
		m.teardown(c, rt)
		if foreground && c.Host.AutoRemove {
			// run --rm: the container goes, as after a failed foreground start.
			m.remove(c, RemoveOptions{Volumes: true, runtimeGone: true})
		} else {
			m.updateState(c.ID, func(st *State) error {
				st.Status, st.StartedAt, st.SupervisorPid, st.SupervisorStart, st.Error = "created", time.Time{}, 0, 0, err.Error()
				st.Health = prev.Health
				if again {
					st.Status, st.StartedAt = prev.Status, prev.StartedAt
				}
				return nil
			})
		}
		code := 125
		var ce *runtime.CreateError
		if errors.As(err, &ce) {
			code = ce.ExitCode()
		}
		return fail(&StartError{Code: code, Err: err})
	}
	if stdin != nil && hubStdin != nil {
		stdin.Close() // the container has it
	}
	var attachOut, attachErr io.Writer
	if at != nil {
		attachOut, attachErr = at.Stdout, at.Stderr
	}
	if hub != nil {
		attachOut, attachErr = hub.writer(streamStdout), hub.writer(streamStderr)
		switch {
		case hubStdin != nil:
			hub.started(hubStdin, master)
		case master != nil && c.Config.OpenStdin:
			hub.started(nopCloser{master}, master)
		default:
			hub.started(nil, master)
		}
	}
	done := make(chan struct{}, 3)
	streams := 2
	go func() { copyStream("stdout", outR, log, attachOut); done <- struct{}{} }()
	go func() { copyStream("stderr", errR, log, attachErr); done <- struct{}{} }()
	if master != nil {
		defer master.Close()
		streams++
		copyWinsize(master, attachOut)
		go func() { copyStream("stdout", master, log, attachOut); done <- struct{}{} }()
		if stdinCopy != nil {
			go io.Copy(master, stdinCopy)
		}
	}
	if _, err := m.updateState(c.ID, func(st *State) error { st.Pid = pid; return nil }); err != nil {
		unix.Kill(pid, unix.SIGKILL)
	}
	m.startEvents(c)
	if ready != nil {
		ready(nil)
		notified = true
	}
	if at != nil && at.ForwardSignals {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				// Docker's CLI proxies a signal as a kill by the user.
				m.markStopped(c, strconv.Itoa(int(s.(syscall.Signal))))
				unix.Kill(pid, s.(syscall.Signal))
			}
		}()
	}
	if at.started() {
		// Interrupted while it started: the container goes, as if it never ran.
		unix.Kill(pid, unix.SIGKILL)
	}
	stopHealth := m.startHealthMonitor(c, pid)
	ws := waitContainer(pid)
	stopHealth()
	code = ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	// The streams end when the last process holding them is gone (with the pid namespace); a
	// pty master reports EIO then.
	timeout := time.After(2 * time.Second)
	for i := 0; i < streams; i++ {
		select {
		case <-done:
		case <-timeout:
			outR.Close()
			errR.Close()
			if master != nil {
				master.Close()
			}
		}
	}
	m.letPortsGo(c.ID)
	m.dieEvents(c, code)
	if c.Host.AutoRemove {
		m.recordExit(c.ID, code)
		m.remove(c, RemoveOptions{Volumes: true, reaped: true})
		return code, false, nil
	}
	// The exit is recorded before the teardown (runtime state, rootfs, network), so a stop
	// returns as soon as the container is down; start, rm and network rm wait for the rest.
	restart, _ = m.exited(c, code, true)
	// The network's teardown (a published port's portmap DEL runs a dozen iptables) does not
	// need the runtime's state or the rootfs: it runs beside the runtime's delete and the
	// unmount, which keep their order; rm and network rm wait for the longer of the two.
	netDone := make(chan struct{})
	go func() { m.cleanupNetwork(c); close(netDone) }()
	rt.DeleteExited(c.ID, c.Host.CgroupsPath(c.ID))
	unmountRootfs(m.dir(c.ID))
	<-netDone
	if !restart {
		m.tornDown(c.ID)
	}
	return code, restart, nil
}

// startHealthMonitor runs the container's healthcheck, if it has one, until the returned
// function is called (which waits for a probe under way). init is the container's init when it
// is this process's child (0: it is not).
func (m *Manager) startHealthMonitor(c *Container, init int) func() {
	if !hasHealthcheck(c.Config) {
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { m.monitorHealth(c, init, stop); close(done) }()
	return func() {
		close(stop)
		<-done
	}
}

// initPath is where --init's binary is in the container, as in Docker.
const initPath = "/sbin/docker-init"

// InitBinary finds the init that --init runs: Docker's docker-init, or tini-static (Debian's
// tini package), which is what docker-init is. It must be static: it runs on the image's libc,
// if any.
func InitBinary() (string, error) {
	for _, name := range []string{"docker-init", "tini-static"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("--init: no init binary: docker-init or tini-static must be on PATH (Debian: apt-get install tini)")
}

// waitContainer waits for the container's init, which becomes this process's child when the
// runtime's processes above it exit (we are their subreaper). crun's last one may still be
// exiting when `crun run --detach` returns: until it has, the wait finds no such child, and is
// tried again while the process lives.
func waitContainer(pid int) unix.WaitStatus {
	var ws unix.WaitStatus
	pause := time.Millisecond
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD && unix.Kill(pid, 0) == nil:
			time.Sleep(pause)
			pause = min(2*pause, 100*time.Millisecond)
			continue
		case err != nil:
			return 0
		}
		return ws
	}
}

// runForeground is supervise's fast path for a container attached to this process: one
// `runc run` that creates, starts, waits and removes, instead of `run --detach` and `delete`.
func (m *Manager) runForeground(c *Container, rt *runtime.Runtime, at *Attach, log logging.Writer, stdio runtime.Stdio,
	outR, errR *os.File, release func(string), prevHealth *Health) (int, bool, error) {
	dir := m.dir(c.ID)
	os.Remove(filepath.Join(dir, "init.pid")) // an earlier start's: waitExec reads this start's
	cmd, err := rt.RunAttached(c.ID, dir, stdio)
	stdio.Stdout.Close()
	stdio.Stderr.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		m.teardown(c, rt)
		release(err.Error())
		return 0, false, &StartError{Code: 125, Err: err}
	}
	done := make(chan struct{}, 2)
	go func() { copyStream("stdout", outR, log, at.Stdout); done <- struct{}{} }()
	go func() { copyStream("stderr", errR, log, at.Stderr); done <- struct{}{} }()
	// The PID is not recorded: inspect reads it from the runtime's pid file (bundle/init.pid),
	// which spares a database write while the container starts.
	if at.ForwardSignals {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				// Docker's CLI proxies a signal as a kill by the user.
				m.markStopped(c, strconv.Itoa(int(s.(syscall.Signal))))
				cmd.Process.Signal(s) // runc passes it on to the container
			}
		}()
	}
	// The set-up ends when the container's command runs (the runtime's init has exec'd it):
	// an interrupt before then stops the container and undoes the set-up; after, signals are
	// the container's (--sig-proxy).
	// The start event is written once the command is seen running; a command gone before it was
	// seen gets its start event after the runtime's exit, unless the runtime itself failed.
	waited := make(chan struct{})
	watched := make(chan bool, 1)
	startLogged := false
	go func() {
		interrupted := false
		if at != nil {
			var canceled <-chan struct{}
			if at.Setup != nil {
				canceled = at.Setup.Done()
			}
			ran := waitExec(filepath.Join(dir, "init.pid"), waited, canceled)
			interrupted = at.started()
			if ran && !interrupted {
				m.startEvents(c)
				startLogged = true
			}
		}
		watched <- interrupted
		if !interrupted {
			return
		}
		// Stop it, again until the runtime (which may still be creating it) has exited.
		for {
			rt.Kill(c.ID, unix.SIGKILL, true)
			select {
			case <-waited:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	stopHealth := m.startHealthMonitor(c, 0)
	werr := cmd.Wait()
	close(waited)
	stopHealth()
	if <-watched {
		// A runtime stopped mid-create may leave its state and cgroup behind.
		m.sweepSideEffects(c)
	}
	code := 0
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			code = 125
		} else if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		} else {
			code = ee.ExitCode()
		}
	}
	timeout := time.After(2 * time.Second)
	for i := 0; i < 2; i++ {
		select {
		case <-done:
		case <-timeout:
			outR.Close()
			errR.Close()
		}
	}
	if code != 0 {
		if ce := rt.Failure(dir); ce != nil {
			// The runtime failed, not the command: Docker leaves such a container "created".
			m.teardown(c, rt)
			if c.Host.AutoRemove {
				m.remove(c, RemoveOptions{Volumes: true, runtimeGone: true})
			} else {
				m.updateState(c.ID, func(st *State) error {
					st.Status, st.StartedAt, st.SupervisorPid, st.SupervisorStart, st.Pid, st.Error = "created", time.Time{}, 0, 0, 0, ce.Error()
					st.Health = prevHealth
					return nil
				})
			}
			return 0, false, &StartError{Code: ce.ExitCode(), Err: ce, Shown: true}
		}
	}
	if !startLogged {
		m.startEvents(c)
	}
	m.letPortsGo(c.ID)
	m.dieEvents(c, code)
	if c.Host.AutoRemove {
		m.recordExit(c.ID, code)
		m.remove(c, RemoveOptions{Volumes: true, runtimeGone: true})
		return code, false, nil
	}
	m.teardown(c, rt)
	restart, _ := m.exited(c, code, false)
	return code, restart, nil
}

// teardown undoes prepare: the rootfs mount and the network.
func (m *Manager) teardown(c *Container, rt *runtime.Runtime) {
	unmountRootfs(m.dir(c.ID))
	m.cleanupNetwork(c)
}

func unmountRootfs(dir string) {
	rootfs := filepath.Join(dir, "rootfs")
	unix.Unmount(rootfs, unix.MNT_DETACH)
	unmountShm(dir)
	idmap.RemoveNamespace(filepath.Join(dir, usernsFileName))
}

// prepare mounts the rootfs and writes the bundle (config.json) and Docker's /etc files.
func (m *Manager) prepare(c *Container) error {
	dir := m.dir(c.ID)
	rootfs := filepath.Join(dir, "rootfs")
	if err := m.mountRootfs(c); err != nil {
		return err
	}
	usr, _, err := runtime.ResolveUser(rootfs, c.Config.User)
	if err != nil {
		return err
	}
	cwd := c.Config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	if cwd != "/" {
		// Docker creates a missing working directory, owned by root whatever the user (checked
		// with Docker 20.10). The rootfs is the container's (a previous run may have planted
		// symlinks): created on descriptors.
		root, err := archive.OpenRoot(rootfs)
		if err != nil {
			return err
		}
		uid, gid, _ := c.hostOwner(0, 0)
		err = root.MkdirAll(cwd, 0o755, uid, gid)
		root.Close()
		if err != nil {
			return fmt.Errorf("cannot create the working directory %s: %w", cwd, err)
		}
	}
	links, err := m.links(c)
	if err != nil {
		return err
	}
	netns, ip, err := m.setupNetwork(c)
	if err != nil {
		return err
	}
	if err := m.recordLinks(c, links); err != nil {
		return err
	}
	m.updateLinkers(c)
	var mounts []specs.Mount
	hostNet := netns == runtime.NetworkHost
	files, err := m.etcFiles(c, ip, hostNet)
	if err != nil {
		return err
	}
	for _, name := range []string{"resolv.conf", "hostname", "hosts"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		if c.IDMap != nil {
			// The container's root may edit them, as in Docker.
			uid, gid := c.IDMap.Root()
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}})
	}
	vols, err := m.volumeMounts(c, rootfs)
	if err != nil {
		return err
	}
	mounts = append(mounts, vols...)
	for dst, opts := range c.Host.Tmpfs {
		o := []string{"nosuid", "nodev", "noexec"}
		if opts != "" {
			o = append(o, strings.Split(opts, ",")...)
		}
		mounts = append(mounts, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: o})
	}
	args := append([]string{c.Path}, c.Args...)
	if c.Host.Init {
		// --init: Docker's way, its init (tini) bound read-only at /sbin/docker-init and run as
		// the container's PID 1 in front of the command, forwarding signals and reaping.
		bin, err := InitBinary()
		if err != nil {
			return err
		}
		mounts = append(mounts, specs.Mount{Destination: initPath, Type: "bind", Source: bin, Options: []string{"rbind", "ro", "rprivate"}})
		args = append([]string{initPath, "--"}, args...)
	}
	iso, err := m.resolveIsolation(c, rootfs)
	if err != nil {
		return err
	}
	mounts = append(mounts, iso.mounts...)
	usr.AdditionalGids = append(usr.AdditionalGids, iso.groups...)
	devices := iso.devices
	if c.Host.Privileged {
		// The host's devices as they are now, as Docker lists them at each start.
		if devices, err = runtime.HostDevices(); err != nil {
			return err
		}
	}
	sec, err := runtime.ParseSecurityOpts(c.Host.SecurityOpt)
	if err != nil {
		return err
	}
	var uidMap, gidMap []specs.LinuxIDMapping
	usernsPath, ownNetns := "", false
	if c.IDMap != nil {
		uidMap, gidMap = c.IDMap.Spec()
		if usernsPath, ownNetns, err = m.containerUserns(c, netns, iso.namespaces.IPC, iso.namespaces.PID); err != nil {
			return err
		}
		if !ownNetns && !hasMount(mounts, "/sys") {
			// Only an owner of the network namespace may mount sysfs: the host's /sys, read-only,
			// as runc gives rootless containers.
			mounts = append(mounts, specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys",
				Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}})
		}
	}
	if err := checkDeviceRequests(c.Host.DeviceRequests); err != nil {
		return err
	}
	spec, err := runtime.Spec(runtime.SpecOptions{
		Rootfs: "rootfs", Args: args, Env: m.processEnv(c), Cwd: cwd, User: usr,
		Hostname: c.Config.Hostname, Domainname: c.Config.Domainname, Terminal: c.Config.Tty,
		ReadOnly: c.Host.ReadonlyRootfs, Network: netns, Mounts: mounts,
		CapAdd: c.Host.CapAdd, CapDrop: c.Host.CapDrop, Privileged: c.Host.Privileged, Devices: devices,
		Memory: c.Host.Memory, MemorySwap: c.Host.MemorySwap, NanoCPUs: c.Host.NanoCPUs, PidsLimit: c.Host.PidsLimit, CgroupsPath: c.Host.CgroupsPath(c.ID),
		CPU: runtime.CPUOptions{Shares: c.Host.CPUShares, Period: c.Host.CPUPeriod, Quota: c.Host.CPUQuota,
			CpusetCpus: c.Host.CpusetCpus, CpusetMems: c.Host.CpusetMems,
			RealtimePeriod: c.Host.CPURealtimePeriod, RealtimeRuntime: c.Host.CPURealtimeRuntime},
		MemoryReservation: c.Host.MemoryReservation, KernelMemory: c.Host.KernelMemory,
		Security: sec, MaskedPaths: c.Host.MaskedPaths, ReadonlyPaths: c.Host.ReadonlyPaths,
		Sysctls: c.Host.Sysctls, Namespaces: iso.namespaces, DeviceRules: iso.rules, Rlimits: iso.rlimits,
		ShmSize: c.Host.ShmSize, OomScoreAdj: iso.oomAdj, UIDMappings: uidMap, GIDMappings: gidMap, UsernsPath: usernsPath,
		Rootless: rootless.Active(), RootlessMaxGID: rootless.MaxGID(),
	})
	if err != nil {
		return err
	}
	if c.IDMap != nil && !ownNetns {
		// Another container's network namespace, which this one's root may not change.
		for k := range spec.Linux.Sysctl {
			if strings.HasPrefix(k, "net.") {
				delete(spec.Linux.Sysctl, k)
			}
		}
	}
	if err := ApplyCgroupOptions(spec, c.ID, &c.Host); err != nil {
		return err
	}
	if c.Host.Runtime == "crun" {
		m.precompiledSeccomp(spec)
	}
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// maxMountData is the kernel's limit on mount options (one page, with its terminating NUL).
const maxMountData = 4095

// mountRootfs mounts the image's layers under the container's writable layer at rootfs/.
func (m *Manager) mountRootfs(c *Container) error {
	layers, err := m.imageLayers(c)
	if err != nil {
		return fmt.Errorf("image %s of container %s: %w", c.ImageID, c.ID, err)
	}
	chains := make([]digest.Digest, len(layers))
	for i, l := range layers {
		chains[i] = digest.Digest(l)
	}
	dir := m.dir(c.ID)
	rootfs := filepath.Join(dir, "rootfs")
	if c.Driver == driverCopy {
		return nil // rootfs/ is the container's own copy: nothing to mount
	}
	unmountRootfs(dir)
	if err := m.ensureInitLayer(); err != nil {
		return err
	}
	clearVolatile(dir)
	mounts := m.rootfsMounts(c.ID, chains)
	if c.Host.AutoRemove {
		// The writable layer of a --rm container goes with it: it needs no durability, and a
		// volatile overlay skips the sync of the whole upper filesystem that unmounting it
		// otherwise costs (milliseconds, far more while the disk is busy).
		if err := mountLayers(c, withVolatile(mounts), dir, rootfs); err == nil {
			return nil
		}
		clearVolatile(dir) // a kernel without volatile (before 5.10): the ordinary mount
	}
	return mountLayers(c, mounts, dir, rootfs)
}

// withVolatile adds overlayfs's volatile option to overlay mounts.
func withVolatile(mounts []layer.Mount) []layer.Mount {
	out := make([]layer.Mount, len(mounts))
	for i, mt := range mounts {
		out[i] = mt
		if mt.Type == "overlay" {
			out[i].Options = append(append([]string(nil), mt.Options...), "volatile")
		}
	}
	return out
}

// clearVolatile removes the mark a volatile mount leaves in its work directory, without which
// overlayfs refuses to mount the layer again. Only --rm containers are mounted volatile, and their
// writable layer is disposable.
func clearVolatile(dir string) {
	p := filepath.Join(dir, "work", "work", "incompat", "volatile")
	if _, err := os.Lstat(p); err == nil {
		os.RemoveAll(p)
	}
}

// rootfsMounts are the overlay mounts of a container: the layer store's stack with the container's
// init layer on top of the image's layers.
func (m *Manager) rootfsMounts(id string, chains []digest.Digest) []layer.Mount {
	dir := m.dir(id)
	init := m.initLayer(id)
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	if len(chains) == 0 {
		return []layer.Mount{{Type: "overlay", Source: "overlay", Options: []string{
			"index=off", "lowerdir=" + init, "upperdir=" + upper, "workdir=" + work}}}
	}
	mounts := m.Images.Layers.RootfsMounts(chains, upper, work)
	for i, mt := range mounts {
		for j, o := range mt.Options {
			if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
				mounts[i].Options = append([]string(nil), mt.Options...)
				mounts[i].Options[j] = "lowerdir=" + init + ":" + v
			}
		}
	}
	return mounts
}

func mountOverlay(mounts []layer.Mount, dir, rootfs string) error {
	var err error
	for _, mt := range mounts {
		data := strings.Join(mt.Options, ",")
		flags := uintptr(0)
		if mt.Type == "overlay" && rootless.Active() {
			// Inside a user namespace overlayfs keeps whiteout and opaque marks in user.overlay.*
			// (the layers were unpacked so), as it may not use trusted.* there.
			data += ",userxattr"
		}
		if mt.Type == "bind" {
			flags = unix.MS_BIND | unix.MS_REC
			data = ""
		} else if len(data) > maxMountData {
			if data, err = shortLowerdirs(filepath.Dir(filepath.Dir(dir)), mt.Options); err != nil {
				return err
			}
		}
		if err := unix.Mount(mt.Source, rootfs, mt.Type, flags, data); err != nil {
			if missing := missingMountDir(mt.Options); missing != "" {
				return fmt.Errorf("mounting the rootfs at %s: %s does not exist: a layer of the image is missing from the store; "+
					"run 'berth system check' to see what is damaged, then remove the image and pull or build it again", rootfs, missing)
			}
			return fmt.Errorf("mounting the rootfs at %s (%s): %w; berth needs overlayfs on the filesystem of its root directory", rootfs, mt.Type, err)
		}
	}
	return nil
}

// missingMountDir names the first lower, upper or work directory of overlay options that does
// not exist, so a damaged store is not reported as a kernel without overlayfs.
func missingMountDir(opts []string) string {
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		var dirs []string
		switch k {
		case "lowerdir":
			dirs = strings.Split(v, ":")
		case "upperdir", "workdir":
			dirs = []string{v}
		}
		for _, d := range dirs {
			if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
				return d
			}
		}
	}
	return ""
}

// shortLowerdirs keeps overlay options under the kernel's one-page limit for images with many
// layers, as Docker does with overlay2/l/: each lowerdir is reached through a short symlink,
// ROOT/l/<10 hex digits of its path's hash>, shared by every container and kept (they are tiny).
func shortLowerdirs(root string, opts []string) (string, error) {
	l := filepath.Join(root, "l")
	if err := os.MkdirAll(l, 0o700); err != nil {
		return "", err
	}
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o
		v, ok := strings.CutPrefix(o, "lowerdir=")
		if !ok {
			continue
		}
		var short []string
		for _, p := range strings.Split(v, ":") {
			link := filepath.Join(l, digest.FromString(p).Encoded()[:10])
			if t, err := os.Readlink(link); err != nil || t != p {
				os.Remove(link)
				if err := os.Symlink(p, link); err != nil && !os.IsExist(err) {
					return "", err
				}
			}
			short = append(short, link)
		}
		out[i] = "lowerdir=" + strings.Join(short, ":")
	}
	data := strings.Join(out, ",")
	if len(data) > maxMountData {
		return "", fmt.Errorf("too many layers to mount (%d bytes of overlay options)", len(data))
	}
	return data, nil
}

// procStart is a process's start time in clock ticks since boot (field 22 of /proc/PID/stat):
// with the PID it names one process for good, across PID reuse.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("bad stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func processAlive(pid int, start uint64) bool {
	s, err := procStart(pid)
	return err == nil && s == start
}

// reconcile checks a container whose record says a supervisor owns it: if that supervisor is
// gone (killed, machine rebooted), the runtime says whether the container still runs, and what
// the supervisor would have cleaned up is cleaned up.
func (m *Manager) reconcile(c *Container, st State) (State, error) {
	if st.SupervisorPid == 0 && !st.Running() {
		return st, nil
	}
	if st.SupervisorPid != 0 && processAlive(st.SupervisorPid, st.SupervisorStart) {
		return st, nil
	}
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		return st, nil
	}
	rs, err := rt.State(c.ID)
	if err == nil && (rs.Status == "running" || rs.Status == "paused") {
		// The container outlived its supervisor: it keeps running (its output is lost), and
		// stop, kill and rm still reach it through the runtime.
		return m.updateState(c.ID, func(s *State) error {
			s.Status, s.Pid = rs.Status, rs.Pid
			s.SupervisorPid, s.SupervisorStart = 0, 0
			return nil
		})
	}
	// The supervisor died: orphans of its set-up may still be at work, and its runtime state,
	// cgroup and network may be half made. All of it goes.
	m.sweepSideEffects(c)
	m.teardown(c, rt)
	died := false // this process recorded the end nobody saw: it writes the die event
	ns, err := m.updateState(c.ID, func(s *State) error {
		died = false
		if s.SupervisorPid != st.SupervisorPid || s.Status != st.Status {
			return errRaced
		}
		if s.Restarting() {
			// It had exited and waited to be restarted: no one will now.
			s.Status = "exited"
		} else if s.Running() || !s.StartedAt.IsZero() && s.Status == "created" {
			// No one saw it end: say so, rather than leave a bare 255 to puzzle over.
			s.Status, s.ExitCode, s.FinishedAt = "exited", 255, time.Now().UTC()
			s.Error = supervisorGoneError(st.SupervisorPid)
			died = st.Running()
		}
		if s.Health != nil {
			s.Health.Status = HealthUnhealthy
		}
		s.Pid, s.SupervisorPid, s.SupervisorStart = 0, 0, 0
		return nil
	})
	if errors.Is(err, errRaced) || errors.Is(err, metadata.ErrNotFound) {
		_, st, err := m.getState(c.ID)
		return st, err
	}
	if err == nil && died {
		// Once only: the state changed in the same transaction, so whoever looks next finds
		// the container exited with no supervisor and has nothing to reconcile.
		m.dieEvents(c, 255)
	}
	if err == nil && c.Host.AutoRemove && !ns.Running() {
		// Docker removes a --rm container when it ends, whoever was watching it; its
		// supervisor (a killed `run --rm`) is gone, so whoever sees it ended first removes it.
		if m.remove(c, RemoveOptions{Volumes: true, runtimeGone: true}) == nil {
			return ns, NotFoundError{c.ID}
		}
	}
	return ns, err
}

var errRaced = errors.New("state changed meanwhile")

// errTearingDown: the container exited and its supervisor still tears it down.
var errTearingDown = errors.New("container is being torn down")

// supervisorGoneError is State.Error of a container that ended with no supervisor to record
// its exit (its shim, or the foreground berth run, was killed): 255 stands for "unknown".
func supervisorGoneError(pid int) string {
	who := "its supervisor (the berth shim or foreground 'berth run' that records its exit)"
	if pid != 0 {
		who = fmt.Sprintf("its supervisor (pid %d, the berth shim or foreground 'berth run' that records its exit)", pid)
	}
	return who + " was killed or died before the container ended, so its exit status is unknown (reported as 255); " +
		"its output after that point was not logged"
}

func (m *Manager) getState(id string) (*Container, State, error) {
	var row metadata.Container
	err := m.Images.DB.View(func(tx *metadata.Tx) error {
		var err error
		row, err = tx.Container(id)
		return err
	})
	if errors.Is(err, metadata.ErrNotFound) {
		return nil, State{}, NotFoundError{id}
	}
	if err != nil {
		return nil, State{}, err
	}
	return fromRow(row)
}

// waitExec returns once the container whose runtime writes its init's PID to pidFile runs its
// command (the init is no longer the runtime's "runc:[2:INIT]" or crun's), or when done or
// canceled is closed. ran says that the command was seen running (false also when the init was
// gone before it was seen).
func waitExec(pidFile string, done, canceled <-chan struct{}) (ran bool) {
	pause := time.Millisecond
	for {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
				if err != nil {
					return false
				}
				if name := strings.TrimSpace(string(comm)); !strings.HasPrefix(name, "runc:") && name != "crun" {
					return true
				}
			}
		}
		select {
		case <-done:
			return false
		case <-canceled:
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
}
