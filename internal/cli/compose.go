package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { register("compose", newComposeCommand) }

// composeFlags are `compose`'s global flags.
type composeFlags struct {
	files      []string
	project    string
	projectDir string
	profiles   []string
	envFiles   []string
	progress   string
	ansi       string
}

// composeSession is one compose command's engine over the store.
type composeSession struct {
	g      *Globals
	f      *composeFlags
	store  *image.Store
	engine *compose.Engine
}

func (s *composeSession) close() { s.store.Close() }

// composeError is how Docker Compose fails: the message bare on stderr, exit 1.
func composeError(err error) error {
	if err == nil {
		return nil
	}
	var se *StatusError
	if errors.As(err, &se) {
		return err
	}
	return &StatusError{Code: 1, Err: err, Usage: true}
}

func (f *composeFlags) loadOptions(services []string, all bool) compose.LoadOptions {
	return compose.LoadOptions{ConfigFiles: f.files, ProjectName: f.project, ProjectDir: f.projectDir,
		Profiles: f.profiles, EnvFiles: f.envFiles, Env: os.Environ(), Services: services, All: all}
}

func (f *composeFlags) open(g *Globals) (*composeSession, error) {
	conf, err := readConfig()
	if err != nil {
		return nil, err
	}
	st, err := openStore(g)
	if err != nil {
		return nil, err
	}
	m := container.New(st)
	m.LogDefaults = logging.Config{Type: conf.LogDriver, Config: conf.LogOpts}
	logrus.SetOutput(g.Stderr)
	s := &composeSession{g: g, f: f, store: st}
	events := func(e compose.Event) { fmt.Fprintln(g.Stderr, e.String()) }
	// A terminal gets Compose's live view, unless --progress or --ansi ask for plain lines.
	if isTerminal(g.Stderr) && f.ansi != "never" && (f.progress == "" || f.progress == "auto" || f.progress == "tty") {
		events = newComposeTTY(g.Stderr).event
	} else if f.progress == "quiet" {
		events = func(compose.Event) {}
	}
	s.engine = &compose.Engine{
		Containers: m,
		Networks:   &network.Manager{DB: st.DB, Root: st.Root, Pools: conf.DefaultAddressPools},
		Events:     events,
		// Compose's warnings go through logrus, as compose-go's own do (time=... level=warning).
		Warn: func(msg string) { logrus.Warn(msg) },
		Pull: func(ctx context.Context, ref string) error {
			return pullForRun(g, m, ref)
		},
		BuildProgress: g.Stderr,
	}
	return s, nil
}

// load reads the project and makes its plan.
func (s *composeSession) load(ctx context.Context, services []string, all bool, po compose.PlanOptions) (*types.Project, *compose.Plan, error) {
	p, err := compose.Load(ctx, s.f.loadOptions(services, all))
	if err != nil {
		return nil, nil, err
	}
	pl, err := compose.NewPlan(p, po)
	if err != nil {
		return nil, nil, err
	}
	return p, pl, nil
}

// target is the project a command that may run without files works on: its plan when the files
// load, else only its name (-p or COMPOSE_PROJECT_NAME).
func (s *composeSession) target(ctx context.Context) (string, *compose.Plan, error) {
	_, pl, err := s.load(ctx, nil, true, compose.PlanOptions{})
	if err == nil {
		return pl.Project, pl, nil
	}
	name := s.f.project
	if name == "" {
		name = os.Getenv("COMPOSE_PROJECT_NAME")
	}
	if name != "" && len(s.f.files) == 0 {
		return name, nil, nil
	}
	return "", nil, err
}

// withSession runs fn with a session; its error is Compose's.
func (f *composeFlags) withSession(g *Globals, cmd *cobra.Command, fn func(context.Context, *composeSession) error) error {
	s, err := f.open(g)
	if err != nil {
		return err
	}
	defer s.close()
	return composeError(fn(commandContext(cmd), s))
}

