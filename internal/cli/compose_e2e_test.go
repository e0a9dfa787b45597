package cli

// End-to-end test of `berth compose` with real runc, bridges and DNS: the application the issue
// describes (a web server, a one-shot seed, a database gated on a healthcheck, two replicas
// behind one name, a named volume, a published port, profiles, .env/env_file/environment,
// logs -f, run --rm).

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// composeEnv is a ctrEnv with a project directory and a unique project name.
type composeEnv struct {
	*ctrEnv
	dir, project string
}

func newComposeEnv(t *testing.T, files map[string]string) *composeEnv {
	e := newCtrEnv(t)
	b := make([]byte, 4)
	rand.Read(b)
	ce := &composeEnv{ctrEnv: e, dir: filepath.Join(e.root, "app"), project: "bc" + hex.EncodeToString(b)}
	for name, content := range files {
		p := filepath.Join(ce.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Registered after ctrEnv's, so it runs first: the project goes down (networks, bridges,
	// rules, volumes) before the remaining containers are force-removed.
	t.Cleanup(func() {
		ce.run("compose", "-p", ce.project, "--project-directory", ce.dir, "--profile", "debug", "down", "-v", "--remove-orphans", "-t", "1")
		// down leaves a running one-off container (`compose run -d`), as Compose does, and with
		// it the network it is attached to: remove both, or the bridge outlives the test's root.
		out, _, _ := ce.run("ps", "-aq", "--filter", "label=com.docker.compose.project="+ce.project)
		for _, id := range strings.Fields(out) {
			ce.run("rm", "-f", id)
		}
		out, _, _ = ce.run("network", "ls", "-q", "--filter", "label=com.docker.compose.project="+ce.project)
		for _, id := range strings.Fields(out) {
			ce.run("network", "rm", id)
		}
	})
	return ce
}

// compose runs `berth compose` in the project directory.
func (ce *composeEnv) compose(args ...string) (string, string, int) {
	c := ce.cmd(append([]string{"compose", "-p", ce.project}, args...)...)
	c.Dir = ce.dir
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(interface{ ExitCode() int }); ok && err != nil {
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

func (ce *composeEnv) composeOK(args ...string) (string, string) {
	ce.t.Helper()
	out, errs, code := ce.compose(args...)
	if code != 0 {
		ce.t.Fatalf("compose %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out, errs
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestComposeApplication(t *testing.T) {
	port := freeTCPPort(t)
	ce := newComposeEnv(t, map[string]string{
		".env":    fmt.Sprintf("PORT=%d\nFROM_DOTENV=dotenv\nOVERRIDDEN=dotenv\n", port),
		"app.env": "FROM_ENV_FILE=env_file\nOVERRIDDEN=env_file\n",
		"compose.yaml": `
services:
  seed:
    image: bb:1
    command: ["sh", "-c", "echo seeded > /data/seed"]
    volumes: [data:/data]
  db:
    image: bb:1
    command: ["sleep", "600"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-f", "/data/seed"]
      interval: 1s
      retries: 30
    volumes: [data:/data]
    depends_on:
      seed: {condition: service_completed_successfully}
  web:
    image: bb:1
    command: ["sh", "-c", "mkdir -p /www && cp /data/seed /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:${PORT}:8080"]
    volumes: [data:/data]
    env_file: [app.env]
    environment:
      OVERRIDDEN: environment
      INTERPOLATED: ${FROM_DOTENV}
    depends_on:
      db: {condition: service_healthy}
  api:
    image: bb:1
    command: ["sh", "-c", "i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 0.2; done"]
    stop_signal: SIGKILL
    deploy: {replicas: 2}
  debug:
    image: bb:1
    command: ["sleep", "600"]
    profiles: [debug]
volumes:
  data:
`,
	})
	p := ce.project
	_, errs := ce.composeOK("up", "-d")
	for _, want := range []string{
		" Network " + p + "_default  Created", " Volume " + p + "_data  Created",
		" Container " + p + "-seed-1  Exited", " Container " + p + "-db-1  Healthy",
		" Container " + p + "-web-1  Started", " Container " + p + "-api-2  Started",
	} {
		if !strings.Contains(errs, want+"\n") {
			t.Errorf("up's output lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "debug") {
		t.Errorf("a service of a profile not enabled was started:\n%s", errs)
	}

	// The published port on 127.0.0.1 serves what the seed wrote into the named volume.
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if body != "seeded\n" {
		t.Errorf("web answered %q", body)
	}

	// Names and labels as Docker Compose's.
	if got := ce.inspect(p+"-web-1", `{{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.compose.oneoff"}} {{index .Config.Labels "com.docker.compose.depends_on"}}`); got != "web 1 False db:service_healthy:false" {
		t.Errorf("web labels: %q", got)
	}
	if got := strings.TrimSpace(ce.ok("network", "inspect", "-f", `{{index .Labels "com.docker.compose.network"}} {{index .Labels "com.docker.compose.project"}}`, p+"_default")); got != "default "+p {
		t.Errorf("network labels: %q", got)
	}

	// .env feeds interpolation, env_file the container, environment wins over env_file.
	env, _ := ce.composeOK("exec", "-T", "web", "env")
	for _, want := range []string{"FROM_ENV_FILE=env_file", "OVERRIDDEN=environment", "INTERPOLATED=dotenv"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("web's environment lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "FROM_DOTENV") {
		t.Errorf(".env leaked into the container:\n%s", env)
	}

	// Two replicas behind one name: two A records, each replica by its own name too; the
	// service names resolve from another service.
	ns, _ := ce.composeOK("exec", "-T", "web", "nslookup", "api")
	if n := len(regexp.MustCompile(`(?m)^Address: \d+\.\d+\.\d+\.\d+$`).FindAllString(ns, -1)); n != 2 {
		t.Errorf("nslookup api gave %d addresses, want 2:\n%s", n, ns)
	}
	for _, name := range []string{p + "-api-1", p + "-api-2", "db"} {
		if _, errs, code := ce.compose("exec", "-T", "web", "nslookup", name); code != 0 {
			t.Errorf("nslookup %s from web: exit %d %s", name, code, errs)
		}
	}

	// ps: Compose's columns, running containers only unless -a.
	ps, _ := ce.composeOK("ps")
	if !strings.HasPrefix(ps, "NAME ") || !strings.Contains(ps, "SERVICE") || !strings.Contains(ps, p+"-api-2 ") || strings.Contains(ps, p+"-seed-1") {
		t.Errorf("ps:\n%s", ps)
	}
	if !strings.Contains(ps, fmt.Sprintf("127.0.0.1:%d->8080/tcp", port)) {
		t.Errorf("ps lacks the published port:\n%s", ps)
	}
	psa, _ := ce.composeOK("ps", "-a", "--format", "{{.Name}} {{.State}}")
	if !strings.Contains(psa, p+"-seed-1 exited\n") {
		t.Errorf("ps -a:\n%s", psa)
	}

	// logs -f follows new lines with Compose's prefix.
	ce.followsLogs(t)

	// run --rm: a one-off container of the service, gone after.
	out, _ := ce.composeOK("run", "--rm", "--no-deps", "-T", "api", "echo", "one-off")
	if out != "one-off\n" {
		t.Errorf("run --rm printed %q", out)
	}
	if psa, _ := ce.composeOK("ps", "-a", "-q"); len(strings.Fields(psa)) != 5 {
		t.Errorf("after run --rm, %d containers: %s", len(strings.Fields(psa)), psa)
	}

	// Up again: unchanged services left alone; a changed one recreated.
	_, errs = ce.composeOK("up", "-d")
	if !strings.Contains(errs, " Container "+p+"-web-1  Running\n") || strings.Contains(errs, "Recreate") {
		t.Errorf("second up touched unchanged services:\n%s", errs)
	}
	b, _ := os.ReadFile(filepath.Join(ce.dir, "compose.yaml"))
	os.WriteFile(filepath.Join(ce.dir, "compose.yaml"), []byte(strings.Replace(string(b), "OVERRIDDEN: environment", "OVERRIDDEN: changed", 1)), 0o644)
	_, errs = ce.composeOK("up", "-d")
	if !strings.Contains(errs, " Container "+p+"-web-1  Recreated\n") || strings.Contains(errs, p+"-db-1  Recreate") {
		t.Errorf("changed web not recreated (or db recreated):\n%s", errs)
	}

	// Profiles: --profile enables the service.
	_, errs = ce.composeOK("--profile", "debug", "up", "-d")
	if !strings.Contains(errs, " Container "+p+"-debug-1  Started\n") {
		t.Errorf("--profile debug did not start debug:\n%s", errs)
	}

	// down keeps the named volume, and up finds the seed's data in it; down -v removes it.
	_, errs = ce.composeOK("--profile", "debug", "down", "-t", "1")
	if !strings.Contains(errs, " Network "+p+"_default  Removed\n") || strings.Contains(errs, "Volume") {
		t.Errorf("down:\n%s", errs)
	}
	if out := ce.ok("ps", "-aq"); out != "" {
		t.Errorf("containers left after down: %s", out)
	}
	if out := ce.ok("volume", "ls", "-q"); !strings.Contains(out, p+"_data") {
		t.Fatalf("down removed the named volume: %q", out)
	}
	ce.composeOK("up", "-d", "--no-deps", "db")
	if out, _ := ce.composeOK("exec", "-T", "db", "cat", "/data/seed"); out != "seeded\n" {
		t.Errorf("the volume lost its data over down/up: %q", out)
	}
	_, errs = ce.composeOK("down", "-v", "-t", "1")
	if !strings.Contains(errs, " Volume "+p+"_data  Removed\n") {
		t.Errorf("down -v:\n%s", errs)
	}
	if out := ce.ok("volume", "ls", "-q"); strings.Contains(out, p+"_data") {
		t.Errorf("down -v left the volume: %q", out)
	}
	if out := ce.ok("network", "ls", "-q", "--filter", "name="+p); out != "" {
		t.Errorf("down left networks: %q", out)
	}
}

// followsLogs checks that `logs -f api` prints lines written after it started.
func (ce *composeEnv) followsLogs(t *testing.T) {
	c := ce.cmd("compose", "-p", ce.project, "logs", "-f", "--tail", "1", "api")
	c.Dir = ce.dir
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Process.Kill()
		c.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	first := map[string]int{}
	re := regexp.MustCompile(`^(api-[12]) +\| tick (\d+)$`)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("logs -f ended while the containers run")
			}
			m := re.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("logs -f line %q lacks Compose's prefix", l)
			}
			var n int
			fmt.Sscan(m[2], &n)
			if f, ok := first[m[1]]; !ok {
				first[m[1]] = n
			} else if n >= f+3 && len(first) == 2 {
				return // new lines of a running container arrived, both replicas seen
			}
		case <-deadline:
			t.Fatalf("logs -f did not follow: first lines %v", first)
		}
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var last error
	for i := 0; i < 50; i++ {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func TestComposeErrors(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{
		"compose.yaml": `
services:
  db:
    image: bb:1
    command: ["sh", "-c", "exit 3"]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
  web:
    image: bb:1
    command: ["sleep", "600"]
    depends_on:
      db: {condition: service_healthy}
  bad:
    image: bb:1
    command: ["false"]
    profiles: [bad]
  needsbad:
    image: bb:1
    command: ["true"]
    profiles: [bad]
    depends_on:
      bad: {condition: service_completed_successfully}
`,
		"missing.yaml": "services:\n  a:\n    image: bb:1\n    environment:\n      X: ${NOPE:?must be set}\n",
	})
	p := ce.project
	_, errs, code := ce.compose("up", "-d")
	if code != 1 || !strings.Contains(errs, "dependency failed to start: container "+p+"-db-1 exited (3)") {
		t.Errorf("up with a dependency that exits: exit %d\n%s", code, errs)
	}
	_, errs, code = ce.compose("--profile", "bad", "up", "-d", "needsbad")
	if code != 1 || !strings.Contains(errs, `service "bad" didn't complete successfully: exit 1`) {
		t.Errorf("up with a failing one-shot dependency: exit %d\n%s", code, errs)
	}
	// A host port taken by a process of the host: Docker's error (its userland proxy's).
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	os.WriteFile(filepath.Join(ce.dir, "port.yaml"), []byte(fmt.Sprintf("services:\n  web:\n    image: bb:1\n    command: [sleep, '60']\n    ports: ['127.0.0.1:%d:80']\n", taken)), 0o644)
	_, errs, code = ce.compose("-f", "port.yaml", "up", "-d")
	if want := fmt.Sprintf("driver failed programming external connectivity on endpoint %s-web-1: Error starting userland proxy: listen tcp4 127.0.0.1:%d: bind: address already in use", p, taken); code != 1 || !strings.Contains(errs, want) {
		t.Errorf("up with a port taken: exit %d\n%s", code, errs)
	}
	_, errs, code = ce.compose("-f", "missing.yaml", "config")
	if code != 1 || errs != "error while interpolating services.a.environment.X: required variable NOPE is missing a value: must be set\n" {
		t.Errorf("config with a missing required variable: exit %d %q", code, errs)
	}
}

func TestComposeUpForeground(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{"compose.yaml": `
services:
  a:
    image: bb:1
    command: ["sh", "-c", "echo a-start; sleep 1; echo a-end; exit 4"]
  b:
    image: bb:1
    command: ["sh", "-c", "echo b-start; sleep 60"]
    stop_signal: SIGKILL
`})
	for round := 0; round < 2; round++ {
		out, errs, code := ce.compose("up", "--exit-code-from", "a")
		if code != 4 {
			t.Fatalf("up --exit-code-from a: exit %d\n%s\n%s", code, out, errs)
		}
		// The second up shows this run's output only, not the logs of the first.
		if !strings.HasPrefix(out, "Attaching to a-1, b-1\n") || strings.Count(out, "a-1  | a-end\n") != 1 ||
			!strings.Contains(out, "b-1  | b-start\n") || !strings.Contains(out, "a-1 exited with code 4\n") {
			t.Errorf("round %d: up's output:\n%s", round, out)
		}
		if ps, _ := ce.composeOK("ps", "-q"); ps != "" {
			t.Errorf("round %d: containers still running after the abort: %s", round, ps)
		}
	}
	// --wait returns once every container runs, and leaves them running.
	_, errs := ce.composeOK("up", "--wait", "b")
	if !strings.Contains(errs, " Container "+ce.project+"-b-1  Healthy\n") {
		t.Errorf("up --wait:\n%s", errs)
	}
}

func TestComposeRecreateRestartsDependents(t *testing.T) {
	yaml := `
services:
  db:
    image: bb:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
    environment: [V=1]
  app:
    image: bb:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on: {db: {condition: service_started, restart: true}}
  other:
    image: bb:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
    depends_on: [db]
`
	ce := newComposeEnv(t, map[string]string{"compose.yaml": yaml})
	p := ce.project
	ce.composeOK("up", "-d")
	appStart := ce.inspect(p+"-app-1", "{{.State.StartedAt}}")
	otherStart := ce.inspect(p+"-other-1", "{{.State.StartedAt}}")
	oldDB := ce.inspect(p+"-db-1", "{{.Id}}")
	since := time.Now().Add(-time.Second).Unix()
	os.WriteFile(filepath.Join(ce.dir, "compose.yaml"), []byte(strings.Replace(yaml, "V=1", "V=2", 1)), 0o644)
	_, errs := ce.composeOK("up", "-d")
	for _, want := range []string{" Container " + p + "-app-1  Stopped\n", " Container " + p + "-db-1  Recreated\n", " Container " + p + "-app-1  Started\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("up after db changed lacks %q:\n%s", want, errs)
		}
	}
	// As Compose: the replacement is created first under a temporary name, then the old one goes
	// and the replacement takes its name.
	newDB := ce.inspect(p+"-db-1", "{{.Id}}")
	if newDB == oldDB || len(oldDB) < 12 {
		t.Errorf("db not replaced: %s", newDB)
	}
	evs := ce.ok("events", "--since", fmt.Sprint(since), "--until", fmt.Sprint(time.Now().Unix()+1),
		"--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	var seq []string
	for _, l := range strings.Split(strings.TrimSpace(evs), "\n") {
		if f := strings.Fields(l); len(f) == 2 && (f[1] == p+"-db-1" && len(seq) > 0 || f[1] == oldDB[:12]+"_"+p+"-db-1") && f[0] != "kill" && f[0] != "die" {
			seq = append(seq, l)
		}
	}
	want := []string{"create " + oldDB[:12] + "_" + p + "-db-1", "stop " + p + "-db-1", "destroy " + p + "-db-1", "rename " + p + "-db-1", "start " + p + "-db-1"}
	if strings.Join(seq, "|") != strings.Join(want, "|") {
		t.Errorf("recreate's events:\n%s\nwant %q", evs, want)
	}
	if got := ce.inspect(p+"-app-1", "{{.State.Status}} {{.State.StartedAt}}"); got == "running "+appStart || !strings.HasPrefix(got, "running ") {
		t.Errorf("app (restart: true) not restarted: %s (was %s)", got, appStart)
	}
	if got := ce.inspect(p+"-other-1", "{{.State.StartedAt}}"); got != otherStart {
		t.Errorf("other (no restart) was restarted: %s (was %s)", got, otherStart)
	}
}

// TestComposeFollowsNewContainers: `logs -f` and `events`, started before a scale-up and a
// recreate, see the containers those make (as Compose's, which follow the daemon's events);
// `logs -f` says when a container exits and ends once none runs.
func TestComposeFollowsNewContainers(t *testing.T) {
	yaml := `
services:
  web:
    image: bb:1
    command: [sh, -c, 'echo "hello $$V from $$HOSTNAME"; exec sleep 600']
    stop_signal: SIGKILL
    environment: [V=1]
`
	ce := newComposeEnv(t, map[string]string{"compose.yaml": yaml})
	p := ce.project
	ce.composeOK("up", "-d")
	start := func(args ...string) (<-chan string, *exec.Cmd) {
		c := ce.cmd(append([]string{"compose", "-p", p}, args...)...)
		c.Dir = ce.dir
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c.Process.Kill()
			c.Wait()
		})
		lines := make(chan string, 1000)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		return lines, c
	}
	// await reads lines until one matches each of want (in any order), or fails.
	await := func(what string, lines <-chan string, want ...string) {
		t.Helper()
		left := map[string]bool{}
		for _, w := range want {
			left[w] = true
		}
		var got []string
		deadline := time.After(30 * time.Second)
		for len(left) > 0 {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("%s ended before %q:\n%s", what, want, strings.Join(got, "\n"))
				}
				got = append(got, l)
				for w := range left {
					if regexp.MustCompile(w).MatchString(l) {
						delete(left, w)
					}
				}
			case <-deadline:
				t.Fatalf("%s: no line matching %v:\n%s", what, left, strings.Join(got, "\n"))
			}
		}
	}
	logs, logsCmd := start("logs", "-f")
	evs, _ := start("events")
	evsJSON, _ := start("events", "--json")
	await("logs -f", logs, `^web-1  \| hello 1 from `)
	// The events followers are watching once they report a harmless signal (sleep ignores
	// SIGWINCH); it is sent until both did.
	for _, ch := range []<-chan string{evs, evsJSON} {
		ready := false
		for i := 0; i < 300 && !ready; i++ {
			ce.composeOK("kill", "-s", "WINCH", "web")
			select {
			case l := <-ch:
				ready = strings.Contains(l, "kill")
			case <-time.After(100 * time.Millisecond):
			}
		}
		if !ready {
			t.Fatal("compose events did not report a kill")
		}
	}
	ce.composeOK("up", "-d", "--scale", "web=2")
	await("logs -f after scale-up", logs, `^web-2  \| hello 1 from `)
	await("events after scale-up", evs, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} container start [0-9a-f]{64} \(image=bb:1, name=`+p+`-web-2\)$`)
	await("events --json after scale-up", evsJSON, `^\{"action":"start","attributes":\{"image":"bb:1","name":"`+p+`-web-2"\},"id":"[0-9a-f]{64}","service":"web","time":"[^"]+Z","type":"container"\}$`)
	os.WriteFile(filepath.Join(ce.dir, "compose.yaml"), []byte(strings.Replace(yaml, "V=1", "V=2", 1)), 0o644)
	ce.composeOK("up", "-d", "--scale", "web=2")
	await("logs -f after recreate", logs, `^web-1  \| hello 2 from `, `^web-2  \| hello 2 from `)
	await("events after recreate", evs, ` container rename [0-9a-f]{64} \(image=bb:1, name=`+p+`-web-1, oldName=/[0-9a-f]{12}_`+p+`-web-1\)$`)
	ce.composeOK("down", "-t", "0")
	await("logs -f after down", logs, `^web-1 exited with code 137$`, `^web-2 exited with code 137$`)
	for range logs {
	}
	if err := logsCmd.Wait(); err != nil {
		t.Errorf("logs -f after down: %v", err)
	}
}

// TestComposeChangedNetworkAndVolume: a network whose definition changed is made again (its
// containers stopped and started on the new one); a changed volume is recreated only when the
// user agrees (-y), with the containers using it, as Compose v2.40.3 does.
func TestComposeChangedNetworkAndVolume(t *testing.T) {
	yaml := `
services:
  web:
    image: bb:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
    networks: [front]
    volumes: [data:/data]
networks:
  front:
    labels: [a=1]
volumes:
  data:
    labels: [a=1]
`
	ce := newComposeEnv(t, map[string]string{"compose.yaml": yaml})
	p := ce.project
	ce.composeOK("up", "-d")
	netID := strings.TrimSpace(ce.ok("network", "inspect", "-f", "{{.Id}}", p+"_front"))
	webID := ce.inspect(p+"-web-1", "{{.Id}}")
	ce.ok("exec", p+"-web-1", "sh", "-c", "echo kept > /data/f")
	// The network changes.
	os.WriteFile(filepath.Join(ce.dir, "compose.yaml"), []byte(strings.Replace(yaml, "labels: [a=1]\nvolumes", "labels: [a=2]\nvolumes", 1)), 0o644)
	_, errs := ce.composeOK("up", "-d")
	want := " Container " + p + "-web-1  Stopping\n Container " + p + "-web-1  Stopped\n Network " + p + "_front  Removed\n Network " + p + "_front  Creating\n Network " + p + "_front  Created\n"
	if !strings.Contains(errs, want) {
		t.Errorf("up after the network changed:\n%s\nwant %q", errs, want)
	}
	newNet := strings.TrimSpace(ce.ok("network", "inspect", "-f", "{{.Id}} {{index .Labels \"a\"}}", p+"_front"))
	if f := strings.Fields(newNet); len(f) != 2 || f[0] == netID || f[1] != "2" {
		t.Errorf("network not made again: %q (was %s)", newNet, netID)
	}
	if got := ce.inspect(p+"-web-1", "{{.Id}} {{.State.Status}} {{range .NetworkSettings.Networks}}{{.NetworkID}}{{end}}"); got != webID+" running "+strings.Fields(newNet)[0] {
		t.Errorf("web after the network changed: %q", got)
	}
	// The volume changes: without -y (nobody to answer) it stays, with the question on stdout.
	os.WriteFile(filepath.Join(ce.dir, "compose.yaml"), []byte(strings.ReplaceAll(yaml, "a=1", "a=2")), 0o644)
	out, _ := ce.composeOK("up", "-d")
	if want := `Volume "` + p + `_data" exists but doesn't match configuration in compose file. Recreate (data will be lost)?`; out != want {
		t.Errorf("up's question: %q, want %q", out, want)
	}
	if got := ce.ok("exec", p+"-web-1", "cat", "/data/f"); got != "kept\n" {
		t.Errorf("volume lost without -y: %q", got)
	}
	_, errs = ce.composeOK("up", "-d", "-y")
	for _, want := range []string{" Container " + p + "-web-1  Removed\n", " Volume " + p + "_data  Created\n", " Container " + p + "-web-1  Started\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("up -y after the volume changed lacks %q:\n%s", want, errs)
		}
	}
	if got := strings.TrimSpace(ce.ok("volume", "inspect", "-f", "{{index .Labels \"a\"}}", p+"_data")); got != "2" {
		t.Errorf("volume label after up -y: %q", got)
	}
	if _, _, code := ce.run("exec", p+"-web-1", "cat", "/data/f"); code == 0 {
		t.Error("the recreated volume still holds the old data")
	}
}

// TestComposeWaitAndScale: `wait` prints Compose's line per container and exits with the last
// one's code; `scale` sets a service's replica count.
func TestComposeWaitAndScale(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{"compose.yaml": `
services:
  a:
    image: bb:1
    command: [sh, -c, "sleep 1; exit 3"]
  b:
    image: bb:1
    command: [sh, -c, "sleep 2; exit 5"]
  s:
    image: bb:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
`})
	p := ce.project
	if _, errs, code := ce.compose("wait"); code != 1 || !strings.Contains(errs, "requires at least 1 argument") {
		t.Errorf("wait without a service: exit %d, %q", code, errs)
	}
	ce.composeOK("up", "-d")
	aID, bID := ce.inspect(p+"-a-1", "{{.Id}}"), ce.inspect(p+"-b-1", "{{.Id}}")
	out, _, code := ce.compose("wait", "a", "b")
	want := fmt.Sprintf("container %q exited with status code 3\ncontainer %q exited with status code 5\n", aID, bID)
	if code != 5 || out != want {
		t.Errorf("wait a b: exit %d\n%s\nwant\n%s", code, out, want)
	}
	if _, _, code := ce.compose("wait", "a"); code != 3 {
		t.Errorf("wait a (exited): exit %d", code)
	}
	if _, errs, code := ce.compose("scale", "s"); code != 1 || !strings.Contains(errs, "invalid scale specifier: s") {
		t.Errorf("scale s: exit %d, %q", code, errs)
	}
	if _, errs, code := ce.compose("scale", "nope=2"); code != 1 || !strings.Contains(errs, "no such service: nope") {
		t.Errorf("scale nope=2: exit %d, %q", code, errs)
	}
	ce.composeOK("scale", "s=2")
	if got := ce.inspect(p+"-s-2", "{{.State.Status}}"); got != "running" {
		t.Errorf("s-2 after scale s=2: %q", got)
	}
	ce.composeOK("scale", "s=1")
	if _, _, code := ce.run("inspect", p+"-s-2"); code == 0 {
		t.Error("s-2 left after scale s=1")
	}
}

// TestComposeCommitExport: commit and export take a service's running container, with
// Compose's progress lines.
func TestComposeCommitExport(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{"compose.yaml": `
services:
  web:
    image: bb:1
    command: [sh, -c, "echo x > /made; exec sleep 600"]
    stop_signal: SIGKILL
`})
	p := ce.project
	if _, errs, code := ce.compose("export", "web", "-o", filepath.Join(ce.dir, "x.tar")); code != 1 || !strings.Contains(errs, `service "web" is not running`) {
		t.Errorf("export before up: exit %d, %q", code, errs)
	}
	ce.composeOK("up", "-d")
	ref := p + "-img:1"
	t.Cleanup(func() { ce.run("rmi", "-f", ref) })
	out, errs := ce.composeOK("commit", "web", ref)
	id := strings.TrimSpace(ce.ok("image", "inspect", "-f", "{{.Id}}", ref))
	if want := " " + p + "-web-1 Commit " + p + "-web-1 Committing\n " + p + "-web-1 Commit " + p + "-web-1 Committed as " + id + "\n"; out != "" || errs != want {
		t.Errorf("commit: stdout %q, stderr %q, want %q", out, errs, want)
	}
	tarPath := filepath.Join(ce.dir, "x.tar")
	_, errs = ce.composeOK("export", "web", "-o", tarPath)
	if want := " " + p + "-web-1 export " + p + "-web-1 to " + tarPath + " Exporting\n"; errs != want {
		t.Errorf("export: stderr %q, want %q", errs, want)
	}
	list, err := exec.Command("tar", "tf", tarPath).Output()
	if err != nil || !strings.Contains(string(list), "made\n") || !strings.Contains(string(list), "bin/busybox\n") {
		t.Errorf("exported tar: %v\n%s", err, list)
	}
}

