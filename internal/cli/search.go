package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/registry"
	"github.com/spf13/cobra"
)

func init() {
	register("search", func(g *Globals) *cobra.Command {
		var o searchOptions
		cmd := &cobra.Command{
			Use:   "search [OPTIONS] TERM",
			Short: "Search a registry (Docker Hub by default) for images",
			Args:  exactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				return runSearch(c.Context(), g, o, args[0])
			},
		}
		f := cmd.Flags()
		f.VarP(&o.filter, "filter", "f", "Filter output based on conditions provided")
		f.StringVar(&o.format, "format", "", "Pretty-print search using a Go template")
		f.IntVar(&o.limit, "limit", 0, "Max number of search results")
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
	if err := o.filter.Validate(map[string]bool{"stars": true, "is-automated": true, "is-official": true}); err != nil {
		return err
	}
	automated, err := o.filter.GetBoolOrDefault("is-automated", false)
	if err != nil {
		return err
	}
	official, err := o.filter.GetBoolOrDefault("is-official", false)
	if err != nil {
		return err
	}
	minStars := 0
	for _, v := range o.filter.Get("stars") {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid filter 'stars=%s'", v)
		}
		minStars = max(minStars, n)
	}
	limit := o.limit
	if limit == 0 {
		limit = 25
	}
	if limit < 1 || limit > 100 {
		return fmt.Errorf("limit %d is outside the range of [1, 100]", limit)
	}
	host, q := splitSearchTerm(term)
	res, err := searchRegistry(ctx, host, q, limit)
	if err != nil {
		return err
	}
	rows := []*searchRow{}
	for _, r := range res.Results {
		if o.filter.Contains("is-automated") && r.IsAutomated != automated {
			continue
		}
		if o.filter.Contains("is-official") && r.IsOfficial != official {
			continue
		}
		if o.filter.Contains("stars") && r.StarCount < minStars {
			continue
		}
		rows = append(rows, &searchRow{r: r, trunc: !o.noTrunc})
	}
	return format.Write(g.Stdout, o.format, searchTable, searchHeader, rows)
}

// splitSearchTerm separates a registry host from the term the way Docker does: the first path
// component is a host when it has a dot or a port, or is localhost.
func splitSearchTerm(term string) (host, q string) {
	if first, rest, ok := strings.Cut(term, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return "index.docker.io", term
}

// loopback reports a registry host reached over plain HTTP, as Docker does for local registries.
func loopback(host string) bool { return registry.Loopback(host) }

func searchRegistry(ctx context.Context, host, term string, limit int) (*registry.SearchResponse, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return registry.SearchV1(ctx, host, term, limit)
}
