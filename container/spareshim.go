package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spare shims. A shim is berth itself re-executed, and a new berth process costs about 12 ms
// (exec of a 40 MB binary, the runtime's and the packages' initialisation, the command line,
// the store opened) before it can supervise anything: on the path of every start. A long-lived
// process that starts containers often (berth serve) keeps one shim started ahead, idle, with
// the store open; a start hands its container to it over a socket, and the next spare is
// started 100 ms after the start has been reported (not to compete for the CPU with a short
// container's exit and removal: docker run --rm measured 17 ms faster so). The shim that takes over behaves exactly as one
// started for the container (same flags, the same files on the same descriptors), so nothing
// about the container's supervision or what is recorded when changes. A spare left without a
// container for spareIdle exits (an idle server keeps no extra process); the next start execs
// its shim as before and makes a new spare.

// SparePlaceholder is the spare shim's ID argument, as long as a container ID: once it has a
// container, the shim writes the ID over it, so that its command line (ps, /proc/PID/cmdline)
// names its container as a shim started for it does.
var SparePlaceholder = "spare" + strings.Repeat("_", 59)

// spareIdle is how long a spare waits for a container before it exits.
const spareIdle = time.Minute

// spareShim is the server's end of a spare: a socket to hand it a container on.
type spareShim struct {
	conn   *net.UnixConn
	exited chan struct{} // closed once the process has exited (and been reaped)
}

// spareHandover is the message that hands a container to a spare. The descriptors come with it,
// in this order: the notify pipe (the shim's fd 3), the shim's log (its stderr) when Log, the
// attached client (fd 4) when Attached.
type spareHandover struct {
	ID         string `json:"id"`
	Restarting bool   `json:"restarting,omitempty"`
	Attached   bool   `json:"attached,omitempty"`
	Log        bool   `json:"log,omitempty"`
}

// spares is the Manager's spare shim, when it keeps one (SpareShims).
type spares struct {
	mu    sync.Mutex
	spare *spareShim
}

// KeepSpareShim makes the Manager keep a spare shim from its next start on (berth serve); call
// it before the Manager is shared.
func (m *Manager) KeepSpareShim() { m.spares = &spares{} }

// shimArgs is the command line of a shim without its container ID.
func (m *Manager) shimArgs() ([]string, error) {
	if len(m.ShimCommand) > 0 {
		return append([]string(nil), m.ShimCommand...), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe, "--root", m.Images.Root, "container-shim"}, nil
}

// startSpare starts a spare shim: `container-shim PLACEHOLDER --spare`, its end of the socket
// on fd 3.
func (m *Manager) startSpare() (*spareShim, error) {
	args, err := m.shimArgs()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "spare-shim"), os.NewFile(uintptr(fds[1]), "spare-shim")
	defer theirs.Close()
	cmd := exec.Command(args[0], append(args[1:], SparePlaceholder, "--spare")...)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, err
	}
	fc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	sp := &spareShim{conn: fc.(*net.UnixConn), exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(sp.exited)
	}()
	return sp, nil
}

// refillSpare starts a spare shim if the Manager keeps one and has none.
func (m *Manager) refillSpare() {
	s := m.spares
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spare != nil {
		select {
		case <-s.spare.exited:
			s.spare.conn.Close()
		default:
			return
		}
	}
	s.spare = nil
	if sp, err := m.startSpare(); err == nil {
		s.spare = sp
	}
}

// spareRefillDelay is how long after a start the next spare shim is started.
const spareRefillDelay = 100 * time.Millisecond

// refillSpareSoon starts a spare shim spareRefillDelay from now, if the Manager keeps one.
func (m *Manager) refillSpareSoon() {
	if m.spares != nil {
		time.AfterFunc(spareRefillDelay, m.refillSpare)
	}
}

