package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// versionShape keeps each line's indentation, key and value column and replaces the value, and
// keeps only the components berth has (the Engine and runc): Docker's containerd and
// docker-init, and berth's optional crun, are left out of the comparison.
func versionShape(text string) []string {
	valueRE := regexp.MustCompile(`^(\s*[^:]+:\s*)(.*)$`)
	var shape []string
	skip := false
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "  ") && strings.HasSuffix(l, ":") {
			name := strings.TrimSuffix(strings.TrimSpace(l), ":")
			skip = name != "Engine" && name != "runc"
		} else if !strings.HasPrefix(l, " ") {
			skip = false
		}
		if skip {
			continue
		}
		if m := valueRE.FindStringSubmatch(l); m != nil && !strings.HasSuffix(l, ":") {
			l = m[1] + "V"
		}
		shape = append(shape, l)
	}
	return shape
}

func TestVersionPlainShapeIsDockers(t *testing.T) {
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (apt-get install runc): the Server section lists it")
	}
	golden, err := os.ReadFile("testdata/docker-version.golden") // `docker version`, Docker 20.10.24
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runMain(t, "version")
	if code != 0 {
		t.Fatalf("version: exit %d: %s", code, stderr)
	}
	want, got := versionShape(string(golden)), versionShape(out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("version layout differs from Docker's\ngot:\n%s\nwant:\n%s\nraw:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func component(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	for _, c := range doc["Server"].(map[string]any)["Components"].([]any) {
		if c := c.(map[string]any); c["Name"] == name {
			return c
		}
	}
	t.Fatalf("no component %q in %v", name, doc["Server"])
	return nil
}

func TestVersionJSONKeysAreDockers(t *testing.T) {
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (apt-get install runc): the Server section lists it")
	}
	golden, err := os.ReadFile("testdata/docker-version-json.golden") // `docker version --format '{{json .}}'`
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runMain(t, "version", "--format", "{{json .}}")
	if code != 0 {
		t.Fatalf("version --format json: exit %d: %s", code, stderr)
	}
	var want, got map[string]any
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// BuildTime is omitted when empty, as Docker's types.Version does; a test binary has no
	// VCS stamp to take it from.
	optional := map[string]bool{"BuildTime": true}
	same := func(what string, w, g map[string]any) {
		for _, k := range keysOf(w) {
			if _, ok := g[k]; !ok && !optional[k] {
				t.Errorf("%s lacks Docker's key %q: %s", what, k, out)
			}
		}
		for _, k := range keysOf(g) {
			if _, ok := w[k]; !ok {
				t.Errorf("%s has key %q Docker does not: %s", what, k, out)
			}
		}
	}
	same("document", want, got)
	same("Client", want["Client"].(map[string]any), got["Client"].(map[string]any))
	same("Server", want["Server"].(map[string]any), got["Server"].(map[string]any))
	for _, name := range []string{"Engine", "runc"} {
		w, g := component(t, want, name), component(t, got, name)
		same(name, w, g)
		same(name+" Details", w["Details"].(map[string]any), g["Details"].(map[string]any))
	}
	if g := got["Server"].(map[string]any)["KernelVersion"]; g == "" {
		t.Errorf("Server.KernelVersion is empty: %s", out)
	}
}

func TestVersionFormat(t *testing.T) {
	for _, tmpl := range []string{"{{.Server.Version}}", "{{.Client.Version}}"} {
		out, stderr, code := runMain(t, "version", "--format", tmpl)
		if code != 0 || out != Version+"\n" {
			t.Errorf("version --format %s = %q (exit %d, %s), want %q", tmpl, out, code, stderr, Version+"\n")
		}
	}
	if runcPath, err := exec.LookPath("runc"); err == nil {
		raw, err := exec.Command(runcPath, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(raw), "\n")
		wantVer := strings.TrimPrefix(first, "runc version ")
		out, _, code := runMain(t, "version", "--format", `{{range .Server.Components}}{{if eq .Name "runc"}}{{.Version}}{{end}}{{end}}`)
		if code != 0 || out != wantVer+"\n" {
			t.Errorf("runc component version = %q (exit %d), want %q from `runc --version`", out, code, wantVer)
		}
	}
	// Docker: `template: version:1:2: executing "version" at <.Nope>: can't evaluate field Nope
	// in type system.versionInfo`, exit 1.
	out, stderr, code := runMain(t, "version", "--format", "{{.Nope}}")
	if code != 1 || out != "" || !strings.HasPrefix(stderr, `template: version:1:2: executing "version" at <.Nope>: can't evaluate field Nope in type `) {
		t.Errorf("version --format {{.Nope}}: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// TestVersionOnlyMatchesWholeTree checks the version fast path (the root built without its
// commands): every command line it takes gets the same output and exit code as from the whole
// tree, and the command lines it must leave alone (help, other flags, a command) still get the
// whole tree.
func TestVersionOnlyMatchesWholeTree(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{"--version"}, {"-v"}, {"-v", "--version"}, {"--root", root, "--version"}, {"--root=" + root, "-v"},
		{"--version", "--root", root}, {"--version", "--root"}, {"--root", "--version"}, {"--version", "-h"},
		{"--version=true"}, {"--version", "--nope"}, {"-D", "--version"}, {"--version", "images"},
		{"--version", "--", "x"},
	} {
		fastVersion = false
		wantOut, wantErr, wantCode := runMain(t, args...)
		fastVersion = true
		out, errOut, code := runMain(t, args...)
		if out != wantOut || errOut != wantErr || code != wantCode {
			t.Errorf("%q: fast path gave %q %q %d, whole tree %q %q %d", args, out, errOut, code, wantOut, wantErr, wantCode)
		}
	}
	for args, want := range map[string]bool{
		"--version": true, "-v": true, "--root r --version": true, "--root=r -v": true,
		"--version -h": false, "--version images": false, "--version --root": false, "-D --version": false, "": false,
	} {
		if got := isVersionOnly(strings.Fields(args)); got != want {
			t.Errorf("isVersionOnly(%q) = %v, want %v", args, got, want)
		}
	}
}
