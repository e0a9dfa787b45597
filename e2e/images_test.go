package e2e_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goldenStore imports the images every golden test lists, oldest first:
//
//	alpha:1, alpha:latest, gamma:x  one image, a 6-byte file            (6B)
//	localhost:5000/team/beta:v2     a 1234-byte file                    (1.23kB)
//	<none>:<none>                   a 999999-byte file                  (1e+03kB: go-units' %.3g)
//
// and returns their IDs (alpha, beta, dangling).
func goldenStore(t *testing.T) (e *env, alpha, beta, dangling string) {
	e = newEnv(t)
	alpha = e.importNamed(fileTar(t, "a.txt", "hello\n"), "alpha:1")
	beta = e.importNamed(sizedTar(t, "b", 1234), "localhost:5000/team/beta:v2")
	dangling = e.importTar(sizedTar(t, "c", 999999))
	e.ok("tag", "alpha:1", "alpha:latest")
	e.ok("tag", short(alpha), "docker.io/library/gamma:x")
	return e, alpha, beta, dangling
}

func TestImagesDefaultTable(t *testing.T) {
	e, a, b, c := goldenStore(t)
	want := []string{
		"REPOSITORY                 TAG       IMAGE ID       CREATED{PAD}SIZE",
		"<none>                     <none>    " + short(c) + "   {CREATED}1e+03kB",
		"localhost:5000/team/beta   v2        " + short(b) + "   {CREATED}1.23kB",
		"alpha                      1         " + short(a) + "   {CREATED}6B",
		"alpha                      latest    " + short(a) + "   {CREATED}6B",
		"gamma                      x         " + short(a) + "   {CREATED}6B",
	}
	matchTable(t, e.ok("images"), want)
	// The same listing under its other names and with the explicit keyword.
	matchTable(t, e.ok("image", "ls"), want)
	matchTable(t, e.ok("images", "--format", "table"), want)
}

func TestImagesDigests(t *testing.T) {
	e, a, b, c := goldenStore(t)
	matchTable(t, e.ok("images", "--digests"), []string{
		"REPOSITORY                 TAG       DIGEST    IMAGE ID       CREATED{PAD}SIZE",
		"<none>                     <none>    <none>    " + short(c) + "   {CREATED}1e+03kB",
		"localhost:5000/team/beta   v2        <none>    " + short(b) + "   {CREATED}1.23kB",
		"alpha                      1         <none>    " + short(a) + "   {CREATED}6B",
		"alpha                      latest    <none>    " + short(a) + "   {CREATED}6B",
		"gamma                      x         <none>    " + short(a) + "   {CREATED}6B",
	})
}

func TestImagesNoTrunc(t *testing.T) {
	e, a, b, c := goldenStore(t)
	pad := strings.Repeat(" ", 74-len("IMAGE ID"))
	matchTable(t, e.ok("images", "--no-trunc"), []string{
		"REPOSITORY                 TAG       IMAGE ID" + pad + "CREATED{PAD}SIZE",
		"<none>                     <none>    " + c + "   {CREATED}1e+03kB",
		"localhost:5000/team/beta   v2        " + b + "   {CREATED}1.23kB",
		"alpha                      1         " + a + "   {CREATED}6B",
		"alpha                      latest    " + a + "   {CREATED}6B",
		"gamma                      x         " + a + "   {CREATED}6B",
	})
}

func TestImagesCustomTable(t *testing.T) {
	e, _, _, _ := goldenStore(t)
	got := e.ok("images", "--format", `table {{.Repository}}\t{{.Tag}}\t{{.Size}}`)
	want := "" +
		"REPOSITORY                 TAG       SIZE\n" +
		"<none>                     <none>    1e+03kB\n" +
		"localhost:5000/team/beta   v2        1.23kB\n" +
		"alpha                      1         6B\n" +
		"alpha                      latest    6B\n" +
		"gamma                      x         6B\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// CreatedAt is Go's time.Time.String() of the Unix seconds (TZ=UTC here).
	got = e.ok("images", "--format", `table {{.ID}}\t{{.CreatedAt}}`, "alpha:1")
	if !regexp.MustCompile(`^IMAGE ID       CREATED AT\n[0-9a-f]{12}   20\d\d-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\n$`).MatchString(got) {
		t.Errorf("table {{.ID}}\\t{{.CreatedAt}}: got\n%s", got)
	}
}

