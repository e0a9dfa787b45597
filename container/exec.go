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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/rootless"
	"github.com/berth-engine/berth/runtime"
	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecOptions are `exec`'s flags.
type ExecOptions struct {
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	Detach     bool
	Tty        bool      // a pseudo-terminal (-t)
	Stdin      io.Reader // nil: no -i
	Stdout     io.Writer
	Stderr     io.Writer
	// Privileged gives the process every capability (exec --privileged).
	Privileged bool
	// Started, if set, is told the process's pid once it runs (0 when it could not be read
	// before the process ended) and, with Tty, how to resize its terminal (the Engine API's
	// exec; nil without a terminal).
	Started func(pid int, resize func(height, width uint16) error)
	// ConsoleSize, with Tty, is the terminal's [height, width] as the process starts (the
	// runtime sizes the pty before the process runs: a resize after the start came too late
	// for a command that reads the size at once, under crun).
	ConsoleSize *[2]uint
	// DetachKeys, with Tty and Stdin, cut the client off when typed in its stdin: Detached
	// is called, the process runs on, and Exec returns at its exit.
	DetachKeys []byte
	Detached   func()

	// timeout (healthcheck probes): the process is killed after it, and Exec returns
	// errExecTimeout without waiting for what it left holding its output.
	timeout time.Duration
	// failed (healthcheck probes) receives the runtime's message when it could not start the
	// process (Exec then returns 126).
	failed *string
	// execID is the exec instance (Execs) whose exec_create event was written when it was
	// created; empty: Exec writes one, with an ID of its own.
	execID string
}

// errExecTimeout is an exec that ran out of its time.
var errExecTimeout = errors.New("exec timed out")

// errRestarting is Docker's refusal to reach into a container waiting to be restarted.
func errRestarting(id string) error {
	return ConflictError{fmt.Sprintf("Container %s is restarting, wait until the container is running", id)}
}

// Exec runs another process in a running container and returns its exit code (0 with Detach).
func (m *Manager) Exec(ref string, o ExecOptions) (int, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return 0, err
	}
	if st.Status == "paused" {
		return 0, ConflictError{fmt.Sprintf("Container %s is paused, unpause the container before exec", c.ID)}
	}
	if !st.Running() {
		return 0, ConflictError{fmt.Sprintf("Container %s is not running", c.ID)}
	}
	if st.Restarting() {
		return 0, errRestarting(c.ID)
	}
	// Docker's events: exec_create (when the instance is made: here for `berth exec`), exec_start,
	// and exec_die with the exit code once the process has ended (ExecDetached waits for a
	// detached one in an exec-shim).
	line := execEventLine(o.Cmd)
	id := o.execID
	if id == "" {
		id = newID()
		m.event("exec_create: "+line, c, map[string]string{"execID": id})
	}
	m.event("exec_start: "+line, c, map[string]string{"execID": id})
	if o.failed == nil {
		o.failed = new(string)
	}
	code, err := m.execProcess(c, o)
	// A process the runtime could not start has no exec_die (dockerd's 126 without one).
	if err == nil && !o.Detach && *o.failed == "" {
		m.event("exec_die", c, map[string]string{"execID": id, "exitCode": strconv.Itoa(code)})
	}
	return code, err
}

// execEventLine is the command as Docker's exec events name it: the entrypoint, a space, and the
// arguments joined ("true " for a command without arguments).
func execEventLine(cmd []string) string {
	if len(cmd) == 0 {
		return " "
	}
	return cmd[0] + " " + strings.Join(cmd[1:], " ")
}

