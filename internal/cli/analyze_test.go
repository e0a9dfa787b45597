package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-engine/berth/analysis/analysistest"
)

// `image analyze` gives the same report for an image in the store and for the archive it was
// loaded from, and --ci fails with one line per failed rule, taking .dive-ci as dive does.
func TestImageAnalyzeCommand(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: layers are unpacked with their owners")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	file := filepath.Join(dir, "golden.tar")
	if err := os.WriteFile(file, analysistest.Golden(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := slRun(t, nil, "--root", root, "load", "-i", file); code != 0 {
		t.Fatalf("load: %d %s", code, errs)
	}
	fromStore, errs, code := slRun(t, nil, "--root", root, "image", "analyze", "--format", "json", "golden:1")
	if code != 0 {
		t.Fatalf("analyze: %d %s", code, errs)
	}
	fromFile, errs, code := slRun(t, nil, "--root", root, "analyze", "--format", "json", "docker-archive:"+file)
	if code != 0 {
		t.Fatalf("analyze archive: %d %s", code, errs)
	}
	if fromStore != fromFile {
		t.Errorf("store and archive differ:\n%s\n%s", fromStore, fromFile)
	}
	var r struct {
		ID                string
		Efficiency        float64
		WastedBytes       int64
		ReclaimableBytes  int64
		UserWastedPercent *float64
	}
	if err := json.Unmarshal([]byte(fromStore), &r); err != nil {
		t.Fatal(err)
	}
	if r.Efficiency != 0.5 || r.WastedBytes != 1310 || r.ReclaimableBytes != 1650 || r.UserWastedPercent == nil {
		t.Errorf("report %+v", r)
	}

	// A table template has a row per layer; a plain template sees the whole report.
	if out, errs, code := slRun(t, nil, "--root", root, "analyze", "--format", "table {{.Index}}\t{{.Removed}}\t{{.ReclaimableBytes}}", "golden:1"); code != 0 ||
		out != "LAYER     REMOVED   RECLAIMABLE\n0         0         650\n1         0         1000\n2         4         0\n3         0         0\n" {
		t.Errorf("table template: %d %s\n%s", code, errs, out)
	}
	if out, _, code := slRun(t, nil, "--root", root, "analyze", "--format", "{{.Efficiency}} {{.WastedBytes}} {{len .Suggestions}}", "golden:1"); code != 0 || out != "0.5 1310 4\n" {
		t.Errorf("template: %d %q", code, out)
	}
	// By short ID, the same report.
	if byID, errs, code := slRun(t, nil, "--root", root, "analyze", "--format", "json", strings.TrimPrefix(r.ID, "sha256:")[:12]); code != 0 ||
		strings.Replace(byID, `"image":"`+strings.TrimPrefix(r.ID, "sha256:")[:12]+`"`, `"image":"golden:1"`, 1) != fromStore {
		t.Errorf("by ID: %d %s\n%s", code, errs, byID)
	}

	out, errs, code := slRun(t, nil, "--root", root, "analyze", "--ci", "--ci-config", filepath.Join(dir, "none"), "golden:1")
	if code != 1 || errs != "highestUserWastedPercent: too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=1.13 > threshold=0.1)\nlowestEfficiency: image efficiency is too low (efficiency=0.50 < threshold=0.9)\n" {
		t.Errorf("ci: %d %q", code, errs)
	}
	if !strings.Contains(out, "FAIL [fail:2 skip:1]") {
		t.Errorf("ci out:\n%s", out)
	}
	cfg := filepath.Join(dir, ".dive-ci")
	os.WriteFile(cfg, []byte("rules:\n  lowest-efficiency: 0.4\n  highest-wasted-bytes: 2KB\n  highest-user-wasted-percent: disabled\n"), 0o644)
	if out, errs, code := slRun(t, nil, "--root", root, "analyze", "--ci", "--ci-config", cfg, "golden:1"); code != 0 || !strings.Contains(out, "PASS [pass:2 skip:1]") {
		t.Errorf(".dive-ci: %d %s %s", code, out, errs)
	}
	// A flag wins over the file.
	if _, errs, code := slRun(t, nil, "--root", root, "analyze", "--ci", "--ci-config", cfg, "--highest-wasted-bytes", "1KB", "golden:1"); code != 1 || errs != "highestWastedBytes: too many bytes wasted (wasted-bytes=1310 > threshold=1000)\n" {
		t.Errorf("flag over .dive-ci: %d %q", code, errs)
	}
	// dive's camelCase flags work too.
	if _, errs, code := slRun(t, nil, "--root", root, "analyze", "--ci", "--ci-config", cfg, "--highestWastedBytes", "1KB", "golden:1"); code != 1 || errs != "highestWastedBytes: too many bytes wasted (wasted-bytes=1310 > threshold=1000)\n" {
		t.Errorf("dive's flag: %d %q", code, errs)
	}
	if _, errs, code := slRun(t, nil, "--root", root, "analyze", "--ci", "--lowest-efficiency", "x", "golden:1"); code != 1 || !strings.Contains(errs, `invalid lowestEfficiency config value, given "x"`) {
		t.Errorf("bad threshold: %d %q", code, errs)
	}

	// --files IMAGE:LAYER: layer 2 removed /data (with its files) and /tmp/big.
	out, errs, code = slRun(t, nil, "--root", root, "analyze", "--files", "--changed", "golden:1:2")
	if code != 0 {
		t.Fatalf("files: %d %s", code, errs)
	}
	var removed []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "- ") {
			f := strings.Fields(l)
			removed = append(removed, f[len(f)-1])
		}
	}
	if got := strings.Join(removed, " "); got != "data a b big" {
		t.Errorf("removed %q in\n%s", got, out)
	}
	if _, errs, code := slRun(t, nil, "--root", root, "analyze", "nosuch:1"); code != 1 || errs != "Error: No such image: nosuch:1\n" {
		t.Errorf("missing image: %d %q", code, errs)
	}
}
