package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/berth-engine/berth/compose"
	"github.com/spf13/cobra"
)

// ---- logs ----

func composeLogs(g *Globals, f *composeFlags) *cobra.Command {
	var o compose.LogsOptions
	var tail, since, until string
	var noColor bool
	var index int
	c := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tail = -1
			if tail != "" && tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil {
					return composeError(fmt.Errorf("invalid tail value: %s", tail))
				}
				o.Tail = n
			}
			for _, t := range []struct {
				s   string
				dst *time.Time
			}{{since, &o.Since}, {until, &o.Until}} {
				if t.s == "" {
					continue
				}
				v, err := parseLogTime(t.s, time.Now())
				if err != nil {
					return composeError(err)
				}
				*t.dst = v
			}
			o.Color = !noColor && isTerminal(g.Stdout)
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				cs, err := s.engine.ProjectContainers(name, false)
				if err != nil {
					return err
				}
				if cs, err = compose.Select(cs, pl, args); err != nil {
					return err
				}
				if cs, err = compose.IndexedContainers(cs, args, index); err != nil {
					return err
				}
				// One container by --index: no other one is followed.
				o.FollowNew = o.Follow && index == 0
				return s.engine.Logs(ctx, name, args, cs, o, g.Stdout)
			})
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&o.Follow, "follow", "f", false, "Follow log output")
	fl.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs for each container")
	fl.BoolVar(&noColor, "no-color", false, "Produce monochrome output")
	fl.BoolVarP(&o.Timestamps, "timestamps", "t", false, "Show timestamps")
	fl.BoolVar(&o.NoPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	fl.StringVar(&since, "since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	fl.IntVar(&index, "index", 0, "index of the container if service has multiple replicas")
	fl.StringVar(&until, "until", "", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	return c
}

// parseLogTime reads --since/--until: an RFC 3339 time, Unix seconds or a duration before now.
func parseLogTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("invalid value for \"since\": failed to parse value as time or duration: %q", s)
}
