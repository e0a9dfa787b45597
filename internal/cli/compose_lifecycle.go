package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/spf13/cobra"
)

// ---- start / stop / restart / kill / rm / pause / unpause ----

// onContainers is the shape of the commands that act on a project's containers, by service.
func onContainers(g *Globals, f *composeFlags, use, short string, oneoff bool,
	fn func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				cs, err := s.engine.ProjectContainers(name, oneoff)
				if err != nil {
					return err
				}
				if cs, err = compose.Select(cs, pl, args); err != nil {
					return err
				}
				return fn(ctx, s, pl, cs)
			})
		},
	}
}

func composeStart(g *Globals, f *composeFlags) *cobra.Command {
	return onContainers(g, f, "start [SERVICE...]", "Start services", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		if pl == nil {
			return s.engine.Each(cs, "Starting", "Started", func(c compose.Container) error { return s.engine.Containers.StartDetached(c.ID) })
		}
		return s.engine.Start(ctx, pl, cs)
	})
}

func stopTimeout(cmd *cobra.Command, t int) *int {
	if cmd.Flags().Changed("timeout") {
		return &t
	}
	return nil
}

func composeStop(g *Globals, f *composeFlags) *cobra.Command {
	var t int
	var c *cobra.Command
	c = onContainers(g, f, "stop [OPTIONS] [SERVICE...]", "Stop services", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		return s.engine.Stop(ctx, pl, cs, stopTimeout(c, t))
	})
	c.Flags().IntVarP(&t, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	return c
}

func composeRestart(g *Globals, f *composeFlags) *cobra.Command {
	var t int
	var c *cobra.Command
	c = onContainers(g, f, "restart [OPTIONS] [SERVICE...]", "Restart service containers", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		to := stopTimeout(c, t)
		return s.engine.Each(cs, "Restarting", "Started", func(x compose.Container) error { return s.engine.Containers.Restart(x.ID, to) })
	})
	c.Flags().IntVarP(&t, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	c.Flags().Bool("no-deps", false, "Don't restart dependent services")
	return c
}

func composeKill(g *Globals, f *composeFlags) *cobra.Command {
	var sig string
	c := onContainers(g, f, "kill [OPTIONS] [SERVICE...]", "Force stop service containers", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		var running []compose.Container
		for _, x := range cs {
			if x.State.Running() {
				running = append(running, x)
			}
		}
		if len(running) == 0 {
			return errors.New("no container to kill")
		}
		return s.engine.Each(running, "Killing", "Killed", func(x compose.Container) error { return s.engine.Containers.Kill(x.ID, sig) })
	})
	c.Flags().StringVarP(&sig, "signal", "s", "SIGKILL", "SIGNAL to send to the container")
	c.Flags().Bool("remove-orphans", false, "Remove containers for services not defined in the Compose file")
	return c
}

func composeRm(g *Globals, f *composeFlags) *cobra.Command {
	var force, stop, volumes bool
	c := onContainers(g, f, "rm [OPTIONS] [SERVICE...]", "Removes stopped service containers", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		if stop {
			if err := s.engine.Each(cs, "Stopping", "Stopped", func(x compose.Container) error { return s.engine.Containers.Stop(x.ID, nil) }); err != nil {
				return err
			}
			if cs, _ = s.engine.ProjectContainers(cs0Project(cs, pl), false); pl != nil {
				cs, _ = compose.Select(cs, pl, nil)
			}
		}
		var stopped []compose.Container
		var names []string
		for _, x := range cs {
			// A dry run's --stop stopped nothing: what it would have stopped counts as stopped.
			if _, st, err := s.engine.Containers.Get(x.ID); err == nil && (!st.Running() || stop && s.engine.DryRun) {
				stopped = append(stopped, x)
				names = append(names, x.Name)
			}
		}
		if len(stopped) == 0 {
			fmt.Fprintln(g.Stderr, "No stopped containers")
			return nil
		}
		if !force {
			fmt.Fprintf(g.Stdout, "Going to remove %s\nAre you sure? [yN] ", strings.Join(names, ", "))
			var answer string
			fmt.Fscanln(g.Stdin, &answer)
			if !strings.EqualFold(answer, "y") {
				return nil
			}
		} else {
			fmt.Fprintf(g.Stdout, "Going to remove %s\n", strings.Join(names, ", "))
		}
		return s.engine.Each(stopped, "Removing", "Removed", func(x compose.Container) error {
			return s.engine.Containers.Remove(x.ID, container.RemoveOptions{Volumes: volumes})
		})
	})
	c.Long = `Removes stopped service containers

By default, anonymous volumes attached to containers will not be removed. You
can override this with -v. To list all volumes, use "docker volume ls".

Any data which is not in a volume will be lost.`
	c.Flags().BoolVarP(&force, "force", "f", false, "Don't ask to confirm removal")
	c.Flags().BoolVarP(&stop, "stop", "s", false, "Stop the containers, if required, before removing")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove any anonymous volumes attached to containers")
	return c
}