// execProcess runs Exec's process in c.
func (m *Manager) execProcess(c *Container, o ExecOptions) (int, error) {
	dir := m.dir(c.ID)
	userSpec := o.User
	if userSpec == "" {
		userSpec = c.Config.User
	}
	usr, _, err := runtime.ResolveUser(filepath.Join(dir, "rootfs"), userSpec)
	if err != nil {
		return 0, &StartError{Code: 126, Err: err}
	}
	if err := checkWorkingDir(o.WorkingDir); err != nil {
		return 0, err
	}
	cwd := o.WorkingDir
	if cwd == "" {
		cwd = c.Config.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	// An exec gets the container's capabilities (Docker's exec starts from the container's process
	// spec), all of them in a privileged container.
	caps, err := runtime.ContainerCapabilities(c.Host.Privileged || o.Privileged, c.Host.CapAdd, c.Host.CapDrop)
	if err != nil {
		return 0, err
	}
	sec, err := runtime.ParseSecurityOpts(c.Host.SecurityOpt)
	if err != nil {
		return 0, err
	}
	proc := specs.Process{
		Terminal: o.Tty, User: usr, Args: o.Cmd, Cwd: cwd,
		Env:          ReplaceOrAppendEnv(m.processEnv(c), o.Env),
		Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		// The container's seccomp filter comes with the runtime's exec; no-new-privileges is
		// per process, and an exec keeps the container's, as in Docker.
		NoNewPrivileges: sec.NoNewPrivileges,
	}
	if o.Tty && o.ConsoleSize != nil && o.ConsoleSize[0] > 0 && o.ConsoleSize[1] > 0 {
		proc.ConsoleSize = &specs.Box{Height: o.ConsoleSize[0], Width: o.ConsoleSize[1]}
	}
	b, err := json.Marshal(proc)
	if err != nil {
		return 0, err
	}
	pf, err := os.CreateTemp(dir, "exec-*.json")
	if err != nil {
		return 0, err
	}
	defer os.Remove(pf.Name())
	defer os.Remove(pf.Name() + ".log")
	if _, err := pf.Write(b); err != nil {
		pf.Close()
		return 0, err
	}
	pf.Close()
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		return 0, err
	}
	if o.Tty {
		proc := &proc
		proc.Env = ReplaceOrAppendEnv(proc.Env, []string{"TERM=xterm"})
		b, _ := json.Marshal(proc)
		if err := os.WriteFile(pf.Name(), b, 0o600); err != nil {
			return 0, err
		}
		// In the foreground runc itself allocates the pty and proxies it to its stdio (a
		// console socket is only for a detached process).
		if o.Detach {
			return m.execTTY(rt, c.ID, pf.Name(), o)
		}
		// A client that is not a terminal itself (the Engine API's, `exec -t` without -i or
		// with its stdin redirected) gets one of ours: the runtime only proxies a terminal.
		if o.Started != nil || !isTerminal(o.Stdin) {
			if rt.IsCrun() {
				// crun proxying a terminal of ours does not pass a resize on (runc does, on
				// SIGWINCH): the pty's master comes to us, which resizes it itself.
				return m.execTTY(rt, c.ID, pf.Name(), o)
			}
			return m.execPTY(rt, c.ID, pf.Name(), o)
		}
	}
	stdio := runtime.Stdio{}
	type copier struct {
		w, r *os.File
		done chan struct{}
	}
	var copies []copier
	if o.Stdin != nil {
		if f, ok := o.Stdin.(*os.File); ok {
			stdio.Stdin = f
		} else {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			defer r.Close()
			stdio.Stdin = r
			go func() { io.Copy(w, o.Stdin); w.Close() }()
		}
	}
	// The runtime reports a failed exec on its stderr (the process's own stderr too), and in its
	// log, which says whether it failed (execFailure): its line is held back meanwhile.
	outW := o.Stdout
	var errW io.Writer
	var held *holdRuntimeFailure
	if o.Stderr != nil {
		held = &holdRuntimeFailure{w: o.Stderr, crun: rt.IsCrun()}
		errW = held
	}
	if o.Detach {
		// A detached process keeps its stdio for ever: give it /dev/null, not a pipe we drain.
		outW, errW = nil, nil
	}
	for _, s := range []struct {
		w   io.Writer
		dst **os.File
	}{{outW, &stdio.Stdout}, {errW, &stdio.Stderr}} {
		if s.w == nil {
			continue
		}
		if f, ok := s.w.(*os.File); ok {
			*s.dst = f
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		*s.dst = w
		dst := s.w
		cp := copier{w: w, r: r, done: make(chan struct{})}
		go func() { io.Copy(dst, r); close(cp.done) }()
		copies = append(copies, cp)
	}
	pidFile := ""
	crunDetached := o.Detach && rt.IsCrun()
	if o.timeout > 0 || o.Started != nil || crunDetached {
		pidFile = pf.Name() + ".pid"
		defer os.Remove(pidFile)
	}
	cmd, err := rt.Exec(c.ID, pf.Name(), pidFile, stdio, o.Detach, "")
	if err != nil {
		for _, cp := range copies {
			cp.w.Close()
			cp.r.Close()
		}
		return 0, err
	}
	waited := make(chan error, 1)
	ended := make(chan struct{})
	go func() { waited <- cmd.Wait(); close(ended) }()
	if o.Started != nil {
		pid := readPidFile(pidFile, ended)
		o.Started(pid, nil)
	}
	var expired <-chan time.Time
	if o.timeout > 0 {
		t := time.NewTimer(o.timeout)
		defer t.Stop()
		expired = t.C
	}
	var werr error
	select {
	case werr = <-waited:
		if werr == nil && crunDetached {
			// crun returns before the process has exec'd its command (runc after): exec -d
			// returns once it has, as with runc, so a top or ps that follows sees it.
			giveUp := make(chan struct{})
			t := time.AfterFunc(2*time.Second, func() { close(giveUp) })
			waitExec(pidFile, nil, giveUp)
			t.Stop()
		}
	case <-expired:
		// The process goes, with what it started: runc copies their output through pipes of
		// its own and waits for them to close. runc itself is not killed once the process
		// runs: the processes of its own it has not reaped yet would be left to us.
		// Nor while it starts the process (its pid file is not written yet): its stages would
		// be left to us too, and the process, a zombie in the container's PID namespace that
		// keeps the container's init from ever finishing its exit. It is waited for.
		giveUp := time.After(5 * time.Second)
	kill:
		for {
			if b, err := os.ReadFile(pidFile); err == nil {
				if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
					killTree(pid)
					break
				}
			}
			select {
			case werr = <-waited:
				waited <- werr
				break kill
			case <-giveUp:
				break kill
			case <-time.After(10 * time.Millisecond):
			}
		}
		select {
		case <-waited:
		case <-time.After(2 * time.Second):
			// Something that left the process's tree holds the output: runc ends with it.
		}
		for _, cp := range copies {
			cp.w.Close()
			cp.r.Close()
			<-cp.done
		}
		return -1, errExecTimeout
	}
	for _, cp := range copies {
		cp.w.Close()
		<-cp.done
		cp.r.Close()
	}
	return execExitCode(rt, pf.Name(), werr, o, held)
}