func TestImagesJSON(t *testing.T) {
	e, a, b, c := goldenStore(t)
	created := func(id string) string {
		s := strings.TrimSpace(e.ok("inspect", "--format", "{{.Created}}", id))
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("inspect .Created = %q: %v", s, err)
		}
		return time.Unix(tm.Unix(), 0).UTC().String()
	}
	row := func(id, repo, tag, size, vsize string) string {
		return `{"Containers":"N/A","CreatedAt":"` + created(id) + `","CreatedSince":"{CREATED}","Digest":"\u003cnone\u003e",` +
			`"ID":"` + short(id) + `","Repository":"` + repo + `","SharedSize":"N/A","Size":"` + size + `",` +
			`"Tag":"` + tag + `","UniqueSize":"N/A","VirtualSize":"` + vsize + `"}`
	}
	want := []string{
		row(c, `\u003cnone\u003e`, `\u003cnone\u003e`, "1e+03kB", "1000kB"),
		row(b, "localhost:5000/team/beta", "v2", "1.23kB", "1.234kB"),
		row(a, "alpha", "1", "6B", "6B"),
		row(a, "alpha", "latest", "6B", "6B"),
		row(a, "gamma", "x", "6B", "6B"),
	}
	for _, f := range []string{"json", "{{json .}}"} {
		got := lines(e.ok("images", "--format", f))
		if len(got) != len(want) {
			t.Fatalf("--format %s: got %d lines, want %d:\n%s", f, len(got), len(want), strings.Join(got, "\n"))
		}
		for i := range want {
			re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(want[i]), `\{CREATED\}`, createdRe) + "$")
			if !re.MatchString(got[i]) {
				t.Errorf("--format %s line %d:\n got: %s\nwant: %s", f, i, got[i], want[i])
			}
		}
	}
}

func TestImagesQuietAndIDTemplate(t *testing.T) {
	e, a, b, c := goldenStore(t)
	// One line per row, as Docker prints it: an image with three names appears three times.
	want := strings.Join([]string{short(c), short(b), short(a), short(a), short(a)}, "\n") + "\n"
	if got := e.ok("images", "-q"); got != want {
		t.Errorf("images -q:\n%s\nwant:\n%s", got, want)
	}
	if got := e.ok("images", "--format", "{{.ID}}"); got != want {
		t.Errorf("images --format {{.ID}}:\n%s\nwant:\n%s", got, want)
	}
	if got, want := e.ok("images", "-q", "--no-trunc", "beta"), ""; got != want {
		t.Errorf("images -q --no-trunc beta (no such repository in docker.io): %q, want %q", got, want)
	}
	if got, want := e.ok("images", "-q", "--no-trunc", "localhost:5000/team/beta"), b+"\n"; got != want {
		t.Errorf("images -q --no-trunc localhost:5000/team/beta: %q, want %q", got, want)
	}
	// A name filter shows only the matching rows of an image with several names.
	if got, want := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "alpha"), "alpha:1\nalpha:latest\n"; got != want {
		t.Errorf("images alpha: %q, want %q", got, want)
	}
	if got, want := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "gamma:x"), "gamma:x\n"; got != want {
		t.Errorf("images gamma:x: %q, want %q", got, want)
	}
	// Template functions Docker's CLI provides.
	got := e.ok("images", "--format", `{{upper .Repository}}|{{lower "AB"}}|{{title .Tag}}|{{join (split .Repository "/") ","}}|{{truncate .ID 4}}|{{pad .Tag 1 1}}|{{json .Tag}}`, "localhost:5000/team/beta")
	if want := `LOCALHOST:5000/TEAM/BETA|ab|V2|localhost:5000,team,beta|` + short(b)[:4] + `| v2 |"v2"` + "\n"; got != want {
		t.Errorf("template functions: got %q, want %q", got, want)
	}
}

func TestImagesEmptyStore(t *testing.T) {
	e := newEnv(t)
	if got, want := e.ok("images"), "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"; got != want {
		t.Errorf("images on an empty store: %q, want %q", got, want)
	}
	if got := e.ok("images", "-q"); got != "" {
		t.Errorf("images -q on an empty store: %q", got)
	}
	if got := e.ok("images", "--format", "json"); got != "" {
		t.Errorf("images --format json on an empty store: %q", got)
	}
}

// humanSize is go-units' HumanSizeWithPrecision(size, precision) with decimal units, as Docker uses.
func humanSize(size float64, precision int) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for size >= 1000 && i < len(units)-1 {
		size /= 1000
		i++
	}
	return fmt.Sprintf("%.*g%s", precision, size, units[i])
}

// TestImageSizeLikeDocker imports the reference busybox rootfs: Docker 20.10 reports 1984241 bytes
// for it on the reference machine (busybox 1982256 + /etc 109 + 268 symlinks × len("busybox")),
// because overlay2 measures the unpacked directory and a symlink's size is its target's length.
func TestImageSizeLikeDocker(t *testing.T) {
	e := newEnv(t)
	bb, dockerSize := busyboxRootfs(t)
	e.importNamed(bb, "busybox")
	if got := strings.TrimSpace(e.ok("inspect", "--format", "{{.Size}}", "busybox")); got != fmt.Sprint(dockerSize) {
		t.Errorf("inspect .Size of the busybox rootfs = %s, want %d (what Docker reports: symlinks count their target length)", got, dockerSize)
	}
	got := e.ok("images", "--format", "{{.Size}} {{.VirtualSize}}", "busybox")
	if want := humanSize(float64(dockerSize), 3) + " " + humanSize(float64(dockerSize), 4) + "\n"; got != want {
		t.Errorf("images Size VirtualSize = %q, want %q", got, want)
	}
}
