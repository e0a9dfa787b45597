package compose

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
)

func TestEventIsComposesPlainLine(t *testing.T) {
	e := Event{Kind: "Container", Name: "p-web-1", Status: "Started"}
	if got := e.String(); got != " Container p-web-1  Started" {
		t.Errorf("%q", got)
	}
	if got := (Event{Name: "web", Status: "Pulled", Text: true}).String(); got != " web Pulled " {
		t.Errorf("%q", got)
	}
}

func TestInDependencyOrder(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": `
services:
  a: {image: x, depends_on: [b, c]}
  b: {image: x, depends_on: [d]}
  c: {image: x, depends_on: [d]}
  d: {image: x}
  e: {image: x, network_mode: "service:a"}
`}, LoadOptions{})
	var mu sync.Mutex
	var order []string
	err := inDependencyOrder(context.Background(), pl, func(_ context.Context, sp *ServicePlan) error {
		mu.Lock()
		order = append(order, sp.Name)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	for _, dep := range [][2]string{{"d", "b"}, {"d", "c"}, {"b", "a"}, {"c", "a"}, {"a", "e"}} {
		if pos[dep[0]] > pos[dep[1]] {
			t.Errorf("%s ran before %s: %v", dep[1], dep[0], order)
		}
	}
	order = nil
	err = inReverseDependencyOrder(context.Background(), pl, func(_ context.Context, sp *ServicePlan) error {
		mu.Lock()
		order = append(order, sp.Name)
		mu.Unlock()
		return nil
	})
	if err != nil || len(order) != 5 {
		t.Fatal(err, order)
	}
	for i, n := range order {
		pos[n] = i
	}
	for _, dep := range [][2]string{{"b", "d"}, {"a", "b"}, {"e", "a"}} {
		if pos[dep[0]] > pos[dep[1]] {
			t.Errorf("reverse: %s before %s: %v", dep[1], dep[0], order)
		}
	}
	// A failure stops what has not started: nothing that depends on it runs.
	var ran []string
	err = inDependencyOrder(context.Background(), pl, func(_ context.Context, sp *ServicePlan) error {
		mu.Lock()
		ran = append(ran, sp.Name)
		mu.Unlock()
		if sp.Name == "d" {
			return errors.New("d failed")
		}
		return nil
	})
	if err == nil || err.Error() != "d failed" || len(ran) != 1 {
		t.Errorf("err %v, ran %v", err, ran)
	}
}

func TestFilesTar(t *testing.T) {
	r := tar.NewReader(filesTar([]File{
		{Path: "/run/secrets/a", Content: []byte("x"), Mode: 0o400, UID: 5},
		{Path: "/run/secrets/b", Content: []byte("yy"), Mode: 0o444},
	}))
	var got []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		got = append(got, fmt.Sprintf("%s %o %d %q", h.Name, h.Mode, h.Uid, b))
	}
	want := []string{`run/ 755 0 ""`, `run/secrets/ 755 0 ""`, `run/secrets/a 400 5 "x"`, `run/secrets/b 444 0 "yy"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPortsFree(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	c := &container.Container{Name: "p-web-1", Host: container.HostConfig{PortBindings: map[string][]container.PortBinding{
		"80/tcp": {{HostIP: "127.0.0.1", HostPort: port}},
	}}}
	err = portsFree(c)
	want := "driver failed programming external connectivity on endpoint p-web-1: Error starting userland proxy: listen tcp4 127.0.0.1:" + port + ": bind: address already in use"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	l.Close()
	if err := portsFree(c); err != nil {
		t.Errorf("a free port: %v", err)
	}
}

func TestMustRecreate(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": "services:\n  a: {image: x}\n"}, LoadOptions{})
	sp, _ := pl.Service("a")
	sp.imageID = "sha256:1"
	have := func(hash, img string) Container {
		return Container{Summary: container.Summary{Container: &container.Container{Config: imageConfig(map[string]string{
			ConfigHashLabel: hash, ImageDigestLabel: img})}}}
	}
	e := &Engine{}
	for _, tc := range []struct {
		c      Container
		policy string
		want   bool
	}{
		{have(sp.Hash, "sha256:1"), RecreateDiverged, false},
		{have("other", "sha256:1"), RecreateDiverged, true},
		{have(sp.Hash, "sha256:0"), RecreateDiverged, true},
		{have(sp.Hash, "sha256:1"), RecreateForce, true},
		{have("other", "sha256:0"), RecreateNever, false},
	} {
		if got := e.mustRecreate(sp, tc.c, tc.policy); got != tc.want {
			t.Errorf("%s %v: got %v", tc.policy, tc.c.Config.Labels, got)
		}
	}
}

func imageConfig(labels map[string]string) image.ContainerConfig {
	return image.ContainerConfig{Labels: labels}
}

// compose pull and push decide and report as Docker Compose v2.40 does (recorded with its plain
// progress against dockerd 20.10 and a registry on 127.0.0.1).
func TestPullPushImages(t *testing.T) {
	pl := mustPlan(t, map[string]string{"compose.yaml": `
name: p
services:
  a-built:
    build: .
  b-tagged:
    build:
      context: .
      tags: [reg/tagged:extra]
    image: reg/tagged:1
  c-db:
    image: reg/db:1
  d-never:
    image: reg/db:1
    pull_policy: never
  e-same:
    image: reg/cache:1
  f-again:
    image: reg/cache:1
`}, LoadOptions{})
	var lines, warnings []string
	e := &Engine{Events: func(ev Event) { lines = append(lines, ev.String()) }, Tail: func(s string) { warnings = append(warnings, s) }}
	var moved []string
	fail := map[string]bool{}
	move := func(ctx context.Context, ref string) error {
		moved = append(moved, ref)
		if fail[ref] {
			return errors.New("manifest unknown")
		}
		return nil
	}
	reset := func() { lines, warnings, moved = nil, nil, nil }

	if err := e.PullImages(context.Background(), pl, PullOptions{Pull: move}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		" a-built Skipped - No image to be pulled ",
		" b-tagged Pulling ", " b-tagged Pulled ",
		" c-db Pulling ", " c-db Pulled ",
		" d-never Skipped ",
		" e-same Pulling ", " e-same Pulled ",
		" f-again Skipped - Image is already being pulled by e-same ",
	}
	if !slices.Equal(lines, want) || !slices.Equal(moved, []string{"reg/tagged:1", "reg/db:1", "reg/cache:1"}) {
		t.Errorf("pull: %q, pulled %q", lines, moved)
	}

	// A failure of an image that can be built is a warning naming the build; the others still
	// pull, and the command fails at the end.
	reset()
	fail["reg/tagged:1"] = true
	err := e.PullImages(context.Background(), pl, PullOptions{Pull: move})
	if err == nil || len(moved) != 3 || !slices.Contains(lines, " b-tagged Warning manifest unknown") ||
		!slices.Equal(warnings, []string{"WARNING: Some service image(s) must be built from source by running:\n    berth compose build b-tagged"}) {
		t.Errorf("buildable failure: %v, %q, %q, %q", err, moved, lines, warnings)
	}
	// Any other failure stops the command, unless ignored.
	reset()
	fail["reg/tagged:1"], fail["reg/db:1"] = false, true
	if err := e.PullImages(context.Background(), pl, PullOptions{Pull: move}); err == nil || len(moved) != 2 ||
		lines[len(lines)-1] != " c-db Error manifest unknown" {
		t.Errorf("failure: %v, %q, %q", err, moved, lines)
	}
	reset()
	if err := e.PullImages(context.Background(), pl, PullOptions{Pull: move, IgnoreFailures: true, IgnoreBuildable: true, Policy: "always"}); err != nil ||
		!slices.Equal(moved, []string{"reg/db:1", "reg/cache:1"}) || lines[1] != " b-tagged Skipped - Image can be built " {
		t.Errorf("ignored failure, buildable and --policy always: %v, %q, %q", err, moved, lines)
	}

	// push: the built services' image and build tags; the others are skipped.
	reset()
	if err := e.PushImages(context.Background(), pl, move, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved, []string{"reg/tagged:1", "reg/tagged:extra"}) || lines[0] != " a-built Skipped " || len(lines) != 5 {
		t.Errorf("push: %q, %q", moved, lines)
	}
	reset()
	fail["reg/tagged:1"] = true
	if err := e.PushImages(context.Background(), pl, move, true); err != nil || len(moved) != 2 ||
		!slices.Equal(warnings, []string{"Pushing b-tagged: manifest unknown"}) {
		t.Errorf("push --ignore-push-failures: %v, %q, %q", err, moved, warnings)
	}
}