// TestComposeDryRun: --dry-run reports Compose's "DRY-RUN MODE" lines for up, down and the
// lifecycle commands (stop, kill, restart, pause, unpause, start, rm) and changes nothing.
func TestComposeDryRun(t *testing.T) {
	yaml := `
services:
  web:
    image: bb:1
    command: [sleep, "600"]
    stop_signal: SIGKILL
    environment: [A=1]
`
	ce := newComposeEnv(t, map[string]string{"compose.yaml": yaml})
	p := ce.project
	dry := func(args ...string) string {
		t.Helper()
		_, errs := ce.composeOK(append([]string{"--dry-run"}, args...)...)
		return errs
	}
	pre := " DRY-RUN MODE -  "
	want := pre + "Network " + p + "_default  Creating\n" + pre + "Network " + p + "_default  Created\n" +
		pre + "Container " + p + "-web-1  Creating\n" + pre + "Container " + p + "-web-1  Created\n" +
		pre + "Container " + p + "-web-1  Starting\n" + pre + "Container " + p + "-web-1  Started\n"
	if got := dry("up", "-d"); got != want {
		t.Errorf("--dry-run up -d:\n%s\nwant\n%s", got, want)
	}
	if out := ce.ok("ps", "-aq", "--filter", "label=com.docker.compose.project="+p); out != "" {
		t.Errorf("--dry-run up made containers: %q", out)
	}
	if out := ce.ok("network", "ls", "-q", "--filter", "label=com.docker.compose.project="+p); out != "" {
		t.Errorf("--dry-run up made networks: %q", out)
	}
	ce.composeOK("up", "-d")
	id := ce.inspect(p+"-web-1", "{{.Id}}")
	if got := dry("up", "-d"); got != pre+"Container "+p+"-web-1  Running\n" {
		t.Errorf("--dry-run up -d, unchanged: %q", got)
	}
	os.WriteFile(filepath.Join(ce.dir, "compose.yaml"), []byte(strings.Replace(yaml, "A=1", "A=2", 1)), 0o644)
	want = pre + "Container " + p + "-web-1  Recreate\n" + pre + "Container " + p + "-web-1  Recreated\n" +
		pre + "Container " + id[:12] + "_" + p + "-web-1  Starting\n" + pre + "Container " + id[:12] + "_" + p + "-web-1  Started\n"
	if got := dry("up", "-d"); got != want {
		t.Errorf("--dry-run up -d, changed:\n%s\nwant\n%s", got, want)
	}
	want = pre + "Container " + p + "-web-1  Stopping\n" + pre + "Container " + p + "-web-1  Stopped\n" +
		pre + "Container " + p + "-web-1  Removing\n" + pre + "Container " + p + "-web-1  Removed\n" +
		pre + "Network " + p + "_default  Removing\n" + pre + "Network " + p + "_default  Resource is still in use\n"
	if got := dry("down"); got != want {
		t.Errorf("--dry-run down:\n%s\nwant\n%s", got, want)
	}
	if got := ce.inspect(p+"-web-1", "{{.Id}} {{.State.Status}}"); got != id+" running" {
		t.Errorf("after the dry runs: %q", got)
	}
	// The lifecycle commands, as Compose v2.40.3 prints them (recorded on dockerd).
	c := "Container " + p + "-web-1  "
	for _, tc := range []struct {
		args  []string
		steps []string
	}{
		{[]string{"stop"}, []string{"Stopping", "Stopped"}},
		{[]string{"kill"}, []string{"Killing", "Killed"}},
		{[]string{"restart"}, []string{"Restarting", "Started"}},
		{[]string{"pause"}, []string{"Paused"}},
		{[]string{"unpause"}, []string{"Unpaused"}},
	} {
		want := ""
		for _, step := range tc.steps {
			want += pre + c + step + "\n"
		}
		if got := dry(tc.args...); got != want {
			t.Errorf("--dry-run %v:\n%s\nwant\n%s", tc.args, got, want)
		}
	}
	if got := ce.inspect(p+"-web-1", "{{.Id}} {{.State.Status}} {{.RestartCount}}"); got != id+" running 0" {
		t.Errorf("after the lifecycle dry runs: %q", got)
	}
	ce.composeOK("stop")
	if got := dry("start"); got != pre+c+"Starting\n"+pre+c+"Started\n" {
		t.Errorf("--dry-run start: %q", got)
	}
	out, errs := ce.composeOK("--dry-run", "rm", "-f")
	if out != "Going to remove "+p+"-web-1\n" || errs != pre+c+"Removing\n"+pre+c+"Removed\n" {
		t.Errorf("--dry-run rm -f: stdout %q, stderr %q", out, errs)
	}
	if got := ce.inspect(p+"-web-1", "{{.Id}} {{.State.Status}}"); got != id+" exited" {
		t.Errorf("after --dry-run start and rm: %q", got)
	}
}

