package container

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/image"
)

// Info is one value the CLI prints and the Engine API serves: Docker's keys with the host's values.
func TestInfoDocument(t *testing.T) {
	root := t.TempDir()
	s, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := New(s)
	m.LogDefaults = logging.Config{Type: "local"}
	info, err := m.Info("9.9")
	if err != nil {
		t.Fatal(err)
	}
	if info.NCPU != runtime.NumCPU() || info.MemTotal <= 0 || info.KernelVersion == "" || info.DockerRootDir != root ||
		info.LoggingDriver != "local" || info.ServerVersion != "9.9" || info.Swarm.LocalNodeState != "inactive" ||
		info.Containers != 0 || info.Images != 0 || info.CgroupDriver != "cgroupfs" {
		t.Errorf("info = %+v", info)
	}
	b, _ := json.Marshal(info.Runtimes)
	if _, ok := info.Runtimes["runc"]; ok && string(b) == "{}" {
		t.Errorf("runtimes JSON %s", b)
	}
	m.LogDefaults = logging.Config{}
	if info, _ = m.Info("9.9"); info.LoggingDriver != logging.DefaultDriver {
		t.Errorf("default logging driver %q", info.LoggingDriver)
	}
}
