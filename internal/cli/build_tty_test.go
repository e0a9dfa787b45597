package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/internal/vtscreen"
	"github.com/creack/pty"
)

// The progress mode is chosen as BuildKit chooses it: auto is the tty view on a terminal and
// plain elsewhere; tty on what is not a terminal fails.
func TestChooseProgress(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	file, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var buf bytes.Buffer
	for _, c := range []struct {
		mode string
		w    io.Writer
		want string
		err  string
	}{
		{"auto", tty, build.ProgressTTY, ""},
		{"tty", tty, build.ProgressTTY, ""},
		{"plain", tty, build.ProgressPlain, ""},
		{"auto", file, build.ProgressPlain, ""},
		{"auto", &buf, build.ProgressPlain, ""},
		{"plain", &buf, build.ProgressPlain, ""},
		{"tty", file, "", "failed to get console: provided file is not a console"},
		{"tty", &buf, "", "failed to get console: output is not a file"},
	} {
		got, err := chooseProgress(c.mode, c.w)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
			t.Errorf("%s on %T: %q, %v; want %q, %q", c.mode, c.w, got, err, c.want, c.err)
		}
	}
	// The mode is checked before anything is built; -q shows no progress, so any mode does.
	ctx := t.TempDir()
	if _, errs, code := slRun(t, nil, "build", "--progress", "tty", ctx); code != 1 || errs != "Error: failed to get console: output is not a file\n" {
		t.Errorf("--progress tty into a buffer: %d %q", code, errs)
	}
	t.Setenv("BUILDKIT_PROGRESS", "tty")
	if _, errs, code := slRun(t, nil, "build", ctx); code != 1 || !strings.Contains(errs, "failed to get console") {
		t.Errorf("BUILDKIT_PROGRESS=tty: %d %q", code, errs)
	}
	t.Setenv("BUILDKIT_PROGRESS", "fancy")
	if _, errs, code := slRun(t, nil, "build", ctx); code != 1 || !strings.Contains(errs, `invalid progress mode "fancy"`) {
		t.Errorf("BUILDKIT_PROGRESS=fancy: %d %q", code, errs)
	}
	// The flag, when set, wins over the variable.
	if _, errs, code := slRun(t, nil, "build", "--progress", "plain", filepath.Join(ctx, "nosuch")); code != 1 || !strings.Contains(errs, "unable to prepare context") {
		t.Errorf("--progress plain with BUILDKIT_PROGRESS set: %d %q", code, errs)
	}
}

// ptyRun runs berth on a terminal of 30×100 and returns all it wrote there and its exit code.
func ptyRun(t *testing.T, e *ctrEnv, args ...string) (string, int) {
	t.Helper()
	c := e.cmd(args...)
	c.Env = append(c.Env, "NO_COLOR=", "BUILDKIT_PROGRESS=")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&out, f); close(read) }()
	code := waitCode(t, c, 60*time.Second, &out)
	select {
	case <-read:
	case <-time.After(2 * time.Second):
	}
	return out.String(), code
}

