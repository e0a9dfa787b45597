package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Runtime drives an OCI runtime binary (runc or crun) with its state kept under StateDir, so
// berth's containers never mix with another engine's.
type Runtime struct {
	Binary   string // "runc" or "crun", or a path
	StateDir string // passed as --root
}

// New finds the runtime binary on PATH.
func New(name, stateDir string) (*Runtime, error) {
	if name == "" {
		name = "runc"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("OCI runtime %q not found on PATH: install it (Debian: apt-get install %s)", name, name)
	}
	return &Runtime{Binary: path, StateDir: stateDir}, nil
}

func (r *Runtime) command(logFile string, args ...string) *exec.Cmd {
	base := []string{"--root", r.StateDir}
	if logFile != "" {
		base = append(base, "--log", logFile, "--log-format", "json")
	}
	return exec.Command(r.Binary, append(base, args...)...)
}

// Stdio are the files the container's process gets as fd 0, 1 and 2 (nil: /dev/null).
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
	// OwnGroup runs the runtime in a process group of its own, out of reach of the terminal's
	// signals (RunAttached; for a caller that stops the container itself when interrupted).
	OwnGroup bool
}

// CreateError is the runtime refusing to create a container; Msg is the runtime's own last error
// line ("runc create failed: unable to start container process: exec: ...").
type CreateError struct{ Msg string }

func (e *CreateError) Error() string { return "OCI runtime create failed: " + e.Msg }

// ExitCode classifies a failed create the way Docker does: 127 when the command is not found,
// 126 when it cannot be invoked, 125 otherwise.
func (e *CreateError) ExitCode() int {
	m := strings.ToLower(e.Msg)
	switch {
	case strings.Contains(m, "executable file not found"), strings.Contains(m, "no such file or directory"):
		return 127
	case strings.Contains(m, "permission denied"), strings.Contains(m, "exec format error"),
		strings.Contains(m, "is a directory"), strings.Contains(m, "not a directory"):
		return 126
	}
	return 125
}

// Create creates the container from bundle/config.json; its process waits for Start. The
// process inherits stdio; with a terminal, consoleSocket receives the pty master. The container's
// init PID is returned (it is not a child of the caller: make the caller a subreaper to wait for it).
func (r *Runtime) Create(id, bundle string, stdio Stdio, consoleSocket string) (int, error) {
	return r.create([]string{"create"}, id, bundle, stdio, consoleSocket)
}

// RunDetached creates and starts the container in one runtime invocation (`run --detach`), the
// fastest way to a running container: one runtime process instead of two. Like Create it returns
// the init PID, which is not a child of the caller.
func (r *Runtime) RunDetached(id, bundle string, stdio Stdio, consoleSocket string) (int, error) {
	return r.create([]string{"run", "--detach"}, id, bundle, stdio, consoleSocket)
}

func (r *Runtime) create(verb []string, id, bundle string, stdio Stdio, consoleSocket string) (int, error) {
	logFile := filepath.Join(bundle, "runtime.log")
	pidFile := filepath.Join(bundle, "init.pid")
	os.Remove(logFile)
	args := append(verb, "--bundle", bundle, "--pid-file", pidFile)
	if consoleSocket != "" {
		args = append(args, "--console-socket", consoleSocket)
	}
	cmd := r.command(logFile, append(args, id)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	if stdio.Stdin == nil {
		cmd.Stdin = nil
	}
	if stdio.Stdout == nil {
		cmd.Stdout = nil
	}
	if stdio.Stderr == nil {
		cmd.Stderr = nil
	}
	if err := cmd.Run(); err != nil {
		return 0, &CreateError{Msg: r.dockerMessage(lastError(logFile, err), filepath.Join(bundle, "config.json"), false)}
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// lastError is the last error-level message of a runtime's JSON log, or err's text.
func lastError(logFile string, err error) string {
	f, ferr := os.Open(logFile)
	if ferr != nil {
		return err.Error()
	}
	defer f.Close()
	msg := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") && e.Msg != "" {
			msg = e.Msg
		}
	}
	if msg == "" {
		return err.Error()
	}
	return msg
}

func (r *Runtime) run(args ...string) error {
	cmd := r.command("", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return errors.New(msg)
		}
		return err
	}
	return nil
}

// Resources are the limits Update changes in a running container (nil: unchanged).
type Resources struct {
	Memory, MemorySwap, PidsLimit *int64
	CPUQuota                      *int64
	CPUPeriod                     *uint64
	CPUShares                     *uint64
	CpusetCpus, CpusetMems        *string
}

// Update changes a running container's cgroup limits (`runc update`; crun takes the same flags).
func (r *Runtime) Update(id string, res Resources) error {
	var args []string
	add := func(flag string, v any) { args = append(args, fmt.Sprintf("--%s=%v", flag, v)) }
	if res.Memory != nil {
		add("memory", *res.Memory)
	}
	if res.MemorySwap != nil {
		add("memory-swap", *res.MemorySwap)
	}
	if res.CPUPeriod != nil {
		add("cpu-period", *res.CPUPeriod)
	}
	if res.CPUQuota != nil {
		add("cpu-quota", *res.CPUQuota)
	}
	if res.PidsLimit != nil {
		add("pids-limit", *res.PidsLimit)
	}
	if res.CPUShares != nil {
		add("cpu-share", *res.CPUShares)
	}
	if res.CpusetCpus != nil {
		add("cpuset-cpus", *res.CpusetCpus)
	}
	if res.CpusetMems != nil {
		add("cpuset-mems", *res.CpusetMems)
	}
	if len(args) == 0 {
		return nil
	}
	return r.run(append(append([]string{"update"}, args...), id)...)
}

