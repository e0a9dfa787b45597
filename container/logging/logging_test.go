package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func writeLines(t *testing.T, w Writer, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		stream := "stdout"
		if i%7 == 0 {
			stream = "stderr"
		}
		if err := w.Write(Entry{Stream: stream, Line: []byte(fmt.Sprintf("line %06d %s\n", i, strings.Repeat("x", 60))), Time: time.Unix(1700000000, int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

func readAll(t *testing.T, c Config, dir string, o ReadOptions) []Entry {
	t.Helper()
	var got []Entry
	if err := Read(c, dir, "c1", o, func() bool { return false }, func(e Entry) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	return got
}

func dirSize(t *testing.T, dir string) (int64, []string) {
	var total int64
	var names []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += fi.Size()
			names = append(names, strings.TrimPrefix(p, dir+"/"))
		}
		return nil
	})
	return total, names
}

// The shape of "1 GB of output with max-size=10m max-file=3 keeps at most 30 MB", scaled down:
// 5 MB through max-size=100k max-file=3 keeps at most 300 KB, and what is kept reads back as the
// newest lines, in order, across the rotated files.
func TestRotationBoundsDisk(t *testing.T) {
	for _, tc := range []struct {
		driver string
		opts   map[string]string
		files  []string
	}{
		{JSONFile, map[string]string{"max-size": "100k", "max-file": "3"}, []string{"c1-json.log", "c1-json.log.1", "c1-json.log.2"}},
		{JSONFile, map[string]string{"max-size": "100k", "max-file": "3", "compress": "true"}, []string{"c1-json.log", "c1-json.log.1.gz", "c1-json.log.2.gz"}},
		{JSONFile, map[string]string{"max-size": "100k"}, []string{"c1-json.log"}},
		{Local, map[string]string{"max-size": "100k", "max-file": "3"}, []string{"local-logs/container.log", "local-logs/container.log.1.gz", "local-logs/container.log.2.gz"}},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.driver, tc.opts), func(t *testing.T) {
			dir := t.TempDir()
			c := Config{Type: tc.driver, Config: tc.opts}
			w, err := Open(c, dir, "c1")
			if err != nil {
				t.Fatal(err)
			}
			const n = 70000 // 76-byte lines: about 5.3 MB of output
			writeLines(t, w, 0, n)
			w.Close()
			size, names := dirSize(t, dir)
			if size > 300_000 {
				t.Errorf("%d bytes kept on disk (%v), want at most 300000", size, names)
			}
			if strings.Join(names, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files %v, want %v", names, tc.files)
			}
			got := readAll(t, c, dir, ReadOptions{Tail: -1})
			if len(got) == 0 {
				t.Fatal("nothing read back")
			}
			first := n - len(got)
			for i, e := range got {
				want := fmt.Sprintf("line %06d ", first+i)
				if !strings.HasPrefix(string(e.Line), want) || !strings.HasSuffix(string(e.Line), "\n") {
					t.Fatalf("entry %d is %q, want %q...: lost or out of order", i, e.Line, want)
				}
				if (first+i)%7 == 0 && e.Stream != "stderr" || (first+i)%7 != 0 && e.Stream != "stdout" {
					t.Fatalf("entry %d on %s", i, e.Stream)
				}
				if !e.Time.Equal(time.Unix(1700000000, int64(first+i))) {
					t.Fatalf("entry %d time %v", i, e.Time)
				}
			}
			if len(tc.files) > 1 && len(got) < 1000 {
				t.Errorf("only %d entries kept: the rotated files were not read", len(got))
			}
			// --tail across files, and --since.
			tail := readAll(t, c, dir, ReadOptions{Tail: 3})
			if len(tail) != 3 || !strings.HasPrefix(string(tail[2].Line), fmt.Sprintf("line %06d", n-1)) {
				t.Errorf("--tail 3 read %d entries ending %q", len(tail), tail[len(tail)-1].Line)
			}
			since := readAll(t, c, dir, ReadOptions{Tail: -1, Since: time.Unix(1700000000, int64(n-10))})
			if len(since) != 10 {
				t.Errorf("--since read %d entries, want 10", len(since))
			}
		})
	}
}

