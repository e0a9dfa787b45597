package cli

// End-to-end tests of containers: the real berth binary (built once), real runc, real overlayfs,
// a busybox-static image made by the test. They need root and runc and skip without them.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/internal/testenv"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/runtime"
	"github.com/creack/pty"
)

// ctrEnv is one test's berth root with a busybox image "bb:1" in it.
type ctrEnv struct {
	t    *testing.T
	root string
	bin  string
}

func newCtrEnv(t *testing.T) *ctrEnv {
	t.Helper()
	testenv.NeedContainers(t, "container tests")
	if !overlaySupported() {
		t.Skip("container tests need overlayfs")
	}
	berthPath := testenv.Berth(t, "ctr")
	// A short root: overlay options and runc's paths stay well under their limits.
	root, err := os.MkdirTemp("", "bt-")
	if err != nil {
		t.Fatal(err)
	}
	e := &ctrEnv{t: t, root: root, bin: berthPath}
	t.Cleanup(func() { e.cleanup() })
	tarPath := filepath.Join(root, "busybox.tar")
	if err := os.WriteFile(tarPath, busyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("import", tarPath, "bb:1")
	return e
}

// cleanup removes every container (killing what runs), then checks nothing stays mounted.
func (e *ctrEnv) cleanup() {
	out, _, _ := e.run("ps", "-aq", "--no-trunc")
	for _, id := range strings.Fields(out) {
		e.run("rm", "-f", id)
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], e.root+"/") {
				e.t.Errorf("left mounted after the test: %s", f[4])
				syscall.Unmount(f[4], syscall.MNT_DETACH)
			}
		}
	}
	os.RemoveAll(e.root)
}

// busyboxTar is a rootfs tarball like tools/docker-reference.sh makes.
func busyboxTar(t *testing.T) []byte { return testenv.BusyboxRootfs(t) }

func (e *ctrEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command(e.bin, append([]string{"--root", e.root}, args...)...)
	c.Env = append(os.Environ(), "BERTH_ROOT=")
	return c
}

// run runs berth and returns stdout, stderr and the exit code.
func (e *ctrEnv) run(args ...string) (string, string, int) {
	return e.runIn("", args...)
}

