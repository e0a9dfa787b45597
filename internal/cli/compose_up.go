package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// ---- up / create ----

type upFlags struct {
	detach, build, noBuild, forceRecreate, noRecreate, removeOrphans, wait, noStart, noDeps bool
	abortOnExit, noColor, noLogPrefix, yes                                                  bool
	exitCodeFrom                                                                            string
	scale                                                                                   []string
	timeout, waitTimeout                                                                    int
}

func (u *upFlags) options(cmd *cobra.Command, services []string) (compose.UpOptions, compose.PlanOptions, error) {
	o := compose.UpOptions{Recreate: compose.RecreateDiverged, RemoveOrphans: u.removeOrphans, Wait: u.wait,
		NoStart: u.noStart, Services: services}
	if u.forceRecreate && u.noRecreate {
		return o, compose.PlanOptions{}, errors.New("--force-recreate and --no-recreate are incompatible")
	}
	if u.build && u.noBuild {
		return o, compose.PlanOptions{}, errors.New("--build and --no-build are incompatible")
	}
	if u.forceRecreate {
		o.Recreate = compose.RecreateForce
	} else if u.noRecreate {
		o.Recreate = compose.RecreateNever
	}
	if u.build {
		o.Build = "always"
	} else if u.noBuild {
		o.Build = "never"
	}
	if cmd.Flags().Changed("timeout") {
		o.Timeout = &u.timeout
	}
	if u.waitTimeout > 0 {
		o.WaitTimeout = time.Duration(u.waitTimeout) * time.Second
	}
	po := compose.PlanOptions{Scale: map[string]int{}}
	for _, s := range u.scale {
		name, n, ok := strings.Cut(s, "=")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || v < 0 {
			return o, po, fmt.Errorf("invalid scale specifier: %s", s)
		}
		po.Scale[name] = v
	}
	return o, po, nil
}

func (u *upFlags) bindCreate(fl interface {
	BoolVar(*bool, string, bool, string)
	StringArrayVar(*[]string, string, []string, string)
}) {
	fl.BoolVar(&u.build, "build", false, "Build images before starting containers")
	fl.BoolVar(&u.noBuild, "no-build", false, "Don't build an image, even if it's policy")
	fl.BoolVar(&u.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration and image haven't changed")
	fl.BoolVar(&u.noRecreate, "no-recreate", false, "If containers already exist, don't recreate them. Incompatible with --force-recreate.")
	fl.BoolVar(&u.removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	fl.StringArrayVar(&u.scale, "scale", nil, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.")
}

func composeUp(g *Globals, f *composeFlags) *cobra.Command {
	var u upFlags
	c := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if u.exitCodeFrom != "" {
				u.abortOnExit = true
			}
			if u.detach && u.abortOnExit {
				return composeError(errors.New("--abort-on-container-exit and --detach are incompatible"))
			}
			o, po, err := u.options(cmd, args)
			if err != nil {
				return composeError(err)
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, args, false, po)
				if err != nil {
					return err
				}
				for _, w := range pl.Warnings {
					logrus.Warn(w)
				}
				if u.noDeps && len(args) > 0 {
					pl.Only(args)
				}
				if u.exitCodeFrom != "" {
					if _, ok := pl.Service(u.exitCodeFrom); !ok {
						return fmt.Errorf("no such service: %s", u.exitCodeFrom)
					}
				}
				// The foreground shows what the containers print from this up on, as Compose's
				// attach does, not what earlier runs left in their logs.
				if s.f.dryRun {
					if !u.detach && !u.wait {
						o.NoStart = true
					}
					if err := s.engine.DryUp(pl, o); err != nil {
						return err
					}
					if !u.detach && !u.wait {
						fmt.Fprintln(s.g.Stdout, "end of 'compose up' output, interactive run is not supported in dry-run mode")
					}
					return nil
				}
				since := time.Now()
				s.engine.Confirm = func(q string) bool { return composeConfirm(s.g, q, u.yes) }
				if err := s.engine.Up(ctx, pl, o); err != nil {
					return err
				}
				if u.detach || u.wait {
					return nil
				}
				return s.attach(ctx, pl, args, u, since)
			})
		},
	}
	fl := c.Flags()
	u.bindCreate(fl)
	fl.BoolVarP(&u.detach, "detach", "d", false, "Detached mode: Run containers in the background")
	fl.BoolVar(&u.wait, "wait", false, "Wait for services to be running|healthy. Implies detached mode.")
	fl.IntVar(&u.waitTimeout, "wait-timeout", 0, "Maximum duration in seconds to wait for the project to be running|healthy")
	fl.BoolVar(&u.noStart, "no-start", false, "Don't start the services after creating them")
	fl.BoolVar(&u.noDeps, "no-deps", false, "Don't start linked services")
	fl.BoolVar(&u.abortOnExit, "abort-on-container-exit", false, "Stops all containers if any container was stopped. Incompatible with -d")
	fl.StringVar(&u.exitCodeFrom, "exit-code-from", "", "Return the exit code of the selected service container. Implies --abort-on-container-exit")
	fl.IntVarP(&u.timeout, "timeout", "t", 10, "Use this timeout in seconds for container shutdown when attached or when containers are already running")
	fl.BoolVar(&u.noColor, "no-color", false, "Produce monochrome output")
	fl.BoolVar(&u.noLogPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	fl.BoolVarP(&u.yes, "yes", "y", false, `Assume "yes" as answer to all prompts and run non-interactively`)
	fl.Bool("quiet-pull", false, "Pull without printing progress information")
	return c
}

