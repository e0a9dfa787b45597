package container

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// spareTestPair is a connected pair of the sockets a server and its spare shim talk over.
func spareTestPair(t *testing.T) (server, spare *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "sock")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// A container handed to a spare shim arrives with its flags and the descriptors a shim started
// for it gets (the notify pipe, its log, the attached client), and the server learns that the
// spare took it.
func TestSpareHandover(t *testing.T) {
	server, spare := spareTestPair(t)
	notifyR, notifyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer notifyR.Close()
	logPath := filepath.Join(t.TempDir(), "shim.log")
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	attachOurs, attachTheirs, err := os.Pipe() // any descriptor does
	if err != nil {
		t.Fatal(err)
	}
	defer attachOurs.Close()

	type got struct {
		h     spareHandover
		files handedFiles
		err   error
	}
	recv := make(chan got, 1)
	go func() {
		h, files, err := receiveHandover(spare, 10*time.Second)
		spare.Write([]byte{1})
		recv <- got{h, files, err}
	}()
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sp := &spareShim{conn: server, exited: make(chan struct{})}
	if !sp.handOver(spareHandover{ID: id, Restarting: true}, notifyW, logF, attachTheirs) {
		t.Fatal("the spare did not take the container")
	}
	// The server's copies go, as startShimWith closes them: the spare's are what is left.
	notifyW.Close()
	logF.Close()
	attachTheirs.Close()
	g := <-recv
	if g.err != nil {
		t.Fatal(g.err)
	}
	if g.h.ID != id || !g.h.Restarting || !g.h.Log || !g.h.Attached {
		t.Errorf("handover = %+v", g.h)
	}
	for name, f := range map[string]*os.File{"notify": g.files.notify, "log": g.files.log, "attach": g.files.attached} {
		if f == nil {
			t.Fatalf("no %s descriptor", name)
		}
		if flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s descriptor is not close-on-exec (flags %d, %v): the runtime would inherit it", name, flags, err)
		}
	}
	g.files.notify.Write([]byte(`{}`))
	g.files.notify.Close()
	if b, _ := io.ReadAll(notifyR); string(b) != `{}` {
		t.Errorf("notify pipe carried %q", b)
	}
	g.files.log.Write([]byte("complaint\n"))
	g.files.log.Close()
	if b, _ := os.ReadFile(logPath); string(b) != "complaint\n" {
		t.Errorf("shim.log = %q", b)
	}
	g.files.attached.Write([]byte("x"))
	g.files.attached.Close()
	if b, _ := io.ReadAll(attachOurs); string(b) != "x" {
		t.Errorf("attach carried %q", b)
	}
}

// A spare that has gone (its idle time was up) takes nothing: the server learns it, and the
// notify pipe's write end it sent is not kept open by the dead spare's socket.
func TestSpareHandoverToGoneSpare(t *testing.T) {
	server, spare := spareTestPair(t)
	notifyR, notifyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer notifyR.Close()
	spare.Close()
	sp := &spareShim{conn: server, exited: make(chan struct{})}
	if sp.handOver(spareHandover{ID: "abc"}, notifyW, nil, nil) {
		t.Fatal("a gone spare took the container")
	}
	notifyW.Close()
	done := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(notifyR); done <- b }()
	select {
	case b := <-done:
		if len(b) != 0 {
			t.Errorf("notify carried %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notify pipe stayed open")
	}
}

// A spare whose time is up without a container, or whose server has gone, gets no handover and
// no error; a handover whose descriptors do not match its message is refused.
func TestSpareReceiveIdleAndBad(t *testing.T) {
	_, spare := spareTestPair(t)
	if h, _, err := receiveHandover(spare, 20*time.Millisecond); err != nil || h.ID != "" {
		t.Errorf("idle spare: %+v %v", h, err)
	}
	server, spare2 := spareTestPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// Says a log comes, sends only the notify pipe.
	if _, _, err := server.WriteMsgUnix([]byte(`{"id":"abc","log":true}`), unix.UnixRights(int(w.Fd())), nil); err != nil {
		t.Fatal(err)
	}
	if h, _, err := receiveHandover(spare2, 10*time.Second); err == nil || h.ID != "" {
		t.Errorf("bad handover accepted: %+v %v", h, err)
	}
	server.Close()
	if h, _, err := receiveHandover(spare2, 10*time.Second); err != nil || h.ID != "" {
		t.Errorf("after the server went: %+v %v", h, err)
	}
}
