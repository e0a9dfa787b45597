package analysis

import "strings"

// The documents below are check results as CI and code-scanning tools read them.

type bkPosition struct {
	Line      int `json:"line,omitempty"`
	Character int `json:"character,omitempty"`
}

type bkRange struct {
	Start *bkPosition `json:"start,omitempty"`
	End   *bkPosition `json:"end,omitempty"`
}

type bkLocation struct {
	SourceIndex int       `json:"sourceIndex,omitempty"`
	Ranges      []bkRange `json:"ranges,omitempty"`
}

type bkWarning struct {
	RuleName    string      `json:"ruleName"`
	Description string      `json:"description,omitempty"`
	URL         string      `json:"url,omitempty"`
	Detail      string      `json:"detail,omitempty"`
	Location    *bkLocation `json:"location,omitempty"`
}

type bkSource struct {
	Filename string `json:"filename,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Language string `json:"language,omitempty"`
}

// LintResults is the shape of BuildKit's lint result (`docker build --check` with
// `--call check,format=json`): warnings pointing into sources.
type LintResults struct {
	Warnings []bkWarning `json:"warnings"`
	Sources  []bkSource  `json:"sources"`
	Error    *bkBuildErr `json:"buildError,omitempty"`
}

type bkBuildErr struct {
	Message string `json:"message"`
}

// BuildKitJSON is the result as BuildKit's lint subrequest writes result.json.
func (r *CheckResult) BuildKitJSON() LintResults {
	out := LintResults{Warnings: []bkWarning{}, Sources: []bkSource{{Filename: r.Filename, Data: r.Source, Language: "Dockerfile"}}}
	for _, f := range r.Findings {
		w := bkWarning{RuleName: f.Rule, Description: f.Description, URL: f.URL, Detail: f.Detail, Location: &bkLocation{}}
		for _, rg := range f.Ranges {
			w.Location.Ranges = append(w.Location.Ranges, bkRange{
				Start: &bkPosition{rg.Start.Line, rg.Start.Character}, End: &bkPosition{rg.End.Line, rg.End.Character}})
		}
		out.Warnings = append(out.Warnings, w)
	}
	if r.BuildError != "" {
		out.Error = &bkBuildErr{Message: r.BuildError}
	}
	return out
}

// SARIF 2.1.0, the subset code-scanning services read.
type (
	SARIF struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		Name             string       `json:"name"`
		ShortDescription sarifMessage `json:"shortDescription"`
		HelpURI          string       `json:"helpUri,omitempty"`
		Properties       sarifProps   `json:"properties"`
	}
	sarifProps struct {
		Tags []string `json:"tags"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifMessage    `json:"message"`
		Locations []sarifLocation `json:"locations"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
		EndLine   int `json:"endLine,omitempty"`
	}
)

// SARIF is the result as a SARIF 2.1.0 log; uri is how the Dockerfile is named in it (a path
// relative to the repository root, for code scanning). Levels follow the findings' severities
// (info is SARIF's "note"); all are errors when the check configuration says error=true.
func (r *CheckResult) SARIF(uri string) SARIF {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "berth", InformationURI: "https://docs.docker.com/reference/build-checks/", Rules: []sarifRule{}}},
		Results: []sarifResult{}}
	index := map[string]int{}
	for _, f := range r.Findings {
		i, ok := index[f.Rule]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[f.Rule] = i
			desc := f.Description
			if desc == "" {
				desc = f.Detail
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: f.Rule, Name: f.Rule,
				ShortDescription: sarifMessage{desc}, HelpURI: f.URL, Properties: sarifProps{Tags: []string{"dockerfile", f.Origin}}})
		}
		end := f.Line
		for _, rg := range f.Ranges {
			if rg.End.Line > end {
				end = rg.End.Line
			}
		}
		line := f.Line
		if line < 1 {
			line, end = 1, 1
		}
		level := "warning"
		switch {
		case r.Err != nil || f.Severity == SeverityError:
			level = "error"
		case f.Severity == SeverityInfo:
			level = "note"
		}
		run.Results = append(run.Results, sarifResult{RuleID: f.Rule, RuleIndex: i, Level: level, Message: sarifMessage{f.Detail},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: strings.TrimPrefix(uri, "./")},
				Region: sarifRegion{StartLine: line, EndLine: end}}}}})
	}
	return SARIF{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
}

// Lines is the result one line per finding: "Dockerfile:LINE RULE: DETAIL (URL)", and the error
// that would fail the build last ("ERROR: ...").
func (r *CheckResult) Lines() []string {
	var out []string
	for _, f := range r.Findings {
		l := r.Filename + ":" + itoa(f.Line) + " " + f.Rule + ": " + f.Detail
		if f.URL != "" {
			l += " (" + f.URL + ")"
		}
		out = append(out, l)
	}
	if r.BuildError != "" {
		out = append(out, "ERROR: "+r.BuildError)
	}
	return out
}
