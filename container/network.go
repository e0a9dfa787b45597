package container

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/rootless"
	rt "github.com/berth-engine/berth/runtime"
)

// usesBridge reports whether a network mode means the default bridge.
func usesBridge(mode string) bool { return mode == "default" || mode == "bridge" || mode == "" }

// ParsePublish reads -p values ("[ip:][hostPort:]containerPort[/proto]", ranges not supported)
// into Docker's PortBindings.
func ParsePublish(specs []string) (map[string][]PortBinding, error) {
	out := map[string][]PortBinding{}
	for _, spec := range specs {
		s := spec
		proto := "tcp"
		if i := strings.LastIndex(s, "/"); i >= 0 {
			proto, s = s[i+1:], s[:i]
		}
		var ip, host, ctr string
		parts := strings.Split(s, ":")
		switch len(parts) {
		case 1:
			ctr = parts[0]
		case 2:
			host, ctr = parts[0], parts[1]
		case 3:
			ip, host, ctr = parts[0], parts[1], parts[2]
		default:
			return nil, fmt.Errorf("invalid publish spec: %s", s)
		}
		if ip != "" && net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("invalid IP address: %s", ip)
		}
		cLo, cHi, err := parsePortRange(ctr, false)
		if err != nil {
			return nil, fmt.Errorf("invalid containerPort: %s", ctr)
		}
		var hLo, hHi int
		if host != "" {
			// 0 is Docker's "any free port", picked when the container starts (as with no host port).
			if hLo, hHi, err = parsePortRange(host, true); err != nil {
				return nil, fmt.Errorf("invalid hostPort: %s", host)
			}
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, fmt.Errorf("invalid proto: %s", proto)
		}
		// Docker's ranges: 8000-8002:80-82 binds port by port; 8000-8010:80 lets the start
		// pick the first free host port of the range; other pairings are refused.
		if host != "" && cHi-cLo != hHi-hLo && cLo != cHi {
			return nil, fmt.Errorf("Invalid ranges specified for container and host Ports: %s and %s", ctr, host)
		}
		for i := 0; i <= cHi-cLo; i++ {
			hp := ""
			switch {
			case host == "":
			case cLo == cHi && hLo != hHi:
				hp = fmt.Sprintf("%d-%d", hLo, hHi)
			default:
				hp = strconv.Itoa(hLo + i)
			}
			key := strconv.Itoa(cLo+i) + "/" + proto
			out[key] = append(out[key], PortBinding{HostIP: ip, HostPort: hp})
		}
	}
	return out, nil
}

// parsePortRange reads "N" or "LO-HI" (0 allowed only for a host port).
func parsePortRange(s string, zeroOK bool) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	min := 1
	if zeroOK {
		min = 0
	}
	if err1 != nil || err2 != nil || l < min || h > 65535 || h < l || (isRange && l == 0) {
		return 0, 0, fmt.Errorf("invalid port %s", s)
	}
	return l, h, nil
}

// PortAllocatedError is Docker's refusal of a host port another container has published.
type PortAllocatedError struct {
	Endpoint, EndpointID, HostIP string
	HostPort                     int
}

func (e PortAllocatedError) Error() string {
	return fmt.Sprintf("driver failed programming external connectivity on endpoint %s (%s): Bind for %s:%d failed: port is already allocated",
		e.Endpoint, e.EndpointID, e.HostIP, e.HostPort)
}

// allocatedPorts are the host ports the root's other running containers have published, as
// "ip:port/proto" (ip 0.0.0.0 for all addresses).
func (m *Manager) allocatedPorts(self string) map[string]bool {
	used := map[string]bool{}
	dirs, _ := os.ReadDir(filepath.Join(m.Images.Root, "containers"))
	for _, d := range dirs {
		if d.Name() == self || !d.IsDir() {
			continue
		}
		ns := m.networkState(d.Name())
		if ns == nil {
			continue
		}
		for p, bs := range ns.Ports {
			_, proto := splitPrivatePort(p)
			for _, b := range bs {
				ip := b.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				used[ip+":"+b.HostPort+"/"+proto] = true
			}
		}
	}
	return used
}

