package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/rootless"
	rt "github.com/berth-engine/berth/runtime"
	"golang.org/x/sys/unix"
)

// EndpointConfig is a container's configured attachment to one network: what `run --network`,
// `--network-alias`, `--ip` and `network connect` asked for (Docker's EndpointSettings config).
type EndpointConfig struct {
	Network     string // the network's name
	NetworkID   string
	Aliases     []string `json:",omitempty"`
	IPv4Address string   `json:",omitempty"`
	MacAddress  string   `json:",omitempty"` // --mac-address, for the first network
	// IPv6Address is --ip6 (given only on a network with an IPv6 subnet, used where the network
	// has IPv6 enabled); LinkLocalIPs are --link-local-ip's extra addresses of the interface.
	IPv6Address  string   `json:",omitempty"`
	LinkLocalIPs []string `json:",omitempty"`
	// Links are endpoint links on a user-defined network ("NAME:ALIAS" as given): ALIAS
	// resolves to NAME through this container's resolver only.
	Links []string `json:",omitempty"`
	// DriverOpts are the endpoint's driver options, kept and shown as Docker keeps them.
	DriverOpts map[string]string `json:",omitempty"`
}

// EndpointOptions are what a container asks of one network beyond joining it: `network
// connect`'s flags and the Engine API's EndpointSettings (run/create give the same for their
// first network through CreateOptions).
type EndpointOptions struct {
	Aliases      []string
	IPv4Address  string
	IPv6Address  string
	MacAddress   string
	LinkLocalIPs []string
	Links        []string
	DriverOpts   map[string]string
}

// networks is the root's network manager.
func (m *Manager) networks() *network.Manager {
	return &network.Manager{DB: m.Images.DB, Root: m.Images.Root}
}

// containerMode returns the container whose namespace "container:NAME" joins ("" otherwise).
func containerMode(mode string) (string, bool) {
	if ref, ok := strings.CutPrefix(mode, "container:"); ok {
		return ref, true
	}
	return "", false
}

// endpointConfigs are the networks the container joins, for records made before there was a list.
func (c *Container) endpointConfigs() []EndpointConfig {
	if len(c.Networks) > 0 {
		return c.Networks
	}
	if usesBridge(c.Host.NetworkMode) {
		return []EndpointConfig{{Network: network.BridgeName}}
	}
	return nil
}

