package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// An interactive exec on a terminal (`exec -it`) is held by a process of its own, `berth
// exec-shim`, started in a session of its own: it holds the process's terminal and outlives the
// client, so the detach keys (or a killed client) leave the process running, as Docker's daemon
// does. The client talks to it over two socket pairs: data (the terminal's bytes both ways) and
// control (the request, resizes, then the result).

// execHoldRequest is the exec a client asks its holder for (control's first line).
type execHoldRequest struct {
	Ref        string    `json:"ref"`
	Cmd        []string  `json:"cmd"`
	Env        []string  `json:"env,omitempty"`
	User       string    `json:"user,omitempty"`
	WorkingDir string    `json:"workingDir,omitempty"`
	Privileged bool      `json:"privileged,omitempty"`
	Size       [2]uint16 `json:"size"` // height, width; 0 0 unknown
	// Detach (exec -d): the holder answers once the process runs and waits for its end, with
	// the terminal only if Tty; the data socket is not used.
	Detach bool `json:"detach,omitempty"`
	Tty    bool `json:"tty,omitempty"`
}

// execHoldResize is a client's later control line: its terminal's new size.
type execHoldResize struct {
	Resize [2]uint16 `json:"resize"`
}

// execHoldResult is the holder's last control line.
type execHoldResult struct {
	Code      int    `json:"code"`
	Error     string `json:"error,omitempty"`
	StartCode int    `json:"startCode,omitempty"` // the error was a StartError with this code
	Stderr    string `json:"stderr,omitempty"`    // what the runtime said on stderr
}

// ExecHeld is Exec for an interactive exec on a terminal (Tty, Stdin, not Detach): the process's
// terminal is held by an exec-shim, so that when the client detaches (o.DetachKeys: o.Detached is
// called and ExecHeld returns ErrDetached) or dies, the process runs on.
func (m *Manager) ExecHeld(ref string, o ExecOptions) (int, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, err
	}
	if !st.Running() {
		// Exec's own refusals, with its words, without starting a holder.
		return m.Exec(c.ID, o)
	}
	dataOurs, dataTheirs, err := socketPair()
	if err != nil {
		return 0, err
	}
	defer dataOurs.Close()
	ctrlOurs, ctrlTheirs, err := socketPair()
	if err != nil {
		dataTheirs.Close()
		return 0, err
	}
	defer ctrlOurs.Close()
	req := execHoldRequest{Ref: c.ID, Cmd: o.Cmd, Env: o.Env, User: o.User, WorkingDir: o.WorkingDir, Privileged: o.Privileged}
	if o.ConsoleSize != nil {
		req.Size = [2]uint16{uint16(o.ConsoleSize[0]), uint16(o.ConsoleSize[1])}
	} else if h, w, ok := terminalSize(o.Stdin, o.Stdout); ok {
		req.Size = [2]uint16{h, w}
	}
	if err := m.startExecShim(c.ID, req, ctrlOurs, ctrlTheirs, dataTheirs); err != nil {
		return 0, err
	}

	// Resizes of the client's terminal go on to the holder.
	var ctrlMu sync.Mutex
	if f, ok := o.Stdin.(*os.File); ok {
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if h, w, ok := terminalSize(f, o.Stdout); ok {
					b, _ := json.Marshal(execHoldResize{Resize: [2]uint16{h, w}})
					ctrlMu.Lock()
					ctrlOurs.Write(append(b, '\n'))
					ctrlMu.Unlock()
				}
			}
		}()
	}
	detached := make(chan struct{})
	if o.Stdin != nil {
		go func() {
			var err error
			if len(o.DetachKeys) > 0 {
				err = copyEscapable(dataOurs, o.Stdin, o.DetachKeys)
			} else {
				_, err = io.Copy(dataOurs, o.Stdin)
			}
			if errors.Is(err, ErrDetached) {
				close(detached)
				if o.Detached != nil {
					o.Detached()
				}
			}
		}()
	}
	out := &cutWriter{w: o.Stdout}
	copied := make(chan struct{})
	go func() { io.Copy(out, dataOurs); close(copied) }()
	resc := make(chan execHoldResult, 1)
	go func() {
		var res execHoldResult
		line, err := bufio.NewReader(ctrlOurs).ReadBytes('\n')
		if err != nil || json.Unmarshal(line, &res) != nil {
			res = execHoldResult{Code: -1, Error: fmt.Sprintf("container %s: the exec's supervisor ended without its result", c.ID)}
		}
		resc <- res
	}()
	var res execHoldResult
	select {
	case <-detached:
		out.cut()
		return 0, ErrDetached
	case res = <-resc:
	}
	select {
	case <-copied: // the holder closes the data socket as it ends
	case <-time.After(2 * time.Second):
	}
	return res.result(o.Stderr)
}