// A writer reopening a log (a restarted container) carries on from its size.
func TestReopenAppendsAndRotates(t *testing.T) {
	dir := t.TempDir()
	c := Config{Type: JSONFile, Config: map[string]string{"max-size": "10k", "max-file": "2"}}
	for round := 0; round < 3; round++ {
		w, err := Open(c, dir, "c1")
		if err != nil {
			t.Fatal(err)
		}
		writeLines(t, w, round*100, 100)
		w.Close()
	}
	size, names := dirSize(t, dir)
	if size > 20_000 || len(names) != 2 {
		t.Errorf("%d bytes in %v, want two files of at most 10k", size, names)
	}
	got := readAll(t, c, dir, ReadOptions{Tail: -1})
	if last := string(got[len(got)-1].Line); !strings.HasPrefix(last, "line 000299") {
		t.Errorf("last entry %q", last)
	}
}

// A follower sees every entry exactly once while the writer rotates under it.
func TestFollowAcrossRotation(t *testing.T) {
	for _, compress := range []string{"false", "true"} {
		t.Run("compress="+compress, func(t *testing.T) {
			dir := t.TempDir()
			c := Config{Type: JSONFile, Config: map[string]string{"max-size": "20k", "max-file": "4", "compress": compress}}
			w, err := Open(c, dir, "c1")
			if err != nil {
				t.Fatal(err)
			}
			var writing atomic.Bool
			writing.Store(true)
			// About one rotation per batch, slower than the follower polls: it sees every file.
			const n, batch = 600, 60
			go func() {
				for i := 0; i < n; i += batch {
					writeLines(t, w, i, batch)
					time.Sleep(3 * pollInterval / 2)
				}
				w.Close()
				writing.Store(false)
			}()
			var got []Entry
			err = Read(c, dir, "c1", ReadOptions{Follow: true, Tail: -1}, writing.Load, func(e Entry) { got = append(got, e) })
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range got {
				if want := fmt.Sprintf("line %06d ", i); !strings.HasPrefix(string(e.Line), want) {
					t.Fatalf("entry %d of %d is %q, want %q", i, len(got), e.Line, want)
				}
			}
			if len(got) != n {
				t.Errorf("follower saw %d of %d entries", len(got), n)
			}
		})
	}
}

// A line cut at 16 KB is stored as partial pieces; the local driver keeps that in its framing.
func TestLocalPartialAndFraming(t *testing.T) {
	dir := t.TempDir()
	c := Config{Type: Local, Config: map[string]string{}}
	w, err := Open(c, dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000001, 42)
	w.Write(Entry{Stream: "stdout", Line: []byte("piece"), Time: now})
	w.Write(Entry{Stream: "stderr", Line: []byte("rest\n"), Time: now})
	w.Write(Entry{Stream: "stdout", Line: []byte("\n"), Time: now})
	w.Close()
	b, err := os.ReadFile(filepath.Join(dir, "local-logs", "container.log"))
	if err != nil {
		t.Fatal(err)
	}
	// First frame: size, then LogEntry{source:"stdout" time_nano line:"piece" partial:true}, size.
	want := "\x00\x00\x00\x1b\x0a\x06stdout\x10\xaa\x94\x93\x8e\xe7\x9f\xe7\xcb\x17\x1a\x05piece\x20\x01\x00\x00\x00\x1b"
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("first frame %q, want %q", b[:min(len(b), len(want))], want)
	}
	got := readAll(t, c, dir, ReadOptions{Tail: -1})
	var s []string
	for _, e := range got {
		s = append(s, e.Stream+":"+string(e.Line))
		if !e.Time.Equal(now) {
			t.Errorf("time %v", e.Time)
		}
	}
	if strings.Join(s, "|") != "stdout:piece|stderr:rest\n|stdout:\n" {
		t.Errorf("read back %q", s)
	}
}

