package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/berth-engine/berth/events"
	"github.com/berth-engine/berth/format"
	"github.com/spf13/cobra"
)

func init() {
	register("events", func(g *Globals) *cobra.Command { return newEventsCommand(g, "events") })
}

// newEventsCommand is `berth events`: the journal every berth process appends to (package
// events), from --since, followed until --until or an interrupt, in Docker's line format.
func newEventsCommand(g *Globals, use string) *cobra.Command {
	var since, until, formatStr string
	var filters format.Args
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter, err := events.NewFilter(filters)
			if err != nil {
				return err
			}
			now := time.Now()
			var o events.ReadOptions
			o.Filter, o.Follow = filter, true
			if since != "" {
				if o.Since, err = format.ParseTimestamp(since, now); err != nil {
					return err
				}
			}
			if until != "" {
				if o.Until, err = format.ParseTimestamp(until, now); err != nil {
					return err
				}
			}
			write := func(m events.Message) error {
				_, err := fmt.Fprintln(g.Stdout, events.FormatLine(m))
				return err
			}
			if formatStr == "json" {
				formatStr = "{{json .}}" // Docker 23+'s shorthand (20.10 printed the word)
			}
			if formatStr != "" {
				tmpl, err := format.Parse(formatStr)
				if err != nil {
					return err
				}
				write = func(m events.Message) error {
					var b bytes.Buffer
					if err := tmpl.Execute(&b, m.Docker(true)); err != nil {
						return err
					}
					b.WriteByte('\n')
					_, err := b.WriteTo(g.Stdout)
					return err
				}
			}
			ctx, stop := signal.NotifyContext(commandContext(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return events.Read(ctx, g.Root, o, write)
		},
	}
	fl := c.Flags()
	fl.VarP(&filters, "filter", "f", "Filter output based on conditions provided")
	fl.StringVar(&formatStr, "format", "", "Format the output using the given Go template")
	fl.StringVar(&since, "since", "", "Show all events created since timestamp")
	fl.StringVar(&until, "until", "", "Stream events until this timestamp")
	return c
}