func (e *ctrEnv) runIn(stdin string, args ...string) (string, string, int) {
	c := e.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("berth %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs berth, fails the test unless it exits 0, and returns its stdout.
func (e *ctrEnv) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("berth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (e *ctrEnv) inspect(ref, tmpl string) string {
	e.t.Helper()
	return strings.TrimSpace(e.ok("container", "inspect", "-f", tmpl, ref))
}

func TestContainerRunExitCodes(t *testing.T) {
	e := newCtrEnv(t)
	cases := []struct {
		args    []string
		code    int
		stdout  string
		errPart string
	}{
		{[]string{"run", "--rm", "bb:1", "echo", "hello"}, 0, "hello\n", ""},
		{[]string{"run", "--rm", "bb:1", "sh", "-c", "exit 3"}, 3, "", ""},
		{[]string{"run", "--rm", "bb:1", "sh", "-c", "echo to-stderr >&2; exit 0"}, 0, "", ""},
		{[]string{"run", "--rm", "bb:1", "nosuch"}, 127, "", `exec: "nosuch": executable file not found in $PATH`},
		{[]string{"run", "--rm", "bb:1", "/etc"}, 126, "", `exec: "/etc": permission denied`},
		{[]string{"run", "--rm", "-u", "nosuch", "bb:1", "true"}, 125, "", "unable to find user nosuch: no matching entries in passwd file"},
		{[]string{"run", "--rm", "missing:1", "true"}, 125, "", "Unable to find image 'missing:1' locally"},
		{[]string{"run", "--rm", "--entrypoint", "", "bb:1"}, 125, "", "No command specified"},
		{[]string{"run", "--rm", "--bogus-flag", "bb:1"}, 125, "", "unknown flag: --bogus-flag"},
	}
	for _, c := range cases {
		out, errs, code := e.run(c.args...)
		if code != c.code || out != c.stdout || !strings.Contains(errs, c.errPart) {
			t.Errorf("berth %s: exit %d stdout %q stderr %q; want exit %d stdout %q stderr containing %q",
				strings.Join(c.args, " "), code, out, errs, c.code, c.stdout, c.errPart)
		}
	}
	// --rm removed every container, failed ones included.
	if out := e.ok("ps", "-aq"); out != "" {
		t.Errorf("containers left by --rm: %q", out)
	}
	// Without --rm a container that could not start stays, as Docker's does.
	out, _, code := e.run("run", "--name", "bad", "bb:1", "nosuch")
	if code != 127 || out != "" {
		t.Errorf("exit %d", code)
	}
	if st := e.inspect("bad", "{{.State.Status}}"); st != "created" {
		t.Errorf("status after failed start = %q", st)
	}
}

func TestContainerRunMergesImageConfig(t *testing.T) {
	e := newCtrEnv(t)
	tarPath := filepath.Join(e.root, "busybox.tar")
	e.ok("import", "-c", "ENV GREETING=hello FROM=image", "-c", "WORKDIR /srv/app", "-c", "USER nobody",
		"-c", `ENTRYPOINT ["sh", "-c", "echo $GREETING $FROM $0 $(pwd) $(id -un)"]`, "-c", `CMD ["img-cmd"]`, tarPath, "cfg:1")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "cfg:1"}, "hello image img-cmd /srv/app nobody\n"},
		{[]string{"run", "--rm", "-e", "FROM=flag", "cfg:1", "arg"}, "hello flag arg /srv/app nobody\n"},
		{[]string{"run", "--rm", "-w", "/tmp", "-u", "root", "cfg:1"}, "hello image img-cmd /tmp root\n"},
		{[]string{"run", "--rm", "--entrypoint", "echo", "cfg:1"}, "\n"},
		{[]string{"run", "--rm", "--entrypoint", "echo", "cfg:1", "only", "args"}, "only args\n"},
		{[]string{"run", "--rm", "--entrypoint", "", "cfg:1", "pwd"}, "/srv/app\n"},
		// The missing working directory is made root's, whatever the user (Docker 20.10).
		{[]string{"run", "--rm", "--entrypoint", "stat", "cfg:1", "-c", "%u:%g %a %n", "/srv", "/srv/app"}, "0:0 755 /srv\n0:0 755 /srv/app\n"},
	}
	for _, c := range cases {
		out, errs, code := e.run(c.args...)
		if code != 0 || out != c.want {
			t.Errorf("berth %s: exit %d stdout %q stderr %q; want %q", strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
	envFile := filepath.Join(e.root, "env.list")
	os.WriteFile(envFile, []byte("# comment\nFROM_FILE=1\n\nGREETING=file\n"), 0o644)
	out := e.ok("run", "--rm", "--env-file", envFile, "-e", "GREETING=flag", "-h", "myhost", "--entrypoint", "env", "cfg:1")
	want := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=myhost\nFROM_FILE=1\nGREETING=flag\nFROM=image\nHOME=/nonexistent\n"
	if out != want {
		t.Errorf("env =\n%s\nwant\n%s", out, want)
	}
	if out := e.ok("run", "--rm", "-u", "nobody", "bb:1", "id"); out != "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n" {
		t.Errorf("id = %q", out)
	}
	if out := e.ok("run", "--rm", "-u", "1234", "bb:1", "id"); out != "uid=1234 gid=0(root) groups=0(root)\n" {
		t.Errorf("id = %q", out)
	}
}

func TestContainerStdinAndEtcFiles(t *testing.T) {
	e := newCtrEnv(t)
	out, errs, code := e.runIn("hi\nthere\n", "run", "--rm", "-i", "bb:1", "cat")
	if code != 0 || out != "hi\nthere\n" {
		t.Errorf("stdin piping: exit %d out %q err %q", code, out, errs)
	}
	// Without -i the container's stdin is empty.
	if out, _, _ := e.runIn("ignored\n", "run", "--rm", "bb:1", "cat"); out != "" {
		t.Errorf("stdin without -i: %q", out)
	}
	id := strings.TrimSpace(e.ok("create", "--network", "none", "bb:1", "sh", "-c", "cat /etc/hosts; cat /etc/hostname; hostname"))
	out = e.ok("start", "-a", id)
	want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" +
		id[:12] + "\n" + id[:12] + "\n"
	if out != want {
		t.Errorf("/etc files =\n%q\nwant\n%q", out, want)
	}
	out = e.ok("run", "--rm", "bb:1", "sh", "-c", "grep Cap /proc/self/status; cat /proc/self/mounts | cut -d' ' -f2,3 | sort")
	// A masked file is /dev/null bound over it: runc binds the container's (tmpfs), crun the
	// host's (devtmpfs).
	for _, w := range []string{"CapEff:\t00000000a80425fb", "/proc proc", "/dev/shm tmpfs", "/dev/mqueue mqueue", "/sys sysfs", "/etc/hosts ", "/sys/firmware tmpfs", "/proc/sys proc"} {
		if !strings.Contains(out, w) {
			t.Errorf("container lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "/proc/keys tmpfs") && !strings.Contains(out, "/proc/keys devtmpfs") {
		t.Errorf("/proc/keys is not masked:\n%s", out)
	}
	if _, _, code := e.run("run", "--rm", "--read-only", "bb:1", "touch", "/x"); code == 0 {
		t.Errorf("--read-only rootfs was writable")
	}
	if out := e.ok("run", "--rm", "--read-only", "--tmpfs", "/scratch", "bb:1", "sh", "-c", "touch /scratch/x && echo ok"); out != "ok\n" {
		t.Errorf("--tmpfs: %q", out)
	}
	if out := e.ok("run", "--rm", "--pids-limit", "20", "--memory", "64m", "--cpus", "0.5", "bb:1", "true"); out != "" {
		t.Errorf("limits: %q", out)
	}
}

func TestContainerDetachedLifecycle(t *testing.T) {
	e := newCtrEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "--name", "web", "-l", "app=web", "bb:1", "sh", "-c", "echo started; echo oops >&2; sleep 300"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q", id)
	}
	out := e.ok("ps")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID   IMAGE     COMMAND                  CREATED") ||
		!strings.Contains(lines[1], id[:12]+"   bb:1      \"sh -c 'echo started…\"") || !strings.Contains(lines[1], "Up ") ||
		!strings.HasSuffix(lines[1], "web") {
		t.Errorf("ps =\n%s", out)
	}
	// The shim writes the log while the container runs.
	deadline := time.Now().Add(5 * time.Second)
	for {
		o, errs, _ := e.run("logs", "web")
		if o == "started\n" && errs == "oops\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs: %q %q", o, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(e.inspect("web", "{{.LogPath}}"))
	if err != nil || !strings.Contains(string(b), `{"log":"started\n","stream":"stdout","time":"`) {
		t.Errorf("json-file log = %s %v", b, err)
	}
	if _, errs, code := e.run("rm", "web"); code != 1 || !strings.Contains(errs, "You cannot remove a running container "+id+". Stop the container before attempting removal or force remove") {
		t.Errorf("rm running: %d %q", code, errs)
	}
	if got := e.inspect("web", "{{.State.Status}} {{.State.Running}} {{.Name}} {{.Config.Labels.app}}"); got != "running true /web web" {
		t.Errorf("inspect = %q", got)
	}
	// sh as PID 1 ignores SIGTERM: stop waits -t seconds, then kills.
	start := time.Now()
	if out := e.ok("stop", "-t", "1", "web"); out != "web\n" {
		t.Errorf("stop printed %q", out)
	}
	if d := time.Since(start); d < time.Second || d > 8*time.Second {
		t.Errorf("stop -t 1 took %v", d)
	}
	if got := e.inspect("web", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" {
		t.Errorf("after stop: %q", got)
	}
	if out := e.ok("wait", "web"); out != "137\n" {
		t.Errorf("wait = %q", out)
	}
	if out := e.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(out, "web Exited (137) ") {
		t.Errorf("ps -a = %q", out)
	}
	// restart brings it back; kill -s sends the signal asked for.
	e.ok("restart", "web")
	if got := e.inspect("web", "{{.State.Status}}"); got != "running" {
		t.Errorf("after restart: %q", got)
	}
	// (PID 1 ignores signals it has no handler for, so only KILL ends this shell.)
	e.ok("kill", "-s", "9", "web")
	if out := e.ok("wait", "web"); out != "137\n" {
		t.Errorf("wait after kill -s 9 = %q", out)
	}
	if _, errs, code := e.run("kill", "web"); code != 1 || !strings.Contains(errs, "is not running") {
		t.Errorf("kill stopped: %d %q", code, errs)
	}
	e.ok("rename", "web", "web2")
	e.ok("rm", "web2")
	if _, errs, code := e.run("inspect", "web2"); code != 1 || errs != "Error: No such object: web2\n" {
		t.Errorf("inspect removed: %d %q", code, errs)
	}
}

func TestContainerStopSignalAndTimeout(t *testing.T) {
	e := newCtrEnv(t)
	// A trap for the stop signal: stop returns as soon as the container exits, with its code.
	e.ok("run", "-d", "--name", "graceful", "--stop-signal", "USR1", "bb:1", "sh", "-c",
		"trap 'echo got-usr1; exit 0' USR1; echo ready; while true; do sleep 0.1; done")
	waitLog(t, e, "graceful", "ready\n")
	e.ok("run", "-d", "--name", "trapper", "bb:1", "sh", "-c", "trap 'exit 7' HUP; while true; do sleep 0.1; done")
	time.Sleep(300 * time.Millisecond)
	e.ok("kill", "-s", "SIGHUP", "trapper")
	if out := e.ok("wait", "trapper"); out != "7\n" {
		t.Errorf("wait after kill -s SIGHUP = %q", out)
	}
	start := time.Now()
	e.ok("stop", "-t", "20", "graceful")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop with a handled STOPSIGNAL took %v", d)
	}
	if got := e.inspect("graceful", "{{.State.ExitCode}}"); got != "0" {
		t.Errorf("exit code = %s", got)
	}
	if out := e.ok("logs", "graceful"); out != "ready\ngot-usr1\n" {
		t.Errorf("logs = %q", out)
	}
}

func waitLog(t *testing.T, e *ctrEnv, ref, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, _ := e.run("logs", ref)
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs of %s never had %q: %q", ref, want, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestContainerLogsFollow(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "ticker", "bb:1", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done")
	c := e.cmd("logs", "-f", "ticker")
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if code := waitCode(t, c, 20*time.Second, &out); code != 0 {
		t.Fatalf("logs -f: exit %d", code)
	}
	if out.String() != "line1\nline2\nline3\n" {
		t.Errorf("logs -f = %q", out.String())
	}
	if out := e.ok("logs", "--tail", "1", "ticker"); out != "line3\n" {
		t.Errorf("--tail 1 = %q", out)
	}
	out2 := e.ok("logs", "-t", "ticker")
	sc := bufio.NewScanner(strings.NewReader(out2))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) != 2 || !strings.HasSuffix(f[0], "Z") {
			t.Errorf("logs -t line %q", sc.Text())
		}
	}
}

func TestContainerManyAtOnce(t *testing.T) {
	e := newCtrEnv(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, stderr, code := e.run("run", "-d", "--name", fmt.Sprintf("c%02d", i), "bb:1", "sleep", "300")
			if code != 0 || len(strings.TrimSpace(out)) != 64 {
				errs <- fmt.Sprintf("c%02d: exit %d %q %q", i, code, out, stderr)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	out := e.ok("ps", "--format", "{{.Names}} {{.State}}")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("ps lists %d containers:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " running") {
			t.Errorf("ps line %q", l)
		}
	}
	if out := e.ok("ps", "-q", "--filter", "name=c1"); len(strings.Fields(out)) != 10 {
		t.Errorf("name filter: %q", out)
	}
	ids := strings.Fields(e.ok("ps", "-q"))
	e.ok(append([]string{"rm", "-f"}, ids...)...)
	if out := e.ok("ps", "-aq"); out != "" {
		t.Errorf("left after rm -f: %q", out)
	}
}

func TestContainerShimDeathIsReconciled(t *testing.T) {
	e := newCtrEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "bb:1", "sleep", "300"))
	pid := e.inspect(id, "{{.State.Pid}}")
	// Find the shim: the process whose command line is "berth ... container-shim ID".
	shim := findProcess(t, "container-shim\x00"+id)
	if err := syscall.Kill(shim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	// The container outlived its shim: ps says so (runc state), and stop still works.
	if got := e.inspect(id, "{{.State.Status}} {{.State.Pid}}"); got != "running "+pid {
		t.Errorf("after the shim died: %q (pid %s)", got, pid)
	}
	e.ok("stop", "-t", "0", id)
	if got := e.inspect(id, "{{.State.Status}}"); got != "exited" {
		t.Errorf("after stop: %q", got)
	}
	if mounted(t, filepath.Join(e.root, "containers", id, "rootfs")) {
		t.Errorf("rootfs still mounted after reconcile")
	}
}

