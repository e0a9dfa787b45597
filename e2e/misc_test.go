package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestImagePrune(t *testing.T) {
	e := newEnv(t)
	d1 := e.importTar(sizedTar(t, "p", 100))
	l1 := e.layerOf(d1)
	d2 := e.importTar(sizedTar(t, "q", 20))
	l2 := e.layerOf(d2)
	keep := e.importNamed(sizedTar(t, "r", 3), "prune-keep:1", "-c", "LABEL keep=yes")
	lk := e.layerOf(keep)
	other := e.importNamed(sizedTar(t, "s", 4000), "prune-other:1")
	lo := e.layerOf(other)

	// Without -f it asks; anything but y/yes keeps everything.
	before := e.snapshot()
	r := e.runIn(strings.NewReader("n\n"), "image", "prune")
	if r.stdout != "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] " {
		t.Errorf("image prune prompt: %s", r)
	}
	e.unchanged(before, "a declined prune")

	want := "Deleted Images:\ndeleted: " + d2 + "\ndeleted: " + l2 + "\ndeleted: " + d1 + "\ndeleted: " + l1 +
		"\n\nTotal reclaimed space: 120B\n"
	if out := e.ok("image", "prune", "-f"); out != want {
		t.Errorf("image prune -f:\n%s\nwant:\n%s", out, want)
	}
	if got := e.names(); got != "prune-other:1 prune-keep:1" {
		t.Errorf("after prune: %s", got)
	}
	if out := e.ok("image", "prune", "-f"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("prune with nothing to do: %q", out)
	}
	// -a with filters: until (nothing is an hour old) and label.
	if out := e.ok("image", "prune", "-a", "-f", "--filter", "until=1h"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("prune -a --filter until=1h: %q", out)
	}
	want = "Deleted Images:\nuntagged: prune-keep:1\ndeleted: " + keep + "\ndeleted: " + lk + "\n\nTotal reclaimed space: 3B\n"
	if out := e.ok("image", "prune", "-a", "-f", "--filter", "label=keep=yes"); out != want {
		t.Errorf("prune -a --filter label=keep=yes:\n%s\nwant:\n%s", out, want)
	}
	r = e.runIn(strings.NewReader("y\n"), "image", "prune", "-a", "--filter", "until=2999-01-01T00:00:00Z")
	want = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] " +
		"Deleted Images:\nuntagged: prune-other:1\ndeleted: " + other + "\ndeleted: " + lo + "\n\nTotal reclaimed space: 4kB\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("prune -a answered y:\n%s\nwant stdout:\n%s", r, want)
	}
	if files := e.storeFiles(); len(files) != 0 {
		t.Errorf("files left after pruning everything: %v", files)
	}
	e.fails(1, "Error: Invalid filter 'foo'\n", "image", "prune", "-f", "--filter", "foo=bar")
}

func TestHistory(t *testing.T) {
	e := newEnv(t)
	id := e.importNamed(fileTar(t, "h", "hist\n"), "hist:1", "-m", "my msg")
	at := strings.TrimSpace(e.ok("inspect", "--format", "{{.Created}}", "hist:1"))
	createdAt := regexp.MustCompile(`\.\d+`).ReplaceAllString(at, "") // RFC 3339 seconds, UTC (TZ=UTC)
	matchTable(t, e.ok("history", "hist:1"), []string{
		"IMAGE          CREATED{PAD}CREATED BY   SIZE      COMMENT",
		short(id) + "   {CREATED}             5B        my msg",
	})
	got := e.ok("history", "-H=false", "hist:1")
	want := "IMAGE          CREATED AT             CREATED BY   SIZE      COMMENT\n" +
		short(id) + "   " + createdAt + "                5         my msg\n"
	if len(createdAt) != 20 || got != want {
		t.Errorf("history -H=false:\n%s\nwant:\n%s", got, want)
	}
	matchTable(t, e.ok("history", "--no-trunc", "hist:1"), []string{
		"IMAGE" + strings.Repeat(" ", 74-5) + "CREATED{PAD}CREATED BY   SIZE      COMMENT",
		id + "   {CREATED}             5B        my msg",
	})
	if got := e.ok("history", "-q", "hist:1"); got != short(id)+"\n" {
		t.Errorf("history -q: %q", got)
	}
	if got := e.ok("history", "-q", "--no-trunc", short(id)); got != id+"\n" {
		t.Errorf("history -q --no-trunc: %q", got)
	}
	if got, want := e.ok("history", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}", "hist:1"), short(id)+"||5B|my msg\n"; got != want {
		t.Errorf("history --format: %q, want %q", got, want)
	}
	if got, want := e.ok("history", "--format", `table {{.ID}}\t{{.Size}}`, "hist:1"), "IMAGE          SIZE\n"+short(id)+"   5B\n"; got != want {
		t.Errorf("history --format table: %q, want %q", got, want)
	}
	wantJSON := `^\{"Comment":"my msg","CreatedAt":"` + regexp.QuoteMeta(createdAt) + `","CreatedBy":"","CreatedSince":"` +
		createdRe + `","ID":"` + short(id) + `","Size":"5B"\}\n$`
	if got := e.ok("history", "--format", "json", "hist:1"); !regexp.MustCompile(wantJSON).MatchString(got) {
		t.Errorf("history --format json: %s", got)
	}
	e.fails(1, "Error: No such image: nosuch:latest\n", "history", "nosuch")
}