// TestComposePushPull: compose push and pull against a registry, with Docker Compose v2.40.3's
// lines (recorded with its plain progress against dockerd 20.10): a service that is not built is
// skipped by push; pull reports each layer (here: the base, already in the store), then fails on an image the registry lacks unless
// told to go on.
func TestComposePushPull(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := distRegistry(t, "", "")
	ce := newComposeEnv(t, map[string]string{
		"Dockerfile": "FROM bb:1\nLABEL made=compose\n",
		"compose.yaml": "services:\n  web:\n    build: .\n    image: " + host + "/p/web:1\n" +
			"  db:\n    image: " + host + "/p/db:1\n",
	})
	ce.composeOK("build")
	_, errs := ce.composeOK("push")
	if !strings.HasPrefix(errs, " db Skipped \n") || !strings.Contains(errs, " Pushing "+host+"/p/web:1: ") ||
		!strings.HasSuffix(errs, " Pushed \n") {
		t.Errorf("push: %q", errs)
	}
	if out, errs := ce.composeOK("push", "-q"); out != "" || errs != "" {
		t.Errorf("push -q: %q %q", out, errs)
	}
	ce.ok("rmi", host+"/p/web:1")

	// db was never pushed: the pull of web goes on, then the command fails.
	_, errs, code := ce.compose("pull")
	want := " db Pulling \n db Error manifest for " + host + "/p/db:1 not found: manifest unknown: manifest unknown\n"
	if code != 1 || !strings.HasPrefix(errs, want) {
		t.Errorf("pull: exit %d, %q", code, errs)
	}
	_, errs = ce.composeOK("pull", "--ignore-pull-failures", "web")
	if !strings.HasPrefix(errs, " web Pulling \n") || !strings.Contains(errs, " Already exists \n") || !strings.HasSuffix(errs, " web Pulled \n") {
		t.Errorf("pull web: %q", errs)
	}
	ce.ok("image", "inspect", host+"/p/web:1")
	if _, errs = ce.composeOK("pull", "-q", "--ignore-pull-failures"); errs != " db Pulling \n"+strings.TrimPrefix(want, " db Pulling \n")+" web Pulling \n web Pulled \n" {
		t.Errorf("pull -q --ignore-pull-failures: %q", errs)
	}
	if _, errs = ce.composeOK("pull", "--policy", "missing", "web"); errs != " web Skipped - Image is already present locally \n" {
		t.Errorf("pull --policy missing: %q", errs)
	}
}

