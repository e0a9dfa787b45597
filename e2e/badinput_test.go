package e2e_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBadInput: every mistake gives one clear line on stderr, Docker's exit code, nothing on stdout,
// and leaves the store exactly as it was (no image, no blob, no layer directory, no ingest file).
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "pre", "existing\n"), "pre:1")
	good := e.writeFile("good.tar", fileTar(t, "good", "good\n"))
	notTar := e.writeFile("not.tar", bytes.Repeat([]byte("this is not a tar archive\n"), 100))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(sizedTar(t, "truncated", 200000))
	zw.Close()
	truncated := bytes.Clone(gz.Bytes()[:gz.Len()/2])
	truncFile := e.writeFile("trunc.tar.gz", truncated)
	// A gzip stream that is whole but whose tar ends in the middle of a file.
	whole := sizedTar(t, "cut", 5000)
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write(whole[:3000])
	zw.Close()
	cutTar := e.writeFile("cut.tar.gz", gz.Bytes())

	cases := []struct {
		name  string
		stdin []byte
		args  []string
		code  int
		re    string // the one stderr line; berth's "Error: " prefix optional for Docker's client-side errors
	}{
		{"not a tar", nil, []string{"import", notTar, "x:1"}, 1, `Error: Error processing tar file.*invalid tar header`},
		{"not a tar on stdin", bytes.Repeat([]byte("not a tar\n"), 300), []string{"import", "-", "x:1"}, 1, `Error: Error processing tar file.*invalid tar header`},
		{"truncated gzip", nil, []string{"import", truncFile, "x:1"}, 1, `Error: Error processing tar file.*unexpected EOF`},
		{"truncated gzip on stdin", truncated, []string{"import", "-"}, 1, `Error: Error processing tar file.*unexpected EOF`},
		{"tar cut mid-file", nil, []string{"import", cutTar}, 1, `Error: Error processing tar file.*unexpected EOF`},
		{"change RUN", nil, []string{"import", "-c", "RUN echo hi", good, "x:1"}, 1, `Error: run is not a valid change command`},
		{"change FROM", nil, []string{"import", "-c", "ENV A=1", "-c", "FROM scratch", good}, 1, `Error: from is not a valid change command`},
		{"change COPY", nil, []string{"import", "--change", "COPY a b", good}, 1, `Error: copy is not a valid change command`},
		{"unknown instruction", nil, []string{"import", "-c", "bogus x", good}, 1, `Error: bogus is not a valid change command`},
		// Docker's daemon prints the instruction parser's message as it is.
		{"ENV without value", nil, []string{"import", "-c", "ENV A", good}, 1, `Error: ENV must have two arguments`},
		{"empty LABEL", nil, []string{"import", "-c", "LABEL", good}, 1, `Error: LABEL requires at least one argument`},
		{"empty WORKDIR", nil, []string{"import", "-c", "WORKDIR", good}, 1, `Error: WORKDIR requires exactly one argument`},
		{"empty USER", nil, []string{"import", "-c", "USER", good}, 1, `Error: USER requires exactly one argument`},
		{"EXPOSE bad proto", nil, []string{"import", "-c", "EXPOSE 80/xyz", good}, 1, `Error: Invalid proto: xyz`},
		{"EXPOSE bad port", nil, []string{"import", "-c", "EXPOSE abc", good}, 1, `Error: Invalid containerPort: abc`},
		{"uppercase reference", nil, []string{"import", good, "Upper:1"}, 1, `(Error: )?invalid reference format: repository name (\(library/Upper\) )?must be lowercase`},
		{"malformed reference", nil, []string{"import", good, "bad ref"}, 1, `(Error: )?invalid reference format`},
		{"digest reference", nil, []string{"import", good, "x@sha256:" + strings.Repeat("a", 64)}, 1, `(Error: )?.*(reference|digest).*`},
		{"missing file", nil, []string{"import", filepath.Join(e.dir, "nosuch.tar")}, 1, `(Error: )?open .*nosuch.tar: no such file or directory`},
		{"unclosed template", nil, []string{"images", "--format", "{{.Foo"}, 1, `(Error: )?template parsing error: template: :1: unclosed action`},
		{"unknown template field", nil, []string{"images", "--format", "{{.Foo}}"}, 1, `(Error: )?template parsing error: template: :1:2: executing "" at <\.Foo>: can't evaluate field Foo in type .*`},
		{"unknown function", nil, []string{"images", "--format", "{{nosuch .ID}}"}, 1, `(Error: )?template parsing error: template: :1: function "nosuch" not defined`},
		{"bad inspect template", nil, []string{"inspect", "--format", "{{.Os", "pre:1"}, 1, `(Error: )?template parsing error: template: :1: unclosed action`},
		{"bad history template", nil, []string{"history", "--format", "{{end}}", "pre:1"}, 1, `(Error: )?template parsing error: .*`},
		{"unknown filter", nil, []string{"images", "--filter", "foo=bar"}, 1, `Error: Invalid filter 'foo'`},
		{"unknown prune filter", nil, []string{"image", "prune", "-f", "--filter", "dangling=true"}, 1, `Error: Invalid filter 'dangling'`},
		{"unknown flag", nil, []string{"images", "--bogus"}, 125, `unknown flag: --bogus`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := *e
			e.t = t
			before := e.snapshot()
			var r result
			if c.stdin != nil {
				r = e.runIn(bytes.NewReader(c.stdin), c.args...)
			} else {
				r = e.run(c.args...)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if r.code != c.code || !regexp.MustCompile("^"+c.re+"$").MatchString(first) || r.stdout != "" {
				t.Errorf("want exit %d, no stdout and stderr matching %q, got %s", c.code, c.re, r)
			}
			// Usage errors print Docker's hint after the message; others are exactly one line.
			if c.code != 125 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
			e.unchanged(before, c.name)
		})
	}
}

// TestImportPathEscape: a layer entry "../evil" (and one through a symlink pointing out of the
// layer) is refused with a clear error; nothing is written outside the store, nor inside it.
func TestImportPathEscape(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "pre", "pre"), "pre:1")
	outside := filepath.Dir(e.root) // the test's temp dir, which holds the root
	tars := map[string][]byte{
		"dotdot":      makeTar(t, entry{name: "ok", body: "ok"}, entry{name: "../evil", body: "pwned\n"}),
		"deep dotdot": makeTar(t, entry{name: "a/../../../evil", body: "pwned\n"}),
		"absolute symlink": makeTar(t, entry{name: "link", typ: '2', linkname: outside},
			entry{name: "link/evil", body: "pwned\n"}),
		"relative symlink": makeTar(t, entry{name: "link", typ: '2', linkname: "../../../../.."},
			entry{name: "link/evil", body: "pwned\n"}),
		"hard link out": makeTar(t, entry{name: "evil", typ: '1', linkname: "../../../../etc/hostname"}),
	}
	for name, data := range tars {
		t.Run(name, func(t *testing.T) {
			e := *e
			e.t = t
			before := e.snapshot()
			r := e.runIn(bytes.NewReader(data), "import", "-", "evil:1")
			if r.code == 0 || !regexp.MustCompile(`^Error: Error processing tar file.*\n$`).MatchString(r.stderr) || r.stdout != "" {
				t.Errorf("import of a tar escaping its root: want exit 1 and one error line, got %s", r)
			}
			e.unchanged(before, "a refused import")
			filepath.Walk(outside, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Name() == "evil" {
					t.Errorf("%s was written", p)
				}
				return nil
			})
			for _, p := range []string{"/evil", filepath.Join(outside, "..", "evil")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}