// planNetworks checks create's network options against the networks there are (Docker's
// errors) and returns the endpoints to make at each start; it settles Host.NetworkMode.
func (m *Manager) planNetworks(o *CreateOptions) ([]EndpointConfig, error) {
	names := o.Networks
	if len(names) == 0 {
		mode := o.Host.NetworkMode
		if mode == "" {
			mode = "default"
		}
		names = []string{mode}
	}
	first := names[0]
	o.Host.NetworkMode = first
	special := first == rt.NetworkHost || first == rt.NetworkNone
	if ref, ok := containerMode(first); ok {
		if len(o.Aliases) > 0 {
			return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
		}
		if len(o.Host.PortBindings) > 0 || o.Host.PublishAllPorts {
			return nil, errors.New("conflicting options: port publishing and the container type network mode")
		}
		if o.Hostname != "" {
			return nil, errors.New("conflicting options: hostname and the network mode")
		}
		other, _, err := m.Get(ref)
		if err != nil {
			return nil, err
		}
		o.Host.NetworkMode, o.Hostname = "container:"+other.ID, other.Config.Hostname
		special = true
	}
	if special && len(o.Links) > 0 {
		if first == rt.NetworkHost {
			return nil, errors.New("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
		}
		if _, ok := containerMode(first); ok {
			return nil, errors.New("conflicting options: container type network can't be used with links. This would result in undefined behavior")
		}
	}
	if special {
		if len(names) > 1 {
			return nil, fmt.Errorf("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
		}
		if len(o.Aliases) > 0 {
			return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
		}
		return nil, nil
	}
	nets := m.networks()
	var out []EndpointConfig
	seen := map[string]bool{}
	for i, name := range names {
		if name == rt.NetworkHost || name == rt.NetworkNone || strings.HasPrefix(name, "container:") {
			return nil, fmt.Errorf("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
		}
		n, err := nets.Get(name)
		if errors.As(err, new(network.NotFoundError)) {
			// As dockerd: a network that does not exist is the start's failure, not the
			// create's ("network x not found" then); one created meanwhile is joined by name.
			if seen["name:"+name] {
				continue
			}
			seen["name:"+name] = true
			ec := EndpointConfig{Network: name}
			if i == 0 {
				// Kept for the start, as for a user-defined network (the predefined ones exist).
				ec.MacAddress, ec.Aliases, ec.IPv4Address, ec.IPv6Address = o.MacAddress, o.Aliases, o.IP, o.IP6
				ec.LinkLocalIPs, ec.Links, ec.DriverOpts = o.LinkLocalIPs, o.EndpointLinks, o.DriverOpts
				if len(ec.Links) == 0 {
					ec.Links = o.Links
				}
			}
			out = append(out, ec)
			continue
		} else if err != nil {
			return nil, err
		}
		if seen[n.ID] {
			continue
		}
		seen[n.ID] = true
		ec := EndpointConfig{Network: n.Name, NetworkID: n.ID}
		if i == 0 {
			// Docker takes --network-alias, --ip, --ip6, --link-local-ip and the endpoint's
			// links and driver options for the first network only.
			links := o.EndpointLinks
			if len(links) == 0 && n.UserDefined() {
				links = o.Links // --link on a user-defined network is an endpoint link, as Docker's CLI makes it
			}
			ec, err = endpointConfig(n, EndpointOptions{Aliases: o.Aliases, IPv4Address: o.IP, IPv6Address: o.IP6, MacAddress: o.MacAddress,
				LinkLocalIPs: o.LinkLocalIPs, Links: links, DriverOpts: o.DriverOpts}, true)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, ec)
	}
	return out, nil
}

// endpointConfig checks what a container asks of network n, as Docker checks it, and returns
// the endpoint to make at each start. From run/create (create), aliases, addresses and links
// asked of the default bridge are ignored, as Docker ignores them there; connect refuses them.
func endpointConfig(n network.Network, o EndpointOptions, create bool) (EndpointConfig, error) {
	ec := EndpointConfig{Network: n.Name, NetworkID: n.ID, MacAddress: o.MacAddress, DriverOpts: o.DriverOpts}
	if o.MacAddress != "" {
		if _, err := net.ParseMAC(o.MacAddress); err != nil {
			return ec, fmt.Errorf("%s is not a valid mac address", o.MacAddress)
		}
	}
	for _, ip := range o.LinkLocalIPs {
		if net.ParseIP(ip) == nil {
			return ec, fmt.Errorf("invalid link-local IP address: %s", ip)
		}
	}
	ec.LinkLocalIPs = o.LinkLocalIPs
	for _, l := range o.Links {
		if _, _, err := network.ParseLink(l); err != nil {
			return ec, err
		}
	}
	if !n.UserDefined() {
		if create {
			return ec, nil
		}
		switch {
		case len(o.Aliases) > 0:
			return ec, errors.New("network-scoped aliases are only supported for user-defined networks")
		case len(o.Links) > 0:
			return ec, errors.New("links are only supported for user-defined networks")
		}
	}
	ec.Aliases, ec.Links = o.Aliases, o.Links
	if o.IPv4Address != "" {
		if err := checkFixedIP(n, o.IPv4Address); err != nil {
			return ec, err
		}
		ec.IPv4Address = o.IPv4Address
	}
	if o.IPv6Address != "" {
		if err := checkFixedIP6(n, o.IPv6Address); err != nil {
			return ec, err
		}
		ec.IPv6Address = o.IPv6Address
	}
	return ec, nil
}

// checkFixedIP6 is Docker's check of --ip6 against a network: it must have an IPv6 subnet the
// user chose, holding the address.
func checkFixedIP6(n network.Network, ip string) error {
	sn := n.Subnet6()
	if !n.UserDefined() || sn == nil {
		return errors.New("user specified IP address is supported only when connecting to networks with user configured subnets")
	}
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() != nil {
		return fmt.Errorf("invalid IPv6 address: %s", ip)
	}
	if !sn.Contains(addr) {
		return fmt.Errorf("Invalid address %s: It does not belong to any of this network's subnets", ip)
	}
	return nil
}

// NetworkNotFoundError is "network x not found" (Docker's 404): a start on a network that does
// not exist, a build step's networkmode.
type NetworkNotFoundError struct{ Name string }

func (e NetworkNotFoundError) Error() string { return "network " + e.Name + " not found" }

// checkFixedIP is Docker's check of --ip against a network.
func checkFixedIP(n network.Network, ip string) error {
	if !n.UserDefined() || !n.UserSubnet {
		return errors.New("user specified IP address is supported only when connecting to networks with user configured subnets")
	}
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() == nil {
		return fmt.Errorf("invalid IPv4 address: %s", ip)
	}
	if sn := n.Subnet(); sn == nil || !sn.Contains(addr) {
		return fmt.Errorf("Invalid address %s: It does not belong to any of this network's subnets", ip)
	}
	return nil
}

// lockNetwork serialises changes to a container's network state between its supervisor (start,
// exit) and `network connect/disconnect` run by another process.
func (m *Manager) lockNetwork(id string) func() {
	f, err := os.OpenFile(filepath.Join(m.dir(id), "network.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return func() {}
	}
	unix.Flock(int(f.Fd()), unix.LOCK_EX)
	return func() { f.Close() }
}

func (m *Manager) saveNetworkState(id string, st *networkState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := m.netStatePath(id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.netStatePath(id))
}

// attach makes one endpoint in the container's namespace and records it in the database, where
// `network rm` and the DNS resolvers find it.
func (m *Manager) attach(c *Container, nsPath string, ec EndpointConfig, ifname string, primary bool, maps []network.PortMapping) (network.Endpoint, error) {
	nets := m.networks()
	n, err := nets.Get(ec.NetworkID)
	if errors.As(err, new(network.NotFoundError)) {
		n, err = nets.Get(ec.Network) // a record made before networks had IDs
	}
	if errors.As(err, new(network.NotFoundError)) {
		return network.Endpoint{}, NetworkNotFoundError{ec.Network}
	}
	if err != nil {
		return network.Endpoint{}, err
	}
	d := m.netDriver()
	if n.IsDefault() {
		if err := d.EnsureDefaultRules(n); err != nil {
			return network.Endpoint{}, err
		}
	} else if err := network.EnsureBridge(m.Images.Root, n); err != nil {
		return network.Endpoint{}, err
	}
	ep, err := d.Attach(nsPath, network.Request{Network: n, ContainerID: c.ID, IfName: ifname, IP: ec.IPv4Address, MAC: ec.MacAddress, DefaultRoute: primary, Ports: maps,
		IP6: ec.IPv6Address, LinkLocalIPs: ec.LinkLocalIPs})
	if err != nil {
		return network.Endpoint{}, err
	}
	ep.EndpointID = newID()
	if n.UserDefined() {
		// Docker adds the short ID to the aliases on user-defined networks.
		ep.Aliases = append(append([]string(nil), ec.Aliases...), c.ID[:12])
	}
	start := time.Now()
	defer network.Trace("endpoint record", start)
	err = m.Images.DB.Update(func(tx *metadata.Tx) error {
		return tx.PutEndpoint(metadata.Endpoint{NetworkID: n.ID, ContainerID: c.ID, EndpointID: ep.EndpointID, Name: c.Name,
			Aliases: ep.Aliases, IP: ep.IP, Prefix: ep.Prefix, MAC: ep.MAC, IP6: ep.IP6, Prefix6: ep.Prefix6})
	})
	if err != nil {
		d.Detach(nsPath, c.ID, ep)
		return network.Endpoint{}, err
	}
	return ep, nil
}

// detach undoes attach.
func (m *Manager) detach(c *Container, nsPath string, ep network.Endpoint) {
	m.netDriver().Detach(nsPath, c.ID, ep)
	if ep.Network.ID != "" {
		m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteEndpoints(c.ID, ep.Network.ID) })
	}
}

// joinedNamespace is the namespace of the container that "container:ID" names, which must run.
func (m *Manager) joinedNamespace(c *Container) (string, error) {
	ref, _ := containerMode(c.Host.NetworkMode)
	other, st, err := m.Get(ref)
	if err != nil {
		return "", err
	}
	if !st.Running() || st.Restarting() {
		return "", fmt.Errorf("cannot join network of a non running container: %s", other.ID)
	}
	if ns := m.networkState(other.ID); ns != nil && ns.NetNS != "" {
		return ns.NetNS, nil
	}
	if _, ok := containerMode(other.Host.NetworkMode); ok {
		return m.joinedNamespace(other)
	}
	if other.Host.NetworkMode == rt.NetworkHost {
		return rt.NetworkHost, nil
	}
	if pid := m.pid(other.ID, st); pid > 0 {
		return fmt.Sprintf("/proc/%d/ns/net", pid), nil
	}
	return "", fmt.Errorf("cannot join network of a non running container: %s", other.ID)
}

// usesEmbeddedDNS reports whether the container is on a user-defined network, whose containers
// ask the embedded resolver (127.0.0.11).
func (c *Container) usesEmbeddedDNS() bool {
	for _, ec := range c.endpointConfigs() {
		if !network.IsPredefined(ec.Network) {
			return true
		}
	}
	return false
}

// hostGateway is the address --add-host NAME:host-gateway stands for: the default bridge's
// gateway, as dockerd's default host-gateway-ip.
func hostGateway() string { return defaultNetwork().Gateway() }

// extraHosts resolves host-gateway in --add-host entries.
func extraHosts(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		if name, ip, ok := strings.Cut(e, ":"); ok && ip == "host-gateway" {
			e = name + ":" + hostGateway()
		}
		out[i] = e
	}
	return out
}

// ValidateExtraHost checks an --add-host value as Docker's CLI does.
func ValidateExtraHost(v string) error {
	name, ip, ok := strings.Cut(v, ":")
	if !ok || name == "" {
		return fmt.Errorf("bad format for add-host: %q", v)
	}
	if ip != "host-gateway" && net.ParseIP(ip) == nil {
		return fmt.Errorf("invalid IP address in add-host: %q", ip)
	}
	return nil
}

// etcFiles are the container's /etc/hosts, /etc/hostname and /etc/resolv.conf as Docker writes
// them: the host's own with the host's network; the joined container's with container:ID; else
// made from the container's address, --add-host and the --dns flags (127.0.0.11 on a
// user-defined network).
func (m *Manager) etcFiles(c *Container, ip string, hostNet bool) (map[string][]byte, error) {
	files := map[string][]byte{"hostname": rt.HostnameFile(c.Config.Hostname)}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	if ref, ok := containerMode(c.Host.NetworkMode); ok {
		other, _, err := m.Get(ref)
		if err != nil {
			return nil, err
		}
		for _, name := range []string{"hosts", "resolv.conf"} {
			b, err := os.ReadFile(filepath.Join(m.dir(other.ID), name))
			if err != nil {
				return nil, err
			}
			files[name] = b
		}
		return files, nil
	}
	if hostNet {
		hosts, err := os.ReadFile("/etc/hosts")
		if err != nil {
			hosts = rt.HostsFile("", c.Config.Hostname, c.Config.Domainname, nil)
		}
		files["hosts"] = hosts
		files["resolv.conf"] = rt.ResolvConf(hostResolv, true)
		return files, nil
	}
	extra, ip6 := extraHosts(c.Host.ExtraHosts), ""
	if ns := m.networkState(c.ID); ns != nil {
		extra = append(extra, linkHosts(ns.Links)...)
		if p := ns.primary(); p != nil {
			ip6 = p.IP6
		}
	}
	files["hosts"] = rt.HostsFile(ip, c.Config.Hostname, c.Config.Domainname, extra)
	if ip6 != "" && ip != "" {
		// Docker lists the container's IPv6 address after its IPv4 one.
		name := c.Config.Hostname
		if c.Config.Domainname != "" {
			name = c.Config.Hostname + "." + c.Config.Domainname + " " + c.Config.Hostname
		}
		files["hosts"] = append(files["hosts"], ip6+"\t"+name+"\n"...)
	}
	embedded := c.usesEmbeddedDNS()
	if !embedded && len(c.Host.DNS)+len(c.Host.DNSSearch)+len(c.Host.DNSOptions) == 0 {
		files["resolv.conf"] = rt.ResolvConf(hostResolv, false)
	} else {
		files["resolv.conf"] = network.ResolvConf(hostResolv, c.Host.DNS, c.Host.DNSSearch, c.Host.DNSOptions, embedded)
	}
	return files, nil
}

// saveRecord rewrites a container's record (its networks changed).
func (m *Manager) saveRecord(c *Container) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.SetContainerConfig(c.ID, c.Name, string(b)) })
}

