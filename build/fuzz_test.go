package build

import (
	"os"
	"testing"
)

// FuzzPlan drives the Dockerfile front (parse, convert, plan) without executing anything: it must
// never panic, and a plan it accepts must be one the executor can walk.
func FuzzPlan(f *testing.F) {
	for _, p := range []string{"testdata/meta/Dockerfile", "testdata/copy/Dockerfile", "testdata/multistage/Dockerfile"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte("FROM scratch AS a\nFROM a AS b\nCOPY --from=a / /\n"), "a")
	f.Fuzz(func(t *testing.T, df []byte, target string) {
		p, err := ParsePlan(df, PlanOptions{Target: target, BuildArgs: map[string]string{"X": "y"}})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if p.Target < 0 || p.Target >= len(p.Stages) || !p.Needed[p.Target] {
			t.Fatalf("target %d of %d stages, needed %v", p.Target, len(p.Stages), p.Needed)
		}
		for i := range p.Stages {
			if p.BaseIdx[i] >= i {
				t.Fatalf("stage %d built FROM a later stage %d", i, p.BaseIdx[i])
			}
			if p.Needed[i] && p.BaseIdx[i] >= 0 && !p.Needed[p.BaseIdx[i]] {
				t.Fatalf("stage %d needed but its base %d is not", i, p.BaseIdx[i])
			}
			for _, d := range p.Deps[i] {
				if d >= i || (p.Needed[i] && !p.Needed[d]) {
					t.Fatalf("stage %d depends on %d (needed %v)", i, d, p.Needed)
				}
			}
			if p.Bases[i] == "" {
				t.Fatalf("stage %d has an empty base", i)
			}
		}
	})
}
