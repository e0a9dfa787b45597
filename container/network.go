package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	rt "github.com/berth-engine/berth/runtime"
	"golang.org/x/sys/unix"
)

// The default ("bridge") network: a Linux bridge with NAT to the outside and published ports,
// made by the standard CNI plugins (Debian's containernetworking-plugins), which berth runs
// itself as the CNI protocol describes (a plugin binary per step, JSON on stdin and stdout).
const (
	bridgeName   = "berth0"
	bridgeSubnet = "10.89.0.0/16"
	cniVersion   = "1.0.0"
)

// cniPath is where the plugins are looked for (CNI_PATH); BERTH_CNI_PATH overrides it.
func cniPath() string {
	if p := os.Getenv("BERTH_CNI_PATH"); p != "" {
		return p
	}
	return "/usr/lib/cni:/opt/cni/bin"
}

// usesBridge reports whether a network mode means the default bridge.
func usesBridge(mode string) bool { return mode == "default" || mode == "bridge" || mode == "" }

// portMapping is one published port as the portmap plugin takes it.
type portMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// ParsePublish reads -p values ("[ip:][hostPort:]containerPort[/proto]", ranges not supported)
// into Docker's PortBindings.
func ParsePublish(specs []string) (map[string][]PortBinding, error) {
	out := map[string][]PortBinding{}
	for _, s := range specs {
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
		if n, err := strconv.Atoi(ctr); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("invalid containerPort: %s", ctr)
		}
		if host != "" {
			// 0 is Docker's "any free port", picked when the container starts (as with no host port).
			if n, err := strconv.Atoi(host); err != nil || n < 0 || n > 65535 {
				return nil, fmt.Errorf("invalid hostPort: %s", host)
			}
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, fmt.Errorf("invalid proto: %s", proto)
		}
		key := ctr + "/" + proto
		out[key] = append(out[key], PortBinding{HostIP: ip, HostPort: host})
	}
	return out, nil
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
func resolvePorts(c *Container) (map[string][]PortBinding, []portMapping, error) {
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
	var maps []portMapping
	for _, k := range keys {
		port, proto, _ := strings.Cut(k, "/")
		cp, _ := strconv.Atoi(port)
		for i, b := range bindings[k] {
			if b.HostPort == "" || b.HostPort == "0" {
				hp, err := freePort(proto, b.HostIP)
				if err != nil {
					return nil, nil, err
				}
				b.HostPort = strconv.Itoa(hp)
				bindings[k][i] = b
			}
			if b.HostIP == "" {
				bindings[k][i].HostIP = "0.0.0.0"
			}
			hp, _ := strconv.Atoi(b.HostPort)
			maps = append(maps, portMapping{HostPort: hp, ContainerPort: cp, Protocol: proto, HostIP: b.HostIP})
		}
	}
	return bindings, maps, nil
}

// networkState is what setupNetwork made, kept in the container's directory for teardown and
// inspect.
type networkState struct {
	NetNS    string
	None     bool   // --network none by an older berth: only the namespace, no plugins
	IP       string // 10.89.0.2
	Prefix   int
	Gateway  string
	MAC      string
	Ports    map[string][]PortBinding
	Mappings []portMapping
	Results  []json.RawMessage // each plugin's result, for DEL
}

func (m *Manager) netStatePath(id string) string { return filepath.Join(m.dir(id), "network.json") }

// NetworkState returns what the container's network looks like while it runs (nil otherwise).
func (m *Manager) networkState(id string) *networkState {
	b, err := os.ReadFile(m.netStatePath(id))
	if err != nil {
		return nil
	}
	var ns networkState
	if json.Unmarshal(b, &ns) != nil {
		return nil
	}
	return &ns
}