func TestContainerKill9OfRunDetached(t *testing.T) {
	e := newCtrEnv(t)
	// Kill `berth run -d` at different moments; whatever happened must look consistent after.
	for i, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond} {
		c := e.cmd("run", "-d", "--name", fmt.Sprintf("k%d", i), "bb:1", "sleep", "300")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		c.Process.Kill()
		c.Wait()
	}
	time.Sleep(500 * time.Millisecond)
	out := e.ok("ps", "-a", "--format", "{{.Names}} {{.State}}")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 || (f[1] != "running" && f[1] != "created" && f[1] != "exited") {
			t.Errorf("inconsistent ps line %q", l)
		}
		if f[1] != "running" && mounted(t, filepath.Join(e.root, "containers", e.inspect(f[0], "{{.Id}}"), "rootfs")) {
			t.Errorf("%s is %s but its rootfs is mounted", f[0], f[1])
		}
	}
	for _, id := range strings.Fields(e.ok("ps", "-aq")) {
		e.ok("rm", "-f", id)
	}
}

// waitCode waits for a started command to end, within the given time (else it is killed and the
// test fails, showing out), and returns its exit code.
func waitCode(t *testing.T, c *exec.Cmd, within time.Duration, out fmt.Stringer) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(c.Args, " "), err)
		}
		return 0
	case <-time.After(within):
		c.Process.Kill()
		t.Fatalf("%s did not end within %s; output %q", strings.Join(c.Args, " "), within, out.String())
		return 0
	}
}

func findProcess(t *testing.T, cmdlinePart string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		var pid int
		if _, err := fmt.Sscanf(ent.Name(), "%d", &pid); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if bytes.Contains(b, []byte(cmdlinePart)) {
			return pid
		}
	}
	t.Fatalf("no process with %q", cmdlinePart)
	return 0
}

func mounted(t *testing.T, path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

func TestContainerNamedVolumeOutlivesContainer(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "--rm", "-v", "data:/data", "bb:1", "sh", "-c", "echo kept > /data/file")
	if out := e.ok("run", "--rm", "-v", "data:/data:ro", "bb:1", "cat", "/data/file"); out != "kept\n" {
		t.Errorf("volume content = %q", out)
	}
	if _, _, code := e.run("run", "--rm", "-v", "data:/data:ro", "bb:1", "touch", "/data/x"); code == 0 {
		t.Errorf(":ro volume was writable")
	}
	// A new named volume gets a copy of the image's content at its target.
	if out := e.ok("run", "--rm", "-v", "etccopy:/etc", "bb:1", "cat", "/etc/group"); out != "root:x:0:\nnogroup:x:65534:\n" {
		t.Errorf("copy-up = %q", out)
	}
	host := t.TempDir()
	e.ok("run", "--rm", "-v", host+":/h", "bb:1", "sh", "-c", "echo from-container > /h/f")
	if b, _ := os.ReadFile(filepath.Join(host, "f")); string(b) != "from-container\n" {
		t.Errorf("bind mount: %q", b)
	}
	// An image's VOLUME becomes an anonymous volume, filled from the image, gone with rm -v.
	e.ok("import", "-c", "VOLUME /etc", filepath.Join(e.root, "busybox.tar"), "withvol:1")
	e.ok("run", "--name", "anon", "withvol:1", "true")
	anon := e.inspect("anon", "{{range .Mounts}}{{.Name}}{{end}}")
	if len(anon) != 64 {
		t.Fatalf("anonymous volume name %q", anon)
	}
	if b, err := os.ReadFile(filepath.Join(e.root, "volumes", anon, "_data", "group")); err != nil || string(b) != "root:x:0:\nnogroup:x:65534:\n" {
		t.Errorf("anonymous volume content: %q %v", b, err)
	}
	e.ok("rm", "-v", "anon")
	if _, err := os.Stat(filepath.Join(e.root, "volumes", anon)); err == nil {
		t.Errorf("rm -v left the anonymous volume")
	}
	out := e.ok("volume", "ls", "--format", "{{.Driver}} {{.Name}}")
	if out != "local data\nlocal etccopy\n" {
		t.Errorf("volume ls = %q", out)
	}
	e.ok("create", "--name", "user", "-v", "data:/data", "bb:1", "true")
	if _, errs, code := e.run("volume", "rm", "data"); code != 1 || !strings.Contains(errs, "volume is in use") {
		t.Errorf("rm volume in use: %d %q", code, errs)
	}
	e.ok("rm", "user")
	e.ok("volume", "rm", "data")
	if out := e.ok("volume", "prune", "-f"); !strings.Contains(out, "etccopy") {
		t.Errorf("prune = %q", out)
	}
	if out := e.ok("volume", "ls", "-q"); out != "" {
		t.Errorf("volumes left: %q", out)
	}
}

func TestContainerDiffCommitExport(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "--name", "changed", "bb:1", "sh", "-c",
		"echo x > /etc/new; echo y >> /etc/passwd; rm /bin/vi; mkdir -p /a/b/c; touch /a/b/c/f; rm -rf /tmp")
	// Docker 20.10's `docker diff` of the same commands on the same image.
	want := "A /a\nA /a/b\nA /a/b/c\nA /a/b/c/f\nC /bin\nD /bin/vi\nC /etc\nA /etc/new\nC /etc/passwd\nD /tmp\n"
	if out := e.ok("diff", "changed"); out != want {
		t.Errorf("diff =\n%s\nwant\n%s", out, want)
	}
	id := strings.TrimSpace(e.ok("commit", "-a", "me", "-m", "msg", "-c", "ENV X=1", "-c", `CMD ["sh", "-c", "echo $X"]`, "changed", "committed:1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("commit printed %q", id)
	}
	out, errs, _ := e.run("run", "--rm", "committed:1", "sh", "-c", "cat /etc/new; tail -1 /etc/passwd; ls /bin/vi; ls -d /tmp; ls /a/b/c")
	if out != "x\ny\nf\n" || errs != "ls: /bin/vi: No such file or directory\nls: /tmp: No such file or directory\n" {
		t.Errorf("committed image content: %q %q", out, errs)
	}
	if out := e.ok("run", "--rm", "committed:1"); out != "1\n" {
		t.Errorf("committed config: %q", out)
	}
	if got := strings.TrimSpace(e.ok("image", "inspect", "-f", "{{.Author}}|{{.Comment}}|{{.Parent}}|{{len .RootFS.Layers}}", "committed:1")); got != "me|msg|"+e.inspect("changed", "{{.Image}}")+"|2" {
		t.Errorf("committed image = %q", got)
	}
	hist := e.ok("history", "--format", "{{.CreatedBy}}|{{.Comment}}", "committed:1")
	if !strings.HasPrefix(hist, "sh -c echo x > /etc/new; echo y >> /etc/pass…|msg\n") {
		t.Errorf("history = %q", hist)
	}
	// The image a container uses cannot go without -f.
	if _, errs, code := e.run("rmi", "bb:1"); code == 0 || !strings.Contains(errs, "container") {
		t.Errorf("rmi of a used image: %d %q", code, errs)
	}
	tarOut, _, code := e.run("export", "changed")
	if code != 0 {
		t.Fatalf("export exit %d", code)
	}
	names := map[string]bool{}
	tr := tar.NewReader(strings.NewReader(tarOut))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[h.Name] = true
	}
	for _, n := range []string{"etc/new", "a/b/c/f", "bin/busybox", "proc/", "etc/hosts"} {
		if !names[n] {
			t.Errorf("export lacks %s", n)
		}
	}
	if names["bin/vi"] || names["tmp/"] {
		t.Errorf("export has deleted files")
	}
	if mounted(t, filepath.Join(e.root, "containers", e.inspect("changed", "{{.Id}}"), "rootfs")) {
		t.Errorf("export left the rootfs mounted")
	}
	// cp both ways, on a stopped container.
	host := t.TempDir()
	e.ok("cp", "changed:/etc/new", host)
	if b, _ := os.ReadFile(filepath.Join(host, "new")); string(b) != "x\n" {
		t.Errorf("cp out: %q", b)
	}
	os.WriteFile(filepath.Join(host, "in.txt"), []byte("in\n"), 0o644)
	e.ok("cp", filepath.Join(host, "in.txt"), "changed:/etc/")
	e.ok("cp", "changed:/a", filepath.Join(host, "a-copy"))
	if _, err := os.Stat(filepath.Join(host, "a-copy", "b", "c", "f")); err != nil {
		t.Errorf("cp of a directory: %v", err)
	}
	if out := e.ok("diff", "changed"); !strings.Contains(out, "A /etc/in.txt\n") {
		t.Errorf("diff after cp in: %q", out)
	}
	// A tar stream both ways: out to stdout, in from stdin.
	tarOut, _, code = e.run("cp", "changed:/a", "-")
	if code != 0 || !strings.Contains(tarOut, "a/b/c/f") {
		t.Errorf("cp to -: %d", code)
	}
	if _, errs, code := e.runIn(tarOut, "cp", "-", "changed:/tmp2-not-there"); code == 0 || errs != "destination \"changed:/tmp2-not-there\" must be a directory\n" {
		t.Errorf("cp - into a missing dir: %d %q", code, errs)
	}
	if _, errs, code := e.runIn(tarOut, "cp", "-", "changed:/root"); code != 0 {
		t.Fatalf("cp - in: %d %q", code, errs)
	}
	if out := e.ok("diff", "changed"); !strings.Contains(out, "A /root/a/b/c/f\n") {
		t.Errorf("diff after cp - in: %q", out)
	}
}

