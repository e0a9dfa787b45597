package build

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress modes (Options.ProgressMode), as BuildKit names them.
const (
	// ProgressPlain is BuildKit's plain progress: numbered vertices, one line per event.
	ProgressPlain = "plain"
	// ProgressTTY is BuildKit's live view for a terminal, repainted in place.
	ProgressTTY = "tty"
)

// display shows the progress of a build. Each step is a vertex; events about one vertex arrive
// in order (start first, then statuses, messages and output lines, then one of done, cached or
// fail), and events of several vertices may interleave from several goroutines. close comes
// once, after the last event.
type display interface {
	start(v *vertex, name string)
	// status is a sub-step of v that has finished ("writing image sha256:...").
	status(v *vertex, text string)
	// message is a line about v that is not a finished sub-step (a warning).
	message(v *vertex, text string)
	// output is a line a command of v printed, dt after the command started.
	output(v *vertex, dt time.Duration, line string)
	done(v *vertex)
	cached(v *vertex)
	fail(v *vertex, err error)
	close()
}

// progress numbers the build's vertices and hands their events to a display.
type progress struct {
	mu sync.Mutex
	n  int
	d  display
}

type vertex struct {
	p     *progress
	id    int
	start time.Time
}

// newProgress shows progress on w in mode (ProgressPlain when empty); a nil w shows nothing.
func newProgress(w io.Writer, mode string) *progress {
	if w != nil && mode == ProgressTTY {
		return &progress{d: newTTYDisplay(w)}
	}
	if w != nil && mode == ProgressClassic {
		return &progress{d: newClassicDisplay(w)}
	}
	return &progress{d: &plainDisplay{w: w}}
}

func (p *progress) start(name string) *vertex {
	p.mu.Lock()
	p.n++
	v := &vertex{p: p, id: p.n, start: time.Now()}
	p.mu.Unlock()
	p.d.start(v, name)
	return v
}

// classicSteps is a display that shows every instruction as a step of its own (the classic
// builder's); the others show only the steps that may make a layer, as BuildKit does.
type classicSteps interface {
	instruction(n, total int, text string)
	metaCached()
}

// classic reports whether progress shows the classic builder's steps.
func (p *progress) classic() bool {
	_, ok := p.d.(classicSteps)
	return ok
}

// instruction announces the nth of total instructions of the Dockerfile (classic display only).
func (p *progress) instruction(n, total int, text string) {
	if c, ok := p.d.(classicSteps); ok {
		c.instruction(n, total, text)
	}
}

// metaCached says that the metadata instruction just announced was found in the cache.
func (p *progress) metaCached() {
	if c, ok := p.d.(classicSteps); ok {
		c.metaCached()
	}
}

// classicIDs is a display that names the classic builder's objects: the base image after FROM,
// the container a RUN runs in, and its removal.
type classicIDs interface {
	baseImage(id string)
	runningIn(v *vertex, id string)
	removedContainer(v *vertex, id string)
}

// baseImage shows the image a stage starts from (classic display only; "" for scratch).
func (p *progress) baseImage(id string) {
	if c, ok := p.d.(classicIDs); ok {
		c.baseImage(id)
	}
}

// runningIn says which container runs v's command (classic display only).
func (v *vertex) runningIn(id string) {
	if c, ok := v.p.d.(classicIDs); ok {
		c.runningIn(v, id)
	}
}

// removedContainer says that the container of v's command was removed (classic display only).
func (v *vertex) removedContainer(id string) {
	if c, ok := v.p.d.(classicIDs); ok {
		c.removedContainer(v, id)
	}
}

// close ends the display: the tty view paints its last frame and the logs of failed steps.
func (p *progress) close() { p.d.close() }

func (v *vertex) status(f string, args ...any) { v.p.d.status(v, fmt.Sprintf(f, args...)) }

func (v *vertex) log(f string, args ...any) { v.p.d.message(v, fmt.Sprintf(f, args...)) }

func (v *vertex) output(dt time.Duration, line string) { v.p.d.output(v, dt, line) }

// stderrDisplay is a display that tells a command's stderr from its stdout (the classic
// builder's colours it); the others show both as output.
type stderrDisplay interface {
	errOutput(v *vertex, dt time.Duration, line string)
}

func (v *vertex) errOutput(dt time.Duration, line string) {
	if d, ok := v.p.d.(stderrDisplay); ok {
		d.errOutput(v, dt, line)
		return
	}
	v.p.d.output(v, dt, line)
}

func (v *vertex) done() { v.p.d.done(v) }

func (v *vertex) cached() { v.p.d.cached(v) }

func (v *vertex) fail(err error) { v.p.d.fail(v, err) }

// plainDisplay prints BuildKit's plain progress: each step is a numbered vertex ("#N name"), its
// log lines, and how it ended (DONE with its duration, CACHED, or ERROR).
type plainDisplay struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *plainDisplay) printf(f string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, f, args...)
}

func (p *plainDisplay) start(v *vertex, name string) { p.printf("#%d %s\n", v.id, name) }

func (p *plainDisplay) status(v *vertex, text string) { p.printf("#%d %s done\n", v.id, text) }

func (p *plainDisplay) message(v *vertex, text string) { p.printf("#%d %s\n", v.id, text) }

func (p *plainDisplay) output(v *vertex, dt time.Duration, line string) {
	p.printf("#%d %.3f %s\n", v.id, dt.Seconds(), line)
}

func (p *plainDisplay) done(v *vertex) {
	p.printf("#%d DONE %.1fs\n\n", v.id, time.Since(v.start).Seconds())
}

func (p *plainDisplay) cached(v *vertex) { p.printf("#%d CACHED\n\n", v.id) }

func (p *plainDisplay) fail(v *vertex, err error) { p.printf("#%d ERROR: %v\n", v.id, err) }

func (p *plainDisplay) close() {}
