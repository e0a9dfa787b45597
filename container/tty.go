package container

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// consoleSocket is where the runtime hands over a terminal's pty master (--console-socket).
type consoleSocket struct {
	dir string
	l   *net.UnixListener
}

// newConsoleSocket listens on a short path (a unix socket path must fit in 108 bytes).
func newConsoleSocket() (*consoleSocket, error) {
	dir, err := os.MkdirTemp("", "berth-console-")
	if err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &consoleSocket{dir: dir, l: l}, nil
}

func (c *consoleSocket) Path() string { return filepath.Join(c.dir, "s") }

func (c *consoleSocket) Close() {
	c.l.Close()
	os.RemoveAll(c.dir)
}

// receive waits for the runtime to send the pty master over the socket.
func (c *consoleSocket) receive() (*os.File, error) {
	conn, err := c.l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("console socket: no pty received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("console socket: no pty received")
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// copyWinsize gives the pty the size of the client's terminal, when it has one.
func copyWinsize(pty *os.File, client io.Writer) {
	f, ok := client.(*os.File)
	if !ok {
		return
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, ws)
}
