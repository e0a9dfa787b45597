package container

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Execs are the exec instances of a long-lived process (the Engine API's exec create / start /
// inspect / resize): like Docker's daemon, which keeps them in memory, and like `berth exec`,
// whose process lives in the berth process that runs it, an instance lives in the serving
// process only. It is created against a running container, started once, and its record (exit
// code included) is kept until execGC after it ended, as Docker keeps it.
type Execs struct {
	mu sync.Mutex
	m  map[string]*execInstance
}

// ExecConfig is what an exec instance runs (Docker's exec create body).
type ExecConfig struct {
	Cmd         []string
	Env         []string
	User        string
	WorkingDir  string
	Tty         bool
	Privileged  bool
	AttachStdin bool
	// AttachStdout and AttachStderr: streams not attached are discarded.
	AttachStdout, AttachStderr bool
	DetachKeys                 string
	ConsoleSize                *[2]uint // [height, width] of the terminal at the start
}

// ExecState is an instance as Docker's exec inspect shows it.
type ExecState struct {
	ID          string
	ContainerID string
	Config      ExecConfig
	Running     bool
	ExitCode    *int
	Pid         int
	CanRemove   bool
}

type execInstance struct {
	ExecState
	started bool
	ended   time.Time
	resize  func(h, w uint16) error
	running chan struct{} // closed once the process runs (or could not be started)
}

// ExecNotFoundError is an exec ID no instance has (Docker's wording).
type ExecNotFoundError struct{ ID string }

func (e ExecNotFoundError) Error() string { return "No such exec instance: " + e.ID }

// execGC is how long an ended instance stays inspectable (Docker's exec GC runs every five
// minutes and removes what ended before the previous run).
const execGC = 5 * time.Minute

// Create records an exec instance for a running container and returns its ID.
func (x *Execs) Create(m *Manager, ref string, cfg ExecConfig) (string, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return "", err
	}
	if len(cfg.Cmd) == 0 {
		return "", errNoExecCommand
	}
	switch {
	case st.Status == "paused":
		return "", ConflictError{fmt.Sprintf("Container %s is paused, unpause the container before exec", c.ID)}
	case st.Restarting():
		return "", errRestarting(c.ID)
	case !st.Running():
		return "", ConflictError{fmt.Sprintf("Container %s is not running", c.ID)}
	}
	if cfg.DetachKeys != "" {
		if _, err := ParseDetachKeys(cfg.DetachKeys); err != nil {
			return "", InvalidExecError{fmt.Sprintf("Invalid escape keys (%s) provided", cfg.DetachKeys)}
		}
	}
	id := newID()
	// Docker's exec_create is written when the instance is made (exec_start when it starts).
	defer m.event("exec_create: "+execEventLine(cfg.Cmd), c, map[string]string{"execID": id})
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[string]*execInstance{}
	}
	now := time.Now()
	for k, in := range x.m {
		if !in.ended.IsZero() && now.Sub(in.ended) > execGC {
			delete(x.m, k)
		}
	}
	x.m[id] = &execInstance{ExecState: ExecState{ID: id, ContainerID: c.ID, Config: cfg}, running: make(chan struct{})}
	return id, nil
}

// errNoExecCommand is Docker's refusal of an exec without a command.
var errNoExecCommand = InvalidExecError{"No exec command specified"}

// InvalidExecError is a bad exec request (Docker's 400).
type InvalidExecError struct{ Msg string }

func (e InvalidExecError) Error() string { return e.Msg }

// Inspect returns a snapshot of an instance.
func (x *Execs) Inspect(id string) (ExecState, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	in, ok := x.m[id]
	if !ok {
		return ExecState{}, ExecNotFoundError{id}
	}
	st := in.ExecState
	if st.ExitCode != nil {
		c := *st.ExitCode
		st.ExitCode = &c
	}
	return st, nil
}

// ExecStreams are the client's streams of a started instance (nil: not attached). Detach starts
// it in the background.
type ExecStreams struct {
	Detach         bool
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Detached is called when the client typed the detach keys (a terminal with stdin).
	Detached    func()
	ConsoleSize *[2]uint
}