// newComposeCommand is `compose`. Its global flags (-f, -p...) come before the subcommand and
// are parsed here, not as cobra's persistent flags: `logs -f` means --follow, as in Docker
// Compose, and a persistent -f would clash with it.
func newComposeCommand(g *Globals) *cobra.Command {
	f := &composeFlags{}
	sub := &cobra.Command{
		Use:           "compose [OPTIONS] COMMAND",
		Short:         "Define and run multi-container applications (Docker Compose)",
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	sub.SetIn(g.Stdin)
	sub.SetOut(g.Stdout)
	sub.SetErr(g.Stderr)
	sub.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &StatusError{Code: 125, Usage: true, Err: fmt.Errorf("%s\nSee '%s --help'.", err, c.CommandPath())}
	})
	pf := sub.Flags()
	pf.StringArrayVarP(&f.files, "file", "f", nil, "Compose configuration files")
	pf.StringVarP(&f.project, "project-name", "p", "", "Project name")
	pf.StringVar(&f.projectDir, "project-directory", "", "Specify an alternate working directory (default: the path of the, first specified, Compose file)")
	pf.StringArrayVar(&f.profiles, "profile", nil, "Specify a profile to enable")
	pf.StringArrayVar(&f.envFiles, "env-file", nil, "Specify an alternate environment file")
	pf.StringVar(&f.progress, "progress", "", "Set type of progress output (auto, tty, plain, json, quiet)")
	pf.StringVar(&f.ansi, "ansi", "auto", `Control when to print ANSI control characters ("never"|"always"|"auto")`)
	pf.Bool("compatibility", false, "Run compose in backward compatibility mode")
	pf.Int("parallel", -1, "Control max parallelism, -1 for unlimited")
	pf.Bool("all-resources", false, "Include all resources, even those not used by services")
	// berth's own --root comes here too: with its flags not parsed by cobra, compose sees all
	// of the command line's flags.
	pf.StringVar(&g.Root, "root", g.Root, "Root directory of berth's state (env BERTH_ROOT)")
	pf.MarkHidden("root")
	for _, mk := range []func(*Globals, *composeFlags) *cobra.Command{
		composeUp, composeDown, composePs, composeLogs, composeConfig, composeExec, composeRun,
		composeBuild, composePull, composePush, composeStart, composeStop, composeRestart, composeKill,
		composeRm, composePause, composeUnpause, composeTop, composePort, composeImages, composeLs,
		composeCp, composeCreate, composeEvents, composeVersion,
	} {
		sub.AddCommand(mk(g, f))
	}
	return &cobra.Command{
		Use:                "compose [OPTIONS] COMMAND",
		Short:              sub.Short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			pf.SetInterspersed(false)
			if err := pf.Parse(args); err != nil {
				if errors.Is(err, pflag.ErrHelp) {
					return sub.Help()
				}
				return &StatusError{Code: 125, Usage: true, Err: fmt.Errorf("%s\nSee 'berth compose --help'.", err)}
			}
			if len(pf.Args()) == 0 {
				return sub.Help()
			}
			sub.SetArgs(pf.Args())
			sub.SetContext(cmd.Context())
			return sub.Execute()
		},
	}
}

// ---- up / create ----