func TestContainerExecAndTop(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "box", "-e", "FROM_RUN=1", "bb:1", "sleep", "300")
	if out := e.ok("exec", "-u", "nobody", "-w", "/tmp", "-e", "A=1", "box", "sh", "-c", "id; pwd; echo $A $FROM_RUN"); out != "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n/tmp\n1 1\n" {
		t.Errorf("exec = %q", out)
	}
	if out, _, _ := e.runIn("piped\n", "exec", "-i", "box", "cat"); out != "piped\n" {
		t.Errorf("exec -i = %q", out)
	}
	if _, _, code := e.run("exec", "box", "sh", "-c", "exit 4"); code != 4 {
		t.Errorf("exec exit code %d", code)
	}
	// A command the runtime cannot start, as dockerd 20.10 (runc) reports it: 126 in the
	// foreground, and a refused start (exit 1) with -d.
	const noSuch = `OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown` + "\n"
	if _, errs, code := e.run("exec", "box", "nosuch"); code != 126 || errs != noSuch {
		t.Errorf("exec nosuch: %d %q", code, errs)
	}
	if _, errs, code := e.run("exec", "-d", "box", "nosuch"); code != 1 || errs != "Error: "+noSuch {
		t.Errorf("exec -d nosuch: %d %q", code, errs)
	}
	if out, errs, code := e.run("exec", "box", "sh", "-c", "echo 'exec failed: the process says so' >&2; exit 3"); code != 3 || errs != "exec failed: the process says so\n" || out != "" {
		t.Errorf("a process's own 'exec failed:' line: %d %q %q", code, out, errs)
	}
	// -t without a terminal of the client's (-i not given, or output piped): the process gets
	// one all the same, as from dockerd 20.10 (recorded: "hi\r\n", exit 4; 126 for a command
	// that cannot start). A quick process's end may reach us before its terminal does: each of
	// several runs has its own code, never the runtime's failure.
	for i := 0; i < 5; i++ {
		if out, errs, code := e.run("exec", "-t", "box", "sh", "-c", "echo hi; exit 4"); code != 4 || out != "hi\r\n" {
			t.Errorf("exec -t: %d %q %q", code, out, errs)
		}
		if _, errs, code := e.run("exec", "-d", "-t", "box", "sh", "-c", "exit 4"); code != 0 {
			t.Errorf("exec -d -t: %d %q", code, errs)
		}
	}
	if _, errs, code := e.run("exec", "-t", "box", "nosuch"); code != 126 || !strings.HasSuffix(errs, noSuch) {
		t.Errorf("exec -t nosuch: %d %q", code, errs)
	}
	e.ok("exec", "-d", "box", "sleep", "299")
	out := e.ok("top", "box")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "UID                 PID                 PPID") ||
		!strings.HasSuffix(lines[1], "sleep 300") || !strings.HasSuffix(lines[2], "sleep 299") {
		t.Errorf("top =\n%s", out)
	}
	// commit of a running container pauses it while its layer is read.
	e.ok("exec", "box", "sh", "-c", "echo live > /live.txt")
	e.ok("commit", "box", "live:1")
	if got := e.inspect("box", "{{.State.Status}}"); got != "running" {
		t.Errorf("after commit --pause: %s", got)
	}
	if out := e.ok("run", "--rm", "live:1", "cat", "/live.txt"); out != "live\n" {
		t.Errorf("committed running container: %q", out)
	}
	e.ok("stop", "-t", "0", "box")
	if _, errs, code := e.run("exec", "box", "true"); code != 1 || !strings.Contains(errs, "is not running") {
		t.Errorf("exec in a stopped container: %d %q", code, errs)
	}
}

func TestContainerPsOptions(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("create", "--name", "first", "-l", "tier=db", "bb:1", "true")
	if _, _, code := e.run("run", "--name", "second", "-l", "tier=web", "bb:1", "sh", "-c", "exit 2"); code != 2 {
		t.Fatalf("exit %d", code)
	}
	e.ok("run", "-d", "--name", "third", "bb:1", "sleep", "300")
	if out := e.ok("ps", "--format", "{{.Names}}"); out != "third\n" {
		t.Errorf("ps = %q", out)
	}
	if out := e.ok("ps", "-a", "--format", "{{.Names}}"); out != "third\nsecond\nfirst\n" {
		t.Errorf("ps -a = %q", out)
	}
	if out := e.ok("ps", "-n", "2", "--format", "{{.Names}}"); out != "third\nsecond\n" {
		t.Errorf("ps -n 2 = %q", out)
	}
	if out := e.ok("ps", "-l", "--format", "{{.Names}}"); out != "third\n" {
		t.Errorf("ps -l = %q", out)
	}
	for filter, want := range map[string]string{
		"status=created": "first\n", "exited=2": "second\n", "label=tier=web": "second\n",
		"label=tier": "second\nfirst\n", "before=second": "first\n", "since=first": "third\nsecond\n",
		"ancestor=bb:1": "third\nsecond\nfirst\n", "status=running": "third\n",
	} {
		if out := e.ok("ps", "-a", "--filter", filter, "--format", "{{.Names}}"); out != want {
			t.Errorf("--filter %s = %q, want %q", filter, out, want)
		}
	}
	if _, errs, code := e.run("ps", "--filter", "bogus=1"); code == 0 || !strings.Contains(errs, "Invalid filter 'bogus'") {
		t.Errorf("bad filter: %d %q", code, errs)
	}
	id := e.inspect("first", "{{.Id}}")
	if out := e.ok("ps", "-aq", "--no-trunc", "--filter", "name=first"); out != id+"\n" {
		t.Errorf("-q --no-trunc = %q", out)
	}
	out := e.ok("ps", "-a", "-s", "--filter", "name=second")
	if !strings.Contains(out, "SIZE") || !strings.Contains(out, "0B (virtual ") || !strings.Contains(out, "Exited (2) ") {
		t.Errorf("ps -s =\n%s", out)
	}
	if out := e.ok("ps", "-a", "--filter", "name=second", "--format", "{{json .}}"); !strings.Contains(out, `"Names":"second"`) || !strings.Contains(out, `"Status":"Exited (2) `) {
		t.Errorf("json = %s", out)
	}
	if out := e.ok("container", "prune", "-f"); !strings.Contains(out, "Deleted Containers:\n") || !strings.Contains(out, id) {
		t.Errorf("prune = %q", out)
	}
	if out := e.ok("ps", "-a", "--format", "{{.Names}}"); out != "third\n" {
		t.Errorf("after prune: %q", out)
	}
	// system prune removes stopped containers first, as its warning says.
	third := e.inspect("third", "{{.Id}}")
	e.ok("stop", "-t", "1", "third")
	if out := e.ok("system", "prune", "-f"); !strings.HasPrefix(out, "Deleted Containers:\n"+third+"\n\n") {
		t.Errorf("system prune = %q", out)
	}
	if out := e.ok("ps", "-aq"); out != "" {
		t.Errorf("after system prune: %q", out)
	}
}

