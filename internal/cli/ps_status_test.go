package cli

import (
	"testing"
	"time"

	"github.com/berth-engine/berth/container"
)

// ps's STATUS as Docker 20.10 prints it (checked against a reference daemon).
func TestStatusStringRestartAndHealth(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	health := func(s string) *container.Health { return &container.Health{Status: s} }
	cases := []struct {
		st   container.State
		want string
	}{
		{container.State{Status: "running", StartedAt: now.Add(-5 * time.Second)}, "Up 5 seconds"},
		{container.State{Status: "running", StartedAt: now, Health: health("starting")}, "Up Less than a second (health: starting)"},
		{container.State{Status: "running", StartedAt: now.Add(-2 * time.Second), Health: health("unhealthy")}, "Up 2 seconds (unhealthy)"},
		{container.State{Status: "running", StartedAt: now.Add(-4 * time.Second), Health: health("healthy")}, "Up 4 seconds (healthy)"},
		{container.State{Status: "paused", StartedAt: now.Add(-18 * time.Second), Health: health("unhealthy")}, "Up 18 seconds (Paused)"},
		{container.State{Status: "restarting", ExitCode: 3, FinishedAt: now}, "Restarting (3) Less than a second ago"},
		{container.State{Status: "restarting", ExitCode: 0, FinishedAt: now.Add(-time.Second), Health: health("unhealthy")}, "Restarting (0) 1 second ago"},
		{container.State{Status: "exited", ExitCode: 137, FinishedAt: now, Health: health("unhealthy")}, "Exited (137) Less than a second ago"},
	}
	for _, c := range cases {
		if got := statusString(c.st, now); got != c.want {
			t.Errorf("%+v: %q, want %q", c.st, got, c.want)
		}
	}
}
