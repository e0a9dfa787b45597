package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A build ends with its check warnings as buildx prints them; --check prints them one per line
// (or as BuildKit's JSON, or SARIF) without building and exits 1; error=true fails a build
// before any step and records nothing.
func TestBuildChecks(t *testing.T) {
	root, ctx := buildFixture(t, "FROM base:1 AS Build\nCOPY f /f\nCMD x\n")

	out, errs, code := slRun(t, nil, "--root", root, "build", "--progress", "plain", "-t", "warned:1", ctx)
	want := "\n 3 warnings found (use --check to expand):\n" +
		" - StageNameCasing: Stage name 'Build' should be lowercase (line 1)\n" +
		" - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 3)\n" +
		" - DL3025: Use arguments JSON notation for CMD and ENTRYPOINT arguments (line 3)\n"
	if code != 0 || out != "" || !strings.HasSuffix(errs, want) {
		t.Errorf("build: %d %q\n%s", code, out, errs)
	}
	// -q prints only the ID.
	if out, errs, code := slRun(t, nil, "--root", root, "build", "-q", ctx); code != 0 || errs != "" || strings.Count(out, "\n") != 1 {
		t.Errorf("build -q: %d %q %q", code, out, errs)
	}

	out, errs, code = slRun(t, nil, "--root", root, "build", "--check", ctx)
	if code != 1 || errs != "" || out != "Dockerfile:1 StageNameCasing: Stage name 'Build' should be lowercase (https://docs.docker.com/go/dockerfile/rule/stage-name-casing/)\n"+
		"Dockerfile:3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (https://docs.docker.com/go/dockerfile/rule/json-args-recommended/)\n"+
		"Dockerfile:3 DL3025: Use arguments JSON notation for CMD and ENTRYPOINT arguments (https://github.com/hadolint/hadolint/wiki/DL3025)\n"+
		"Check complete, 3 warnings have been found!\n" {
		t.Errorf("--check: %d %q\n%s", code, errs, out)
	}
	out, _, code = slRun(t, nil, "--root", root, "build", "--check", "--check-format", "json", ctx)
	var lint struct {
		Warnings []struct {
			RuleName, Detail string
			Location         struct {
				Ranges []struct{ Start struct{ Line int } }
			}
		}
		Sources []struct{ Filename string }
	}
	if err := json.Unmarshal([]byte(out), &lint); err != nil || code != 1 || len(lint.Warnings) != 3 || lint.Warnings[0].Location.Ranges[0].Start.Line != 1 || lint.Sources[0].Filename != "Dockerfile" {
		t.Errorf("--check json: %d %v %+v", code, err, lint)
	}
	out, _, _ = slRun(t, nil, "--root", root, "build", "--check", "--check-format", "sarif", ctx)
	var sarif struct {
		Version string
		Runs    []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct{ Region struct{ StartLine int } }
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs[0].Results) != 3 || sarif.Runs[0].Results[2].Locations[0].PhysicalLocation.Region.StartLine != 3 {
		t.Errorf("--check sarif: %v %s", err, out)
	}
	if _, errs, code := slRun(t, nil, "--root", root, "build", "--check", "--check-format", "xml", ctx); code != 1 || !strings.Contains(errs, `invalid --check-format "xml"`) {
		t.Errorf("bad format: %d %q", code, errs)
	}
	// BUILDKIT_DOCKERFILE_CHECK replaces the directive: skip=all has nothing to say.
	if out, _, code := slRun(t, nil, "--root", root, "build", "--check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all", ctx); code != 0 || out != "Check complete, no warnings found.\n" {
		t.Errorf("skip=all: %d %q", code, out)
	}
	// error=true in the Dockerfile fails the build before it runs a step.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("# check=error=true;skip=DL3025,JSONArgsRecommended\nFROM base:1 AS Build\nCOPY f /f\nCMD x\n"), 0o644)
	_, errs, code = slRun(t, nil, "--root", root, "build", "--progress", "plain", "-t", "strict:1", ctx)
	if code != 1 || !strings.HasSuffix(errs, " - StageNameCasing: Stage name 'Build' should be lowercase (line 2)\nError: lint violation found for rules: StageNameCasing\n") || strings.Contains(errs, "COPY f /f\n#") {
		t.Errorf("error=true: %d\n%s", code, errs)
	}
	if _, _, code := slRun(t, nil, "--root", root, "image", "inspect", "strict:1"); code == 0 {
		t.Error("a build failing its checks was tagged")
	}
	// A malformed directive fails the build, in BuildKit's words.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("# check=bogus=1\nFROM base:1\n"), 0o644)
	if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", ctx); code != 1 || errs != "Error: failed to parse check options: invalid check option \"bogus\"\n" {
		t.Errorf("bad directive: %d %q", code, errs)
	}
}

