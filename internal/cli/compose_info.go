package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/spf13/cobra"
)

// ---- top / port / images / ls / cp / events / version ----

func composeTop(g *Globals, f *composeFlags) *cobra.Command {
	return onContainers(g, f, "top [SERVICES...]", "Display the running processes", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		for _, c := range cs {
			if !c.State.Running() {
				continue
			}
			titles, rows, err := s.engine.Containers.Top(c.ID, nil)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, c.Name)
			tw := tabwriter.NewWriter(g.Stdout, 4, 8, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(titles, "\t"))
			for _, r := range rows {
				fmt.Fprintln(tw, strings.Join(r, "\t"))
			}
			tw.Flush()
			fmt.Fprintln(g.Stdout)
		}
		return nil
	})
}

func composePort(g *Globals, f *composeFlags) *cobra.Command {
	var proto string
	var index int
	c := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the public port for a port binding",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, _, err := s.target(ctx)
				if err != nil {
					return err
				}
				ctr, err := s.engine.ProjectServiceContainer(name, args[0], index)
				if err != nil {
					return err
				}
				bs, err := s.engine.Containers.Port(ctr.ID, args[1]+"/"+proto)
				if err != nil {
					return err
				}
				if len(bs) == 0 {
					return fmt.Errorf("no port %s/%s for container %s", args[1], proto, ctr.Name)
				}
				fmt.Fprintf(g.Stdout, "%s:%s\n", bs[0].HostIP, bs[0].HostPort)
				return nil
			})
		},
	}
	c.Flags().StringVar(&proto, "protocol", "tcp", "tcp or udp")
	c.Flags().IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	return c
}

