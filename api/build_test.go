package api

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// execContextTar is a build context holding files (name → content).
func execContextTar(t *testing.T, files map[string]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	return &buf
}

// execBuildMessages builds through the API and returns its JSON messages.
func execBuildMessages(t *testing.T, e *execEnv, ctxTar io.Reader, o client.ImageBuildOptions) []map[string]any {
	t.Helper()
	res, err := e.client.ImageBuild(e.ctx(), ctxTar, o)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var msgs []map[string]any
	dec := json.NewDecoder(res.Body)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// The classic build stream: steps, the commands' output, aux with the image ID, the tags; a
// cached rebuild says so; a failing RUN ends with errorDetail and its exit code; prune answers.
func TestBuildAPI(t *testing.T) {
	e := newExecEnv(t)
	files := map[string]string{
		"sub/Dockerfile": "FROM busybox\nARG WHO\nLABEL from=dockerfile\nRUN echo hello $WHO; grep extra.test /etc/hosts\nCOPY f /f\n",
		"f":              "content\n",
	}
	who := "api"
	msgs := execBuildMessages(t, e, execContextTar(t, files), client.ImageBuildOptions{
		Tags: []string{"built:1", "built:2"}, Dockerfile: "sub/Dockerfile", BuildArgs: map[string]*string{"WHO": &who},
		Labels: map[string]string{"extra": "yes"}, Remove: true, ExtraHosts: []string{"extra.test:10.1.2.3"},
	})
	var stream strings.Builder
	id := ""
	for _, m := range msgs {
		if s, ok := m["stream"].(string); ok {
			stream.WriteString(s)
		}
		if aux, ok := m["aux"].(map[string]any); ok {
			id, _ = aux["ID"].(string)
		}
		if m["errorDetail"] != nil {
			t.Fatalf("build failed: %v", m)
		}
	}
	out := stream.String()
	for _, want := range []string{"Step 1/3 : FROM", "hello api\n", "10.1.2.3\textra.test\n", "Successfully built " + strings.TrimPrefix(id, "sha256:")[:12], "Successfully tagged built:1\n", "Successfully tagged built:2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stream lacks %q:\n%s", want, out)
		}
	}
	if got := e.berth("inspect", "-f", "{{.Id}} {{.Config.Labels.from}} {{.Config.Labels.extra}}", "built:2"); got != id+" dockerfile yes" {
		t.Errorf("the image: %q, aux ID %q", got, id)
	}
	// Again: every step from the cache.
	msgs = execBuildMessages(t, e, execContextTar(t, files), client.ImageBuildOptions{Tags: []string{"built:3"}, Dockerfile: "sub/Dockerfile", BuildArgs: map[string]*string{"WHO": &who}})
	cached := 0
	for _, m := range msgs {
		if s, _ := m["stream"].(string); strings.Contains(s, "Using cache") {
			cached++
		}
	}
	if cached != 2 {
		t.Errorf("cached steps: %d, want 2: %v", cached, msgs)
	}
	// A failing RUN: errorDetail with its code, no image.
	msgs = execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": "FROM busybox\nRUN exit 7\n"}), client.ImageBuildOptions{Tags: []string{"broken"}})
	last := msgs[len(msgs)-1]
	ed, _ := last["errorDetail"].(map[string]any)
	if ed == nil || ed["code"] != float64(7) || !strings.Contains(last["error"].(string), "exit code: 7") {
		t.Errorf("failed build's last message: %v", last)
	}
	if _, code := e.berthRun("inspect", "broken"); code == 0 {
		t.Error("a failed build tagged an image")
	}
	// Bad parameters are 400s before anything is built.
	for _, q := range []string{"t=Bad:Tag", "platform=a/b/c/d", "networkmode=mynet", "shmsize=1000", "extrahosts=nohost", "buildargs=%7B", "version=2"} {
		code, body := e.httpDo("POST", "/build?"+q, "")
		if code != 400 {
			t.Errorf("POST /build?%s: %d %s", q, code, body)
		}
	}
	pr, err := e.client.BuildCachePrune(e.ctx(), client.BuildCachePruneOptions{All: true})
	if err != nil || len(pr.Report.CachesDeleted) == 0 {
		t.Errorf("build prune: %+v %v", pr.Report, err)
	}
}
