package api

// Tests of the rest group (commit's config, events of exec/attach/volumes, cp into tmpfs,
// PUT archive's overwrite rules, networks checked at start): a real `berth serve` through
// github.com/moby/moby/client, with the expectations recorded from dockerd 20.10.

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// POST /commit with a config: the changes apply to it and the container's config fills in what
// it leaves out. The expected config is what dockerd 20.10 made of the same container, body and
// changes (curl on its socket, `docker image inspect -f '{{json .Config}}'`).
func TestRestCommitConfig(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("create", "-e", "A=1", "-e", "B=2", "--label", "l1=x", "-w", "/tmp", "-u", "1", "--expose", "80",
		"--hostname", "hh", "busybox", "sleep", "1")
	t.Cleanup(func() { e.berthRun("rm", "-f", id) })
	res, err := e.client.ContainerCommit(e.ctx(), id, client.ContainerCommitOptions{
		Changes: []string{"ENV D=5", "LABEL l3=z"},
		Config: &container.Config{Cmd: []string{"echo", "hi"}, Env: []string{"B=3", "C=4"}, Labels: map[string]string{"l2": "y"},
			ExposedPorts: network.PortSet{network.MustParsePort("90/tcp"): {}}, WorkingDir: "/w"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Config struct {
			Hostname, User, WorkingDir string
			ExposedPorts               map[string]struct{}
			Env, Cmd, Entrypoint       []string
			Labels                     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(e.berth("image", "inspect", "-f", "{{json .}}", res.ID)), &got); err != nil {
		t.Fatal(err)
	}
	c := got.Config
	want := []any{"", "1", "/w", map[string]struct{}{"80/tcp": {}, "90/tcp": {}}, []string{"B=3", "C=4", "D=5", "A=1"},
		[]string{"echo", "hi"}, []string(nil), map[string]string{"l1": "x", "l2": "y", "l3": "z"}}
	have := []any{c.Hostname, c.User, c.WorkingDir, c.ExposedPorts, c.Env, c.Cmd, c.Entrypoint, c.Labels}
	for i := range want {
		if !reflect.DeepEqual(have[i], want[i]) {
			t.Errorf("committed config field %d: %#v, want %#v", i, have[i], want[i])
		}
	}
	// Without a config the container's own is the image's, the changes applied.
	res, err = e.client.ContainerCommit(e.ctx(), id, client.ContainerCommitOptions{Changes: []string{"ENV D=5"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.berth("image", "inspect", "-f", "{{.Config.Hostname}} {{.Config.Env}} {{.Config.Cmd}}", res.ID); got != "hh [A=1 B=2 D=5] [sleep 1]" {
		t.Errorf("commit without a config: %s", got)
	}
}
