package e2e_test

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// berth events prints the journal in Docker's line format, filtered, between since and until,
// and follows it live.
func TestEventsCommand(t *testing.T) {
	e := newEnv(t)
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	id := e.importNamed(fileTar(t, "a", "a"), "ev:1")
	e.ok("tag", "ev:1", "ev:2")
	e.ok("rmi", "ev:2")
	until := strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', 9, 64)
	out := e.ok("events", "--since", since, "--until", until)
	// Docker's shape: RFC 3339 time with nanoseconds, type, action, actor, sorted attributes.
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) image (\w+) (sha256:[0-9a-f]{64}) \(name=([^)]*)\)$`)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not Docker's event line: %q", l)
		}
		if m[3] != id {
			t.Errorf("actor %s, want %s", m[3], id)
		}
		got = append(got, m[2]+" "+m[4])
	}
	want := "import " + id + ",tag ev:2,untag " + id
	if strings.Join(got, ",") != want {
		t.Errorf("events:\n got  %s\n want %s", strings.Join(got, ","), want)
	}
	if out := e.ok("events", "--since", since, "--until", until, "--filter", "event=tag", "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Status}}"); out != "tag ev:2 tag\n" {
		t.Errorf("--filter event=tag --format: %q", out)
	}
	e.fails(1, "Error: Invalid filter 'colour'\n", "events", "--filter", "colour=red", "--until", until)

	// Following: a tag made after the command started shows up while it runs.
	cmd := e.command(nil, "events", "--filter", "type=image")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(time.Minute)
	for i := 0; ; i++ {
		tag := "ev:live" + strconv.Itoa(i)
		e.ok("tag", "ev:1", tag)
		select {
		case l := <-lines:
			if !strings.Contains(l, " image tag "+id+" (name=ev:live") {
				t.Fatalf("followed: %q", l)
			}
			return
		case <-deadline:
			t.Fatal("berth events saw no live event")
		case <-time.After(300 * time.Millisecond):
		}
	}
}