type upFlags struct {
	detach, build, noBuild, forceRecreate, noRecreate, removeOrphans, wait, noStart, noDeps bool
	abortOnExit, noColor, noLogPrefix                                                       bool
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
				since := time.Now()
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
		done <- s.engine.Logs(cs, o, s.g.Stdout)
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

// ---- ps ----

var composePsHeader = format.Header{
	"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
	"Service": "SERVICE", "RunningFor": "CREATED", "CreatedAt": format.CreatedAtHeader, "Status": "STATUS",
	"Ports": "PORTS", "State": "STATE", "Project": "PROJECT", "Health": "HEALTH", "ExitCode": "EXIT CODE",
	"Labels": "LABELS", "Networks": "NETWORKS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE",
}

const composePsTable = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"

// composePsRow is `compose ps`'s row: Docker's container context plus Compose's fields.
type composePsRow struct {
	*psRow
	c compose.Container
}

func (r *composePsRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *composePsRow) Name() string                 { return r.c.Name }
func (r *composePsRow) Service() string              { return r.c.Service }
func (r *composePsRow) Project() string              { return r.c.Project }
func (r *composePsRow) ExitCode() int                { return r.c.State.ExitCode }
func (r *composePsRow) Health() string {
	if r.c.State.Health != nil {
		return r.c.State.Health.Status
	}
	return ""
}

func composePs(g *Globals, f *composeFlags) *cobra.Command {
	var all, quiet, services bool
	var fmtStr string
	var status []string
	c := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				cs, err := s.engine.ProjectContainers(name, true)
				if err != nil {
					return err
				}
				if cs, err = compose.Select(cs, pl, args); err != nil {
					return err
				}
				if services {
					seen := map[string]bool{}
					for _, c := range cs {
						if !seen[c.Service] && (all || c.State.Running()) {
							seen[c.Service] = true
							fmt.Fprintln(g.Stdout, c.Service)
						}
					}
					return nil
				}
				now := time.Now()
				m := s.engine.Containers
				var rows []*composePsRow
				for _, c := range cs {
					if !all && len(status) == 0 && !c.State.Running() {
						continue
					}
					if len(status) > 0 && !anyEqual(status, c.State.Status) {
						continue
					}
					r := &psRow{trunc: true, now: now, s: c.Summary, image: c.Image,
						ports: m.PortsString(c.ID, c.Config.ExposedPorts, c.State.Running())}
					rows = append(rows, &composePsRow{psRow: r, c: c})
				}
				out := fmtStr
				if quiet {
					out = format.DefaultQuietFormat
				}
				return format.Write(g.Stdout, out, composePsTable, composePsHeader, rows)
			})
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Show all stopped containers (including those created by the run command)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	fl.BoolVar(&services, "services", false, "Display services")
	fl.StringVar(&fmtStr, "format", "table", "Format output using a custom template")
	fl.StringArrayVar(&status, "status", nil, "Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]")
	fl.Bool("no-trunc", false, "Don't truncate output")
	return c
}

// ---- logs ----

func composeLogs(g *Globals, f *composeFlags) *cobra.Command {
	var o compose.LogsOptions
	var tail, since, until string
	var noColor bool
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
				return s.engine.Logs(cs, o, g.Stdout)
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

// ---- config ----

func composeConfig(g *Globals, f *composeFlags) *cobra.Command {
	var services, volumes, networks, images, profiles, quiet bool
	var fmtStr, output string
	c := &cobra.Command{
		Use:   "config [OPTIONS] [SERVICE...]",
		Short: "Parse, resolve and render compose file in canonical format",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				p, err := compose.Load(ctx, f.loadOptions(args, len(args) == 0))
				if err != nil {
					return err
				}
				if _, err := compose.NewPlan(p, compose.PlanOptions{}); err != nil {
					return err
				}
				var lines []string
				switch {
				case quiet:
					return nil
				case services:
					lines = p.ServiceNames()
				case volumes:
					lines = composeKeys(p.Volumes)
				case networks:
					lines = composeKeys(p.Networks)
				case profiles:
					lines = p.AllServices().GetProfiles()
					sort.Strings(lines)
				case images:
					for _, name := range p.ServiceNames() {
						svc := p.Services[name]
						img := svc.Image
						if img == "" {
							img = compose.DefaultImage(p.Name, name)
						}
						lines = append(lines, img)
					}
				}
				if lines != nil {
					for _, l := range lines {
						fmt.Fprintln(g.Stdout, l)
					}
					return nil
				}
				var b []byte
				switch fmtStr {
				case "", "yaml":
					b, err = p.MarshalYAML()
				case "json":
					b, err = p.MarshalJSON()
				default:
					return fmt.Errorf("unsupported format %q", fmtStr)
				}
				if err != nil {
					return err
				}
				if output != "" {
					return os.WriteFile(output, b, 0o644)
				}
				_, err = g.Stdout.Write(b)
				return err
			})
		},
	}
	fl := c.Flags()
	fl.BoolVar(&services, "services", false, "Print the service names, one per line.")
	fl.BoolVar(&volumes, "volumes", false, "Print the volume names, one per line.")
	fl.BoolVar(&networks, "networks", false, "Print the network names, one per line.")
	fl.BoolVar(&images, "images", false, "Print the image names, one per line.")
	fl.BoolVar(&profiles, "profiles", false, "Print the profile names, one per line.")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Only validate the configuration, don't print anything")
	fl.StringVar(&fmtStr, "format", "", "Format the output. Values: [yaml | json]")
	fl.StringVarP(&output, "output", "o", "", "Save to file (default to stdout)")
	return c
}

func composeKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- exec / run ----

func composeExec(g *Globals, f *composeFlags) *cobra.Command {
	var o container.ExecOptions
	var noTTY, detach, interactive, privileged bool
	var env []string
	var index int
	c := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Execute a command in a running container",
		Args:  minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				if pl != nil {
					if _, ok := pl.Service(args[0]); !ok {
						return fmt.Errorf("service %q is not running", args[0])
					}
				}
				cs, err := s.engine.ProjectContainers(name, false)
				if err != nil {
					return err
				}
				ctr, err := compose.ServiceContainer(cs, args[0], index)
				if err != nil {
					return err
				}
				for _, e := range env {
					v, err := envVar(e)
					if err != nil {
						return err
					}
					o.Env = append(o.Env, v)
				}
				o.Tty = !noTTY && isTerminal(g.Stdin) && isTerminal(g.Stdout)
				o.Cmd, o.Detach, o.Stdout, o.Stderr = args[1:], detach, g.Stdout, g.Stderr
				if interactive && !detach {
					o.Stdin = g.Stdin
				}
				code, err := s.engine.Containers.Exec(ctr.ID, o)
				if err != nil {
					var se *container.StartError
					if errors.As(err, &se) {
						return &StatusError{Code: se.Code, Err: err}
					}
					return err
				}
				if code != 0 {
					return &StatusError{Code: code, Err: errors.New("")}
				}
				return nil
			})
		},
	}
	c.Flags().SetInterspersed(false)
	fl := c.Flags()
	fl.BoolVarP(&noTTY, "no-TTY", "T", false, "Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.")
	fl.BoolVarP(&detach, "detach", "d", false, "Detached mode: Run command in the background")
	fl.BoolVarP(&interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	fl.BoolVar(&privileged, "privileged", false, "Give extended privileges to the process")
	fl.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	fl.StringVarP(&o.User, "user", "u", "", "Run the command as this user")
	fl.StringVarP(&o.WorkingDir, "workdir", "w", "", "Path to workdir directory for this command")
	fl.IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	return c
}

