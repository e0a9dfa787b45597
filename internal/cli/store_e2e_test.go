package cli

// End-to-end tests of the store's robustness (issue 12): interrupted builds, a lost database.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an output buffer a test reads while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls out until it holds s; false after a minute.
func waitFor(out *lockedBuffer, s string) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out.String(), s) {
			return true
		}
	}
	return false
}

// kill -9 of `build --no-cache` while a RUN runs, or while its layer is stored, must not poison the
// cache: the next build succeeds and its image runs (issue 12 §2).
func TestBuildKill9DuringRunKeepsCacheUsable(t *testing.T) {
	e := newCtrEnv(t)
	ctx := filepath.Join(e.root, "ctx")
	os.MkdirAll(ctx, 0o755)
	// A RUN whose layer differs on every run (random bytes) and is big enough that storing it
	// takes a while, then a second RUN whose cache entry stands on the first one's layer.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\n"+
		"RUN dd if=/dev/urandom of=/big bs=1M count=24 2>/dev/null && echo b > /b\n"+
		"RUN echo c > /c\n"), 0o644)
	e.ok("build", "-t", "k:1", ctx)
	points := []struct {
		after string
		delay time.Duration
	}{
		{"[2/3] RUN", 0}, {"[2/3] RUN", 150 * time.Millisecond}, {"[2/3] RUN", 400 * time.Millisecond},
		{"[2/3] RUN", 700 * time.Millisecond}, {"[3/3] RUN", 0}, {"[3/3] RUN", 100 * time.Millisecond},
	}
	for i, p := range points {
		c := e.cmd("build", "--no-cache", "-t", "k:1", ctx)
		var out lockedBuffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitFor(&out, p.after) {
			c.Process.Kill()
			c.Wait()
			t.Fatalf("kill point %d: %q never showed:\n%s", i, p.after, out.String())
		}
		time.Sleep(p.delay)
		c.Process.Kill()
		c.Wait()
		stdout, stderr, code := e.run("build", "-t", "k:1", ctx)
		if code != 0 {
			t.Fatalf("kill point %d (%s +%s): the next build failed (%d):\n%s%s", i, p.after, p.delay, code, stdout, stderr)
		}
		got, stderr, code := e.run("run", "--rm", "k:1", "cat", "/b", "/c")
		if code != 0 || got != "b\nc\n" {
			t.Fatalf("kill point %d (%s +%s): the image does not run: %d %q %s\nbuild:\n%s", i, p.after, p.delay, code, got, stderr, stdout+stderr)
		}
	}
	// Every layer the database records is on disk.
	out := e.ok("system", "check")
	if !strings.Contains(out, "no problems found") {
		t.Errorf("system check after the kills:\n%s", out)
	}
	_ = fmt.Sprint
}