// takeSpare takes the Manager's spare shim, if it has one that still runs.
func (m *Manager) takeSpare() *spareShim {
	s := m.spares
	if s == nil {
		return nil
	}
	s.mu.Lock()
	sp := s.spare
	s.spare = nil
	s.mu.Unlock()
	if sp == nil {
		return nil
	}
	select {
	case <-sp.exited:
		sp.conn.Close()
		return nil
	default:
	}
	return sp
}

// StopSpareShim lets the spare shim go (it exits): for a server that closes.
func (m *Manager) StopSpareShim() {
	if sp := m.takeSpare(); sp != nil {
		sp.conn.Close()
	}
}

// handOver gives a container to the spare sp: notify, log (nil: none) and attach (nil: none) are
// the files a shim started for it would get. It reports whether the spare took it: it answers
// once it has the descriptors; a spare that exited meanwhile (its time was up) did not, and
// the caller starts a shim of its own.
func (sp *spareShim) handOver(h spareHandover, notify, log, attach *os.File) bool {
	defer sp.conn.Close()
	fds := []int{int(notify.Fd())}
	if h.Log = log != nil; h.Log {
		fds = append(fds, int(log.Fd()))
	}
	if h.Attached = attach != nil; h.Attached {
		fds = append(fds, int(attach.Fd()))
	}
	b, err := json.Marshal(h)
	if err != nil {
		return false
	}
	if _, _, err := sp.conn.WriteMsgUnix(b, unix.UnixRights(fds...), nil); err != nil {
		return false
	}
	var ack [1]byte
	n, _ := sp.conn.Read(ack[:])
	return n == 1
}

// SpareShim is the body of `berth container-shim PLACEHOLDER --spare`: it waits on ctl (fd 3)
// for a container (spareIdle at most), takes it with its descriptors, tells named the
// container's ID (to write it over the placeholder), answers, and supervises the container as
// Shim does. It returns nil when no container came.
func (m *Manager) SpareShim(ctl *os.File, named func(id string)) error {
	fc, err := net.FileConn(ctl)
	ctl.Close()
	if err != nil {
		return err
	}
	conn, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return errors.New("spare shim: fd 3 is not a unix socket")
	}
	defer conn.Close()
	h, files, err := receiveHandover(conn, spareIdle)
	if err != nil || h.ID == "" {
		return err // no container came (nil), or a bad handover
	}
	if files.log != nil {
		// The shim's own complaints go to the container's shim.log, as a shim started for it.
		unix.Dup3(int(files.log.Fd()), 2, 0)
		files.log.Close()
	}
	if named != nil {
		named(h.ID)
	}
	conn.Write([]byte{1})
	conn.Close()
	return m.Shim(h.ID, files.notify, h.Restarting, files.attached)
}

// handedFiles are the descriptors that came with a handover.
type handedFiles struct{ notify, log, attached *os.File }

// receiveHandover waits (idle at most) for the handover of a container on conn. It returns an
// empty handover and no error when none came: the time was up, or the server has gone.
func receiveHandover(conn *net.UnixConn, idle time.Duration) (spareHandover, handedFiles, error) {
	var h spareHandover
	conn.SetReadDeadline(time.Now().Add(idle))
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil || n == 0 {
		return h, handedFiles{}, nil
	}
	conn.SetReadDeadline(time.Time{})
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range msgs {
			if rights, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, rights...)
			}
		}
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
	want := 1
	err = json.Unmarshal(buf[:n], &h)
	if h.Log {
		want++
	}
	if h.Attached {
		want++
	}
	if err != nil || h.ID == "" || len(fds) != want {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return spareHandover{}, handedFiles{}, fmt.Errorf("spare shim: bad handover (%d descriptors): %q", len(fds), buf[:n])
	}
	files := handedFiles{notify: os.NewFile(uintptr(fds[0]), "notify")}
	next := 1
	if h.Log {
		files.log = os.NewFile(uintptr(fds[next]), "shim.log")
		next++
	}
	if h.Attached {
		files.attached = os.NewFile(uintptr(fds[next]), "attach")
	}
	return h, files, nil
}
