package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/berth-engine/berth/analysis"
	"github.com/berth-engine/berth/format"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

func init() {
	registerImage("analyze", "analyze", newAnalyzeCommand)
}

type analyzeFlags struct {
	format      string
	source      string
	ci          bool
	ciConfig    string
	lowestEff   string
	highestWB   string
	highestUWP  string
	files       bool
	changedOnly bool
}

func newAnalyzeCommand(g *Globals, use string) *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE | docker-archive:FILE | oci-archive:FILE",
		Short: "Show how efficiently an image's layers are built (dive's numbers and reclaimable bytes)",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rules := analysis.DefaultCIRules()
			fl := c.Flags()
			if f.ci {
				var err error
				if rules, _, err = analysis.LoadCIConfig(f.ciConfig, rules); err != nil {
					return err
				}
			}
			// Flags given on the command line win over .dive-ci.
			if fl.Changed("lowest-efficiency") || fl.Changed("lowestEfficiency") {
				rules.LowestEfficiency = f.lowestEff
			}
			if fl.Changed("highest-wasted-bytes") || fl.Changed("highestWastedBytes") {
				rules.HighestWastedBytes = f.highestWB
			}
			if fl.Changed("highest-user-wasted-percent") || fl.Changed("highestUserWastedPercent") {
				rules.HighestUserWastedPercent = f.highestUWP
			}
			return runAnalyze(g, f, rules, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "Format the output: table (default), json, 'table TEMPLATE' (a row per layer), or a Go template over the report")
	fl.StringVar(&f.source, "source", "berth", "Where IMAGE is: berth (the image store), docker-archive or oci-archive (a file)")
	fl.BoolVar(&f.ci, "ci", false, "Check the image against CI thresholds (and .dive-ci); exit 1 when one fails")
	fl.StringVar(&f.ciConfig, "ci-config", ".dive-ci", "dive's CI config file (YAML) read with --ci")
	fl.StringVar(&f.lowestEff, "lowest-efficiency", "0.9", "Lowest allowed image efficiency (0-1) with --ci")
	fl.StringVar(&f.highestWB, "highest-wasted-bytes", "disabled", "Highest allowed wasted bytes with --ci (e.g. 20MB)")
	fl.StringVar(&f.highestUWP, "highest-user-wasted-percent", "0.1", "Highest allowed ratio (0-1) of wasted bytes to the bytes above the base layer with --ci")
	// dive's own spellings, so a CI line written for dive works unchanged.
	for _, a := range [][2]string{{"lowestEfficiency", "lowest-efficiency"}, {"highestWastedBytes", "highest-wasted-bytes"},
		{"highestUserWastedPercent", "highest-user-wasted-percent"}} {
		fl.Var(fl.Lookup(a[1]).Value, a[0], "")
		fl.MarkHidden(a[0])
	}
	fl.BoolVar(&f.files, "files", false, "Show the file tree after a layer (IMAGE[:LAYER], the last layer by default) with what it added, modified and removed")
	fl.BoolVar(&f.changedOnly, "changed", false, "With --files, show only what the layer changed")
	return cmd
}

// loadForAnalysis reads the image named by arg from the store or from an archive file.
func loadForAnalysis(g *Globals, source, arg string) (analysis.Image, error) {
	for _, p := range []string{"docker-archive:", "oci-archive:"} {
		if rest, ok := strings.CutPrefix(arg, p); ok {
			source, arg = strings.TrimSuffix(p, ":"), rest
		}
	}
	switch source {
	case "berth", "docker", "":
		s, err := openStore(g)
		if err != nil {
			return analysis.Image{}, err
		}
		defer s.Close()
		return analysis.FromStore(s, arg)
	case "docker-archive", "oci-archive":
		img, err := analysis.FromArchiveFile(arg, "")
		if errors.Is(err, fs.ErrNotExist) {
			return img, fmt.Errorf("open %s: no such file", arg)
		}
		return img, err
	}
	return analysis.Image{}, fmt.Errorf("invalid --source %q: want berth, docker-archive or oci-archive", source)
}

