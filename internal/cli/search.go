package cli

import (
	"context"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/registry"
	"github.com/spf13/cobra"
)

func init() {
	register("search", func(g *Globals) *cobra.Command {
		var o searchOptions
		cmd := &cobra.Command{
			Use:   "search [OPTIONS] TERM",
			Short: "Search the Docker Hub for images",
			Args:  exactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				return runSearch(c.Context(), g, o, args[0])
			},
		}
		f := cmd.Flags()
		f.VarP(&o.filter, "filter", "f", "Filter output based on conditions provided")
		f.StringVar(&o.format, "format", "", "Pretty-print search using a Go template")
		f.IntVar(&o.limit, "limit", 25, "Max number of search results")
		f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
		return cmd
	})
}

type searchOptions struct {
	filter  format.Args
	format  string
	limit   int
	noTrunc bool
}

// searchRow is the template context of one result; its methods are Docker's field names.
type searchRow struct {
	r     registry.SearchResult
	trunc bool
}

func (s *searchRow) Name() string { return s.r.Name }
func (s *searchRow) Description() string {
	d := strings.NewReplacer("\n", " ", "\r", " ").Replace(s.r.Description)
	if s.trunc {
		d = format.Ellipsis(d, 45)
	}
	return d
}
func (s *searchRow) StarCount() string            { return strconv.Itoa(s.r.StarCount) }
func (s *searchRow) IsOfficial() string           { return okMark(s.r.IsOfficial) }
func (s *searchRow) IsAutomated() string          { return okMark(s.r.IsAutomated) }
func (s *searchRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(s) }
func okMark(b bool) string {
	if b {
		return "[OK]"
	}
	return ""
}

const searchTable = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}"

var searchHeader = format.Header{"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
	"IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED"}

func runSearch(ctx context.Context, g *Globals, o searchOptions, term string) error {
	results, err := distribution.Search(ctx, term, distribution.SearchOptions{Limit: o.limit, Filters: o.filter})
	if err != nil {
		return err
	}
	rows := []*searchRow{}
	for _, r := range results {
		rows = append(rows, &searchRow{r: r, trunc: !o.noTrunc})
	}
	return format.Write(g.Stdout, o.format, searchTable, searchHeader, rows)
}
