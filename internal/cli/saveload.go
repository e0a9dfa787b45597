package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/berth-engine/berth/image"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func init() {
	registerImage("save", "save", newSaveCommand)
	registerImage("load", "load", newLoadCommand)
}

// isTerminal reports whether a stream is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// ---- save ----

func newSaveCommand(g *Globals, use string) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && isTerminal(g.Stdout) {
				// Docker's CLI prints this one without "Error: ".
				return &StatusError{Code: 1, Usage: true,
					Err: errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")}
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			if output == "" {
				return s.Save(g.Stdout, args)
			}
			return saveToFile(s, output, args)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return c
}

// saveToFile writes the archive to a temporary file beside path and renames it into place, so a
// failed save leaves no partial file (and an existing file untouched).
func saveToFile(s *image.Store, path string, refs []string) error {
	return writeFileAtomic(path, "failed to save image", func(w io.Writer) error { return s.Save(w, refs) })
}

// writeFileAtomic writes a file through a temporary file beside path renamed into place: a failed
// write leaves nothing behind, an existing file untouched. The file is 0600, as the archives
// Docker 20.10's `save -o` and `export -o` write (they may hold secrets from the image).
func writeFileAtomic(path, what string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ---- load ----

func newLoadCommand(g *Globals, use string) *cobra.Command {
	var input string
	var quiet bool
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = g.Stdin
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			} else if isTerminal(g.Stdin) {
				// Docker's CLI prints this one without "Error: " too.
				return &StatusError{Code: 1, Usage: true, Err: errors.New("requested load from stdin, but stdin is empty")}
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			var opts image.LoadOptions
			// Like Docker, show layer progress only to a person watching a terminal.
			if !quiet && isTerminal(g.Stdout) {
				opts.Progress = g.Stderr
			}
			loaded, err := s.Load(in, opts)
			printLoaded(g.Stdout, loaded)
			return err
		},
	}
	c.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	return c
}

// printLoaded prints Docker's lines for what load did.
func printLoaded(w io.Writer, loaded []image.LoadedImage) {
	for _, li := range loaded {
		for _, n := range li.Names {
			if n.Previous != "" {
				fmt.Fprintf(w, "The image %s already exists, renaming the old one with ID %s to empty string\n", n.Name, n.Previous)
			}
			fmt.Fprintf(w, "Loaded image: %s\n", n.Name)
		}
		if len(li.Names) == 0 {
			fmt.Fprintf(w, "Loaded image ID: %s\n", li.ID)
		}
	}
}