// readPidFile waits for the runtime to write an exec'd process's pid file, or for done.
func readPidFile(path string, done <-chan struct{}) int {
	pause := time.Millisecond
	read := func() int {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return pid
			}
		}
		return 0
	}
	for {
		if pid := read(); pid > 0 {
			return pid
		}
		select {
		case <-done:
			return read() // the runtime has written it by the time it exits, if ever
		case <-time.After(pause):
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// killTree kills a process and its descendants.
func killTree(pid int) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(st[i+1:]); len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				children[pp] = append(children[pp], p)
			}
		}
	}
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[0]
		todo = append(todo[1:], children[p]...)
		unix.Kill(p, unix.SIGKILL)
	}
}

// tailWriter keeps the last line written to it.
type tailWriter struct{ buf *bytes.Buffer }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if b := t.buf.Bytes(); len(b) > 4096 {
		t.buf.Next(len(b) - 4096)
	}
	return len(p), nil
}

// Top lists a container's processes through ps(1) on the host (ps's arguments: default -ef).
func (m *Manager) Top(ref string, psArgs []string) ([]string, [][]string, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return nil, nil, err
	}
	if !st.Running() {
		return nil, nil, ConflictError{fmt.Sprintf("Container %s is not running", c.ID)}
	}
	if st.Restarting() {
		return nil, nil, errRestarting(c.ID)
	}
	rt, err := m.Runtime(c.Host.Runtime)
	if err != nil {
		return nil, nil, err
	}
	var pids []int
	if rootless.Active() {
		// No cgroup lists them: the processes in the container's PID namespace do.
		pids, err = pidNamespaceMembers(st.Pid)
	} else {
		pids, err = rt.Pids(c.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		// ps's own complaint, as Docker reports it: "ps: " and the first line ps printed.
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if line, _, _ := strings.Cut(string(ee.Stderr), "\n"); line != "" {
				err = errors.New(line)
			}
		}
		return nil, nil, fmt.Errorf("ps: %w", err)
	}
	want := map[int]bool{}
	for _, p := range pids {
		want[p] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	if !sc.Scan() {
		return nil, nil, errors.New("ps printed nothing")
	}
	titles := strings.Fields(sc.Text())
	pidCol := -1
	for i, t := range titles {
		if t == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return nil, nil, fmt.Errorf("Couldn't find PID field in ps output")
	}
	var procs [][]string
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) <= pidCol {
			continue
		}
		pid, err := strconv.Atoi(f[pidCol])
		if err != nil || !want[pid] {
			continue
		}
		// The last column (the command) may hold spaces.
		if len(f) > len(titles) {
			f = append(f[:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		}
		procs = append(procs, f)
	}
	return titles, procs, nil
}

