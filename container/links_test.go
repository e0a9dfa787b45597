package container

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
)

// Docker 20.10 (`run --link tgt2:a-b -e FOO=1`): PATH and HOSTNAME, then the link's variables
// with repeats folded into their first place, then the container's own.
func TestProcessEnvLinks(t *testing.T) {
	l := network.Link{Alias: "a-b", Parent: "me", Name: "tgt2", IP: "172.17.0.2", Exposed: []string{"7000/tcp", "7001/tcp", "7000/udp"}}
	env := ProcessEnvLinks(image.ContainerConfig{Hostname: "79e16f2c3b17", Env: []string{"FOO=1", "A_B_NAME=mine"}}, linkEnv([]network.Link{l}))
	want := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=79e16f2c3b17",
		"A_B_PORT=tcp://172.17.0.2:7000",
		"A_B_PORT_7000_TCP_START=tcp://172.17.0.2:7000", "A_B_PORT_7000_TCP_ADDR=172.17.0.2", "A_B_PORT_7000_TCP_PROTO=tcp",
		"A_B_PORT_7000_TCP_PORT_START=7000", "A_B_PORT_7000_TCP_END=tcp://172.17.0.2:7001", "A_B_PORT_7000_TCP_PORT_END=7001",
		"A_B_PORT_7000_TCP=tcp://172.17.0.2:7000", "A_B_PORT_7000_TCP_PORT=7000",
		"A_B_PORT_7000_UDP=udp://172.17.0.2:7000", "A_B_PORT_7000_UDP_ADDR=172.17.0.2", "A_B_PORT_7000_UDP_PORT=7000", "A_B_PORT_7000_UDP_PROTO=udp",
		"A_B_PORT_7001_TCP=tcp://172.17.0.2:7001", "A_B_PORT_7001_TCP_ADDR=172.17.0.2", "A_B_PORT_7001_TCP_PORT=7001", "A_B_PORT_7001_TCP_PROTO=tcp",
		"A_B_NAME=mine", // the container's own value wins, in the link's place
		"FOO=1"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env:\n%s\nwant:\n%s", strings.Join(env, "\n"), strings.Join(want, "\n"))
	}
	if got := linkHosts([]network.Link{{Alias: "al", Name: "tgt", Hostname: "03f148a21465", IP: "172.17.0.2"}, {Alias: "x", Name: "gone"}}); !reflect.DeepEqual(got, []string{"al 03f148a21465 tgt:172.17.0.2"}) {
		t.Errorf("hosts entries %q", got)
	}
}

// The endpoint a container asks of a network, checked as Docker checks it.
func TestEndpointConfig(t *testing.T) {
	user := network.Network{ID: "n1", Name: "app", IPAM: []network.IPAMConfig{{Subnet: "172.28.0.0/16"}, {Subnet: "2001:389::/64"}}, UserSubnet: true}
	bridge := network.Network{ID: "b", Name: "bridge", IPAM: []network.IPAMConfig{{Subnet: network.DefaultSubnet}}}
	all := EndpointOptions{Aliases: []string{"web"}, IPv4Address: "172.28.5.5", IPv6Address: "2001:389::f00d", MacAddress: "02:42:ac:11:00:02",
		LinkLocalIPs: []string{"169.254.8.8"}, Links: []string{"up:bar"}, DriverOpts: map[string]string{"com.docker-py.setting": "on"}}
	ec, err := endpointConfig(user, all, false)
	want := EndpointConfig{Network: "app", NetworkID: "n1", Aliases: []string{"web"}, IPv4Address: "172.28.5.5", IPv6Address: "2001:389::f00d",
		MacAddress: "02:42:ac:11:00:02", LinkLocalIPs: []string{"169.254.8.8"}, Links: []string{"up:bar"}, DriverOpts: all.DriverOpts}
	if err != nil || !reflect.DeepEqual(ec, want) {
		t.Errorf("user-defined: %+v %v", ec, err)
	}
	// run/create on the default bridge: aliases, addresses and links are ignored (Docker's);
	// link-local addresses, MAC and driver options stay (the Engine API gives them there).
	ec, err = endpointConfig(bridge, all, true)
	if err != nil || ec.Aliases != nil || ec.IPv4Address != "" || ec.IPv6Address != "" || ec.Links != nil ||
		ec.MacAddress == "" || len(ec.LinkLocalIPs) != 1 || ec.DriverOpts == nil {
		t.Errorf("create on the bridge: %+v %v", ec, err)
	}
	for _, c := range []struct {
		n    network.Network
		o    EndpointOptions
		want string
	}{
		{bridge, EndpointOptions{Aliases: []string{"x"}}, "network-scoped aliases are only supported for user-defined networks"},
		{bridge, EndpointOptions{Links: []string{"a:b"}}, "links are only supported for user-defined networks"},
		{user, EndpointOptions{IPv6Address: "2001:390::1"}, "Invalid address 2001:390::1: It does not belong to any of this network's subnets"},
		{user, EndpointOptions{IPv6Address: "172.28.0.9"}, "invalid IPv6 address: 172.28.0.9"},
		{network.Network{ID: "n2", Name: "v4"}, EndpointOptions{IPv6Address: "2001:389::1"}, "user specified IP address is supported only when connecting to networks with user configured subnets"},
		{user, EndpointOptions{MacAddress: "zz"}, "zz is not a valid mac address"},
		{user, EndpointOptions{LinkLocalIPs: []string{"nope"}}, "invalid link-local IP address: nope"},
		{user, EndpointOptions{Links: []string{"a:b:c"}}, "bad format for links: a:b:c"},
	} {
		if _, err := endpointConfig(c.n, c.o, false); err == nil || err.Error() != c.want {
			t.Errorf("%+v on %s: %v, want %q", c.o, c.n.Name, err, c.want)
		}
	}
}
