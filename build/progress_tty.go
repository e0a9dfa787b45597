package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// The tty view is BuildKit's progressui console display, rebuilt from its documented behaviour:
// a "[+] Building" header with the elapsed time and completed/total steps, one " => " line per
// step in the order they started with its time on the right, the last lines of a running step's
// output beneath it (" => => # "), repainted in place; when the build ends a last full frame,
// then the whole log of each failed step between "------" lines.

const (
	ttyRefresh  = 100 * time.Millisecond // how often the view is repainted
	ttyLogLines = 6                      // output lines shown under a running step
	ttyLogPad   = 10                     // output lines are this much narrower than the screen
	ttyMinName  = 12                     // no step line on a screen narrower than this
)

// ttyState is what the view shows: the steps and their sub-steps and output. render makes a
// frame of it.
type ttyState struct {
	vertices []*ttyVertex
	byID     map[int]*ttyVertex
	logLines int // output lines under a running step
}

type ttyVertex struct {
	name       string
	start, end time.Time // end is zero while the step runs
	cached     bool
	failed     bool
	canceled   bool
	subs       []string // finished sub-steps and messages, in order
	logs       []ttyLog // output, kept while the step runs and when it failed
}

type ttyLog struct {
	dt   time.Duration // since the command started
	text string
}

func newTTYState() *ttyState {
	return &ttyState{byID: map[int]*ttyVertex{}, logLines: ttyLogLines}
}

func (s *ttyState) add(id int, name string, start time.Time) *ttyVertex {
	v := &ttyVertex{name: name, start: start}
	s.vertices = append(s.vertices, v)
	s.byID[id] = v
	return v
}

// ttyStyle is how a line of the view is coloured.
type ttyStyle int

const (
	styleNone     ttyStyle = iota
	styleDone              // a finished step
	styleError             // a failed step
	styleCanceled          // a canceled step
	styleLog               // a line of a running step's output
)

type ttyLine struct {
	text  string
	style ttyStyle
}

// ttyJob is one " => " line: a step or one of its sub-steps.
type ttyJob struct {
	name     string
	dur      time.Duration
	running  bool
	style    ttyStyle
	v        *ttyVertex // the step, for a step's line
	showLogs bool
}

// render is the view at now on a screen of width×height. A live frame fits the screen (the
// oldest finished lines give way, running steps stay) and shows the output of running steps
// while there is room; the final frame has every line.
func (s *ttyState) render(width, height int, now time.Time, final bool) []ttyLine {
	if len(s.vertices) == 0 {
		return nil
	}
	completed := 0
	var jobs []*ttyJob
	for _, v := range s.vertices {
		j := &ttyJob{name: v.name, v: v, style: styleDone}
		end := v.end
		if end.IsZero() {
			end, j.running, j.style = now, true, styleNone
		} else {
			completed++
		}
		j.dur = end.Sub(v.start)
		switch {
		case v.canceled:
			j.name, j.style = "CANCELED "+j.name, styleCanceled
		case v.failed:
			j.name, j.style = "ERROR "+j.name, styleError
		}
		if v.cached {
			j.name = "CACHED " + j.name
		}
		jobs = append(jobs, j)
		for _, sub := range v.subs {
			jobs = append(jobs, &ttyJob{name: "=> " + sub, style: styleDone})
		}
	}
	header := fmt.Sprintf("[+] Building %.1fs (%d/%d)", now.Sub(s.vertices[0].start).Seconds(), completed, len(s.vertices))
	if final && completed == len(s.vertices) {
		header += " FINISHED"
	}
	out := []ttyLine{{text: truncRunes(header, width-1)}}

	if !final {
		// Output is shown under running steps while the screen has room for it, the earliest
		// steps first.
		running := 0
		for _, j := range jobs {
			if j.running {
				running++
			}
		}
		free := height - 2 - running
		logRows := 0
		for _, j := range jobs {
			if !j.running || len(j.v.logs) == 0 || free <= s.logLines+3 {
				continue
			}
			j.showLogs = true
			free -= s.logLines + 3
			logRows += len(s.tail(j.v, width))
		}
		jobs = fitJobs(jobs, height-2-logRows)
	}
	for _, j := range jobs {
		dur := j.dur.Seconds()
		if dur < 0.05 {
			dur = 0
		}
		timer := fmt.Sprintf(" %3.1fs", dur)
		left := width - len(timer) - 6
		if left < ttyMinName {
			continue // too narrow to show anything useful
		}
		line := " => " + truncRunes(j.name, left)
		line += strings.Repeat(" ", max(0, width-len(timer)-2-utf8.RuneCountInString(line))) + " " + timer
		out = append(out, ttyLine{text: line, style: j.style})
		if j.showLogs {
			for _, l := range s.tail(j.v, width) {
				out = append(out, ttyLine{text: " => => # " + l, style: styleLog})
			}
		}
	}
	return out
}