// errRootlessMix: a rootless container's default network is a slirp4netns of its own in its
// namespace, user-defined networks are bridges in the store's shared namespace; one container
// cannot have both.
var errRootlessMix = errors.New("rootless mode cannot connect a container to both the default network (slirp4netns) and a user-defined network")

// Connect joins a container to a network (`network connect`): recorded for its next starts, and
// made now in its namespace when it runs.
func (m *Manager) Connect(netRef, ctrRef string, opts EndpointOptions) error {
	c, st, err := m.Get(ctrRef)
	if err != nil {
		return err
	}
	n, err := m.networks().Get(netRef)
	if err != nil {
		return err
	}
	if n.Name == network.HostName || c.Host.NetworkMode == rt.NetworkHost {
		return ConflictError{"container cannot be disconnected from host network or connected to host network"}
	}
	if _, ok := containerMode(c.Host.NetworkMode); ok {
		return ConflictError{"container sharing network namespace with another container or host cannot be connected to any other network"}
	}
	if n.Name == network.NoneName || c.Host.NetworkMode == rt.NetworkNone && !c.Disconnected {
		return ConflictError{"container cannot be connected to multiple networks with one of the networks in private (none) mode"}
	}
	for _, ec := range c.endpointConfigs() {
		if ec.NetworkID == n.ID || ec.Network == n.Name {
			return ConflictError{fmt.Sprintf("endpoint with name %s already exists in network %s", c.Name, n.Name)}
		}
	}
	if rootless.Active() && (n.IsDefault() || usesBridge(c.Host.NetworkMode)) {
		return errRootlessMix
	}
	ec, err := endpointConfig(n, opts, false)
	if err != nil {
		return err
	}
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	if ns := m.networkState(c.ID); st.Running() && ns != nil && ns.NetNS != "" {
		ifname := network.IfName(nextInterface(ns.Endpoints))
		ep, err := m.attach(c, ns.NetNS, ec, ifname, false, nil)
		if err != nil {
			return err
		}
		ns.Endpoints = append(ns.Endpoints, ep)
		if err := m.saveNetworkState(c.ID, ns); err != nil {
			m.detach(c, ns.NetNS, ep)
			return err
		}
	}
	c.Networks = append(c.endpointConfigs(), ec)
	if c.Disconnected {
		c.Host.NetworkMode, c.Disconnected = n.Name, false
	}
	if err := m.saveRecord(c); err != nil {
		return err
	}
	m.networks().Event("connect", n, map[string]string{"container": c.ID})
	return nil
}

