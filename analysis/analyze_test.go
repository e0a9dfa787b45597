package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	at "github.com/berth-engine/berth/analysis/analysistest"
)

func TestAnalyzeGolden(t *testing.T) {
	img, err := FromArchive(bytes.NewReader(at.Golden(t)), "")
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(img)
	if img.Name != "golden:1" || len(r.Layers) != 4 {
		t.Fatalf("name %q, %d layers", img.Name, len(r.Layers))
	}
	// Worked by hand with dive's rules (see dive.go): leaves per path, Σmin = 0 (/bin/link)
	// + 100 (/bin/sh) + 200 + 300 (/data/a, /data/b) + 50 (/etc/config) + 10 (/keep) + 0
	// (/tmp/big) + 500 (/data, a whiteout of a directory sized by its contents) = 1160;
	// Σcumulative = 0 + 200 + 200 + 300 + 110 + 10 + 1000 + 500 = 2320.
	if r.Efficiency != 0.5 {
		t.Errorf("efficiency %v, want 0.5", r.Efficiency)
	}
	if r.WastedBytes != 200+110+1000 {
		t.Errorf("wasted %d, want 1310", r.WastedBytes)
	}
	if r.SizeBytes != 660+1060+0+100 || r.UserSizeBytes != 1160 {
		t.Errorf("size %d user %d", r.SizeBytes, r.UserSizeBytes)
	}
	if want := 1310.0 / 1160.0; math.Abs(r.UserWastedPercent-want) > 1e-12 {
		t.Errorf("user wasted %v, want %v", r.UserWastedPercent, want)
	}
	var ineff []string
	for _, p := range r.Inefficiencies {
		ineff = append(ineff, fmt.Sprintf("%s:%d:%d", p.Path, p.Count, p.CumulativeSize))
	}
	if got, want := strings.Join(ineff, " "), "/tmp/big:2:1000 /bin/sh:2:200 /etc/config:2:110"; got != want {
		t.Errorf("inefficiencies %s, want %s", got, want)
	}
	// berth: the re-copied /bin/sh, the overwritten /etc/config, the deleted /tmp/big and the
	// contents of the deleted /data (which dive's score misses), each byte once.
	if r.ReclaimableBytes != 100+50+1000+500 {
		t.Errorf("reclaimable %d, want 1650", r.ReclaimableBytes)
	}
	var wasted []string
	for _, w := range r.Wasted {
		wasted = append(wasted, fmt.Sprintf("%s:%s:%d:%d:%v>%d", w.Path, w.Action, w.Bytes, w.Files, w.WrittenBy, w.RemovedBy))
	}
	if got, want := strings.Join(wasted, " "), "/tmp/big:deleted:1000:1:[1]>2 /data:deleted:500:2:[0]>2 /bin/sh:recopied:100:1:[0]>3 /etc/config:overwritten:50:1:[0]>1"; got != want {
		t.Errorf("wasted\n got %s\nwant %s", got, want)
	}
	var rows []string
	for _, l := range r.Layers {
		rows = append(rows, fmt.Sprintf("%d:+%d~%d=%d-%d:%d/%d", l.Index, l.Added, l.Modified, l.Unchanged, l.Removed, l.FinalBytes, l.ReclaimableBytes))
	}
	if got, want := strings.Join(rows, " "), "0:+9~0=0-0:10/650 1:+2~1=0-0:60/1000 2:+0~0=0-4:0/0 3:+0~0=1-0:100/0"; got != want {
		t.Errorf("layers\n got %s\nwant %s", got, want)
	}
	if len(r.Suggestions) == 0 || r.Suggestions[0].Message != "layer 2 `RUN rm -rf /tmp/big /data` removes 1kB written by layer 1 `RUN echo b > /etc/config && fetch /tmp/big`: do both in one RUN" {
		t.Errorf("suggestions %+v", r.Suggestions)
	}
	if r.Layers[1].CreatedBy != "/bin/sh -c echo b > /etc/config && fetch /tmp/big" || r.Layers[2].CreatedBy != "/bin/sh -c rm -rf /tmp/big /data" {
		t.Errorf("history not paired past the empty layer: %q %q", r.Layers[1].CreatedBy, r.Layers[2].CreatedBy)
	}
}

// A whiteout of a path that no layer below has ends dive's visit of that layer; an opaque
// directory is invisible to dive but hides the layers below for berth.
func TestAnalyzeDiveQuirks(t *testing.T) {
	l0 := at.LayerTar(t, at.Dir("d/"), at.Sized("d/x", 40, 'x'), at.Sized("z", 7, 'z'))
	l1 := at.LayerTar(t, at.Whiteout(".wh.a-missing"), at.Sized("b", 5, 'b'), at.Dir("d/"), at.Whiteout("d/.wh..wh..opq"), at.Sized("d/y", 3, 'y'), at.Sized("z", 7, 'z'))
	img, err := FromArchive(bytes.NewReader(at.DockerArchive(t, "q:1", []string{"a", "b"}, l0, l1)), "q:1")
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(img)
	// dive visits layer 1 from "/.wh.a-missing" (first by name) and stops there: nothing of layer
	// 1 is counted, so every path is seen once.
	if r.Efficiency != 1 || r.WastedBytes != 0 {
		t.Errorf("dive numbers %v %d, want 1 0", r.Efficiency, r.WastedBytes)
	}
	if r.ReclaimableBytes != 40+7 {
		t.Errorf("reclaimable %d, want 47 (d/x hidden by the opaque d, z re-copied)", r.ReclaimableBytes)
	}
}

