// Package network is berth's network layer: networks (the default bridge and user-defined
// bridges), endpoints (a container's attachment to one network), IPAM (subnets from a pool,
// addresses in a subnet) and port mapping.
//
// Networks, endpoint requests and endpoints are values: what a network is, what an attachment
// asks for and what it got are plain structs, tested without root. The side effects live at the
// edge, in a few functions that take such values: NewNetNS and RemoveNetNS (namespaces); Attach,
// Detach and Release (a veth pair on the network's bridge made through netlink, with addresses
// leased in host-local's format; the standard CNI portmap plugin for published ports, run the way
// the CNI protocol describes); CreateBridge/DeleteBridge and the host's iptables rules; and the
// embedded DNS resolver (dns.go the packets, resolver.go the sockets, dnsnat.go its DNAT); and
// the userland proxy of ports published on [::] (proxy.go), which Docker 20.10 serves with
// docker-proxy instead of IPv6 NAT. Docker's links are values too (links.go): the legacy link's
// variables and hosts names, and the resolver entries of endpoint links.
//
// IPv6: a network keeps an IPv6 range when given one; with EnableIPv6 its bridge has the
// range's gateway and each endpoint an address of it (leased beside the IPv4 ones, in the same
// files' format) and an IPv6 default route. As in Docker 20.10, nothing is NATed for IPv6.
// The container package asks this package for endpoints and never touches netlink, CNI or
// iptables itself.
//
// On disk: user-defined networks' leases under ROOT/network/ipam/<network id>/ (the default
// bridge's are the host's, /var/lib/cni/networks/berth); ROOT/network/host-rules marks the
// default bridge's rules as installed for this boot; /run/berth-network.lock serialises the
// choice of subnets and bridges across every berth on the host.
package network

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"
)

// The names of Docker's predefined networks. "bridge" is berth's default bridge; "host" and
// "none" are the host's own namespace and an empty one.
const (
	BridgeName = "bridge"
	HostName   = "host"
	NoneName   = "none"
)

// The default ("bridge") network: one Linux bridge with NAT to the outside and published ports.
// Its bridge and address leases are the host's, whatever --root, so they are fixed here.
const (
	DefaultBridge = "berth0"
	DefaultSubnet = "10.89.0.0/16"
)

// Network is one network as `network inspect` describes it.
type Network struct {
	ID         string
	Name       string
	Driver     string // bridge, host, null
	Created    time.Time
	IPAM       []IPAMConfig
	Internal   bool // no route to the outside, no NAT
	Attachable bool
	Labels     map[string]string
	Options    map[string]string
	Bridge     string // the Linux bridge ("br-<id12>"; "berth0" for the default network)
	// UserSubnet: the user chose the subnet (only then may containers ask for fixed addresses).
	UserSubnet bool `json:",omitempty"`
	// IPAMOptions are the IPAM driver's options as created; NoIPAMOptions records that the
	// request had none at all (Docker then shows null, where the CLI's create sends {}).
	IPAMOptions   map[string]string `json:",omitempty"`
	NoIPAMOptions bool              `json:",omitempty"`
	// EnableIPv6: containers get an address of the IPv6 range too. A network may keep an IPv6
	// range without it, as Docker's does, and then gives no IPv6 addresses.
	EnableIPv6 bool `json:",omitempty"`
}

// IPAMConfig is one address range of a network: Docker's IPAM.Config entry.
type IPAMConfig struct {
	Subnet  string `json:",omitempty"`
	IPRange string `json:",omitempty"`
	Gateway string `json:",omitempty"`
	// AuxiliaryAddresses are addresses of the subnet the network's driver keeps for other
	// uses (name → address): no container gets them.
	AuxiliaryAddresses map[string]string `json:"AuxiliaryAddresses,omitempty"`
}

// Predefined returns Docker's three predefined networks, bridge host none, as values; their IDs
// are derived from the name so they stay the same for every process of one root.
func Predefined(ids func(name string) string, created time.Time) []Network {
	return []Network{
		{ID: ids(BridgeName), Name: BridgeName, Driver: "bridge", Created: created, Bridge: DefaultBridge,
			IPAM: []IPAMConfig{{Subnet: DefaultSubnet}},
			Options: map[string]string{"com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.enable_icc": "true",
				"com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
				"com.docker.network.bridge.name": DefaultBridge, "com.docker.network.driver.mtu": "1500"}},
		{ID: ids(HostName), Name: HostName, Driver: "host", Created: created},
		{ID: ids(NoneName), Name: NoneName, Driver: "null", Created: created},
	}
}

// IsPredefined reports whether a name is one of Docker's predefined networks.
func IsPredefined(name string) bool {
	return name == BridgeName || name == HostName || name == NoneName || name == "default"
}

