package cli

// Interrupted builds and runs (issue 12 §3) and prune racing run (§4), end to end: berth is
// killed by SIGINT, SIGTERM, SIGHUP (it must undo what it set up before it exits) and SIGKILL
// (the next berth command must find the debris by its records and remove it) at several
// points of a RUN step and of a foreground run, and the host is checked for every kind of
// debris: mounts, network namespaces, veth links, iptables rules, CNI address leases, cgroups
// and processes. TestTorture repeats it all many times (BERTH_TORTURE=N, scripts/torture.sh).

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// debris is what berth processes under one root left on the host, by kind.
type debris map[string][]string

var debrisKinds = []string{"mounts", "netns", "links", "leases", "iptables", "cgroups", "processes", "records"}

func (d debris) total() int {
	n := 0
	for _, v := range d {
		n += len(v)
	}
	return n
}

func (d debris) String() string {
	var b strings.Builder
	for _, k := range debrisKinds {
		if len(d[k]) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(d[k], "; "))
		}
	}
	return b.String()
}

// seen is what the test noticed of berth's work while it ran: the IDs of build steps and
// containers, and the host ends (ifindex) of the veth pairs in their network namespaces.
type seen struct {
	mu      sync.Mutex
	ids     map[string]bool
	ifindex map[int]string // host end of a veth → the ID whose namespace holds the other
}

func newSeen() *seen { return &seen{ids: map[string]bool{}, ifindex: map[int]string{}} }

var peerIndex = regexp.MustCompile(`eth0@if(\d+)`)

// look records the IDs under root and, for each network namespace, its veth's host end.
func (s *seen) look(root string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range []string{"builds", "containers", "netns"} {
		ents, _ := os.ReadDir(filepath.Join(root, d))
		for _, e := range ents {
			if n := strings.TrimSuffix(strings.TrimPrefix(e.Name(), "."), ".new"); n != "" && !strings.HasPrefix(n, "tmp") {
				s.ids[n] = true
			}
		}
	}
	ns, _ := filepath.Glob(filepath.Join(root, "netns", "*"))
	for _, p := range ns {
		out, _ := exec.Command("nsenter", "--net="+p, "ip", "-o", "link", "show", "eth0").Output()
		if m := peerIndex.FindSubmatch(out); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			s.ifindex[n] = filepath.Base(p)
		}
	}
}

// probeDebris lists what berth left on the host for root, ignoring what belongs to the
// containers in keep (running ones: their mounts, namespace and processes are theirs). The kernel
// destroys a network namespace (and the veth in it) and reaps exited processes asynchronously:
// what is found is looked for again for a few seconds before it counts.
func probeDebris(root string, s *seen, keep []string) debris {
	d := probeOnce(root, s, keep)
	for deadline := time.Now().Add(5 * time.Second); d.total() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		d = probeOnce(root, s, keep)
	}
	return d
}

func probeOnce(root string, s *seen, keep []string) debris {
	d := debris{}
	kept := func(text string) bool {
		for _, k := range keep {
			if k != "" && strings.Contains(text, k) {
				return true
			}
		}
		return false
	}
	s.look(root)
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.ids {
		if !kept(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root+"/") && !kept(f[4]) {
				if strings.HasPrefix(f[4], filepath.Join(root, "netns")+"/") {
					d["netns"] = append(d["netns"], f[4])
				} else {
					d["mounts"] = append(d["mounts"], f[4])
				}
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			idx, rest, ok := strings.Cut(line, ": ")
			n, err := strconv.Atoi(idx)
			if owner, seen := s.ifindex[n]; ok && err == nil && seen && !kept(owner) && strings.HasPrefix(rest, "veth") {
				d["links"] = append(d["links"], strings.Fields(rest)[0])
			}
		}
	}
	leases, _ := filepath.Glob("/var/lib/cni/networks/berth/*")
	for _, l := range leases {
		b, _ := os.ReadFile(l)
		owner, _, _ := strings.Cut(string(b), "\n")
		owner = strings.TrimSpace(owner)
		for _, id := range ids {
			if owner == id {
				d["leases"] = append(d["leases"], filepath.Base(l)+"="+id)
			}
		}
	}
	if out, err := exec.Command("iptables-save").Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			for _, id := range ids {
				if strings.Contains(sc.Text(), id) {
					d["iptables"] = append(d["iptables"], sc.Text())
				}
			}
		}
	}
	for _, id := range ids {
		cg, _ := filepath.Glob("/sys/fs/cgroup/*/berth/" + id)
		d["cgroups"] = append(d["cgroups"], cg...)
		for _, rt := range []string{"runc", "crun"} {
			if _, err := os.Stat(filepath.Join(root, "runtime", rt, id)); err == nil {
				d["records"] = append(d["records"], rt+" state of "+id)
			}
		}
		if _, err := os.Stat(filepath.Join(root, "builds", id)); err == nil {
			d["records"] = append(d["records"], "build step "+id)
		}
	}
	// A build's scratch directory (ClaimBuildTemp) outlives no build.
	tmps, _ := filepath.Glob(filepath.Join(root, "builds", "tmp-*"))
	d["records"] = append(d["records"], tmps...)
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		cg, _ := os.ReadFile("/proc/" + p.Name() + "/cgroup")
		env, _ := os.ReadFile("/proc/" + p.Name() + "/environ")
		text := strings.ReplaceAll(string(cmd), "\x00", " ")
		hit := strings.Contains(text, root+"/") || strings.Contains(text, root+" ")
		for _, id := range ids {
			hit = hit || strings.Contains(string(cg), "/berth/"+id) || bytes.Contains(env, []byte("CNI_CONTAINERID="+id))
		}
		if hit && !kept(text) && !kept(string(cg)) {
			stat, _ := os.ReadFile("/proc/" + p.Name() + "/stat")
			d["processes"] = append(d["processes"], p.Name()+" "+strings.TrimSpace(text)+" ("+string(stat)+")")
		}
	}
	return d
}