// TestComposeUpFlags: up's and run's flags as Docker Compose v2.40.3 has them (each recorded
// with the compose plugin against dockerd 20.10): the flag checks' words and exit 1, the attach
// set (attach: false, --attach, --no-attach), --abort-on-container-failure (an exit 0 goes on,
// the failure stops everything and is the exit code), --timestamps, --always-recreate-deps,
// -V, --pull, and run's --env-from-file, --cap-add/--cap-drop and -q.
func TestComposeUpFlags(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{
		"compose.yaml": `services:
  ok:
    image: bb:1
    command: sh -c 'echo ok-out; exit 0'
  bad:
    image: bb:1
    command: sh -c 'sleep 2; echo bad-out; exit 3'
    depends_on: [dep]
  dep:
    image: bb:1
    command: sh -c 'echo dep-out; sleep 30'
  quiet:
    image: bb:1
    attach: false
    command: sh -c 'echo quiet-out; sleep 30'
`,
		"envf": "FOO='bar baz'\n# c\nexport X=1\n",
	})
	for _, c := range []struct{ args, err string }{
		{"--abort-on-container-failure -d", "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"},
		{"--attach ok -d", "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"},
		{"--abort-on-container-exit --abort-on-container-failure", "--abort-on-container-failure cannot be combined with --abort-on-container-exit"},
		{"--wait --abort-on-container-exit", "--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies"},
		{"--always-recreate-deps --no-recreate -d", "--always-recreate-deps and --no-recreate are incompatible"},
		{"-V --no-recreate -d", "--no-recreate and --renew-anon-volumes are incompatible"},
		{"--pull bogus -d", `invalid --pull option "bogus"`},
		{"--pull policy -d", `invalid --pull option "policy"`},
		{"--attach nope", "cannot attach to services not included in up: nope"},
		{"--attach ok --attach-dependencies", "cannot combine --attach and --attach-dependencies"},
		{"--watch -d", "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"},
		{"--watch --no-build", "--no-build and --watch are incompatible"},
		{"--watch", "berth compose up does not support --watch yet"},
	} {
		if out, errs, code := ce.compose(append([]string{"up"}, strings.Fields(c.args)...)...); code != 1 || errs != c.err+"\n" || out != "" {
			t.Errorf("up %s: exit %d, %q %q", c.args, code, out, errs)
		}
	}
	if _, errs, code := ce.compose("create", "--pull", "daily"); code != 1 || errs != "invalid --pull option \"daily\"\n" {
		t.Errorf("create --pull daily: exit %d, %q", code, errs)
	}
	// Off a terminal Compose takes --menu and shows no menu.
	ce.composeOK("up", "-d", "--menu", "--pull", "never", "dep")
	ce.composeOK("down", "-t", "0")

	// Not attached: quiet (attach: false). ok's exit 0 goes on; bad's 3 stops all and is up's.
	out, _, code := ce.compose("up", "--abort-on-container-failure", "--timestamps", "-t", "1")
	if code != 3 || !strings.HasPrefix(out, "Attaching to bad-1, dep-1, ok-1\n") || strings.Contains(out, "quiet-out") ||
		!regexp.MustCompile(`(?m)^ok-1 +\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ok-out$`).MatchString(out) ||
		!strings.Contains(out, "ok-1 exited with code 0\n") || !strings.Contains(out, "bad-1 exited with code 3\n") {
		t.Errorf("up --abort-on-container-failure: exit %d\n%s", code, out)
	}
	if got := ce.ok("ps", "-q", "--filter", "label=com.docker.compose.project="+ce.project); got != "" {
		t.Errorf("running after the abort: %q", got)
	}
	// --attach: up ends when bad exits (with 0, as Compose's), the others go on running.
	out, _, code = ce.compose("up", "--attach", "bad")
	if code != 0 || !strings.HasPrefix(out, "Attaching to bad-1\n") || strings.Contains(out, "dep-out") || !strings.Contains(out, "bad-1  | bad-out\n") {
		t.Errorf("up --attach bad: exit %d\n%s", code, out)
	}
	if got, _ := ce.composeOK("ps", "--services"); got != "dep\nquiet\n" {
		t.Errorf("running after up --attach bad: %q", got)
	}
	// --no-attach.
	ce.composeOK("down", "-t", "0")
	out, _, code = ce.compose("up", "--no-attach", "dep", "--abort-on-container-failure", "-t", "1")
	if code != 3 || !strings.HasPrefix(out, "Attaching to bad-1, ok-1\n") || strings.Contains(out, "dep-out") {
		t.Errorf("up --no-attach dep: exit %d\n%s", code, out)
	}
	// --always-recreate-deps recreates bad's dependency; -V the service itself.
	ce.composeOK("up", "-d", "bad")
	_, errs := ce.composeOK("up", "-d", "--always-recreate-deps", "bad")
	if !strings.Contains(errs, " Container "+ce.project+"-dep-1  Recreated\n") || strings.Contains(errs, "bad-1  Recreate") {
		t.Errorf("up --always-recreate-deps:\n%s", errs)
	}
	_, errs = ce.composeOK("up", "-d", "-V", "bad")
	if !strings.Contains(errs, " Container "+ce.project+"-bad-1  Recreated\n") || strings.Contains(errs, "dep-1  Recreate") {
		t.Errorf("up -V:\n%s", errs)
	}

	// run: variables from a file (dotenv syntax), capabilities, -q with nothing on stderr.
	out, errs = ce.composeOK("run", "--rm", "--no-deps", "-q", "--env-from-file", "envf", "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN",
		"ok", "sh", "-c", "echo $FOO $X; grep CapEff /proc/self/status")
	if out != "bar baz 1\nCapEff:\t00000000a80435fa\n" || errs != "" {
		t.Errorf("run --env-from-file --cap-add --cap-drop -q: %q %q", out, errs)
	}
	// -p publishes, --use-aliases gives the one-off the service's name on its network.
	out, _ = ce.composeOK("run", "-d", "--no-deps", "-p", "127.0.0.1::80", "--use-aliases", "--name", ce.project+"-pub", "dep")
	got := ce.ok("inspect", "-f", `{{json .HostConfig.PortBindings}} {{range .NetworkSettings.Networks}}{{json .Aliases}}{{end}}`, ce.project+"-pub")
	if !strings.Contains(got, `{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}`) || !strings.Contains(got, `"dep"`) {
		t.Errorf("run -p --use-aliases: %q %q", out, got)
	}
	ce.ok("rm", "-f", ce.project+"-pub")
	for _, c := range []struct{ args, err string }{
		{"--pull bogus", `invalid --pull option "bogus"`},
		{"--env-from-file nope", "open nope: no such file or directory"},
	} {
		if _, errs, code := ce.compose(append(append([]string{"run", "--rm", "--no-deps"}, strings.Fields(c.args)...), "ok", "true")...); code != 1 || errs != c.err+"\n" {
			t.Errorf("run %s: exit %d, %q", c.args, code, errs)
		}
	}
}

