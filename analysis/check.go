package analysis

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/berth-engine/berth/image"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
	"github.com/moby/patternmatcher"
	"github.com/moby/sys/signal"
)

// Dockerfile checks are BuildKit's build checks (v0.34.2: the same rule names, messages, URLs
// and controls), then layer-construction rules named after hadolint's, then berth's own.
//
// BuildKit runs four of its rules while parsing (MaintainerDeprecated, StageNameCasing,
// FromAsCasing, InvalidDefinitionDescription): berth passes BuildKit's own linter to
// instructions.Parse for those. The others BuildKit runs while it converts the Dockerfile to
// LLB (dockerfile2llb, which berth does not link: it pulls in gRPC and containerd); they are
// done here over the same parsed instructions, with the same scoping of ARG and ENV, and still
// reported through BuildKit's linter so that `# check=skip=…;error=true`,
// BUILDKIT_DOCKERFILE_CHECK and experimental rules behave as in BuildKit.

// Position is a place in the Dockerfile: 1-based line, 0-based character (BuildKit's).
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is a span of the Dockerfile.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Finding origins.
const (
	OriginBuildKit = "buildkit"
	OriginHadolint = "hadolint"
	OriginBerth    = "berth"
)

// Finding is one rule violated at one place.
type Finding struct {
	Rule        string  `json:"ruleName"`
	Description string  `json:"description,omitempty"`
	URL         string  `json:"url,omitempty"`
	Detail      string  `json:"detail"`
	Line        int     `json:"line"` // first line of the instruction (0 when none)
	Ranges      []Range `json:"ranges,omitempty"`
	Origin      string  `json:"origin"`
	Severity    string  `json:"severity"` // error, warning or info (hadolint's levels; BuildKit's are warnings)
}

// Severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// BuildWarnings are the findings a build shows at its end: all but hadolint's info-level ones.
func (r *CheckResult) BuildWarnings() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity != SeverityInfo {
			out = append(out, f)
		}
	}
	return out
}

// Short is the finding as BuildKit prints it in a build's summary:
// "Rule: detail (line N)".
func (f Finding) Short() string { return linter.LintFormatShort(f.Rule, f.Detail, f.Line) }

// CheckOptions are what the checks need beyond the Dockerfile. All are optional.
type CheckOptions struct {
	Filename  string            // for messages; "Dockerfile" when empty
	BuildArgs map[string]string // --build-arg values
	Target    string            // --target; the last stage when empty
	// AllStages checks every stage (as `build --check` does); otherwise only the stages the
	// target needs are dispatched, as in a build.
	AllStages bool
	// Platform is the target platform; BuildPlatform the build host's. Zero values mean the host.
	Platform, BuildPlatform image.Platform
	// CheckConfig, when set, replaces the Dockerfile's "# check=" directive (the value of the
	// BUILDKIT_DOCKERFILE_CHECK build argument).
	CheckConfig *string
	// DockerIgnore are the .dockerignore patterns of the build context (CopyIgnoredFile).
	DockerIgnore []string
	// BaseImage returns the config of a base image when it is known (in the store): its
	// environment scopes variables (UndefinedVar), its SHELL matters for JSONArgsRecommended, its
	// platform for InvalidBaseImagePlatform. Unknown images start with no environment.
	BaseImage func(ref string) (*image.Config, bool)
}

// CheckResult is what the checks found.
type CheckResult struct {
	Filename string
	Source   []byte
	Findings []Finding // in line order
	// Err is set when the check configuration says error=true and a rule fired
	// ("lint violation found for rules: ..."): a build must then fail.
	Err error
	// BuildError is what would fail the build itself (an invalid STOPSIGNAL, a variable that
	// does not expand): as in BuildKit, the checks stop there and keep what they found before.
	BuildError string
}