// A layer written by one RUN and removed by the next is found by `image analyze` with the
// suggestion to do both in one RUN, and its numbers are dive's.
func TestAnalyzeBuiltImage(t *testing.T) {
	needRunBuild(t)
	root := t.TempDir()
	if _, errs, code := slRun(t, bytes.NewReader(busyboxRootfs(t)), "--root", root, "import", "-", "bb:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\n"+
		"RUN mkdir -p /var/lib/apt/lists && /bin/busybox head -c 200000 /dev/zero > /var/lib/apt/lists/big\n"+
		"RUN rm -rf /var/lib/apt/lists\n"), 0o644)
	if _, errs, code := slRun(t, nil, "--root", root, "build", "-q", "-t", "waste:1", ctx); code != 0 {
		t.Fatalf("build: %d %s", code, errs)
	}
	out, errs, code := slRun(t, nil, "--root", root, "image", "analyze", "--format", "json", "waste:1")
	if code != 0 {
		t.Fatalf("analyze: %d %s", code, errs)
	}
	var r struct {
		ReclaimableBytes int64
		WastedBytes      int64
		Suggestions      []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.ReclaimableBytes != 200000 || len(r.Suggestions) == 0 ||
		r.Suggestions[0].Message != "layer 2 `RUN rm -rf /var/lib/apt/lists` removes 200kB written by layer 1 `RUN mkdir -p /var/lib/apt/lists && /bin/busybox head -c 200…`: do both in one RUN" {
		t.Errorf("report: %s", out)
	}
	// dive sizes the deleted directory by its contents and sees it once: no waste for dive.
	if r.WastedBytes != 0 {
		t.Errorf("dive's wasted bytes %d, want 0", r.WastedBytes)
	}
	// The archive `berth save` writes (OCI layout and docker-archive at once, gzip layers) gives
	// the same report as the store, and dive (where installed) reads the same numbers from it.
	saved := filepath.Join(t.TempDir(), "waste.tar")
	if _, errs, code := slRun(t, nil, "--root", root, "save", "-o", saved, "waste:1"); code != 0 {
		t.Fatalf("save: %s", errs)
	}
	fromFile, errs, code := slRun(t, nil, "--root", root, "image", "analyze", "--format", "json", "docker-archive:"+saved)
	if code != 0 || fromFile != out {
		t.Errorf("archive %d %s:\n%s\nstore:\n%s", code, errs, fromFile, out)
	}
	dive, err := exec.LookPath("dive")
	if err != nil {
		if home, _ := os.UserHomeDir(); home != "" {
			dive = filepath.Join(home, "go/bin/dive")
		}
	}
	if _, err := os.Stat(dive); err != nil {
		t.Log("dive not installed: not compared")
		return
	}
	cmd := exec.Command(dive, "--ci", "--source", "docker-archive", saved, "--ci-config", filepath.Join(t.TempDir(), "none"))
	cmd.Env = append(os.Environ(), "CI=true")
	diveOut, _ := cmd.CombinedOutput()
	if !strings.Contains(string(diveOut), "efficiency:        100.00 %") || !strings.Contains(string(diveOut), "wastedBytes:       0 bytes") {
		t.Errorf("dive:\n%s", diveOut)
	}
}
