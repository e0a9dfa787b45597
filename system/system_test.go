package system

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// The df rows from measured values: what is in use is not reclaimable, shared bytes count once.
func TestUsageRows(t *testing.T) {
	du := DiskUsage{
		Images: image.DiskUsage{LayersSize: 1000, Images: []image.Summary{
			{ID: "a", Size: 600, SharedSize: 200, Containers: 1},
			{ID: "b", Size: 500, SharedSize: 200, Containers: 0},
		}},
		Containers: []container.Summary{
			{Container: &container.Container{ID: "c1"}, State: container.State{Status: "running"}, SizeRw: 10},
			{Container: &container.Container{ID: "c2"}, State: container.State{Status: "exited"}, SizeRw: 30},
		},
		Volumes: []VolumeUsage{
			{Volume: container.Volume{Name: "v1", Links: 1}, Size: 7},
			{Volume: container.Volume{Name: "v2"}, Size: 5},
		},
		BuildCache: []build.CacheRecord{
			{CacheEntry: metadata.CacheEntry{Size: 40}},
			{CacheEntry: metadata.CacheEntry{Size: 60}, Shared: true},
		},
	}
	for name, c := range map[string]struct{ got, want Usage }{
		"images":      {du.ImageUsage(), Usage{TotalCount: 2, ActiveCount: 1, TotalSize: 1000, Reclaimable: 600}},
		"containers":  {du.ContainerUsage(), Usage{TotalCount: 2, ActiveCount: 1, TotalSize: 40, Reclaimable: 30}},
		"volumes":     {du.VolumeUsage(), Usage{TotalCount: 2, ActiveCount: 1, TotalSize: 12, Reclaimable: 5}},
		"build cache": {du.BuildCacheUsage(), Usage{TotalCount: 2, TotalSize: 40, Reclaimable: 40}},
	} {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", name, c.got, c.want)
		}
	}
}

func TestServiceRecord(t *testing.T) {
	root := t.TempDir()
	if s := Service(root); s.Running {
		t.Fatalf("no service yet: %+v", s)
	}
	remove, err := RecordService(root, []string{"unix:///run/berth/berth.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if s := Service(root); !s.Running || s.Pid != os.Getpid() || len(s.Hosts) != 1 {
		t.Errorf("recorded service: %+v", s)
	}
	remove()
	if s := Service(root); s.Running {
		t.Errorf("after removal: %+v", s)
	}
	// A record left by a process that died (kill -9 of berth serve) is not a running service.
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skip("no /bin/true")
	}
	rec := []byte(`{"Pid":` + strconv.Itoa(cmd.Process.Pid) + `,"Hosts":["unix:///x"]}`)
	if err := os.WriteFile(servicesDir(root)+"/"+strconv.Itoa(cmd.Process.Pid)+".json", rec, 0o600); err != nil {
		t.Fatal(err)
	}
	if s := Service(root); s.Running {
		t.Errorf("a dead process's record: %+v", s)
	}
	if ents, _ := os.ReadDir(servicesDir(root)); len(ents) != 0 {
		t.Errorf("the dead record stays: %v", ents)
	}
}