func composeRun(g *Globals, f *composeFlags) *cobra.Command {
	var rm, noDeps, detach, noTTY, servicePorts, build bool
	var env, labels, volumes []string
	var entrypoint, name, user, workdir string
	c := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				svc := args[0]
				_, pl, err := s.load(ctx, []string{svc}, false, compose.PlanOptions{})
				if err != nil {
					return err
				}
				sp, ok := pl.Service(svc)
				if !ok {
					return fmt.Errorf("no such service: %s", svc)
				}
				// The dependencies are brought up as `up` would, the service itself is not.
				deps := *pl
				deps.Services = nil
				for _, x := range pl.Services {
					if x.Name != svc && !noDeps {
						deps.Services = append(deps.Services, x)
					}
				}
				uo := compose.UpOptions{}
				if build {
					uo.Build = "always"
				}
				if err := s.engine.Up(ctx, &deps, uo); err != nil {
					return err
				}
				if !noDeps {
					if err := s.engine.WaitDependencies(ctx, pl, sp); err != nil {
						return err
					}
				}
				one := &compose.Plan{Project: pl.Project, Services: []compose.ServicePlan{*sp}}
				if err := s.engine.EnsureImages(ctx, one, uo.Build); err != nil {
					return err
				}
				sp, _ = one.Service(svc)
				cp := sp.OneOff(randomSlug())
				o := &cp.Create
				if name != "" {
					cp.Name, o.Name = name, name
				}
				if len(args) > 1 {
					o.Cmd = args[1:]
				}
				if cmd.Flags().Changed("entrypoint") {
					o.EntrypointArgs = strings.Fields(entrypoint)
					if len(args) == 1 {
						o.Cmd = []string{}
					}
				}
				for _, e := range env {
					v, err := envVar(e)
					if err != nil {
						return err
					}
					o.Env = append(o.Env, v)
				}
				for _, l := range labels {
					k, v, _ := strings.Cut(l, "=")
					o.Labels[k] = v
				}
				for _, v := range volumes {
					mt, err := container.ParseVolume(v)
					if err != nil {
						return err
					}
					o.Host.Mounts = append(o.Host.Mounts, mt)
				}
				if user != "" {
					o.User = user
				}
				if workdir != "" {
					o.WorkingDir = workdir
				}
				if servicePorts {
					full := sp.ContainerFor(1)
					o.Host.PortBindings, o.Expose = full.Create.Host.PortBindings, full.Create.Expose
				}
				o.Host.AutoRemove = rm && !detach
				o.Tty = !noTTY && isTerminal(g.Stdin) && isTerminal(g.Stdout)
				o.OpenStdin = o.Tty
				o.Detach = detach
				id, err := s.engine.CreateContainer(cp)
				if err != nil {
					return err
				}
				m := s.engine.Containers
				if detach {
					if err := m.StartDetached(id); err != nil {
						return runError(err)
					}
					fmt.Fprintln(g.Stdout, cp.Name)
					return nil
				}
				at := &container.Attach{Stdout: g.Stdout, Stderr: g.Stderr, ForwardSignals: true}
				if o.OpenStdin {
					at.Stdin = g.Stdin
				}
				code, err := m.Run(id, at)
				if rm {
					m.Remove(id, container.RemoveOptions{Force: true, Volumes: true})
				}
				if err != nil {
					return runError(err)
				}
				if code != 0 {
					return &StatusError{Code: code, Err: errors.New("")}
				}
				return nil
			})
		},
	}
	c.Flags().SetInterspersed(false)
	fl := c.Flags()
	fl.BoolVar(&rm, "rm", false, "Automatically remove the container when it exits")
	fl.BoolVar(&noDeps, "no-deps", false, "Don't start linked services")
	fl.BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	fl.BoolVarP(&noTTY, "no-TTY", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	fl.BoolVarP(new(bool), "interactive", "i", true, "Keep STDIN open even if not attached")
	fl.BoolVarP(&servicePorts, "service-ports", "P", false, "Run command with all service's ports enabled and mapped to the host")
	fl.BoolVar(&build, "build", false, "Build image before starting container")
	fl.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	fl.StringArrayVarP(&labels, "label", "l", nil, "Add or override a label")
	fl.StringArrayVarP(&volumes, "volume", "v", nil, "Bind mount a volume")
	fl.StringVar(&entrypoint, "entrypoint", "", "Override the entrypoint of the image")
	fl.StringVar(&name, "name", "", "Assign a name to the container")
	fl.StringVarP(&user, "user", "u", "", "Run as specified username or uid")
	fl.StringVarP(&workdir, "workdir", "w", "", "Working directory inside the container")
	return c
}

// randomSlug is a one-off container's identity (com.docker.compose.slug), 64 hex digits.
func randomSlug() string {
	b := make([]byte, 32)
	f, err := os.Open("/dev/urandom")
	if err == nil {
		io.ReadFull(f, b)
		f.Close()
	}
	return fmt.Sprintf("%x", b)
}

// ---- build / pull / push ----