func TestContainerTTY(t *testing.T) {
	e := newCtrEnv(t)
	c := e.cmd("run", "-it", "--name", "tty", "bb:1", "sh")
	f, err := pty.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&out, f); close(read) }()
	time.Sleep(500 * time.Millisecond)
	f.Write([]byte("tty; echo hello-$((40+2)); exit 3\n"))
	if code := waitCode(t, c, 20*time.Second, &out); code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	select {
	case <-read:
	case <-time.After(2 * time.Second):
	}
	if s := out.String(); !strings.Contains(s, "/dev/pts/0") || !strings.Contains(s, "hello-42") {
		t.Errorf("tty output = %q", s)
	}
	// The log has the terminal's output too, as Docker's does.
	if logs := e.ok("logs", "tty"); !strings.Contains(logs, "hello-42") {
		t.Errorf("logs = %q", logs)
	}
	if got := e.inspect("tty", "{{.Config.Tty}} {{.State.ExitCode}}"); got != "true 3" {
		t.Errorf("inspect = %q", got)
	}
}

func TestContainerNetworks(t *testing.T) {
	e := newCtrEnv(t)
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skip("the bridge network needs containernetworking-plugins in /usr/lib/cni")
	}
	www := t.TempDir()
	os.WriteFile(filepath.Join(www, "index.html"), []byte("hello-web\n"), 0o644)
	// A free port on the host for the published one.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e.ok("run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "-v", www+":/www:ro", "bb:1", "httpd", "-f", "-p", "80", "-h", "/www")
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body != "hello-web\n" {
		t.Errorf("httpd through -p: %q", body)
	}
	if out := e.ok("ps", "--filter", "publish=80/tcp", "--filter", "expose=70-90", "--format", "{{.Names}}"); out != "web\n" {
		t.Errorf("publish/expose filters: %q", out)
	}
	if out := e.ok("ps", "--filter", "publish=81", "--format", "{{.Names}}"); out != "" {
		t.Errorf("publish=81: %q", out)
	}
	if out := e.ok("ps", "--format", "{{.Ports}}"); out != fmt.Sprintf("127.0.0.1:%d->80/tcp\n", port) {
		t.Errorf("ports = %q", out)
	}
	ip := e.inspect("web", "{{.NetworkSettings.IPAddress}}")
	if net.ParseIP(ip) == nil {
		t.Fatalf("IPAddress = %q", ip)
	}
	// The container's /etc/hosts names it, like Docker's on its bridge.
	hosts := e.ok("exec", "web", "cat", "/etc/hosts")
	if !strings.HasSuffix(hosts, ip+"\t"+e.inspect("web", "{{.Config.Hostname}}")+"\n") {
		t.Errorf("hosts = %q", hosts)
	}
	// Containers on the bridge reach each other.
	if out, errs, code := e.run("run", "--rm", "bb:1", "ping", "-c", "1", "-W", "2", ip); code != 0 {
		t.Errorf("ping %s: %d %s %s", ip, code, out, errs)
	}
	// -P publishes every exposed port on a free host port.
	e.ok("run", "-d", "--name", "pub", "-P", "--expose", "80", "-v", www+":/www:ro", "bb:1", "httpd", "-f", "-p", "80", "-h", "/www")
	hp := e.inspect("pub", `{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}`)
	if out := e.ok("ps", "--filter", "name=pub", "--format", "{{.Ports}}"); out != "0.0.0.0:"+hp+"->80/tcp"+v6Binding(", :::"+hp+"->80/tcp")+"\n" {
		t.Errorf("-P ports = %q", out)
	}
	body = ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://127.0.0.1:" + hp + "/index.html"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
	}
	if body != "hello-web\n" {
		t.Errorf("httpd through -P: %q", body)
	}
	e.ok("rm", "-f", "pub")
	nsPath := e.inspect("web", "{{.NetworkSettings.SandboxKey}}")
	e.ok("rm", "-f", "web")
	if _, err := os.Stat(nsPath); err == nil {
		t.Errorf("network namespace %s left after rm", nsPath)
	}
	if out, _ := exec.Command("iptables", "-S").Output(); strings.Contains(string(out), ip+"/32") {
		t.Errorf("iptables rules for %s left after rm", ip)
	}
	// none: only a loopback interface; host: the host's interfaces.
	if out := e.ok("run", "--rm", "--network", "none", "bb:1", "ls", "/sys/class/net"); out != "lo\n" {
		t.Errorf("--network none interfaces: %q", out)
	}
	// Docker's loopback is up, on every network.
	for _, mode := range []string{"none", "bridge"} {
		if out := e.ok("run", "--rm", "--network", mode, "bb:1", "ping", "-c", "1", "-W", "2", "127.0.0.1"); !strings.Contains(out, "1 packets received") {
			t.Errorf("loopback with --network %s: %q", mode, out)
		}
	}
	hostNS, _ := os.Readlink("/proc/self/ns/net")
	if out := e.ok("run", "--rm", "--network", "host", "bb:1", "readlink", "/proc/self/ns/net"); out != hostNS+"\n" {
		t.Errorf("--network host: namespace %q, host's %q", out, hostNS)
	}
	if out := e.ok("run", "--rm", "bb:1", "readlink", "/proc/self/ns/net"); out == hostNS+"\n" {
		t.Errorf("the default network shares the host's namespace")
	}
}

func TestContainerRunPullsMissingImage(t *testing.T) {
	e := newCtrEnv(t)
	ref := testRegistry(t) + "/tests/bb:1"
	e.ok("tag", "bb:1", ref)
	e.ok("push", ref)
	e.ok("rmi", ref)
	if _, errs, code := e.run("run", "--rm", "--pull", "never", ref, "true"); code != 125 || !strings.Contains(errs, "Unable to find image '"+ref+"' locally") {
		t.Errorf("--pull never: %d %q", code, errs)
	}
	out, errs, code := e.run("run", "--rm", ref, "echo", "pulled")
	if code != 0 || out != "pulled\n" || !strings.HasPrefix(errs, "Unable to find image '"+ref+"' locally\n") {
		t.Errorf("run of a missing image: %d %q %q", code, out, errs)
	}
	if out := e.ok("run", "--rm", "--pull", "always", ref, "echo", "again"); out != "again\n" {
		t.Errorf("--pull always: %q", out)
	}
}

func TestContainerExecTTY(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "box", "bb:1", "sleep", "300")
	c := e.cmd("exec", "-it", "box", "sh")
	f, err := pty.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	go io.Copy(&out, f)
	time.Sleep(300 * time.Millisecond)
	f.Write([]byte("tty; echo $TERM; exit 5\n"))
	if code := waitCode(t, c, 20*time.Second, &out); code != 5 {
		t.Errorf("exit %d, want 5 (output %q)", code, out.String())
	}
	time.Sleep(100 * time.Millisecond)
	if s := out.String(); !strings.Contains(s, "/dev/pts/") || !strings.Contains(s, "xterm") {
		t.Errorf("exec -it output = %q", s)
	}
}

