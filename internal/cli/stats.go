package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
)

func init() {
	registerContainer("stats", "stats", newStatsCommand)
}

const defaultStatsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeader = format.Header{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
	"MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

// statsRow is one row of `stats` (Docker's statsContext): a container's last two readings.
type statsRow struct {
	trunc     bool
	container string // as the user named it, or the short ID when listing
	id, name  string
	cpu       float64
	s         container.Stats
}

func (r *statsRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *statsRow) Container() string            { return r.container }
func (r *statsRow) Name() string                 { return r.name }
func (r *statsRow) ID() string {
	if r.trunc {
		return format.TruncateID(r.id)
	}
	return r.id
}
func (r *statsRow) CPUPerc() string { return fmt.Sprintf("%.2f%%", r.cpu) }
func (r *statsRow) MemUsage() string {
	return units.BytesSize(float64(r.s.MemUsage)) + " / " + units.BytesSize(float64(r.s.MemLimit))
}
func (r *statsRow) MemPerc() string { return fmt.Sprintf("%.2f%%", r.s.MemPercent()) }
func (r *statsRow) NetIO() string {
	return units.HumanSizeWithPrecision(float64(r.s.NetRx), 3) + " / " + units.HumanSizeWithPrecision(float64(r.s.NetTx), 3)
}
func (r *statsRow) BlockIO() string {
	return units.HumanSizeWithPrecision(float64(r.s.BlockRead), 3) + " / " + units.HumanSizeWithPrecision(float64(r.s.BlockWrite), 3)
}
func (r *statsRow) PIDs() string { return fmt.Sprint(r.s.Pids) }

type statsOptions struct {
	all, noStream, noTrunc bool
	format                 string
}

func newStatsCommand(g *Globals, use string) *cobra.Command {
	var o statsOptions
	c := &cobra.Command{
		Use:   use + " [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return runStats(g, m, o, args)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	fl.BoolVar(&o.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	fl.StringVar(&o.format, "format", "", "Pretty-print images using a Go template")
	return c
}

// statsInterval is how far apart the readings whose difference makes CPU % are (Docker's daemon
// samples each second).
var statsInterval = time.Second

func runStats(g *Globals, m *container.Manager, o statsOptions, args []string) error {
	type target struct{ ref, shown string }
	var targets []target
	if len(args) > 0 {
		for _, a := range args {
			if _, _, err := m.Get(a); err != nil {
				return err
			}
			targets = append(targets, target{a, a})
		}
	}
	list := func() ([]target, error) {
		if len(args) > 0 {
			return targets, nil
		}
		cs, err := m.List()
		if err != nil {
			return nil, err
		}
		var out []target
		for _, c := range cs {
			if o.all || c.State.Running() {
				out = append(out, target{c.ID, format.TruncateID(c.ID)})
			}
		}
		return out, nil
	}
	read := func(ts []target) map[string]container.Stats {
		cur := map[string]container.Stats{}
		for _, t := range ts {
			if s, err := m.Stats(t.ref); err == nil {
				cur[t.ref] = s
			}
		}
		return cur
	}
	ts, err := list()
	if err != nil {
		return err
	}
	prev := read(ts)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	clear := false
	if f, ok := g.Stdout.(*os.File); ok && !o.noStream && term.IsTerminal(int(f.Fd())) {
		clear = true
	}
	for {
		select {
		case <-stop:
			return nil
		case <-time.After(statsInterval):
		}
		if ts, err = list(); err != nil {
			return err
		}
		cur := read(ts)
		var rows []*statsRow
		for _, t := range ts {
			c, _, err := m.Get(t.ref)
			if err != nil {
				if len(args) > 0 {
					return err
				}
				continue // gone meanwhile
			}
			r := &statsRow{trunc: !o.noTrunc, container: t.shown, id: c.ID, name: c.Name, s: cur[t.ref]}
			if p, ok := prev[t.ref]; ok {
				r.cpu = container.CPUPercent(p, cur[t.ref])
			}
			rows = append(rows, r)
		}
		prev = cur
		if clear {
			fmt.Fprint(g.Stdout, "\033[2J\033[H")
		}
		if err := format.Write(g.Stdout, o.format, defaultStatsTable, statsHeader, rows); err != nil {
			return err
		}
		if o.noStream {
			return nil
		}
	}
}