// UserDefined reports whether a network is one the user made (Docker's "custom" type), the only
// kind with name resolution and aliases.
func (n Network) UserDefined() bool { return !IsPredefined(n.Name) }

// IsDefault reports whether n is the default bridge.
func (n Network) IsDefault() bool { return n.Name == BridgeName }

// Subnet returns the network's first IPv4 range, nil if it has none (host, none).
func (n Network) Subnet() *net.IPNet {
	for _, c := range n.IPAM {
		if _, sn, err := net.ParseCIDR(c.Subnet); err == nil && sn.IP.To4() != nil {
			return sn
		}
	}
	return nil
}

// Subnet6 returns the network's IPv6 range, nil if it has none.
func (n Network) Subnet6() *net.IPNet {
	if c := n.ipam6(); c != nil {
		_, sn, _ := net.ParseCIDR(c.Subnet)
		return sn
	}
	return nil
}

func (n Network) ipam6() *IPAMConfig {
	for i, c := range n.IPAM {
		if _, sn, err := net.ParseCIDR(c.Subnet); err == nil && sn.IP.To4() == nil {
			return &n.IPAM[i]
		}
	}
	return nil
}

// Gateway6 is the gateway of the network's IPv6 range: the one given, or the range's first
// address as Docker picks it ("" without a range).
func (n Network) Gateway6() string {
	c := n.ipam6()
	if c == nil {
		return ""
	}
	if c.Gateway != "" {
		return c.Gateway
	}
	_, sn, _ := net.ParseCIDR(c.Subnet)
	gw := append(net.IP(nil), sn.IP.To16()...)
	gw[15]++
	return gw.String()
}

// IPv6 reports whether the network's containers get IPv6 addresses.
func (n Network) IPv6() bool { return n.EnableIPv6 && n.Subnet6() != nil }

// Gateway returns the gateway address of the network's IPv4 range ("" if none).
func (n Network) Gateway() string {
	for _, c := range n.IPAM {
		if _, sn, err := net.ParseCIDR(c.Subnet); err == nil && sn.IP.To4() != nil {
			if c.Gateway != "" {
				return c.Gateway
			}
			return gatewayOf(c.Subnet)
		}
	}
	return ""
}

// gatewayOf is a subnet's first address, Docker's default gateway.
func gatewayOf(subnet string) string {
	_, sn, err := net.ParseCIDR(subnet)
	if err != nil {
		return ""
	}
	ip := append(net.IP(nil), sn.IP.To4()...)
	if ip == nil {
		return ""
	}
	ip[3]++
	return ip.String()
}

// PortMapping is one published port as the portmap plugin takes it.
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// Request is what a container asks of one network: an interface in its namespace.
type Request struct {
	Network      Network
	ContainerID  string
	IfName       string        // eth0, eth1…
	IP           string        // a fixed address (--ip), "" for the next free one
	DefaultRoute bool          // this endpoint carries the default route (the first network's)
	MAC          string        // a fixed MAC address (--mac-address), "" for Docker's from the IP
	IP6          string        // a fixed IPv6 address (--ip6), "" for the next free one
	LinkLocalIPs []string      // extra link-local addresses (--link-local-ip)
	Ports        []PortMapping // published through this endpoint
}

// Endpoint is what an attachment made: a container's interface on one network. It is kept (in
// the container's network.json) to undo the attachment and to answer inspect.
type Endpoint struct {
	Network    Network // as it was when attached: what Detach needs to undo it
	EndpointID string
	IfName     string
	IP         string
	Prefix     int
	Gateway    string
	MAC        string
	Ports      []PortMapping     `json:",omitempty"`
	Results    []json.RawMessage `json:",omitempty"` // each plugin's result, for DEL
	Aliases    []string          `json:",omitempty"`
	// The IPv6 address, its prefix length and gateway, on a network with IPv6 enabled.
	IP6      string `json:",omitempty"`
	Prefix6  int    `json:",omitempty"`
	Gateway6 string `json:",omitempty"`
	// LinkLocalIPs are the extra link-local addresses the interface was given.
	LinkLocalIPs []string `json:",omitempty"`
}

// IfName is the name of a container's n-th interface (eth0, eth1…), as Docker names them.
func IfName(n int) string { return "eth" + strconv.Itoa(n) }

// BridgeFor is Docker's name for a user-defined network's bridge: "br-" and the ID's first 12
// hex digits, unless the user named it (com.docker.network.bridge.name).
func BridgeFor(id string, opts map[string]string) string {
	if b := strings.TrimSpace(opts["com.docker.network.bridge.name"]); b != "" {
		return b
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return "br-" + id
}
