// Package build is berth's Dockerfile executor. BuildKit's parser and instructions turn a
// Dockerfile into typed commands (Plan); this package runs the stages the target needs, writes
// COPY/ADD/WORKDIR layers directly as tars (no container), keeps a persistent step cache in the
// store, and records the final image with a config and history shaped like BuildKit's.
package build

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/image"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// PlanOptions are the inputs that decide which stages run and what the global ARGs hold.
type PlanOptions struct {
	Name      string            // the Dockerfile's name, for errors ("Dockerfile")
	BuildArgs map[string]string // --build-arg values
	Target    string            // --target; "" is the last stage
	Platform  string            // "os/arch[/variant]"; "" is this machine's
}

// Plan is a parsed Dockerfile with its stages resolved: what a build will run, computed
// without touching any store (so it can be fuzzed).
type Plan struct {
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	Escape   rune
	Target   int      // index of the target stage
	Needed   []bool   // stages the target needs, directly or through FROM / COPY --from
	Deps     [][]int  // the earlier stages each stage needs (its FROM and COPY --from stages)
	Bases    []string // each stage's FROM after ARG expansion
	BaseIdx  []int    // the earlier stage a stage is built FROM, -1 for an image or scratch
	Global   map[string]string
	// Platform is the build's target platform (--platform, else this machine's): TARGETPLATFORM,
	// and what a stage without FROM --platform is for. Explicit says --platform was given.
	Platform platformArgs
	Explicit bool
	// Platforms is each stage's platform: its FROM --platform (expanded with the global ARGs),
	// the platform of the stage it is built FROM, or else Platform.
	Platforms []platformArgs

	lines []string
	name  string
}

type platformArgs struct{ OS, Arch, Variant string }

func fromImagePlatform(p image.Platform) platformArgs {
	return platformArgs{OS: p.OS, Arch: p.Architecture, Variant: p.Variant}
}

func (p platformArgs) image() image.Platform {
	return image.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant}
}

func (p platformArgs) String() string { return p.image().String() }

// predefined are the ARGs BuildKit defines itself (available to FROM; inside a stage after a bare
// `ARG NAME`).
func (p platformArgs) predefined() map[string]string {
	host := fromImagePlatform(image.DefaultPlatform())
	return map[string]string{
		"TARGETPLATFORM": p.String(), "TARGETOS": p.OS, "TARGETARCH": p.Arch, "TARGETVARIANT": p.Variant,
		"BUILDPLATFORM": host.String(), "BUILDOS": host.OS, "BUILDARCH": host.Arch, "BUILDVARIANT": host.Variant,
	}
}

