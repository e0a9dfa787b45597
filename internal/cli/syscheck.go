package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/berth-engine/berth/image"
	"github.com/spf13/cobra"
)

func init() {
	register("fsck", func(g *Globals) *cobra.Command { return newCheckCommand(g, "fsck") })
}

// newCheckCommand is `system check` (alias `fsck`): the store's content against its database.
func newCheckCommand(g *Globals, use string) *cobra.Command {
	var repair bool
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Check the store's content against its database, and repair what can be rebuilt",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var r image.CheckReport
			if repair {
				s, moved, err := image.OpenForRepair(g.Root)
				if err != nil {
					return err
				}
				defer s.Close()
				if moved != "" {
					fmt.Fprintf(g.Stdout, "The state database could not be used: moved it aside to %s and made a new one.\n", moved)
				}
				if r, err = s.Repair(); err != nil {
					return err
				}
			} else {
				s, err := openStore(g)
				var damaged *image.DamagedError
				if errors.As(err, &damaged) {
					b, l, c := image.Inventory(g.Root)
					fmt.Fprintf(g.Stdout, "Database: unusable (%s)\nOn disk:  %d blobs, %d layers, %d container directories\n", damaged.DB, b, l, c)
				}
				if err != nil {
					return err
				}
				defer s.Close()
				if r, err = s.Check(); err != nil {
					return err
				}
			}
			writeCheckReport(g.Stdout, r)
			if !r.OK() {
				hint := "run 'berth system check --repair' to rebuild what can be rebuilt"
				if repair {
					hint = "what is left cannot be rebuilt from the blobs: remove the images named and pull or build them again"
				}
				return &StatusError{Code: 1, Err: fmt.Errorf("the store has %d problem(s): %s", len(r.Problems), hint)}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&repair, "repair", false, "Rebuild what can be rebuilt from the blobs (image records, unpacked layers); deletes no content")
	return c
}

func writeCheckReport(w io.Writer, r image.CheckReport) {
	fmt.Fprintf(w, "Database: %d images, %d layers, %d blobs in use, %d build cache entries, %d containers\n",
		r.Images, r.Layers, r.Blobs, r.CacheEntries, r.Containers)
	fmt.Fprintf(w, "On disk:  %d blobs, %d layers, %d container directories\n", r.BlobsOnDisk, r.LayersOnDisk, r.ContainersOnDisk)
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
	section("Repaired:", r.Repaired)
	section("Problems (records pointing at content that is missing):", r.Problems)
	section("Unaccounted (on disk, unknown to the database; kept, never collected):", r.Unaccounted)
	if r.Garbage > 0 {
		fmt.Fprintf(w, "Garbage: %d blobs or layers no longer needed ('berth system prune' removes them)\n", r.Garbage)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "Note: "+n)
	}
	if r.OK() {
		fmt.Fprintln(w, "no problems found")
	}
}
