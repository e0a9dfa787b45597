package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/spf13/cobra"
)

// ---- attach / commit / export: a service's running container, by --index ----

// onServiceContainer is the shape of the commands that act on one running container of a
// service (the first, or --index's).
func onServiceContainer(g *Globals, f *composeFlags, use, short string, index *int,
	fn func(ctx context.Context, s *composeSession, c compose.Container, args []string) error) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, _, err := s.target(ctx)
				if err != nil {
					return err
				}
				c, err := s.engine.ProjectServiceContainer(name, args[0], *index)
				if err != nil {
					return err
				}
				return fn(ctx, s, c, args)
			})
		},
	}
	c.Flags().IntVar(index, "index", 0, "index of the container if service has multiple replicas.")
	return c
}

func composeCommit(g *Globals, f *composeFlags) *cobra.Command {
	var o container.CommitOptions
	var index int
	c := onServiceContainer(g, f, "commit [OPTIONS] SERVICE [REPOSITORY[:TAG]]", "Create a new image from a service container's changes", &index,
		func(ctx context.Context, s *composeSession, c compose.Container, args []string) error {
			if len(args) == 2 {
				o.Ref = args[1]
			}
			raw := func(status string) {
				s.engine.Events(compose.Event{Name: c.Name, Status: "Commit " + c.Name + " " + status, Raw: true})
			}
			raw("Committing")
			o.Context = ctx
			id, err := s.engine.Containers.Commit(c.ID, o)
			if err != nil {
				return err
			}
			raw("Committed as " + id)
			return nil
		})
	c.Args = rangeArgs(1, 2)
	c.Flags().StringVarP(&o.Author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	c.Flags().StringVarP(&o.Message, "message", "m", "", "Commit message")
	c.Flags().VarP(&composeList{vals: &o.Changes}, "change", "c", "Apply Dockerfile instruction to the created image")
	c.Flags().BoolVarP(&o.Pause, "pause", "p", true, "Pause container during commit")
	return c
}

func composeExport(g *Globals, f *composeFlags) *cobra.Command {
	var output string
	var index int
	c := onServiceContainer(g, f, "export [OPTIONS] SERVICE", "Export a service container's filesystem as a tar archive", &index,
		func(ctx context.Context, s *composeSession, c compose.Container, args []string) error {
			toFile := output != "" && output != "-"
			if !toFile && isTerminal(g.Stdout) {
				return errors.New("output option is required when exporting to terminal")
			}
			s.engine.Events(compose.Event{Name: c.Name, Status: fmt.Sprintf("export %s to %s Exporting", c.Name, output), Raw: true})
			if toFile {
				return writeFileAtomic(output, "failed to export container", func(w io.Writer) error { return s.engine.Containers.Export(c.ID, w) })
			}
			return s.engine.Containers.Export(c.ID, g.Stdout)
		})
	c.Args = exactArgs(1)
	c.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return c
}

func composeAttach(g *Globals, f *composeFlags) *cobra.Command {
	var noStdin, sigProxy bool
	var detachKeys string
	var index int
	c := onServiceContainer(g, f, "attach [OPTIONS] SERVICE", "Attach local standard input, output, and error streams to a service's running container", &index,
		func(ctx context.Context, s *composeSession, c compose.Container, args []string) error {
			o, err := attachOptions(g, !noStdin, sigProxy, detachKeys)
			if err != nil {
				return err
			}
			m := s.engine.Containers
			return attachResult(g, m, c.ID, o, func(o container.AttachOptions) (int, error) { return m.Attach(c.ID, o) })
		})
	c.Args = exactArgs(1)
	c.Flags().BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	c.Flags().BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	c.Flags().StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching from a container.")
	return c
}

// composeList is a repeatable string flag shown as Compose's "list" type, with no default.
type composeList struct{ vals *[]string }

func (l *composeList) String() string { return strings.Join(*l.vals, ",") }
func (l *composeList) Type() string   { return "list" }
func (l *composeList) Set(v string) error {
	*l.vals = append(*l.vals, v)
	return nil
}