// An OCI layout archive (no manifest.json, gzip layers) reads as the same image as a docker-archive.
func TestAnalyzeOCIArchive(t *testing.T) {
	l0 := at.LayerTar(t, at.Dir("d/"), at.Sized("d/a", 70, 'a'), at.Sized("k", 3, 'k'))
	l1 := at.LayerTar(t, at.Whiteout(".wh.d"), at.Sized("k", 4, 'K'))
	oci, err := FromArchive(bytes.NewReader(at.OCIArchive(t, "oci:1", []string{"a", "b"}, l0, l1)), "")
	if err != nil {
		t.Fatal(err)
	}
	docker, err := FromArchive(bytes.NewReader(at.DockerArchive(t, "oci:1", []string{"a", "b"}, l0, l1)), "")
	if err != nil {
		t.Fatal(err)
	}
	ro, rd := Analyze(oci), Analyze(docker)
	if oci.Name != "oci:1" || ro.ReclaimableBytes != 73 || ro.WastedBytes != rd.WastedBytes || ro.Efficiency != rd.Efficiency || ro.ReclaimableBytes != rd.ReclaimableBytes {
		t.Errorf("oci %q %+v\ndocker %+v", oci.Name, ro, rd)
	}
	if _, err := FromArchive(bytes.NewReader(at.OCIArchive(t, "oci:1", []string{"a"}, l0)), "other:2"); err == nil || !strings.Contains(err.Error(), "No such image in the archive: other:2") {
		t.Errorf("wrong name: %v", err)
	}
}

func TestReadLayerRejectsGarbage(t *testing.T) {
	if _, err := ReadLayer(strings.NewReader(strings.Repeat("x", 1024))); err == nil {
		t.Fatal("garbage read as a layer")
	}
	if _, err := FromArchive(bytes.NewReader(at.LayerTar(t, at.File("a", "b"))), ""); err == nil || !strings.Contains(err.Error(), "not an image archive") {
		t.Fatalf("err %v", err)
	}
}

// dive itself, where it is installed (scripts/deps.sh builds it with `go install`), must print
// the same efficiency and wasted bytes for the same archives.
func TestAnalyzeMatchesDive(t *testing.T) {
	dive, err := exec.LookPath("dive")
	if err != nil {
		home, _ := os.UserHomeDir()
		if _, err2 := os.Stat(filepath.Join(home, "go/bin/dive")); err2 != nil {
			t.Skip("dive is not installed (go install github.com/wagoodman/dive/cmd/dive@latest)")
		}
		dive = filepath.Join(home, "go/bin/dive")
	}
	cases := map[string][]byte{"golden": at.Golden(t)}
	l0 := at.LayerTar(t, at.Dir("usr/"), at.Dir("usr/lib/"), at.Sized("usr/lib/a.so", 4000, 'a'), at.Sized("usr/lib/b.so", 3000, 'b'), at.Dir("var/"), at.Dir("var/cache/"), at.Sized("var/cache/idx", 900, 'i'))
	l1 := at.LayerTar(t, at.Dir("var/"), at.Whiteout("var/.wh.cache"), at.Dir("usr/"), at.Dir("usr/lib/"), at.Sized("usr/lib/a.so", 4100, 'A'), at.Hardlink("usr/lib/a2.so", "usr/lib/a.so"))
	l2 := at.LayerTar(t, at.Dir("usr/"), at.Whiteout("usr/.wh.lib"), at.Sized("new", 12, 'n'))
	cases["nested"] = at.DockerArchive(t, "nested:1", []string{"a", "b", "c"}, l0, l1, l2)
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "img.tar")
			if err := os.WriteFile(f, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(dive, "--ci", "--source", "docker-archive", f, "--lowestEfficiency", "0", "--highestUserWastedPercent", "disabled", "--ci-config", filepath.Join(t.TempDir(), "none"))
			cmd.Env = append(os.Environ(), "CI=true", "NO_COLOR=1")
			out, _ := cmd.CombinedOutput()
			eff := regexp.MustCompile(`efficiency:\s+([0-9.]+) %`).FindSubmatch(out)
			wasted := regexp.MustCompile(`wastedBytes:\s+(\d+) bytes`).FindSubmatch(out)
			if eff == nil || wasted == nil {
				t.Fatalf("dive output not understood:\n%s", out)
			}
			img, err := FromArchiveFile(f, "")
			if err != nil {
				t.Fatal(err)
			}
			r := Analyze(img)
			if got := fmt.Sprintf("%.2f", r.Efficiency*100); got != string(eff[1]) {
				t.Errorf("efficiency %s %%, dive %s %%", got, eff[1])
			}
			if w, _ := strconv.ParseInt(string(wasted[1]), 10, 64); w != r.WastedBytes {
				t.Errorf("wasted %d, dive %d\n%s", r.WastedBytes, w, out)
			}
			for _, p := range r.Inefficiencies {
				if !regexp.MustCompile(`(?m)^\s+` + strconv.Itoa(p.Count) + `\s+.*\s` + regexp.QuoteMeta(p.Path) + `$`).Match(out) {
					t.Errorf("dive does not list %s (%d times):\n%s", p.Path, p.Count, out)
				}
			}
		})
	}
}

// A one-layer image has no bytes above its base: dive's user wasted percent is 0/0, which JSON
// carries as null.
func TestReportJSONUserWastedNaN(t *testing.T) {
	lc, err := ReadLayer(bytes.NewReader(at.LayerTar(t, at.Sized("a", 5, 'a'))))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Analyze(Image{Name: "one", Layers: []Layer{{Content: lc}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"userWastedPercent":null`) || !strings.Contains(string(b), `"efficiency":1`) {
		t.Errorf("%s", b)
	}
}
