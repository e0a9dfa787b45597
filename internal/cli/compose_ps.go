package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/spf13/cobra"
)

// ---- ps ----

var composePsHeader = format.Header{
	"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
	"Service": "SERVICE", "RunningFor": "CREATED", "CreatedAt": format.CreatedAtHeader, "Status": "STATUS",
	"Ports": "PORTS", "State": "STATE", "Project": "PROJECT", "Health": "HEALTH", "ExitCode": "EXIT CODE",
	"Labels": "LABELS", "Networks": "NETWORKS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE",
}

const composePsTable = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"

// composePsRow is `compose ps`'s row: Docker's container context plus Compose's fields.
type composePsRow struct {
	*psRow
	c compose.Container
}

func (r *composePsRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *composePsRow) Name() string                 { return r.c.Name }
func (r *composePsRow) Service() string              { return r.c.Service }
func (r *composePsRow) Project() string              { return r.c.Project }
func (r *composePsRow) ExitCode() int                { return r.c.State.ExitCode }
func (r *composePsRow) Health() string {
	if r.c.State.Health != nil {
		return r.c.State.Health.Status
	}
	return ""
}

func composePs(g *Globals, f *composeFlags) *cobra.Command {
	var all, quiet, services bool
	var fmtStr, filter string
	var status []string
	var orphans, noTrunc bool
	c := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			// Compose's ps knows one filter, status, which adds to --status.
			if filter != "" {
				k, v, ok := strings.Cut(filter, "=")
				if !ok {
					return composeError(errors.New("arguments to --filter should be in form KEY=VAL"))
				}
				if k != "status" {
					return composeError(fmt.Errorf("unknown filter %s", k))
				}
				status = append(status, v)
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, pl, err := s.target(ctx)
				if err != nil {
					return err
				}
				cs, err := s.engine.ProjectContainers(name, true)
				if err != nil {
					return err
				}
				if cs, err = compose.Select(cs, pl, args); err != nil {
					return err
				}
				if !orphans && pl != nil {
					cs = compose.OfServices(cs, pl.Known)
				}
				if services {
					seen := map[string]bool{}
					for _, c := range cs {
						if !seen[c.Service] && (all || c.State.Running()) {
							seen[c.Service] = true
							fmt.Fprintln(g.Stdout, c.Service)
						}
					}
					return nil
				}
				now := time.Now()
				m := s.engine.Containers
				var rows []*composePsRow
				for _, c := range cs {
					if !all && len(status) == 0 && !c.State.Running() {
						continue
					}
					if len(status) > 0 && !slices.Contains(status, c.State.Status) {
						continue
					}
					r := &psRow{trunc: !noTrunc, now: now, s: c.Summary, image: c.Image,
						ports: container.DisplayPorts(m.Ports(c.ID, c.Config.ExposedPorts, c.State.Running()))}
					rows = append(rows, &composePsRow{psRow: r, c: c})
				}
				out := fmtStr
				if quiet {
					out = format.DefaultQuietFormat
				}
				return format.Write(g.Stdout, out, composePsTable, composePsHeader, rows)
			})
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Show all stopped containers (including those created by the run command)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	fl.BoolVar(&services, "services", false, "Display services")
	fl.StringVar(&fmtStr, "format", "table", `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`)
	fl.StringArrayVar(&status, "status", nil, "Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]")
	fl.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	fl.StringVar(&filter, "filter", "", "Filter services by a property (supported filters: status)")
	fl.BoolVar(&orphans, "orphans", true, "Include orphaned services (not declared by project)")
	return c
}