// ParsePlan parses a Dockerfile and resolves its stages. Errors name the file and line.
func ParsePlan(dockerfile []byte, o PlanOptions) (*Plan, error) {
	name := o.Name
	if name == "" {
		name = "Dockerfile"
	}
	p := &Plan{name: name, lines: strings.Split(string(dockerfile), "\n")}
	plat, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	p.Platform, p.Explicit = plat, o.Platform != ""
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, p.locErr(err, 0)
	}
	p.Escape = res.EscapeToken
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, p.locErr(err, 0)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: file with no instructions", name)
	}
	p.Stages, p.MetaArgs = stages, metaArgs

	// Global ARGs: predefined platform values, then each ARG before the first FROM in order.
	lex := shell.NewLex(p.Escape)
	p.Global = plat.predefined()
	for _, ma := range metaArgs {
		for _, kv := range ma.Args {
			v, ok := o.BuildArgs[kv.Key]
			if !ok && kv.Value != nil {
				x, _, err := lex.ProcessWord(*kv.Value, envGetter(p.Global))
				if err != nil {
					return nil, p.locErr(err, lineOf(ma.Location()))
				}
				v, ok = x, true
			}
			if ok {
				p.Global[kv.Key] = v
			} else if _, pre := p.Global[kv.Key]; !pre {
				p.Global[kv.Key] = ""
			}
		}
	}
	names := map[string]int{}
	p.Bases = make([]string, len(stages))
	p.BaseIdx = make([]int, len(stages))
	p.Platforms = make([]platformArgs, len(stages))
	for i, st := range stages {
		base, _, err := lex.ProcessWord(st.BaseName, envGetter(p.Global))
		if err != nil {
			return nil, p.locErr(err, lineOf(st.Location))
		}
		if base == "" {
			return nil, p.errAt(lineOf(st.Location), "base name (%s) should not be blank", st.BaseName)
		}
		p.Bases[i] = base
		p.BaseIdx[i] = -1
		p.Platforms[i] = plat
		if st.Platform != "" {
			// As BuildKit: expanded with the global ARGs (BUILDPLATFORM, TARGETPLATFORM...).
			v, _, err := lex.ProcessWord(st.Platform, envGetter(p.Global))
			if err != nil {
				return nil, p.errAt(lineOf(st.Location), "failed to process arguments for platform %s: %v", st.Platform, err)
			}
			sp, err := image.ParsePlatform(v)
			if err != nil {
				return nil, p.errAt(lineOf(st.Location), "failed to parse platform %s: %v", v, err)
			}
			p.Platforms[i] = fromImagePlatform(sp)
		}
		if j, ok := names[strings.ToLower(base)]; ok {
			p.BaseIdx[i] = j
			// A stage built FROM another one is for that stage's platform (BuildKit ignores
			// its own --platform).
			p.Platforms[i] = p.Platforms[j]
		}
		if st.Name != "" {
			if _, dup := names[st.Name]; dup {
				return nil, p.errAt(lineOf(st.Location), "duplicate stage name %q", st.Name)
			}
			names[st.Name] = i
		}
	}
	p.Target = len(stages) - 1
	if o.Target != "" {
		j, ok := names[strings.ToLower(o.Target)]
		if !ok {
			return nil, fmt.Errorf("target stage %q could not be found", o.Target)
		}
		p.Target = j
	}
	p.Needed = make([]bool, len(stages))
	p.Deps = make([][]int, len(stages))
	var visit func(i int) error
	visit = func(i int) error {
		if p.Needed[i] {
			return nil
		}
		p.Needed[i] = true
		if b := p.BaseIdx[i]; b >= 0 {
			p.Deps[i] = append(p.Deps[i], b)
			if err := visit(b); err != nil {
				return err
			}
		}
		for _, c := range stages[i].Commands {
			var froms []string
			switch c := c.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					froms = append(froms, c.From)
				}
			case *instructions.RunCommand:
				// RUN --mount=from=STAGE needs that stage. Mount flags are expanded again with
				// the stage's variables when the RUN runs.
				if c.Expand(func(w string) (string, error) {
					x, _, err := lex.ProcessWord(w, envGetter(p.Global))
					return x, err
				}) == nil {
					for _, m := range instructions.GetMounts(c) {
						if m.From != "" && m.Type != instructions.MountTypeSecret && m.Type != instructions.MountTypeSSH {
							froms = append(froms, m.From)
						}
					}
				}
			}
			for _, f := range froms {
				from, _, err := lex.ProcessWord(f, envGetter(p.Global))
				if err != nil {
					return p.locErr(err, lineOf(c.Location()))
				}
				j, isStage, err := p.stageRef(from, i)
				if err != nil {
					return p.errAt(lineOf(c.Location()), "%s: %v", text(c), err)
				}
				if isStage {
					p.Deps[i] = append(p.Deps[i], j)
					if err := visit(j); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := visit(p.Target); err != nil {
		return nil, err
	}
	return p, nil
}

// stageRef resolves a COPY --from value used in stage cur: an earlier stage by name or index, or
// else an image reference (isStage false).
func (p *Plan) stageRef(from string, cur int) (idx int, isStage bool, err error) {
	if n, err := strconv.Atoi(from); err == nil {
		if n < 0 || n >= cur {
			return 0, false, fmt.Errorf("invalid from flag value %s: stage index %d is not an earlier stage", from, n)
		}
		return n, true, nil
	}
	lower := strings.ToLower(from)
	for j := 0; j < len(p.Stages); j++ {
		if p.Stages[j].Name == lower {
			if j >= cur {
				return 0, false, fmt.Errorf("stage %q is not defined before it is used (circular dependency)", from)
			}
			return j, true, nil
		}
	}
	if strings.ContainsAny(from, " \t") || from == "" {
		return 0, false, fmt.Errorf("invalid from flag value %q", from)
	}
	return 0, false, nil
}

// StageName is the name progress shows for stage i ("" for a lone unnamed stage).
func (p *Plan) StageName(i int) string {
	if p.Stages[i].Name != "" {
		return p.Stages[i].Name
	}
	if len(p.Stages) > 1 {
		return fmt.Sprintf("stage-%d", i)
	}
	return ""
}

// ValidatePlatform checks a --platform value the way a build reads it.
func ValidatePlatform(s string) error {
	_, err := parsePlatform(s)
	return err
}

// parsePlatform reads the build's --platform ("" is this machine's platform), normalized the way
// BuildKit does it (linux/arm64/v8 is linux/arm64; linux/arm is linux/arm/v7). A bad one fails
// with BuildKit's words: failed to parse platform foo: "foo": unknown operating system or
// architecture: invalid argument.
func parsePlatform(s string) (platformArgs, error) {
	if s == "" {
		return fromImagePlatform(image.DefaultPlatform()), nil
	}
	p, err := image.ParsePlatform(s)
	if err != nil {
		return platformArgs{}, fmt.Errorf("failed to parse platform %s: %w", s, err)
	}
	return fromImagePlatform(p), nil
}

func lineOf(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// locErr turns a parser or instruction error into "Dockerfile:LINE: message (in "source line")".
func (p *Plan) locErr(err error, line int) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if i := strings.Index(msg, "dockerfile parse error on line "); i >= 0 {
		rest := msg[i+len("dockerfile parse error on line "):]
		if j := strings.Index(rest, ": "); j >= 0 {
			msg = msg[:i] + rest[j+2:]
		}
	}
	return p.errAt(line, "%s", msg)
}

func (p *Plan) errAt(line int, f string, args ...any) error {
	msg := fmt.Sprintf(f, args...)
	if line <= 0 {
		return fmt.Errorf("%s: %s", p.name, msg)
	}
	src := ""
	if line-1 < len(p.lines) {
		src = strings.TrimSpace(p.lines[line-1])
	}
	if src != "" && !strings.Contains(msg, src) {
		return fmt.Errorf("%s:%d: %s (in %q)", p.name, line, msg, src)
	}
	return fmt.Errorf("%s:%d: %s", p.name, line, msg)
}

type envGetter map[string]string

func (e envGetter) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envGetter) Keys() []string {
	out := make([]string, 0, len(e))
	for k := range e {
		out = append(out, k)
	}
	return out
}