// termScreen is what a terminal shows after out (see vtscreen).
func termScreen(t *testing.T, out string) []string {
	t.Helper()
	lines, err := vtscreen.Lines(out)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// berth build on a terminal shows BuildKit's live view: a header, a line per step, a running
// step's output under it, repainted in place; the final screen is the whole view, CACHED on a
// rebuild, and a failed step's log after it.
func TestBuildProgressTTY(t *testing.T) {
	e := newCtrEnv(t)
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nCOPY f /f\n"+
		"RUN echo compiling; sleep 0.6; echo linked\n"), 0o644)

	out, code := ptyRun(t, e, "build", "-t", "tty:1", ctx)
	if code != 0 {
		t.Fatalf("build: %d\n%q", code, out)
	}
	// Live frames: the RUN's output under it while it runs, painted over with cursor-up.
	if !strings.Contains(out, "\x1b[2m => => # compiling\x1b[0m") || !strings.Contains(out, "\x1b[K\r\n") || !regexp.MustCompile(`\x1b\[\d+A`).MatchString(out) {
		t.Errorf("no live frame with the RUN's output:\n%q", out)
	}
	if strings.Contains(out, "#1 [internal]") {
		t.Errorf("plain progress on a terminal:\n%q", out)
	}
	screen := termScreen(t, out)
	text := strings.Join(screen, "\n")
	if !regexp.MustCompile(`^\[\+\] Building \d+\.\ds \((\d+)/(\d+)\) FINISHED$`).MatchString(screen[0]) {
		t.Errorf("header: %q\n%s", screen[0], text)
	}
	m := regexp.MustCompile(`\((\d+)/(\d+)\)`).FindStringSubmatch(screen[0])
	if m == nil || m[1] != m[2] {
		t.Errorf("header counts: %q", screen[0])
	}
	steps := regexp.MustCompile(`(?m)^ => (.*?) +(\d+\.\ds)$`)
	var names []string
	for _, l := range screen[1:] {
		if len(l) > 99 {
			t.Errorf("line wider than the screen: %q", l)
		}
		sm := steps.FindStringSubmatch(l)
		if sm == nil {
			t.Errorf("not a step line: %q\n%s", l, text)
			continue
		}
		names = append(names, sm[1])
	}
	want := []string{"[internal] load build definition from Dockerfile", "=> transferring dockerfile: ", "[internal] load .dockerignore",
		"[internal] load build context", "[internal] load metadata for docker.io/library/bb:1", "[1/3] FROM docker.io/library/bb:1",
		"[2/3] COPY f /f", "[3/3] RUN echo compiling; sleep 0.6; echo linked", "exporting to image", "=> exporting layers",
		"=> writing image sha256:", "=> naming to docker.io/library/tty:1"}
	if len(names) != len(want) {
		t.Fatalf("steps %q\nwant %q", names, want)
	}
	for i := range want {
		if !strings.HasPrefix(names[i], want[i]) {
			t.Errorf("step %d: %q, want %q", i, names[i], want[i])
		}
	}
	if strings.Contains(text, "=> => #") || strings.Contains(text, "------") {
		t.Errorf("output left on the final screen of a build that worked:\n%s", text)
	}
	if d := regexp.MustCompile(`RUN echo compiling.* (\d+\.\d)s`).FindStringSubmatch(text); d == nil || d[1] < "0.6" || len(d[1]) > 3 {
		t.Errorf("RUN's time: %v\n%s", d, text)
	}
	if iid := strings.TrimSpace(e.ok("image", "inspect", "-f", "{{.Id}}", "tty:1")); len(iid) < 30 || !strings.Contains(text, "=> writing image "+iid[:30]) {
		t.Errorf("image %s not in the view:\n%s", iid, text)
	}

	// A rebuild: every step CACHED.
	out, code = ptyRun(t, e, "build", "--progress", "tty", "-t", "tty:1", ctx)
	text = strings.Join(termScreen(t, out), "\n")
	if code != 0 || !strings.Contains(text, "\n => CACHED [2/3] COPY f /f  ") || !strings.Contains(text, "\n => CACHED [3/3] RUN echo compiling;") {
		t.Errorf("rebuild: %d\n%s", code, text)
	}

	// A failed RUN: ERROR in the view, then its whole log between "------" lines, then the error.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nCOPY f /f\nRUN echo compiling; sleep 0.6; echo linked\n"+
		"RUN for i in 1 2 3 4 5 6 7 8; do echo out $i; done; false\n"), 0o644)
	out, code = ptyRun(t, e, "build", ctx)
	screen = termScreen(t, out)
	text = strings.Join(screen, "\n")
	i := 0
	for i < len(screen) && !strings.HasPrefix(screen[i], "------") {
		i++
	}
	if code != 1 || i < 3 || !strings.HasPrefix(screen[i-1], " => ERROR [4/4] RUN for i in") || !strings.HasSuffix(screen[0], "FINISHED") {
		t.Fatalf("failed build: %d\n%s", code, text)
	}
	rest := strings.Join(screen[i:], "\n")
	logs := regexp.MustCompile(`^------\n > \[4/4\] RUN for i in 1 2 3 4 5 6 7 8; do echo out \$i; done; false:\n` +
		`(\d\.\d{3} out \d\n){8}------\nError: Dockerfile:4: .*exit code: 1$`)
	if !logs.MatchString(rest) {
		t.Errorf("after the view:\n%s", rest)
	}

	// auto on a terminal is the view; plain is plain.
	if out, _ := ptyRun(t, e, "build", "--progress", "auto", ctx); !strings.Contains(out, "[+] Building") {
		t.Errorf("auto on a terminal: %q", out)
	}
	if out, _ := ptyRun(t, e, "build", "--progress", "plain", ctx); strings.Contains(out, "[+] Building") || !strings.Contains(out, "#1 [internal] load build definition") {
		t.Errorf("plain on a terminal: %q", out)
	}
}
