package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/compose"
)

// composeTTY is Docker Compose's live view on a terminal: one line per object with its latest
// status and time, under a "[+] Running done/total" header, redrawn in place as events come.
type composeTTY struct {
	w      io.Writer
	mu     sync.Mutex
	order  []string
	lines  map[string]*ttyLine
	drawn  int
	header string
}

type ttyLine struct {
	ev      compose.Event
	start   time.Time
	elapsed time.Duration
	done    bool
}

// doneStatuses are the events after which an object's step is over.
var doneStatuses = map[string]bool{
	"Created": true, "Started": true, "Healthy": true, "Exited": true, "Running": true, "Removed": true,
	"Stopped": true, "Recreated": true, "Built": true, "Pulled": true, "Pushed": true, "Killed": true,
	"Paused": true, "Unpaused": true, "Restarted": true,
}

func newComposeTTY(w io.Writer) *composeTTY {
	return &composeTTY{w: w, lines: map[string]*ttyLine{}, header: "Running"}
}

func (p *composeTTY) event(e compose.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.TrimSpace(e.Kind + " " + e.Name)
	l, ok := p.lines[key]
	if !ok {
		l = &ttyLine{start: time.Now()}
		p.lines[key] = l
		p.order = append(p.order, key)
	}
	if l.done && !doneStatuses[e.Status] {
		l.start = time.Now() // a new step on the same object (Stopped, then Removing)
	}
	l.ev, l.done = e, doneStatuses[e.Status] || e.Err
	l.elapsed = time.Since(l.start)
	p.draw()
}

func (p *composeTTY) draw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn) // back to the header
	}
	done := 0
	for _, k := range p.order {
		if p.lines[k].done {
			done++
		}
	}
	fmt.Fprintf(&b, "\x1b[2K[+] %s %d/%d\n", p.header, done, len(p.order))
	for _, k := range p.order {
		l := p.lines[k]
		mark := "\x1b[34m⠿\x1b[0m"
		switch {
		case l.ev.Err:
			mark = "\x1b[31m✘\x1b[0m"
		case l.done:
			mark = "\x1b[32m✔\x1b[0m"
		}
		fmt.Fprintf(&b, "\x1b[2K %s %-40s %-12s %.1fs\n", mark, k, l.ev.Status, l.elapsed.Seconds())
	}
	p.drawn = len(p.order) + 1
	io.WriteString(p.w, b.String())
}
