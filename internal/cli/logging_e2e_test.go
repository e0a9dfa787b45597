package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logFiles returns the files of a container's directory that hold its log, with their sizes.
func logFiles(t *testing.T, e *ctrEnv, ref string) (int64, []string) {
	t.Helper()
	dir := filepath.Join(e.root, "containers", e.inspect(ref, "{{.Id}}"))
	var total int64
	var names []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.Contains(p, "-json.log") || strings.Contains(p, "local-logs/")) {
			total += fi.Size()
			names = append(names, strings.TrimPrefix(p, dir+"/"))
		}
		return nil
	})
	return total, names
}

// The shape of "1 GB of output with max-size=10m max-file=3 keeps at most 30 MB", scaled down:
// some 6 MB through max-size=100k max-file=3 keeps at most 300 KB, and logs reads back the
// newest lines, in order, across the rotated (and gzipped) files.
func TestLogRotationBoundsDisk(t *testing.T) {
	e := newCtrEnv(t)
	script := `i=0; while [ $i -lt 60000 ]; do echo "line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done`
	for _, tc := range []struct {
		name string
		opts []string
		gz   bool
	}{
		{"plain", []string{"--log-opt", "max-size=100k", "--log-opt", "max-file=3"}, false},
		{"gz", []string{"--log-opt", "max-size=100k", "--log-opt", "max-file=3", "--log-opt", "compress=true"}, true},
		{"local", []string{"--log-driver", "local", "--log-opt", "max-size=100k", "--log-opt", "max-file=3"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--name", "big-" + tc.name, "--network", "none"}, tc.opts...)
			out := e.ok(append(args, "bb:1", "sh", "-c", script)...)
			if !strings.HasSuffix(out, "line 59999 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n") {
				t.Fatalf("run printed %d bytes, not the whole output", len(out))
			}
			size, names := logFiles(t, e, "big-"+tc.name)
			if size > 300_000 {
				t.Errorf("%d bytes of log kept (%v), want at most 300000", size, names)
			}
			if len(names) != 3 || tc.gz != strings.HasSuffix(names[len(names)-1], ".gz") {
				t.Errorf("log files %v", names)
			}
			logs := e.ok("logs", "big-"+tc.name)
			lines := strings.Split(strings.TrimSuffix(logs, "\n"), "\n")
			if len(lines) < 1500 {
				t.Fatalf("logs read %d lines: the rotated files were not read", len(lines))
			}
			first := 60000 - len(lines)
			for i, l := range lines {
				if want := fmt.Sprintf("line %d x", first+i); !strings.HasPrefix(l, want) {
					t.Fatalf("logs line %d is %q, want %q...", i, l, want)
				}
			}
			if out := e.ok("logs", "--tail", "2", "big-"+tc.name); !strings.HasPrefix(out, "line 59998 ") || strings.Count(out, "\n") != 2 {
				t.Errorf("--tail 2 = %q", out)
			}
		})
	}
	want := `{"Type":"json-file","Config":{"compress":"true","max-file":"3","max-size":"100k"}}`
	if got := e.inspect("big-gz", "{{json .HostConfig.LogConfig}}"); got != want {
		t.Errorf("inspect LogConfig = %s, want %s", got, want)
	}
	if got := e.inspect("big-local", "{{json .HostConfig.LogConfig}} [{{.LogPath}}]"); got != `{"Type":"local","Config":{"max-file":"3","max-size":"100k"}} []` {
		t.Errorf("inspect of a local-driver container: %s", got)
	}
}

