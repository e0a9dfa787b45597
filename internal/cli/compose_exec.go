package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

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
				ctr, err := s.engine.ProjectServiceContainer(name, args[0], index)
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
				o.Cmd, o.Detach, o.Stdout, o.Stderr, o.Privileged = args[1:], detach, g.Stdout, g.Stderr, privileged
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
	// --no-TTY is run's spelling; Compose's exec takes it too.
	fl.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "no-TTY" {
			name = "no-tty"
		}
		return pflag.NormalizedName(name)
	})
	// Compose's -T defaults to true when stdout is no terminal, and shows it.
	fl.BoolVarP(&noTTY, "no-tty", "T", !isTerminal(g.Stdout), "Disable pseudo-TTY allocation. By default 'berth compose exec' allocates a TTY.")
	fl.BoolVarP(&detach, "detach", "d", false, "Detached mode: Run command in the background")
	fl.BoolVarP(&interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	fl.MarkHidden("interactive") // as Compose's
	fl.BoolVar(&privileged, "privileged", false, "Give extended privileges to the process")
	fl.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	fl.StringVarP(&o.User, "user", "u", "", "Run the command as this user")
	fl.StringVarP(&o.WorkingDir, "workdir", "w", "", "Path to workdir directory for this command")
	fl.IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	return c
}

func composeRun(g *Globals, f *composeFlags) *cobra.Command {
	var rm, noDeps, detach, noTTY, servicePorts, build, quiet, quietBuild, quietPull, removeOrphans, useAliases bool
	var env, labels, volumes, capAdd, capDrop, envFiles, publish []string
	var entrypoint, name, user, workdir, pull string
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
				for _, w := range pl.Warnings {
					logrus.Warn(w)
				}
				sp, ok := pl.Service(svc)
				if !ok {
					return fmt.Errorf("no such service: %s", svc)
				}
				// -q silences the progress (and pulls and builds), as Compose's.
				if quiet {
					s.engine.Events, s.engine.Tail = func(compose.Event) {}, nil
				}
				if quiet || quietPull {
					s.engine.Pull = func(ctx context.Context, ref string) error { return s.pullImage(ctx, ref, true) }
				}
				if quiet || quietBuild || quietPull {
					s.engine.BuildProgress = io.Discard
				}
				// The dependencies are brought up as `up` would, the service itself is not.
				deps := *pl
				deps.Services = nil
				for _, x := range pl.Services {
					if x.Name != svc && !noDeps {
						deps.Services = append(deps.Services, x)
					}
				}
				uo := compose.UpOptions{RemoveOrphans: removeOrphans}
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
				if cmd.Flags().Changed("pull") {
					if err := one.SetPullPolicy(pull); err != nil {
						return err
					}
				}
				if err := s.engine.EnsureImages(ctx, one, uo.Build); err != nil {
					return err
				}
				sp, _ = one.Service(svc)
				cp := sp.OneOff(randomSlug())
				if useAliases {
					compose.UseAliases(&cp, sp)
				}
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
				if len(envFiles) > 0 {
					vars, err := dotenv.Read(envFiles...)
					if err != nil {
						return err
					}
					for _, k := range slices.Sorted(maps.Keys(vars)) {
						o.Env = append(o.Env, k+"="+vars[k])
					}
				}
				for _, e := range env {
					v, err := envVar(e)
					if err != nil {
						return err
					}
					o.Env = append(o.Env, v)
				}
				o.Host.CapAdd = append(o.Host.CapAdd, capAdd...)
				o.Host.CapDrop = append(o.Host.CapDrop, capDrop...)
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
				if len(publish) > 0 {
					pb, err := container.ParsePublish(publish)
					if err != nil {
						return err
					}
					if o.Host.PortBindings == nil {
						o.Host.PortBindings = pb
					} else {
						maps.Copy(o.Host.PortBindings, pb)
					}
					for p := range pb {
						if !slices.Contains(o.Expose, p) {
							o.Expose = append(o.Expose, p)
						}
					}
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
	fl.BoolVarP(&noTTY, "no-TTY", "T", !isTerminal(g.Stdout), "Disable pseudo-TTY allocation (default: auto-detected)")
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
	fl.Var(&composeList{vals: &capAdd}, "cap-add", "Add Linux capabilities")
	fl.Var(&composeList{vals: &capDrop}, "cap-drop", "Drop Linux capabilities")
	fl.StringArrayVar(&envFiles, "env-from-file", nil, "Set environment variables from file")
	fl.StringArrayVarP(&publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	fl.StringVar(&pull, "pull", "policy", `Pull image before running ("always"|"missing"|"never")`)
	fl.BoolVarP(&quiet, "quiet", "q", false, "Don't print anything to STDOUT")
	fl.BoolVar(&quietBuild, "quiet-build", false, "Suppress progress output from the build process")
	fl.BoolVar(&quietPull, "quiet-pull", false, "Pull without printing progress information")
	fl.BoolVar(&removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	fl.BoolVar(&useAliases, "use-aliases", false, "Use the service's network useAliases in the network(s) the container connects to")
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