func TestContainerStopOfAutoRemoved(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--rm", "--name", "gone", "bb:1", "sleep", "300")
	if out := e.ok("stop", "-t", "0", "gone"); out != "gone\n" {
		t.Errorf("stop = %q", out)
	}
	if out := e.ok("ps", "-aq"); out != "" {
		t.Errorf("--rm container left: %q", out)
	}
}

func TestContainerManyLayers(t *testing.T) {
	e := newCtrEnv(t)
	// Enough layers that their paths overflow the kernel's one-page limit on mount options.
	layerDir := len(filepath.Join(e.root, "layers", strings.Repeat("0", 64), "diff")) + 1
	n := 4096/layerDir + 2
	prev := "bb:1"
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("l%d", i)
		e.ok("run", "--name", name, "--network", "none", prev, "sh", "-c", fmt.Sprintf("echo %d >> /layers", i))
		prev = fmt.Sprintf("deep:%d", i)
		e.ok("commit", name, prev)
		e.ok("rm", name)
	}
	out := e.ok("run", "--rm", "--network", "none", prev, "sh", "-c", "wc -l < /layers; tail -1 /layers")
	if out != fmt.Sprintf("%d\n%d\n", n, n) {
		t.Errorf("%d-layer image: %q", n+1, out)
	}
	if links, err := os.ReadDir(filepath.Join(e.root, "l")); err != nil || len(links) < n {
		t.Errorf("short lowerdir links: %d %v", len(links), err)
	}
}

func TestContainerCopyDriver(t *testing.T) {
	t.Setenv("BERTH_STORAGE_DRIVER", "copy")
	e := newCtrEnv(t)
	e.ok("run", "--name", "changed", "--network", "none", "bb:1", "sh", "-c",
		"echo x > /etc/new; echo y >> /etc/passwd; rm /bin/vi; mkdir -p /a/b/c; touch /a/b/c/f; rm -rf /tmp")
	if got := e.inspect("changed", "{{.Driver}}"); got != "copy" {
		t.Fatalf("driver = %q", got)
	}
	want := "A /a\nA /a/b\nA /a/b/c\nA /a/b/c/f\nC /bin\nD /bin/vi\nC /etc\nA /etc/new\nC /etc/passwd\nD /tmp\n"
	if out := e.ok("diff", "changed"); out != want {
		t.Errorf("diff =\n%s\nwant\n%s", out, want)
	}
	e.ok("commit", "changed", "copied:1")
	out, errs, _ := e.run("run", "--rm", "--network", "none", "copied:1", "sh", "-c", "cat /etc/new; tail -1 /etc/passwd; ls /bin/vi; ls -d /tmp; ls /a/b/c")
	if out != "x\ny\nf\n" || errs != "ls: /bin/vi: No such file or directory\nls: /tmp: No such file or directory\n" {
		t.Errorf("committed image content: %q %q", out, errs)
	}
	// The container's changes survive a restart, as with overlay.
	e.ok("start", "-a", "changed")
	if out := e.ok("run", "--rm", "--network", "none", "bb:1", "cat", "/etc/passwd"); strings.Contains(out, "y\n") {
		t.Errorf("the image itself changed: %q", out)
	}
	tarOut := e.ok("export", "changed")
	if !strings.Contains(tarOut, "etc/new") {
		t.Errorf("export lacks etc/new")
	}
	if out := e.ok("info", "--format", "{{.Driver}}"); !strings.HasPrefix(out, "overlay") && !strings.HasPrefix(out, "copy") {
		t.Errorf("info driver = %q", out)
	}
}

// --runtime crun runs the same containers as runc: foreground with exit codes and stdin,
// detached under the shim, stopped, and its failures classified like runc's.
func TestContainerRuntimeCrun(t *testing.T) {
	e := newCtrEnv(t)
	if _, err := exec.LookPath("crun"); err != nil {
		t.Skip("needs crun on PATH (Debian: apt-get install crun; scripts/deps.sh installs it)")
	}
	if out, _ := exec.Command("crun", "--version").Output(); len(out) == 0 {
		t.Skip("crun does not run here")
	}
	if out, errs, code := e.run("run", "--rm", "--runtime", "crun", "--network", "none", "bb:1", "sh", "-c", "echo hi; exit 3"); code != 3 || out != "hi\n" {
		t.Fatalf("run --runtime crun: exit %d %q %q (on a hybrid cgroup host, scripts/deps.sh mounts the v2-only controllers as v1 for crun)", code, out, errs)
	}
	if out, _, code := e.runIn("piped\n", "run", "--rm", "-i", "--runtime", "crun", "bb:1", "cat"); code != 0 || out != "piped\n" {
		t.Errorf("run -i --runtime crun: exit %d %q", code, out)
	}
	if _, errs, code := e.run("run", "--rm", "--runtime", "crun", "bb:1", "nosuch"); code != 127 || !strings.Contains(errs, "nosuch") {
		t.Errorf("missing command under crun: exit %d %q", code, errs)
	}
	// crun takes a privileged container's host devices, allow-all device rule and capabilities.
	if out, errs, code := e.run("run", "--rm", "--privileged", "--runtime", "crun", "bb:1", "sh", "-c", "mount -t tmpfs none /tmp && ls /dev/null"); code != 0 || !strings.HasSuffix(out, "/dev/null\n") {
		t.Errorf("--privileged under crun: exit %d %q %q", code, out, errs)
	}
	e.ok("run", "-d", "--name", "c1", "--runtime", "crun", "--memory", "64m", "--pids-limit", "50", "bb:1", "sleep", "300")
	if st := e.inspect("c1", "{{.State.Status}} {{.HostConfig.Runtime}}"); st != "running crun" {
		t.Errorf("inspect = %q", st)
	}
	if out := e.ok("exec", "c1", "cat", "/proc/1/cmdline"); out != "sleep\x00300\x00" {
		t.Errorf("exec under crun: %q", out)
	}
	e.ok("stop", "-t", "1", "c1")
	if st := e.inspect("c1", "{{.State.Status}} {{.State.ExitCode}}"); st != "exited 137" && st != "exited 143" {
		t.Errorf("after stop: %q", st)
	}
	e.ok("rm", "c1")
}

// A container's supervisor removes what the runtime kept of it once it has exited (its state
// directory, its cgroup in every hierarchy) itself rather than through `delete`: after `run
// --rm`, and after a detached container's exit, under each runtime, nothing of it is left.
func TestRunLeavesNoRuntimeState(t *testing.T) {
	e := newCtrEnv(t)
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/")
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cgroups = []string{"/sys/fs/cgroup/"} // the unified hierarchy alone
	}
	left := func(rt, id string) []string {
		var out []string
		if _, err := os.Stat(filepath.Join(e.root, "runtime", rt, id)); err == nil {
			out = append(out, "runtime state")
		}
		for _, h := range cgroups {
			if _, err := os.Stat(filepath.Join(h, "berth", id)); err == nil {
				out = append(out, filepath.Join(h, "berth", id))
			}
		}
		return out
	}
	for _, rt := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(rt); err != nil {
			t.Logf("%s not on PATH: skipped", rt)
			continue
		}
		cid := filepath.Join(e.root, rt+".cid")
		if out := e.ok("run", "--rm", "--runtime", rt, "--cidfile", cid, "--network", "none", "bb:1", "echo", "hi"); out != "hi\n" {
			t.Errorf("%s: run --rm printed %q", rt, out)
		}
		b, err := os.ReadFile(cid)
		if err != nil {
			t.Fatal(err)
		}
		if l := left(rt, string(b)); len(l) > 0 {
			t.Errorf("%s: left after run --rm: %v", rt, l)
		}
		id := strings.TrimSpace(e.ok("run", "-d", "--runtime", rt, "--network", "none", "bb:1", "true"))
		if code := strings.TrimSpace(e.ok("wait", id)); code != "0" {
			t.Errorf("%s: wait = %s", rt, code)
		}
		// The exit is recorded before the teardown: it ends soon after.
		deadline := time.Now().Add(10 * time.Second)
		for len(left(rt, id)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if l := left(rt, id); len(l) > 0 {
			t.Errorf("%s: left after a detached container's exit: %v", rt, l)
		}
		e.ok("start", id) // and it starts again
		if code := strings.TrimSpace(e.ok("wait", id)); code != "0" {
			t.Errorf("%s: wait after a second start = %s", rt, code)
		}
		e.ok("rm", id)
		if l := left(rt, id); len(l) > 0 {
			t.Errorf("%s: left after rm: %v", rt, l)
		}
	}
}