// Start runs the created container's process.
func (r *Runtime) Start(id string) error { return r.run("start", id) }

// Kill sends sig to the container's init (all: to every process in it).
func (r *Runtime) Kill(id string, sig syscall.Signal, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	return r.run(append(args, id, strconv.Itoa(int(sig)))...)
}

// Delete removes the runtime's record of the container (force: kill it first).
func (r *Runtime) Delete(id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	return r.run(append(args, id)...)
}

// DeleteExited is Delete for a container whose init has exited and been reaped by the caller
// (its supervisor). All the runtime keeps of such a container is its cgroup (cgroupsPath, the
// spec's) and its state directory (berth's specs have no hooks for delete to run): both are
// removed here, the cgroup first as the runtime does, which spares a runtime process on the
// way out of every container (crun's delete costs 6 ms of CPU, two execs of itself). What still
// runs in the cgroup (a container sharing the host's PID namespace leaves its other processes)
// is killed, as `delete --force` does; a cgroup that cannot be removed falls back to the
// runtime's own delete.
func (r *Runtime) DeleteExited(id, cgroupsPath string) error {
	if id == "" || strings.ContainsAny(id, "/.") {
		return fmt.Errorf("invalid container ID %q", id)
	}
	if left := RemoveCgroup(cgroupsPath); len(left) > 0 {
		return r.Delete(id, true)
	}
	return os.RemoveAll(filepath.Join(r.StateDir, id))
}

// State is the runtime's view of a container.
type State struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"` // creating, created, running, stopped, paused
	Bundle string `json:"bundle"`
}

// ErrNotExist is returned by State for a container the runtime does not know.
var ErrNotExist = errors.New("container does not exist in the runtime")

// State asks the runtime about a container.
func (r *Runtime) State(id string) (State, error) {
	var st State
	cmd := r.command("", "state", id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// runc: "container ... does not exist"; crun: "error opening file `ROOT/ID/status`: No
		// such file or directory" (a container it never had, or just deleted).
		msg := stderr.String()
		if strings.Contains(msg, "does not exist") || strings.Contains(msg, "not found") ||
			strings.Contains(msg, "/status`: No such file or directory") {
			return st, ErrNotExist
		}
		return st, fmt.Errorf("%s state %s: %v: %s", filepath.Base(r.Binary), id, err, strings.TrimSpace(stderr.String()))
	}
	return st, json.Unmarshal(out, &st)
}

// Pause and Resume freeze and thaw every process of the container.
func (r *Runtime) Pause(id string) error  { return r.run("pause", id) }
func (r *Runtime) Resume(id string) error { return r.run("resume", id) }

// Pids lists the host PIDs of the container's processes.
func (r *Runtime) Pids(id string) ([]int, error) {
	out, err := r.command("", "ps", "--format", "json", id).Output()
	if err != nil {
		return nil, err
	}
	var pids []int
	return pids, json.Unmarshal(out, &pids)
}

// Exec starts an extra process (process.json is an OCI Process) in a running container and returns
// the command, started; its stdio are the given files. With detach the runtime returns at once
// and the process's PID is written to pidFile.
func (r *Runtime) Exec(id, processFile, pidFile string, stdio Stdio, detach bool, consoleSocket string) (*exec.Cmd, error) {
	args := []string{"exec", "--process", processFile}
	if pidFile != "" {
		args = append(args, "--pid-file", pidFile)
	}
	if detach {
		args = append(args, "--detach")
	}
	if consoleSocket != "" {
		args = append(args, "--tty", "--console-socket", consoleSocket)
	}
	// With a log file runc writes a failure to stderr as one plain line (not a logrus record).
	cmd := r.command(processFile+".log", append(args, id)...)
	if stdio.Stdin != nil {
		cmd.Stdin = stdio.Stdin
	}
	if stdio.Stdout != nil {
		cmd.Stdout = stdio.Stdout
	}
	if stdio.Stderr != nil {
		cmd.Stderr = stdio.Stderr
	}
	return cmd, cmd.Start()
}

// RunAttached starts `run` in the foreground: the runtime creates and starts the container, waits
// for its process (forwarding the signals it gets) and removes it when the process exits, so no
// `delete` is needed. The process exits with the container's status; whether the runtime itself
// failed is told by Failure. The container's init PID is written to bundle/init.pid.
func (r *Runtime) RunAttached(id, bundle string, stdio Stdio) (*exec.Cmd, error) {
	logFile := filepath.Join(bundle, "runtime.log")
	os.Remove(logFile)
	cmd := r.command(logFile, "run", "--bundle", bundle, "--pid-file", filepath.Join(bundle, "init.pid"), id)
	if stdio.Stdin != nil {
		cmd.Stdin = stdio.Stdin
	}
	if stdio.Stdout != nil {
		cmd.Stdout = stdio.Stdout
	}
	if stdio.Stderr != nil {
		cmd.Stderr = stdio.Stderr
	}
	if stdio.OwnGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	return cmd, cmd.Start()
}

// ExecFailure is the runtime's own error from an exec of processFile (Exec), in Docker's words
// ("" when it had none: a non-zero exit was then the process's).
func (r *Runtime) ExecFailure(processFile string) string {
	msg := lastError(processFile+".log", errors.New(""))
	if msg == "" {
		return ""
	}
	return r.dockerMessage(msg, processFile, true)
}

// Failure is the runtime's own error from its last create/run in bundle, "" when it had none
// (a non-zero exit was then the container's).
func (r *Runtime) Failure(bundle string) *CreateError {
	msg := lastError(filepath.Join(bundle, "runtime.log"), errors.New(""))
	if msg == "" {
		return nil
	}
	return &CreateError{Msg: r.dockerMessage(msg, filepath.Join(bundle, "config.json"), false)}
}