// tail is what the view shows of a running step's output: of its last lines, those that are
// not blank, each cut to the screen.
func (s *ttyState) tail(v *ttyVertex, width int) []string {
	logs := v.logs
	if len(logs) > s.logLines {
		logs = logs[len(logs)-s.logLines:]
	}
	var out []string
	for _, l := range logs {
		text := truncRunes(screenText(l.text), width-ttyLogPad)
		if strings.TrimSpace(text) != "" {
			out = append(out, text)
		}
	}
	return out
}

// fitJobs keeps at most limit lines: every running step, then the latest finished lines, in
// their order.
func fitJobs(jobs []*ttyJob, limit int) []*ttyJob {
	if limit <= 0 {
		return nil
	}
	if len(jobs) <= limit {
		return jobs
	}
	keep := make([]bool, len(jobs))
	n := 0
	for i, j := range jobs {
		if j.running {
			keep[i] = true
			n++
		}
	}
	for i := len(jobs) - 1; i >= 0 && n < limit; i-- {
		if !keep[i] {
			keep[i] = true
			n++
		}
	}
	var out []*ttyJob
	for i, j := range jobs {
		if keep[i] {
			out = append(out, j)
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

// errorLogs is what BuildKit prints after the view for each failed step: its name and whole
// output, each line with its time, between "------" lines.
func (s *ttyState) errorLogs() string {
	var b strings.Builder
	for _, v := range s.vertices {
		if !v.failed || v.canceled {
			continue
		}
		fmt.Fprintf(&b, "------\n > %s:\n", v.name)
		for _, l := range v.logs {
			fmt.Fprintf(&b, "%s %s\n", logTime(l.dt), l.text)
		}
		b.WriteString("------\n")
	}
	return b.String()
}

// logTime is an output line's time as BuildKit shows it: three decimals under 10 s, two under
// 100 s, one beyond.
func logTime(dt time.Duration) string {
	sec := dt.Seconds()
	prec := 1
	switch {
	case sec < 10:
		prec = 3
	case sec < 100:
		prec = 2
	}
	return strconv.FormatFloat(sec, 'f', prec, 64)
}

// screenText is what a terminal would show of an output line: what follows its last carriage
// return (a progress bar's latest state), tabs expanded, escape sequences and other control
// characters left out, so that the line cannot move the cursor.
func screenText(s string) string {
	s = strings.TrimRight(s, "\r")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	var b strings.Builder
	col := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case c == 0x1b:
			// CSI: ESC [ parameters final-byte (0x40-0x7e); any other: ESC, intermediate
			// bytes (0x20-0x2f), final byte.
			if i+1 < len(s) && s[i+1] == '[' {
				i += 2
				for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
					i++
				}
			} else {
				i++
				for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
					i++
				}
			}
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
			if c < 0x80 || c >= 0xc0 {
				col++
			}
		}
	}
	return b.String()
}

// truncRunes cuts s to at most n characters.
func truncRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// paintFrame is the bytes that replace the previous frame of prev lines with lines: up to the
// first line of the previous frame, each line written over its own and cleared to the end,
// and the lines the previous frame had beyond this one cleared. The cursor ends on the line
// after the frame, and is hidden meanwhile.
func paintFrame(prev int, lines []ttyLine, color bool) string {
	var b strings.Builder
	b.WriteString("\x1b[?25l")
	if prev > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", prev)
	}
	for _, l := range lines {
		b.WriteByte('\r')
		if sgr := styleSGR(l.style); color && sgr != "" {
			b.WriteString(sgr + l.text + "\x1b[0m")
		} else {
			b.WriteString(l.text)
		}
		b.WriteString("\x1b[K\n")
	}
	if extra := prev - len(lines); extra > 0 {
		b.WriteString(strings.Repeat("\x1b[2K\n", extra))
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	b.WriteString("\x1b[?25h")
	return b.String()
}

