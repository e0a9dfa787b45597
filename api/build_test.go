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
	for _, want := range []string{"Step 1/5 : FROM busybox", "hello api\n", "10.1.2.3\textra.test\n", "Successfully built " + strings.TrimPrefix(id, "sha256:")[:12], "Successfully tagged built:1\n", "Successfully tagged built:2\n"} {
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
	// The classic builder's count: ARG and LABEL are steps with cache entries of their own.
	if cached != 4 {
		t.Errorf("cached steps: %d, want 4: %v", cached, msgs)
	}
	// A failing RUN: errorDetail with its code, no image.
	msgs = execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": "FROM busybox\nRUN exit 7\n"}), client.ImageBuildOptions{Tags: []string{"broken"}})
	last := msgs[len(msgs)-1]
	ed, _ := last["errorDetail"].(map[string]any)
	if ed == nil || ed["code"] != float64(7) || last["error"] != "The command '/bin/sh -c exit 7' returned a non-zero code: 7" {
		t.Errorf("failed build's last message: %v", last)
	}
	if _, code := e.berthRun("inspect", "broken"); code == 0 {
		t.Error("a failed build tagged an image")
	}
	// Bad parameters are 400s before anything is built.
	for _, q := range []string{"t=Bad:Tag", "platform=a/b/c/d", "shmsize=lots", "extrahosts=nohost", "buildargs=%7B", "version=2"} {
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

// The classic stream as dockerd 20.10 sends it (recorded with curl on its socket, DOCKER_BUILDKIT
// unset): a "Step N/M : INSTRUCTION" message and its "\n" for every instruction, metadata ones
// included, numbered across stages and written as in the Dockerfile; " ---> Using cache" for a
// metadata instruction seen before; a failed RUN in the classic builder's words. (The " ---> ID",
// "Running in" and "Removing intermediate container" lines: TestApileftBuildClassicIDs.)
func TestBuildAPIClassicSteps(t *testing.T) {
	e := newExecEnv(t)
	df := "FROM busybox AS a\nRUN true\nFROM busybox\nENV FOO=bar\nRUN touch baz\nLABEL a=b\nRUN [\"sh\", \"-c\", \"exit 3\"]\nCMD [\"x\"]\n"
	steps := func(msgs []map[string]any) (lines []string, cached int) {
		for _, m := range msgs {
			s, _ := m["stream"].(string)
			if strings.HasPrefix(s, "Step ") || s == "\n" {
				lines = append(lines, s)
			}
			if s == " ---> Using cache\n" {
				cached++
			}
		}
		return lines, cached
	}
	want := []string{"Step 1/8 : FROM busybox AS a", "\n", "Step 2/8 : RUN true", "\n", "Step 3/8 : FROM busybox", "\n",
		"Step 4/8 : ENV FOO=bar", "\n", "Step 5/8 : RUN touch baz", "\n", "Step 6/8 : LABEL a=b", "\n", "Step 7/8 : RUN [\"sh\", \"-c\", \"exit 3\"]", "\n"}
	for i, wantCached := range []int{0, 4} {
		msgs := execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": df}), client.ImageBuildOptions{})
		lines, cached := steps(msgs)
		if strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("build %d: steps\n%q\nwant\n%q", i, lines, want)
		}
		if cached != wantCached {
			t.Errorf("build %d: %d steps from the cache, want %d", i, cached, wantCached)
		}
		last, _ := json.Marshal(msgs[len(msgs)-1])
		if w := `{"error":"The command 'sh -c exit 3' returned a non-zero code: 3","errorDetail":{"code":3,"message":"The command 'sh -c exit 3' returned a non-zero code: 3"}}`; string(last) != w {
			t.Errorf("build %d: last message %s, want %s", i, last, w)
		}
	}
	// An error that is no command's exit has no code, as in dockerd.
	msgs := execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"}), client.ImageBuildOptions{NetworkMode: "nosuchnet", NoCache: true})
	ed, _ := msgs[len(msgs)-1]["errorDetail"].(map[string]any)
	if msg, _ := ed["message"].(string); ed == nil || ed["code"] != nil || !strings.Contains(msg, "network nosuchnet not found") {
		t.Errorf("build on an unknown network: %v", msgs[len(msgs)-1])
	}
}

// RUN steps take the build's shmsize and its user-defined network (networkmode), where the
// step resolves the network's containers by name.
func TestBuildAPIShmSizeAndNetwork(t *testing.T) {
	e := newExecEnv(t)
	net := "apibuildnet"
	e.berth("network", "create", net)
	t.Cleanup(func() { e.berthRun("network", "rm", net) })
	ctr := e.berth("run", "-d", "--network", net, "--network-alias", "pingtarget.test", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", ctr) })
	df := "FROM busybox\nRUN df -k /dev/shm | tail -1 && ping -c1 -W5 pingtarget.test\n"
	msgs := execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": df}), client.ImageBuildOptions{
		ShmSize: 128 << 20, NetworkMode: net, NoCache: true, Tags: []string{"netbuilt"}})
	var out strings.Builder
	for _, m := range msgs {
		if m["errorDetail"] != nil {
			t.Fatalf("build failed: %v", msgs)
		}
		s, _ := m["stream"].(string)
		out.WriteString(s)
	}
	if !strings.Contains(out.String(), " 131072 ") || !strings.Contains(out.String(), "1 packets received") {
		t.Errorf("RUN's /dev/shm or ping on %s:\n%s", net, out.String())
	}
}