// CheckDockerfile runs every check over a Dockerfile. A Dockerfile that does not parse is an error
// (the build would fail on it the same way).
func CheckDockerfile(dt []byte, o CheckOptions) (*CheckResult, error) {
	if o.Filename == "" {
		o.Filename = "Dockerfile"
	}
	if len(dt) == 0 {
		return nil, errors.New("the Dockerfile cannot be empty")
	}
	if o.Platform.OS == "" {
		o.Platform = image.DefaultPlatform()
	}
	if o.BuildPlatform.OS == "" {
		o.BuildPlatform = image.DefaultPlatform()
	}
	res := &CheckResult{Filename: o.Filename, Source: dt}
	var cfg *linter.Config
	var err error
	if o.CheckConfig != nil {
		cfg, err = linter.ParseLintOptions(*o.CheckConfig)
	} else {
		v, _, _, _ := parser.ParseDirective("check", dt)
		cfg, err = linter.ParseLintOptions(v)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to parse check options: %w", err)
	}
	cfg.Warn = func(rule, description, url, msg string, loc []parser.Range) {
		f := Finding{Rule: rule, Description: description, URL: url, Detail: msg, Origin: OriginBuildKit, Severity: SeverityWarning}
		if sev, ok := hadolintSeverity[rule]; ok {
			f.Origin, f.Severity = OriginHadolint, sev
		} else if _, ok := berthRules[rule]; ok {
			f.Origin = OriginBerth
		}
		for _, r := range loc {
			f.Ranges = append(f.Ranges, Range{Position{r.Start.Line, r.Start.Character}, Position{r.End.Line, r.End.Character}})
		}
		if len(loc) > 0 {
			f.Line = loc[0].Start.Line
		}
		res.Findings = append(res.Findings, f)
	}
	lint := linter.New(cfg)

	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, err
	}
	for _, w := range ast.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, errors.New("dockerfile contains no stages to build")
	}
	c := &checker{o: o, lint: lint, stages: stages, metaArgs: metaArgs, lex: shell.NewLex(ast.EscapeToken)}
	validateStageNames(stages, lint)
	validateCommandCasing(stages, lint)
	if err := c.dispatchAll(); err != nil {
		res.BuildError = err.Error()
	} else {
		c.layerRules(dt)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool { return res.Findings[i].Line < res.Findings[j].Line })
	res.Err = lint.Error()
	return res, nil
}

// ---- variables in scope (BuildKit's llb.EnvList, as a value) ----

type kv struct{ k, v string }

// envList is an ordered set of variables; it is a shell.EnvGetter.
type envList []kv

func (e envList) Get(k string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if e[i].k == k {
			return e[i].v, true
		}
	}
	return "", false
}

func (e envList) Keys() []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range e {
		if !seen[x.k] {
			seen[x.k] = true
			out = append(out, x.k)
		}
	}
	return out
}

func (e envList) set(k, v string) envList {
	out := make(envList, 0, len(e)+1)
	for _, x := range e {
		if x.k != k {
			out = append(out, x)
		}
	}
	return append(out, kv{k, v})
}

func envFromImage(cfg *image.Config) envList {
	var e envList
	if cfg == nil || cfg.Config == nil {
		return e
	}
	for _, s := range cfg.Config.Env {
		k, v, _ := strings.Cut(s, "=")
		e = e.set(k, v)
	}
	return e
}

// ---- rules BuildKit runs over all stages before dispatching ----

var reservedStageNames = map[string]struct{}{"context": {}, "scratch": {}}

func validateStageNames(stages []instructions.Stage, lint *linter.Linter) {
	seen := map[string]struct{}{}
	for _, st := range stages {
		if st.Name == "" {
			continue
		}
		if _, ok := reservedStageNames[st.Name]; ok {
			lint.Run(&linter.RuleReservedStageName, st.Location, linter.RuleReservedStageName.Format(st.Name))
		}
		if _, ok := seen[st.Name]; ok {
			lint.Run(&linter.RuleDuplicateStageName, st.Location, linter.RuleDuplicateStageName.Format(st.Name))
		}
		seen[st.Name] = struct{}{}
	}
}

func selfConsistentCasing(s string) bool { return s == strings.ToLower(s) || s == strings.ToUpper(s) }

