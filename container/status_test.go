package container

import (
	"testing"
	"time"
)

// ps's STATUS as Docker 20.10 prints it (checked against a reference daemon).
func TestStatusStringRestartAndHealth(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	health := func(s string) *Health { return &Health{Status: s} }
	cases := []struct {
		st   State
		want string
	}{
		{State{Status: "running", StartedAt: now.Add(-5 * time.Second)}, "Up 5 seconds"},
		{State{Status: "running", StartedAt: now, Health: health("starting")}, "Up Less than a second (health: starting)"},
		{State{Status: "running", StartedAt: now.Add(-2 * time.Second), Health: health("unhealthy")}, "Up 2 seconds (unhealthy)"},
		{State{Status: "running", StartedAt: now.Add(-4 * time.Second), Health: health("healthy")}, "Up 4 seconds (healthy)"},
		{State{Status: "paused", StartedAt: now.Add(-18 * time.Second), Health: health("unhealthy")}, "Up 18 seconds (Paused)"},
		{State{Status: "restarting", ExitCode: 3, FinishedAt: now}, "Restarting (3) Less than a second ago"},
		{State{Status: "restarting", ExitCode: 0, FinishedAt: now.Add(-time.Second), Health: health("unhealthy")}, "Restarting (0) 1 second ago"},
		{State{Status: "exited", ExitCode: 137, FinishedAt: now, Health: health("unhealthy")}, "Exited (137) Less than a second ago"},
	}
	for _, c := range cases {
		if got := StatusString(c.st, now); got != c.want {
			t.Errorf("%+v: %q, want %q", c.st, got, c.want)
		}
	}
}
