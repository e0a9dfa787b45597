// Package oracletest checks berth's reimplementation of BuildKit's build checks against
// BuildKit itself (dockerfile2llb.DockerfileLint). It is a separate package so that only this
// test binary links dockerfile2llb (gRPC, containerd): berth's binary never does.
package oracletest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/berth-engine/berth/analysis"
	"github.com/berth-engine/berth/image"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolver answers every base image with a linux/amd64 config and no environment, which is what
// berth's checks assume for an image they do not know.
type resolver struct{}

func (resolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := ocispecs.Image{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	b, _ := json.Marshal(cfg)
	return ref, digest.FromBytes(b), b, nil
}

func TestBuildKitRulesMatchBuildKit(t *testing.T) {
	files, _ := filepath.Glob("../testdata/checks/*.Dockerfile")
	if len(files) == 0 {
		t.Fatal("no golden Dockerfiles")
	}
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".Dockerfile")
		if name == "InvalidBaseImagePlatform" || name == "CopyIgnoredFile" {
			continue // need an image store / a build context: checked by the golden test only
		}
		t.Run(name, func(t *testing.T) {
			dt, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sm := llb.NewSourceMap(nil, "Dockerfile", "Dockerfile", dt)
			sm.Definition = &llb.Definition{}
			res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
				Config:         dockerui.Config{BuildPlatforms: []ocispecs.Platform{amd64}},
				TargetPlatform: &amd64,
				SourceMap:      sm,
				MetaResolver:   resolver{},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != nil {
				t.Logf("buildkit: %s (its warnings are still compared)", res.Error.Message)
			}
			var want []string
			for _, w := range res.Warnings {
				line := 0
				if len(w.Location.Ranges) > 0 {
					line = int(w.Location.Ranges[0].Start.Line)
				}
				want = append(want, w.RuleName+"|"+w.Detail+"|"+w.URL+"|"+w.Description+"|"+itoa(line))
			}
			p := image.Platform{OS: "linux", Architecture: "amd64"}
			r, err := analysis.CheckDockerfile(dt, analysis.CheckOptions{AllStages: true, Platform: p, BuildPlatform: p})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range r.Findings {
				if f.Origin == analysis.OriginBuildKit {
					got = append(got, f.Rule+"|"+f.Detail+"|"+f.URL+"|"+f.Description+"|"+itoa(f.Line))
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("berth:\n%s\nbuildkit:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
