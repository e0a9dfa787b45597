package network

import (
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fold keeps each variable's first occurrence, as the daemon's environment merge does.
func fold(env []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			seen[k] = true
			out = append(out, kv)
		}
	}
	return out
}

// Recorded from Docker 20.10: `run -d --name tgt2 -e HOME=/x -e Z --expose 7000-7001
// --expose 7000/udp --expose 9000-9002/udp busybox top`, then `run --rm --link tgt2:a-b busybox
// env` from a container named pensive_sammet.
func TestLinkEnvVarsDocker(t *testing.T) {
	l := Link{Alias: "a-b", Parent: "pensive_sammet", Name: "tgt2", IP: "172.17.0.2",
		Exposed: []string{"9001/udp", "7000/udp", "7001/tcp", "9000/udp", "7000/tcp", "9002/udp"},
		Env:     []string{"HOME=/x", "Z", "PATH=/usr/bin"}}
	want := strings.Fields(`A_B_PORT=tcp://172.17.0.2:7000
A_B_PORT_7000_TCP_START=tcp://172.17.0.2:7000
A_B_PORT_7000_TCP_ADDR=172.17.0.2
A_B_PORT_7000_TCP_PROTO=tcp
A_B_PORT_7000_TCP_PORT_START=7000
A_B_PORT_7000_TCP_END=tcp://172.17.0.2:7001
A_B_PORT_7000_TCP_PORT_END=7001
A_B_PORT_9000_UDP_START=udp://172.17.0.2:9000
A_B_PORT_9000_UDP_ADDR=172.17.0.2
A_B_PORT_9000_UDP_PROTO=udp
A_B_PORT_9000_UDP_PORT_START=9000
A_B_PORT_9000_UDP_END=udp://172.17.0.2:9002
A_B_PORT_9000_UDP_PORT_END=9002
A_B_PORT_7000_TCP=tcp://172.17.0.2:7000
A_B_PORT_7000_TCP_PORT=7000
A_B_PORT_7000_UDP=udp://172.17.0.2:7000
A_B_PORT_7000_UDP_ADDR=172.17.0.2
A_B_PORT_7000_UDP_PORT=7000
A_B_PORT_7000_UDP_PROTO=udp
A_B_PORT_7001_TCP=tcp://172.17.0.2:7001
A_B_PORT_7001_TCP_ADDR=172.17.0.2
A_B_PORT_7001_TCP_PORT=7001
A_B_PORT_7001_TCP_PROTO=tcp
A_B_PORT_9000_UDP=udp://172.17.0.2:9000
A_B_PORT_9000_UDP_PORT=9000
A_B_PORT_9001_UDP=udp://172.17.0.2:9001
A_B_PORT_9001_UDP_ADDR=172.17.0.2
A_B_PORT_9001_UDP_PORT=9001
A_B_PORT_9001_UDP_PROTO=udp
A_B_PORT_9002_UDP=udp://172.17.0.2:9002
A_B_PORT_9002_UDP_ADDR=172.17.0.2
A_B_PORT_9002_UDP_PORT=9002
A_B_PORT_9002_UDP_PROTO=udp
A_B_NAME=/pensive_sammet/a-b`)
	if got := fold(l.EnvVars()); !reflect.DeepEqual(got, want) {
		t.Errorf("link env:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Docker 20.10: the first port is the lowest (udp 53 here), runs of three ports get a range,
// and the target's variables come last.
func TestLinkEnvVarsDefaultPortAndEnv(t *testing.T) {
	l := Link{Alias: "al", Parent: "me", Name: "tgt", IP: "172.17.0.2",
		Exposed: []string{"80/tcp", "8000/tcp", "8001/tcp", "8002/tcp", "53/udp"}, Env: []string{"X=1", "Y=a=b"}}
	env := fold(l.EnvVars())
	has := func(kv string) bool {
		for _, e := range env {
			if e == kv {
				return true
			}
		}
		return false
	}
	for _, kv := range []string{"AL_PORT=udp://172.17.0.2:53", "AL_PORT_8000_TCP_END=tcp://172.17.0.2:8002",
		"AL_PORT_8000_TCP_PORT_END=8002", "AL_PORT_80_TCP=tcp://172.17.0.2:80", "AL_NAME=/me/al", "AL_ENV_X=1", "AL_ENV_Y=a=b"} {
		if !has(kv) {
			t.Errorf("missing %s in %q", kv, env)
		}
	}
	if env[len(env)-1] != "AL_ENV_Y=a=b" || env[0] != "AL_PORT=udp://172.17.0.2:53" {
		t.Errorf("order: %q", env)
	}
}

func TestLinkHostsNames(t *testing.T) {
	// Docker 20.10's /etc/hosts for --link tgt:al and --link tgt.
	if got := (Link{Alias: "al", Name: "tgt", Hostname: "03f148a21465"}).HostsNames(); got != "al 03f148a21465 tgt" {
		t.Errorf("got %q", got)
	}
	if got := (Link{Alias: "tgt", Name: "tgt", Hostname: "03f148a21465"}).HostsNames(); got != "tgt 03f148a21465" {
		t.Errorf("got %q", got)
	}
}

func TestParseLink(t *testing.T) {
	for in, want := range map[string][2]string{"tgt": {"tgt", "tgt"}, "tgt:al": {"tgt", "al"}, "/tgt:/me/al": {"tgt", "me/al"}, "tgt:": {"tgt", "tgt"}} {
		n, a, err := ParseLink(in)
		if err != nil || n != want[0] || a != want[1] {
			t.Errorf("ParseLink(%q) = %q %q %v", in, n, a, err)
		}
	}
	for _, bad := range []string{"a:b:c", "", ":al"} {
		if _, _, err := ParseLink(bad); err == nil {
			t.Errorf("ParseLink(%q) accepted", bad)
		}
	}
}

func TestLinkMembers(t *testing.T) {
	ms := []Member{{Network: "n1", Names: []string{"upstream", "abc"}, IP: net.ParseIP("172.20.0.3")},
		{Network: "n2", Names: []string{"upstream"}, IP: net.ParseIP("172.21.0.3")}}
	got := LinkMembers(ms, "n1", []string{"docker-py-test-upstream:x", "Upstream:bar"})
	if len(got) != 1 || got[0].Names[0] != "bar" || !got[0].IP.Equal(net.ParseIP("172.20.0.3")) || got[0].Network != "n1" {
		t.Errorf("got %+v", got)
	}
	tab := NewTable(append(ms, got...))
	if a := tab.Addrs("bar"); len(a) != 1 || !a[0].Equal(net.ParseIP("172.20.0.3")) {
		t.Errorf("bar resolves to %v", a)
	}
}

// IPv6 ranges as Docker 20.10 keeps them (`network create --ipv6 --subnet 2001:389::/64`: IPAM
// Config lists the IPv4 range first, the IPv6 one without a gateway; the gateway is ::1).
func TestPlanIPv6(t *testing.T) {
	v4, v6, err := SplitIPAM([]IPAMConfig{{Subnet: "2001:389::/64", IPRange: "2001:389::/96", Gateway: "2001:389::ffff"}, {Subnet: "172.28.0.0/16"}})
	if err != nil || v4.Subnet != "172.28.0.0/16" || v6.Subnet != "2001:389::/64" {
		t.Fatalf("split: %+v %+v %v", v4, v6, err)
	}
	n, err := Plan(CreateOptions{Name: "v6", IPAM: v4, IPAM6: v6, EnableIPv6: true}, "0123456789abcdef", time.Time{})
	if err != nil || len(n.IPAM) != 2 || n.IPAM[1].Subnet != "2001:389::/64" || !n.IPv6() || n.Gateway6() != "2001:389::ffff" || n.Gateway() != "172.28.0.1" {
		t.Errorf("plan: %+v %v", n, err)
	}
	n, _ = Plan(CreateOptions{Name: "v6", IPAM6: IPAMConfig{Subnet: "2001:389::/64"}}, "0123456789abcdef", time.Time{})
	if n.IPv6() || n.Gateway6() != "2001:389::1" || n.Subnet() != nil || n.Subnet6().String() != "2001:389::/64" {
		t.Errorf("an IPv6 range without EnableIPv6: %+v", n)
	}
	if _, err := Plan(CreateOptions{Name: "x", EnableIPv6: true}, "0123456789abcdef", time.Time{}); err != ErrNoIPv6Pool {
		t.Errorf("--ipv6 without a subnet: %v", err)
	}
	if _, _, err := SplitIPAM([]IPAMConfig{{Subnet: "10.1.0.0/24"}, {Subnet: "10.2.0.0/24"}}); err == nil || err.Error() != "bridge driver doesn't support multiple subnets" {
		t.Errorf("two IPv4 subnets: %v", err)
	}
	if _, err := IPAMCheck(IPAMConfig{Subnet: "2001:389::/64", Gateway: "10.0.0.1"}); err == nil {
		t.Error("an IPv4 gateway for an IPv6 subnet was accepted")
	}
}

// Leases of an IPv6 range: the first free address after the gateway, a fixed one, and release.
func TestAllocate6(t *testing.T) {
	dir := t.TempDir()
	n := Network{EnableIPv6: true, IPAM: []IPAMConfig{{Subnet: "10.0.0.0/24"}, {Subnet: "fd42::/64"}}}
	a, err := allocate6(dir, n, "c1", "eth0", "")
	if err != nil || a.String() != "fd42::2" {
		t.Fatalf("first: %v %v", a, err)
	}
	if b, err := allocate6(dir, n, "c2", "eth0", ""); err != nil || b.String() != "fd42::3" {
		t.Errorf("second: %v %v", b, err)
	}
	if _, err := allocate6(dir, n, "c3", "eth0", "fd42::2"); err == nil {
		t.Error("a taken address was given again")
	}
	lockAndRelease(dir, "c1", "eth0")
	if c, err := allocate6(dir, n, "c3", "eth0", "fd42::2"); err != nil || c.String() != "fd42::2" {
		t.Errorf("after release: %v %v", c, err)
	}
}

// Links come from API clients: any string is parsed without a panic, and what is accepted has a
// name and an alias without a leading slash, and gives the variables of a well-formed link.
func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"tgt", "tgt:al", "/tgt:/me/al", "a:b:c", ":", "", "x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, alias, err := ParseLink(s)
		if err != nil {
			return
		}
		if name == "" || alias == "" || strings.HasPrefix(name, "/") || strings.HasPrefix(alias, "/") {
			t.Fatalf("ParseLink(%q) = %q %q", s, name, alias)
		}
		env := Link{Alias: alias, Parent: "p", Name: name, IP: "10.0.0.2", Exposed: []string{s, "80/tcp"}, Env: []string{s}}.EnvVars()
		if len(env) == 0 {
			t.Fatalf("no variables for %q", s)
		}
	})
}