func validateCommandCasing(stages []instructions.Stage, lint *linter.Linter) {
	var lower, upper int
	count := func(name string) {
		if selfConsistentCasing(name) {
			if strings.ToLower(name) == name {
				lower++
			} else {
				upper++
			}
		}
	}
	for _, st := range stages {
		count(st.OrigCmd)
		for _, cmd := range st.Commands {
			count(cmd.Name())
		}
	}
	majorityLower := lower > upper
	check := func(name string, loc []parser.Range) {
		var want string
		if majorityLower && strings.ToLower(name) != name {
			want = "lowercase"
		} else if !majorityLower && strings.ToUpper(name) != name {
			want = "uppercase"
		}
		if want != "" {
			lint.Run(&linter.RuleConsistentInstructionCasing, loc, linter.RuleConsistentInstructionCasing.Format(name, want))
		}
	}
	for _, st := range stages {
		check(st.OrigCmd, st.Location)
		for _, cmd := range st.Commands {
			check(cmd.Name(), cmd.Location())
		}
	}
}

// ---- dispatch: the rules that need ARG/ENV scopes and the stage graph ----

type tracker struct {
	loc []parser.Range
	set bool
}

// stageState is what dispatching a stage's instructions accumulates.
type stageState struct {
	env        envList
	buildArgs  map[string]struct{} // ARGs declared in the stage (and its base stages)
	workdirSet bool
	shell      []string // the image's SHELL
	cmd        tracker
	entrypoint tracker
	health     tracker
	platform   image.Platform
	dispatched bool
}

type checker struct {
	o        CheckOptions
	lint     *linter.Linter
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	lex      *shell.Lex

	global  envList
	allArgs map[string]struct{}
	bases   []string // each stage's base after expansion
	baseIdx []int    // the earlier stage a stage is built FROM, or -1
	states  []*stageState
	needed  []bool
}

// defaultPathEnv is the PATH BuildKit gives a Linux stage whose image sets none.
const defaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var nonEnvArgs = map[string]struct{}{"BUILDKIT_SBOM_SCAN_CONTEXT": {}, "BUILDKIT_SBOM_SCAN_STAGE": {}}

func platformString(p image.Platform) string { return image.NormalizePlatform(p).String() }

func (c *checker) defaultArgs() envList {
	bp, tp := c.o.BuildPlatform, c.o.Platform
	target := c.o.Target
	if target == "" {
		target = c.stages[len(c.stages)-1].Name
	}
	if target == "" {
		target = "default"
	}
	var e envList
	for _, x := range [][2]string{
		{"BUILDPLATFORM", platformString(bp)}, {"BUILDOS", bp.OS}, {"BUILDOSVERSION", ""}, {"BUILDARCH", bp.Architecture}, {"BUILDVARIANT", bp.Variant},
		{"TARGETPLATFORM", platformString(tp)}, {"TARGETOS", tp.OS}, {"TARGETOSVERSION", ""}, {"TARGETARCH", tp.Architecture}, {"TARGETVARIANT", tp.Variant},
		{"TARGETSTAGE", target},
	} {
		v := x[1]
		if ov, ok := c.o.BuildArgs[x[0]]; ok {
			v = ov
		}
		e = e.set(x[0], v)
	}
	return e
}

// metaArgsEnv is BuildKit's buildMetaArgs: the global ARGs over args, with buildArgs winning.
func (c *checker) metaArgsEnv(args envList, buildArgs map[string]string) (envList, map[string]struct{}, error) {
	all := map[string]struct{}{}
	for _, cmd := range c.metaArgs {
		for _, kp := range cmd.Args {
			var val *string
			if v, ok := buildArgs[kp.Key]; ok {
				val = &v
			} else if kp.Value != nil {
				r, err := c.lex.ProcessWordWithMatches(*kp.Value, args)
				if err != nil {
					return nil, nil, parser.WithLocation(err, cmd.Location())
				}
				val = &r.Result
			}
			if val != nil {
				args = args.set(kp.Key, *val)
			}
			all[kp.Key] = struct{}{}
		}
	}
	return args, all, nil
}

