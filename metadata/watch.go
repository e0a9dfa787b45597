package metadata

import (
	"bytes"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch returns a channel that receives (coalesced: one value stands for any number) when any
// process commits to the database, and a function that stops the watch. A commit writes to the
// WAL (or, at a checkpoint, to the database file), and inotify on their directory sees it, so a
// process waiting for another one's write (a wait for a container's exit, which its shim
// records) learns of it at once instead of at its next poll. It is a hint: a waiter still looks
// at what changed, and polls as well where inotify is missing (the error).
func (d *DB) Watch() (<-chan struct{}, func(), error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil, err
	}
	dir, base := filepath.Split(d.path)
	if dir == "" {
		dir = "."
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY|unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	// Non-blocking, so reads go through the runtime's poller and Close ends a pending one.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			if changed(buf[:n], base) {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	// Close waits for the pending read to give the file up, which takes milliseconds: the
	// waiter need not wait for that.
	return ch, func() { go f.Close() }, nil
}

// changed reports whether a batch of inotify events names the database or its WAL.
func changed(buf []byte, base string) bool {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return false
		}
		name := string(bytes.TrimRight(buf[unix.SizeofInotifyEvent:end], "\x00"))
		if name == base || name == base+"-wal" {
			return true
		}
		buf = buf[end:]
	}
	return false
}