// TestComposeListAndCopyFlags: logs --index, ps --filter/--orphans, ls --filter, events
// --since/--until and cp (to every container of the service; --all adds run's) as Docker Compose
// v2.40.3 does them (recorded with the compose plugin against dockerd 20.10).
func TestComposeListAndCopyFlags(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{
		"compose.yaml": "services:\n  w:\n    image: bb:1\n    command: sh -c 'echo hi-from-$$HOSTNAME; sleep 60'\n    scale: 2\n" +
			"  v:\n    image: bb:1\n    command: sh -c 'echo v; sleep 60'\n",
		"f": "data\n",
	})
	ce.composeOK("up", "-d")
	w2 := strings.TrimSpace(ce.ok("inspect", "-f", "{{.Config.Hostname}}", ce.project+"-w-2"))
	if out, _ := ce.composeOK("logs", "--index", "2", "w"); out != "w-2  | hi-from-"+w2+"\n" {
		t.Errorf("logs --index 2 w: %q", out)
	}
	for _, c := range []struct{ args, err string }{
		{"logs --index 2", "--index requires one service to be selected"},
		{"logs --index 1 w v", "--index requires one service to be selected"},
		{"logs --index 5 w", `service "w" is not running container #5`},
		{"ps --filter bogus=1", "unknown filter bogus"},
		{"ps --filter status", "arguments to --filter should be in form KEY=VAL"},
		{"ls --filter bogus=1", "invalid filter 'bogus'"},
		{"ls --filter name", `invalid argument "name" for "--filter" flag: bad format of filter (expected name=value)`},
		{"events --since bogus", `failed to parse value as time or duration: "bogus"`},
		{"cp f nosvc:/tmp/", `no container found for service "nosvc"`},
	} {
		if out, errs, code := ce.compose(strings.Fields(c.args)...); code != 1 || errs != c.err+"\n" || out != "" {
			t.Errorf("%s: exit %d, %q %q", c.args, code, out, errs)
		}
	}
	names := func(args ...string) string {
		out, _ := ce.composeOK(append([]string{"ps", "--format", "{{.Name}}"}, args...)...)
		return strings.ReplaceAll(out, ce.project+"-", "")
	}
	if got := names("--filter", "status=running"); got != "v-1\nw-1\nw-2\n" {
		t.Errorf("ps --filter status=running: %q", got)
	}
	if got := names("--filter", "status=exited"); got != "" {
		t.Errorf("ps --filter status=exited: %q", got)
	}
	if out := ce.ok("compose", "ls", "--filter", "name=^"+ce.project+"$", "-q"); out != ce.project+"\n" {
		t.Errorf("ls --filter: %q", out)
	}
	if out := ce.ok("compose", "ls", "--filter", "name=^"+ce.project+"x", "-q"); out != "" {
		t.Errorf("ls --filter (no match): %q", out)
	}

	// cp to the service: every container of it; --all: run's too; from it: the first.
	id := strings.TrimSpace(func() string { out, _ := ce.composeOK("run", "-d", "w", "sleep", "100"); return out }())
	_, errs := ce.composeOK("cp", "f", "w:/tmp/x")
	p := " " + ce.project
	if !strings.Contains(errs, p+"-w-1 copy f to "+ce.project+"-w-1:/tmp/x Copying\n") || !strings.Contains(errs, p+"-w-2 copy f to "+ce.project+"-w-2:/tmp/x Copied\n") ||
		strings.Count(errs, "\n") != 4 {
		t.Errorf("cp f w:/tmp/x: %q", errs)
	}
	for _, c := range []string{ce.project + "-w-1", ce.project + "-w-2"} {
		if got := ce.ok("exec", c, "cat", "/tmp/x"); got != "data\n" {
			t.Errorf("%s: %q", c, got)
		}
	}
	if _, _, code := ce.run("exec", id, "cat", "/tmp/x"); code == 0 {
		t.Error("cp without --all copied into the run container")
	}
	if _, errs := ce.composeOK("cp", "--all", "f", "w:/tmp/y"); strings.Count(errs, " Copied\n") != 3 {
		t.Errorf("cp --all: %q", errs)
	}
	ce.ok("exec", id, "cat", "/tmp/y")
	ce.ok("exec", ce.project+"-w-1", "sh", "-c", "echo one > /tmp/q")
	ce.ok("exec", ce.project+"-w-2", "sh", "-c", "echo two > /tmp/q")
	if out, _ := ce.composeOK("cp", "w:/tmp/q", "-"); !strings.Contains(out, "one\n") {
		t.Errorf("cp from w: %q", out)
	}
	if _, errs := ce.composeOK("cp", "--index", "2", "f", "w:/tmp/z"); errs != p+"-w-2 copy f to "+ce.project+"-w-2:/tmp/z Copying\n"+p+"-w-2 copy f to "+ce.project+"-w-2:/tmp/z Copied\n" {
		t.Errorf("cp --index 2: %q", errs)
	}

	// events: the journal replayed from --since, up to --until.
	ce.composeOK("restart", "v")
	out, _ := ce.composeOK("events", "--json", "--since", "5m", "--until", "0s", "v")
	if !strings.Contains(out, `"action":"restart"`) && !strings.Contains(out, `"action":"start"`) || strings.Contains(out, `"service":"w"`) {
		t.Errorf("events --since --until v:\n%s", out)
	}
}