func (c *checker) dispatchAll() error {
	defaults := c.defaultArgs()
	// InvalidDefaultArgInFrom: the base names with no build arguments at all.
	if args, _, err := c.metaArgsEnv(defaults, nil); err == nil {
		for _, st := range c.stages {
			r, err := c.lex.ProcessWordWithMatches(st.BaseName, args)
			if err != nil {
				break
			}
			if _, err := reference.ParseNormalizedNamed(r.Result); err != nil {
				c.lint.Run(&linter.RuleInvalidDefaultArgInFrom, st.Location, linter.RuleInvalidDefaultArgInFrom.Format(st.BaseName))
			}
		}
	}
	var err error
	if c.global, c.allArgs, err = c.metaArgsEnv(defaults, c.o.BuildArgs); err != nil {
		return err
	}
	argKeys := map[string]struct{}{}
	for k := range c.allArgs {
		argKeys[k] = struct{}{}
	}
	for _, k := range c.global.Keys() {
		argKeys[k] = struct{}{}
	}
	names := map[string]int{}
	c.bases = make([]string, len(c.stages))
	c.baseIdx = make([]int, len(c.stages))
	c.states = make([]*stageState, len(c.stages))
	for i, st := range c.stages {
		lint := c.lint.WithMergedConfigFromComments(st.Comments)
		m, err := c.lex.ProcessWordWithMatches(st.BaseName, c.global)
		reportUnusedFromArgs(argKeys, m.Unmatched, st.Location, lint)
		if err != nil {
			return parser.WithLocation(err, st.Location)
		}
		if m.Result == "" {
			return parser.WithLocation(fmt.Errorf("base name (%s) should not be blank", st.BaseName), st.Location)
		}
		c.bases[i] = m.Result
		c.baseIdx[i] = -1
		if j, ok := names[strings.ToLower(m.Result)]; ok {
			c.baseIdx[i] = j
		}
		s := &stageState{buildArgs: map[string]struct{}{}, platform: c.o.Platform}
		c.states[i] = s
		if v := st.Platform; v != "" {
			pm, err := c.lex.ProcessWordWithMatches(v, c.global)
			reportUnusedFromArgs(argKeys, pm.Unmatched, st.Location, lint)
			c.reportRedundantTargetPlatform(v, pm, st.Location, lint)
			c.reportConstPlatform(st.Name, pm, st.Location, lint)
			if err != nil {
				return parser.WithLocation(fmt.Errorf("failed to process arguments for platform %s: %w", pm.Result, err), st.Location)
			}
			if p, err := image.ParsePlatform(pm.Result); err == nil {
				s.platform = p
			}
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = i
		}
	}
	c.markNeeded()
	for i := range c.stages {
		if c.needed[i] {
			if err := c.dispatchStage(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func reportUnusedFromArgs(keys map[string]struct{}, unmatched map[string]struct{}, loc []parser.Range, lint *linter.Linter) {
	var opts []string
	for k := range keys {
		opts = append(opts, k)
	}
	sort.Strings(opts)
	var miss []string
	for k := range unmatched {
		if _, ok := keys[k]; !ok {
			miss = append(miss, k)
		}
	}
	sort.Strings(miss)
	for _, k := range miss {
		s, _ := suggest.Search(k, opts, true)
		lint.Run(&linter.RuleUndefinedArgInFrom, loc, linter.RuleUndefinedArgInFrom.Format(k, s))
	}
}

func (c *checker) reportRedundantTargetPlatform(v string, m shell.ProcessWordResult, loc []parser.Range, lint *linter.Linter) {
	if len(m.Matched) != 1 || len(m.Unmatched) != 0 {
		return
	}
	if _, ok := m.Matched["TARGETPLATFORM"]; !ok {
		return
	}
	if tp, _ := c.global.Get("TARGETPLATFORM"); m.Result == tp {
		lint.Run(&linter.RuleRedundantTargetPlatform, loc, linter.RuleRedundantTargetPlatform.Format(v))
	}
}

func (c *checker) reportConstPlatform(stage string, m shell.ProcessWordResult, loc []parser.Range, lint *linter.Linter) {
	if len(m.Matched) > 0 || len(m.Unmatched) > 0 {
		return
	}
	p, err := image.ParsePlatform(m.Result)
	if err != nil {
		return
	}
	if strings.Contains(stage, p.OS) || strings.Contains(stage, p.Architecture) {
		return
	}
	lint.Run(&linter.RuleFromPlatformFlagConstDisallowed, loc, linter.RuleFromPlatformFlagConstDisallowed.Format(m.Result))
}

// markNeeded finds the stages a build of the target dispatches (all of them with AllStages).
func (c *checker) markNeeded() {
	c.needed = make([]bool, len(c.stages))
	if c.o.AllStages {
		for i := range c.needed {
			c.needed[i] = true
		}
		return
	}
	target := len(c.stages) - 1
	if c.o.Target != "" {
		for i, st := range c.stages {
			if strings.EqualFold(st.Name, c.o.Target) {
				target = i
			}
		}
	}
	var visit func(i int)
	visit = func(i int) {
		if c.needed[i] {
			return
		}
		c.needed[i] = true
		if b := c.baseIdx[i]; b >= 0 {
			visit(b)
		}
		for _, cmd := range c.stages[i].Commands {
			var froms []string
			switch x := cmd.(type) {
			case *instructions.CopyCommand:
				froms = append(froms, x.From)
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(x) {
					froms = append(froms, m.From)
				}
			}
			for _, f := range froms {
				if j := c.stageIndex(f, i); j >= 0 {
					visit(j)
				}
			}
		}
	}
	visit(target)
}

func (c *checker) stageIndex(ref string, before int) int {
	if ref == "" {
		return -1
	}
	for j := 0; j < before; j++ {
		if strings.EqualFold(c.stages[j].Name, ref) || fmt.Sprint(j) == ref {
			return j
		}
	}
	return -1
}

func (c *checker) dispatchStage(i int) error {
	st := c.stages[i]
	s := c.states[i]
	if b := c.baseIdx[i]; b >= 0 && c.states[b].dispatched {
		base := c.states[b]
		s.env = append(envList{}, base.env...)
		s.workdirSet = base.workdirSet
		s.shell = base.shell
		s.platform = base.platform
		for k := range base.buildArgs {
			s.buildArgs[k] = struct{}{}
		}
	} else if !strings.EqualFold(c.bases[i], "scratch") && c.o.BaseImage != nil {
		if cfg, ok := c.o.BaseImage(c.bases[i]); ok {
			s.env = envFromImage(cfg)
			if cfg.Config != nil {
				s.shell = cfg.Config.Shell
			}
			// An image that does not say its architecture fits any (as image.Platform.Runs).
			have, want := image.PlatformOf(cfg), image.NormalizePlatform(s.platform)
			if have.Architecture != "" && (have.OS != want.OS || have.Architecture != want.Architecture) {
				c.lint.Run(&linter.RuleInvalidBaseImagePlatform, st.Location,
					linter.RuleInvalidBaseImagePlatform.Format(st.BaseName, platformString(want), platformString(have)))
			}
		}
	}
	// BuildKit makes sure every stage has a PATH (not on Windows).
	if _, ok := s.env.Get("PATH"); !ok && s.platform.OS != "windows" {
		s.env = s.env.set("PATH", defaultPathEnv)
	}
	s.dispatched = true
	for _, cmd := range st.Commands {
		if err := c.dispatch(s, cmd); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) reportUnmatched(cmd instructions.Command, s *stageState, env envList, unmatched map[string]struct{}, lint *linter.Linter) {
	var miss []string
	for k := range unmatched {
		if _, ok := s.buildArgs[k]; ok {
			continue
		}
		if _, ok := nonEnvArgs[k]; ok {
			continue
		}
		miss = append(miss, k)
	}
	sort.Strings(miss)
	for _, k := range miss {
		m, _ := suggest.Search(k, env.Keys(), true)
		lint.Run(&linter.RuleUndefinedVar, cmd.Location(), linter.RuleUndefinedVar.Format(k, m))
	}
}

func (c *checker) dispatch(s *stageState, cmd instructions.Command) error {
	lint := c.lint.WithMergedConfigFromComments(cmd.Comments())
	if _, isArg := cmd.(*instructions.ArgCommand); !isArg {
		if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
			if err := ex.Expand(func(word string) (string, error) {
				w, unmatched, err := c.lex.ProcessWord(word, s.env)
				c.reportUnmatched(cmd, s, s.env, unmatched, lint)
				return w, err
			}); err != nil {
				return parser.WithLocation(err, cmd.Location())
			}
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(func(word string) (string, error) {
			lex := shell.NewLex('\\')
			lex.SkipProcessQuotes = true
			w, unmatched, err := lex.ProcessWord(word, s.env)
			c.reportUnmatched(cmd, s, s.env, unmatched, lint)
			return w, err
		}); err != nil {
			return parser.WithLocation(err, cmd.Location())
		}
	}
	switch x := cmd.(type) {
	case *instructions.EnvCommand:
		for _, e := range x.Env {
			if e.NoDelim {
				lint.Run(&linter.RuleLegacyKeyValueFormat, x.Location(), linter.RuleLegacyKeyValueFormat.Format(x.Name()))
			}
			validateNoSecretKey("ENV", e.Key, x.Location(), lint)
			s.env = s.env.set(e.Key, e.Value)
		}
	case *instructions.LabelCommand:
		for _, l := range x.Labels {
			if l.NoDelim {
				lint.Run(&linter.RuleLegacyKeyValueFormat, x.Location(), linter.RuleLegacyKeyValueFormat.Format(x.Name()))
			}
		}
	case *instructions.WorkdirCommand:
		if !s.workdirSet && !isAbs(x.Path, s.platform.OS) {
			lint.Run(&linter.RuleWorkdirRelativePath, x.Location(), linter.RuleWorkdirRelativePath.Format(x.Path))
		}
		s.workdirSet = true
	case *instructions.CmdCommand:
		usedOnce(x, &s.cmd, lint)
		if x.PrependShell && len(s.shell) == 0 {
			lint.Run(&linter.RuleJSONArgsRecommended, x.Location(), linter.RuleJSONArgsRecommended.Format(x.Name()))
		}
	case *instructions.EntrypointCommand:
		usedOnce(x, &s.entrypoint, lint)
		if x.PrependShell && len(s.shell) == 0 {
			lint.Run(&linter.RuleJSONArgsRecommended, x.Location(), linter.RuleJSONArgsRecommended.Format(x.Name()))
		}
	case *instructions.HealthCheckCommand:
		usedOnce(x, &s.health, lint)
	case *instructions.VolumeCommand:
		for _, v := range x.Volumes {
			if v == "" {
				return errors.New("VOLUME specified can not be an empty string")
			}
		}
	case *instructions.StopSignalCommand:
		if _, err := signal.ParseSignal(x.Signal); err != nil {
			return parser.WithLocation(err, x.Location())
		}
	case *instructions.ShellCommand:
		s.shell = x.Shell
	case *instructions.ExposeCommand:
		for _, p := range x.Ports {
			ps, err := c.lex.ProcessWords(p, s.env)
			if err != nil {
				return parser.WithLocation(err, x.Location())
			}
			for _, raw := range ps {
				if err := checkExposePort(raw, x.Location(), lint); err != nil {
					return parser.WithLocation(err, x.Location())
				}
			}
		}
	case *instructions.ArgCommand:
		for _, a := range x.Args {
			validateNoSecretKey("ARG", a.Key, x.Location(), lint)
			var val *string
			if v, ok := c.o.BuildArgs[a.Key]; ok {
				val = &v
			} else if a.Value != nil {
				v, unmatched, err := c.lex.ProcessWord(*a.Value, s.env)
				c.reportUnmatched(x, s, s.env, unmatched, lint)
				if err != nil {
					return parser.WithLocation(err, x.Location())
				}
				val = &v
			} else if v, ok := c.global.Get(a.Key); ok {
				val = &v
			}
			if val != nil {
				if _, ok := nonEnvArgs[a.Key]; !ok {
					s.env = s.env.set(a.Key, *val)
				}
			}
			s.buildArgs[a.Key] = struct{}{}
		}
	case *instructions.CopyCommand:
		if x.From == "" {
			c.checkIgnored("Copy", x.SourcePaths, x.Location(), lint)
		}
	case *instructions.AddCommand:
		var local []string
		for _, src := range x.SourcePaths {
			if !isURLSource(src) {
				local = append(local, src)
			}
		}
		c.checkIgnored("Add", local, x.Location(), lint)
	}
	return nil
}

func isAbs(p, os string) bool {
	if os == "windows" {
		return len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, "\\") || strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, "/")
}

func isURLSource(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "git@") ||
		strings.HasPrefix(src, "git://") || strings.HasSuffix(src, ".git") && strings.Contains(src, "://")
}

func usedOnce(cmd instructions.Command, t *tracker, lint *linter.Linter) {
	if t.set {
		// The earlier one is the instruction that is ignored, so it is the one reported.
		lint.Run(&linter.RuleMultipleInstructionsDisallowed, t.loc, linter.RuleMultipleInstructionsDisallowed.Format(cmd.Name()))
	}
	t.loc, t.set = cmd.Location(), true
}

// checkExposePort runs the EXPOSE rules on one port spec; a spec BuildKit rejects is an error.
func checkExposePort(raw string, loc []parser.Range, lint *linter.Linter) error {
	parts := strings.Split(raw, ":")
	var ip, hostPort, container string
	switch n := len(parts); n {
	case 1:
		container = parts[0]
	case 2:
		hostPort, container = parts[0], parts[1]
	default:
		ip, hostPort, container = strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
	}
	port, proto, _ := strings.Cut(container, "/")
	if port == "" {
		return fmt.Errorf("invalid port: %q: no port specified", raw)
	}
	switch strings.ToLower(proto) {
	case "", "tcp", "udp", "sctp":
	default:
		return fmt.Errorf("invalid port: %q: invalid proto: %s", raw, proto)
	}
	if proto != strings.ToLower(proto) {
		lint.Run(&linter.RuleExposeProtoCasing, loc, linter.RuleExposeProtoCasing.Format(raw))
	}
	if ip != "" || hostPort != "" {
		lint.Run(&linter.RuleExposeInvalidFormat, loc, linter.RuleExposeInvalidFormat.Format(raw))
	}
	return nil
}

func (c *checker) checkIgnored(cmd string, srcs []string, loc []parser.Range, lint *linter.Linter) {
	if len(c.o.DockerIgnore) == 0 || len(srcs) == 0 {
		return
	}
	pm, err := patternmatcher.New(c.o.DockerIgnore)
	if err != nil || pm.Exclusions() {
		return // exclusions cannot be judged statically, as in BuildKit
	}
	for _, src := range srcs {
		src = cleanSlash(src)
		if src == "." || src == "/" {
			if !rootIgnored(pm) {
				continue
			}
		}
		if ok, err := pm.MatchesOrParentMatches(src); err == nil && ok {
			lint.Run(&linter.RuleCopyIgnoredFile, loc, linter.RuleCopyIgnoredFile.Format(cmd, src))
		}
	}
}

func cleanSlash(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	if p == "" {
		return "."
	}
	abs := strings.HasPrefix(p, "/")
	var out []string
	for _, e := range strings.Split(p, "/") {
		switch e {
		case "", ".":
		case "..":
			if len(out) > 0 && out[len(out)-1] != ".." {
				out = out[:len(out)-1]
			} else if !abs {
				out = append(out, "..")
			}
		default:
			out = append(out, e)
		}
	}
	s := strings.Join(out, "/")
	if abs {
		return "/" + s
	}
	if s == "" {
		return "."
	}
	return s
}

func rootIgnored(pm *patternmatcher.PatternMatcher) bool {
	for _, p := range pm.Patterns() {
		if p.Exclusion() {
			continue
		}
		switch p.String() {
		case "*", "**", "**/*":
			return true
		}
	}
	return false
}

var secretTokens = []string{"apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd", "secret", "token"}
var allowTokens = []string{"public", "file", "version"}

// hasToken reports whether key, split at underscores, has one of tokens as its whole value, first
// word or last word (BuildKit's (?i)(?:_|^)(?:tokens)(?:_|$), which also matches a middle word).
func hasToken(key string, tokens []string) bool {
	for _, w := range strings.Split(strings.ToLower(key), "_") {
		for _, t := range tokens {
			if w == t {
				return true
			}
		}
	}
	return false
}

func validateNoSecretKey(instruction, key string, loc []parser.Range, lint *linter.Linter) {
	if hasToken(key, secretTokens) && !hasToken(key, allowTokens) {
		lint.Run(&linter.RuleSecretsUsedInArgOrEnv, loc, linter.RuleSecretsUsedInArgOrEnv.Format(instruction, key))
	}
}