// execTTY runs an exec'd process on a pseudo-terminal: the runtime passes the pty master over a
// console socket; the client's stdin goes in and the terminal's output comes out on stdout.
func (m *Manager) execTTY(rt *runtime.Runtime, id, processFile string, o ExecOptions) (int, error) {
	console, err := newConsoleSocket()
	if err != nil {
		return 0, err
	}
	defer console.Close()
	got := make(chan *os.File, 1)
	go func() {
		f, _ := console.receive()
		got <- f
	}()
	var errTail bytes.Buffer
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	go func() { io.Copy(&tailWriter{buf: &errTail}, r); r.Close() }()
	pidFile := ""
	if o.Started != nil {
		pidFile = processFile + ".pid"
		defer os.Remove(pidFile)
	}
	cmd, err := rt.Exec(id, processFile, pidFile, runtime.Stdio{Stderr: w}, o.Detach, console.Path())
	w.Close()
	if err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	ended := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(ended) }()
	var master *os.File
	select {
	case master = <-got:
	case werr := <-exited:
		// The runtime may end before the master is taken off the socket: a quick process
		// (`sh -c "exit 4"`) ran and its status is the runtime's. Only a runtime that said why
		// it failed, or never passed a terminal, did not start it.
		failure := execFailure(rt, processFile)
		tail := strings.TrimSpace(errTail.String())
		var ee *exec.ExitError
		if werr != nil && (failure != "" || strings.Contains(tail, "exec failed:") ||
			strings.Contains(tail, "unable to start container process") || !errors.As(werr, &ee)) {
			console.l.Close()
			if failure == "" {
				failure = tail
				if i := strings.LastIndexByte(failure, '\n'); i >= 0 {
					failure = failure[i+1:]
				}
				if failure == "" {
					failure = "exec failed: " + werr.Error()
				}
			}
			return reportExecFailure(o, failure), nil
		}
		// It passed the terminal before it ended (the connection waits on the socket).
		select {
		case master = <-got:
		case <-time.After(time.Second):
		}
		exited <- werr
		if master == nil {
			console.l.Close()
			return execExitCode(rt, processFile, werr, o, nil)
		}
	}
	if master == nil {
		return 0, errors.New("the runtime passed no terminal")
	}
	defer master.Close()
	if o.Started != nil {
		o.Started(readPidFile(pidFile, ended), func(h, w uint16) error {
			return unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: h, Col: w})
		})
	}
	if o.Detach {
		return 0, <-exited
	}
	copyWinsize(master, o.Stdout)
	out := o.Stdout
	if o.Stdin != nil {
		if len(o.DetachKeys) > 0 && o.Detached != nil {
			cut := &cutWriter{w: o.Stdout}
			out = cut
			go func() {
				if err := copyEscapable(master, o.Stdin, o.DetachKeys); errors.Is(err, ErrDetached) {
					cut.cut()
					o.Detached()
				}
			}()
		} else {
			go io.Copy(master, o.Stdin)
		}
	}
	done := make(chan struct{})
	go func() { io.Copy(out, master); close(done) }()
	werr := <-exited
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	return execExitCode(rt, processFile, werr, o, nil)
}

