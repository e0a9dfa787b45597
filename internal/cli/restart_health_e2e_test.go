package cli

// End-to-end tests of restart policies and healthchecks. The expected strings are Docker 20.10's,
// checked against a reference daemon.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// until polls fn every 50 ms until it reports true, failing the test after timeout with what it
// last saw.
func (e *ctrEnv) until(timeout time.Duration, what string, fn func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := fn()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: never happened; last seen: %s", what, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *ctrEnv) restartCount(ref string) int {
	e.t.Helper()
	n, err := strconv.Atoi(e.inspect(ref, "{{.RestartCount}}"))
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestContainerRestartOnFailure(t *testing.T) {
	e := newCtrEnv(t)
	// A foreground run returns with the first exit; the policy restarts the container behind
	// it (a shim takes it over), exactly twice.
	out, _, code := e.run("run", "--name", "of", "--network", "none", "--restart", "on-failure:2", "bb:1", "sh", "-c", "echo run; exit 3")
	if code != 3 || out != "run\n" {
		t.Fatalf("run: exit %d, stdout %q", code, out)
	}
	e.until(10*time.Second, "on-failure:2 used up", func() (bool, string) {
		s := e.inspect("of", "{{.State.Status}} {{.RestartCount}}")
		return s == "exited 2", s
	})
	if got := e.inspect("of", `{{.RestartCount}} {{.State.ExitCode}} {{.State.Running}} {{.State.Restarting}} {{json .HostConfig.RestartPolicy}}`); got != `2 3 false false {"Name":"on-failure","MaximumRetryCount":2}` {
		t.Errorf("inspect = %s", got)
	}
	if out := e.ok("logs", "of"); out != "run\nrun\nrun\n" {
		t.Errorf("logs = %q", out)
	}
	if out := e.ok("ps", "-a", "--filter", "name=of", "--format", "{{.Status}}"); !strings.HasPrefix(out, "Exited (3) ") {
		t.Errorf("ps = %q", out)
	}
	// Exit 0 is not a failure.
	e.ok("run", "-d", "--name", "ok", "--network", "none", "--restart", "on-failure", "bb:1", "true")
	e.until(5*time.Second, "exit 0", func() (bool, string) {
		s := e.inspect("ok", "{{.State.Status}}")
		return s == "exited", s
	})
	if n := e.restartCount("ok"); n != 0 {
		t.Errorf("on-failure restarted an exit 0 %d times", n)
	}

	// Unlimited retries: the backoff doubles, so the container soon waits long enough (1.6s
	// after the 5th exit) to be seen restarting.
	e.ok("run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure", "bb:1", "sh", "-c", "exit 3")
	e.until(10*time.Second, "ps showing it restarting", func() (bool, string) {
		s := e.ok("ps", "--filter", "status=restarting", "--format", "{{.Names}} {{.Status}}")
		return strings.HasPrefix(s, "flaky Restarting (3) ") && e.restartCount("flaky") >= 5, s
	})
	if got := e.inspect("flaky", "{{.State.Status}} {{.State.Running}} {{.State.Restarting}} {{.State.Pid}} {{.State.ExitCode}}"); got != "restarting true true 0 3" {
		t.Errorf("inspect while restarting = %q", got)
	}
	id := e.inspect("flaky", "{{.Id}}")
	if _, errs, code := e.run("exec", "flaky", "true"); code == 0 || !strings.Contains(errs, "Container "+id+" is restarting, wait until the container is running") {
		t.Errorf("exec while restarting: %d %q", code, errs)
	}
	if _, errs, code := e.run("rm", "flaky"); code != 1 || !strings.Contains(errs, "You cannot remove a restarting container "+id+". Stop the container before attempting removal or force remove") {
		t.Errorf("rm while restarting: %d %q", code, errs)
	}
	// stop ends the wait for the restart at once, and for good.
	start := time.Now()
	e.ok("stop", "flaky")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stop of a restarting container took %v", d)
	}
	n := e.restartCount("flaky")
	time.Sleep(500 * time.Millisecond)
	if got := e.inspect("flaky", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 3" || e.restartCount("flaky") != n {
		t.Errorf("after stop: %q, restarts %d then %d", got, n, e.restartCount("flaky"))
	}
}

