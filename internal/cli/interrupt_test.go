package cli

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// An interrupt cancels the command's context and is remembered for Main to re-raise; once the
// signals are passed on (run's --sig-proxy, the container runs), they no longer cancel anything.
func TestInterrupterCancelsThenPassesOn(t *testing.T) {
	var errb bytes.Buffer
	g := &Globals{Stderr: &errb}
	c := &cobra.Command{}
	c.SetContext(context.Background())
	ctx := g.interruptible(c)
	defer g.intr.finishQuietly()
	if g.interruptible(c) != ctx {
		t.Fatal("a second interruptible made a second context")
	}
	g.intr.passOn()
	g.intr.ch <- syscall.SIGINT
	time.Sleep(50 * time.Millisecond)
	if ctx.Err() != nil || g.intr.got != nil {
		t.Fatal("a signal passed on to the container canceled the command")
	}
	g.intr.mu.Lock()
	g.intr.passed = false
	g.intr.mu.Unlock()
	g.intr.ch <- syscall.SIGTERM
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the command")
	}
	if g.intr.interruptedCode() != 128+int(syscall.SIGTERM) {
		t.Errorf("code = %d", g.intr.interruptedCode())
	}
}

// finishQuietly stops the handler (and its grace timer, which would exit the test process
// interruptGrace later) without re-raising the signal in the test process.
func (i *interrupter) finishQuietly() { i.stop() }