// cutWriter passes writes on until cut, and drops them after (the process's output goes on
// being read, so that it never blocks on a full terminal).
type cutWriter struct {
	mu  sync.Mutex
	w   io.Writer
	off bool
}

func (c *cutWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.off {
		if _, err := c.w.Write(p); err != nil {
			c.off = true
		}
	}
	return len(p), nil
}

func (c *cutWriter) cut() {
	c.mu.Lock()
	c.off = true
	c.mu.Unlock()
}

// execExitCode is the exit code of an exec the runtime ended with werr: the process's, or
// Docker's 126 when the runtime could not start it (it said why in its log). held, if any, is
// the exec's stderr, whose first line, held back, was the runtime's failure if it failed; on a
// terminal the runtime's line is the user's to see, with its words in runc's on stderr.
func execExitCode(rt *runtime.Runtime, processFile string, werr error, o ExecOptions, held *holdRuntimeFailure) (int, error) {
	failure := ""
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		failure = execFailure(rt, processFile)
	}
	if held != nil {
		held.end(failure != "")
	}
	switch {
	case failure != "":
		return reportExecFailure(o, failure), nil
	case werr == nil:
		return 0, nil
	case ee == nil:
		return 0, werr
	}
	return ee.ExitCode(), nil
}

// reportExecFailure tells an exec's failure to start as Docker does, on the exec's stderr and
// in its failed (for the events and the healthcheck), and returns Docker's code for it.
func reportExecFailure(o ExecOptions, failure string) int {
	if o.Stderr != nil {
		fmt.Fprintln(o.Stderr, dockerExecFailure(failure))
	}
	if o.failed != nil {
		*o.failed = failure
	}
	return 126
}

// isTerminal says whether r is a file open on a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// execPTY runs an exec'd process on a terminal in the foreground for a client that is not a
// terminal (the Engine API's): the runtime can only hand a detached process's terminal over, so
// it gets a terminal of ours as its stdio, proxies it to the process's, and passes a resize of
// ours on when told SIGWINCH, as it does for a user's terminal. Its exit status is the process's.
func (m *Manager) execPTY(rt *runtime.Runtime, id, processFile string, o ExecOptions) (int, error) {
	ours, theirs, err := pty.Open()
	if err != nil {
		return 0, err
	}
	defer ours.Close()
	if t, err := unix.IoctlGetTermios(int(theirs.Fd()), unix.TCGETS); err == nil {
		// cfmakeraw: the runtime's side passes bytes through untouched.
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		unix.IoctlSetTermios(int(theirs.Fd()), unix.TCSETS, t)
	}
	pidFile := processFile + ".pid"
	defer os.Remove(pidFile)
	cmd, err := rt.Exec(id, processFile, pidFile, runtime.Stdio{Stdin: theirs, Stdout: theirs, Stderr: theirs}, false, "")
	theirs.Close()
	if err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	ended := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(ended) }()
	runtimePid := cmd.Process.Pid
	started := o.Started
	if started == nil {
		started = func(int, func(h, w uint16) error) {}
	}
	started(readPidFile(pidFile, ended), func(h, w uint16) error {
		if err := unix.IoctlSetWinsize(int(ours.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: h, Col: w}); err != nil {
			return err
		}
		select {
		case <-ended:
			return nil
		default:
			return unix.Kill(runtimePid, unix.SIGWINCH)
		}
	})
	out := o.Stdout
	if o.Stdin != nil {
		if len(o.DetachKeys) > 0 && o.Detached != nil {
			cut := &cutWriter{w: o.Stdout}
			out = cut
			go func() {
				if err := copyEscapable(ours, o.Stdin, o.DetachKeys); errors.Is(err, ErrDetached) {
					cut.cut()
					o.Detached()
				}
			}()
		} else {
			go io.Copy(ours, o.Stdin)
		}
	}
	done := make(chan struct{})
	go func() { io.Copy(out, ours); close(done) }()
	werr := <-exited
	select {
	case <-done: // the terminal reports EIO once nothing holds its other side
	case <-time.After(2 * time.Second):
	}
	return execExitCode(rt, processFile, werr, o, nil)
}

