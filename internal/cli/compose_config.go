package cli

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/berth-engine/berth/compose"
	"github.com/spf13/cobra"
)

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
				b, err := compose.MarshalConfig(p, fmtStr)
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
