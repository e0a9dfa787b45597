package cli

import (
	"fmt"
	"strings"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func init() {
	register("volume", func(g *Globals) *cobra.Command {
		c := &cobra.Command{Use: "volume", Short: "Manage volumes", Args: noArgs}
		c.AddCommand(newVolumeCreateCommand(g), newVolumeLsCommand(g), newVolumeRmCommand(g),
			newVolumeInspectCommand(g), newVolumePruneCommand(g))
		return c
	})
}

func newVolumeCreateCommand(g *Globals) *cobra.Command {
	var name, driver string
	var labels, opts []string
	c := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if name != "" && name != args[0] {
					return fmt.Errorf("conflicting options: either specify --name or provide positional arg, not both")
				}
				name = args[0]
			}
			var lm map[string]string
			for _, l := range labels {
				if lm == nil {
					lm = map[string]string{}
				}
				k, v, _ := strings.Cut(l, "=")
				lm[k] = v
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			var om map[string]string
			for _, o := range opts {
				if om == nil {
					om = map[string]string{}
				}
				k, v, _ := strings.Cut(o, "=")
				om[k] = v
			}
			v, err := m.CreateVolumeWith(container.VolumeOptions{Name: name, Driver: driver, DriverOpts: om, Labels: lm})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, v.Name)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "Specify volume name")
	c.Flags().MarkHidden("name") // Docker's too: the name is the argument
	c.Flags().StringArrayVar(&labels, "label", nil, "Set metadata for a volume")
	c.Flags().StringVarP(&driver, "driver", "d", "local", "Specify volume driver name")
	c.Flags().StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
	return c
}

type volumeRow struct{ v container.Volume }

func (r *volumeRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *volumeRow) Name() string                 { return r.v.Name }
func (r *volumeRow) Driver() string               { return r.v.Driver }
func (r *volumeRow) Scope() string                { return r.v.Scope }
func (r *volumeRow) Mountpoint() string           { return r.v.Mountpoint }
func (r *volumeRow) Links() string                { return fmt.Sprint(r.v.Links) }
func (r *volumeRow) Size() string                 { return "N/A" }
func (r *volumeRow) Labels() string {
	var kv []string
	for k, v := range r.v.Labels {
		kv = append(kv, k+"="+v)
	}
	return strings.Join(kv, ",")
}

func newVolumeLsCommand(g *Globals) *cobra.Command {
	var quiet bool
	var formatStr string
	var filters format.Args
	c := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			vs, err := m.VolumesFiltered(filters)
			if err != nil {
				return err
			}
			rows := make([]*volumeRow, 0, len(vs))
			for _, v := range vs {
				rows = append(rows, &volumeRow{v})
			}
			f := formatStr
			if quiet {
				f = "{{.Name}}"
			}
			return format.Write(g.Stdout, f, "table {{.Driver}}\t{{.Name}}",
				format.Header{"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
					"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE"}, rows)
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	c.Flags().StringVar(&formatStr, "format", "", "Pretty-print volumes using a Go template")
	c.Flags().VarP(&filters, "filter", "f", "Provide filter values (e.g. 'dangling=true')")
	return c
}

func newVolumeRmCommand(g *Globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Long:    "Remove one or more volumes. You cannot remove a volume that is in use by a container.",
		Example: "\n$ " + progName() + " volume rm hello\nhello\n",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return forEach(g, args, func(n string) error { return m.RemoveVolume(n, force) })
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return c
}

func newVolumeInspectCommand(g *Globals) *cobra.Command {
	var formatStr string
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return inspectAll(g, formatStr, args, func(n string) (any, error) {
				v, err := m.InspectVolume(n)
				if err != nil {
					return nil, err
				}
				return v, nil
			})
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	return c
}

// pruneVolumes removes the unused volumes filters choose (label=, label!=) and prints Docker's
// "Deleted Volumes:" section; `volume prune` and `system prune --volumes` both use it.
func pruneVolumes(g *Globals, filters format.Args) (int64, error) {
	for _, k := range filters.Keys() {
		if k != "label" && k != "label!" {
			return 0, fmt.Errorf("Invalid filter '%s'", k)
		}
	}
	m, closeFn, err := openManager(g)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	// Docker 20.10's daemon (API 1.41) prunes named volumes too: all.
	names, freed, err := m.PruneVolumesFiltered(filters, true)
	printPruned(g.Stdout, "Deleted Volumes:", names)
	return freed, err
}

func newVolumePruneCommand(g *Globals) *cobra.Command {
	var force bool
	var filters format.Args
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused local volumes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force && !confirm(g, "WARNING! This will remove all local volumes not used by at least one container.") {
				return nil
			}
			freed, err := pruneVolumes(g, filters)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, "Total reclaimed space:", units.HumanSize(float64(freed)))
			return nil
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.Flags().Var(&filters, "filter", "Provide filter values (e.g. 'label=<label>')")
	return c
}