// styleSGR is BuildKit's colours: finished steps blue, failed red, canceled yellow, output faint.
func styleSGR(s ttyStyle) string {
	switch s {
	case styleDone:
		return "\x1b[34m"
	case styleError:
		return "\x1b[31m"
	case styleCanceled:
		return "\x1b[33m"
	case styleLog:
		return "\x1b[2m"
	}
	return ""
}

// ttyDisplay keeps the state of the view and repaints it on a ticker.
type ttyDisplay struct {
	mu      sync.Mutex
	w       io.Writer
	size    func() (int, int)
	now     func() time.Time
	color   bool
	st      *ttyState
	painted int // lines of the last frame
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

func newTTYDisplay(w io.Writer) *ttyDisplay {
	d := &ttyDisplay{w: w, size: screenSize(w), now: time.Now, st: newTTYState(),
		color: os.Getenv("NO_COLOR") == "", stop: make(chan struct{}), stopped: make(chan struct{})}
	// BuildKit's knob for the number of output lines under a running step.
	if n, err := strconv.Atoi(os.Getenv("BUILDKIT_TTY_LOG_LINES")); err == nil && n > 0 {
		d.st.logLines = n
	}
	go d.loop()
	return d
}

// screenSize is the size of the terminal w is, 80×10 when it says none (as BuildKit assumes).
func screenSize(w io.Writer) func() (int, int) {
	return func() (int, int) {
		if f, ok := w.(interface{ Fd() uintptr }); ok {
			if width, height, err := term.GetSize(int(f.Fd())); err == nil && width > 0 && height > 0 {
				return width, height
			}
		}
		return 80, 10
	}
}

func (d *ttyDisplay) loop() {
	defer close(d.stopped)
	t := time.NewTicker(ttyRefresh)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			d.paint(false)
			d.mu.Unlock()
		}
	}
}

// paint draws the view over the last frame; d.mu is held.
func (d *ttyDisplay) paint(final bool) {
	width, height := d.size()
	lines := d.st.render(width, height, d.now(), final)
	if len(lines) == 0 && d.painted == 0 {
		return
	}
	io.WriteString(d.w, paintFrame(d.painted, lines, d.color))
	d.painted = len(lines)
}

func (d *ttyDisplay) update(v *vertex, f func(tv *ttyVertex)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if tv := d.st.byID[v.id]; tv != nil {
		f(tv)
	}
}

func (d *ttyDisplay) start(v *vertex, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.add(v.id, name, v.start)
}

func (d *ttyDisplay) status(v *vertex, text string) {
	d.update(v, func(tv *ttyVertex) { tv.subs = append(tv.subs, text) })
}

func (d *ttyDisplay) message(v *vertex, text string) { d.status(v, text) }

func (d *ttyDisplay) output(v *vertex, dt time.Duration, line string) {
	d.update(v, func(tv *ttyVertex) { tv.logs = append(tv.logs, ttyLog{dt: dt, text: line}) })
}

func (d *ttyDisplay) done(v *vertex) {
	now := d.now()
	// The output of a step that worked is not shown again: it is let go.
	d.update(v, func(tv *ttyVertex) { tv.end, tv.logs = now, nil })
}

func (d *ttyDisplay) cached(v *vertex) {
	now := d.now()
	d.update(v, func(tv *ttyVertex) { tv.end, tv.cached, tv.logs = now, true, nil })
}

func (d *ttyDisplay) fail(v *vertex, err error) {
	now := d.now()
	canceled := errors.Is(err, context.Canceled) || strings.HasSuffix(err.Error(), context.Canceled.Error())
	d.update(v, func(tv *ttyVertex) { tv.end, tv.failed, tv.canceled = now, true, canceled })
}

// close paints the last frame, with every line, then the logs of the failed steps.
func (d *ttyDisplay) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	close(d.stop)
	<-d.stopped
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paint(true)
	io.WriteString(d.w, d.st.errorLogs())
}