// interruptEnv is a ctrEnv with the images the interrupt rounds use.
type interruptEnv struct {
	*ctrEnv
	ctxDir string
}

func newInterruptEnv(t *testing.T) *interruptEnv {
	e := newCtrEnv(t)
	for _, tool := range []string{"nsenter", "ip", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("interrupt tests need %s (Debian: util-linux, iproute2, iptables)", tool)
		}
	}
	// Whatever a failed round left is swept before the common clean-up checks the mounts.
	t.Cleanup(func() { e.run("system", "prune", "-f") })
	dir := t.TempDir()
	// The RUN says when it runs, then stays (until killed); a build that is not killed in it
	// would take 30 s, which the test reports.
	df := "FROM bb:1\nRUN echo step-started && sleep 30\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := "FROM bb:1\nRUN echo fine > /fine\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.ok"), []byte(ok), 0o644); err != nil {
		t.Fatal(err)
	}
	return &interruptEnv{ctrEnv: e, ctxDir: dir}
}

// lockedBuffer is an output buffer written by a process and read by the test meanwhile.
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

// Kill points: when the test kills berth.
const (
	pointSetup   = "setup"   // the step's/container's set-up has begun (its directory or namespace exists)
	pointRuntime = "runtime" // the runtime is creating the container
	pointRunning = "running" // the command runs
	pointRandom  = "random"  // a random moment in the first second and a half
)

