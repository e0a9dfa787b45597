package analysis

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	at "github.com/berth-engine/berth/analysis/analysistest"
)

// Layer tars and image archives come from anywhere (a registry, a file a user downloaded):
// reading and analyzing them must fail with an error, never panic or loop.
//
// Run with a bounded minimization, or the fuzzer spends minutes minimizing each new input of
// this big target and looks stuck:
//
//	go test -run XXX -fuzz FuzzAnalyzeArchive -fuzztime 60s -fuzzminimizetime 200x ./analysis/
func FuzzAnalyzeArchive(f *testing.F) {
	// Small seeds: the fuzzer mutates them byte by byte (the golden image is in the unit tests).
	f.Add(at.LayerTar(f, at.Dir("a/"), at.Sized("a/f", 3, 'x'), at.Whiteout("a/.wh..wh..opq"), at.Whiteout(".wh.a"), at.Hardlink("l", "a/f")))
	f.Add(at.DockerArchive(f, "x:1", []string{"a"}, at.LayerTar(f, at.Sized("f", 2, 'y'))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if lc, err := ReadLayer(bytes.NewReader(data)); err == nil {
			r := Analyze(Image{Layers: []Layer{{Content: lc}, {Content: lc}}})
			if r.ReclaimableBytes < 0 || r.WastedBytes < 0 {
				t.Fatalf("negative sizes %+v", r)
			}
			if _, err := Files(Image{Layers: []Layer{{Content: lc}, {Content: lc}}}, -1, true); err != nil {
				t.Fatal(err)
			}
		}
		if img, err := FromArchive(bytes.NewReader(data), ""); err == nil {
			Analyze(img)
		}
	})
}

// Dockerfiles (and the shell of their RUN lines) are untrusted input to the checks.
func FuzzCheckDockerfile(f *testing.F) {
	files, _ := filepath.Glob("testdata/checks/*.Dockerfile")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("FROM a\nRUN <<EOF\nset -o pipefail; a | b\nEOF\n"))
	f.Fuzz(func(t *testing.T, dt []byte) {
		r, err := CheckDockerfile(dt, CheckOptions{AllStages: true, DockerIgnore: []string{"x"}})
		if err != nil {
			return
		}
		for _, f := range r.Findings {
			if f.Rule == "" || f.Detail == "" {
				t.Fatalf("empty finding %+v", f)
			}
		}
		r.SARIF("Dockerfile")
		r.BuildKitJSON()
	})
}