// nextInterface is the number of the next free ethN.
func nextInterface(eps []network.Endpoint) int {
	next := 0
	for _, ep := range eps {
		var n int
		if _, err := fmt.Sscanf(ep.IfName, "eth%d", &n); err == nil && n >= next {
			next = n + 1
		}
	}
	return next
}

// Disconnect takes a container off a network (`network disconnect`): its interface goes now if
// it runs, and the network is no longer joined at its next starts. force skips the check that
// the network still exists (for a network removed under a stopped container).
func (m *Manager) Disconnect(netRef, ctrRef string, force bool) error {
	c, st, err := m.Get(ctrRef)
	if err != nil {
		return err
	}
	n, err := m.networks().Get(netRef)
	if err != nil && !(force && errors.As(err, new(network.NotFoundError))) {
		return err
	}
	if err != nil {
		n = network.Network{Name: netRef, ID: netRef}
	}
	if n.Name == network.HostName || c.Host.NetworkMode == rt.NetworkHost {
		return ConflictError{"container cannot be disconnected from host network or connected to host network"}
	}
	var kept []EndpointConfig
	found := false
	for _, ec := range c.endpointConfigs() {
		if ec.NetworkID == n.ID || ec.Network == n.Name {
			found = true
			continue
		}
		kept = append(kept, ec)
	}
	if !found {
		return ConflictError{fmt.Sprintf("container %s is not connected to network %s", c.ID, netRef)}
	}
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	if ns := m.networkState(c.ID); st.Running() && ns != nil {
		var eps []network.Endpoint
		for _, ep := range ns.Endpoints {
			if ep.Network.ID == n.ID || ep.Network.Name == n.Name {
				m.detach(c, ns.NetNS, ep)
				continue
			}
			eps = append(eps, ep)
		}
		ns.Endpoints = eps
		if err := m.saveNetworkState(c.ID, ns); err != nil {
			return err
		}
	}
	c.Networks = kept
	if len(kept) == 0 {
		// Off its last network, the container starts with no network at all.
		c.Host.NetworkMode, c.Disconnected = rt.NetworkNone, true
	} else if c.Host.NetworkMode == n.Name || (usesBridge(c.Host.NetworkMode) && n.IsDefault()) {
		c.Host.NetworkMode = kept[0].Network
	}
	if err := m.saveRecord(c); err != nil {
		return err
	}
	m.networks().Event("disconnect", n, map[string]string{"container": c.ID})
	return nil
}

