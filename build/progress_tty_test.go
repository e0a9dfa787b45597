package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-engine/berth/internal/vtscreen"
)

var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// sampleState is a build in its RUN step: two internal steps (one with a sub-step), a FROM, a
// cached COPY and a RUN with output.
func sampleState() *ttyState {
	s := newTTYState()
	v := s.add(1, "[internal] load build definition from Dockerfile", at(0))
	v.end, v.subs = at(20), []string{"transferring dockerfile: 75B"}
	v = s.add(2, "[internal] load metadata for docker.io/library/bb:1", at(20))
	v.end = at(30)
	v = s.add(3, "[1/3] FROM docker.io/library/bb:1", at(30))
	v.end = at(30)
	v = s.add(4, "[2/3] COPY f /f", at(40))
	v.end, v.cached = at(41), true
	v = s.add(5, "[3/3] RUN make -j2 all", at(100))
	for i := 1; i <= 8; i++ {
		v.logs = append(v.logs, ttyLog{dt: time.Duration(i) * 100 * time.Millisecond, text: fmt.Sprintf("cc -c file%d.c", i)})
	}
	v.logs[6].text = "a very long line of compiler output that does not fit in the narrow screen at all"
	v.logs[5].text = "   " // blank: not shown
	return s
}

func frameText(lines []ttyLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteString("|\n") // the bar shows where each line ends
	}
	return b.String()
}

func TestTTYRenderRunning(t *testing.T) {
	got := frameText(sampleState().render(60, 24, at(2300), false))
	want := "" +
		"[+] Building 2.3s (4/5)|\n" +
		" => [internal] load build definition from Dockerfile   0.0s|\n" +
		" => => transferring dockerfile: 75B                    0.0s|\n" +
		" => [internal] load metadata for docker.io/library/bb  0.0s|\n" +
		" => [1/3] FROM docker.io/library/bb:1                  0.0s|\n" +
		" => CACHED [2/3] COPY f /f                             0.0s|\n" +
		" => [3/3] RUN make -j2 all                             2.2s|\n" +
		" => => # cc -c file3.c|\n" +
		" => => # cc -c file4.c|\n" +
		" => => # cc -c file5.c|\n" +
		" => => # a very long line of compiler output that does not |\n" +
		" => => # cc -c file8.c|\n"
	if got != want {
		t.Errorf("frame:\n%s\nwant:\n%s", got, want)
	}
	for _, l := range strings.Split(strings.TrimSuffix(got, "|\n"), "|\n") {
		if n := len(l); n > 59 {
			t.Errorf("line of %d characters on a 60-column screen: %q", n, l)
		}
	}
}

// The final frame has every line, no output, and FINISHED once every step is complete; the
// error logs follow with each line's time.
func TestTTYRenderFinalError(t *testing.T) {
	s := sampleState()
	v := s.vertices[4]
	v.end, v.failed = at(1234), true
	got := frameText(s.render(70, 5, at(1300), true))
	want := "" +
		"[+] Building 1.3s (5/5) FINISHED|\n" +
		" => [internal] load build definition from Dockerfile             0.0s|\n" +
		" => => transferring dockerfile: 75B                              0.0s|\n" +
		" => [internal] load metadata for docker.io/library/bb:1          0.0s|\n" +
		" => [1/3] FROM docker.io/library/bb:1                            0.0s|\n" +
		" => CACHED [2/3] COPY f /f                                       0.0s|\n" +
		" => ERROR [3/3] RUN make -j2 all                                 1.1s|\n"
	if got != want {
		t.Errorf("frame:\n%s\nwant:\n%s", got, want)
	}
	if st := s.render(70, 5, at(1300), true); st[6].style != styleError || st[5].style != styleDone {
		t.Errorf("styles: %+v", st)
	}
	v.logs = v.logs[:2]
	v.logs = append(v.logs, ttyLog{dt: 12345 * time.Millisecond, text: "make: *** [all] Error 1"},
		ttyLog{dt: 123456 * time.Millisecond, text: "late"})
	wantLogs := "------\n > [3/3] RUN make -j2 all:\n0.100 cc -c file1.c\n0.200 cc -c file2.c\n12.35 make: *** [all] Error 1\n123.5 late\n------\n"
	if got := s.errorLogs(); got != wantLogs {
		t.Errorf("error logs:\n%q\nwant\n%q", got, wantLogs)
	}
	// A canceled step is shown so and has no log block.
	v.canceled = true
	if got := s.render(70, 20, at(1300), true); got[6].text[:20] != " => CANCELED [3/3] R" || got[6].style != styleCanceled {
		t.Errorf("canceled: %q", got[6].text)
	}
	if got := s.errorLogs(); got != "" {
		t.Errorf("canceled step has error logs: %q", got)
	}
}

