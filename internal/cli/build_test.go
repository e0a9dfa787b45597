package cli

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: layers are unpacked with their owners")
	}
	root := t.TempDir()
	if _, errs, code := slRun(t, bytes.NewReader(slRootfs(t, "base")), "--root", root, "import", "-", "base:1"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM base:1\nCOPY f /f\nCMD [\"x\"]\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "f"), []byte("file"), 0o644)
	iid := filepath.Join(t.TempDir(), "iid")

	// -q prints only the ID; -t (twice), --iidfile, --label.
	out, errs, code := slRun(t, nil, "--root", root, "build", "-q", "-t", "a:1", "-t", "b", "--iidfile", iid, "--label", "k=v", ctx)
	if code != 0 || errs != "" {
		t.Fatalf("build -q: %d %q", code, errs)
	}
	id := strings.TrimSpace(out)
	if !strings.HasPrefix(id, "sha256:") || strings.Count(out, "\n") != 1 {
		t.Fatalf("build -q printed %q", out)
	}
	if b, _ := os.ReadFile(iid); string(b) != id {
		t.Errorf("iidfile %q, want %q", b, id)
	}
	for _, n := range []string{"a:1", "b:latest"} {
		out, _, _ := slRun(t, nil, "--root", root, "image", "inspect", "--format", "{{.Id}} {{index .Config.Labels \"k\"}}", n)
		if strings.TrimSpace(out) != id+" v" {
			t.Errorf("%s: %q", n, out)
		}
	}
	// Plain progress on stderr; an unchanged rebuild is all cached and gives the same ID.
	out, errs, code = slRun(t, nil, "--root", root, "build", "--progress", "plain", "--label", "k=v", ctx)
	if code != 0 || out != "" || !strings.Contains(errs, "#6 [2/2] COPY f /f\n#6 CACHED\n") || !strings.Contains(errs, "writing image "+id) {
		t.Errorf("plain rebuild: %d %q\n%s", code, out, errs)
	}
	// A context as a tar on stdin, and a Dockerfile from stdin with -f -.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	df := "FROM base:1\nCOPY g /g\n"
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), Typeflag: tar.TypeReg})
	tw.Write([]byte(df))
	tw.WriteHeader(&tar.Header{Name: "g", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("g"))
	tw.Close()
	if _, errs, code := slRun(t, &tb, "--root", root, "build", "-q", "-t", "fromtar:1", "-"); code != 0 {
		t.Errorf("tar context on stdin: %d %s", code, errs)
	}
	if _, errs, code := slRun(t, strings.NewReader("FROM base:1\nCOPY f /copied\n"), "--root", root, "build", "-q", "-f", "-", ctx); code != 0 {
		t.Errorf("-f -: %d %s", code, errs)
	}
	// A failed build: one error line, exit 1, no name.
	_, errs, code = slRun(t, strings.NewReader("FROM base:1\nCOPY nosuch /x\n"), "--root", root, "build", "-q", "-t", "bad:1", "-f", "-", ctx)
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "Dockerfile:2:") {
		t.Errorf("failed build: %d %q", code, errs)
	}
	if _, _, code := slRun(t, nil, "--root", root, "image", "inspect", "bad:1"); code == 0 {
		t.Error("failed build was tagged")
	}
	// Intermediate states are not images.
	out, _, _ = slRun(t, nil, "--root", root, "images", "-a", "-q")
	uniq := map[string]bool{}
	for _, f := range strings.Fields(out) {
		uniq[f] = true
	}
	// base, a:1 (= b), fromtar:1 and the untagged -f - build.
	if n := len(uniq); n != 4 {
		t.Errorf("images -a: %d images\n%s", n, out)
	}
	out, _, code = slRun(t, nil, "--root", root, "builder", "du")
	if code != 0 || !strings.Contains(out, "Total:") || strings.Count(out, "\n") < 6 {
		t.Errorf("builder du: %q", out)
	}
	out, _, code = slRun(t, nil, "--root", root, "builder", "prune", "-f")
	if code != 0 || !strings.HasPrefix(out, "Deleted build cache objects:\n") {
		t.Errorf("builder prune: %q", out)
	}
	out, _, _ = slRun(t, nil, "--root", root, "builder", "du")
	if !strings.HasPrefix(out, "ID") || strings.Count(out, "\n") != 5 {
		t.Errorf("du after prune: %q", out)
	}
	// The images survive the cache prune and GC.
	if _, errs, code := slRun(t, nil, "--root", root, "image", "inspect", "a:1"); code != 0 {
		t.Errorf("image gone after builder prune: %s", errs)
	}
}
