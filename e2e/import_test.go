package e2e_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// compressed runs a compressor (gzip, bzip2, xz, zstd) over data, skipping when it is missing.
func compressed(t *testing.T, tool string, data []byte) []byte {
	t.Helper()
	if tool == "plain" {
		return data
	}
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s is not installed: skipping the %s input", tool, tool)
	}
	cmd := exec.Command(path, "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -c: %v", tool, err)
	}
	return out
}

// TestImportCompressions imports the same rootfs in every compression Docker detects, from a
// file and from stdin: the content (diff ID) and size come out the same every time.
func TestImportCompressions(t *testing.T) {
	plain := makeTar(t,
		entry{name: "etc/", typ: '5'},
		entry{name: "etc/motd", body: "welcome\n"},
		entry{name: "bin/", typ: '5'},
		entry{name: "bin/sh", body: strings.Repeat("#!", 500), mode: 0o755},
	)
	e := newEnv(t)
	want := ""
	for _, tool := range []string{"plain", "gzip", "bzip2", "xz", "zstd"} {
		t.Run(tool, func(t *testing.T) {
			e := *e
			e.t = t
			data := compressed(t, tool, plain)
			file := e.writeFile("rootfs."+tool, data)
			for _, src := range []string{"file", "stdin"} {
				ref := "imp-" + tool + ":" + src
				var r result
				if src == "file" {
					r = e.run("import", file, ref)
				} else {
					r = e.runIn(bytes.NewReader(data), "import", "-", ref)
				}
				if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "sha256:") || len(r.stdout) != 72 {
					t.Fatalf("import of a %s tar from %s: %s", tool, src, r)
				}
				got := e.ok("inspect", "--format", `{{json .RootFS}} {{.Size}} {{.Comment}}`, ref)
				if want == "" {
					want = got
				}
				if got != want {
					t.Errorf("%s from %s: %q, want %q (as for the plain tar)", tool, src, got, want)
				}
			}
		})
	}
	if !strings.Contains(want, ` 1008 Imported from -`) {
		t.Errorf("size and comment: %q, want 1008 bytes (8 + 1000) and %q", want, "Imported from -")
	}
}

