package container

import (
	"strconv"
	"strings"
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
	resolved, maps, err := resolvePorts(c, nil, false)
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

// Docker 20.10's -p ranges: port by port when both sides are ranges of one length; a host range
// for one container port is where the start picks a free host port; anything else is refused.
func TestPublishRanges(t *testing.T) {
	b, err := ParsePublish([]string{"18110-18112:80-82", "18120-18130:90", "7000-7001/udp"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"80/tcp": "18110", "81/tcp": "18111", "82/tcp": "18112", "90/tcp": "18120-18130", "7000/udp": "", "7001/udp": ""}
	for k, hp := range want {
		if len(b[k]) != 1 || b[k][0].HostPort != hp {
			t.Errorf("%s: %+v, want host port %q", k, b[k], hp)
		}
	}
	if _, err := ParsePublish([]string{"18110-18111:80-82"}); err == nil || err.Error() != "Invalid ranges specified for container and host Ports: 80-82 and 18110-18111" {
		t.Errorf("mismatched ranges: %v", err)
	}
	// The range's first port another container holds is skipped; a single taken port is refused.
	c := &Container{ID: "abc", Name: "web"}
	c.Host.PortBindings = map[string][]PortBinding{"90/tcp": {{HostPort: "18120-18130"}}}
	used := map[string]bool{"0.0.0.0:18120/tcp": true}
	res, maps, err := resolvePorts(c, used, false)
	if err != nil || res["90/tcp"][0].HostPort == "18120" || maps[0].HostPort < 18121 || maps[0].HostPort > 18130 {
		t.Errorf("range: %+v %+v %v", res, maps, err)
	}
	c.Host.PortBindings = map[string][]PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "18120"}}}
	if _, _, err := resolvePorts(c, used, false); err == nil || err.Error() != "driver failed programming external connectivity on endpoint web (abc): Bind for 127.0.0.1:18120 failed: port is already allocated" {
		t.Errorf("taken port: %v", err)
	}
	c.Host.PortBindings = map[string][]PortBinding{"80/udp": {{HostPort: "18120"}}}
	if _, _, err := resolvePorts(c, used, false); err != nil {
		t.Errorf("the same port over udp is free: %v", err)
	}
}

// Docker 20.10 on a host with IPv6 (recorded: `run -p 0.0.0.0:18081:80 -p 18082:80/udp -p
// 127.0.0.1:18083:83 -p 18084:84 --expose 90 -P`): a port given without a host address is
// published on 0.0.0.0 and on [::] with the same host port; one given an address only there.
func TestPublishIPv6Bindings(t *testing.T) {
	b, err := ParsePublish([]string{"0.0.0.0:0:80", "0:80/udp", "127.0.0.1:0:83", "0:84"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{}
	c.Host.PortBindings = b
	resolved, maps, err := resolvePorts(c, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"80/tcp": {"0.0.0.0"}, "80/udp": {"0.0.0.0", "::"}, "83/tcp": {"127.0.0.1"}, "84/tcp": {"0.0.0.0", "::"}}
	for k, ips := range want {
		bs := resolved[k]
		if len(bs) != len(ips) {
			t.Errorf("%s: %+v", k, bs)
			continue
		}
		for i, ip := range ips {
			if bs[i].HostIP != ip || bs[i].HostPort != bs[0].HostPort {
				t.Errorf("%s: %+v, want %v on one host port", k, bs, ips)
			}
		}
	}
	if len(maps) != 4 {
		t.Errorf("the [::] bindings are the proxy's, not DNAT mappings: %+v", maps)
	}
	ports := make([]Port, 0)
	for k, bs := range resolved {
		n, proto := splitPrivatePort(k)
		priv, _ := strconv.Atoi(n)
		for _, b := range bs {
			pub, _ := strconv.Atoi(b.HostPort)
			ports = append(ports, Port{IP: b.HostIP, PrivatePort: uint16(priv), PublicPort: uint16(pub), Type: proto})
		}
	}
	if s := DisplayPorts(ports); !strings.Contains(s, "0.0.0.0:"+resolved["84/tcp"][0].HostPort+"->84/tcp, :::"+resolved["84/tcp"][0].HostPort+"->84/tcp") {
		t.Errorf("ps PORTS: %s", s)
	}
}
