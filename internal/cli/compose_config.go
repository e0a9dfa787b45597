package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/berth-engine/berth/compose"
	"github.com/spf13/cobra"
)

// ---- config ----

func composeConfig(g *Globals, f *composeFlags) *cobra.Command {
	var services, volumes, networks, images, profiles, quiet, environment, variables, models bool
	var noInterp, noNorm, noPaths, noConsistency, resolveDigests, lockDigests bool
	var fmtStr, output, hash string
	c := &cobra.Command{
		Use:   "config [OPTIONS] [SERVICE...]",
		Short: "Parse, resolve and render compose file in canonical format",
		RunE: func(cmd *cobra.Command, args []string) error {
			if resolveDigests || lockDigests {
				return composeError(errors.New("berth compose config does not support --resolve-image-digests or --lock-image-digests yet"))
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				lo := f.loadOptions(args, len(args) == 0)
				// --no-env-resolution: Compose v2.40.3's config still reads the env files into
				// environment and fails on a missing one (recorded), so berth does too.
				lo.NoInterpolate, lo.NoNormalize, lo.NoResolvePaths, lo.NoConsistency = noInterp, noNorm, noPaths, noConsistency
				// The raw model: the variables it uses, or the document without interpolation.
				if variables || noInterp && !quiet {
					lo.NoInterpolate = true
					model, err := compose.LoadModel(ctx, lo)
					if err != nil {
						return err
					}
					if variables {
						tw := tabwriter.NewWriter(g.Stdout, 20, 1, 3, ' ', 0)
						fmt.Fprintln(tw, "NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE")
						for _, v := range compose.Variables(model) {
							fmt.Fprintf(tw, "%s\t%t\t%s\t%s\n", v.Name, v.Required, v.DefaultValue, v.PresenceValue)
						}
						return tw.Flush()
					}
					b, err := compose.MarshalModel(model, fmtStr)
					if err != nil {
						return err
					}
					return writeConfig(g, output, b)
				}
				p, err := compose.Load(ctx, lo)
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
				case hash != "":
					if lines, err = compose.ServiceHashes(p, hash); err != nil {
						return err
					}
				case environment:
					lines = p.Environment.Values()
				case models:
					lines = composeKeys(p.Models)
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
				b, err := compose.MarshalConfig(p, fmtStr)
				if err != nil {
					return err
				}
				return writeConfig(g, output, b)
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
	fl.StringVar(&hash, "hash", "", "Print the service config hash, one per line.")
	fl.BoolVar(&environment, "environment", false, "Print environment used for interpolation.")
	fl.BoolVar(&variables, "variables", false, "Print model variables and default values.")
	fl.BoolVar(&models, "models", false, "Print the model names, one per line.")
	fl.BoolVar(&noInterp, "no-interpolate", false, "Don't interpolate environment variables")
	fl.BoolVar(&noNorm, "no-normalize", false, "Don't normalize compose model")
	fl.BoolVar(&noPaths, "no-path-resolution", false, "Don't resolve file paths")
	fl.Bool("no-env-resolution", false, "Don't resolve service env files")
	fl.BoolVar(&noConsistency, "no-consistency", false, "Don't check model consistency - warning: may produce invalid Compose output")
	fl.BoolVar(&resolveDigests, "resolve-image-digests", false, "Pin image tags to digests")
	fl.BoolVar(&lockDigests, "lock-image-digests", false, "Produces an override file with image digests")
	return c
}

// writeConfig writes config's document to -o's file, or stdout.
func writeConfig(g *Globals, output string, b []byte) error {
	if output != "" {
		return os.WriteFile(output, b, 0o644)
	}
	_, err := g.Stdout.Write(b)
	return err
}

func composeKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
