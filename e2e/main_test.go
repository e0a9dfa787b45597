// Package e2e_test drives the built berth binary the way a user does: one process per command,
// a fresh --root per test, and expectations copied from Docker 20.10's own output (recorded by
// hand against the reference daemon; the tests never need Docker).
package e2e_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// berthBin is the binary under test, built once by TestMain.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	berthBin = filepath.Join(dir, "berth")
	build := exec.Command("go", "build", "-o", berthBin, "./cmd/berth")
	build.Dir = ".."
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building berth: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// env is one test's berth installation: a root of its own, removed with the test.
type env struct {
	t    *testing.T
	root string
	dir  string // scratch space for inputs
}

func newEnv(t *testing.T) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{t: t, root: filepath.Join(base, "root"), dir: filepath.Join(base, "in")}
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// result is what one berth process did.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("berth %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

func (e *env) command(stdin io.Reader, args ...string) *exec.Cmd {
	cmd := exec.Command(berthBin, append([]string{"--root", e.root}, args...)...)
	// UTC makes CreatedAt columns predictable; BERTH_ROOT must not leak in from the caller.
	cmd.Env = append(filteredEnviron(), "TZ=UTC")
	cmd.Stdin = stdin
	return cmd
}

func filteredEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BERTH_ROOT=") && !strings.HasPrefix(kv, "TZ=") {
			out = append(out, kv)
		}
	}
	return out
}

// runIn runs berth with stdin and returns whatever happened.
func (e *env) runIn(stdin io.Reader, args ...string) result {
	e.t.Helper()
	cmd := e.command(stdin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("berth %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn(nil, args...)
}

// ok runs berth, fails the test unless it exits 0 with nothing on stderr, and returns stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("want success, got %s", r)
	}
	return r.stdout
}

// fails runs berth and checks the exit code and the exact stderr (one line each).
func (e *env) fails(code int, stderr string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code || r.stderr != stderr {
		e.t.Errorf("want exit %d and stderr %q, got %s", code, stderr, r)
	}
	return r
}

// importTar imports a tar held in memory and returns the new image ID.
func (e *env) importTar(data []byte, args ...string) string {
	e.t.Helper()
	r := e.runIn(bytes.NewReader(data), append(append([]string{"import"}, args...), "-")...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("import: %s", r)
	}
	return strings.TrimSpace(r.stdout)
}

// importNamed imports data as ref (REPO[:TAG]).
func (e *env) importNamed(data []byte, ref string, flags ...string) string {
	e.t.Helper()
	r := e.runIn(bytes.NewReader(data), append(append([]string{"import"}, flags...), "-", ref)...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("import %s: %s", ref, r)
	}
	return strings.TrimSpace(r.stdout)
}

func (e *env) writeFile(name string, data []byte) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// ---- test inputs ----

type entry struct {
	name     string
	body     string
	typ      byte // tar.TypeReg when 0
	linkname string
	mode     int64
}