// setupNetwork returns what the spec's network namespace should be (rt.NetworkNone,
// rt.NetworkHost or a namespace path) and the container's IP address ("" for none).
func (m *Manager) setupNetwork(c *Container) (netns, ip string, err error) {
	switch {
	case c.Host.NetworkMode == rt.NetworkHost:
		return rt.NetworkHost, "", nil
	case c.Host.NetworkMode == rt.NetworkNone:
		// The runtime makes the empty namespace and brings its loopback up (runc and crun both
		// do for a new network namespace), as Docker's is: nothing for us to create or undo.
		m.cleanupNetwork(c) // a namespace that an older berth made for this container
		return rt.NetworkNone, "", nil
	case !usesBridge(c.Host.NetworkMode):
		return "", "", fmt.Errorf("network %s not found", c.Host.NetworkMode)
	}
	m.cleanupNetwork(c)
	if err := m.ensureHostRules(); err != nil {
		return "", "", err
	}
	ports, maps, err := resolvePorts(c)
	if err != nil {
		return "", "", err
	}
	nsPath := filepath.Join(m.Images.Root, "netns", c.ID)
	if err := newNetNS(nsPath); err != nil {
		return "", "", fmt.Errorf("creating the network namespace: %w", err)
	}
	st := &networkState{NetNS: nsPath, Ports: ports, Mappings: maps}
	save := func() error {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return os.WriteFile(m.netStatePath(c.ID), b, 0o600)
	}
	if err := save(); err != nil {
		removeNetNS(nsPath)
		return "", "", err
	}
	var prev json.RawMessage
	for _, p := range m.cniPlugins(c, maps) {
		res, err := cniExec("ADD", c.ID, nsPath, p, prev)
		if err != nil {
			m.cleanupNetwork(c)
			return "", "", err
		}
		st.Results = append(st.Results, res)
		prev = res
		if err := save(); err != nil {
			m.cleanupNetwork(c)
			return "", "", err
		}
	}
	var r struct {
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
	if err := json.Unmarshal(prev, &r); err != nil || len(r.IPs) == 0 {
		m.cleanupNetwork(c)
		return "", "", fmt.Errorf("bridge network: no address in the CNI result: %s", prev)
	}
	ipAddr, ipNet, err := net.ParseCIDR(r.IPs[0].Address)
	if err != nil {
		m.cleanupNetwork(c)
		return "", "", err
	}
	st.IP, st.Gateway = ipAddr.String(), r.IPs[0].Gateway
	st.Prefix, _ = ipNet.Mask.Size()
	for _, i := range r.Interfaces {
		if i.Sandbox != "" {
			st.MAC = i.Mac
		}
	}
	if err := save(); err != nil {
		m.cleanupNetwork(c)
		return "", "", err
	}
	return nsPath, st.IP, nil
}

// cniPlugins are the configurations of the bridge network's plugins, in order.
func (m *Manager) cniPlugins(c *Container, maps []portMapping) []map[string]any {
	// NAT and forwarding are host-wide rules set once (ensureHostRules), as Docker does for
	// docker0, so a container's start and end run no iptables at all.
	bridge := map[string]any{
		"type": "bridge", "bridge": bridgeName, "isGateway": true, "ipMasq": false, "hairpinMode": true,
		// The bridge is the host's, whatever --root: so are its address leases (host-local's
		// default /var/lib/cni/networks/berth, locked across processes).
		"ipam": map[string]any{
			"type":   "host-local",
			"ranges": [][]map[string]string{{{"subnet": bridgeSubnet}}},
			"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
		},
	}
	// (The loopback interface is brought up by newNetNS.)
	plugins := []map[string]any{bridge}
	if len(maps) > 0 {
		plugins = append(plugins, map[string]any{
			"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true},
			"runtimeConfig": map[string]any{"portMappings": maps},
		})
	}
	return plugins
}

// cniExec runs one plugin for one command, the CNI way.
func cniExec(command, id, netns string, conf map[string]any, prev json.RawMessage) (json.RawMessage, error) {
	full := map[string]any{"cniVersion": cniVersion, "name": "berth"}
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
	for _, dir := range filepath.SplitList(cniPath()) {
		if _, err := os.Stat(filepath.Join(dir, typ)); err == nil {
			bin = filepath.Join(dir, typ)
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("CNI plugin %s not found in %s (Debian: apt-get install containernetworking-plugins)", typ, cniPath())
	}
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+id, "CNI_NETNS="+netns,
		"CNI_IFNAME=eth0", "CNI_PATH="+cniPath())
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

// cleanupNetwork undoes setupNetwork (plugins' DEL in reverse, the namespace); it is safe to call
// any number of times.
func (m *Manager) cleanupNetwork(c *Container) {
	if st := m.networkState(c.ID); st != nil {
		m.undoNetwork(c, st)
	}
}

// undoNetwork runs the plugins' DEL for a network state read before.
func (m *Manager) undoNetwork(c *Container, st *networkState) {
	plugins := m.cniPlugins(c, st.Mappings)
	if st.None {
		plugins = nil
	}
	for i := len(plugins) - 1; i >= 0; i-- {
		var prev json.RawMessage
		if n := len(st.Results); n > 0 {
			prev = st.Results[n-1]
		}
		cniExec("DEL", c.ID, st.NetNS, plugins[i], prev)
	}
	removeNetNS(st.NetNS)
	os.Remove(m.netStatePath(c.ID))
}

// newNetNS makes a network namespace that outlives this process, bind-mounted at path (as
// `ip netns add` does). A locked thread unshares it and then dies with its goroutine, so no
// other goroutine ever runs in it. That thread is never the process's main thread, which Go
// does not let die (it would stay wedged in the namespace) and whose namespace is the one
// /proc/self/ns/net shows.
func newNetNS(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	var unshare func()
	unshare = func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if unix.Gettid() == unix.Getpid() {
			// Holding the main thread, the goroutine started here runs on another.
			done := make(chan struct{})
			go func() { unshare(); close(done) }()
			<-done
			runtime.UnlockOSThread()
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		if err := loopbackUp(); err != nil {
			errc <- err
			return
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		errc <- unix.Mount(self, path, "none", unix.MS_BIND, "")
	}
	go unshare()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func removeNetNS(path string) {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return
	}
	os.Remove(path)
}

// PortsString is `ps`'s PORTS column: published ports of a running container as
// "127.0.0.1:8080->80/tcp", exposed ones as "80/tcp".
func (m *Manager) PortsString(id string, exposed map[string]struct{}, running bool) string {
	var published map[string][]PortBinding
	if running {
		if st := m.networkState(id); st != nil {
			published = st.Ports
		}
	}
	var out []string
	for p := range exposed {
		if len(published[p]) == 0 {
			out = append(out, p)
		}
	}
	for p, bs := range published {
		for _, b := range bs {
			out = append(out, b.HostIP+":"+b.HostPort+"->"+p)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// hostRules are the bridge network's host-wide iptables rules: masquerade what leaves the subnet
// for elsewhere, and let the bridge's traffic through a FORWARD chain whose policy may be DROP.
var hostRules = [][]string{
	{"-t", "nat", "POSTROUTING", "-s", bridgeSubnet, "!", "-o", bridgeName, "-j", "MASQUERADE"},
	{"-t", "filter", "FORWARD", "-o", bridgeName, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
	{"-t", "filter", "FORWARD", "-i", bridgeName, "-j", "ACCEPT"},
}

// ensureHostRules installs hostRules once per boot: a marker file holding the boot ID says they
// are in place, so containers after the first run no iptables.
func (m *Manager) ensureHostRules() error {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	marker := filepath.Join(m.Images.Root, "network", "host-rules")
	if b, err := os.ReadFile(marker); err == nil && len(boot) > 0 && bytes.Equal(b, boot) {
		return nil
	}
	for _, r := range hostRules {
		table, chain, rule := r[:2], r[2], r[3:]
		check := append(append(append([]string{}, table...), "-C", chain), rule...)
		if exec.Command("iptables", check...).Run() == nil {
			continue
		}
		op := "-A"
		if chain == "FORWARD" {
			op = "-I" // ahead of rules that would drop it (Docker's isolation chains)
		}
		add := append(append(append([]string{}, table...), op, chain), rule...)
		if out, err := exec.Command("iptables", add...).CombinedOutput(); err != nil {
			return fmt.Errorf("bridge network: iptables %s: %v: %s", strings.Join(add, " "), err, strings.TrimSpace(string(out)))
		}
	}
	// Forwarding must be on for NAT to the outside; the bridge plugin turns it on with
	// isGateway, but only when it creates the bridge.
	os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
		return err
	}
	return os.WriteFile(marker, boot, 0o600)
}

// RemoveHostRules undoes ensureHostRules (for tests and uninstalling).
func (m *Manager) RemoveHostRules() {
	for _, r := range hostRules {
		del := append(append(append([]string{}, r[:2]...), "-D", r[2]), r[3:]...)
		exec.Command("iptables", del...).Run()
	}
	os.Remove(filepath.Join(m.Images.Root, "network", "host-rules"))
}

// loopbackUp brings up "lo" in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
