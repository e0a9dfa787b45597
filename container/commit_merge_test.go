package container

import (
	"reflect"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
)

// dockerd's merge of a POST /commit config with the container's (daemon/commit.go merge).
func TestMergeCommitConfig(t *testing.T) {
	from := image.ContainerConfig{User: "1", WorkingDir: "/tmp", Env: []string{"A=1", "B=2"}, Cmd: []string{"sleep", "1"},
		Entrypoint: []string{"/init"}, ExposedPorts: map[string]struct{}{"80/tcp": {}}, Labels: map[string]string{"l1": "x", "l2": "old"},
		Volumes: map[string]struct{}{"/v": {}}, StopSignal: "SIGINT", Hostname: "hh",
		Healthcheck: &image.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Retries: 3}}
	cases := []struct {
		name     string
		cfg, out image.ContainerConfig
	}{
		{"empty config: the container's, but not its Hostname", image.ContainerConfig{}, image.ContainerConfig{
			User: "1", WorkingDir: "/tmp", Env: []string{"A=1", "B=2"}, Cmd: []string{"sleep", "1"}, Entrypoint: []string{"/init"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}}, Labels: map[string]string{"l1": "x", "l2": "old"},
			Volumes: map[string]struct{}{"/v": {}}, StopSignal: "SIGINT", Healthcheck: from.Healthcheck}},
		{"Cmd given: Entrypoint still the container's", image.ContainerConfig{Cmd: []string{"echo"}, Env: []string{"B=3"},
			Labels: map[string]string{"l2": "new"}, Healthcheck: &image.HealthConfig{Retries: 9}}, image.ContainerConfig{
			User: "1", WorkingDir: "/tmp", Env: []string{"B=3", "A=1"}, Cmd: []string{"echo"}, Entrypoint: []string{"/init"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}}, Labels: map[string]string{"l1": "x", "l2": "new"},
			Volumes: map[string]struct{}{"/v": {}}, StopSignal: "SIGINT",
			Healthcheck: &image.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Retries: 9}}},
		{"Entrypoint given: no Cmd of the container's", image.ContainerConfig{Entrypoint: []string{"/other"}}, image.ContainerConfig{
			User: "1", WorkingDir: "/tmp", Env: []string{"A=1", "B=2"}, Entrypoint: []string{"/other"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}}, Labels: map[string]string{"l1": "x", "l2": "old"},
			Volumes: map[string]struct{}{"/v": {}}, StopSignal: "SIGINT", Healthcheck: from.Healthcheck}},
	}
	for _, c := range cases {
		got := c.cfg
		MergeCommitConfig(&got, from)
		if !reflect.DeepEqual(got, c.out) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.out)
		}
	}
}