func composeBuild(g *Globals, f *composeFlags) *cobra.Command {
	var noCache, pull, quiet bool
	var args []string
	c := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		RunE: func(cmd *cobra.Command, services []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, services, false, compose.PlanOptions{})
				if err != nil {
					return err
				}
				if quiet {
					s.engine.BuildProgress = nil
				}
				for i := range pl.Services {
					sp := &pl.Services[i]
					if sp.Build == nil || len(services) > 0 && !anyEqual(services, sp.Name) {
						continue
					}
					err := s.engine.BuildService(ctx, pl, sp, func(o *build.Options) {
						o.NoCache = o.NoCache || noCache
						o.AlwaysPull = o.AlwaysPull || pull
						for _, a := range args {
							k, v, ok := strings.Cut(a, "=")
							if !ok {
								v = os.Getenv(k)
							}
							if o.BuildArgs == nil {
								o.BuildArgs = map[string]string{}
							}
							o.BuildArgs[k] = v
						}
					})
					if err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	fl := c.Flags()
	fl.BoolVar(&noCache, "no-cache", false, "Do not use cache when building the image")
	fl.BoolVar(&pull, "pull", false, "Always attempt to pull a newer version of the image")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Don't print anything to STDOUT")
	fl.StringArrayVar(&args, "build-arg", nil, "Set build-time variables for services")
	return c
}

func composePull(g *Globals, f *composeFlags) *cobra.Command {
	var ignoreFailures, quiet bool
	c := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, args, false, compose.PlanOptions{})
				if err != nil {
					return err
				}
				for _, sp := range pl.Services {
					if sp.Build != nil && sp.Image == compose.DefaultImage(pl.Project, sp.Name) {
						continue // only built, never pulled
					}
					s.engine.Events(compose.Event{Name: sp.Name, Status: "Pulling", Text: true})
					ro, err := registryOptions(true)
					if err != nil {
						return err
					}
					if !quiet {
						pr := newProgressPrinter(g.Stderr, g.Stderr)
						ro.Progress = pr.event
					}
					if _, err := distribution.Pull(ctx, s.store, sp.Image, distribution.PullOptions{Options: ro}); err != nil {
						s.engine.Events(compose.Event{Name: sp.Name, Status: "Error", Err: true, Text: true})
						if ignoreFailures {
							continue
						}
						return err
					}
					s.engine.Events(compose.Event{Name: sp.Name, Status: "Pulled", Text: true})
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&ignoreFailures, "ignore-pull-failures", false, "Pull what it can and ignores images with pull failures")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Pull without printing progress information")
	return c
}

func composePush(g *Globals, f *composeFlags) *cobra.Command {
	var ignoreFailures, quiet bool
	c := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, args, false, compose.PlanOptions{})
				if err != nil {
					return err
				}
				for _, sp := range pl.Services {
					if sp.Build == nil && len(args) == 0 {
						continue // Compose pushes the images it builds
					}
					s.engine.Events(compose.Event{Kind: "Image", Name: sp.Image, Status: "Pushing"})
					ro, err := registryOptions(true)
					if err != nil {
						return err
					}
					if !quiet {
						pr := newProgressPrinter(g.Stderr, g.Stderr)
						ro.Progress = pr.event
					}
					if _, err := distribution.Push(ctx, s.store, sp.Image, distribution.PushOptions{Options: ro}); err != nil {
						s.engine.Events(compose.Event{Kind: "Image", Name: sp.Image, Status: "Error", Err: true})
						if ignoreFailures {
							continue
						}
						return err
					}
					s.engine.Events(compose.Event{Kind: "Image", Name: sp.Image, Status: "Pushed"})
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&ignoreFailures, "ignore-push-failures", false, "Push what it can and ignores images with push failures")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Push without printing progress information")
	return c
}

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
	c.Flags().IntVarP(&t, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	return c
}

func composeRestart(g *Globals, f *composeFlags) *cobra.Command {
	var t int
	var c *cobra.Command
	c = onContainers(g, f, "restart [OPTIONS] [SERVICE...]", "Restart service containers", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		to := stopTimeout(c, t)
		return s.engine.Each(cs, "Restarting", "Restarted", func(x compose.Container) error { return s.engine.Containers.Restart(x.ID, to) })
	})
	c.Flags().IntVarP(&t, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
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
			if _, st, err := s.engine.Containers.Get(x.ID); err == nil && !st.Running() {
				stopped = append(stopped, x)
				names = append(names, x.Name)
			}
		}
		if len(stopped) == 0 {
			fmt.Fprintln(g.Stderr, "No stopped containers")
			return nil
		}
		if !force {
			fmt.Fprintf(g.Stderr, "Going to remove %s\nAre you sure? [yN] ", strings.Join(names, ", "))
			var answer string
			fmt.Fscanln(g.Stdin, &answer)
			if !strings.EqualFold(answer, "y") {
				return nil
			}
		} else {
			fmt.Fprintf(g.Stderr, "Going to remove %s\n", strings.Join(names, ", "))
		}
		return s.engine.Each(stopped, "Removing", "Removed", func(x compose.Container) error {
			return s.engine.Containers.Remove(x.ID, container.RemoveOptions{Volumes: volumes})
		})
	})
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