// result is the holder's result as Exec returns it, the runtime's words written to stderr.
func (res execHoldResult) result(stderr io.Writer) (int, error) {
	if res.Stderr != "" && stderr != nil {
		io.WriteString(stderr, res.Stderr)
	}
	switch {
	case res.Error == "":
		return res.Code, nil
	case res.StartCode != 0:
		return 0, &StartError{Code: res.StartCode, Err: errors.New(res.Error)}
	default:
		return 0, errors.New(res.Error)
	}
}

// startExecShim starts `berth exec-shim` in a session of its own for container id, with req
// written on the control socket (ours, theirs) and data (theirs) as its fd 4. It closes the
// shim's ends.
func (m *Manager) startExecShim(id string, req execHoldRequest, ctrlOurs, ctrlTheirs, dataTheirs *os.File) error {
	defer dataTheirs.Close()
	defer ctrlTheirs.Close()
	b, _ := json.Marshal(req)
	if _, err := ctrlOurs.Write(append(b, '\n')); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "--root", m.Images.Root, "exec-shim")
	cmd.ExtraFiles = []*os.File{ctrlTheirs, dataTheirs} // fds 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = os.Environ()
	if f, err := os.OpenFile(filepath.Join(m.dir(id), "shim.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		defer f.Close()
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reaped if it ends while this client runs
	return nil
}

// ExecDetached is Exec with Detach (`berth exec -d`): an exec-shim runs the process and waits
// for it, so that its exec_die comes with the exit code as Docker's daemon writes it, and
// ExecDetached returns once the process runs (or with the runtime's refusal, as Exec).
func (m *Manager) ExecDetached(ref string, o ExecOptions) (int, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, err
	}
	if !st.Running() || st.Status == "paused" || st.Restarting() {
		// Exec's own refusals, with its words, without starting a holder.
		return m.Exec(c.ID, o)
	}
	if err := checkWorkingDir(o.WorkingDir); err != nil {
		return 0, err
	}
	dataOurs, dataTheirs, err := socketPair()
	if err != nil {
		return 0, err
	}
	dataOurs.Close()
	ctrlOurs, ctrlTheirs, err := socketPair()
	if err != nil {
		dataTheirs.Close()
		return 0, err
	}
	defer ctrlOurs.Close()
	req := execHoldRequest{Ref: c.ID, Cmd: o.Cmd, Env: o.Env, User: o.User, WorkingDir: o.WorkingDir,
		Privileged: o.Privileged, Detach: true, Tty: o.Tty}
	if err := m.startExecShim(c.ID, req, ctrlOurs, ctrlTheirs, dataTheirs); err != nil {
		return 0, err
	}
	var res execHoldResult
	line, err := bufio.NewReader(ctrlOurs).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &res) != nil {
		res = execHoldResult{Code: -1, Error: fmt.Sprintf("container %s: the exec's supervisor ended without its result", c.ID)}
	}
	return res.result(o.Stderr)
}

