package cli

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// slRun runs berth with stdin and returns stdout, stderr and the exit code.
func slRun(t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, stdin, &out, &errb)
	return out.String(), errb.String(), code
}

func slRootfs(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/hello", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
	tw.Write([]byte(content))
	tw.Close()
	return buf.Bytes()
}

func TestSaveLoadCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: layers are unpacked with their owners")
	}
	dir := t.TempDir()
	rootA, rootB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	out, errs, code := slRun(t, bytes.NewReader(slRootfs(t, "one")), "--root", rootA, "import", "-", "test:1")
	if code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	id := strings.TrimSpace(out)

	// -o writes the file; a failed save leaves none, and an existing file untouched.
	file := filepath.Join(dir, "out.tar")
	if _, errs, code := slRun(t, nil, "--root", rootA, "save", "-o", file, "test:1"); code != 0 {
		t.Fatalf("save: %d %s", code, errs)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, errs, code = slRun(t, nil, "--root", rootA, "image", "save", "-o", file, "test:1", "nosuch:2")
	if code != 1 || errs != "Error: No such image: nosuch:2\n" {
		t.Errorf("save of an unknown image: %d %q", code, errs)
	}
	if now, _ := os.ReadFile(file); !bytes.Equal(now, saved) {
		t.Error("a failed save changed the output file")
	}
	_, _, code = slRun(t, nil, "--root", rootA, "save", "-o", filepath.Join(dir, "none.tar"), "nosuch:2")
	if _, err := os.Stat(filepath.Join(dir, "none.tar")); code != 1 || err == nil {
		t.Error("a failed save left a file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 { // a and out.tar: no temp file left
		t.Errorf("files left: %v", ents)
	}

	// To stdout: the same bytes.
	if out, _, code := slRun(t, nil, "--root", rootA, "save", "test:1"); code != 0 || out != string(saved) {
		t.Errorf("save to stdout: %d, %d bytes", code, len(out))
	}

	out, errs, code = slRun(t, nil, "--root", rootB, "load", "-i", file)
	if code != 0 || out != "Loaded image: test:1\n" || errs != "" {
		t.Errorf("load: %d %q %q", code, out, errs)
	}
	// From stdin, quietly, an image saved by ID.
	byID, _, _ := slRun(t, nil, "--root", rootA, "save", id[7:19])
	out, errs, code = slRun(t, strings.NewReader(byID), "--root", rootB, "image", "load", "-q")
	if code != 0 || out != "Loaded image ID: "+id+"\n" {
		t.Errorf("load by ID: %d %q %q", code, out, errs)
	}

	// A name that moves to another image says so, in Docker's words.
	out, errs, code = slRun(t, bytes.NewReader(slRootfs(t, "two")), "--root", rootB, "import", "-", "test:1")
	if code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	other := strings.TrimSpace(out)
	out, _, _ = slRun(t, nil, "--root", rootB, "load", "-i", file)
	want := "The image test:1 already exists, renaming the old one with ID " + other + " to empty string\nLoaded image: test:1\n"
	if out != want {
		t.Errorf("load over a name:\n%s\nwant\n%s", out, want)
	}

	_, errs, code = slRun(t, strings.NewReader("not an archive"), "--root", rootB, "load")
	if code != 1 || !strings.HasPrefix(errs, "Error: ") {
		t.Errorf("load of garbage: %d %q", code, errs)
	}
	_, errs, code = slRun(t, nil, "--root", rootB, "save")
	if code != 1 || !strings.Contains(errs, `"berth save" requires at least 1 argument.`) {
		t.Errorf("save without args: %d %q", code, errs)
	}
}
