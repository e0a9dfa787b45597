package e2e_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dockerArchive builds what `docker save` (20.10) writes for a one-layer image: <id>/layer.tar,
// <id>/json, <id>/VERSION, <config hex>.json, manifest.json and repositories. It returns the
// archive and the image ID (the sha256 of the config).
func dockerArchive(t testing.TB, layer []byte, tags ...string) ([]byte, string) {
	t.Helper()
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	config := fmt.Sprintf(`{"architecture":"amd64","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"created":"2026-01-02T03:04:05.123456789Z",`+
		`"history":[{"created":"2026-01-02T03:04:05.123456789Z","comment":"Imported from -"}],"os":"linux",`+
		`"rootfs":{"type":"layers","diff_ids":["%s"]}}`, diffID)
	id := fmt.Sprintf("%x", sha256.Sum256([]byte(config)))
	layerDir := fmt.Sprintf("%x", sha256.Sum256([]byte(id+"layer")))
	manifest, _ := json.Marshal([]map[string]any{{"Config": id + ".json", "RepoTags": tags, "Layers": []string{layerDir + "/layer.tar"}}})
	repos := map[string]map[string]string{}
	for _, tg := range tags {
		repo, tag, _ := strings.Cut(tg, ":")
		if repos[repo] == nil {
			repos[repo] = map[string]string{}
		}
		repos[repo][tag] = layerDir
	}
	reposJSON, _ := json.Marshal(repos)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, body []byte) {
		typ := byte(tar.TypeReg)
		if strings.HasSuffix(name, "/") {
			typ = tar.TypeDir
		}
		h := &tar.Header{Name: name, Typeflag: typ, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}
		if typ == tar.TypeDir {
			h.Mode, h.Size = 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	add(layerDir+"/", nil)
	add(layerDir+"/VERSION", []byte("1.0"))
	add(layerDir+"/json", []byte(`{"id":"`+layerDir+`","created":"2026-01-02T03:04:05Z"}`))
	add(layerDir+"/layer.tar", layer)
	add(id+".json", []byte(config))
	add("manifest.json", manifest)
	if len(tags) > 0 {
		add("repositories", reposJSON)
	}
	tw.Close()
	return buf.Bytes(), "sha256:" + id
}

// tarNames lists the entries of an archive.
func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the saved archive: %v", err)
		}
		names = append(names, h.Name)
	}
	return names
}

func TestSaveLoadRoundTrip(t *testing.T) {
	a := newEnv(t)
	idA := a.importNamed(fileTar(t, "a", "alpha\n"), "sl-a:1", "-c", "LABEL x=y", "-c", "CMD [\"/a\"]")
	a.ok("tag", "sl-a:1", "sl-a:2")
	idB := a.importNamed(sizedTar(t, "b", 3000), "localhost:5000/sl-b:v1")
	file := a.dir + "/out.tar"
	if out := a.ok("save", "-o", file, "sl-a:1", "sl-a:2", "localhost:5000/sl-b:v1"); out != "" {
		t.Errorf("save -o printed %q", out)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if stdout := a.ok("save", "sl-a:1", "sl-a:2", "localhost:5000/sl-b:v1"); stdout != string(saved) {
		t.Errorf("save to stdout differs from save -o (%d vs %d bytes)", len(stdout), len(saved))
	}
	names := tarNames(t, saved)
	for _, want := range []string{"manifest.json", "repositories", "index.json", "oci-layout",
		"blobs/sha256/" + strings.TrimPrefix(idA, "sha256:"), "blobs/sha256/" + strings.TrimPrefix(idB, "sha256:")} {
		if !contains(names, want) {
			t.Errorf("saved archive lacks %s: %v", want, names)
		}
	}

	b := newEnv(t)
	out := b.ok("load", "-i", file)
	wantLoaded := []string{"Loaded image: localhost:5000/sl-b:v1", "Loaded image: sl-a:1", "Loaded image: sl-a:2"}
	if got := sortedCopy(lines(out)); strings.Join(got, "\n") != strings.Join(wantLoaded, "\n") {
		t.Errorf("load printed:\n%s\nwant (in any order):\n%s", out, strings.Join(wantLoaded, "\n"))
	}
	listing := func(e *env) string {
		return e.ok("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}} {{.CreatedAt}}")
	}
	if la, lb := listing(a), listing(b); la != lb {
		t.Errorf("images after the round trip:\n%s\nwant (as saved):\n%s", lb, la)
	}
	for _, ref := range []string{"sl-a:1", "localhost:5000/sl-b:v1"} {
		f := "{{json .Config}} {{json .RootFS}} {{.Size}} {{.Comment}} {{.Created}}"
		if ia, ib := a.ok("inspect", "-f", f, ref), b.ok("inspect", "-f", f, ref); ia != ib {
			t.Errorf("inspect %s after the round trip:\n%s\nwant:\n%s", ref, ib, ia)
		}
	}
	// Loading again (from stdin, -q) changes nothing on disk.
	before := b.snapshot()
	r := b.runIn(bytes.NewReader(saved), "load", "-q")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("load -q from stdin: %s", r)
	}
	b.unchanged(before, "loading the same archive again")
	b.checkNoOrphans()
}

