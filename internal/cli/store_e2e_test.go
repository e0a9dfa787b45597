package cli

// End-to-end tests of the store's robustness (issue 12): interrupted builds, a lost database.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/go-units"
)

// waitOutput polls out until it holds s; false after a minute.
func waitOutput(out *lockedBuffer, s string) bool {
	return waitFor(time.Minute, nil, "", func() bool { return strings.Contains(out.String(), s) })
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
	// What a killed build leaves (its RUN's mount and runc container) is issue 12 §3, not this
	// test's: clean it up, so the host is left as it was.
	t.Cleanup(func() { cleanupKilledBuilds(t, e) })
	e.ok("build", "--network", "none", "-t", "k:1", ctx)
	points := []struct {
		after string
		delay time.Duration
	}{
		{"[2/3] RUN", 0}, {"[2/3] RUN", 150 * time.Millisecond}, {"[2/3] RUN", 400 * time.Millisecond},
		{"[2/3] RUN", 700 * time.Millisecond}, {"[3/3] RUN", 0}, {"[3/3] RUN", 100 * time.Millisecond},
	}
	for i, p := range points {
		c := e.cmd("build", "--network", "none", "--no-cache", "-t", "k:1", ctx)
		var out lockedBuffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		if !waitOutput(&out, p.after) {
			c.Process.Kill()
			c.Wait()
			t.Fatalf("kill point %d: %q never showed:\n%s", i, p.after, out.String())
		}
		time.Sleep(p.delay)
		c.Process.Kill()
		c.Wait()
		stdout, stderr, code := e.run("build", "--network", "none", "-t", "k:1", ctx)
		if code != 0 {
			t.Fatalf("kill point %d (%s +%s): the next build failed (%d):\n%s%s", i, p.after, p.delay, code, stdout, stderr)
		}
		built := stdout + stderr
		got, stderr, code := e.run("run", "--rm", "k:1", "cat", "/b", "/c")
		if code != 0 || got != "b\nc\n" {
			t.Fatalf("kill point %d (%s +%s): the image does not run: %d %q %s\nbuild:\n%s", i, p.after, p.delay, code, got, stderr, built)
		}
	}
	// Every layer the database records is on disk.
	out := e.ok("system", "check")
	if !strings.Contains(out, "no problems found") {
		t.Errorf("system check after the kills:\n%s", out)
	}
}

// cleanupKilledBuilds removes the runc containers and mounts that builds killed with -9 left.
func cleanupKilledBuilds(t *testing.T, e *ctrEnv) {
	runcRoot := filepath.Join(e.root, "runtime", "runc")
	ents, _ := os.ReadDir(runcRoot)
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), "build-") {
			exec.Command("runc", "--root", runcRoot, "delete", "-f", ent.Name()).Run()
		}
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if f := strings.Fields(lines[i]); len(f) > 4 && strings.HasPrefix(f[4], filepath.Join(e.root, "builds")+"/") {
			syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
}