func TestContainerRestartAlwaysAndUnlessStopped(t *testing.T) {
	e := newCtrEnv(t)
	for _, policy := range []string{"always", "unless-stopped"} {
		name := "p-" + policy
		// Exit 0 is restarted too.
		e.ok("run", "-d", "--name", name, "--network", "none", "--restart", policy, "bb:1", "sh", "-c", "echo up; sleep 0.5")
		e.until(10*time.Second, policy+" restarting after exit 0", func() (bool, string) {
			n := e.restartCount(name)
			return n >= 2, strconv.Itoa(n)
		})
		// The user's stop is final: the process it ends is not restarted.
		e.ok("stop", name)
		n := e.restartCount(name)
		time.Sleep(700 * time.Millisecond)
		if got := e.inspect(name, "{{.State.Status}} {{.State.Restarting}}"); got != "exited false" || e.restartCount(name) != n {
			t.Errorf("%s after stop: %q, restarts %d then %d", policy, got, n, e.restartCount(name))
		}
		// start is the user's: the count starts over, and the policy applies again.
		e.ok("start", name)
		if n := e.restartCount(name); n != 0 {
			t.Errorf("%s: RestartCount after start = %d", policy, n)
		}
		e.until(10*time.Second, policy+" restarting after start", func() (bool, string) {
			n := e.restartCount(name)
			return n >= 1, strconv.Itoa(n)
		})
		// kill counts as the user's stop too, even of a long-running process.
		e.until(5*time.Second, "running", func() (bool, string) {
			s := e.inspect(name, "{{.State.Status}}")
			return s == "running", s
		})
		e.run("kill", name)
		e.until(5*time.Second, policy+" killed", func() (bool, string) {
			s := e.inspect(name, "{{.State.Status}}")
			return s == "exited", s
		})
		time.Sleep(500 * time.Millisecond)
		if got := e.inspect(name, "{{.State.Status}}"); got != "exited" {
			t.Errorf("%s after kill: %q", policy, got)
		}
		if got := e.inspect(name, "{{json .HostConfig.RestartPolicy}}"); got != `{"Name":"`+policy+`","MaximumRetryCount":0}` {
			t.Errorf("RestartPolicy = %s", got)
		}
	}
	// A process that runs on is only restarted when it ends; stop of it is final.
	e.ok("run", "-d", "--name", "long", "--network", "none", "--restart", "always", "bb:1", "sleep", "300")
	e.ok("stop", "-t", "1", "long")
	time.Sleep(500 * time.Millisecond)
	if got := e.inspect("long", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}"); got != "exited 137 0" {
		t.Errorf("always after stop: %q", got)
	}
	// wait on a container that is restarted returns at its next exit, as Docker's does.
	e.ok("run", "-d", "--name", "waiter", "--network", "none", "--restart", "always", "bb:1", "sh", "-c", "sleep 0.3; exit 4")
	if out := e.ok("wait", "waiter"); out != "4\n" {
		t.Errorf("wait = %q", out)
	}
	e.ok("rm", "-f", "waiter")
}

func TestContainerRestartPolicyFlags(t *testing.T) {
	e := newCtrEnv(t)
	for _, cmd := range []string{"run", "create"} {
		_, errs, code := e.run(cmd, "--rm", "--restart", "always", "bb:1", "true")
		// Docker 20.10: "docker: Conflicting options: --restart and --rm.\nSee 'docker run --help'."
		if want := "berth: Conflicting options: --restart and --rm.\nSee 'berth " + cmd + " --help'.\n"; code != 125 || errs != want {
			t.Errorf("%s --rm --restart always: %d %q", cmd, code, errs)
		}
	}
	// Docker 20.10's create exits 1 for what its daemon refuses.
	if _, errs, code := e.run("create", "--restart", "always:3", "bb:1", "true"); code != 1 || !strings.Contains(errs, "maximum retry count cannot be used with restart policy 'always'") {
		t.Errorf("always:3: %d %q", code, errs)
	}
	if _, errs, code := e.run("create", "--restart", "sometimes", "bb:1", "true"); code != 1 || !strings.Contains(errs, "invalid restart policy 'sometimes'") {
		t.Errorf("sometimes: %d %q", code, errs)
	}
	// --rm with the default policy is fine; the default shows as "no".
	e.ok("run", "--rm", "--restart", "no", "--network", "none", "bb:1", "true")
	id := strings.TrimSpace(e.ok("create", "bb:1", "true"))
	if got := e.inspect(id, "{{json .HostConfig.RestartPolicy}} {{.RestartCount}} {{json .State.Health}}"); got != `{"Name":"no","MaximumRetryCount":0} 0 null` {
		t.Errorf("defaults: %s", got)
	}
}

