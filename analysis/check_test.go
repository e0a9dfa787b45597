package analysis

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/checks")

// checkOptions are the options every golden Dockerfile is checked with: a fixed platform, every
// stage, a .dockerignore hiding secret.txt, and base images known to be linux/arm64 only for
// the InvalidBaseImagePlatform case.
func checkOptions(name string) CheckOptions {
	amd64 := image.Platform{OS: "linux", Architecture: "amd64"}
	o := CheckOptions{AllStages: true, Platform: amd64, BuildPlatform: amd64, DockerIgnore: []string{"secret.txt"}}
	if name == "InvalidBaseImagePlatform" {
		o.BaseImage = func(ref string) (*image.Config, bool) {
			return &image.Config{OS: "linux", Architecture: "arm64", Config: &image.ContainerConfig{Env: []string{"PATH=/bin"}}}, true
		}
	}
	return o
}

func findingLines(r *CheckResult) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.Origin + " " + f.Short() + "\n")
	}
	if r.Err != nil {
		b.WriteString("error: " + r.Err.Error() + "\n")
	}
	if r.BuildError != "" {
		b.WriteString("build error: " + r.BuildError + "\n")
	}
	return b.String()
}

// allRules are BuildKit's 22 build checks of v0.34.2, the hadolint-named rules and berth's own:
// each has a golden Dockerfile of its name that must trigger it.
var allRules = map[string]bool{}

func init() {
	for _, r := range strings.Fields(`StageNameCasing FromAsCasing NoEmptyContinuation ConsistentInstructionCasing
		DuplicateStageName ReservedStageName JSONArgsRecommended MaintainerDeprecated UndefinedArgInFrom
		WorkdirRelativePath UndefinedVar MultipleInstructionsDisallowed LegacyKeyValueFormat
		InvalidBaseImagePlatform RedundantTargetPlatform SecretsUsedInArgOrEnv InvalidDefaultArgInFrom
		FromPlatformFlagConstDisallowed CopyIgnoredFile InvalidDefinitionDescription ExposeProtoCasing
		ExposeInvalidFormat
		DL3008 DL3009 DL3015 DL3059 DL4006 DL3003 DL3006 DL3007 DL3020 DL3025 DL3002
		ContextCopyBeforeInstall PackageCacheInLayer`) {
		allRules[r] = true
	}
}

func TestEveryRuleHasAGoldenDockerfile(t *testing.T) {
	if len(allRules) != 22+11+2 {
		t.Fatalf("%d rules", len(allRules))
	}
	for r := range allRules {
		if _, err := os.Stat("testdata/checks/" + r + ".Dockerfile"); err != nil {
			t.Errorf("rule %s: %v", r, err)
		}
	}
}

// Every rule has a Dockerfile that triggers it (and, for most, a variant right beside it that
// does not); Clean triggers nothing. The golden files were checked by hand against the rules'
// definitions, and BuildKit's own rules against BuildKit (see oracletest).
func TestCheckGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/checks/*.Dockerfile")
	if len(files) < 30 {
		t.Fatalf("only %d golden Dockerfiles", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".Dockerfile")
		t.Run(name, func(t *testing.T) {
			dt, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := CheckDockerfile(dt, checkOptions(name))
			if err != nil {
				t.Fatal(err)
			}
			got := findingLines(r)
			golden := strings.TrimSuffix(f, ".Dockerfile") + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("findings\n got:\n%s\nwant:\n%s", got, want)
			}
			if name == "Clean" && got != "" {
				t.Errorf("the clean Dockerfile has findings")
			}
			if allRules[name] && !strings.Contains(got, " "+name+": ") {
				t.Errorf("%s does not trigger its rule", name)
			}
		})
	}
}