// logs -f of a detached container goes on across rotations and sees every line once.
func TestLogFollowAcrossRotation(t *testing.T) {
	e := newCtrEnv(t)
	// About 4 KB every 0.3 s against a 10 KB file: a rotation every few polls of the follower.
	script := `i=0; while [ $i -lt 40 ]; do j=0; while [ $j -lt 40 ]; do echo "line $i.$j xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; j=$((j+1)); done; i=$((i+1)); sleep 0.3; done`
	e.ok("run", "-d", "--name", "ticker", "--network", "none", "--log-opt", "max-size=10k", "--log-opt", "max-file=5", "bb:1", "sh", "-c", script)
	c := e.cmd("logs", "-f", "ticker")
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if code := waitCode(t, c, 2*time.Minute, &out); code != 0 {
		t.Fatalf("logs -f: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	// The follower started after the first lines may have been rotated away; from where it
	// starts it must see every line once, to the last.
	var want []string
	for i := 0; i < 40; i++ {
		for j := 0; j < 40; j++ {
			want = append(want, fmt.Sprintf("line %d.%d x", i, j))
		}
	}
	start := len(want) - len(lines)
	if start < 0 || len(lines) < 1000 {
		t.Fatalf("logs -f read %d lines", len(lines))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[start+i]) {
			t.Fatalf("logs -f line %d is %q, want %q...", i, l, want[start+i])
		}
	}
}

// Docker 20.10's errors for log drivers (recorded with the reference daemon), and the config
// file's defaults merged at create as dockerd merges daemon.json's.
func TestLogDriverErrorsAndDefaults(t *testing.T) {
	e := newCtrEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		// Docker 20.10's stderr and exit codes: run's CLI-side and start failures are
		// "docker: ...", create's daemon-side ones "Error response from daemon: ..." (berth:
		// "Error: ...") with exit 1.
		{[]string{"run", "--rm", "--log-driver", "none", "--log-opt", "max-size=1m", "bb:1", "true"}, 125, "berth: invalid logging opts for driver none.\nSee 'berth run --help'."},
		{[]string{"create", "--log-opt", "foo=bar", "bb:1", "true"}, 1, "Error: unknown log opt 'foo' for json-file log driver"},
		{[]string{"create", "--log-driver", "nope", "bb:1", "true"}, 1, `Error: error looking up logging plugin nope: plugin "nope" not found`},
		{[]string{"run", "--rm", "--network", "none", "--log-opt", "max-size=abc", "bb:1", "true"}, 125, "berth: Error: failed to initialize logging driver: invalid size: 'abc'."},
		{[]string{"run", "--rm", "--network", "none", "--log-opt", "compress=true", "bb:1", "true"}, 125, "berth: Error: failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set."},
		{[]string{"builder", "prune", "-f", "--filter", "until=abc"}, 1, `Error: failed to prune build cache: "until" filter expects a duration (e.g., '24h'): time: invalid duration "abc"`},
	} {
		_, errs, code := e.run(tc.args...)
		if code != tc.code || errs != tc.err+"\n" {
			t.Errorf("berth %s: exit %d, %q; want %d, %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.err)
		}
	}
	if _, errs, code := e.run("builder", "prune", "-f", "--keep-storage", "abc"); code != 125 ||
		!strings.HasPrefix(errs, `invalid argument "abc" for "--keep-storage" flag: invalid size: 'abc'`) {
		t.Errorf("--keep-storage abc: exit %d, %q", code, errs)
	}

	e.ok("run", "--name", "quiet", "--network", "none", "--log-driver", "none", "bb:1", "echo", "hi")
	if _, errs, code := e.run("logs", "quiet"); code != 1 || errs != "Error: configured logging driver does not support reading\n" {
		t.Errorf("logs of a none-driver container: exit %d, %q", code, errs)
	}
	if got := e.inspect("quiet", "{{json .HostConfig.LogConfig}} [{{.LogPath}}]"); got != `{"Type":"none","Config":{}} []` {
		t.Errorf("inspect: %s", got)
	}

	conf := filepath.Join(e.root, "config.json")
	os.WriteFile(conf, []byte(`{"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}`), 0o644)
	create := func(args ...string) string {
		c := e.cmd(append([]string{"create"}, args...)...)
		c.Env = append(c.Env, "BERTH_CONFIG="+conf)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("create %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	id := create("--log-opt", "max-file=5", "bb:1", "true")
	if got := e.inspect(id, "{{json .HostConfig.LogConfig}}"); got != `{"Type":"json-file","Config":{"max-file":"5","max-size":"10m"}}` {
		t.Errorf("defaults merged: %s", got)
	}
	id = create("--log-driver", "local", "bb:1", "true")
	if got := e.inspect(id, "{{json .HostConfig.LogConfig}}"); got != `{"Type":"local","Config":{}}` {
		t.Errorf("another driver takes no default options: %s", got)
	}
}