func TestLoadDockerArchive(t *testing.T) {
	e := newEnv(t)
	layer := makeTar(t, entry{name: "bin/", typ: tar.TypeDir}, entry{name: "bin/tool", body: "#!/bin/sh\necho tool\n", mode: 0o755})
	archive, id := dockerArchive(t, layer, "legacy:1", "legacy:2")
	if out := e.runIn(bytes.NewReader(archive), "load"); out.code != 0 || out.stdout != "Loaded image: legacy:1\nLoaded image: legacy:2\n" {
		t.Errorf("load of a docker save archive: %s", out)
	}
	if got := e.ok("images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}} {{.CreatedAt}}"); got !=
		id+" legacy:1 20B 2026-01-02 03:04:05 +0000 UTC\n"+id+" legacy:2 20B 2026-01-02 03:04:05 +0000 UTC\n" {
		t.Errorf("images after load:\n%s", got)
	}
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	if got := e.ok("inspect", "-f", "{{index .RootFS.Layers 0}} {{json .Config.Cmd}}", "legacy:1"); got != diffID+` ["/bin/sh"]`+"\n" {
		t.Errorf("inspect after load: %q", got)
	}
	// An archive without names loads as an ID, in Docker's words.
	untagged, uid := dockerArchive(t, fileTar(t, "u", "untagged\n"))
	if out := e.runIn(bytes.NewReader(untagged), "load"); out.code != 0 || out.stdout != "Loaded image ID: "+uid+"\n" {
		t.Errorf("load of an untagged archive: %s", out)
	}
	e.checkNoOrphans()
}

func TestLoadBadInput(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "pre", "pre\n"), "pre:1")
	good, _ := dockerArchive(t, fileTar(t, "g", "good\n"), "good:1")
	// The same archive with the layer's bytes changed: its diff ID no longer matches the config.
	tampered := bytes.Replace(good, []byte("good\n"), []byte("evil\n"), 1)
	if bytes.Equal(tampered, good) {
		t.Fatal("could not tamper with the archive")
	}
	noManifest := makeTar(t, entry{name: "hello.txt", body: "not an image\n"})
	cases := map[string][]byte{
		"not a tar":         bytes.Repeat([]byte("garbage\n"), 200),
		"truncated":         good[:len(good)/2],
		"layer tampered":    tampered,
		"no manifest.json":  noManifest,
		"empty input":       {},
		"missing layer.tar": dropEntry(t, good, "/layer.tar"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			e := *e
			e.t = t
			before := e.snapshot()
			r := e.runIn(bytes.NewReader(data), "load")
			if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: ") || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
				t.Errorf("load of a bad archive: want exit 1 and one error line, got %s", r)
			}
			e.unchanged(before, "a failed load")
		})
	}
	r := e.run("load", "-i", e.dir+"/nosuch.tar")
	if r.code != 1 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("load -i of a missing file: %s", r)
	}
	e.fails(1, "Error: No such image: nosuch\n", "save", "-o", e.dir+"/x.tar", "nosuch")
	if _, err := os.Stat(e.dir + "/x.tar"); err == nil {
		t.Errorf("a failed save left its output file")
	}
}

// dropEntry removes the entries whose name ends with suffix from a tar.
func dropEntry(t *testing.T, data []byte, suffix string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, suffix) {
			continue
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.Close()
	return buf.Bytes()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestKillDuringLoad is TestKillDuringImport for `berth load` of a docker-archive with a ~32 MB layer.
func TestKillDuringLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	e := newEnv(t)
	e.importNamed(fileTar(t, "keep", "keep\n"), "keep:1")
	data, _ := dockerArchive(t, noisyTar(t, 9, 32), "loaded:1")
	const chunk = 256 << 10
	killed := 0
	for round := 0; round < 8; round++ {
		cmd := e.command(nil, "load")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pause := 5 * time.Millisecond
		delay := time.Duration(100+round*110) * time.Millisecond
		if round >= 5 {
			pause, delay = 0, time.Duration((round-5)*150)*time.Millisecond
		}
		go func() {
			defer in.Close()
			for i := 0; i*chunk < len(data); i++ {
				if _, err := in.Write(data[i*chunk : min((i+1)*chunk, len(data))]); err != nil {
					return
				}
				time.Sleep(pause)
			}
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err != nil {
				killed++
			}
		}
		if r := e.run("images"); r.code != 0 || r.stderr != "" {
			t.Fatalf("round %d: images after kill -9: %s", round, r)
		}
	}
	t.Logf("%d of 8 loads killed", killed)
	if killed < 3 {
		t.Errorf("only %d loads were killed mid-way; the test proves little", killed)
	}
	if r := e.run("system", "prune", "-f"); r.code != 0 || r.stderr != "" {
		t.Fatalf("system prune -f: %s", r)
	}
	e.checkNoOrphans()
	// The store still takes the archive whole.
	if r := e.runIn(bytes.NewReader(data), "load"); r.code != 0 || r.stdout != "Loaded image: loaded:1\n" {
		t.Errorf("load after the kills: %s", r)
	}
	e.checkNoOrphans()
}

// TestConcurrentLoadAndImport: loads and imports at once beside a listing loop; all recorded.
func TestConcurrentLoadAndImport(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	check := func(r result) {
		if r.code != 0 || r.stderr != "" {
			mu.Lock()
			failures = append(failures, r.String())
			mu.Unlock()
		}
	}
	for i := 0; i < 3; i++ {
		archive, _ := dockerArchive(t, noisyTar(t, uint64(300+i), 2), fmt.Sprintf("cl-load:%d", i))
		layer := noisyTar(t, uint64(400+i), 2)
		wg.Add(3)
		go func() { defer wg.Done(); check(e.runIn(bytes.NewReader(archive), "load", "-q")) }()
		go func(i int) {
			defer wg.Done()
			check(e.runIn(bytes.NewReader(layer), "import", "-", fmt.Sprintf("cl-imp:%d", i)))
		}(i)
		go func() { defer wg.Done(); check(e.run("images", "-a")) }()
	}
	wg.Wait()
	for _, f := range failures {
		t.Errorf("a concurrent command failed: %s", f)
	}
	if got := len(lines(e.ok("images", "-q"))); got != 6 {
		t.Errorf("%d images recorded, want 6", got)
	}
	e.checkNoOrphans()
}
