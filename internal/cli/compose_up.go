package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ---- up / create ----

type upFlags struct {
	detach, build, noBuild, forceRecreate, noRecreate, removeOrphans, wait, noStart, noDeps bool
	abortOnExit, noColor, noLogPrefix, yes                                                  bool
	abortOnFailure, alwaysRecreateDeps, renewAnon, attachDeps, timestamps, menu, watch      bool
	quietPull, quietBuild                                                                   bool
	exitCodeFrom, pull                                                                      string
	scale, attach, noAttach                                                                 []string
	timeout, waitTimeout                                                                    int
}

// validate checks the flags as Docker Compose's up does, in its order and words.
func (u *upFlags) validate(stdout io.Writer) error {
	if u.exitCodeFrom != "" && !u.abortOnFailure {
		u.abortOnExit = true
	}
	switch {
	case u.abortOnExit && u.abortOnFailure:
		return errors.New("--abort-on-container-failure cannot be combined with --abort-on-container-exit")
	case u.wait && (u.attachDeps || u.abortOnExit || len(u.attach) > 0):
		return errors.New("--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies")
	}
	if u.wait {
		u.detach = true
	}
	switch {
	case u.build && u.noBuild:
		return errors.New("--build and --no-build are incompatible")
	case u.detach && (u.attachDeps || u.abortOnExit || u.abortOnFailure || len(u.attach) > 0 || u.watch):
		return errors.New("--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch")
	case u.renewAnon && u.noRecreate:
		return errors.New("--no-recreate and --renew-anon-volumes are incompatible")
	case u.forceRecreate && u.noRecreate:
		return errors.New("--force-recreate and --no-recreate are incompatible")
	case u.alwaysRecreateDeps && u.noRecreate:
		return errors.New("--always-recreate-deps and --no-recreate are incompatible")
	case u.noBuild && u.watch:
		return errors.New("--no-build and --watch are incompatible")
	case u.watch:
		// Compose's watch follows the build contexts' files; berth has no file watcher yet.
		return errors.New("berth compose up does not support --watch yet")
	case u.menu && !u.detach && isTerminal(stdout):
		// Compose shows its navigation menu only on a terminal (and ignores --menu elsewhere).
		return errors.New("berth compose up does not support --menu (the navigation menu) on a terminal yet")
	}
	return nil
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
	// -V recreates the named services' containers (with new anonymous volumes), as Compose's
	// does; --always-recreate-deps their dependencies'.
	o.RenewAnonVolumes = u.renewAnon
	if u.forceRecreate || u.renewAnon {
		o.Recreate = compose.RecreateForce
	} else if u.noRecreate {
		o.Recreate = compose.RecreateNever
	}
	switch {
	case u.noRecreate:
		o.RecreateDependencies = compose.RecreateNever
	case u.alwaysRecreateDeps:
		o.RecreateDependencies = compose.RecreateForce
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

// plan applies the flags that change the loaded plan (--pull).
func (u *upFlags) plan(cmd *cobra.Command, pl *compose.Plan) error {
	if cmd.Flags().Changed("pull") {
		return pl.SetPullPolicy(u.pull)
	}
	return nil
}

// quiet silences the pulls and builds of the session as --quiet-pull and --quiet-build ask
// (Compose's --quiet-pull quiets the builds too).
func (u *upFlags) quiet(s *composeSession) {
	if u.quietPull {
		s.engine.Pull = func(ctx context.Context, ref string) error { return s.pullImage(ctx, ref, true) }
	}
	if u.quietPull || u.quietBuild {
		s.engine.BuildProgress = io.Discard
	}
}

func (u *upFlags) bindCreate(fl *pflag.FlagSet, pullValues string) {
	fl.BoolVar(&u.build, "build", false, "Build images before starting containers")
	fl.BoolVar(&u.noBuild, "no-build", false, "Don't build an image, even if it's policy")
	fl.BoolVar(&u.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration and image haven't changed")
	fl.BoolVar(&u.noRecreate, "no-recreate", false, "If containers already exist, don't recreate them. Incompatible with --force-recreate.")
	fl.BoolVar(&u.removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	fl.StringArrayVar(&u.scale, "scale", nil, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.")
	fl.StringVar(&u.pull, "pull", "policy", "Pull image before running ("+pullValues+")")
	fl.BoolVar(&u.quietPull, "quiet-pull", false, "Pull without printing progress information")
	fl.BoolVarP(&u.yes, "yes", "y", false, `Assume "yes" as answer to all prompts and run non-interactively`)
}

func composeUp(g *Globals, f *composeFlags) *cobra.Command {
	var u upFlags
	c := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := u.validate(g.Stdout); err != nil {
				return composeError(err)
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
				if len(u.attach) > 0 && u.attachDeps {
					return errors.New("cannot combine --attach and --attach-dependencies")
				}
				if err := u.plan(cmd, pl); err != nil {
					return err
				}
				u.quiet(s)
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
				// Compose checks --attach before it brings anything up.
				if _, err := pl.AttachTo(args, u.attach, u.noAttach, u.attachDeps); err != nil && !u.detach {
					return err
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
	u.bindCreate(fl, `"always"|"missing"|"never"`)
	fl.BoolVarP(&u.detach, "detach", "d", false, "Detached mode: Run containers in the background")
	fl.BoolVar(&u.wait, "wait", false, "Wait for services to be running|healthy. Implies detached mode.")
	fl.IntVar(&u.waitTimeout, "wait-timeout", 0, "Maximum duration in seconds to wait for the project to be running|healthy")
	fl.BoolVar(&u.noStart, "no-start", false, "Don't start the services after creating them")
	fl.BoolVar(&u.noDeps, "no-deps", false, "Don't start linked services")
	fl.BoolVar(&u.abortOnExit, "abort-on-container-exit", false, "Stops all containers if any container was stopped. Incompatible with -d")
	fl.StringVar(&u.exitCodeFrom, "exit-code-from", "", "Return the exit code of the selected service container. Implies --abort-on-container-exit")
	fl.IntVarP(&u.timeout, "timeout", "t", 0, "Use this timeout in seconds for container shutdown when attached or when containers are already running")
	fl.BoolVar(&u.noColor, "no-color", false, "Produce monochrome output")
	fl.BoolVar(&u.noLogPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	fl.BoolVar(&u.abortOnFailure, "abort-on-container-failure", false, "Stops all containers if any container exited with failure. Incompatible with -d")
	fl.BoolVar(&u.alwaysRecreateDeps, "always-recreate-deps", false, "Recreate dependent containers. Incompatible with --no-recreate.")
	fl.BoolVarP(&u.renewAnon, "renew-anon-volumes", "V", false, "Recreate anonymous volumes instead of retrieving data from the previous containers")
	fl.StringArrayVar(&u.attach, "attach", nil, "Restrict attaching to the specified services. Incompatible with --attach-dependencies.")
	fl.StringArrayVar(&u.noAttach, "no-attach", nil, "Do not attach (stream logs) to the specified services")
	fl.BoolVar(&u.attachDeps, "attach-dependencies", false, "Automatically attach to log output of dependent services")
	fl.BoolVar(&u.timestamps, "timestamps", false, "Show timestamps")
	fl.BoolVar(&u.quietBuild, "quiet-build", false, "Suppress the build output")
	fl.BoolVarP(&u.watch, "watch", "w", false, "Watch source code and rebuild/refresh containers when files are updated.")
	fl.BoolVar(&u.menu, "menu", false, "Enable interactive shortcuts when running attached. Incompatible with --detach. Can also be enable/disable by setting COMPOSE_MENU environment var.")
	return c
}

// attach is up's foreground: the logs of the attached services' containers until they all
// exit; an interrupt, or with --abort-on-container-exit the first exit (--abort-on-container-failure:
// the first exit with a failure), stops all of the project's containers.
func (s *composeSession) attach(ctx context.Context, pl *compose.Plan, services []string, u upFlags, since time.Time) error {
	cs, err := s.engine.ProjectContainers(pl.Project, false)
	if err != nil {
		return err
	}
	cs = compose.OfServices(cs, pl.ServiceNames())
	to, err := pl.AttachTo(services, u.attach, u.noAttach, u.attachDeps)
	if err != nil {
		return err
	}
	all := cs
	cs = nil
	var names []string
	for _, c := range all {
		if slices.Contains(to, c.Service) {
			cs = append(cs, c)
			names = append(names, strings.TrimPrefix(c.Name, pl.Project+"-"))
		}
	}
	slices.Sort(names) // Compose's order (recorded: "bad-1, dep-1, ok-1")
	fmt.Fprintln(s.g.Stdout, "Attaching to "+strings.Join(names, ", "))
	stopAll := func() {
		s.engine.Each(all, "Stopping", "Stopped", func(c compose.Container) error { return s.engine.Containers.Stop(c.ID, nil) })
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
		o := compose.LogsOptions{LogsOptions: container.LogsOptions{Follow: true, Tail: -1, Since: since, Timestamps: u.timestamps}, NoPrefix: u.noLogPrefix,
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
		if u.abortOnExit || u.abortOnFailure && err == nil && st.ExitCode != 0 {
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
			if err := u.validate(g.Stdout); err != nil {
				return composeError(err)
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
				if err := u.plan(cmd, pl); err != nil {
					return err
				}
				u.quiet(s)
				s.engine.Confirm = func(q string) bool { return composeConfirm(s.g, q, u.yes) }
				return s.engine.Up(ctx, pl, o)
			})
		},
	}
	u.bindCreate(c.Flags(), `"always"|"missing"|"never"|"build"`)
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
	fl.IntVarP(&timeout, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
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