func TestContainerHealthcheck(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "hc", "--network", "none", "--health-cmd", "test -f /tmp/ok && echo yes || { echo no >&2; exit 1; }",
		"--health-interval", "500ms", "--health-retries", "2", "bb:1", "sleep", "300")
	e.ok("run", "-d", "--name", "plain", "--network", "none", "bb:1", "sleep", "300")
	// Until its first probe (an hour away) a container's health is starting.
	e.ok("run", "-d", "--name", "fresh", "--network", "none", "--health-cmd", "true", "--health-interval", "1h", "bb:1", "sleep", "300")
	if got := e.inspect("hc", "{{json .Config.Healthcheck}}"); got != `{"Test":["CMD-SHELL","test -f /tmp/ok && echo yes || { echo no >&2; exit 1; }"],"Interval":500000000,"Retries":2}` {
		t.Errorf("Config.Healthcheck = %s", got)
	}
	if got := e.inspect("fresh", "{{json .State.Health}}"); got != `{"Status":"starting","FailingStreak":0,"Log":[]}` {
		t.Errorf("health at start = %s", got)
	}
	if out := e.ok("ps", "--filter", "name=fresh", "--format", "{{.Status}}"); !strings.HasSuffix(out, " (health: starting)\n") {
		t.Errorf("ps while starting = %q", out)
	}
	health := func() (status string, streak int, log []map[string]any) {
		var h struct {
			Status        string
			FailingStreak int
			Log           []map[string]any
		}
		if err := json.Unmarshal([]byte(e.inspect("hc", "{{json .State.Health}}")), &h); err != nil {
			t.Fatal(err)
		}
		return h.Status, h.FailingStreak, h.Log
	}
	waitHealth := func(want string) {
		e.until(15*time.Second, "health "+want, func() (bool, string) {
			s, _, _ := health()
			return s == want, s
		})
	}
	waitHealth("unhealthy")
	status, streak, log := health()
	if streak < 2 || len(log) < 2 || log[0]["ExitCode"] != float64(1) || log[0]["Output"] != "no\n" {
		t.Errorf("unhealthy: %s %d %v", status, streak, log)
	}
	for _, k := range []string{"Start", "End"} {
		if _, err := time.Parse(time.RFC3339Nano, log[0][k].(string)); err != nil {
			t.Errorf("log %s: %v", k, err)
		}
	}
	if out := e.ok("ps", "--filter", "name=hc", "--format", "{{.Status}}"); !strings.HasSuffix(out, " (unhealthy)\n") {
		t.Errorf("ps when unhealthy = %q", out)
	}
	// The file appears: the next probe makes it healthy.
	e.ok("exec", "hc", "touch", "/tmp/ok")
	waitHealth("healthy")
	_, streak, log = health()
	if last := log[len(log)-1]; streak != 0 || last["ExitCode"] != float64(0) || last["Output"] != "yes\n" {
		t.Errorf("healthy: %d %v", streak, last)
	}
	if out := e.ok("ps", "--filter", "name=hc", "--format", "{{.Status}}"); !strings.HasSuffix(out, " (healthy)\n") {
		t.Errorf("ps when healthy = %q", out)
	}
	for filter, want := range map[string]string{"healthy": "hc\n", "unhealthy": "", "starting": "fresh\n", "none": "plain\n"} {
		if out := e.ok("ps", "--filter", "health="+filter, "--format", "{{.Names}}"); out != want {
			t.Errorf("ps --filter health=%s = %q, want %q", filter, out, want)
		}
	}
	if _, errs, code := e.run("ps", "--filter", "health=bogus"); code == 0 || !strings.Contains(errs, "Unrecognised filter value for health: bogus") {
		t.Errorf("health=bogus: %d %q", code, errs)
	}
	// It goes away: after the retries it is unhealthy again; the log keeps the last 5.
	e.ok("exec", "hc", "rm", "/tmp/ok")
	waitHealth("unhealthy")
	e.until(10*time.Second, "a full log", func() (bool, string) {
		_, _, log := health()
		return len(log) == 5, strconv.Itoa(len(log))
	})
	time.Sleep(700 * time.Millisecond)
	if _, _, log := health(); len(log) != 5 {
		t.Errorf("log has %d entries", len(log))
	}
	// A stopped container's health monitor stopped: Docker calls it unhealthy.
	e.ok("stop", "-t", "0", "hc")
	if got := e.inspect("hc", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}"); !strings.HasPrefix(got, "unhealthy ") {
		t.Errorf("after stop: %q", got)
	}
	if out := e.ok("ps", "-a", "--filter", "health=unhealthy", "--format", "{{.Names}}"); out != "hc\n" {
		t.Errorf("ps -a --filter health=unhealthy = %q", out)
	}
	e.ok("rm", "-f", "hc", "plain", "fresh")

	// A probe that runs out of time fails with Docker's message.
	e.ok("run", "-d", "--name", "slow", "--network", "none", "--health-cmd", "sleep 5", "--health-timeout", "200ms",
		"--health-interval", "300ms", "--health-retries", "1", "bb:1", "sleep", "300")
	e.until(10*time.Second, "timed out probe", func() (bool, string) {
		h := e.inspect("slow", "{{json .State.Health}}")
		return strings.Contains(h, `"Status":"unhealthy"`), h
	})
	if got := e.inspect("slow", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}"); got != "-1 Health check exceeded timeout (200ms)" {
		t.Errorf("timed out probe: %q", got)
	}
	// Probes that ran out of time leave nothing behind that would keep the container from
	// ending: it stops at once, and its shim goes.
	id := e.inspect("slow", "{{.Id}}")
	start := time.Now()
	e.ok("stop", "-t", "0", "slow")
	if got := e.inspect("slow", "{{.State.Status}} {{.State.ExitCode}}"); got != "exited 137" || time.Since(start) > 5*time.Second {
		t.Errorf("stop: %q after %v", got, time.Since(start))
	}
	e.until(5*time.Second, "the shim gone", func() (bool, string) {
		return !processExists("container-shim\x00" + id), "still there"
	})
}

