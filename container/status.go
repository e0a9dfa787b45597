package container

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/go-units"
)

// StatusString is Docker's State.String(): "Up 3 minutes", "Up 5 seconds (healthy)",
// "Restarting (1) 2 seconds ago", "Exited (0) 2 seconds ago", "Created".
func StatusString(st State, now time.Time) string {
	switch st.Status {
	case "running", "paused":
		s := "Up " + units.HumanDuration(now.Sub(st.StartedAt))
		if st.Status == "paused" {
			s += " (Paused)"
		} else if h := st.Health; h != nil {
			if h.Status == HealthStarting {
				s += " (health: starting)"
			} else {
				s += " (" + h.Status + ")"
			}
		}
		return s
	case "restarting":
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case "exited":
		if st.FinishedAt.IsZero() {
			return ""
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case "removing":
		return "Removal In Progress"
	case "dead":
		return "Dead"
	case "created":
		return "Created"
	}
	return st.Status
}

// Command is the container's command as Docker's listing shows it: the path and its
// arguments, those with a space in single quotes.
func (c *Container) Command() string {
	cmd := c.Path
	if len(c.Args) > 0 {
		args := make([]string, len(c.Args))
		for i, a := range c.Args {
			if strings.Contains(a, " ") {
				a = "'" + a + "'"
			}
			args[i] = a
		}
		cmd += " " + strings.Join(args, " ")
	}
	return cmd
}