// makeTar builds a tar of entries with fixed owners and times, so equal lists give equal bytes.
func makeTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		h := &tar.Header{Name: en.name, Typeflag: en.typ, Linkname: en.linkname, Mode: en.mode,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(en.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, en.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fileTar is a tar holding one regular file of the given content: the image's size is len(body).
func fileTar(t testing.TB, name, body string) []byte {
	return makeTar(t, entry{name: name, body: body})
}

// sizedTar is a tar with one file of exactly n bytes whose content depends on seed (distinct layers).
func sizedTar(t testing.TB, seed string, n int) []byte {
	body := strings.Repeat(seed, n/len(seed)+1)[:n]
	return makeTar(t, entry{name: "data", body: body})
}

// busyboxRootfs builds the rootfs tar /work/shared/tools/docker-reference.sh builds (bin/busybox and a
// symlink per applet, etc/passwd, etc/group, tmp, root) and returns it with the size Docker 20.10
// reports for it: overlay2 measures the unpacked directory, counting regular files, symlinks (the
// length of their target) and each inode once, but not directories.
func busyboxRootfs(t testing.TB) (tarball []byte, dockerSize int64) {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed (apt-get install -y busybox-static): skipping busybox image tests")
	}
	bin, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group := "root:x:0:\nnogroup:x:65534:\n"
	entries := []entry{
		{name: "./", typ: tar.TypeDir, mode: 0o700},
		{name: "./bin/", typ: tar.TypeDir},
	}
	var applets []string
	for _, a := range strings.Fields(string(list)) {
		if a != "busybox" {
			applets = append(applets, a)
		}
	}
	names := append([]string{"busybox"}, applets...)
	sort.Strings(names)
	dockerSize = int64(len(bin)) + int64(len(passwd)) + int64(len(group))
	for _, n := range names {
		if n == "busybox" {
			entries = append(entries, entry{name: "./bin/busybox", body: string(bin), mode: 0o755})
			continue
		}
		entries = append(entries, entry{name: "./bin/" + n, typ: tar.TypeSymlink, linkname: "busybox", mode: 0o777})
		dockerSize += int64(len("busybox"))
	}
	entries = append(entries,
		entry{name: "./etc/", typ: tar.TypeDir},
		entry{name: "./etc/group", body: group},
		entry{name: "./etc/passwd", body: passwd},
		entry{name: "./root/", typ: tar.TypeDir},
		entry{name: "./tmp/", typ: tar.TypeDir},
	)
	return makeTar(t, entries...), dockerSize
}

// ---- store snapshots: proving that a failed command wrote nothing ----

// storeFiles lists the files under the store's data directories (blobs, layers, ingest).
func (e *env) storeFiles() []string {
	e.t.Helper()
	var out []string
	for _, d := range []string{"blobs/sha256", "layers", "ingest"} {
		ents, err := os.ReadDir(filepath.Join(e.root, d))
		if err != nil && !os.IsNotExist(err) {
			e.t.Fatal(err)
		}
		for _, en := range ents {
			out = append(out, d+"/"+en.Name())
		}
	}
	sort.Strings(out)
	return out
}

type snapshot struct {
	files  []string
	images string
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	return snapshot{files: e.storeFiles(),
		images: e.ok("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}")}
}

// unchanged fails the test if the store differs from s.
func (e *env) unchanged(s snapshot, what string) {
	e.t.Helper()
	now := e.snapshot()
	if strings.Join(now.files, "\n") != strings.Join(s.files, "\n") {
		e.t.Errorf("%s wrote to the store:\nbefore: %v\nafter:  %v", what, s.files, now.files)
	}
	if now.images != s.images {
		e.t.Errorf("%s changed the image list:\nbefore:\n%s\nafter:\n%s", what, s.images, now.images)
	}
}

// ---- output matching ----

// createdRe matches go-units' HumanDuration for the ages a test sees.
const createdRe = `(?:Less than a second|[0-9]+ seconds?|About a minute) ago`

// matchTable compares a table whose CREATED column is volatile with hand-written expected lines.
// In want, "{CREATED}" stands for one age phrase and "{PAD}" for the spaces after a cell of that
// column (the header's "CREATED" included). Every other byte must match, and the column after
// CREATED must start where text/tabwriter puts it: max(10, widest cell + 3) after CREATED starts.
func matchTable(t *testing.T, got string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if !strings.HasSuffix(got, "\n") || len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s\nwant:\n%s", len(lines), len(want), got, strings.Join(want, "\n"))
	}
	createdStart, nextStart, widest := -1, -1, 0
	for i, w := range want {
		parts := regexp.MustCompile(`\{CREATED\}|\{PAD\}`).Split(w, -1)
		toks := regexp.MustCompile(`\{CREATED\}|\{PAD\}`).FindAllString(w, -1)
		var pat strings.Builder
		pat.WriteString("^")
		for j, p := range parts {
			pat.WriteString(regexp.QuoteMeta(p))
			if j < len(toks) {
				if toks[j] == "{CREATED}" {
					pat.WriteString("(" + createdRe + ")( +)")
				} else {
					pat.WriteString("()( +)")
				}
			}
		}
		pat.WriteString("$")
		re := regexp.MustCompile(pat.String())
		m := re.FindStringSubmatchIndex(lines[i])
		if m == nil {
			t.Errorf("line %d:\n got: %q\nwant: %q", i, lines[i], w)
			continue
		}
		if len(toks) == 0 {
			continue
		}
		cellStart := m[2]
		if toks[0] == "{PAD}" {
			cellStart = m[2] - len("CREATED")
		}
		cellLen := m[4] - cellStart
		if createdStart == -1 {
			createdStart, nextStart = cellStart, m[5]
		}
		if cellStart != createdStart || m[5] != nextStart {
			t.Errorf("line %d: CREATED column at %d..%d, want %d..%d:\n%s", i, cellStart, m[5], createdStart, nextStart, got)
		}
		widest = max(widest, cellLen)
	}
	if createdStart >= 0 && nextStart-createdStart != max(10, widest+3) {
		t.Errorf("CREATED column is %d wide, want max(10, %d+3):\n%s", nextStart-createdStart, widest, got)
	}
}

// lines splits output into lines without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// short is an image ID the way listings show it.
func short(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }
