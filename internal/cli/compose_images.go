package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/distribution"
	"github.com/spf13/cobra"
)

// ---- build / pull / push ----

func composeBuild(g *Globals, f *composeFlags) *cobra.Command {
	var noCache, pull, quiet, push, withDeps, check bool
	var args []string
	var builder, memory, provenance, sbom, ssh string
	var print bool
	c := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		RunE: func(cmd *cobra.Command, services []string) error {
			// What berth's builder cannot do is refused, not ignored.
			for _, x := range []struct {
				set  bool
				flag string
			}{{builder != "" && builder != "default", "--builder (berth has one builder, default)"}, {memory != "", "--memory"},
				{print, "--print"}, {provenance != "", "--provenance"}, {sbom != "", "--sbom"}} {
				if x.set {
					return composeError(fmt.Errorf("berth compose build does not support %s", x.flag))
				}
			}
			var sshMounts map[string][]string
			if ssh != "" {
				var err error
				if sshMounts, err = build.ParseSSH([]string{ssh}); err != nil {
					return composeError(err)
				}
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				_, pl, err := s.load(ctx, services, false, compose.PlanOptions{})
				if err != nil {
					return err
				}
				if quiet {
					s.engine.BuildProgress = nil
				}
				extra := func(o *build.Options) {
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
					if len(sshMounts) > 0 {
						o.SSH = sshMounts
					}
				}
				var built []compose.ServicePlan
				for i := range pl.Services {
					sp := &pl.Services[i]
					if sp.Build == nil || len(services) > 0 && !withDeps && !slices.Contains(services, sp.Name) {
						continue
					}
					if check {
						if err := runCheck(g, s.store, s.engine.BuildOptions(sp, extra), "text"); err != nil {
							return err
						}
						continue
					}
					if err := s.engine.BuildService(ctx, pl, sp, extra); err != nil {
						return err
					}
					built = append(built, *sp)
				}
				if push && len(built) > 0 {
					reg, err := registryOptions(true)
					if err != nil {
						return err
					}
					one := *pl
					one.Services = built
					return s.engine.PushImages(ctx, &one, composePushFunc(s, reg, quiet), false)
				}
				return nil
			})
		},
	}
	fl := c.Flags()
	fl.BoolVar(&noCache, "no-cache", false, "Do not use cache when building the image")
	fl.BoolVar(&pull, "pull", false, "Always attempt to pull a newer version of the image")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Suppress the build output")
	fl.StringArrayVar(&args, "build-arg", nil, "Set build-time variables for services")
	fl.BoolVar(&push, "push", false, "Push service images")
	fl.BoolVar(&withDeps, "with-dependencies", false, "Also build dependencies (transitively)")
	fl.StringVar(&ssh, "ssh", "", "Set SSH authentications used when building service images. (use 'default' for using your default SSH Agent)")
	fl.BoolVar(&check, "check", false, "Check build configuration")
	fl.StringVar(&builder, "builder", "", "Set builder to use")
	fl.VarP(&typedString{v: &memory, typ: "bytes"}, "memory", "m", "Set memory limit for the build container. Not supported by BuildKit.")
	fl.BoolVar(&print, "print", false, "Print equivalent bake file")
	fl.StringVar(&provenance, "provenance", "", "Add a provenance attestation")
	fl.StringVar(&sbom, "sbom", "", "Add a SBOM attestation")
	return c
}

func composePull(g *Globals, f *composeFlags) *cobra.Command {
	var po compose.PullOptions
	var includeDeps, quiet bool
	c := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			if po.Policy != "" && po.Policy != "missing" && po.Policy != "always" {
				return composeError(fmt.Errorf("invalid pull policy %q", po.Policy))
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				o := s.f.loadOptions(args, false)
				o.IgnoreDependencies = !includeDeps
				_, pl, err := s.loadWith(ctx, o, compose.PlanOptions{})
				if err != nil {
					return err
				}
				reg, err := registryOptions(true)
				if err != nil {
					return err
				}
				if !quiet {
					reg.Progress = composeLayerLines(s.engine.Events, "")
				}
				po.Pull = func(ctx context.Context, ref string) error {
					_, err := distribution.Pull(ctx, s.store, ref, distribution.PullOptions{Options: reg})
					return err
				}
				return s.engine.PullImages(ctx, pl, po)
			})
		},
	}
	c.Flags().BoolVar(&po.IgnoreBuildable, "ignore-buildable", false, "Ignore images that can be built")
	c.Flags().BoolVar(&po.IgnoreFailures, "ignore-pull-failures", false, "Pull what it can and ignores images with pull failures")
	c.Flags().BoolVar(&includeDeps, "include-deps", false, "Also pull services declared as dependencies")
	c.Flags().StringVar(&po.Policy, "policy", "", `Apply pull policy ("missing"|"always")`)
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Pull without printing progress information")
	return c
}

func composePush(g *Globals, f *composeFlags) *cobra.Command {
	var ignoreFailures, includeDeps, quiet bool
	c := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				o := s.f.loadOptions(args, false)
				o.IgnoreDependencies = !includeDeps
				_, pl, err := s.loadWith(ctx, o, compose.PlanOptions{})
				if err != nil {
					return err
				}
				reg, err := registryOptions(true)
				if err != nil {
					return err
				}
				if quiet {
					s.engine.Events, s.engine.Tail = nil, nil // Docker Compose's push -q prints nothing
				}
				return s.engine.PushImages(ctx, pl, composePushFunc(s, reg, quiet), ignoreFailures)
			})
		},
	}
	c.Flags().BoolVar(&ignoreFailures, "ignore-push-failures", false, "Push what it can and ignores images with push failures")
	c.Flags().BoolVar(&includeDeps, "include-deps", false, "Also push images of services declared as dependencies")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Push without printing progress information")
	return c
}

// composePushFunc pushes one image with Compose's layer lines (none when quiet).
func composePushFunc(s *composeSession, reg distribution.Options, quiet bool) func(ctx context.Context, ref string) error {
	return func(ctx context.Context, ref string) error {
		ro := reg
		if !quiet {
			ro.Progress = composeLayerLines(s.engine.Events, "Pushing "+ref+": ")
		}
		_, err := distribution.Push(ctx, s.store, ref, distribution.PushOptions{Options: ro})
		return err
	}
}

// composeLayerLines turns a pull's or push's progress into Docker Compose's lines, one per layer
// event (" 2628b7d4a227 Downloading [==>]  1.2MB/2MB"; a push's IDs carry prefix, "Pushing
// TAG: "). The lines about the whole image ("Digest: ...", "1: Pulling from ...") are left out,
// as Compose leaves out the messages without progress details.
func composeLayerLines(events func(compose.Event), prefix string) func(distribution.Event) {
	return func(e distribution.Event) {
		if events == nil || e.ID == "" || e.Result || strings.HasPrefix(e.Status, distribution.StatusPullingFrom) {
			return
		}
		detail := ""
		if e.IsProgress() {
			detail = e.Bar()
		}
		events(compose.Event{Name: prefix + e.ID, Status: e.Status + " " + detail, Raw: true})
	}
}

// typedString is a string flag that help shows with Compose's type name (-m's "bytes").
type typedString struct {
	v   *string
	typ string
}

func (t *typedString) String() string     { return *t.v }
func (t *typedString) Type() string       { return t.typ }
func (t *typedString) Set(v string) error { *t.v = v; return nil }