// portTaken reports whether ip:port/proto overlaps a published one (0.0.0.0 overlaps every address).
func portTaken(used map[string]bool, ip string, port int, proto string) bool {
	if used[fmt.Sprintf("%s:%d/%s", ip, port, proto)] || used[fmt.Sprintf("0.0.0.0:%d/%s", port, proto)] {
		return true
	}
	if ip == "0.0.0.0" {
		suffix := fmt.Sprintf(":%d/%s", port, proto)
		for k := range used {
			if strings.HasSuffix(k, suffix) {
				return true
			}
		}
	}
	return false
}

// bindFree reports whether a host process other than a container holds ip:port (Docker's
// userland proxy would fail to listen there; berth's DNAT would silently shadow it).
func bindFree(proto, ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		c, err := net.ListenPacket(ipNet("udp", ip), addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	if proto != "tcp" {
		return nil
	}
	l, err := net.Listen(ipNet("tcp", ip), addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// freePort asks the kernel for an unused port (for -P and -p without a host port).
func freePort(proto, ip string) (int, error) {
	if ip == "" {
		ip = "0.0.0.0"
	}
	if proto == "udp" {
		c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// resolvePorts fills the bindings -P asks for and the host ports left empty; Docker does this when
// the container starts.
//
// With ipv6 (the host has IPv6), a port given without a host address is published on [::] as
// well, on the same host port, as Docker 20.10 does: that binding is served by the userland
// proxy (network.StartProxy), not by a DNAT rule, so it is not in the mappings.
func resolvePorts(c *Container, used map[string]bool, ipv6 bool) (map[string][]PortBinding, []network.PortMapping, error) {
	bindings := map[string][]PortBinding{}
	for k, v := range c.Host.PortBindings {
		bindings[k] = append([]PortBinding(nil), v...)
	}
	if c.Host.PublishAllPorts {
		for p := range c.Config.ExposedPorts {
			if _, ok := bindings[p]; !ok {
				bindings[p] = []PortBinding{{}}
			}
		}
	}
	keys := make([]string, 0, len(bindings))
	for k := range bindings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var maps []network.PortMapping
	for _, k := range keys {
		port, proto, _ := strings.Cut(k, "/")
		cp, _ := strconv.Atoi(port)
		var added []PortBinding
		for i, b := range bindings[k] {
			anyAddr := b.HostIP == ""
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			if lo, hi, isRange := strings.Cut(b.HostPort, "-"); isRange {
				// A host range for one container port: the first port of it nobody holds.
				l, _ := strconv.Atoi(lo)
				h, _ := strconv.Atoi(hi)
				b.HostPort = ""
				for p := l; p <= h; p++ {
					if !portTaken(used, ip, p, proto) && bindFree(proto, ip, p) == nil {
						b.HostPort = strconv.Itoa(p)
						break
					}
				}
				if b.HostPort == "" {
					return nil, nil, PortAllocatedError{Endpoint: c.Name, EndpointID: c.ID, HostIP: ip, HostPort: l}
				}
			} else if b.HostPort == "" || b.HostPort == "0" {
				hp, err := freePort(proto, b.HostIP)
				if err != nil {
					return nil, nil, err
				}
				b.HostPort = strconv.Itoa(hp)
			} else {
				hp, _ := strconv.Atoi(b.HostPort)
				if portTaken(used, ip, hp, proto) {
					return nil, nil, PortAllocatedError{Endpoint: c.Name, EndpointID: c.ID, HostIP: ip, HostPort: hp}
				}
				if err := bindFree(proto, ip, hp); err != nil {
					return nil, nil, fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): Error starting userland proxy: %v", c.Name, c.ID, err)
				}
			}
			hp, _ := strconv.Atoi(b.HostPort)
			maps = append(maps, network.PortMapping{HostPort: hp, ContainerPort: cp, Protocol: proto, HostIP: b.HostIP})
			b.HostIP = ip
			bindings[k][i] = b
			if anyAddr && ipv6 && (proto == "tcp" || proto == "udp") {
				if err := bindFree(proto, "::", hp); err != nil {
					return nil, nil, fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): Error starting userland proxy: %v", c.Name, c.ID, err)
				}
				added = append(added, PortBinding{HostIP: "::", HostPort: b.HostPort})
			}
		}
		bindings[k] = append(bindings[k], added...)
	}
	return bindings, maps, nil
}

// networkState is what setupNetwork made, kept in the container's directory for teardown and
// inspect.
type networkState struct {
	NetNS     string
	None      bool // --network none by an older berth: only the namespace, no plugins
	Endpoints []network.Endpoint
	Ports     map[string][]PortBinding
	Mappings  []network.PortMapping
	Links     []network.Link `json:",omitempty"` // the legacy links as this start resolved them
	// Slirp is the slirp4netns of a rootless container's namespace (its only endpoint).
	Slirp *network.Slirp `json:",omitempty"`
	// HostFwd are the slirp4netns forwardings of a rootless container's ports on a user-defined
	// network (network.PublishRootless).
	HostFwd []int `json:",omitempty"`

	// An older berth's single default-bridge endpoint, read into Endpoints.
	IP      string            `json:",omitempty"`
	Prefix  int               `json:",omitempty"`
	Gateway string            `json:",omitempty"`
	MAC     string            `json:",omitempty"`
	Results []json.RawMessage `json:",omitempty"`
}

func (m *Manager) netStatePath(id string) string { return filepath.Join(m.dir(id), "network.json") }

func (m *Manager) netDriver() network.Driver { return network.Driver{Root: m.Images.Root} }

// defaultNetwork is the default bridge as a value.
func defaultNetwork() network.Network {
	return network.Predefined(func(string) string { return "" }, time.Time{})[0]
}

// networkState returns what the container's network looks like while it runs (nil otherwise).
func (m *Manager) networkState(id string) *networkState {
	b, err := os.ReadFile(m.netStatePath(id))
	if err != nil {
		return nil
	}
	var ns networkState
	if json.Unmarshal(b, &ns) != nil {
		return nil
	}
	if len(ns.Endpoints) == 0 && len(ns.Results) > 0 {
		ns.Endpoints = []network.Endpoint{{Network: defaultNetwork(), IfName: "eth0", IP: ns.IP, Prefix: ns.Prefix,
			Gateway: ns.Gateway, MAC: ns.MAC, Ports: ns.Mappings, Results: ns.Results}}
	}
	ns.IP, ns.Prefix, ns.Gateway, ns.MAC, ns.Results = "", 0, "", "", nil
	return &ns
}

// primary is the endpoint that carries the default route (the first), nil without any.
func (st *networkState) primary() *network.Endpoint {
	if st == nil || len(st.Endpoints) == 0 {
		return nil
	}
	return &st.Endpoints[0]
}

// setupNetwork returns what the spec's network namespace should be (rt.NetworkNone,
// rt.NetworkHost or a namespace path) and the container's IP address ("" for none): a new
// namespace with one interface per network (eth0, eth1…), the first carrying the default route
// and the published ports.
func (m *Manager) setupNetwork(c *Container) (netns, ip string, err error) {
	if _, ok := containerMode(c.Host.NetworkMode); ok {
		ns, err := m.joinedNamespace(c)
		return ns, "", err
	}
	switch c.Host.NetworkMode {
	case rt.NetworkHost:
		return rt.NetworkHost, "", nil
	case rt.NetworkNone:
		// The runtime makes the empty namespace and brings its loopback up (runc and crun both
		// do for a new network namespace), as Docker's is: nothing for us to create or undo.
		m.cleanupNetwork(c) // a namespace that an older berth made for this container
		return rt.NetworkNone, "", nil
	}
	if rootless.Active() {
		if usesBridge(c.Host.NetworkMode) {
			return m.setupRootlessNetwork(c)
		}
		// A user-defined network: its bridge is in the store's shared namespace
		// (network.HostNS), reached from the host through that namespace's slirp4netns.
		if err := checkRootlessPorts(c); err != nil {
			return "", "", err
		}
		for _, ec := range c.endpointConfigs() {
			if ec.Network == network.BridgeName {
				return "", "", errRootlessMix
			}
		}
	}
	eps := c.endpointConfigs()
	if len(eps) == 0 {
		return "", "", fmt.Errorf("network %s not found", c.Host.NetworkMode)
	}
	m.cleanupNetwork(c)
	defer network.Trace("setup total", time.Now())
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	used := m.allocatedPorts(c.ID)
	var reg *portRegistry
	// Rootless: the host's record of ports is root's (/run); the ports are forwarded by the
	// user's slirp4netns, which binds them on the host, so a taken one fails there.
	if (len(c.Host.PortBindings) > 0 || c.Host.PublishAllPorts) && !rootless.Active() {
		// Host-wide and race-free: the ports of every root's containers are checked and this
		// one's recorded under one lock (portreg.go).
		r, err := lockPorts()
		if err != nil {
			return "", "", err
		}
		reg = r
		defer func() {
			if reg != nil {
				reg.unlock()
			}
		}()
		reg.live(m.portsRoot(), c.ID, used)
	}
	ports, maps, err := resolvePorts(c, used, network.HostHasIPv6() && !rootless.Active())
	if err != nil {
		return "", "", err
	}
	nsPath := filepath.Join(m.Images.Root, "netns", c.ID)
	start := time.Now()
	if err := m.newNetNS(c, nsPath); err != nil {
		return "", "", fmt.Errorf("creating the network namespace: %w", err)
	}
	network.Trace("netns", start)
	st := &networkState{NetNS: nsPath, Ports: ports, Mappings: maps}
	// The state is written before each endpoint is made, so whoever cleans up after a crash
	// finds the namespace and every endpoint made so far.
	if err := m.saveNetworkState(c.ID, st); err != nil {
		network.RemoveNetNS(nsPath)
		return "", "", err
	}
	fail := func(err error) (string, string, error) {
		m.undoNetwork(c, st)
		return "", "", err
	}
	if reg != nil {
		err := reg.record(m.portsRoot(), c.ID, ports)
		reg.unlock()
		reg = nil
		if err != nil {
			return fail(err)
		}
	}
	for i, ec := range eps {
		var pm []network.PortMapping
		if i == 0 {
			pm = maps
			if rootless.Active() {
				pm = rootlessMappings(maps)
			}
		}
		ep, err := m.attach(c, nsPath, ec, network.IfName(i), i == 0, pm)
		if err != nil {
			return fail(err)
		}
		st.Endpoints = append(st.Endpoints, ep)
		if err := m.saveNetworkState(c.ID, st); err != nil {
			return fail(err)
		}
	}
	if rootless.Active() {
		for _, pm := range maps {
			id, err := network.PublishRootless(m.Images.Root, pm)
			if err != nil {
				return fail(err)
			}
			st.HostFwd = append(st.HostFwd, id)
			if err := m.saveNetworkState(c.ID, st); err != nil {
				return fail(err)
			}
		}
	}
	return nsPath, st.Endpoints[0].IP, nil
}

// rootlessMappings are a rootless container's port mappings as its network's rules in the
// shared namespace see them: whatever host address the port was published on, it arrives there
// on tap0's own address, forwarded by slirp4netns (network.PublishRootless).
func rootlessMappings(maps []network.PortMapping) []network.PortMapping {
	out := make([]network.PortMapping, len(maps))
	for i, pm := range maps {
		pm.HostIP = ""
		out[i] = pm
	}
	return out
}

// checkRootlessPorts refuses, before anything is made, a host port the user cannot bind.
func checkRootlessPorts(c *Container) error {
	for _, bs := range c.Host.PortBindings {
		for _, b := range bs {
			lo, _, _ := strings.Cut(b.HostPort, "-")
			if p, _ := strconv.Atoi(lo); p > 0 {
				if err := network.CheckRootlessPort(network.PortMapping{HostPort: p}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// setupRootlessNetwork gives a rootless container on the default network a namespace of its own
// served by slirp4netns, and publishes its ports through it. Networks of bridges and iptables
// rules are the host's and stay root's.
func (m *Manager) setupRootlessNetwork(c *Container) (netns, ip string, err error) {
	if !usesBridge(c.Host.NetworkMode) {
		return "", "", fmt.Errorf("network %s: rootless mode has only the default network (slirp4netns), host and none", c.Host.NetworkMode)
	}
	if err := network.CheckTun(); err != nil {
		return "", "", err
	}
	if err := checkRootlessPorts(c); err != nil {
		return "", "", err
	}
	m.cleanupNetwork(c)
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	ports, maps, err := resolvePorts(c, m.allocatedPorts(c.ID), false) // IPv4 only: slirp4netns forwards to its IPv4 guest
	if err != nil {
		return "", "", err
	}
	nsPath := filepath.Join(m.Images.Root, "netns", c.ID)
	if err := network.NewNetNS(nsPath); err != nil {
		return "", "", fmt.Errorf("creating the network namespace: %w", err)
	}
	st := &networkState{NetNS: nsPath, Ports: ports, Mappings: maps}
	if err := m.saveNetworkState(c.ID, st); err != nil {
		network.RemoveNetNS(nsPath)
		return "", "", err
	}
	// The API socket's path must fit a sockaddr_un (108 bytes): the netns directory and a short ID.
	api := filepath.Join(m.Images.Root, "netns", c.ID[:12]+".slirp")
	sl, err := network.StartSlirp(nsPath, api, filepath.Join(m.dir(c.ID), "slirp4netns.log"))
	if err != nil {
		m.undoNetwork(c, st)
		return "", "", err
	}
	st.Slirp = &sl
	st.Endpoints = []network.Endpoint{{Network: defaultNetwork(), IfName: network.SlirpIfName, IP: network.SlirpIP,
		Prefix: network.SlirpPrefix, Gateway: network.SlirpGateway, Ports: maps}}
	if err := m.saveNetworkState(c.ID, st); err != nil {
		m.undoNetwork(c, st)
		return "", "", err
	}
	for _, pm := range maps {
		if err := sl.AddPort(pm); err != nil {
			m.undoNetwork(c, st)
			return "", "", err
		}
	}
	return nsPath, network.SlirpIP, nil
}

// startProxy serves the container's ports published on [::] (nil when it has none), for as
// long as its supervision lasts; it reaches the container's current address.
func (m *Manager) startProxy(c *Container) (*network.Proxy, error) {
	st := m.networkState(c.ID)
	if st == nil {
		return nil, nil
	}
	var ports []network.ProxyPort
	for k, bs := range st.Ports {
		n, proto := splitPrivatePort(k)
		cp, _ := strconv.Atoi(n)
		for _, b := range bs {
			if ip := net.ParseIP(b.HostIP); ip != nil && ip.To4() == nil {
				hp, _ := strconv.Atoi(b.HostPort)
				ports = append(ports, network.ProxyPort{Proto: proto, HostIP: b.HostIP, HostPort: hp, ContainerPort: cp})
			}
		}
	}
	if len(ports) == 0 {
		return nil, nil
	}
	return network.StartProxy(ports, func() string {
		if p := m.networkState(c.ID).primary(); p != nil {
			return p.IP
		}
		return ""
	})
}

// holdPorts keeps the host ports of the container's DNAT bindings bound while its process runs
// (network.PortHold), until letPortsGo; rootless containers' ports are bound by slirp4netns.
func (m *Manager) holdPorts(c *Container) error {
	st := m.networkState(c.ID)
	if st == nil || st.Slirp != nil || len(st.HostFwd) > 0 || rootless.Active() || len(st.Mappings) == 0 {
		return nil
	}
	h, err := network.HoldPorts(st.Mappings)
	if err != nil {
		return err
	}
	if old, ok := m.holds.Swap(c.ID, h); ok {
		old.(*network.PortHold).Close()
	}
	return nil
}

// letPortsGo ends holdPorts' hold as the container's process has ended: before its exit is
// recorded, so that the ports are free once a stop returns, as Docker's proxy is gone by then.
func (m *Manager) letPortsGo(id string) {
	if h, ok := m.holds.LoadAndDelete(id); ok {
		h.(*network.PortHold).Close()
	}
}

// cleanupNetwork undoes setupNetwork (the endpoints, the namespace); it is safe to call any
// number of times.
func (m *Manager) cleanupNetwork(c *Container) {
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	if st := m.networkState(c.ID); st != nil {
		m.undoNetwork(c, st)
	}
}

// undoNetwork detaches the endpoints of a network state read before, and removes the namespace.
// The namespace goes first: its interfaces go with it, so most endpoints only have an address
// lease left to release (network.Driver.Release).
func (m *Manager) undoNetwork(c *Container, st *networkState) {
	defer network.Trace("teardown total", time.Now())
	if st.Slirp != nil {
		network.StopSlirp(*st.Slirp)
		network.RemoveNetNS(st.NetNS)
		m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteEndpoints(c.ID, "") })
		os.Remove(m.netStatePath(c.ID))
		return
	}
	if len(st.HostFwd) > 0 {
		network.UnpublishRootless(m.Images.Root, st.HostFwd)
	}
	start := time.Now()
	network.RemoveNetNS(st.NetNS)
	network.Trace("netns remove", start)
	d := m.netDriver()
	for i := len(st.Endpoints) - 1; i >= 0; i-- {
		d.Release(st.NetNS, c.ID, st.Endpoints[i])
	}
	m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteEndpoints(c.ID, "") })
	os.Remove(m.netStatePath(c.ID))
	releasePorts(m.portsRoot(), c.ID)
}

// portsRoot is the root as the host-wide port record names it (absolute).
func (m *Manager) portsRoot() string {
	if abs, err := filepath.Abs(m.Images.Root); err == nil {
		return abs
	}
	return m.Images.Root
}

// Port is one port of a container as Docker's container list reports it (types.Port): an
// exposed port alone (PrivatePort, Type), or one host binding of it (IP, PublicPort too).
type Port struct {
	IP          string `json:",omitempty"`
	PrivatePort uint16
	PublicPort  uint16 `json:",omitempty"`
	Type        string
}

// Ports lists a container's ports as Docker does: every exposed port without a binding, and
// each binding of a published one while the container runs.
func (m *Manager) Ports(id string, exposed map[string]struct{}, running bool) []Port {
	var published map[string][]PortBinding
	if running {
		if st := m.networkState(id); st != nil {
			published = st.Ports
		}
	}
	var out []Port
	for p := range exposed {
		if len(published[p]) == 0 {
			n, proto := splitPrivatePort(p)
			priv, _ := strconv.ParseUint(n, 10, 16)
			out = append(out, Port{PrivatePort: uint16(priv), Type: proto})
		}
	}
	for p, bs := range published {
		n, proto := splitPrivatePort(p)
		priv, _ := strconv.ParseUint(n, 10, 16)
		for _, b := range bs {
			pub, _ := strconv.ParseUint(b.HostPort, 10, 16)
			out = append(out, Port{IP: b.HostIP, PrivatePort: uint16(priv), PublicPort: uint16(pub), Type: proto})
		}
	}
	sort.Slice(out, func(i, j int) bool { return portLess(out[i], out[j]) })
	return out
}

// portLess is Docker's order of ports: by container port, then host address, host port, protocol.
func portLess(a, b Port) bool {
	if a.PrivatePort != b.PrivatePort {
		return a.PrivatePort < b.PrivatePort
	}
	if a.IP != b.IP {
		return a.IP < b.IP
	}
	if a.PublicPort != b.PublicPort {
		return a.PublicPort < b.PublicPort
	}
	return a.Type < b.Type
}

// DisplayPorts is `ps`'s PORTS column as Docker's CLI writes it: exposed ports and ports
// bound to the same host port collapsed into ranges ("7000-7001/udp",
// "0.0.0.0:8000-8002->8000-8002/tcp"), then each binding to another host port
// ("0.0.0.0:8080->80/tcp"), in Docker's port order.
func DisplayPorts(ports []Port) string {
	type group struct{ first, last uint16 }
	ports = append([]Port(nil), ports...)
	sort.Slice(ports, func(i, j int) bool { return portLess(ports[i], ports[j]) })
	groups := map[string]*group{}
	var keys, out, mappings []string
	for _, p := range ports {
		key := p.Type
		if p.IP != "" {
			if p.PublicPort != p.PrivatePort {
				// Docker 20.10 joins address and port with a bare colon (":::8080" for IPv6).
				mappings = append(mappings, fmt.Sprintf("%s:%d->%d/%s", p.IP, p.PublicPort, p.PrivatePort, p.Type))
				continue
			}
			key = p.IP + "/" + p.Type
		}
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &group{p.PrivatePort, p.PrivatePort}
			keys = append(keys, key)
		case p.PrivatePort == g.last+1:
			g.last = p.PrivatePort
		default:
			out = append(out, portGroup(key, g.first, g.last))
			groups[key] = &group{p.PrivatePort, p.PrivatePort}
		}
	}
	for _, k := range keys {
		out = append(out, portGroup(k, groups[k].first, groups[k].last))
	}
	return strings.Join(append(out, mappings...), ", ")
}

func portGroup(key string, first, last uint16) string {
	ip, proto, hasIP := strings.Cut(key, "/")
	if !hasIP {
		ip, proto = "", key
	}
	r := strconv.Itoa(int(first))
	if first != last {
		r += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		r = ip + ":" + r + "->" + r
	}
	return r + "/" + proto
}

// RemoveHostRules undoes the default bridge's host-wide rules (for tests and uninstalling).
func (m *Manager) RemoveHostRules() { m.netDriver().RemoveDefaultRules(defaultNetwork()) }

// ipNet is the network name to listen on ip with: the IPv4 one for an IPv4 address, so a
// probe of 0.0.0.0 does not depend on the host's IPv6 set-up.
func ipNet(proto, ip string) string {
	if strings.Contains(ip, ":") {
		return proto + "6"
	}
	return proto + "4"
}