func countEntries(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A lost database: every command refuses the root (exit 125, naming the file and the way out)
// and `system prune -a -f` deletes nothing; `system check --repair` brings the images back
// (untagged) and they run (issue 12 §1).
func TestLostDatabaseIsRefusedAndRepaired(t *testing.T) {
	e := newCtrEnv(t)
	id := strings.TrimSpace(e.ok("images", "-q", "--no-trunc", "bb:1"))
	e.ok("run", "--rm", "--network", "none", "-v", "keep:/data", "bb:1", "sh", "-c", "echo precious > /data/f")
	blobs, layers := countEntries(t, filepath.Join(e.root, "blobs", "sha256")), countEntries(t, filepath.Join(e.root, "layers"))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(e.root, "state.db") + suffix)
	}
	for _, args := range [][]string{{"images"}, {"ps", "-a"}, {"system", "prune", "-a", "-f"}, {"image", "prune", "-a", "-f"}, {"run", "--rm", "bb:1", "true"}} {
		out, stderr, code := e.run(args...)
		if code != 125 || !strings.Contains(stderr, filepath.Join(e.root, "state.db")+" is missing or empty") ||
			!strings.Contains(stderr, "system check --repair") || strings.Count(stderr, "\n") > 1 {
			t.Errorf("berth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
		}
	}
	if b, l := countEntries(t, filepath.Join(e.root, "blobs", "sha256")), countEntries(t, filepath.Join(e.root, "layers")); b != blobs || l != layers {
		t.Fatalf("content removed: %d/%d blobs, %d/%d layers", b, blobs, l, layers)
	}
	out := e.ok("system", "check", "--repair")
	if !strings.Contains(out, "image "+id+" recovered") || !strings.Contains(out, "without names") {
		t.Errorf("repair:\n%s", out)
	}
	e.ok("tag", id, "bb:1")
	if got := e.ok("run", "--rm", "bb:1", "echo", "back"); got != "back\n" {
		t.Errorf("run after repair: %q", got)
	}
	if !strings.Contains(out, "volume keep recorded again") || !strings.Contains(e.ok("volume", "ls", "-q"), "keep") {
		t.Errorf("the volume was not recorded again:\n%s", out)
	}
	if got := e.ok("run", "--rm", "--network", "none", "-v", "keep:/data", "bb:1", "cat", "/data/f"); got != "precious\n" {
		t.Errorf("the volume's data after repair: %q", got)
	}
	if out := e.ok("fsck"); !strings.Contains(out, "no problems found") {
		t.Errorf("fsck after repair:\n%s", out)
	}
}

// `system prune -a` empties the build cache as Docker's does, and its total counts every byte
// it freed: the container's writes, the images' layers, and the layers only the cache held
// (issue 12 §5; it left the cache, and the images' layers the cache held counted 0B).
func TestSystemPruneAllEmptiesBuildCache(t *testing.T) {
	e := newCtrEnv(t)
	ctx := filepath.Join(e.root, "ctx")
	os.MkdirAll(ctx, 0o755)
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\nCOPY big /big\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "big"), bytes.Repeat([]byte("x"), 100000), 0o644)
	e.ok("build", "-q", "-t", "p:1", ctx)
	e.ok("run", "--network", "none", "--name", "writer", "bb:1", "dd", "if=/dev/zero", "of=/y", "bs=1024", "count=200")
	var bbSize int64
	fmt.Sscan(e.ok("image", "inspect", "-f", "{{.Size}}", "bb:1"), &bbSize)
	out := e.ok("system", "prune", "-a", "-f")
	if !strings.Contains(out, "Deleted build cache objects:\n") {
		t.Errorf("no build cache section:\n%s", out)
	}
	want := "Total reclaimed space: " + units.HumanSize(float64(bbSize+100000+200*1024)) + "\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("want %q:\n%s", want, out)
	}
	if got := e.ok("system", "df", "--format", "{{.Type}} {{.TotalCount}}"); !strings.Contains(got, "Build Cache 0") {
		t.Errorf("system df after prune -a:\n%s", got)
	}
}

// A container that ends after its shim was killed is reported exited (255), and State.Error
// says why (issue 12 §5: it said nothing).
func TestShimKilledContainerSaysWhy(t *testing.T) {
	e := newCtrEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "bb:1", "sleep", "2"))
	shim := findProcess(t, "container-shim\x00"+id)
	if err := syscall.Kill(shim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var got string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = e.inspect(id, "{{.State.Status}} {{.State.ExitCode}}"); got != "running 0" {
			break
		}
	}
	if got != "exited 255" {
		t.Fatalf("after the container ended: %q", got)
	}
	if msg := e.inspect(id, "{{.State.Error}}"); !strings.Contains(msg, "supervisor") || !strings.Contains(msg, "exit status is unknown") {
		t.Errorf("State.Error = %q", msg)
	}
	e.ok("start", id)
	if msg := e.inspect(id, "{{.State.Error}}"); msg != "" {
		t.Errorf("State.Error after a new start: %q", msg)
	}
}