// attach is up's foreground: the containers' logs until they all exit; an interrupt, or with
// --abort-on-container-exit the first exit, stops them all.
func (s *composeSession) attach(ctx context.Context, pl *compose.Plan, services []string, u upFlags, since time.Time) error {
	cs, err := s.engine.ProjectContainers(pl.Project, false)
	if err != nil {
		return err
	}
	if cs, err = compose.Select(cs, pl, services); err != nil {
		return err
	}
	var names []string
	for _, c := range cs {
		names = append(names, strings.TrimPrefix(c.Name, pl.Project+"-"))
	}
	fmt.Fprintln(s.g.Stdout, "Attaching to "+strings.Join(names, ", "))
	stopAll := func() {
		s.engine.Each(cs, "Stopping", "Stopped", func(c compose.Container) error { return s.engine.Containers.Stop(c.ID, nil) })
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var interrupted atomic.Bool
	go func() {
		if _, ok := <-sigs; ok {
			interrupted.Store(true)
			fmt.Fprintln(s.g.Stderr, "Gracefully stopping... (press Ctrl+C again to force)")
			go func() {
				if _, ok := <-sigs; ok {
					os.Exit(130) // the second Ctrl+C: leave the containers as they are
				}
			}()
			stopAll()
		}
	}()
	exited := make(chan compose.Container, len(cs))
	for _, c := range cs {
		go func() {
			s.engine.Containers.WaitExit(c.ID)
			exited <- c
		}()
	}
	done := make(chan error, 1)
	go func() {
		o := compose.LogsOptions{LogsOptions: container.LogsOptions{Follow: true, Tail: -1, Since: since}, NoPrefix: u.noLogPrefix,
			Color: !u.noColor && isTerminal(s.g.Stdout)}
		done <- s.engine.Logs(context.Background(), pl.Project, nil, cs, o, s.g.Stdout)
	}()
	code := 0
	for range cs {
		c := <-exited
		_, st, err := s.engine.Containers.Get(c.ID)
		if err == nil {
			fmt.Fprintf(s.g.Stdout, "%s exited with code %d\n", strings.TrimPrefix(c.Name, pl.Project+"-"), st.ExitCode)
			if u.exitCodeFrom == c.Service {
				code = st.ExitCode
			}
		}
		if u.abortOnExit {
			if u.exitCodeFrom == "" && err == nil {
				code = st.ExitCode
			}
			fmt.Fprintln(s.g.Stdout, "Aborting on container exit...")
			stopAll()
			if u.exitCodeFrom != "" {
				for _, x := range cs {
					if x.Service == u.exitCodeFrom {
						if _, st, err := s.engine.Containers.Get(x.ID); err == nil {
							code = st.ExitCode
						}
					}
				}
			}
			break
		}
	}
	<-done
	if interrupted.Load() {
		code = 130 // Compose's exit after Ctrl+C
	}
	if code != 0 {
		return &StatusError{Code: code, Err: errors.New("")}
	}
	return nil
}

func composeCreate(g *Globals, f *composeFlags) *cobra.Command {
	var u upFlags
	c := &cobra.Command{
		Use:   "create [OPTIONS] [SERVICE...]",
		Short: "Creates containers for a service",
		RunE: func(cmd *cobra.Command, args []string) error {
			u.noStart = true
			o, po, err := u.options(cmd, args)
			if err != nil {
				return composeError(err)
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, args, false, po)
				if err != nil {
					return err
				}
				for _, w := range pl.Warnings {
					logrus.Warn(w)
				}
				return s.engine.Up(ctx, pl, o)
			})
		},
	}
	u.bindCreate(c.Flags())
	return c
}

// ---- down ----

func composeDown(g *Globals, f *composeFlags) *cobra.Command {
	var o compose.DownOptions
	var timeout int
	c := &cobra.Command{
		Use:   "down [OPTIONS] [SERVICES]",
		Short: "Stop and remove containers, networks",
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Images != "" && o.Images != "all" && o.Images != "local" {
				return composeError(fmt.Errorf("invalid value for --rmi: %s", o.Images))
			}
			if cmd.Flags().Changed("timeout") {
				o.Timeout = &timeout
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				if s.f.dryRun {
					return s.engine.DryDown(name, pl, o)
				}
				return s.engine.Down(ctx, name, pl, o)
			})
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&o.Volumes, "volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
	fl.StringVar(&o.Images, "rmi", "", `Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")`)
	fl.BoolVar(&o.RemoveOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	fl.IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	return c
}

// composeConfirm asks Compose's yes/no question: yes (-y) answers it unasked; otherwise it is printed on
// stdout and, when stdin is a terminal, answered there (default no), else answered no as
// Compose does when nobody can answer.
func composeConfirm(g *Globals, question string, yes bool) bool {
	if yes {
		return true
	}
	f, tty := g.Stdin.(*os.File)
	if !tty || !isTerminal(f) {
		fmt.Fprint(g.Stdout, question)
		return false
	}
	fmt.Fprint(g.Stdout, question+" [y/N] ")
	line, _ := bufio.NewReader(f).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