// pidNamespaceMembers lists the processes in the PID namespace of process init (init alone when
// that is this process's own, as with --pid host).
func pidNamespaceMembers(init int) ([]int, error) {
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", init))
	if err != nil {
		return nil, err
	}
	if self, _ := os.Readlink("/proc/self/ns/pid"); self == want {
		return []int{init}, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + d.Name() + "/ns/pid"); err == nil && ns == want {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// holdRuntimeFailure passes an exec's stderr on, except a first line that may be the runtime's own
// failure (runc's "exec failed: ...", or crun's, runtime.IsCrunFailure): the runtime prints it on
// the process's stderr in its words, and the exec then reports it in Docker's. Such a line is
// held until end says whether the runtime failed; output that cannot be such a line passes at once.
type holdRuntimeFailure struct {
	w       io.Writer
	crun    bool
	buf     []byte // the first line so far, while it may be the runtime's failure
	decided bool
}

var crunFailurePrefixes = []string{"executable file `", "open executable: ", "exec container process `", "exec: "}

// runcFailurePrefix starts runc's line for an exec it could not start.
const runcFailurePrefix = "exec failed: "

func (h *holdRuntimeFailure) Write(p []byte) (int, error) {
	if h.decided {
		return h.w.Write(p)
	}
	h.buf = append(h.buf, p...)
	i := bytes.IndexByte(h.buf, '\n')
	if i < 0 && len(h.buf) < 4096 && h.mayBeFailure(h.buf) {
		return len(p), nil
	}
	if i >= 0 && h.isFailure(string(h.buf[:i+1])) {
		return len(p), nil // held until end: the runtime's failure is always its last word
	}
	h.decided = true
	b := h.buf
	h.buf = nil
	_, err := h.w.Write(b)
	return len(p), err
}

func (h *holdRuntimeFailure) mayBeFailure(b []byte) bool {
	if !h.crun {
		n := min(len(b), len(runcFailurePrefix))
		return string(b[:n]) == runcFailurePrefix[:n]
	}
	return mayBeCrunFailure(b)
}

func (h *holdRuntimeFailure) isFailure(line string) bool {
	if !h.crun {
		return strings.HasPrefix(line, runcFailurePrefix)
	}
	return runtime.IsCrunFailure(line)
}

// end writes what is held unless the runtime failed (it was the runtime's failure line, told
// otherwise).
func (h *holdRuntimeFailure) end(failed bool) {
	if !failed && len(h.buf) > 0 {
		h.w.Write(h.buf)
	}
	h.buf, h.decided = nil, true
}

// execFailure is the runtime's reason it could not start an exec'd process, in runc's words
// ("exec failed: unable to start container process: ..."; crun's told as runc's), "" when the
// runtime did not fail.
func execFailure(rt *runtime.Runtime, processFile string) string {
	f := rt.ExecFailure(processFile)
	if f != "" && !strings.HasPrefix(f, runcFailurePrefix) {
		f = runcFailurePrefix + f
	}
	return f
}

// dockerExecFailure is how Docker reports an execFailure: the daemon's error, recorded from
// dockerd 20.10 with runc ("OCI runtime exec failed: exec failed: unable to start container
// process: exec: \"nosuch\": executable file not found in $PATH: unknown").
func dockerExecFailure(failure string) string {
	return "OCI runtime exec failed: " + failure + ": unknown"
}

func mayBeCrunFailure(b []byte) bool {
	for _, p := range crunFailurePrefixes {
		if n := min(len(b), len(p)); string(b[:n]) == p[:n] {
			return true
		}
	}
	return false
}