// A live frame fits the screen: running steps stay, the oldest finished lines go, and output is
// shown only while there is room for it.
func TestTTYRenderSmallScreen(t *testing.T) {
	s := sampleState()
	r := s.add(6, "[stage-1 2/2] RUN sleep 5", at(200))
	r.logs = []ttyLog{{text: "waiting"}}
	got := frameText(s.render(50, 8, at(1000), false))
	want := "" +
		"[+] Building 1.0s (4/6)|\n" +
		" => => transferring dockerfile: 75B          0.0s|\n" +
		" => [internal] load metadata for docker.io/  0.0s|\n" +
		" => [1/3] FROM docker.io/library/bb:1        0.0s|\n" +
		" => CACHED [2/3] COPY f /f                   0.0s|\n" +
		" => [3/3] RUN make -j2 all                   0.9s|\n" +
		" => [stage-1 2/2] RUN sleep 5                0.8s|\n"
	if got != want {
		t.Errorf("frame:\n%s\nwant:\n%s", got, want)
	}
	// Two running steps with output on a tall screen: both show their output.
	got = frameText(s.render(50, 40, at(1000), false))
	if !strings.Contains(got, "RUN sleep 5                0.8s|\n => => # waiting|\n") || strings.Count(got, "=> => #") != 6 {
		t.Errorf("tall screen:\n%s", got)
	}
	// A screen too narrow for names shows the header alone.
	if got := s.render(12, 40, at(1000), false); len(got) != 1 || got[0].text != "[+] Buildin" {
		t.Errorf("narrow screen: %+v", got)
	}
	if got := newTTYState().render(80, 24, at(0), true); got != nil {
		t.Errorf("no steps: %+v", got)
	}
}

func TestFitJobs(t *testing.T) {
	var jobs []*ttyJob
	for i, r := range []bool{true, false, false, true, false, false} {
		jobs = append(jobs, &ttyJob{name: strconv.Itoa(i), running: r})
	}
	names := func(js []*ttyJob) string {
		var s string
		for _, j := range js {
			s += j.name
		}
		return s
	}
	for limit, want := range map[int]string{0: "", 1: "3", 2: "03", 3: "035", 4: "0345", 6: "012345", 9: "012345"} {
		if got := names(fitJobs(jobs, limit)); got != want {
			t.Errorf("limit %d: %q, want %q", limit, got, want)
		}
	}
}