// ExecShim is the body of `berth exec-shim`: it reads the request on ctrl, runs the exec with the
// data socket as its terminal's client, and writes the result on ctrl. Once the client has gone,
// the terminal's output is read on and dropped, so the process never blocks on it.
func (m *Manager) ExecShim(ctrl, data *os.File) error {
	defer ctrl.Close()
	defer data.Close()
	r := bufio.NewReader(ctrl)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("exec-shim: no request: %w", err)
	}
	var req execHoldRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return fmt.Errorf("exec-shim: bad request: %w", err)
	}
	var stderr bytes.Buffer
	if req.Detach {
		return m.execShimDetached(ctrl, req, &stderr)
	}
	o := ExecOptions{
		Cmd: req.Cmd, Env: req.Env, User: req.User, WorkingDir: req.WorkingDir, Privileged: req.Privileged,
		Tty: true, Stdin: data, Stdout: &cutWriter{w: data}, Stderr: &stderr,
	}
	if req.Size[0] > 0 && req.Size[1] > 0 {
		o.ConsoleSize = &[2]uint{uint(req.Size[0]), uint(req.Size[1])}
	}
	o.Started = func(_ int, resize func(h, w uint16) error) {
		if resize == nil {
			return
		}
		if req.Size[0] > 0 && req.Size[1] > 0 {
			resize(req.Size[0], req.Size[1])
		}
		go func() {
			for {
				line, err := r.ReadBytes('\n')
				if err != nil {
					return
				}
				var rs execHoldResize
				if json.Unmarshal(line, &rs) == nil && rs.Resize[0] > 0 && rs.Resize[1] > 0 {
					resize(rs.Resize[0], rs.Resize[1])
				}
			}
		}()
	}
	code, err := m.Exec(req.Ref, o)
	b, _ := json.Marshal(holdResult(code, err, &stderr))
	ctrl.Write(append(b, '\n')) // the client may have gone: nobody to tell
	return nil
}

// execShimDetached runs a detached exec (ExecDetached) in the holder: the result line goes out
// as soon as the process runs, with Exec's refusal if it could not start; Exec writes its
// exec_die once it has ended.
func (m *Manager) execShimDetached(ctrl *os.File, req execHoldRequest, stderr *bytes.Buffer) error {
	var once sync.Once
	answer := func(res execHoldResult) {
		once.Do(func() {
			b, _ := json.Marshal(res)
			ctrl.Write(append(b, '\n'))
		})
	}
	o := ExecOptions{
		Cmd: req.Cmd, Env: req.Env, User: req.User, WorkingDir: req.WorkingDir, Privileged: req.Privileged,
		Tty: req.Tty, Stdout: io.Discard, Stderr: stderr,
	}
	o.Started = func(pid int, _ func(h, w uint16) error) {
		if pid <= 0 {
			return // it ended before the runtime told its pid: Exec's result says how
		}
		if waitExecd(pid) {
			answer(execHoldResult{})
		} // else it has ended already: Exec's result says how
	}
	o.failed = new(string)
	code, err := m.Exec(req.Ref, o)
	switch {
	case err == nil && *o.failed != "":
		// The runtime could not start it: Docker's daemon refuses the detached start with
		// its words (the CLI exits 1).
		answer(execHoldResult{Code: -1, Error: dockerExecFailure(*o.failed)})
	case err == nil:
		// It ran and ended before its pid was seen: exec -d's answer is that it started.
		answer(execHoldResult{})
	default:
		answer(holdResult(code, err, stderr)) // Exec's refusal
	}
	return nil
}

// waitExecd waits (up to 2 s) until process pid has exec'd its command, and says whether it
// runs (false: it is gone, started or not). A detached exec is answered as dockerd answers it,
// once the runtime has started the command or failed to (crun returns before the exec; runc only
// after, or with its refusal).
func waitExecd(pid int) bool {
	giveUp := time.Now().Add(2 * time.Second)
	for time.Now().Before(giveUp) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			return false
		}
		if name := strings.TrimSpace(string(comm)); !strings.HasPrefix(name, "runc:") && name != "crun" {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// holdResult is the result line of an exec the holder ran: its exit code, what it wrote on
// stderr, and Exec's error with the start's exit code when it could not start.
func holdResult(code int, err error, stderr *bytes.Buffer) execHoldResult {
	res := execHoldResult{Code: code, Stderr: stderr.String()}
	if err != nil {
		res.Error = err.Error()
		var se *StartError
		if errors.As(err, &se) {
			res.StartCode = se.Code
		}
	}
	return res
}

// socketPair is a connected pair of stream sockets, close-on-exec.
func socketPair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "exec-hold"), os.NewFile(uintptr(fds[1]), "exec-hold-shim"), nil
}

// terminalSize is the size of the first of ends that is a terminal.
func terminalSize(ends ...any) (uint16, uint16, bool) {
	for _, e := range ends {
		if f, ok := e.(*os.File); ok {
			if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 && ws.Col > 0 {
				return ws.Row, ws.Col, true
			}
		}
	}
	return 0, 0, false
}