// TestComposeBuildFlags: compose build's --with-dependencies, --push and --check, and the flags
// berth's builder cannot honour refused in one line (Compose on BuildKit honours them).
func TestComposeBuildFlags(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := distRegistry(t, "", "")
	ce := newComposeEnv(t, map[string]string{
		"Dockerfile": "FROM bb:1\nLABEL made=compose\n",
		"compose.yaml": "services:\n  a:\n    build: .\n    depends_on: [b]\n" +
			"  b:\n    build: .\n    image: " + host + "/p/b:1\n",
	})
	for _, c := range []struct{ args, err string }{
		{"--builder foo", "berth compose build does not support --builder (berth has one builder, default)"},
		{"-m 64m", "berth compose build does not support --memory"},
		{"--print", "berth compose build does not support --print"},
		{"--provenance true", "berth compose build does not support --provenance"},
		{"--sbom true", "berth compose build does not support --sbom"},
	} {
		if _, errs, code := ce.compose(append([]string{"build"}, strings.Fields(c.args)...)...); code != 1 || errs != c.err+"\n" {
			t.Errorf("build %s: exit %d, %q", c.args, code, errs)
		}
	}
	// --check checks the Dockerfile and builds nothing.
	ce.composeOK("build", "--check", "a")
	if _, _, code := ce.run("image", "inspect", ce.project+"-a"); code == 0 {
		t.Error("build --check built the image")
	}
	// A service named is built alone, with --with-dependencies its dependencies too.
	_, errs := ce.composeOK("build", "a")
	if !strings.Contains(errs, " Image "+ce.project+"-a  Built\n") || strings.Contains(errs, "/p/b:1") {
		t.Errorf("build a: %q", errs)
	}
	_, errs = ce.composeOK("build", "--with-dependencies", "--push", "a")
	if !strings.Contains(errs, " Image "+host+"/p/b:1  Built\n") || !strings.Contains(errs, " Pushing "+host+"/p/b:1: ") {
		t.Errorf("build --with-dependencies --push a: %q", errs)
	}
	ce.ok("rmi", host+"/p/b:1")
	ce.ok("pull", host+"/p/b:1")
}