// --init runs Docker's init (tini, as docker-init) as PID 1 in front of the command: it passes
// stop's SIGTERM on, so a command that ignores SIGTERM as PID 1 (sleep) now dies of it (143)
// without waiting for the kill; and, like Docker's, it shows in diff as /sbin/docker-init.
func TestContainerInit(t *testing.T) {
	e := newCtrEnv(t)
	if _, err := container.InitBinary(); err != nil {
		t.Skipf("needs an init binary: %v", err)
	}
	if out := e.ok("run", "--rm", "--init", "bb:1", "sh", "-c", "cat /proc/1/cmdline"); out != "/sbin/docker-init\x00--\x00sh\x00-c\x00cat /proc/1/cmdline\x00" {
		t.Errorf("PID 1 = %q", out)
	}
	e.ok("run", "-d", "--name", "i1", "--init", "bb:1", "sleep", "300")
	start := time.Now()
	e.ok("stop", "-t", "20", "i1")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stop took %s: the init did not pass SIGTERM on", d)
	}
	if st := e.inspect("i1", "{{.State.ExitCode}} {{.HostConfig.Init}} {{.Path}}"); st != "143 true sleep" {
		t.Errorf("inspect = %q", st)
	}
	if out := e.ok("diff", "i1"); out != "A /sbin\nA /sbin/docker-init\n" {
		t.Errorf("diff = %q", out)
	}
}

// A `run --rm` killed while its container runs leaves the container to end on its own; like
// Docker's (whose daemon removes it), it is gone once it has ended: the first berth to see it
// ended removes it, mounts and all.
func TestContainerKill9OfRunRm(t *testing.T) {
	e := newCtrEnv(t)
	c := e.cmd("run", "--rm", "--name", "orphan", "bb:1", "sleep", "2")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	// (Its record says running from just before the runtime starts it; exec needs it running.)
	for {
		if _, _, code := e.run("exec", "orphan", "true"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	id := e.inspect("orphan", "{{.Id}}")
	c.Process.Kill()
	c.Wait()
	// While it runs it is listed, running; once it has ended nothing of it is left.
	if out := e.ok("ps", "-a", "--format", "{{.Names}} {{.State}}"); out != "orphan running\n" {
		t.Errorf("ps while running = %q", out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		out := e.ok("ps", "-aq")
		if out == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ended --rm container is still listed: %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, errs, code := e.run("inspect", "orphan"); code != 1 || !strings.Contains(errs, "No such object: orphan") && !strings.Contains(errs, "No such container: orphan") {
		t.Errorf("inspect after: %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(e.root, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("its directory is left: %v", err)
	}
}

// --privileged as Docker's (compared with a 20.10 daemon on the same host): the host's devices in
// /dev, every capability (those of berth's bounding set; --cap-drop ignored), exec included,
// mount allowed, nothing masked, /sys writable even with --read-only, and HostConfig.Privileged.
func TestContainerPrivileged(t *testing.T) {
	e := newCtrEnv(t)
	hostDevs, err := runtime.HostDevices()
	if err != nil {
		t.Fatal(err)
	}
	var wantMask uint64
	all := runtime.KernelCapabilities()
	for _, c := range runtime.PrivilegedCapabilities() {
		for i, k := range all {
			if k == c {
				wantMask |= 1 << uint(i)
			}
		}
	}
	capEff := fmt.Sprintf("CapEff:\t%016x", wantMask)
	out := e.ok("run", "--rm", "--privileged", "--cap-drop", "NET_ADMIN", "bb:1", "sh", "-c", "ls /dev; grep CapEff /proc/self/status")
	listed := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		listed[l] = true
	}
	unprivDev := e.ok("run", "--rm", "bb:1", "ls", "/dev")
	extra := 0
	for _, d := range hostDevs {
		top := strings.SplitN(strings.TrimPrefix(d.Path, "/dev/"), "/", 2)[0]
		if !listed[top] {
			t.Errorf("host device %s missing from the privileged /dev", d.Path)
		}
		if !strings.Contains("\n"+unprivDev, "\n"+top+"\n") {
			extra++
		}
	}
	if len(hostDevs) > 0 && extra == 0 {
		t.Logf("the host has only the devices every container gets")
	}
	if !listed[capEff] {
		t.Errorf("privileged capabilities: want %q in\n%s", capEff, out)
	}
	// Docker's own error from busybox's mount without CAP_SYS_ADMIN.
	if _, errs, code := e.run("run", "--rm", "bb:1", "mount", "-t", "tmpfs", "none", "/tmp"); code != 1 ||
		errs != "mount: permission denied (are you root?)\n" {
		t.Errorf("unprivileged mount: exit %d %q", code, errs)
	}
	if out, errs, code := e.run("run", "--rm", "--privileged", "--read-only", "bb:1", "sh", "-c",
		"mount -t tmpfs none /tmp && touch /tmp/x && grep -E '^sysfs /sys ' /proc/mounts"); code != 0 ||
		!strings.HasPrefix(out, "sysfs /sys sysfs rw,") {
		t.Errorf("privileged mount and /sys: exit %d %q %q", code, out, errs)
	}
	// A masked path this host has with content (/proc/kcore, /proc/timer_list...) is readable.
	for _, p := range runtime.MaskedPaths() {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		b := make([]byte, 1)
		n, _ := f.Read(b)
		f.Close()
		if n == 0 {
			continue
		}
		cmd := "head -c 1 " + p + " | wc -c"
		if got := strings.TrimSpace(e.ok("run", "--rm", "--privileged", "bb:1", "sh", "-c", cmd)); got != "1" {
			t.Errorf("%s masked in a privileged container (%s bytes)", p, got)
		}
		if got := strings.TrimSpace(e.ok("run", "--rm", "bb:1", "sh", "-c", cmd)); got != "0" {
			t.Errorf("%s not masked without --privileged (%s bytes)", p, got)
		}
		break
	}
	e.ok("run", "-d", "--name", "priv", "--privileged", "bb:1", "sleep", "300")
	if got := e.inspect("priv", "{{json .HostConfig.Privileged}} {{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}"); got != "true null null" {
		t.Errorf("inspect = %q", got)
	}
	if out := e.ok("exec", "priv", "grep", "CapEff", "/proc/self/status"); out != capEff+"\n" {
		t.Errorf("exec capabilities = %q, want %q", out, capEff)
	}
	e.ok("rm", "-f", "priv")
	if got := e.inspect(strings.TrimSpace(e.ok("create", "bb:1", "true")), "{{json .HostConfig.Privileged}}"); got != "false" {
		t.Errorf("unprivileged inspect = %q", got)
	}
}

// freeHostPort is a port nothing listens on now, for -p.
func freeHostPort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// `port` prints what Docker 20.10's does (checked against the reference daemon), in natural
// order: every mapping as "80/tcp -> 127.0.0.1:8080", one port's host addresses, Docker's errors.
func TestContainerPort(t *testing.T) {
	e := newCtrEnv(t)
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skip("the bridge network needs containernetworking-plugins in /usr/lib/cni")
	}
	tcp, udp := freeHostPort(t, "tcp"), freeHostPort(t, "udp")
	e.ok("run", "-d", "--name", "pw", "-p", fmt.Sprintf("127.0.0.1:%d:80", tcp), "-p", fmt.Sprintf("%d:90/udp", udp),
		"--expose", "6000", "bb:1", "sleep", "300")
	want := fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n90/udp -> 0.0.0.0:%d\n", tcp, udp) + v6Binding(fmt.Sprintf("90/udp -> :::%d\n", udp))
	for _, args := range [][]string{{"port", "pw"}, {"container", "port", "pw"}, {"port", "pw", ""}} {
		if out := e.ok(args...); out != want {
			t.Errorf("berth %s = %q, want %q", strings.Join(args, " "), out, want)
		}
	}
	for _, p := range []string{"80", "80/tcp", "080"} {
		if out := e.ok("port", "pw", p); out != fmt.Sprintf("127.0.0.1:%d\n", tcp) {
			t.Errorf("port pw %s = %q", p, out)
		}
	}
	if out := e.ok("port", "pw", "90/udp"); out != fmt.Sprintf("0.0.0.0:%d\n", udp)+v6Binding(fmt.Sprintf(":::%d\n", udp)) {
		t.Errorf("port pw 90/udp = %q", out)
	}
	for _, c := range []struct{ args, stderr string }{
		{"90", "Error: No public port '90/tcp' published for pw\n"},     // no protocol is tcp
		{"81", "Error: No public port '81/tcp' published for pw\n"},     // not published
		{"6000", "Error: No public port '6000/tcp' published for pw\n"}, // exposed only
		{"80/TCP", "Error: No public port '80/TCP' published for pw\n"},
		{"abc", "strconv.ParseUint: parsing \"abc\": invalid syntax\n"},
		{"99999", "strconv.ParseUint: parsing \"99999\": value out of range\n"},
		{"81-80", "Invalid range specified for the Port: 81-80\n"},
	} {
		if out, errs, code := e.run("port", "pw", c.args); code != 1 || out != "" || errs != c.stderr {
			t.Errorf("port pw %s: exit %d %q %q, want %q", c.args, code, out, errs, c.stderr)
		}
	}
	if _, errs, code := e.run("port", "nosuch", "abc"); code != 1 || errs != "Error: No such container: nosuch\n" {
		t.Errorf("port of a missing container: exit %d %q", code, errs)
	}
	if _, errs, code := e.run("port"); code != 1 || !strings.HasPrefix(errs, "\"berth port\" requires at least 1 and at most 2 arguments.\n") {
		t.Errorf("port without arguments: exit %d %q", code, errs)
	}
	// While it runs its host ports are held, as docker-proxy holds them: no other program gets
	// them (a program given one would have its own connections taken by the DNAT rule).
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tcp)); err == nil {
		l.Close()
		t.Errorf("127.0.0.1:%d is free while published", tcp)
	}
	if c, err := net.ListenPacket("udp", fmt.Sprintf("0.0.0.0:%d", udp)); err == nil {
		c.Close()
		t.Errorf("udp port %d is free while published", udp)
	}
	// A stopped container publishes nothing: an empty list, and the error for any port.
	e.ok("stop", "-t", "0", "pw")
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tcp)); err != nil {
		t.Errorf("127.0.0.1:%d still held after stop: %v", tcp, err)
	} else {
		l.Close()
	}
	if out := e.ok("port", "pw"); out != "" {
		t.Errorf("port of a stopped container = %q", out)
	}
	if _, errs, code := e.run("port", "pw", "80"); code != 1 || errs != "Error: No public port '80/tcp' published for pw\n" {
		t.Errorf("port pw 80 stopped: exit %d %q", code, errs)
	}
	e.ok("rm", "pw")
	// -P: the image's EXPOSE and --expose, each on a host port of its own.
	tarPath := filepath.Join(e.root, "busybox.tar")
	e.ok("import", "-c", "EXPOSE 80 53/udp", tarPath, "exposing:1")
	e.ok("run", "-d", "--name", "pa", "-P", "--expose", "7000", "exposing:1", "sleep", "300")
	out := e.ok("port", "pa")
	var want6 []string
	for _, p := range []string{"53/udp", "80/tcp", "7000/tcp"} {
		hp := e.inspect("pa", fmt.Sprintf(`{{(index (index .NetworkSettings.Ports %q) 0).HostPort}}`, p))
		want6 = append(want6, p+" -> 0.0.0.0:"+hp)
		if v6Binding("x") != "" {
			want6 = append(want6, p+" -> :::"+hp)
		}
		if one := e.ok("port", "pa", p); one != "0.0.0.0:"+hp+"\n"+v6Binding(":::"+hp+"\n") {
			t.Errorf("port pa %s = %q", p, one)
		}
	}
	if want := strings.Join(want6, "\n") + "\n"; out != want {
		t.Errorf("port pa = %q, want %q", out, want)
	}
	e.ok("rm", "-f", "pa")
}