func composeImages(g *Globals, f *composeFlags) *cobra.Command {
	var quiet bool
	c := onContainers(g, f, "images [OPTIONS] [SERVICE...]", "List images used by the created containers", false, func(ctx context.Context, s *composeSession, pl *compose.Plan, cs []compose.Container) error {
		if quiet {
			seen := map[string]bool{}
			for _, c := range cs {
				if !seen[c.ImageID] {
					seen[c.ImageID] = true
					fmt.Fprintln(g.Stdout, strings.TrimPrefix(c.ImageID, "sha256:"))
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(g.Stdout, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tPLATFORM\tIMAGE ID\tSIZE\tCREATED")
		now := time.Now()
		for _, c := range cs {
			repo, tag := c.Image, "latest"
			if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
				repo, tag = repo[:i], repo[i+1:]
			}
			platform, created := "", ""
			if img, err := s.store.Get(c.ImageID); err == nil && img.Config != nil {
				platform = img.Config.OS + "/" + img.Config.Architecture
				if img.Config.Created != nil {
					created = format.CreatedSince(*img.Config.Created, now)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, repo, tag, platform, format.TruncateID(c.ImageID),
				format.HumanSize(s.engine.Containers.ImageSize(c.ImageID)), created)
		}
		return tw.Flush()
	})
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	c.Flags().String("format", "table", "Format the output. Values: [table | json]")
	return c
}

func composeLs(g *Globals, f *composeFlags) *cobra.Command {
	var all, quiet bool
	var fmtStr string
	var filter format.Args
	c := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Compose's ls knows one filter, name (a regular expression).
			for _, k := range filter.Keys() {
				if k != "name" {
					return composeError(fmt.Errorf("invalid filter '%s'", k))
				}
			}
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				projects, err := s.engine.Projects()
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.Stdout, 20, 1, 3, ' ', 0)
				if !quiet && fmtStr != "json" {
					fmt.Fprintln(tw, "NAME\tSTATUS\tCONFIG FILES")
				}
				var jsonRows []string
				for _, name := range composeKeys(projects) {
					if !filter.Match("name", name) {
						continue
					}
					cs := projects[name]
					counts := map[string]int{}
					files := ""
					for _, c := range cs {
						// Compose counts only running containers unless -a.
						if all || c.State.Status == "running" {
							counts[c.State.Status]++
						}
						if files == "" {
							files = c.Config.Labels[compose.ConfigFilesLabel]
						}
					}
					if !all && counts["running"] == 0 {
						continue
					}
					var parts []string
					for _, st := range composeKeys(counts) {
						parts = append(parts, fmt.Sprintf("%s(%d)", st, counts[st]))
					}
					status := strings.Join(parts, ", ")
					switch {
					case quiet:
						fmt.Fprintln(tw, name)
					case fmtStr == "json":
						jsonRows = append(jsonRows, fmt.Sprintf(`{"Name":%q,"Status":%q,"ConfigFiles":%q}`, name, status, files))
					default:
						fmt.Fprintf(tw, "%s\t%s\t%s\n", name, status, files)
					}
				}
				if fmtStr == "json" {
					fmt.Fprintln(g.Stdout, "["+strings.Join(jsonRows, ",")+"]")
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped Compose projects")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display project names")
	c.Flags().StringVar(&fmtStr, "format", "table", "Format the output. Values: [table | json]")
	c.Flags().Var(&filter, "filter", "Filter output based on conditions provided")
	return c
}

func composeCp(g *Globals, f *composeFlags) *cobra.Command {
	var index int
	var all bool
	var o container.CopyOptions
	c := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tdocker compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Short: "Copy files/folders between a service container and the local filesystem",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, _, err := s.target(ctx)
				if err != nil {
					return err
				}
				src, dst := args[0], args[1]
				svcSrc, pathSrc, fromCtr := strings.Cut(src, ":")
				svcDst, pathDst, toCtr := strings.Cut(dst, ":")
				if fromCtr == toCtr {
					return errors.New("copying between services is not supported")
				}
				svc := svcSrc
				if toCtr {
					svc = svcDst
				}
				cs, err := s.engine.ProjectContainers(name, true)
				if err != nil {
					return err
				}
				targets, err := compose.CopyTargets(cs, svc, index, all, toCtr)
				if err != nil {
					return err
				}
				m := s.engine.Containers
				if fromCtr {
					c := targets[0]
					return s.engine.Copy(targets, func(compose.Container) string { return "copy " + c.Name + ":" + pathSrc + " to " + dst },
						func(c compose.Container) error { return m.CopyFrom(c.ID, pathSrc, dst, o, g.Stdout) })
				}
				var stdin []byte
				if src == "-" { // read once, for every container
					if stdin, err = io.ReadAll(g.Stdin); err != nil {
						return err
					}
				}
				return s.engine.Copy(targets, func(c compose.Container) string { return "copy " + src + " to " + c.Name + ":" + pathDst },
					func(c compose.Container) error {
						if src == "-" {
							return m.CopyTarTo(c.ID, bytes.NewReader(stdin), pathDst, o)
						}
						return m.CopyTo(c.ID, src, pathDst, o)
					})
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "Include containers created by the run command")
	c.Flags().IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	c.Flags().BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	c.Flags().BoolVarP(&o.Archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	return c
}

// composeEvents follows the event journal for the project's containers and prints Compose's
// event lines.
func composeEvents(g *Globals, f *composeFlags) *cobra.Command {
	var asJSON bool
	var sinceS, untilS string
	c := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Receive real time events from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withSession(g, cmd, func(ctx context.Context, s *composeSession) error {
				name, _, err := s.target(ctx)
				if err != nil {
					return err
				}
				var since, until time.Time
				now := time.Now()
				if sinceS != "" {
					if since, err = format.ParseTimestamp(sinceS, now); err != nil {
						return err
					}
				}
				if untilS != "" {
					if until, err = format.ParseTimestamp(untilS, now); err != nil {
						return err
					}
				}
				ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				return s.engine.WatchRange(ctx, name, args, since, until, func(ev compose.ContainerEvent) {
					fmt.Fprint(g.Stdout, formatComposeEvent(ev, asJSON))
				})
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "Output events as a stream of json objects")
	c.Flags().StringVar(&sinceS, "since", "", "Show all events created since timestamp")
	c.Flags().StringVar(&untilS, "until", "", "Stream events until this timestamp")
	return c
}

func composeVersion(g *Globals, f *composeFlags) *cobra.Command {
	var short bool
	var fmtStr string
	c := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the Docker Compose version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case short:
				fmt.Fprintln(g.Stdout, compose.Version)
			case fmtStr == "json":
				fmt.Fprintf(g.Stdout, "{\"version\":\"v%s\"}\n", compose.Version)
			default:
				fmt.Fprintf(g.Stdout, "Docker Compose version v%s (berth %s)\n", compose.Version, Version)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&short, "short", false, "Shows only Compose's version number")
	c.Flags().StringVarP(&fmtStr, "format", "f", "", "Format the output. Values: [pretty | json]. (Default: pretty)")
	return c
}

// formatComposeEvent is an event as `docker compose events` prints it: a JSON object a line, or
// a text line followed by an empty one (Compose prints a line that already ends in a newline
// with Println). Compose's attribute order is Go's map order; berth sorts them.
func formatComposeEvent(ev compose.ContainerEvent, asJSON bool) string {
	if asJSON {
		b, _ := json.Marshal(map[string]any{"action": ev.Action, "attributes": ev.Attributes, "id": ev.ID,
			"service": ev.Service, "time": ev.Time.UTC().Format(time.RFC3339Nano), "type": "container"})
		return string(b) + "\n"
	}
	keys := make([]string, 0, len(ev.Attributes))
	for k := range ev.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]string, len(keys))
	for i, k := range keys {
		attrs[i] = k + "=" + ev.Attributes[k]
	}
	return fmt.Sprintf("%s container %s %s (%s)\n\n", ev.Time.Local().Format("2006-01-02 15:04:05.000000"), ev.Action, ev.ID, strings.Join(attrs, ", "))
}