// TestComposeRecreateKeepsAnonymousVolumes: a recreated container gets its predecessor's
// anonymous volumes, and -V new ones, as Docker Compose v2.40.3 does (recorded: the file
// written in /data survives up --force-recreate and is gone after up -V).
func TestComposeRecreateKeepsAnonymousVolumes(t *testing.T) {
	ce := newComposeEnv(t, map[string]string{
		"compose.yaml": "services:\n  s:\n    image: bb:1\n    command: sleep 300\n    volumes: [/data]\n",
	})
	ce.composeOK("up", "-d")
	c := ce.project + "-s-1"
	ce.ok("exec", c, "sh", "-c", "echo kept > /data/f")
	ce.composeOK("up", "-d", "--force-recreate", "-t", "0")
	if got := ce.ok("exec", c, "cat", "/data/f"); got != "kept\n" {
		t.Errorf("after --force-recreate: %q", got)
	}
	ce.composeOK("up", "-d", "-V", "-t", "0")
	if out, _, code := ce.run("exec", c, "cat", "/data/f"); code == 0 {
		t.Errorf("after -V the old volume is still there: %q", out)
	}
}

// TestComposeQuietPull: up, create and run pull with Compose's layer lines between " s Pulling "
// and " s Pulled ", and --quiet-pull leaves them out (recorded with the compose plugin on
// dockerd 20.10 and a registry on 127.0.0.1).
func TestComposeQuietPull(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host := distRegistry(t, "", "")
	ce := newComposeEnv(t, map[string]string{
		"compose.yaml": "services:\n  s:\n    image: " + host + "/qp/bb:1\n    command: \"true\"\n",
		"Dockerfile":   "FROM bb:1\nLABEL quiet=pull\n",
	})
	// An image of its own: one whose config is in the store under another name pulls silently.
	ce.ok("build", "-q", "-t", host+"/qp/bb:1", ce.dir)
	ce.ok("push", host+"/qp/bb:1")
	ce.ok("rmi", host+"/qp/bb:1")
	_, errs := ce.composeOK("create")
	if !strings.HasPrefix(errs, " s Pulling \n") || !strings.Contains(errs, " Already exists \n s Pulled \n") {
		t.Errorf("create: %q", errs)
	}
	ce.composeOK("down")
	ce.ok("rmi", host+"/qp/bb:1")
	if _, errs := ce.composeOK("create", "--quiet-pull"); !strings.HasPrefix(errs, " s Pulling \n s Pulled \n Network ") {
		t.Errorf("create --quiet-pull: %q", errs)
	}
	ce.composeOK("down")
	ce.ok("rmi", host+"/qp/bb:1")
	if _, errs := ce.composeOK("run", "--rm", "--quiet-pull", "s"); !strings.Contains(errs, " s Pulling \n s Pulled \n") {
		t.Errorf("run --quiet-pull: %q", errs)
	}
}
