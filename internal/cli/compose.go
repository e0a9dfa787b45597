package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/distribution"
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
	dryRun     bool
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
	m.DefaultRuntime = conf.DefaultRuntime
	logrus.SetOutput(g.Stderr)
	s := &composeSession{g: g, f: f, store: st}
	events := func(e compose.Event) { fmt.Fprintln(g.Stderr, e.String()) }
	// A terminal gets Compose's live view, unless --progress or --ansi ask for plain lines;
	// a dry run gets Compose's plain "DRY-RUN MODE" lines.
	if f.dryRun {
		events = func(e compose.Event) { fmt.Fprintln(g.Stderr, " DRY-RUN MODE - "+e.String()) }
	} else if isTerminal(g.Stderr) && f.ansi != "never" && (f.progress == "" || f.progress == "auto" || f.progress == "tty") {
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
		Tail: func(msg string) { fmt.Fprintln(g.Stderr, msg) },
		// Pulls report their layers as Compose's up and run do (--quiet-pull: not at all).
		Pull:          func(ctx context.Context, ref string) error { return s.pullImage(ctx, ref, false) },
		BuildProgress: g.Stderr,
		DryRun:        f.dryRun,
	}
	return s, nil
}

// pullImage pulls ref into the store for up, create and run, with Compose's layer lines
// unless quiet.
func (s *composeSession) pullImage(ctx context.Context, ref string, quiet bool) error {
	ro, err := registryOptions(true)
	if err != nil {
		return err
	}
	if !quiet {
		ro.Progress = composeLayerLines(s.engine.Events, "")
	}
	_, err = distribution.Pull(ctx, s.store, ref, distribution.PullOptions{Options: ro})
	return err
}

// load reads the project and makes its plan.
func (s *composeSession) load(ctx context.Context, services []string, all bool, po compose.PlanOptions) (*types.Project, *compose.Plan, error) {
	return s.loadWith(ctx, s.f.loadOptions(services, all), po)
}

// loadWith reads the project with options of the command's own and makes its plan.
func (s *composeSession) loadWith(ctx context.Context, o compose.LoadOptions, po compose.PlanOptions) (*types.Project, *compose.Plan, error) {
	p, err := compose.Load(ctx, o)
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
		SilenceUsage:  true,
		SilenceErrors: true,
		// A word that names no command: Docker Compose prints its help, then the error (exit 1).
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			c.Help()
			return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("unknown berth command: %q", "compose "+strings.Join(args, " "))}
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// --dry-run, before or after the command's name.
	sub.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if f.dryRun && c != sub && !dryRunnable[c.Name()] {
			return composeError(fmt.Errorf("berth does not support --dry-run for 'compose %s' yet (only up, down, start, stop, restart, kill, rm, pause, unpause and commands that change nothing)", c.Name()))
		}
		return nil
	}
	sub.SetIn(g.Stdin)
	sub.SetOut(g.Stdout)
	sub.SetErr(g.Stderr)
	// Docker Compose's flag errors are the bare message, exit 1.
	sub.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &StatusError{Code: 1, Usage: true, Err: err}
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
	// --dry-run is Compose's one persistent flag: every subcommand takes it and lists it.
	sub.PersistentFlags().BoolVar(&f.dryRun, "dry-run", false, "Execute command in dry run mode")
	pf.AddFlag(sub.PersistentFlags().Lookup("dry-run"))
	// berth's own --root comes here too: with its flags not parsed by cobra, compose sees all
	// of the command line's flags.
	pf.StringVar(&g.Root, "root", g.Root, "Root directory of berth's state (env BERTH_ROOT)")
	pf.MarkHidden("root")
	for _, mk := range []func(*Globals, *composeFlags) *cobra.Command{
		composeUp, composeDown, composePs, composeLogs, composeConfig, composeExec, composeRun,
		composeBuild, composePull, composePush, composeStart, composeStop, composeRestart, composeKill,
		composeRm, composePause, composeUnpause, composeTop, composePort, composeImages, composeLs,
		composeCp, composeCreate, composeEvents, composeVersion, composeWait, composeScale,
		composeCommit, composeExport, composeAttach,
	} {
		sub.AddCommand(mk(g, f))
	}
	// Under a root named berth, so that help and errors name "berth compose up" as Docker's
	// name "docker compose up".
	top := &cobra.Command{Use: "berth", SilenceUsage: true, SilenceErrors: true}
	top.AddCommand(sub)
	installHelp(top)
	// Docker Compose's help has the docker CLI's layout, without its leading empty line.
	sub.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), usageText(c)) })
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
				return &StatusError{Code: 1, Usage: true, Err: err}
			}
			if len(pf.Args()) == 0 {
				return sub.Help()
			}
			top.SetArgs(append([]string{"compose"}, pf.Args()...))
			top.SetContext(cmd.Context())
			return top.Execute()
		},
	}
}

// dryRunnable are the compose commands --dry-run works with: up, down and the lifecycle
// commands report what they would do; the others change nothing anyway.
var dryRunnable = map[string]bool{"up": true, "down": true, "start": true, "stop": true, "restart": true,
	"kill": true, "rm": true, "pause": true, "unpause": true, "config": true, "ps": true, "ls": true, "version": true,
	"images": true, "logs": true, "top": true, "port": true, "events": true}
