package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/berth-engine/berth/analysis"
	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/image"
)

// printBuildWarnings ends a build's output with its check findings the way buildx does
// (" 2 warnings found ...:" then " - Rule: detail (line N)"); the details are `build --check`'s.
func printBuildWarnings(w io.Writer, warnings []analysis.Finding) {
	if len(warnings) == 0 {
		return
	}
	if len(warnings) == 1 {
		fmt.Fprintf(w, "\n 1 warning found (use --check to expand):\n")
	} else {
		fmt.Fprintf(w, "\n %d warnings found (use --check to expand):\n", len(warnings))
	}
	for _, f := range warnings {
		fmt.Fprintf(w, " - %s\n", f.Short())
	}
}

// sarifURI names the Dockerfile in a SARIF log as code scanning wants it: the path the user gave,
// relative to where berth runs, when it is relative; else its file name.
func sarifURI(o build.Options) string {
	p := o.DockerfilePath
	if p == "" {
		p = filepath.Join(o.ContextDir, "Dockerfile")
	}
	if filepath.IsAbs(p) || o.Dockerfile != nil {
		return filepath.Base(p)
	}
	return filepath.ToSlash(filepath.Clean(p))
}

// runCheck is `build --check`: findings on stdout, exit 1 when there is any.
func runCheck(g *Globals, s *image.Store, o build.Options, format string) error {
	switch format {
	case "text", "json", "sarif":
	default:
		return fmt.Errorf("invalid --check-format %q: want text, json or sarif", format)
	}
	res, err := build.Check(s, o)
	if err != nil {
		return err
	}
	switch format {
	case "json", "sarif":
		var doc any = res.BuildKitJSON()
		if format == "sarif" {
			doc = res.SARIF(sarifURI(o))
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "%s\n", b)
	default:
		for _, l := range res.Lines() {
			fmt.Fprintln(g.Stdout, l)
		}
		switch n := len(res.Findings); n {
		case 0:
			fmt.Fprintln(g.Stdout, "Check complete, no warnings found.")
		case 1:
			fmt.Fprintln(g.Stdout, "Check complete, 1 warning has been found!")
		default:
			fmt.Fprintf(g.Stdout, "Check complete, %d warnings have been found!\n", n)
		}
	}
	if res.Err != nil {
		return &StatusError{Code: 1, Err: res.Err}
	}
	if len(res.Findings) > 0 || res.BuildError != "" {
		return &StatusError{Code: 1, Err: errors.New("")}
	}
	return nil
}
