package container

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/berth-engine/berth/container/logging"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
)

func strp(s string) *string { return &s }

func TestMergeConfigLikeDocker(t *testing.T) {
	img := &image.ContainerConfig{
		Env:        []string{"PATH=/img/bin", "A=image", "B=image"},
		Cmd:        []string{"serve", "--port", "80"},
		Entrypoint: []string{"/entry"},
		WorkingDir: "/srv",
		User:       "app",
		Labels:     map[string]string{"from": "image", "both": "image"},
		StopSignal: "SIGQUIT",
		Volumes:    map[string]struct{}{"/data": {}},
	}
	cases := []struct {
		name       string
		o          CreateOptions
		entrypoint []string
		cmd        []string
		env        []string
		workdir    string
		user       string
	}{
		{"image defaults", CreateOptions{}, []string{"/entry"}, []string{"serve", "--port", "80"},
			[]string{"PATH=/img/bin", "A=image", "B=image"}, "/srv", "app"},
		{"args replace CMD only", CreateOptions{Cmd: []string{"x"}}, []string{"/entry"}, []string{"x"}, nil, "/srv", "app"},
		{"--entrypoint drops the image's CMD", CreateOptions{Entrypoint: strp("/bin/sh")}, []string{"/bin/sh"}, nil, nil, "", ""},
		{"--entrypoint with args", CreateOptions{Entrypoint: strp("echo"), Cmd: []string{"hi"}}, []string{"echo"}, []string{"hi"}, nil, "", ""},
		{"empty --entrypoint resets", CreateOptions{Entrypoint: strp(""), Cmd: []string{"echo", "hi"}}, nil, []string{"echo", "hi"}, nil, "", ""},
		{"-e first, then the image's by name", CreateOptions{Env: []string{"B=user", "C=user"}}, nil, nil,
			[]string{"B=user", "C=user", "PATH=/img/bin", "A=image"}, "", ""},
		{"-w and -u replace", CreateOptions{WorkingDir: "/tmp", User: "nobody"}, nil, nil, nil, "/tmp", "nobody"},
	}
	for _, c := range cases {
		got, err := MergeConfig(img, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.entrypoint != nil || c.name == "empty --entrypoint resets" {
			if !reflect.DeepEqual(got.Entrypoint, c.entrypoint) && !(len(got.Entrypoint) == 0 && len(c.entrypoint) == 0) {
				t.Errorf("%s: entrypoint = %q, want %q", c.name, got.Entrypoint, c.entrypoint)
			}
		}
		if c.cmd != nil || strings.HasPrefix(c.name, "--entrypoint drops") {
			if !reflect.DeepEqual(got.Cmd, c.cmd) && !(len(got.Cmd) == 0 && len(c.cmd) == 0) {
				t.Errorf("%s: cmd = %q, want %q", c.name, got.Cmd, c.cmd)
			}
		}
		if c.env != nil && !reflect.DeepEqual(got.Env, c.env) {
			t.Errorf("%s: env = %q, want %q", c.name, got.Env, c.env)
		}
		if c.workdir != "" && got.WorkingDir != c.workdir {
			t.Errorf("%s: workdir = %q, want %q", c.name, got.WorkingDir, c.workdir)
		}
		if c.user != "" && got.User != c.user {
			t.Errorf("%s: user = %q, want %q", c.name, got.User, c.user)
		}
	}
	got, _ := MergeConfig(img, CreateOptions{Labels: map[string]string{"both": "user", "mine": "1"}, StopSignal: ""})
	if !reflect.DeepEqual(got.Labels, map[string]string{"from": "image", "both": "user", "mine": "1"}) || got.StopSignal != "SIGQUIT" {
		t.Errorf("labels = %v stop signal = %q", got.Labels, got.StopSignal)
	}
	if _, ok := got.Volumes["/data"]; !ok {
		t.Errorf("image VOLUME lost: %v", got.Volumes)
	}
	if _, err := MergeConfig(&image.ContainerConfig{}, CreateOptions{}); err != ErrNoCommand {
		t.Errorf("no command: %v", err)
	}
	if _, err := MergeConfig(img, CreateOptions{Entrypoint: strp("")}); err != ErrNoCommand {
		t.Errorf("reset entrypoint and no args: %v", err)
	}
	if _, err := MergeConfig(img, CreateOptions{WorkingDir: "rel"}); err == nil ||
		err.Error() != "the working directory 'rel' is invalid, it needs to be an absolute path" {
		t.Errorf("relative -w: %v", err)
	}
	path, args := EntrypointAndArgs(image.ContainerConfig{Entrypoint: []string{"/entry", "-v"}, Cmd: []string{"x"}})
	if path != "/entry" || !reflect.DeepEqual(args, []string{"-v", "x"}) {
		t.Errorf("path %q args %q", path, args)
	}
}

func TestProcessEnv(t *testing.T) {
	got := ProcessEnv(image.ContainerConfig{Hostname: "h1", Env: []string{"A=1"}})
	want := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=h1", "A=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env = %q", got)
	}
	got = ProcessEnv(image.ContainerConfig{Hostname: "h1", Tty: true, Env: []string{"PATH=/x", "HOSTNAME"}})
	want = []string{"PATH=/x", "TERM=xterm"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
}

func TestCopyStreamWritesJSONFileLines(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/c1-json.log"
	w, err := logging.Open(logging.Config{Type: logging.JSONFile}, dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	var attached bytes.Buffer
	copyStream("stdout", strings.NewReader("one\ntwo\nno newline"), w, &attached)
	w.Close()
	if attached.String() != "one\ntwo\nno newline" {
		t.Errorf("attached = %q", attached.String())
	}
	b, _ := readFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("log = %s", b)
	}
	var e struct{ Log, Stream, Time string }
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Log != "two\n" || e.Stream != "stdout" || !strings.HasSuffix(e.Time, "Z") {
		t.Errorf("entry = %+v %v", e, err)
	}
	json.Unmarshal([]byte(lines[2]), &e)
	if e.Log != "no newline" {
		t.Errorf("partial line = %q", e.Log)
	}
}

func TestParseVolume(t *testing.T) {
	cases := map[string]Mount{
		"/host:/ctr":     {Type: "bind", Source: "/host", Target: "/ctr"},
		"/host:/ctr:ro":  {Type: "bind", Source: "/host", Target: "/ctr", ReadOnly: true},
		"data:/var/data": {Type: "volume", Source: "data", Target: "/var/data"},
		"/anon":          {Type: "volume", Target: "/anon"},
	}
	for in, want := range cases {
		got, err := ParseVolume(in)
		if err != nil || got != want {
			t.Errorf("ParseVolume(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"rel", "a:b:c:d", "/h:/c:bogus", "bad name!:/x"} {
		if _, err := ParseVolume(bad); err == nil {
			t.Errorf("ParseVolume(%q) accepted", bad)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"KILL": 9, "sigterm": 15, "SIGUSR1": 10, "2": 2} {
		if s, err := ParseSignal(in); err != nil || int(s) != want {
			t.Errorf("ParseSignal(%q) = %d %v", in, s, err)
		}
	}
	if _, err := ParseSignal("NOPE"); err == nil || err.Error() != "Invalid signal: NOPE" {
		t.Errorf("bad signal: %v", err)
	}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

func TestShortLowerdirs(t *testing.T) {
	root := t.TempDir()
	var lowers []string
	for i := 0; i < 60; i++ {
		d := filepath.Join(root, "layers", strings.Repeat("ab", 32)[:60]+fmt.Sprintf("%04d", i), "diff")
		os.MkdirAll(d, 0o755)
		lowers = append(lowers, d)
	}
	opts := []string{"index=off", "lowerdir=" + strings.Join(lowers, ":"), "upperdir=/u", "workdir=/w"}
	if n := len(strings.Join(opts, ",")); n <= maxMountData {
		t.Fatalf("test options too short (%d)", n)
	}
	data, err := shortLowerdirs(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > maxMountData {
		t.Errorf("still %d bytes", len(data))
	}
	parts := strings.Split(strings.TrimPrefix(strings.Split(data, ",")[1], "lowerdir="), ":")
	if len(parts) != 60 {
		t.Fatalf("%d lowerdirs", len(parts))
	}
	for i, p := range parts {
		if target, err := os.Readlink(p); err != nil || target != lowers[i] {
			t.Errorf("link %s -> %s (%v), want %s", p, target, err, lowers[i])
		}
	}
	// Again: the links are reused.
	if again, err := shortLowerdirs(root, opts); err != nil || again != data {
		t.Errorf("second call: %v", err)
	}
}
