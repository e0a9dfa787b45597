package cli

// End-to-end test of rootless mode: berth run by an unprivileged user with ranges in
// /etc/subuid and /etc/subgid, its store in the user's home, containers in the user's own user
// namespace, networking through slirp4netns.

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-engine/berth/idmap"
)

// rootlessEnv runs berth as a test user.
type rootlessEnv struct {
	t              *testing.T
	bin, name      string
	home           string
	uid, gid       int
	subuid, subgid idmap.Range // the user's (first) subordinate ranges
}

// newRootlessUser creates a user with a home under /home and 65536 subordinate IDs, all of it
// (and every process the user runs) removed when the test ends.
func newRootlessUser(t *testing.T, bin string) *rootlessEnv {
	t.Helper()
	for _, tool := range []string{"useradd", "usermod", "userdel", "setpriv", "newuidmap", "newgidmap", "nsenter", "slirp4netns"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("rootless tests need %s (scripts/deps.sh installs it)", tool)
		}
	}
	b := make([]byte, 3)
	rand.Read(b)
	name := "bt-rl-" + hex.EncodeToString(b)
	home := filepath.Join("/home", name)
	if out, err := exec.Command("useradd", "-m", "-d", home, "-s", "/bin/sh", "-U", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	e := &rootlessEnv{t: t, bin: bin, name: name, home: home}
	t.Cleanup(func() {
		os.RemoveAll(home)
		deleteUser(t, name)
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	e.uid, _ = strconv.Atoi(u.Uid)
	e.gid, _ = strconv.Atoi(u.Gid)
	// useradd gives a new user ranges where login.defs says so; otherwise the test adds them.
	for i, f := range []struct{ file, flag string }{{idmap.SubUIDFile, "-v"}, {idmap.SubGIDFile, "-w"}} {
		data, _ := os.ReadFile(f.file)
		all, err := idmap.ParseSubIDs(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		rs := idmap.Ranges(all, name, "")
		if len(rs) == 0 {
			start, err := idmap.NextFreeRange(all, idmap.DefaultRangeSize)
			if err != nil {
				t.Fatal(err)
			}
			span := fmt.Sprintf("%d-%d", start, start+idmap.DefaultRangeSize-1)
			if out, err := exec.Command("usermod", f.flag, span, name).CombinedOutput(); err != nil {
				t.Fatalf("usermod %s %s: %v: %s", f.flag, span, err, out)
			}
			rs = []idmap.Range{{Host: start, Size: idmap.DefaultRangeSize}}
		}
		if i == 0 {
			e.subuid = rs[0]
		} else {
			e.subgid = rs[0]
		}
	}
	// Runs before the home and the user go: the user's containers, then whatever still runs as
	// the user or one of its subordinate IDs (the pause process, slirp4netns), by pid.
	t.Cleanup(func() {
		if out, _, _ := e.run("ps", "-aq", "--no-trunc"); out != "" {
			e.run(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		for _, pid := range e.processes() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for i := 0; i < 100 && len(e.processes()) > 0; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	return e
}

// owned reports whether a host uid is the user's or one of its subordinate IDs.
func (e *rootlessEnv) owned(uid uint32) bool {
	return int(uid) == e.uid || (uid >= e.subuid.Host && uid < e.subuid.Host+e.subuid.Size)
}

// processes are the pids running as the user or one of its subordinate IDs.
func (e *rootlessEnv) processes() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+d.Name(), &st) != nil || !e.owned(st.Uid) {
			continue
		}
		// A zombie waits for whoever adopted it to reap it: it runs nothing.
		if b, err := os.ReadFile("/proc/" + d.Name() + "/stat"); err == nil {
			if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

func (e *rootlessEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(e.uid), "--regid=" + strconv.Itoa(e.gid), "--init-groups", "--", e.bin}, args...)...)
	c.Env = []string{"HOME=" + e.home, "USER=" + e.name, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	c.Dir = e.home
	return c
}

func (e *rootlessEnv) run(args ...string) (string, string, int) {
	c := e.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("berth %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func (e *rootlessEnv) ok(args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("berth %s as %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), e.name, code, out, errs)
	}
	return out
}

// fails checks a command fails with exit code 125 and one line naming the problem.
func (e *rootlessEnv) fails(want string, args ...string) {
	e.t.Helper()
	out, errs, code := e.run(args...)
	first, _, _ := strings.Cut(errs, "\n")
	if code != 125 || !strings.Contains(first, want) {
		e.t.Errorf("berth %s as %s: exit %d, %q%s; want 125 and a first line with %q", strings.Join(args, " "), e.name, code, errs, out, want)
	}
}

// strayFiles lists what the user (or one of its subordinate IDs) owns under the shared places
// rootless berth must not write to.
func (e *rootlessEnv) strayFiles() []string {
	var found []string
	for _, top := range []string{"/tmp", "/var/tmp", "/run", "/dev/shm", "/var/lib/berth", "/var/lib/cni"} {
		depth := strings.Count(top, "/")
		filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && strings.Count(p, "/")-depth > 4 {
				return fs.SkipDir
			}
			var st syscall.Stat_t
			if syscall.Lstat(p, &st) == nil && e.owned(st.Uid) {
				found = append(found, p)
			}
			return nil
		})
	}
	return found
}

func TestRootlessMode(t *testing.T) {
	root := newCtrEnv(t) // builds berth and checks runc, busybox and overlayfs
	e := newRootlessUser(t, root.bin)
	bbTar := filepath.Join(e.home, "busybox.tar")
	if err := os.WriteFile(bbTar, busyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("import", bbTar, "bb:1")
	store := filepath.Join(e.home, ".local", "share", "berth")
	if _, err := os.Stat(filepath.Join(store, "state.db")); err != nil {
		t.Fatalf("the store is not under $HOME/.local/share/berth: %v", err)
	}
	// An image whose IDs lie beyond the user's 65536 subordinate IDs cannot be unpacked: said so.
	var big bytes.Buffer
	tw := tar.NewWriter(&big)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "f", Mode: 0o644, Uid: 70000, Gid: 70000})
	tw.Close()
	os.WriteFile(filepath.Join(e.home, "big.tar"), big.Bytes(), 0o644)
	if _, errs, code := e.run("import", "big.tar", "big:1"); code == 0 || !strings.Contains(errs, "not mapped in this user namespace") {
		t.Errorf("import of an image with uid 70000: exit %d %q", code, errs)
	}
	if info := e.ok("info", "--format", "{{json .SecurityOptions}}"); !strings.Contains(info, "name=rootless") {
		t.Errorf("info SecurityOptions = %s, want name=rootless", info)
	}

	// Without a usable /dev/net/tun (mode 0600 here) the default network says so; none works.
	fi, err := os.Stat("/dev/net/tun")
	if err != nil {
		t.Skip("no /dev/net/tun")
	}
	mode := fi.Mode().Perm()
	if mode&0o006 != 0o006 {
		e.fails("rootless networking needs /dev/net/tun readable and writable", "run", "--rm", "bb:1", "true")
	}
	// run --rm: root inside is the user, the rest of the range follows.
	out := e.ok("run", "--rm", "--network", "none", "bb:1", "sh", "-c", "id -u; cat /proc/self/uid_map; grep Seccomp: /proc/self/status")
	f := strings.Fields(out)
	if len(f) < 9 || f[0] != "0" || f[1] != "0" || f[2] != strconv.Itoa(e.uid) || f[3] != "1" ||
		f[4] != "1" || f[5] != fmt.Sprint(e.subuid.Host) || f[len(f)-1] != "2" {
		t.Errorf("run --rm: %q; want uid 0, the map 0 %d 1, 1 %d …, and Docker's seccomp filter", out, e.uid, e.subuid.Host)
	}

	// The test sets up what udev does on most distributions, and restores it.
	if err := os.Chmod("/dev/net/tun", 0o666); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod("/dev/net/tun", mode) })

	// -d and exec: every berth process sees the container's mounts and namespaces.
	id := strings.TrimSpace(e.ok("run", "-d", "bb:1", "sleep", "1000"))
	if got := e.ok("exec", id, "sh", "-c", "echo exec-ok; id -u; ip -4 addr show tap0 | grep -c 10.0.2.100"); got != "exec-ok\n0\n1\n" {
		t.Errorf("exec = %q", got)
	}
	if got := e.ok("run", "--rm", "--network", "container:"+id, "bb:1", "sh", "-c", "ip -4 addr show tap0 | grep -c 10.0.2.100"); got != "1\n" {
		t.Errorf("--network container: %q", got)
	}
	pid := strings.TrimSpace(e.ok("inspect", "-f", "{{.State.Pid}}", id))
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+pid, &st); err != nil || int(st.Uid) != e.uid {
		t.Errorf("container init %s runs as host uid %d (%v), want the user's %d", pid, st.Uid, err, e.uid)
	}
	// The pause process killed while the container runs: the next command starts another in the
	// container's namespaces (found through its shim), so exec still reaches it.
	pidFile := filepath.Join(e.home, ".cache", "berth", "run", "pause.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// SIGKILL takes effect when the process next runs: on a loaded machine the next command
	// could still find it alive. Wait until it is gone (or a zombie, with no command line).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", old)); err != nil || len(b) == 0 {
			break
		}
	}
	if got := e.ok("exec", id, "echo", "after the pause died"); got != "after the pause died\n" {
		t.Errorf("exec after the pause process died = %q", got)
	}
	if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) == strconv.Itoa(old) {
		t.Errorf("pause.pid still names the killed process %d", old)
	}
	if _, errs, code := e.run("update", "--memory", "64m", id); code == 0 || !strings.Contains(errs, "--memory: resource limits are not supported in rootless mode") {
		t.Errorf("update --memory: exit %d %q", code, errs)
	}
	e.ok("update", "--restart", "on-failure", id)
	// No cgroup: top finds the container's processes by PID namespace, commit reads the layer
	// without freezing, pause says why it cannot.
	if top := e.ok("top", id); !strings.Contains(top, "sleep 1000") {
		t.Errorf("top = %q", top)
	}
	e.ok("exec", id, "sh", "-c", "echo committed > /c")
	e.ok("commit", id, "committed:1")
	if got := e.ok("run", "--rm", "--network", "none", "committed:1", "cat", "/c"); got != "committed\n" {
		t.Errorf("committed image: %q", got)
	}
	if _, errs, code := e.run("pause", id); code == 0 || !strings.Contains(errs, "pause is not supported in rootless mode") {
		t.Errorf("pause: exit %d %q", code, errs)
	}
	e.ok("rm", "-f", id)

	// -p HOSTPORT:80 reachable on the loopback.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	id = strings.TrimSpace(e.ok("run", "-d", "-p", fmt.Sprintf("%d:80", port), "bb:1", "sh", "-c",
		"mkdir /www && echo hello-rootless > /www/index.html && exec httpd -f -p 80 -h /www"))
	if got := e.ok("port", id); got != fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", port) {
		t.Errorf("port = %q", got)
	}
	if body := getUntil(fmt.Sprintf("http://127.0.0.1:%d/", port), "hello-rootless\n", 30*time.Second); body != "hello-rootless\n" {
		t.Errorf("GET 127.0.0.1:%d = %q", port, body)
	}
	e.ok("rm", "-f", id)
	if ps := e.processes(); len(ps) != 1 {
		var cmds []string
		for _, p := range ps {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			cmds = append(cmds, fmt.Sprintf("%d %q", p, b))
		}
		t.Errorf("after rm, the user runs %v; want the pause process alone (slirp4netns stopped)", cmds)
	}
	e.ok("run", "--rm", "--network", "host", "bb:1", "ls", "/sys/class")

	// pull from a registry on 127.0.0.1: an image whose layers delete a file and make a directory
	// opaque, so unpacking must mark them as overlayfs reads them in a user namespace.
	reg := testRegistry(t)
	ctx := t.TempDir()
	df := "FROM bb:1\nRUN mkdir /d && touch /d/a /gone && chown 1000:1000 /d\nRUN rm -rf /d /gone && mkdir /d && touch /d/b\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := reg + "/tests/wh:1"
	root.ok("build", "-q", "--network", "none", "-t", ref, ctx)
	root.ok("push", ref)
	e.ok("pull", ref)
	if got := e.ok("run", "--rm", "--network", "none", ref, "sh", "-c", "ls /d; ls /gone 2>/dev/null; echo end"); got != "b\nend\n" {
		t.Errorf("pulled image: %q, want /d holding b alone and /gone deleted", got)
	}

	// build with RUN steps (on the default network, through slirp4netns).
	uctx := filepath.Join(e.home, "ctx")
	os.Mkdir(uctx, 0o755)
	os.WriteFile(filepath.Join(uctx, "Dockerfile"), []byte("FROM bb:1\nRUN id -u > /who && chown 1000:1000 /who\nRUN rm /bin/vi\n"), 0o644)
	os.Chown(uctx, e.uid, e.gid)
	e.ok("build", "-q", "-t", "built:1", "ctx")
	if got := e.ok("run", "--rm", "--network", "none", "built:1", "sh", "-c", "cat /who; stat -c %u /who; ls /bin/vi 2>&1 >/dev/null | wc -l"); got != "0\n1000\n1\n" {
		t.Errorf("built image: %q", got)
	}

	// What cannot work rootless here says so.
	e.fails("resource limits are not supported in rootless mode", "run", "--rm", "--memory", "64m", "bb:1", "true")
	e.fails("rootless mode cannot publish host port 80", "run", "--rm", "-p", "80:80", "bb:1", "true")

	// berth serve: the Engine API on a socket in the user's runtime directory.
	srv := e.cmd("serve")
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	sock := filepath.Join(e.home, ".cache", "berth", "run", "berth.sock")
	client := &http.Client{Transport: &http.Transport{Dial: func(string, string) (net.Conn, error) { return net.Dial("unix", sock) }}}
	ping, deadline := "", time.Now().Add(30*time.Second)
	for time.Now().Before(deadline) && ping != "OK" {
		if resp, err := client.Get("http://berth/_ping"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ping = string(b)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if ping != "OK" {
		t.Errorf("GET /_ping on %s = %q; serve said %q", sock, ping, srvOut.String())
	}
	srv.Process.Kill()
	srv.Wait()

	if stray := e.strayFiles(); len(stray) > 0 {
		t.Errorf("rootless berth wrote outside the user's home: %v", stray)
	}
}

// getUntil GETs url until it answers want or within has passed, and returns the last body.
func getUntil(url, want string, within time.Duration) string {
	body := ""
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if body = string(b); body == want {
				break
			}
		}
	}
	return body
}