// round is one interrupted build or run: what happened and what was left.
type round struct {
	kind, point string
	sig         syscall.Signal
	failed      string // why the round failed, "" when it passed
	left        debris
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(within time.Duration, s *seen, root string, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if s != nil {
			s.look(root)
		}
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func globAny(pattern string) bool {
	m, _ := filepath.Glob(pattern)
	return len(m) > 0
}

// startUntil starts cmd in a process group of its own, its output in out, and waits until it
// reaches point: marks holds a glob under the root for pointSetup and pointRuntime and a string of
// its output for pointRunning; any other point is a random moment in the first second and a half.
// It returns "" once there, or why it never got there (and kills cmd).
func (e *interruptEnv) startUntil(cmd *exec.Cmd, out *lockedBuffer, s *seen, point string, rng *rand.Rand, kind string, marks map[string]string) string {
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	reached := true
	switch point {
	case pointSetup, pointRuntime:
		reached = waitFor(20*time.Second, s, e.root, func() bool { return globAny(marks[point]) })
	case pointRunning:
		reached = waitFor(20*time.Second, s, e.root, func() bool { return strings.Contains(out.String(), marks[point]) })
	default:
		time.Sleep(time.Duration(rng.Intn(1500)) * time.Millisecond)
		s.look(e.root)
	}
	if !reached {
		cmd.Process.Kill()
		cmd.Wait()
		return "the " + kind + " never reached " + point + ": " + out.String()
	}
	return ""
}

// interruptBuild starts a build, kills it with sig at point, and checks that berth exits within
// a few seconds (by the signal), that nothing is left once the next build has run, and that
// the next build succeeds and its image runs.
func (e *interruptEnv) interruptBuild(point string, sig syscall.Signal, rng *rand.Rand) round {
	r := round{kind: "build", point: point, sig: sig}
	s := newSeen()
	var out lockedBuffer
	cmd := e.cmd("build", "--progress", "plain", "--no-cache", "-t", "intr:1", e.ctxDir)
	if r.failed = e.startUntil(cmd, &out, s, point, rng, "build", map[string]string{
		pointSetup:   filepath.Join(e.root, "builds", "build-*"),
		pointRuntime: filepath.Join(e.root, "runtime", "runc", "build-*"),
		pointRunning: "step-started",
	}); r.failed != "" {
		return r
	}
	r.failed = e.kill(cmd, sig, s, &out, rng, false)
	if cmd.ProcessState.Success() {
		r.failed += "; the interrupted build exited 0"
	}
	// The next build sweeps what a killed one left, and works.
	s.look(e.root)
	if o, errs, code := e.run("build", "-q", "-f", filepath.Join(e.ctxDir, "Dockerfile.ok"), "-t", "after:1", e.ctxDir); code != 0 {
		r.failed += fmt.Sprintf("; the next build failed (%d): %s%s", code, o, errs)
	} else if o, errs, code := e.run("run", "--rm", "after:1", "cat", "/fine"); code != 0 || strings.TrimSpace(o) != "fine" {
		r.failed += fmt.Sprintf("; the next build's image does not run (%d): %q %s", code, o, errs)
	}
	r.left = probeDebris(e.root, s, nil)
	return r
}

// kill sends sig to berth (alone, or, for SIGINT half the time, to its whole process group as a
// terminal's Ctrl-C does) and waits for it to exit; it returns why that went wrong ("" when it
// did not): berth must be gone within a few seconds of the signal.
func (e *interruptEnv) kill(cmd *exec.Cmd, sig syscall.Signal, s *seen, out fmt.Stringer, rng *rand.Rand, resend bool) string {
	s.look(e.root)
	start := time.Now()
	pid := cmd.Process.Pid
	if sig == syscall.SIGINT && rng.Intn(2) == 0 {
		pid = -pid
	}
	syscall.Kill(pid, sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var again <-chan time.Time
	if resend {
		again = time.After(3 * time.Second)
	}
	select {
	case <-again:
		// The container's command got the proxied signal before it set its trap, and
		// ignored it as a PID 1 does (with Docker too): the user presses Ctrl-C again.
		syscall.Kill(pid, sig)
		start = time.Now()
		select {
		case <-done:
			return ""
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return fmt.Sprintf("berth did not exit within 13s of %v twice: %s", sig, out.String())
		}
	case <-done:
		if d := time.Since(start); d > 10*time.Second {
			return fmt.Sprintf("berth took %v to exit after %v", d, sig)
		}
		return ""
	case <-time.After(40 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Sprintf("berth did not exit within 40s of %v: %s", sig, out.String())
	}
}

// interruptRun starts a foreground `run --rm -p` whose container reports that it runs and ends
// on SIGINT/SIGTERM/SIGHUP (proxied to it), kills berth with sig at point, runs `ps -a` (which
// reconciles what a killed run left), and checks what is left besides the containers that still
// run (a container outlives a run killed by SIGKILL, as it outlives a killed Docker CLI); those
// are then removed with rm -f and must leave nothing either.
func (e *interruptEnv) interruptRun(point string, sig syscall.Signal, rng *rand.Rand) round {
	r := round{kind: "run", point: point, sig: sig}
	s := newSeen()
	var out lockedBuffer
	cmd := e.cmd("run", "--rm", "-p", "127.0.0.1::80", "bb:1", "sh", "-c",
		`trap "exit 7" INT TERM HUP; echo ctr-started; while :; do sleep 0.1; done`)
	if r.failed = e.startUntil(cmd, &out, s, point, rng, "run", map[string]string{
		pointSetup:   filepath.Join(e.root, "netns", "*"),
		pointRuntime: filepath.Join(e.root, "runtime", "*", "*"), // the default runtime's (crun's, where installed)
		pointRunning: "ctr-started",
	}); r.failed != "" {
		return r
	}
	r.failed = e.kill(cmd, sig, s, &out, rng, sig != syscall.SIGKILL)
	s.look(e.root)
	e.run("ps", "-a")
	running, _, _ := e.run("ps", "-q", "--no-trunc")
	keep := strings.Fields(running)
	if sig != syscall.SIGKILL && len(keep) > 0 {
		r.failed += "; a container runs after an interrupted foreground run: " + strings.Join(keep, " ")
	}
	r.left = probeDebris(e.root, s, keep)
	for _, id := range keep {
		e.run("rm", "-f", id)
	}
	if d := probeDebris(e.root, s, nil); d.total() > 0 && r.left.total() == 0 {
		r.left = d
	}
	return r
}

// pruneRace runs n concurrent `run -d` while `system prune -f` runs in a loop and returns how
// many runs failed, with their errors.
func (e *interruptEnv) pruneRace(n int) (int, []string) {
	stop := make(chan struct{})
	var pruners sync.WaitGroup
	pruners.Add(1)
	go func() {
		defer pruners.Done()
		for {
			select {
			case <-stop:
				return
			default:
				e.run("system", "prune", "-f")
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, eo, code := e.run("run", "-d", "bb:1", "sleep", "3")
			if code != 0 {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("exit %d: %s%s", code, o, eo))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	pruners.Wait()
	out, _, _ := e.run("ps", "-aq")
	for _, id := range strings.Fields(out) {
		e.run("rm", "-f", id)
	}
	return len(errs), errs
}

var interruptSigs = []syscall.Signal{syscall.SIGINT, syscall.SIGKILL}

// TestInterruptedBuildAndRunLeaveNothing kills build and run at each point with SIGINT and
// SIGKILL (and build with SIGTERM and SIGHUP once) and checks the host after each.
func TestInterruptedBuildAndRunLeaveNothing(t *testing.T) {
	e := newInterruptEnv(t)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	var rounds []round
	for _, point := range []string{pointSetup, pointRuntime, pointRunning} {
		for _, sig := range interruptSigs {
			rounds = append(rounds, e.interruptBuild(point, sig, rng), e.interruptRun(point, sig, rng))
		}
	}
	rounds = append(rounds, e.interruptBuild(pointRunning, syscall.SIGTERM, rng), e.interruptBuild(pointRunning, syscall.SIGHUP, rng))
	for _, r := range rounds {
		if r.failed != "" || r.left.total() > 0 {
			t.Errorf("%s killed by %v at %s: %s\n%s", r.kind, r.sig, r.point, r.failed, r.left)
		}
	}
}

// TestPruneDoesNotTakeStartingContainers is §4: `run -d` never fails because a prune took the
// container it was creating or starting.
func TestPruneDoesNotTakeStartingContainers(t *testing.T) {
	e := newInterruptEnv(t)
	if n, errs := e.pruneRace(10); n > 0 {
		t.Fatalf("%d of 10 run -d failed beside system prune:\n%s", n, strings.Join(errs, "\n"))
	}
}

// TestTorture repeats the interrupt rounds at every point with every signal, and the prune race,
// BERTH_TORTURE times (scripts/torture.sh; CI runs a few), and prints a table of runs, failures
// and each kind of debris left, all of which must be 0.
func TestTorture(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BERTH_TORTURE"))
	if n <= 0 {
		t.Skip("set BERTH_TORTURE=N to run the torture test N times (scripts/torture.sh)")
	}
	e := newInterruptEnv(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	type row struct {
		runs, failures int
		left           map[string]int
	}
	table := map[string]*row{}
	var order []string
	add := func(name string, failed bool, d debris) {
		r := table[name]
		if r == nil {
			r = &row{left: map[string]int{}}
			table[name] = r
			order = append(order, name)
		}
		r.runs++
		if failed {
			r.failures++
		}
		for k, v := range d {
			r.left[k] += len(v)
		}
	}
	sigs := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGKILL}
	points := []string{pointSetup, pointRuntime, pointRunning, pointRandom}
	for i := 0; i < n; i++ {
		// A Latin square: any 4 repetitions in a row try every point and every signal, and
		// 16 try every pair.
		point := points[i%len(points)]
		sig := sigs[(i+i/len(points))%len(sigs)]
		for _, r := range []round{e.interruptBuild(point, sig, rng), e.interruptRun(point, sig, rng)} {
			name := fmt.Sprintf("%s killed at %s by %s", r.kind, r.point, sigName(r.sig))
			add(name, r.failed != "" || r.left.total() > 0, r.left)
			if r.failed != "" || r.left.total() > 0 {
				t.Errorf("%s: %s\n%s", name, r.failed, r.left)
			}
		}
		failed, errs := e.pruneRace(20)
		add("run -d x20 beside prune", failed > 0, nil)
		if failed > 0 {
			t.Errorf("prune race: %d of 20 run -d failed:\n%s", failed, strings.Join(errs, "\n"))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nseed %d, %d repetitions\n%-36s %5s %8s", seed, n, "ROUND", "RUNS", "FAILURES")
	for _, k := range debrisKinds {
		fmt.Fprintf(&b, " %9s", k)
	}
	b.WriteString("\n")
	sort.Strings(order)
	for _, name := range order {
		r := table[name]
		fmt.Fprintf(&b, "%-36s %5d %8d", name, r.runs, r.failures)
		for _, k := range debrisKinds {
			fmt.Fprintf(&b, " %9d", r.left[k])
		}
		b.WriteString("\n")
	}
	fmt.Print(b.String())
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGKILL:
		return "KILL"
	}
	return s.String()
}

// A build killed with SIGKILL leaves its scratch directory (builds/tmp-*, claimed like a
// step's directory, never $TMPDIR any more); the next build removes it. So for a context given
// on stdin, which is unpacked in such a directory too.
func TestKilledBuildLeavesNoTempDir(t *testing.T) {
	e := newInterruptEnv(t)
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	df, err := os.ReadFile(filepath.Join(e.ctxDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))})
	tw.Write(df)
	tw.Close()
	for _, from := range []string{"dir", "stdin"} {
		t.Run(from, func(t *testing.T) {
			tmpdir := t.TempDir()
			s := newSeen()
			var out lockedBuffer
			cmd := e.cmd("build", "--progress", "plain", "--no-cache", "-t", "intr:1", e.ctxDir)
			if from == "stdin" {
				cmd = e.cmd("build", "--progress", "plain", "--no-cache", "-t", "intr:1", "-")
				cmd.Stdin = bytes.NewReader(ctxTar.Bytes())
			}
			cmd.Env = append(cmd.Env, "TMPDIR="+tmpdir)
			if failed := e.startUntil(cmd, &out, s, pointRunning, nil, "build", map[string]string{pointRunning: "step-started"}); failed != "" {
				t.Fatal(failed)
			}
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			scratch := filepath.Join(e.root, "builds", "tmp-*")
			if !globAny(scratch) {
				t.Fatalf("the killed build left no scratch directory %s: the test would prove nothing", scratch)
			}
			if from == "stdin" && !globAny(filepath.Join(scratch, "context", "Dockerfile")) {
				t.Errorf("the stdin context was not unpacked in the store's scratch directory")
			}
			if o, errs, code := e.run("build", "-q", "-f", filepath.Join(e.ctxDir, "Dockerfile.ok"), "-t", "after:1", e.ctxDir); code != 0 {
				t.Fatalf("the next build failed (%d): %s%s", code, o, errs)
			}
			if m, _ := filepath.Glob(scratch); len(m) != 0 {
				t.Errorf("the next build left the killed build's scratch directories: %v", m)
			}
			if ents, _ := os.ReadDir(tmpdir); len(ents) != 0 {
				t.Errorf("builds wrote to $TMPDIR: %v", ents)
			}
			if d := probeDebris(e.root, s, nil); d.total() > 0 {
				t.Errorf("left after the killed build and the next one:\n%s", d)
			}
		})
	}
}

// export (like cp, diff and commit of a stopped container) mounts the container's filesystem for
// a while; killed meanwhile, it leaves a claimed mount that the next such command undoes.
func TestKilledExportLeavesNoMount(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("create", "--name", "ex", "bb:1", "true")
	cmd := e.cmd("export", "ex")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw // never read: export blocks with its mount in place
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	mnts := func() int {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		return strings.Count(string(b), " "+filepath.Join(e.root, "containers")+"/")
	}
	if !waitFor(20*time.Second, nil, "", func() bool { return mnts() > 0 }) {
		t.Fatal("export never mounted the container's filesystem")
	}
	cmd.Process.Kill()
	cmd.Wait()
	pr.Close()
	if out, _, code := e.run("export", "-o", filepath.Join(e.root, "ex.tar"), "ex"); code != 0 {
		t.Fatalf("export after a killed export: %d %s", code, out)
	}
	if n := mnts(); n != 0 {
		t.Errorf("%d mounts left after a killed export and another export", n)
	}
}