func runAnalyze(g *Globals, f analyzeFlags, rules analysis.CIRules, arg string) error {
	if f.files {
		return runAnalyzeFiles(g, f, arg)
	}
	img, err := loadForAnalysis(g, f.source, arg)
	if err != nil {
		return err
	}
	r := analysis.Analyze(img)
	var results []analysis.CIResult
	pass := true
	if f.ci {
		if results, pass, err = analysis.EvaluateCI(r, rules); err != nil {
			return err
		}
	}
	switch {
	case f.format == "json":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if f.ci {
			// The report with dive's CI verdicts added: "ci" (one per rule) and "pass".
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			m["ci"], _ = json.Marshal(results)
			m["pass"], _ = json.Marshal(pass)
			if b, err = json.Marshal(m); err != nil {
				return err
			}
		}
		fmt.Fprintf(g.Stdout, "%s\n", b)
	case f.format == "" || f.format == "table":
		writeAnalysis(g.Stdout, r)
		if f.ci {
			writeCI(g.Stdout, results, pass)
		}
	case format.IsTable(f.format):
		// "table TEMPLATE": one row per layer, with headers.
		if err := format.Write(g.Stdout, f.format, "", layerHeader, r.Layers); err != nil {
			return err
		}
	default:
		tmpl, err := format.Parse(f.format)
		if err != nil {
			return err
		}
		if err := tmpl.Execute(g.Stdout, r); err != nil {
			return &format.TemplateError{Err: err}
		}
		fmt.Fprintln(g.Stdout)
	}
	if !pass {
		for _, res := range results {
			if res.Status == "FAIL" {
				fmt.Fprintf(g.Stderr, "%s: %s\n", res.Rule, res.Message)
			}
		}
		return &StatusError{Code: 1, Err: errors.New("")}
	}
	return nil
}

var layerHeader = format.Header{"Index": "LAYER", "Digest": "DIGEST", "CreatedBy": "CREATED BY", "Size": "SIZE",
	"Added": "ADDED", "Modified": "MODIFIED", "Unchanged": "UNCHANGED", "Removed": "REMOVED",
	"FinalBytes": "FINAL", "ReclaimableBytes": "RECLAIMABLE"}

func humanBytes(n int64) string { return format.HumanSize(n) }

func writeAnalysis(w io.Writer, r *analysis.Report) {
	fmt.Fprintf(w, "Image: %s (%s)\n\n", r.Image, r.ID)
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tSIZE\tADDED\tMODIFIED\tUNCHANGED\tREMOVED\tFINAL\tRECLAIMABLE\tCREATED BY")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", l.Index, humanBytes(l.Size), l.Added, l.Modified, l.Unchanged,
			l.Removed, humanBytes(l.FinalBytes), humanBytes(l.ReclaimableBytes), format.Ellipsis(analysis.Step(l.CreatedBy), 60))
	}
	tw.Flush()
	uwp := "0 %"
	if r.WastedBytes > 0 {
		uwp = fmt.Sprintf("%.2f %%", r.UserWastedPercent*100)
	}
	wasted := ""
	if r.WastedBytes > 0 {
		wasted = " (" + humanize.Bytes(uint64(r.WastedBytes)) + ")"
	}
	fmt.Fprintf(w, "\nefficiency:          %.2f %%\n", r.Efficiency*100)
	fmt.Fprintf(w, "wastedBytes:         %d bytes%s\n", r.WastedBytes, wasted)
	fmt.Fprintf(w, "userWastedPercent:   %s\n", uwp)
	fmt.Fprintf(w, "reclaimableBytes:    %d bytes (%s)\n", r.ReclaimableBytes, humanBytes(r.ReclaimableBytes))
	if len(r.Wasted) > 0 {
		fmt.Fprintln(w, "\nWasted space:")
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "SIZE\tFILES\tACTION\tWRITTEN BY\tREMOVED BY\tPATH")
		n := 0
		for _, p := range r.Wasted {
			if n++; n > 10 {
				break
			}
			by := make([]string, len(p.WrittenBy))
			for i, l := range p.WrittenBy {
				by[i] = strconv.Itoa(l)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", humanBytes(p.Bytes), p.Files, p.Action, strings.Join(by, ","), p.RemovedBy, p.Path)
		}
		tw.Flush()
	}
	if len(r.Suggestions) > 0 {
		fmt.Fprintln(w, "\nSuggestions:")
		for i, s := range r.Suggestions {
			if i == 5 {
				break
			}
			fmt.Fprintf(w, " - %s\n", s.Message)
		}
	}
}