// stats --no-stream prints Docker's table once: a busy loop using CPU (how much depends on what
// else the machine runs, so only that it is measured is checked), a --memory limit as
// the limit (the host's memory without one), one PID; a created container all zeros; an unknown
// one is Docker's error.
func TestContainerStats(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "busy", "bb:1", "sh", "-c", "while true; do :; done")
	e.ok("run", "-d", "--name", "capped", "--memory", "64m", "--network", "none", "bb:1", "sleep", "300")
	e.ok("create", "--name", "idle", "bb:1", "true")
	out := e.ok("stats", "--no-stream", "--format", "{{.Container}}|{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "busy", "capped", "idle")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("stats =\n%s", out)
	}
	f := strings.Split(lines[0], "|")
	var cpu float64
	fmt.Sscanf(f[2], "%f%%", &cpu)
	if f[0] != "busy" || f[1] != "busy" || cpu <= 0 || f[4] != "1" {
		t.Errorf("busy: %q (CPU %.2f)", lines[0], cpu)
	}
	if f := strings.Split(lines[1], "|"); !strings.HasSuffix(f[3], " / 64MiB") || f[4] != "1" {
		t.Errorf("capped: %q", lines[1])
	}
	if lines[2] != "idle|idle|0.00%|0B / 0B|0" {
		t.Errorf("idle: %q", lines[2])
	}
	out = e.ok("stats", "--no-stream")
	if !strings.HasPrefix(out, "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   ") || strings.Count(out, "\n") != 3 {
		t.Errorf("stats (running ones) =\n%s", out)
	}
	if _, errs, code := e.run("stats", "--no-stream", "nosuch"); code != 1 || errs != "Error: No such container: nosuch\n" {
		t.Errorf("stats nosuch: %d %q", code, errs)
	}
	e.ok("rm", "-f", "busy", "capped", "idle")
}

// update changes a running container's limits in its cgroup at once and in its record (the next
// start keeps them), with Docker's refusals.
func TestContainerUpdate(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "u1", "--network", "none", "bb:1", "sleep", "300")
	if out := e.ok("update", "--memory", "32m", "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "20", "u1"); out != "u1\n" {
		t.Errorf("update printed %q", out)
	}
	want := "33554432 67108864 500000000 20"
	if got := e.inspect("u1", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}"); got != want {
		t.Errorf("inspect = %q, want %q", got, want)
	}
	// The limits are in force: the container sees them through its own cgroup files.
	limits := func() string {
		return e.ok("exec", "u1", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
	}
	if got := limits(); got != "33554432\n20\n" {
		t.Errorf("cgroup limits after update = %q", got)
	}
	e.ok("restart", "-t", "0", "u1")
	if got := limits(); got != "33554432\n20\n" {
		t.Errorf("cgroup limits after restart = %q", got)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"update", "--memory", "1m", "u1"}, "Error: Minimum memory limit allowed is 6MB\n"},
		{[]string{"update", "--memory", "128m", "u1"}, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time\n"},
		{[]string{"update", "u1"}, "you must provide one or more flags when using this command\n"},
		{[]string{"update", "--restart", "always", "nosuch"}, "Error: No such container: nosuch\n"},
	} {
		if _, errs, code := e.run(c.args...); code != 1 || !strings.HasSuffix(errs, c.err) {
			t.Errorf("berth %s: exit %d %q, want %q", strings.Join(c.args, " "), code, errs, c.err)
		}
	}
	e.ok("rm", "-f", "u1")
	e.ok("run", "-d", "--rm", "--name", "u2", "bb:1", "sleep", "300")
	if _, errs, code := e.run("update", "--restart", "always", "u2"); code != 1 || !strings.Contains(errs, "Restart policy cannot be updated because AutoRemove is enabled for the container") {
		t.Errorf("update --restart of a --rm container: %d %q", code, errs)
	}
	e.ok("rm", "-f", "u2")
}

// v6Binding is s where the host has IPv6: Docker 20.10 then publishes a port given without a
// host address on [::] too, and lists that binding after the 0.0.0.0 one.
func v6Binding(s string) string {
	if network.HostHasIPv6() {
		return s
	}
	return ""
}
