package container

import (
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
)

// The messages are Docker 20.10's (checked against a reference daemon: CLI parsing first, then
// the daemon's validation).
func TestParseAndValidateRestartPolicy(t *testing.T) {
	cases := []struct {
		in   string
		want RestartPolicy
		err  string
	}{
		{"", RestartPolicy{}, ""},
		{"no", RestartPolicy{Name: "no"}, ""},
		{"no:0", RestartPolicy{Name: "no"}, ""},
		{"always", RestartPolicy{Name: "always"}, ""},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, ""},
		{"on-failure", RestartPolicy{Name: "on-failure"}, ""},
		{"on-failure:3", RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}, ""},
		{"always:3", RestartPolicy{}, "maximum retry count cannot be used with restart policy 'always'"},
		{"bogus", RestartPolicy{}, "invalid restart policy 'bogus'"},
		{"on-failure:x", RestartPolicy{}, "maximum retry count must be an integer"},
		{"on-failure:-1", RestartPolicy{}, "maximum retry count cannot be negative"},
		{"a:b:c", RestartPolicy{}, "invalid restart policy format"},
	}
	for _, c := range cases {
		p, err := ParseRestartPolicy(c.in)
		if err == nil {
			err = ValidateRestartPolicy(p)
		}
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%q: error %v, want %q", c.in, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.err == "" && p != c.want:
			t.Errorf("%q: %+v, want %+v", c.in, p, c.want)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	no, always, unless := RestartPolicy{Name: "no"}, RestartPolicy{Name: "always"}, RestartPolicy{Name: "unless-stopped"}
	onFailure, onFailure2 := RestartPolicy{Name: "on-failure"}, RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}
	cases := []struct {
		name              string
		p                 RestartPolicy
		code, count       int
		stopped, canceled bool
		want              bool
	}{
		{"no", no, 1, 0, false, false, false},
		{"empty name is no", RestartPolicy{}, 1, 0, false, false, false},
		{"always after exit 0", always, 0, 5, false, false, true},
		{"always after failure", always, 3, 0, false, false, true},
		{"always stopped by the user", always, 143, 0, true, true, false},
		{"always, a kill that did not cancel", always, 1, 0, true, false, true},
		{"unless-stopped", unless, 0, 0, false, false, true},
		{"unless-stopped stopped", unless, 137, 0, true, true, false},
		{"unless-stopped marked stopped only", unless, 1, 0, true, false, false},
		{"on-failure exit 0", onFailure, 0, 0, false, false, false},
		{"on-failure no limit", onFailure, 1, 100, false, false, true},
		{"on-failure:2 first", onFailure2, 3, 0, false, false, true},
		{"on-failure:2 second", onFailure2, 3, 1, false, false, true},
		{"on-failure:2 used up", onFailure2, 3, 2, false, false, false},
		{"on-failure killed by the user", onFailure, 137, 0, true, true, false},
	}
	for _, c := range cases {
		if got := ShouldRestart(c.p, c.code, c.count, c.stopped, c.canceled); got != c.want {
			t.Errorf("%s: ShouldRestart = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNextRestartDelay(t *testing.T) {
	ms := time.Millisecond
	var d time.Duration
	var got []time.Duration
	for i := 0; i < 12; i++ {
		d = NextRestartDelay(d, 5*ms)
		got = append(got, d)
	}
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms,
		25600 * ms, 51200 * ms, time.Minute, time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	// A container that ran for 10 s starts over.
	if d := NextRestartDelay(time.Minute, 10*time.Second); d != 100*ms {
		t.Errorf("after a 10 s run: %v, want 100ms", d)
	}
	if d := NextRestartDelay(800*ms, 9*time.Second); d != 1600*ms {
		t.Errorf("after a 9 s run: %v, want 1.6s", d)
	}
}

func TestKillStops(t *testing.T) {
	plain := &Container{}
	usr1 := &Container{Config: image.ContainerConfig{StopSignal: "SIGUSR1"}}
	cases := []struct {
		c    *Container
		sig  string
		want bool
	}{
		{plain, "KILL", true},
		{plain, "HUP", true},
		{plain, "15", true},
		{usr1, "USR1", true},
		{usr1, "10", true},
		{usr1, "KILL", true},
		{usr1, "HUP", false},
	}
	for _, c := range cases {
		if got := killStops(c.c, c.sig); got != c.want {
			t.Errorf("stop signal %q, kill %s: %v, want %v", c.c.Config.StopSignal, c.sig, got, c.want)
		}
	}
}

func TestStateRunningWhileRestarting(t *testing.T) {
	st := State{Status: "restarting"}
	if !st.Running() || !st.Restarting() {
		t.Errorf("a restarting container is running (as in Docker) and restarting")
	}
	if (State{Status: "running"}).Restarting() {
		t.Errorf("running is not restarting")
	}
}
