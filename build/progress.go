package build

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints BuildKit's plain progress: each step is a numbered vertex ("#N name"), its log
// lines, and how it ended (DONE with its duration, CACHED, or ERROR).
type progress struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

type vertex struct {
	p     *progress
	id    int
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) printf(f string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, f, args...)
}

func (p *progress) start(name string) *vertex {
	p.mu.Lock()
	p.n++
	v := &vertex{p: p, id: p.n, start: time.Now()}
	p.mu.Unlock()
	p.printf("#%d %s\n", v.id, name)
	return v
}

func (v *vertex) log(f string, args ...any) {
	v.p.printf("#%d %s\n", v.id, fmt.Sprintf(f, args...))
}

func (v *vertex) done() {
	v.p.printf("#%d DONE %.1fs\n\n", v.id, time.Since(v.start).Seconds())
}

func (v *vertex) cached() { v.p.printf("#%d CACHED\n\n", v.id) }

func (v *vertex) fail(err error) { v.p.printf("#%d ERROR: %v\n", v.id, err) }