func TestInspect(t *testing.T) {
	e := newEnv(t)
	data := fileTar(t, "i", "inspect me\n")
	id := e.importNamed(data, "insp:1", "-c", "ENV A=1")
	out := e.ok("image", "inspect", "insp:1")
	if !strings.HasPrefix(out, "[\n    {\n        \"Id\": \""+id+"\",\n") || !strings.HasSuffix(out, "\n    }\n]\n") {
		t.Errorf("inspect is not Docker's 4-space indented array:\n%s", out)
	}
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) != 1 {
		t.Fatalf("inspect output: %v\n%s", err, out)
	}
	// Keys in the order Docker 20.10 prints them for an imported image.
	dec := json.NewDecoder(strings.NewReader(out))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			if depth == 2 {
				continue
			}
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
		if s, ok := tok.(string); ok && depth == 2 && dec.More() {
			keys = append(keys, s)
			// Skip the value.
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantKeys := "Id RepoTags RepoDigests Parent Comment Created Container ContainerConfig DockerVersion Author Config Architecture Os Size VirtualSize GraphDriver RootFS Metadata"
	if got := strings.Join(keys, " "); got != wantKeys {
		t.Errorf("inspect keys:\n got %s\nwant %s", got, wantKeys)
	}
	var img struct {
		ID          string `json:"Id"`
		RepoTags    []string
		RepoDigests []string
		Parent      string
		Comment     string
		Created     string
		Config      struct{ Env []string }
		Os          string
		Size        int64
		RootFS      struct {
			Type   string
			Layers []string
		}
		Metadata struct{ LastTagTime string }
	}
	if err := json.Unmarshal([]byte(out[1:len(out)-2]), &img); err != nil {
		t.Fatal(err)
	}
	diffID := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	if img.ID != id || fmt.Sprint(img.RepoTags) != "[insp:1]" || img.RepoDigests == nil || len(img.RepoDigests) != 0 ||
		img.Parent != "" || img.Comment != "Imported from -" || img.Os != "linux" || img.Size != 11 ||
		fmt.Sprint(img.Config.Env) != "[A=1]" || img.RootFS.Type != "layers" || fmt.Sprint(img.RootFS.Layers) != "["+diffID+"]" ||
		!regexp.MustCompile(`^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`).MatchString(img.Created) ||
		!regexp.MustCompile(`^20\d\d-`).MatchString(img.Metadata.LastTagTime) {
		t.Errorf("inspect fields: %+v\n(diff ID should be the sha256 of the tar: %s)", img, diffID)
	}
	// The same through --format, by typed field and by JSON name, and through `berth inspect`.
	if got := e.ok("inspect", "--format", "{{.Id}} {{.Os}} {{json .RepoTags}} {{.RootFS.Type}}", "insp:1"); got != id+` linux ["insp:1"] layers`+"\n" {
		t.Errorf("inspect --format: %q", got)
	}
	if got := e.ok("inspect", "-f", "{{.ID}}", short(id)); got != id+"\n" {
		t.Errorf("inspect -f {{.ID}}: %q", got)
	}
	// An image without a tag: no LastTagTime.
	d := e.importTar(fileTar(t, "j", "j"))
	if got := e.ok("inspect", "-f", "{{json .RepoTags}} {{.Metadata.LastTagTime}}", d); got != "[] 0001-01-01 00:00:00 +0000 UTC\n" {
		t.Errorf("untagged image: %q", got)
	}

	// Missing objects: the found ones are printed, then one error line each; exit 1.
	r := e.run("inspect", "nosuch")
	if r.code != 1 || r.stdout != "[]\n" || r.stderr != "Error: No such object: nosuch\n" {
		t.Errorf("inspect nosuch: %s", r)
	}
	r = e.run("image", "inspect", "nosuch")
	if r.code != 1 || r.stdout != "[]\n" || !regexp.MustCompile(`^Error: No such image: nosuch(:latest)?\n$`).MatchString(r.stderr) {
		t.Errorf("image inspect nosuch: %s", r)
	}
	r = e.run("inspect", "-f", "{{.Os}}", "insp:1", "nosuch")
	if r.code != 1 || r.stdout != "linux\n" || r.stderr != "Error: No such object: nosuch\n" {
		t.Errorf("inspect insp:1 nosuch: %s", r)
	}
	r = e.run("inspect", "insp:1", "nosuch")
	if r.code != 1 || strings.Count(r.stdout, `"Id"`) != 1 || r.stderr != "Error: No such object: nosuch\n" {
		t.Errorf("inspect insp:1 nosuch: %s", r)
	}
}

