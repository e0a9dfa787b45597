package cli

import (
	"context"
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
					if sp.Build == nil || len(services) > 0 && !slices.Contains(services, sp.Name) {
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
				reg, err := registryOptions(true)
				if err != nil {
					return err
				}
				for _, sp := range pl.Services {
					if sp.Build != nil && sp.Image == compose.DefaultImage(pl.Project, sp.Name) {
						continue // only built, never pulled
					}
					s.engine.Events(compose.Event{Name: sp.Name, Status: "Pulling", Text: true})
					ro := reg
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
				reg, err := registryOptions(true)
				if err != nil {
					return err
				}
				for _, sp := range pl.Services {
					if sp.Build == nil && len(args) == 0 {
						continue // Compose pushes the images it builds
					}
					s.engine.Events(compose.Event{Kind: "Image", Name: sp.Image, Status: "Pushing"})
					ro := reg
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