// TestImportChanges applies every --change instruction Docker's import accepts and reads them back
// through inspect; expected values are what Docker 20.10 stores for the same -c flags.
func TestImportChanges(t *testing.T) {
	e := newEnv(t)
	tarball := e.writeFile("rootfs.tar", fileTar(t, "a", "a\n"))
	type health struct {
		Test                           []string
		Interval, Timeout, StartPeriod time.Duration
		Retries                        int
	}
	type config struct {
		User         string
		ExposedPorts map[string]struct{}
		Env          []string
		Cmd          []string
		Entrypoint   []string
		Volumes      map[string]struct{}
		WorkingDir   string
		Labels       map[string]string
		OnBuild      []string
		StopSignal   string
		Healthcheck  *health
	}
	cases := []struct {
		name    string
		changes []string
		want    config
	}{
		{"cmd exec", []string{`CMD ["/bin/sh","-c","echo hi"]`}, config{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{"cmd shell", []string{`CMD echo hi`}, config{Cmd: []string{"/bin/sh", "-c", "echo hi"}}},
		{"cmd empty", []string{`CMD`}, config{Cmd: []string{"/bin/sh", "-c"}}},
		{"entrypoint shell", []string{`ENTRYPOINT /bin/echo`}, config{Entrypoint: []string{"/bin/sh", "-c", "/bin/echo"}}},
		{"entrypoint then cmd", []string{`ENTRYPOINT ["/e"]`, `CMD x`}, config{Entrypoint: []string{"/e"}, Cmd: []string{"/bin/sh", "-c", "x"}}},
		{"cmd then entrypoint", []string{`CMD x`, `ENTRYPOINT ["/e"]`}, config{Entrypoint: []string{"/e"}, Cmd: []string{"/bin/sh", "-c", "x"}}},
		{"env", []string{`ENV A=1 B="two words"`, `ENV C 3`}, config{Env: []string{"A=1", "B=two words", "C=3"}}},
		{"expose", []string{`EXPOSE 80 443/udp 8000-8001`}, config{ExposedPorts: map[string]struct{}{"80/tcp": {}, "443/udp": {}, "8000/tcp": {}, "8001/tcp": {}}}},
		{"label", []string{`LABEL k=v "x y"=z`}, config{Labels: map[string]string{"k": "v", "x y": "z"}}},
		{"user", []string{`USER nobody`}, config{User: "nobody"}},
		{"volume", []string{`VOLUME /data /v2`, `VOLUME ["/x", "/y"]`}, config{Volumes: map[string]struct{}{"/data": {}, "/v2": {}, "/x": {}, "/y": {}}}},
		{"workdir", []string{`WORKDIR /w`, `WORKDIR sub`}, config{WorkingDir: "/w/sub"}},
		{"workdir expands env", []string{`ENV P=/a`, `WORKDIR $P/b`}, config{Env: []string{"P=/a"}, WorkingDir: "/a/b"}},
		{"onbuild", []string{`ONBUILD RUN echo built`}, config{OnBuild: []string{"RUN echo built"}}},
		// Docker 20.10's daemon refuses STOPSIGNAL ("stopsignal is not a valid change command") although
		// its documentation lists it; berth accepts it as issue 2 asks.
		{"stopsignal", []string{`STOPSIGNAL SIGTERM`}, config{StopSignal: "SIGTERM"}},
		{"lowercase instruction", []string{`user 1000:1000`}, config{User: "1000:1000"}},
		{"healthcheck none", []string{`HEALTHCHECK NONE`}, config{Healthcheck: &health{Test: []string{"NONE"}}}},
		{"healthcheck shell", []string{`HEALTHCHECK --interval=2s CMD true`}, config{Healthcheck: &health{Test: []string{"CMD-SHELL", "true"}, Interval: 2 * time.Second}}},
		{"healthcheck exec", []string{`HEALTHCHECK --interval=2s --timeout=3s --start-period=4s --retries=5 CMD ["/bin/true", "x"]`},
			config{Healthcheck: &health{Test: []string{"CMD", "/bin/true", "x"}, Interval: 2 * time.Second, Timeout: 3 * time.Second, StartPeriod: 4 * time.Second, Retries: 5}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"import"}
			for _, ch := range c.changes {
				args = append(args, "-c", ch)
			}
			ref := "changes:" + string(rune('a'+i))
			e := *e
			e.t = t
			e.ok(append(args, tarball, ref)...)
			raw := e.ok("inspect", "--format", "{{json .Config}}", ref)
			var got config
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("inspect --format '{{json .Config}}': %v\n%s", err, raw)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("-c %q:\n got %+v\nwant %+v\n(raw %s)", c.changes, got, c.want, raw)
			}
		})
	}
}

func TestImportMessage(t *testing.T) {
	e := newEnv(t)
	data := fileTar(t, "m", "m\n")
	file := e.writeFile("m.tar", data)
	e.ok("import", "-m", "my message", file, "msg:flag")
	e.ok("import", "--message", "long flag", file, "msg:long")
	e.ok("import", file, "msg:file")
	e.importNamed(data, "msg:stdin")
	for ref, want := range map[string]string{
		"msg:flag": "my message", "msg:long": "long flag",
		// Docker's CLI sends the file's content as a stream, so the daemon always says "-".
		"msg:file": "Imported from -", "msg:stdin": "Imported from -",
	} {
		got := e.ok("inspect", "--format", "{{.Comment}}|{{(index .RootFS.Layers 0)}}", ref)
		if c, _, _ := strings.Cut(got, "|"); c != want {
			t.Errorf("%s comment = %q, want %q", ref, c, want)
		}
		if h := e.ok("history", "--format", "{{.Comment}}", ref); h != want+"\n" {
			t.Errorf("%s history comment = %q, want %q", ref, h, want)
		}
	}
}

// TestImportOutput checks the one line import prints, and that importing identical content twice
// gives two images (the config's creation time differs) sharing one layer.
func TestImportOutput(t *testing.T) {
	e := newEnv(t)
	data := fileTar(t, "same", "same\n")
	id1 := e.importNamed(data, "same:1")
	id2 := e.importNamed(data, "same:2")
	for _, id := range []string{id1, id2} {
		if len(id) != 71 || !strings.HasPrefix(id, "sha256:") {
			t.Errorf("import printed %q, want sha256:<64 hex>", id)
		}
	}
	if id1 == id2 {
		t.Errorf("two imports gave the same ID %s; Docker's config carries the import time", id1)
	}
	layers, err := os.ReadDir(e.root + "/layers")
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Errorf("two images of the same content hold %d layer directories, want 1", len(layers))
	}
}
