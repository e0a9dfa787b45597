package rootless

import (
	"os/signal"
	"syscall"
)

// signalIgnoreHangup keeps the pause process alive when its starter's terminal goes away.
func signalIgnoreHangup() { signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE) }