func writeCI(w io.Writer, results []analysis.CIResult, pass bool) {
	fmt.Fprintln(w, "\nEvaluation:")
	tally := map[string]int{}
	for _, r := range results {
		tally[r.Status]++
		fmt.Fprintf(w, "  %s  %s (%s)\n", r.Status, r.Rule, r.Message)
	}
	status := "PASS"
	if !pass {
		status = "FAIL"
	}
	var parts []string
	for _, k := range []string{"PASS", "FAIL", "SKIP"} {
		if tally[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", strings.ToLower(k), tally[k]))
		}
	}
	fmt.Fprintf(w, "\n%s [%s]\n", status, strings.Join(parts, " "))
}

// splitLayer reads IMAGE[:LAYER]: the whole argument is an image when it names one; otherwise a
// numeric suffix after the last colon is the layer.
func splitLayer(g *Globals, f analyzeFlags, arg string) (analysis.Image, int, error) {
	img, err := loadForAnalysis(g, f.source, arg)
	if err == nil {
		return img, -1, nil
	}
	i := strings.LastIndex(arg, ":")
	if i < 0 {
		return img, 0, err
	}
	n, convErr := strconv.Atoi(arg[i+1:])
	if convErr != nil || n < 0 {
		return img, 0, err
	}
	img, err2 := loadForAnalysis(g, f.source, arg[:i])
	if err2 != nil {
		return img, 0, err
	}
	return img, n, nil
}

func runAnalyzeFiles(g *Globals, f analyzeFlags, arg string) error {
	img, layer, err := splitLayer(g, f, arg)
	if err != nil {
		return err
	}
	root, err := analysis.Files(img, layer, f.changedOnly)
	if err != nil {
		return err
	}
	if f.format == "json" {
		b, err := json.Marshal(root)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "%s\n", b)
		return nil
	}
	if f.format != "" && f.format != "table" {
		return errors.New("--files takes --format json or table")
	}
	writeTree(g.Stdout, root, "", true)
	return nil
}

var statusMark = map[string]string{analysis.StatusAdded: "+", analysis.StatusModified: "~",
	analysis.StatusUnchanged: "=", analysis.StatusRemoved: "-", "": " "}

func writeTree(w io.Writer, n *analysis.FileNode, indent string, last bool) {
	mode := fs.FileMode(n.Mode).Perm().String()
	if n.Type == "dir" {
		mode = "d" + mode[1:]
	} else if n.Type == "symlink" {
		mode = "l" + mode[1:]
	}
	size := "-"
	if n.Type != "dir" {
		size = humanBytes(n.Size)
	}
	name := n.Name
	branch := ""
	if n.Path != "/" {
		branch = indent + "├── "
		if last {
			branch = indent + "└── "
		}
	}
	if n.Linkname != "" {
		arrow := " → "
		if n.Type == "hardlink" {
			arrow = " link to "
		}
		name += arrow + n.Linkname
	}
	fmt.Fprintf(w, "%s %s %9s %8s  %s%s\n", statusMark[n.Status], mode, fmt.Sprintf("%d:%d", n.UID, n.GID), size, branch, name)
	child := indent
	if n.Path != "/" {
		if last {
			child += "    "
		} else {
			child += "│   "
		}
	}
	for i, c := range n.Children {
		writeTree(w, c, child, i == len(n.Children)-1)
	}
}