// ---- top / port / images / ls / cp / events / version ----

func composeTop(g *Globals, f *composeFlags) *cobra.Command {
	return onContainers(g, f, "top [SERVICES...]", "Display the running processes", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		for _, c := range cs {
			if !c.State.Running() {
				continue
			}
			titles, rows, err := s.engine.Containers.Top(c.ID, nil)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, c.Name)
			tw := tabwriter.NewWriter(g.Stdout, 4, 8, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(titles, "\t"))
			for _, r := range rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			tw.Flush()
			fmt.Fprintln(g.Stdout)
		}
		return nil
	})
}

func composePort(g *Globals, f *composeFlags) *cobra.Command {
	var proto string
	var index int
	c := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the public port for a port binding",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, _, err := s.target(ctx)
				if err != nil {
					return err
				}
				cs, err := s.engine.ProjectContainers(name, false)
				if err != nil {
					return err
				}
				ctr, err := compose.ServiceContainer(cs, args[0], index)
				if err != nil {
					return err
				}
				bs, err := s.engine.Containers.Port(ctr.ID, args[1]+"/"+proto)
				if err != nil {
					return err
				}
				if len(bs) == 0 {
					return fmt.Errorf("no port %s/%s for container %s", args[1], proto, ctr.Name)
				}
				fmt.Fprintf(g.Stdout, "%s:%s\n", bs[0].HostIP, bs[0].HostPort)
				return nil
			})
		},
	}
	c.Flags().StringVar(&proto, "protocol", "tcp", "tcp or udp")
	c.Flags().IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	return c
}

