package events

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// dirWatch wakes a follower when the journal's directory changes: a line appended (IN_MODIFY), or
// a rotation (the journal renamed away and created again). It uses inotify, so a follower sleeps
// until there is something to read; where inotify is unavailable (no instances left, a file
// system without it) the follower polls instead.
type dirWatch struct {
	f    *os.File
	wake chan struct{}
}

// watchDir starts watching dir (created if missing, as Append would); nil when inotify is
// unavailable.
func watchDir(dir string) *dirWatch {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_DELETE); err != nil {
		unix.Close(fd)
		return nil
	}
	// A non-blocking descriptor goes to Go's poller: Read parks the goroutine, Close ends it.
	w := &dirWatch{f: os.NewFile(uintptr(fd), "inotify"), wake: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return
			}
			select {
			case w.wake <- struct{}{}:
			default: // a wake-up is already pending: the follower reads everything new anyway
			}
		}
	}()
	return w
}

func (w *dirWatch) Close() { w.f.Close() }

// wait returns when the follower should look again: on a change with inotify (w not nil), else
// after poll; never later than until (when set); or when done is closed (false).
func (w *dirWatch) wait(done <-chan struct{}, poll time.Duration, until time.Time) bool {
	var wake <-chan struct{}
	var timeout <-chan time.Time
	if w != nil {
		wake = w.wake
		if !until.IsZero() {
			timeout = time.After(max(time.Until(until), 0) + time.Millisecond)
		}
	} else {
		timeout = time.After(poll)
	}
	select {
	case <-done:
		return false
	case <-wake:
	case <-timeout:
	}
	return true
}