// Docker 20.10's errors, recorded with the reference daemon (`docker run --log-opt ...`).
func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		open string // the error at start (Open); "" for none
		keys string // the error at create (ValidateKeys)
	}{
		{Config{JSONFile, map[string]string{"max-size": "abc"}}, "failed to initialize logging driver: invalid size: 'abc'", ""},
		{Config{JSONFile, map[string]string{"max-size": "0"}}, "failed to initialize logging driver: max-size must be a positive number", ""},
		{Config{JSONFile, map[string]string{"max-size": "-1"}}, "failed to initialize logging driver: invalid size: '-1'", ""},
		{Config{JSONFile, map[string]string{"max-file": "0"}}, "failed to initialize logging driver: max-file cannot be less than 1", ""},
		{Config{JSONFile, map[string]string{"max-file": "x"}}, `failed to initialize logging driver: strconv.Atoi: parsing "x": invalid syntax`, ""},
		{Config{JSONFile, map[string]string{"compress": "true"}}, "failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set", ""},
		{Config{JSONFile, map[string]string{"max-size": "1k", "max-file": "2", "compress": "maybe"}}, `failed to initialize logging driver: strconv.ParseBool: parsing "maybe": invalid syntax`, ""},
		{Config{JSONFile, map[string]string{"foo": "bar"}}, "", "unknown log opt 'foo' for json-file log driver"},
		{Config{Local, map[string]string{"foo": "1"}}, "", "unknown log opt 'foo' for log driver local"},
		{Config{Local, map[string]string{"max-size": "abc"}}, "failed to initialize logging driver: invalid value for max-size: abc: invalid size: 'abc'", ""},
		{Config{Local, map[string]string{"max-file": "x"}}, `failed to initialize logging driver: invalid value for max-file: x: strconv.Atoi: parsing "x": invalid syntax`, ""},
		{Config{Local, map[string]string{"max-file": "0"}}, "failed to initialize logging driver: compression cannot be enabled when max file count is 1", ""},
		{Config{Local, map[string]string{"compress": "maybe"}}, `failed to initialize logging driver: error reading compress log option: strconv.ParseBool: parsing "maybe": invalid syntax`, ""},
		{Config{"nope", nil}, "", `error looking up logging plugin nope: plugin "nope" not found`},
		{Config{None, map[string]string{"max-size": "1m"}}, "", "invalid logging opts for driver none"},
		{Config{JSONFile, map[string]string{"max-size": "10m", "max-file": "3", "compress": "true"}}, "", ""},
	} {
		kerr := ValidateKeys(tc.c)
		if got := errString(kerr); got != tc.keys {
			t.Errorf("ValidateKeys(%v) = %q, want %q", tc.c, got, tc.keys)
		}
		if kerr != nil {
			continue
		}
		w, err := Open(tc.c, t.TempDir(), "c1")
		if got := errString(err); got != tc.open {
			t.Errorf("Open(%v) = %q, want %q", tc.c, got, tc.open)
		}
		if w != nil {
			w.Close()
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMergeWithDaemonDefaults(t *testing.T) {
	def := Config{Type: JSONFile, Config: map[string]string{"max-size": "10m", "max-file": "3"}}
	got := Merge(Config{Config: map[string]string{"max-file": "5"}}, def)
	if got.Type != JSONFile || got.Config["max-size"] != "10m" || got.Config["max-file"] != "5" {
		t.Errorf("same driver: %v", got)
	}
	// Another driver than the default takes none of the default's options.
	if got := Merge(Config{Type: Local}, def); got.Type != Local || len(got.Config) != 0 {
		t.Errorf("other driver: %v", got)
	}
	if got := Merge(Config{}, Config{}); got.Type != JSONFile || got.Config == nil {
		t.Errorf("no default: %v", got)
	}
	if err := Read(Config{Type: None}, t.TempDir(), "c1", ReadOptions{}, nil, nil); err != ErrNotReadable {
		t.Errorf("Read of none = %v", err)
	}
}

// testdata/docker-local.log was written by Docker 20.10's local driver (`docker run --log-driver
// local busybox sh -c 'echo hi; echo err >&2; echo bye'`): berth reads it, and writes the same
// entries byte for byte.
func TestLocalMatchesDocker(t *testing.T) {
	b, err := os.ReadFile("testdata/docker-local.log")
	if err != nil {
		t.Fatal(err)
	}
	d := &decoder{r: strings.NewReader(string(b)), c: localCodec{}}
	var got []string
	var again []byte
	for {
		e, err := d.next()
		if err != nil {
			break
		}
		got = append(got, e.Stream+":"+string(e.Line)+":"+e.Time.UTC().Format(time.RFC3339Nano))
		again = localCodec{}.encode(again, e)
	}
	want := []string{"stderr:err\n:2026-12-03T04:42:33.565858939Z", "stdout:hi\n:2026-12-03T04:42:33.565897387Z", "stdout:bye\n:2026-12-03T04:42:33.56589984Z"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("read %q, want %q", got, want)
	}
	if string(again) != string(b) {
		t.Errorf("re-encoded\n%x\nDocker wrote\n%x", again, b)
	}
}