func cs0Project(cs []compose.Container, pl *compose.Plan) string {
	if pl != nil {
		return pl.Project
	}
	if len(cs) > 0 {
		return cs[0].Project
	}
	return ""
}

func composePause(g *Globals, f *composeFlags) *cobra.Command {
	return onContainers(g, f, "pause [SERVICE...]", "Pause services", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		return s.engine.Each(cs, "", "Paused", func(x compose.Container) error { return s.engine.Containers.Pause(x.ID) })
	})
}

func composeUnpause(g *Globals, f *composeFlags) *cobra.Command {
	return onContainers(g, f, "unpause [SERVICE...]", "Unpause services", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		return s.engine.Each(cs, "", "Unpaused", func(x compose.Container) error { return s.engine.Containers.Unpause(x.ID) })
	})
}

// composeWait is `compose wait`: Compose's line for each container as it stops, and the last
// one's exit code as the command's.
func composeWait(g *Globals, f *composeFlags) *cobra.Command {
	var down bool
	c := onContainers(g, f, "wait SERVICE [SERVICE...] [OPTIONS]", "Block until containers of all (or specified) services stop.", false,
		func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
			if len(cs) == 0 {
				name, _, _ := s.target(ctx)
				return fmt.Errorf("no containers for project %q", name)
			}
			code, err := s.engine.WaitExits(cs, func(c compose.Container, code int) {
				fmt.Fprintf(g.Stdout, "container %q exited with status code %d\n", c.ID, code)
			})
			if err != nil {
				return err
			}
			if down {
				name, _, _ := s.target(ctx)
				if err := s.engine.Down(ctx, name, pl, compose.DownOptions{}); err != nil {
					return err
				}
			}
			if code != 0 {
				return &StatusError{Code: code, Err: errors.New("")}
			}
			return nil
		})
	c.Args = minArgs(1)
	c.Flags().BoolVar(&down, "down-project", false, "Drops project when the first container stops")
	return c
}

// composeScale is `compose scale SERVICE=REPLICAS...`: up for those services with their new
// counts.
func composeScale(g *Globals, f *composeFlags) *cobra.Command {
	var noDeps bool
	c := &cobra.Command{
		Use:   "scale [SERVICE=REPLICAS...]",
		Short: "Scale services",
		RunE: func(cmd *cobra.Command, args []string) error {
			po := compose.PlanOptions{Scale: map[string]int{}}
			var services []string
			for _, a := range args {
				name, n, ok := strings.Cut(a, "=")
				v, err := strconv.Atoi(n)
				if !ok || err != nil || v < 0 {
					return composeError(fmt.Errorf("invalid scale specifier: %s", a))
				}
				po.Scale[name] = v
				services = append(services, name)
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, services, false, po)
				if err != nil {
					return err
				}
				for _, name := range services {
					if _, ok := pl.Service(name); !ok {
						return fmt.Errorf("no such service: %s", name)
					}
				}
				if noDeps {
					pl.Only(services)
				}
				return s.engine.Up(ctx, pl, compose.UpOptions{Recreate: compose.RecreateDiverged, Services: services})
			})
		},
	}
	c.Flags().BoolVar(&noDeps, "no-deps", false, "Don't start linked services")
	return c
}