// processExists reports whether a process's command line contains part.
func processExists(part string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		if _, err := strconv.Atoi(ent.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		if strings.Contains(string(b), part) {
			return true
		}
	}
	return false
}

func TestContainerHealthcheckFromImage(t *testing.T) {
	e := newCtrEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM bb:1\nHEALTHCHECK --interval=300ms --retries=4 CMD [\"true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("build", "-q", "-t", "hc:1", dir)
	// The image's check runs.
	e.ok("run", "-d", "--name", "img", "--network", "none", "hc:1", "sleep", "300")
	e.until(10*time.Second, "image healthcheck healthy", func() (bool, string) {
		s := e.ok("ps", "--filter", "name=img", "--format", "{{.Status}}")
		return strings.HasSuffix(s, " (healthy)\n"), s
	})
	// --no-healthcheck disables it: NONE, the image's other settings kept, no health state.
	e.ok("run", "-d", "--name", "off", "--network", "none", "--no-healthcheck", "hc:1", "sleep", "300")
	if got := e.inspect("off", "{{json .Config.Healthcheck}} {{json .State.Health}}"); got != `{"Test":["NONE"],"Interval":300000000,"Retries":4} null` {
		t.Errorf("--no-healthcheck: %s", got)
	}
	time.Sleep(500 * time.Millisecond)
	if out := e.ok("ps", "--filter", "name=off", "--format", "{{.Status}}"); strings.Contains(out, "(") {
		t.Errorf("ps of --no-healthcheck = %q", out)
	}
	if out := e.ok("ps", "--filter", "health=none", "--format", "{{.Names}}"); out != "off\n" {
		t.Errorf("ps --filter health=none = %q", out)
	}
	// --health-* flags override the image's settings one by one.
	id := strings.TrimSpace(e.ok("create", "--health-timeout", "3s", "hc:1", "true"))
	if got := e.inspect(id, "{{json .Config.Healthcheck}}"); got != `{"Test":["CMD","true"],"Interval":300000000,"Timeout":3000000000,"Retries":4}` {
		t.Errorf("merged: %s", got)
	}
	if _, errs, code := e.run("create", "--no-healthcheck", "--health-cmd", "true", "hc:1"); code != 125 || !strings.Contains(errs, "--no-healthcheck conflicts with --health-* options") {
		t.Errorf("conflict: %d %q", code, errs)
	}
	// A probe that cannot be started fails with -1 and the runtime's error, as in Docker.
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM bb:1\nHEALTHCHECK --interval=200ms CMD [\"/nonexistent\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("build", "-q", "-t", "hcbad:1", dir)
	e.ok("run", "-d", "--name", "bad", "--network", "none", "hcbad:1", "sleep", "300")
	e.until(10*time.Second, "a failed probe", func() (bool, string) {
		h := e.inspect("bad", "{{json .State.Health}}")
		return strings.Contains(h, `"ExitCode"`), h
	})
	out := e.inspect("bad", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}")
	if !strings.HasPrefix(out, "-1 OCI runtime exec failed: exec failed: ") || !strings.HasSuffix(out, "/nonexistent: no such file or directory: unknown") {
		t.Errorf("probe that cannot start: %q", out)
	}
}
