package network

import (
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChooseSubnetSkipsTaken(t *testing.T) {
	pools := []Pool{{Base: "172.80.0.0/16", Size: 24}}
	taken := []*net.IPNet{cidr(t, "172.80.0.0/24"), cidr(t, "172.80.1.128/25"), cidr(t, "10.0.0.0/8")}
	got, err := ChooseSubnet(pools, taken)
	if err != nil || got.String() != "172.80.2.0/24" {
		t.Fatalf("ChooseSubnet = %v, %v", got, err)
	}
	// A route covering the whole pool moves on to the next pool.
	got, err = ChooseSubnet(append([]Pool{{Base: "10.10.0.0/16", Size: 24}}, pools...), taken)
	if err != nil || got.String() != "172.80.2.0/24" {
		t.Fatalf("past a covered pool: %v, %v", got, err)
	}
	// Docker's defaults: 172.17 taken by docker0 gives 172.18.0.0/16.
	got, err = ChooseSubnet(DefaultPools, []*net.IPNet{cidr(t, "172.17.0.0/16")})
	if err != nil || got.String() != "172.18.0.0/16" {
		t.Fatalf("defaults: %v, %v", got, err)
	}
	if _, err := ChooseSubnet([]Pool{{Base: "10.1.0.0/24", Size: 25}}, []*net.IPNet{cidr(t, "10.1.0.0/24")}); err != ErrPoolsExhausted {
		t.Fatalf("exhausted: %v", err)
	}
}

func TestValidatePools(t *testing.T) {
	if err := ValidatePools([]Pool{{Base: "172.80.0.0/16", Size: 24}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Pool{{Base: "nope", Size: 24}, {Base: "172.80.0.0/16", Size: 8}, {Base: "172.80.0.0/16", Size: 31}} {
		if err := ValidatePools([]Pool{p}); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
}

func TestParseRoutes(t *testing.T) {
	data := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	var got []string
	for _, r := range parseRoutes(data) {
		got = append(got, r.String())
	}
	if want := []string{"192.168.0.0/24", "172.17.0.0/16"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("routes = %v, want %v", got, want)
	}
}

// The address options fail with Docker's wording (recorded from docker 20.10).
func TestIPAMCheckDockerErrors(t *testing.T) {
	for _, c := range []struct {
		in   IPAMConfig
		want string
	}{
		{IPAMConfig{Subnet: "foo"}, "Invalid subnet foo : invalid CIDR address: foo"},
		{IPAMConfig{Subnet: "10.251.0.0/24", Gateway: "10.252.0.1"}, "no matching subnet for gateway 10.252.0.1"},
		{IPAMConfig{Gateway: "10.252.0.1"}, "every ip-range or gateway must have a corresponding subnet"},
		{IPAMConfig{IPRange: "10.252.0.0/24"}, "every ip-range or gateway must have a corresponding subnet"},
		{IPAMConfig{Subnet: "10.253.0.0/24", IPRange: "10.254.0.0/24"}, "no matching subnet for range 10.254.0.0/24"},
	} {
		if _, err := IPAMCheck(c.in); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.in, err, c.want)
		}
	}
	got, err := IPAMCheck(IPAMConfig{Subnet: "10.250.0.7/24", IPRange: "10.250.0.128/25"})
	if err != nil || got.Subnet != "10.250.0.0/24" {
		t.Fatalf("normalised: %+v %v", got, err)
	}
}

func TestPlan(t *testing.T) {
	id := strings.Repeat("ab", 32)
	now := time.Unix(1, 0)
	n, err := Plan(CreateOptions{Name: "web", IPAM: IPAMConfig{Subnet: "10.250.0.0/24"}}, id, now)
	if err != nil {
		t.Fatal(err)
	}
	if n.Bridge != "br-abababababab" || n.Driver != "bridge" || n.Gateway() != "10.250.0.1" || !n.UserDefined() {
		t.Fatalf("plan = %+v", n)
	}
	n, _ = Plan(CreateOptions{Name: "web", Options: map[string]string{"com.docker.network.bridge.name": "mybr0"}}, id, now)
	if n.Bridge != "mybr0" || n.Subnet() != nil {
		t.Fatalf("named bridge: %+v", n)
	}
	for _, c := range []struct {
		o    CreateOptions
		want string
	}{
		{CreateOptions{Name: "host"}, "operation is not permitted on predefined host network"},
		{CreateOptions{Name: "x", Driver: "foo"}, `plugin "foo" not found`},
		{CreateOptions{Name: "x", Options: map[string]string{"com.docker.network.bridge.name": "averyverylongname"}}, "bridge name averyverylongname is longer than 15 characters"},
	} {
		if _, err := Plan(c.o, id, now); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}

func TestRulesAndRestoreInput(t *testing.T) {
	n := Network{Name: "app", Driver: "bridge", Bridge: "br-1", IPAM: []IPAMConfig{{Subnet: "10.250.0.0/24"}}}
	in := string(restoreInput(Rules(n)))
	want := "*filter\n" +
		"-I FORWARD 1 -i br-1 -o br-1 -j ACCEPT\n" +
		"-I FORWARD 2 -i br-1 -o br-+ -j DROP\n" +
		"-I FORWARD 3 -i br-1 -o berth0 -j DROP\n" +
		"-I FORWARD 4 -i berth0 -o br-1 -j DROP\n" +
		"-I FORWARD 5 -o br-1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n" +
		"-I FORWARD 6 -i br-1 -j ACCEPT\n" +
		"COMMIT\n*nat\n-I POSTROUTING 1 -s 10.250.0.0/24 ! -o br-1 -j MASQUERADE\nCOMMIT\n"
	if in != want {
		t.Errorf("restore input:\n%s\nwant:\n%s", in, want)
	}
	n.Internal = true
	if got := string(restoreInput(Rules(n))); strings.Contains(got, "MASQUERADE") || !strings.Contains(got, "-i br-1 -j DROP") {
		t.Errorf("internal network rules:\n%s", got)
	}
	if Rules(Network{Name: "host", Driver: "host"}) != nil {
		t.Error("rules for the host network")
	}
}

func TestPluginChain(t *testing.T) {
	d := Driver{Root: "/r"}
	n := Network{ID: "abc", Name: "app", Driver: "bridge", Bridge: "br-abc",
		IPAM: []IPAMConfig{{Subnet: "10.250.0.0/24", IPRange: "10.250.0.128/25", Gateway: "10.250.0.1"}}}
	p := d.plugins(Request{Network: n, IfName: "eth1"})
	if len(p) != 1 || p[0]["bridge"] != "br-abc" {
		t.Fatalf("plugins = %v", p)
	}
	ipam := p[0]["ipam"].(map[string]any)
	rng := ipam["ranges"].([][]map[string]string)[0][0]
	if rng["rangeStart"] != "10.250.0.128" || rng["rangeEnd"] != "10.250.0.254" || rng["gateway"] != "10.250.0.1" {
		t.Errorf("range = %v", rng)
	}
	if ipam["dataDir"] != "/r/network/ipam" || ipam["routes"] != nil {
		t.Errorf("ipam = %v", ipam)
	}
	// The first network carries the default route, and published ports chain the portmap plugin.
	p = d.plugins(Request{Network: n, IfName: "eth0", DefaultRoute: true, Ports: []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}})
	if len(p) != 2 || p[1]["type"] != "portmap" || p[0]["ipam"].(map[string]any)["routes"] == nil {
		t.Errorf("plugins = %v", p)
	}
	// An internal network has no default route.
	n.Internal = true
	if d.plugins(Request{Network: n, DefaultRoute: true})[0]["ipam"].(map[string]any)["routes"] != nil {
		t.Error("internal network with a default route")
	}
	def := Predefined(func(string) string { return "x" }, time.Time{})[0]
	if ipam := d.plugins(Request{Network: def})[0]["ipam"].(map[string]any); ipam["dataDir"] != nil || cniName(def) != "berth" {
		t.Errorf("default bridge ipam = %v", ipam)
	}
}