// NetworkNames are the names of the networks the container joins, sorted (ps's NETWORKS column):
// "host" or "none" for those modes, nothing for container:ID.
func (c *Container) NetworkNames() []string {
	if c.Host.NetworkMode == rt.NetworkHost || c.Host.NetworkMode == rt.NetworkNone {
		return []string{c.Host.NetworkMode}
	}
	var out []string
	for _, ec := range c.endpointConfigs() {
		out = append(out, ec.Network)
	}
	sort.Strings(out)
	return out
}

// startResolver starts the container's embedded DNS when it is on a user-defined network (nil
// otherwise).
func (m *Manager) startResolver(c *Container) (*network.Resolver, error) {
	if !c.usesEmbeddedDNS() {
		return nil, nil
	}
	st := m.networkState(c.ID)
	if st == nil || st.NetNS == "" {
		return nil, nil
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	defer network.Trace("resolver start", time.Now())
	return network.StartResolver(st.NetNS, func() (network.Table, error) { return m.dnsTable(c.ID) },
		network.Upstreams(hostResolv, c.Host.DNS))
}

// dnsTable is what a container's resolver answers for now: the endpoints on the user-defined
// networks it is attached to, read from the state database.
func (m *Manager) dnsTable(id string) (network.Table, error) {
	var ns []metadata.Neighbour
	var row metadata.Container
	record := true
	err := m.Images.DB.View(func(tx *metadata.Tx) (err error) {
		if ns, err = tx.Neighbours(id); err != nil {
			return err
		}
		row, err = tx.Container(id)
		if errors.Is(err, metadata.ErrNotFound) {
			record, err = false, nil // a build step on the network: no record, no links
		}
		return err
	})
	if err != nil {
		return network.Table{}, err
	}
	members := make([]network.Member, 0, len(ns))
	for _, n := range ns {
		members = append(members, network.Member{Network: n.NetworkName, Names: append([]string{n.Name}, n.Aliases...),
			IP: net.ParseIP(n.IP), IP6: net.ParseIP(n.IP6)})
	}
	// The container's endpoint links: names only it resolves, to their targets.
	if c, _, err := fromRow(row); record && err == nil {
		for _, ec := range c.Networks {
			members = append(members, network.LinkMembers(members, ec.Network, ec.Links)...)
		}
	}
	return network.NewTable(members), nil
}

// RemoveNetwork is `network rm`: a network in use by a running container is refused. Endpoints
// whose container is gone, or whose supervisor died without cleaning up, do not count: their
// containers are reconciled (which tears their network down) before the network is tried again.
func (m *Manager) RemoveNetwork(ref string) error {
	nets := m.networks()
	err := nets.Remove(ref)
	if !errors.As(err, new(network.ConflictError)) {
		return err
	}
	n, gerr := nets.Get(ref)
	if gerr != nil || !n.UserDefined() {
		return err
	}
	m.reconcileEndpoints(n.ID)
	return nets.Remove(ref)
}

// PruneNetworks is `network prune`: every user-defined network no running container uses.
func (m *Manager) PruneNetworks() ([]string, error) {
	return m.PruneNetworksFiltered(format.NewArgs())
}

// PruneNetworksFiltered is network prune with Docker's filters (until, label, label!).
func (m *Manager) PruneNetworksFiltered(f format.Args) ([]string, error) {
	match, err := network.PruneFilter(f)
	if err != nil {
		return nil, err
	}
	nets, err := m.networks().List()
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		if n.UserDefined() && match(n) {
			m.reconcileEndpoints(n.ID)
		}
	}
	return m.networks().PruneMatching(match)
}

// reconcileEndpoints looks at every container with an endpoint on a network: one that no longer
// exists loses its endpoint rows; one whose supervisor died is reconciled by Get; one that
// exited and whose supervisor still releases its endpoints is waited for.
func (m *Manager) reconcileEndpoints(networkID string) {
	eps, err := m.networks().Endpoints(networkID)
	if err != nil {
		return
	}
	for _, e := range eps {
		_, st, err := m.Get(e.ContainerID)
		if errors.As(err, new(NotFoundError)) {
			m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteEndpoints(e.ContainerID, "") })
		} else if err == nil && tearingDown(st) {
			m.waitTeardown(e.ContainerID) // it releases its endpoints
		}
	}
}
