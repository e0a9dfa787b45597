package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// interruptSignals are the signals that stop a berth command: Ctrl-C, kill, a closed terminal.
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// interruptGrace is how long an interrupted command has to undo what it set up before berth
// exits anyway (what is left is then swept by the next berth, from its records).
const interruptGrace = 30 * time.Second

// interrupter turns the interrupt signals into the cancellation of a command's context, for the
// commands that set things up on the host (build, run): instead of dying at once with mounts,
// network namespaces and runtime containers behind, they stop their child work, undo what they
// made and only then exit, by the same signal. Other commands keep the signals' default action.
type interrupter struct {
	ch     chan os.Signal
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	got    os.Signal // the first interrupt, re-raised when the command has cleaned up
	n      int
	passed bool        // signals belong to the container now (proxied by the supervisor)
	grace  *time.Timer // exits berth interruptGrace after the first interrupt; stop ends it
	stderr func(string)
}

// interruptible makes the command's context canceled by SIGINT, SIGTERM and SIGHUP, and returns
// it. Main re-raises the signal once the command has returned, so the shell sees berth killed by
// it, as it would without the handler.
func (g *Globals) interruptible(c *cobra.Command) context.Context {
	if g.intr != nil {
		return g.intr.ctx
	}
	i := &interrupter{ch: make(chan os.Signal, 4)}
	i.ctx, i.cancel = context.WithCancel(commandContext(c))
	i.stderr = func(s string) { fmt.Fprintln(g.Stderr, s) }
	// A signal ignored from the start stays ignored (nohup, a background job of a script).
	var sigs []os.Signal
	for _, s := range interruptSignals {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) > 0 {
		signal.Notify(i.ch, sigs...)
	}
	g.intr = i
	go i.loop()
	return i.ctx
}

func (i *interrupter) loop() {
	for s := range i.ch {
		i.mu.Lock()
		if i.passed {
			i.mu.Unlock()
			continue
		}
		i.n++
		n := i.n
		if i.got == nil {
			i.got = s
		}
		i.mu.Unlock()
		switch n {
		case 1:
			i.cancel()
			code := 128 + int(s.(syscall.Signal))
			i.mu.Lock()
			i.grace = time.AfterFunc(interruptGrace, func() {
				i.stderr("berth: still cleaning up after " + interruptGrace.String() + "; exiting: the next berth command removes what is left")
				os.Exit(code)
			})
			i.mu.Unlock()
		case 3:
			// Asked three times: go now. The records of what was set up remain, and the next
			// berth command (or system prune) undoes it.
			i.stderr("berth: interrupted again: exiting without cleaning up; the next berth command removes what is left")
			os.Exit(128 + int(s.(syscall.Signal)))
		}
	}
}

// passOn hands the signals to whoever forwards them to the container (run's --sig-proxy): from now
// on an interrupt no longer cancels the command.
func (i *interrupter) passOn() {
	i.mu.Lock()
	i.passed = true
	i.mu.Unlock()
}

// release gives the signals back their default action (a foreground run without --sig-proxy,
// once its container runs: berth dies of them and the container goes on, as with Docker).
func (i *interrupter) release() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.got == nil {
		signal.Stop(i.ch)
		i.passed = true
	}
}

// finish is called by Main when the command has returned: it reports whether the command was
// interrupted, and if so kills berth by the signal that interrupted it (not returning), so scripts
// and shells see what they would have seen without the handler.
func (i *interrupter) finish() bool {
	if i == nil {
		return false
	}
	i.stop()
	i.mu.Lock()
	s := i.got
	i.mu.Unlock()
	if s == nil {
		return false
	}
	signal.Reset(s)
	syscall.Kill(os.Getpid(), s.(syscall.Signal))
	time.Sleep(time.Second)
	return true
}

// stop gives up the signals and the grace timer: the command has returned, so nothing is left
// to wait for.
func (i *interrupter) stop() {
	signal.Stop(i.ch)
	i.mu.Lock()
	if i.grace != nil {
		i.grace.Stop()
	}
	i.mu.Unlock()
}

// interruptedCode is the exit code of a command interrupted by sig when the signal could not be
// re-raised.
func (i *interrupter) interruptedCode() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	if s, ok := i.got.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}