func TestScreenText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                   "plain",
		"a\tb":                    "a       b",
		"é\tx":                    "é       x",
		"10%\r50%\r100%":          "100%",
		"crlf\r":                  "crlf",
		"\x1b[31mred\x1b[0m text": "red text",
		"\x1b[2Kcleared\x07":      "cleared",
		"\x1b(Bcharset":           "charset",
	} {
		if got := screenText(in); got != want {
			t.Errorf("screenText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := truncRunes("héllo", 2); got != "hé" {
		t.Errorf("truncRunes: %q", got)
	}
}

// screen is what a terminal shows after out (see vtscreen).
func screen(t *testing.T, out string) []string {
	t.Helper()
	lines, err := vtscreen.Lines(out)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// Frames painted one over another leave the screen showing the last one alone, whether it has
// more lines than the one before or fewer, and the text before the view stays.
func TestPaintFrame(t *testing.T) {
	a := []ttyLine{{text: "[+] Building 0.1s (0/1)"}, {text: " => step one   0.1s"}, {text: " => => # out 1", style: styleLog}, {text: " => => # out 2", style: styleLog}}
	b := []ttyLine{{text: "[+] Building 0.2s (1/1)"}, {text: " => step   0.2s", style: styleDone}}
	c := []ttyLine{{text: "[+] Building 0.3s (1/2)"}, {text: " => step   0.2s", style: styleDone}, {text: " => two   0.0s"}, {text: " => => # x", style: styleLog}, {text: " => => # y", style: styleLog}}
	var out strings.Builder
	out.WriteString("$ berth build .\n")
	prev := 0
	for _, f := range [][]ttyLine{a, b, c, b} {
		out.WriteString(paintFrame(prev, f, true))
		prev = len(f)
	}
	got := strings.Join(screen(t, out.String()), "\n")
	want := "$ berth build .\n[+] Building 0.2s (1/1)\n => step   0.2s"
	if got != want {
		t.Errorf("screen:\n%s\nwant:\n%s", got, want)
	}
	if s := paintFrame(4, b, true); s != "\x1b[?25l\x1b[4A\r[+] Building 0.2s (1/1)\x1b[K\n\r\x1b[34m => step   0.2s\x1b[0m\x1b[K\n\x1b[2K\n\x1b[2K\n\x1b[2A\x1b[?25h" {
		t.Errorf("paint: %q", s)
	}
	if s := paintFrame(0, b, false); strings.Contains(s, "\x1b[34m") || strings.Contains(s, "A\r") {
		t.Errorf("paint without colour or previous frame: %q", s)
	}
}

// The display itself: events from the build, painted on a ticker and once at the end, with
// the failed step's log after the view.
func TestTTYDisplay(t *testing.T) {
	var buf syncBuffer
	d := newTTYDisplay(&buf)
	d.mu.Lock()
	d.color, d.size = false, func() (int, int) { return 60, 20 }
	d.mu.Unlock()
	p := &progress{d: d}
	v := p.start("[internal] load build definition from Dockerfile")
	v.status("transferring dockerfile: %dB", 42)
	v.done()
	v = p.start("[1/2] FROM docker.io/library/bb:1")
	v.done()
	v = p.start("[2/2] RUN echo hi; false")
	v.output(5*time.Millisecond, "hi")
	time.Sleep(3 * ttyRefresh / 2)
	if s := buf.String(); !strings.Contains(s, "[+] Building ") || !strings.Contains(s, "=> => # hi") {
		t.Errorf("no live frame with the output after %v: %q", 3*ttyRefresh/2, s)
	}
	v.fail(errors.New("exit code: 1"))
	p.close()
	p.close() // a second close does nothing
	lines := screen(t, buf.String())
	got := strings.Join(lines, "\n")
	if !strings.HasPrefix(lines[0], "[+] Building ") || !strings.HasSuffix(lines[0], "(3/3) FINISHED") {
		t.Errorf("header: %q", lines[0])
	}
	want := "" +
		" => [internal] load build definition from Dockerfile   0.0s\n" +
		" => => transferring dockerfile: 42B                    0.0s\n" +
		" => [1/2] FROM docker.io/library/bb:1                  0.0s\n" +
		" => ERROR [2/2] RUN echo hi; false"
	if !strings.Contains(got, want) || strings.Contains(got, "=> => # hi") {
		t.Errorf("screen:\n%s\nwant it to contain:\n%s", got, want)
	}
	if !strings.HasSuffix(got, "s\n------\n > [2/2] RUN echo hi; false:\n0.005 hi\n------") {
		t.Errorf("error logs:\n%s", got)
	}
	// A context canceled step is CANCELED, with no log block.
	var buf2 syncBuffer
	d = newTTYDisplay(&buf2)
	p = &progress{d: d}
	p.start("[1/1] RUN sleep 9").fail(fmt.Errorf("RUN sleep 9: %w", context.Canceled))
	p.close()
	if s := buf2.String(); !strings.Contains(s, "CANCELED [1/1] RUN sleep 9") || strings.Contains(s, "------") {
		t.Errorf("canceled: %q", s)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
