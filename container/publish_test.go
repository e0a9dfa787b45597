package container

import (
	"strconv"
	"testing"
)

// -p 0:80 asks for any free host port, as in Docker 20.10 (`docker run -p 0:80` publishes
// 80/tcp on 0.0.0.0:32768 and keeps HostPort "0" in HostConfig.PortBindings); berth refused it
// with "invalid hostPort: 0" (issue 12 §5).
func TestPublishHostPortZeroPicksAFreePort(t *testing.T) {
	b, err := ParsePublish([]string{"0:80", "127.0.0.1:0:81/udp"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b["80/tcp"]; len(got) != 1 || got[0].HostPort != "0" {
		t.Fatalf("bindings: %+v", b)
	}
	c := &Container{}
	c.Host.PortBindings = b
	resolved, maps, err := resolvePorts(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 2 {
		t.Fatalf("mappings: %+v", maps)
	}
	for _, m := range maps {
		if m.HostPort <= 0 {
			t.Errorf("no free port picked: %+v", m)
		}
	}
	if hp, _ := strconv.Atoi(resolved["81/udp"][0].HostPort); hp <= 0 || resolved["81/udp"][0].HostIP != "127.0.0.1" {
		t.Errorf("resolved: %+v", resolved)
	}
	if c.Host.PortBindings["80/tcp"][0].HostPort != "0" {
		t.Error("the container's own PortBindings changed")
	}
	for _, bad := range []string{"-1:80", "65536:80", "x:80"} {
		if _, err := ParsePublish([]string{bad}); err == nil {
			t.Errorf("-p %s accepted", bad)
		}
	}
}
