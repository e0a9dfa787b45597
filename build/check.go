package build

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-engine/berth/analysis"
	"github.com/berth-engine/berth/image"
	"github.com/moby/patternmatcher"
)

// checkArg is the build argument that replaces a Dockerfile's "# check=" directive, as in BuildKit.
const checkArg = "BUILDKIT_DOCKERFILE_CHECK"

// readDockerfile returns the Dockerfile of a build and its file name.
func readDockerfile(o *Options) ([]byte, string, error) {
	if o.DockerfilePath == "" {
		o.DockerfilePath = filepath.Join(o.ContextDir, "Dockerfile")
	}
	name := filepath.Base(o.DockerfilePath)
	if o.Dockerfile != nil {
		return o.Dockerfile, name, nil
	}
	b, err := os.ReadFile(o.DockerfilePath)
	if err != nil {
		return nil, name, fmt.Errorf("failed to read dockerfile: %w", err)
	}
	return b, name, nil
}

func ignorePatterns(pm *patternmatcher.PatternMatcher) []string {
	if pm == nil {
		return nil
	}
	var out []string
	for _, p := range pm.Patterns() {
		s := p.String()
		if p.Exclusion() {
			s = "!" + s
		}
		out = append(out, s)
	}
	return out
}

// checkOptions are the Dockerfile checks' view of a build: its arguments, target, platform,
// .dockerignore, and the base images the store already holds.
func checkOptions(s *image.Store, o Options, name string, ignore *patternmatcher.PatternMatcher, all bool) (analysis.CheckOptions, error) {
	co := analysis.CheckOptions{Filename: name, BuildArgs: o.BuildArgs, Target: o.Target, AllStages: all,
		DockerIgnore: ignorePatterns(ignore), BuildPlatform: image.DefaultPlatform(), Platform: image.DefaultPlatform()}
	if o.Platform != "" {
		p, err := image.ParsePlatform(o.Platform)
		if err != nil {
			return co, err
		}
		co.Platform = p
	}
	if v, ok := o.BuildArgs[checkArg]; ok {
		co.CheckConfig = &v
	}
	if s != nil {
		co.BaseImage = func(ref string) (*image.Config, bool) {
			id, err := s.Resolve(ref)
			if err != nil {
				return nil, false
			}
			img, err := s.Get(id)
			if err != nil {
				return nil, false
			}
			return img.Config, true
		}
	}
	return co, nil
}

// Check runs the Dockerfile checks of a build without building it (`build --check`): every
// stage, BuildKit's rules and berth's layer rules.
func Check(s *image.Store, o Options) (*analysis.CheckResult, error) {
	df, name, err := readDockerfile(&o)
	if err != nil {
		return nil, err
	}
	if _, err := ParsePlan(df, PlanOptions{Name: name, BuildArgs: o.BuildArgs, Target: o.Target, Platform: o.Platform}); err != nil {
		return nil, err
	}
	ignore, _, err := loadIgnore(o.ContextDir, o.DockerfilePath)
	if err != nil {
		return nil, err
	}
	co, err := checkOptions(s, o, name, ignore, true)
	if err != nil {
		return nil, err
	}
	return analysis.CheckDockerfile(df, co)
}