// Start runs an instance: once only (Docker's 409 for an instance running or that ran). It
// returns when the process ends (its exit code, also recorded), or once it runs with Detach.
func (x *Execs) Start(m *Manager, id string, s ExecStreams) (int, error) {
	x.mu.Lock()
	in, ok := x.m[id]
	if !ok {
		x.mu.Unlock()
		return 0, ExecNotFoundError{id}
	}
	switch {
	case in.ExitCode != nil:
		x.mu.Unlock()
		return 0, ConflictError{fmt.Sprintf("Error: Exec command %s has already run", id)}
	case in.started:
		x.mu.Unlock()
		return 0, ConflictError{fmt.Sprintf("Error: Exec command %s is already running", id)}
	}
	in.started = true
	cfg, containerID := in.Config, in.ContainerID
	x.mu.Unlock()

	size := cfg.ConsoleSize
	if s.ConsoleSize != nil {
		size = s.ConsoleSize
	}
	o := ExecOptions{
		Cmd: cfg.Cmd, Env: cfg.Env, User: cfg.User, WorkingDir: cfg.WorkingDir, Tty: cfg.Tty,
		Privileged: cfg.Privileged, Stdout: io.Discard, Stderr: io.Discard, ConsoleSize: size, execID: id,
	}
	if cfg.AttachStdin && s.Stdin != nil {
		o.Stdin = s.Stdin
	}
	if cfg.AttachStdout && s.Stdout != nil {
		o.Stdout = s.Stdout
	}
	if cfg.AttachStderr && s.Stderr != nil {
		o.Stderr = s.Stderr
	}
	if cfg.Tty && o.Stdin != nil && s.Detached != nil {
		o.DetachKeys = DefaultDetachKeys
		if cfg.DetachKeys != "" {
			o.DetachKeys, _ = ParseDetachKeys(cfg.DetachKeys)
		}
		o.Detached = s.Detached
	}
	running := in.running
	execd := make(chan struct{}) // a detached start's answer: the command runs
	o.Started = func(pid int, resize func(h, w uint16) error) {
		if resize != nil && size != nil {
			resize(uint16(size[0]), uint16(size[1]))
		}
		if s.Detach && pid > 0 && waitExecd(pid) {
			close(execd) // else it has ended already: run's result says how
		}
		x.mu.Lock()
		in.Running, in.Pid, in.resize = true, pid, resize
		x.mu.Unlock()
		close(running)
	}
	if !s.Detach {
		return x.run(m, in, containerID, o)
	}
	// Detached: the process runs in the background of this process, its output dropped. A
	// command the runtime cannot start is dockerd's refused start, with its words (exit code
	// 126 in the instance).
	o.Stdin, o.Stdout, o.Stderr = nil, io.Discard, io.Discard
	o.failed = new(string)
	failed := make(chan error, 1)
	go func() {
		_, err := x.run(m, in, containerID, o)
		if err == nil && *o.failed != "" {
			err = &StartError{Code: 126, Err: errors.New(dockerExecFailure(*o.failed))}
		}
		failed <- err
	}()
	select {
	case <-execd:
		return 0, nil
	case err := <-failed:
		return 0, err
	}
}

// run runs the process and records its end.
func (x *Execs) run(m *Manager, in *execInstance, containerID string, o ExecOptions) (int, error) {
	code, err := m.Exec(containerID, o)
	x.mu.Lock()
	defer x.mu.Unlock()
	in.Running, in.resize, in.ended = false, nil, time.Now()
	select {
	case <-in.running:
	default:
		close(in.running) // it never ran
	}
	if err != nil {
		c := 126
		var se *StartError
		if errors.As(err, &se) {
			c = se.Code
		}
		in.ExitCode = &c
		return c, err
	}
	in.ExitCode = &code
	return code, nil
}

// Resize sets the size of a running instance's terminal. A resize that comes while the instance
// is being started (clients resize right after they start it) waits for it to run, up to ten
// seconds, as in Docker.
func (x *Execs) Resize(id string, height, width uint16) error {
	x.mu.Lock()
	in, ok := x.m[id]
	x.mu.Unlock()
	if !ok {
		return ExecNotFoundError{id}
	}
	select {
	case <-in.running:
	case <-time.After(10 * time.Second):
		return errors.New("timeout waiting for exec session ready")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !in.Running {
		return ConflictError{fmt.Sprintf("Exec %s is not running", id)}
	}
	if in.resize == nil {
		return nil // no terminal: nothing to resize, as dockerd
	}
	return in.resize(height, width)
}

// Of lists the IDs of a container's instances (inspect's ExecIDs), running ones only as Docker
// lists them.
func (x *Execs) Of(containerID string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var ids []string
	for id, in := range x.m {
		if in.ContainerID == containerID && in.ExitCode == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