func TestSystemDf(t *testing.T) {
	e := newEnv(t)
	shared := sizedTar(t, "d", 1000)
	a := e.importNamed(shared, "shared-a:1")
	b := e.importNamed(shared, "shared-b:1")
	c := e.importNamed(sizedTar(t, "e", 234), "solo:1")
	// The layer both images use is counted once: 1000 + 234 bytes, not 2234.
	want := "" +
		"TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n" +
		"Images          3         0         1.234kB   1.234kB (100%)\n" +
		"Containers      0         0         0B        0B\n" +
		"Local Volumes   0         0         0B        0B\n" +
		"Build Cache     0         0         0B        0B\n"
	if got := e.ok("system", "df"); got != want {
		t.Errorf("system df:\n%s\nwant:\n%s", got, want)
	}
	out := e.ok("system", "df", "-v")
	head, tail, ok := strings.Cut(out, "\n\nContainers space usage:\n")
	if !ok {
		t.Fatalf("system df -v:\n%s", out)
	}
	if !strings.HasPrefix(head, "Images space usage:\n\n") {
		t.Fatalf("system df -v:\n%s", out)
	}
	matchTable(t, strings.TrimPrefix(head, "Images space usage:\n\n")+"\n", []string{
		"REPOSITORY   TAG       IMAGE ID       CREATED{PAD}SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS",
		"solo         1         " + short(c) + "   {CREATED}234B      0B            234B          0",
		"shared-b     1         " + short(b) + "   {CREATED}1kB       1kB           0B            0",
		"shared-a     1         " + short(a) + "   {CREATED}1kB       1kB           0B            0",
	})
	wantTail := "\n" +
		"CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n" +
		"\n" +
		"Local Volumes space usage:\n" +
		"\n" +
		"VOLUME NAME   LINKS     SIZE\n" +
		"\n" +
		"Build cache usage: 0B\n" +
		"\n" +
		"CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
	if tail != wantTail {
		t.Errorf("system df -v after the images:\n%q\nwant:\n%q", tail, wantTail)
	}
	if got := e.ok("system", "df", "--format", "{{.Type}}: {{.Size}}"); !strings.HasPrefix(got, "Images: 1.234kB\n") {
		t.Errorf("system df --format: %q", got)
	}
}

func TestVersionInfoCompletion(t *testing.T) {
	e := newEnv(t)
	v := e.ok("version")
	if !strings.Contains(v, "Version:") || !strings.Contains(v, "Go version:") || !strings.Contains(v, "OS/Arch:") {
		t.Errorf("version:\n%s", v)
	}
	e.importNamed(fileTar(t, "a", "a"), "info:1")
	e.importTar(fileTar(t, "b", "b"))
	info := e.ok("info")
	for _, want := range []string{" Images: 2\n", " Berth Root Dir: " + e.root + "\n", " Storage Driver: "} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	if got := e.ok("info", "--format", "{{.Images}}"); got != "2\n" {
		t.Errorf("info --format {{.Images}}: %q", got)
	}
	if got := e.ok("system", "info", "--format", "{{.RootDir}}"); got != e.root+"\n" {
		t.Errorf("system info --format {{.RootDir}}: %q", got)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out := e.ok("completion", sh)
		if len(out) < 200 || !strings.Contains(out, "berth") {
			t.Errorf("completion %s: %d bytes", sh, len(out))
		}
		if path, err := exec.LookPath(sh); err == nil && sh != "fish" {
			f := filepath.Join(e.dir, "completion."+sh)
			os.WriteFile(f, []byte(out), 0o644)
			if msg, err := exec.Command(path, "-n", f).CombinedOutput(); err != nil {
				t.Errorf("%s -n on the %s completion: %v\n%s", sh, sh, err, msg)
			}
		}
	}
}

// TestRootSelection: --root wins over BERTH_ROOT, which wins over the default.
func TestRootSelection(t *testing.T) {
	e := newEnv(t)
	other := filepath.Join(t.TempDir(), "envroot")
	cmd := exec.Command(berthBin, "import", "-", "viaenv:1")
	cmd.Env = append(filteredEnviron(), "BERTH_ROOT="+other)
	cmd.Stdin = bytes.NewReader(fileTar(t, "x", "x"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import with BERTH_ROOT: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(other, "state.db")); err != nil {
		t.Errorf("BERTH_ROOT was not used: %v", err)
	}
	cmd = exec.Command(berthBin, "--root", e.root, "images", "-q")
	cmd.Env = append(filteredEnviron(), "BERTH_ROOT="+other)
	if out, err := cmd.Output(); err != nil || len(out) != 0 {
		t.Errorf("--root did not win over BERTH_ROOT: %v %q", err, out)
	}
}