func composeImages(g *Globals, f *composeFlags) *cobra.Command {
	var quiet bool
	c := onContainers(g, f, "images [OPTIONS] [SERVICE...]", "List images used by the created containers", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		if quiet {
			seen := map[string]bool{}
			for _, c := range cs {
				if !seen[c.ImageID] {
					seen[c.ImageID] = true
					fmt.Fprintln(g.Stdout, strings.TrimPrefix(c.ImageID, "sha256:"))
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(g.Stdout, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tPLATFORM\tIMAGE ID\tSIZE\tCREATED")
		now := time.Now()
		for _, c := range cs {
			repo, tag := c.Image, "latest"
			if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
				repo, tag = repo[:i], repo[i+1:]
			}
			platform, created := "", ""
			if img, err := s.store.Get(c.ImageID); err == nil && img.Config != nil {
				platform = img.Config.OS + "/" + img.Config.Architecture
				if img.Config.Created != nil {
					created = format.CreatedSince(*img.Config.Created, now)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, repo, tag, platform, format.TruncateID(c.ImageID),
				format.HumanSize(s.engine.Containers.ImageSize(c.ImageID)), created)
		}
		return tw.Flush()
	})
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	c.Flags().String("format", "table", "Format the output. Values: [table | json]")
	return c
}

func composeLs(g *Globals, f *composeFlags) *cobra.Command {
	var all, quiet bool
	var fmtStr string
	c := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				projects, err := s.engine.Projects()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.Stdout, 20, 1, 3, ' ', 0)
				if !quiet && fmtStr != "json" {
					fmt.Fprintln(tw, "NAME\tSTATUS\tCONFIG FILES")
				}
				var jsonRows []string
				for _, name := range composeKeys(projects) {
					cs := projects[name]
					counts := map[string]int{}
					files := ""
					for _, c := range cs {
						// Compose counts only running containers unless -a.
						if all || c.State.Status == "running" {
							counts[c.State.Status]++
						}
						if files == "" {
							files = c.Config.Labels[compose.ConfigFilesLabel]
						}
					}
					if !all && counts["running"] == 0 {
						continue
					}
					var parts []string
					for _, st := range composeKeys(counts) {
						parts = append(parts, fmt.Sprintf("%s(%d)", st, counts[st]))
					}
					status := strings.Join(parts, ", ")
					switch {
					case quiet:
						fmt.Fprintln(tw, name)
					case fmtStr == "json":
						jsonRows = append(jsonRows, fmt.Sprintf(`{"Name":%q,"Status":%q,"ConfigFiles":%q}`, name, status, files))
					default:
						fmt.Fprintf(tw, "%s\t%s\t%s\n", name, status, files)
					}
				}
				if fmtStr == "json" {
					fmt.Fprintln(g.Stdout, "["+strings.Join(jsonRows, ",")+"]")
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped Compose projects")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display project names")
	c.Flags().StringVar(&fmtStr, "format", "table", "Format the output. Values: [table | json]")
	return c
}

func composeCp(g *Globals, f *composeFlags) *cobra.Command {
	var index int
	var o container.CopyOptions
	c := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tdocker compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Short: "Copy files/folders between a service container and the local filesystem",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, _, err := s.target(ctx)
				if err != nil {
					return err
				}
				cs, err := s.engine.ProjectContainers(name, false)
				if err != nil {
					return err
				}
				src, dst := args[0], args[1]
				svcSrc, pathSrc, fromCtr := strings.Cut(src, ":")
				svcDst, pathDst, toCtr := strings.Cut(dst, ":")
				if fromCtr == toCtr {
					return errors.New("copying between services is not supported")
				}
				svc := svcSrc
				if toCtr {
					svc = svcDst
				}
				ctr, err := compose.ServiceContainer(cs, svc, index)
				if err != nil {
					return err
				}
				m := s.engine.Containers
				if fromCtr {
					return m.CopyFrom(ctr.ID, pathSrc, dst, o, g.Stdout)
				}
				if src == "-" {
					return m.CopyTarTo(ctr.ID, g.Stdin, pathDst, o)
				}
				return m.CopyTo(ctr.ID, src, pathDst, o)
			})
		},
	}
	c.Flags().IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	c.Flags().BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	c.Flags().BoolVarP(&o.Archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	return c
}

// composeEvents follows the project's containers by polling their states (berth has no daemon
// to stream events from) and prints Compose's event lines.
func composeEvents(g *Globals, f *composeFlags) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Receive real time events from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				return s.engine.Watch(ctx, name, func(ev compose.ContainerEvent) {
					if len(args) > 0 && !anyEqual(args, ev.Service) {
						return
					}
					_ = pl
					if asJSON {
						fmt.Fprintf(g.Stdout, `{"action":%q,"attributes":{"image":%q,"name":%q},"id":%q,"service":%q,"time":%q,"type":"container"}`+"\n",
							ev.Action, ev.Image, ev.Name, ev.ID, ev.Service, ev.Time.Format(time.RFC3339Nano))
						return
					}
					fmt.Fprintf(g.Stdout, "%s container %s %s (image=%s, name=%s)\n", ev.Time.Format("2006-01-02 15:04:05.000000"), ev.Action, ev.ID, ev.Image, ev.Name)
				})
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "Output events as a stream of json objects")
	return c
}

func composeVersion(g *Globals, f *composeFlags) *cobra.Command {
	var short bool
	var fmtStr string
	c := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the Docker Compose version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case short:
				fmt.Fprintln(g.Stdout, compose.Version)
			case fmtStr == "json":
				fmt.Fprintf(g.Stdout, "{\"version\":\"v%s\"}\n", compose.Version)
			default:
				fmt.Fprintf(g.Stdout, "Docker Compose version v%s (berth %s)\n", compose.Version, Version)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&short, "short", false, "Shows only Compose's version number")
	c.Flags().StringVarP(&fmtStr, "format", "f", "", "Format the output. Values: [pretty | json]")
	return c
}
