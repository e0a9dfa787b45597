package cli

import (
	"encoding/json"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/berth-engine/berth/system"
)

// TestInfoDockerKeys checks the `info --format` keys scripts read against Docker 20.10's answer
// (testdata/docker-info-keys.golden: "KEY JSON" lines from the reference daemon): each has
// Docker's JSON kind, and the host's real value where the test can know it.
func TestInfoDockerKeys(t *testing.T) {
	golden, err := os.ReadFile("testdata/docker-info-keys.golden")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	host, _ := os.Hostname()
	want := map[string]any{
		"NCPU":          float64(runtime.NumCPU()),
		"KernelVersion": system.KernelVersion(),
		"CgroupDriver":  "cgroupfs",
		"DockerRootDir": root,
		"Name":          host,
	}
	for _, l := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		key, docker, _ := strings.Cut(l, " ")
		if key == "ID" {
			continue // not done: berth keeps no engine ID yet
		}
		out, stderr, code := runMain(t, "--root", root, "info", "--format", "{{json ."+key+"}}")
		if code != 0 {
			t.Errorf("info --format {{json .%s}}: exit %d: %s", key, code, stderr)
			continue
		}
		var d, g any
		if err := json.Unmarshal([]byte(docker), &d); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &g); err != nil {
			t.Errorf("%s: %v: %q", key, err, out)
			continue
		}
		if reflect.TypeOf(d) != reflect.TypeOf(g) {
			t.Errorf("%s = %s, Docker's is %s: not the same JSON kind", key, out, docker)
		}
		if w, ok := want[key]; ok && !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %s, want %v", key, out, w)
		}
		switch key {
		case "Swarm": // outside a swarm, exactly Docker's
			if !reflect.DeepEqual(g, d) {
				t.Errorf("Swarm = %s, Docker's is %s", out, docker)
			}
		case "CgroupVersion":
			if g != "1" && g != "2" {
				t.Errorf("CgroupVersion = %s", out)
			}
		case "MemTotal":
			if n, _ := g.(float64); n <= 0 {
				t.Errorf("MemTotal = %s", out)
			}
		case "LoggingDriver":
			if g == "" {
				t.Errorf("LoggingDriver is empty")
			}
		}
	}
	// Docker: `template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type
	// system.info`, exit 1.
	out, stderr, code := runMain(t, "--root", root, "info", "--format", "{{.Nope}}")
	if code != 1 || out != "" || !strings.HasPrefix(stderr, `template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type `) {
		t.Errorf("info --format {{.Nope}}: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
