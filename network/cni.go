package network

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const cniVersion = "1.0.0"

// CNIPath is where the plugins are looked for (CNI_PATH); BERTH_CNI_PATH overrides it.
func CNIPath() string {
	if p := os.Getenv("BERTH_CNI_PATH"); p != "" {
		return p
	}
	return "/usr/lib/cni:/opt/cni/bin"
}

// Driver attaches containers to networks on this host. Root is berth's --root: user-defined
// networks keep their address leases under it (network/ipam/); the default bridge's are the
// host's (host-local's default /var/lib/cni/networks/berth), as its bridge is.
type Driver struct {
	Root string
}

// cniName is the network's name as the CNI plugins know it (host-local's lease directory).
func cniName(n Network) string {
	if n.IsDefault() {
		return "berth"
	}
	return n.ID
}

// plugins are the configurations of the plugin chain that makes a request's endpoint, in order.
// They are values: the same request gives the same chain, which DEL is given again.
func (d Driver) plugins(r Request) []map[string]any {
	n := r.Network
	rng := map[string]string{"subnet": DefaultSubnet}
	if sn := n.Subnet(); sn != nil {
		rng = map[string]string{"subnet": sn.String()}
		for _, c := range n.IPAM {
			if c.Subnet != sn.String() {
				continue
			}
			if c.Gateway != "" {
				rng["gateway"] = c.Gateway
			}
			if c.IPRange != "" {
				if start, end, ok := rangeBounds(sn, c.IPRange); ok {
					rng["rangeStart"], rng["rangeEnd"] = start, end
				}
			}
		}
	}
	ipam := map[string]any{"type": "host-local", "ranges": [][]map[string]string{{rng}}}
	if r.DefaultRoute && !n.Internal {
		ipam["routes"] = []map[string]string{{"dst": "0.0.0.0/0"}}
	}
	if !n.IsDefault() {
		ipam["dataDir"] = filepath.Join(d.Root, "network", "ipam")
	}
	// NAT, forwarding and isolation are host-wide rules set when the network is made (or, for the
	// default bridge, once per boot), as Docker does, so a container's start runs no iptables.
	bridge := map[string]any{
		"type": "bridge", "bridge": n.Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
		"ipam": ipam,
	}
	plugins := []map[string]any{bridge}
	if len(r.Ports) > 0 {
		plugins = append(plugins, map[string]any{
			"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true},
			"runtimeConfig": map[string]any{"portMappings": r.Ports},
		})
	}
	return plugins
}

// rangeBounds turns an --ip-range inside a subnet into host-local's first and last address;
// the subnet's broadcast address is never given out.
func rangeBounds(sn *net.IPNet, ipRange string) (string, string, bool) {
	_, rn, err := net.ParseCIDR(ipRange)
	if err != nil || !sn.Contains(rn.IP) {
		return "", "", false
	}
	start := ip4(rn.IP)
	if start == ip4(sn.IP) {
		start++
	}
	end := lastAddr(rn)
	if bc := lastAddr(sn); end >= bc {
		end = bc - 1
	}
	return u32ToIP(start).String(), u32ToIP(end).String(), true
}

// SlowPath makes Attach run the bridge and host-local plugins instead of netlink in-process
// (BERTH_CNI_BRIDGE=1): the reference the in-process endpoint is checked against.
var SlowPath = os.Getenv("BERTH_CNI_BRIDGE") != ""

// Attach makes a request's endpoint in the namespace at netns. On failure nothing is left.
func (d Driver) Attach(netns string, r Request) (ep Endpoint, err error) {
	// In rootless mode a user-defined network's host side is in the store's shared namespace.
	err = d.hostNS(r.Network, func() error {
		ep, err = d.attach(netns, r)
		return err
	})
	return ep, err
}

// hostNS runs fn where network n's bridge is: network.HostNS for a user-defined network.
func (d Driver) hostNS(n Network, fn func() error) error {
	if n.IsDefault() {
		return fn()
	}
	return HostNS(d.Root, fn)
}

func (d Driver) attach(netns string, r Request) (Endpoint, error) {
	if !SlowPath {
		ep, err := d.attachBridge(netns, r)
		if err != nil || len(r.Ports) == 0 {
			return ep, err
		}
		// Published ports: the portmap plugin, chained on the bridge's result.
		plugins := d.plugins(r)
		start := time.Now()
		res, err := cniExec("ADD", r.ContainerID, netns, r.IfName, "", cniName(r.Network), plugins[1], ep.Results[0])
		Trace("cni portmap add "+r.IfName, start)
		if err != nil {
			d.detach(netns, r.ContainerID, ep)
			return Endpoint{}, err
		}
		ep.Results = append(ep.Results, res)
		return ep, nil
	}
	if r.MAC != "" || r.Network.IPv6() || len(r.LinkLocalIPs) > 0 {
		return Endpoint{}, fmt.Errorf("network %s: a fixed MAC address, IPv6 and link-local addresses need berth's own bridge set-up (unset BERTH_CNI_BRIDGE)", r.Network.Name)
	}
	ep := Endpoint{Network: r.Network, IfName: r.IfName, Ports: r.Ports}
	var prev json.RawMessage
	for _, p := range d.plugins(r) {
		start := time.Now()
		res, err := cniExec("ADD", r.ContainerID, netns, r.IfName, r.IP, cniName(r.Network), p, prev)
		Trace("cni "+p["type"].(string)+" add "+r.IfName, start)
		if err != nil {
			d.detach(netns, r.ContainerID, ep)
			return Endpoint{}, err
		}
		ep.Results = append(ep.Results, res)
		prev = res
	}
	var res struct {
		Interfaces []struct {
			Name    string `json:"name"`
			Mac     string `json:"mac"`
			Sandbox string `json:"sandbox"`
		} `json:"interfaces"`
		IPs []struct {
			Address string `json:"address"`
			Gateway string `json:"gateway"`
		} `json:"ips"`
	}
	if err := json.Unmarshal(prev, &res); err != nil || len(res.IPs) == 0 {
		d.detach(netns, r.ContainerID, ep)
		return Endpoint{}, fmt.Errorf("network %s: no address in the CNI result: %s", r.Network.Name, prev)
	}
	addr, ipNet, err := net.ParseCIDR(res.IPs[0].Address)
	if err != nil {
		d.detach(netns, r.ContainerID, ep)
		return Endpoint{}, err
	}
	ep.IP, ep.Gateway = addr.String(), res.IPs[0].Gateway
	ep.Prefix, _ = ipNet.Mask.Size()
	for _, i := range res.Interfaces {
		if i.Sandbox != "" {
			ep.MAC = i.Mac
		}
	}
	return ep, nil
}

// Detach undoes Attach (the plugins' DEL in reverse order); it is safe to call for an endpoint
// made only in part, and more than once.
func (d Driver) Detach(netns, containerID string, ep Endpoint) {
	d.hostNS(ep.Network, func() error { d.detach(netns, containerID, ep); return nil })
}

func (d Driver) detach(netns, containerID string, ep Endpoint) {
	r := Request{Network: ep.Network, ContainerID: containerID, IfName: ep.IfName, Ports: ep.Ports}
	if !SlowPath {
		if len(ep.Ports) > 0 && len(ep.Results) > 1 {
			cniExec("DEL", containerID, netns, ep.IfName, "", cniName(ep.Network), d.plugins(r)[1], ep.Results[len(ep.Results)-1])
		}
		d.detachBridge(netns, containerID, ep)
		return
	}
	plugins := d.plugins(r)
	var prev json.RawMessage
	if n := len(ep.Results); n > 0 {
		prev = ep.Results[n-1]
	}
	for i := len(plugins) - 1; i >= 0; i-- {
		start := time.Now()
		cniExec("DEL", r.ContainerID, netns, r.IfName, "", cniName(r.Network), plugins[i], prev)
		Trace("cni "+plugins[i]["type"].(string)+" del "+r.IfName, start)
	}
}

// cniExec runs one plugin for one command, the CNI way.
func cniExec(command, id, netns, ifname, ip, name string, conf map[string]any, prev json.RawMessage) (json.RawMessage, error) {
	full := map[string]any{"cniVersion": cniVersion, "name": name}
	for k, v := range conf {
		full[k] = v
	}
	if prev != nil {
		full["prevResult"] = prev
	}
	in, err := json.Marshal(full)
	if err != nil {
		return nil, err
	}
	typ := conf["type"].(string)
	var bin string
	for _, dir := range filepath.SplitList(CNIPath()) {
		if _, err := os.Stat(filepath.Join(dir, typ)); err == nil {
			bin = filepath.Join(dir, typ)
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("CNI plugin %s not found in %s (Debian: apt-get install containernetworking-plugins)", typ, CNIPath())
	}
	cmd := exec.Command(bin)
	// A plugin outliving a killed berth would add its rules after the sweep that cleans up the
	// killed run has looked (seen as a CNI-HOSTPORT-DNAT rule left behind): it dies with berth.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+id, "CNI_NETNS="+netns,
		"CNI_IFNAME="+ifname, "CNI_PATH="+CNIPath())
	if ip != "" {
		// host-local reads a fixed address from the arguments; the other plugins ignore them.
		cmd.Env = append(cmd.Env, "CNI_ARGS=IgnoreUnknown=1;IP="+ip)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var e struct {
			Msg     string `json:"msg"`
			Details string `json:"details"`
		}
		if json.Unmarshal(stdout.Bytes(), &e) == nil && e.Msg != "" {
			return nil, fmt.Errorf("bridge network (%s %s): %s %s", typ, strings.ToLower(command), e.Msg, e.Details)
		}
		return nil, fmt.Errorf("bridge network (%s %s): %v %s", typ, strings.ToLower(command), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// leaseDir is host-local's directory of a network's address leases.
func (d Driver) leaseDir(n Network) string {
	dir := "/var/lib/cni/networks"
	if !n.IsDefault() {
		dir = filepath.Join(d.Root, "network", "ipam")
	}
	return filepath.Join(dir, cniName(n))
}

// Release undoes an endpoint whose namespace is already gone, without running the plugins: the
// namespace took the container's end of the veth pair with it, and with it the bridge's end, so
// what is left of a bridge-only endpoint is its address lease, which is released here under
// host-local's own lock, in its file format (one file per address holding "ID\r\nIFNAME").
// Endpoints with published ports (portmap's rules) take the plugins' DEL. This spares two plugin
// processes on every container exit.
func (d Driver) Release(netns, containerID string, ep Endpoint) {
	if SlowPath || len(ep.Ports) > 0 || len(ep.Results) != 1 {
		d.Detach(netns, containerID, ep)
		return
	}
	start := time.Now()
	d.releaseLease(ep.Network, containerID, ep.IfName)
	Trace("lease release "+ep.IfName, start)
}
