package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The bridge endpoint made in-process, through netlink, as the bridge and host-local plugins make
// it: the same veth pair (host end on the bridge, hairpin on), the same address leases (host-local's
// directory and file format, under its lock, so plugin-made and in-process endpoints share one
// address space), the same routes. It spares the two plugin processes that were most of a
// networked start's cost. The plugins still do what is rarer: published ports (portmap, chained on
// the result made here) and taking an endpoint out of a running container (disconnect).

// leaseRange is where a network's addresses come from.
type leaseRange struct {
	subnet     *net.IPNet
	start, end uint32
	gateway    net.IP
}

func rangeOf(n Network) (leaseRange, error) {
	sn := n.Subnet()
	if sn == nil {
		_, sn, _ = net.ParseCIDR(DefaultSubnet)
	}
	r := leaseRange{subnet: sn, start: ip4(sn.IP) + 1, end: lastAddr(sn) - 1, gateway: net.ParseIP(n.Gateway()).To4()}
	if r.gateway == nil {
		r.gateway = net.ParseIP(gatewayOf(sn.String())).To4()
	}
	for _, c := range n.IPAM {
		if c.Subnet == sn.String() && c.IPRange != "" {
			if s, e, ok := rangeBounds(sn, c.IPRange); ok {
				r.start, r.end = ip4(net.ParseIP(s)), ip4(net.ParseIP(e))
			}
		}
	}
	return r, nil
}

// allocate reserves an address for a container's interface in the lease directory: want if given
// (and free), else the next free one after the last reserved, as host-local does.
func allocate(dir string, r leaseRange, id, ifname, want string) (net.IP, error) {
	lock, err := lockLeases(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	reserve := func(ip net.IP) (bool, error) {
		ok, err := reserveLease(dir, ip.String(), id, ifname)
		if ok {
			os.WriteFile(filepath.Join(dir, "last_reserved_ip.0"), []byte(ip.String()), 0o644)
		}
		return ok, err
	}
	if want != "" {
		ip := net.ParseIP(want).To4()
		if ip == nil || !r.subnet.Contains(ip) || ip.Equal(r.gateway) {
			return nil, fmt.Errorf("requested IP address %s is not available in range set %s", want, r.subnet)
		}
		ok, err := reserve(ip)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("requested IP address %s is not available in range set %s", want, r.subnet)
		}
		return ip, nil
	}
	next := r.start
	if b, err := os.ReadFile(filepath.Join(dir, "last_reserved_ip.0")); err == nil {
		if last := net.ParseIP(strings.TrimSpace(string(b))).To4(); last != nil && ip4(last) >= r.start && ip4(last) < r.end {
			next = ip4(last) + 1
		}
	}
	size := r.end - r.start + 1
	for i := uint32(0); i < size; i++ {
		a := r.start + (next-r.start+i)%size
		ip := u32ToIP(a)
		if ip.Equal(r.gateway) {
			continue
		}
		ok, err := reserve(ip)
		if err != nil {
			return nil, err
		}
		if ok {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("no IP addresses available in range set: %s-%s", u32ToIP(r.start), u32ToIP(r.end))
}

// lockLeases takes the lock of a lease directory (made when missing), which IPv4 and IPv6
// allocations share; closing the file releases it.
func lockLeases(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		return nil, err
	}
	return lock, nil
}

// reserveLease records addr as the lease of container id's interface ifname, in the CNI
// host-local plugin's format; false when the address is already leased.
func reserveLease(dir, addr, id, ifname string) (bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, addr), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, err = f.WriteString(id + "\r\n" + ifname)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return false, err
	}
	return true, nil
}

// DockerMAC is the MAC address Docker gives an interface: 02:42 and the IPv4 address.
func DockerMAC(ip net.IP) net.HardwareAddr {
	ip4 := ip.To4()
	return net.HardwareAddr{0x02, 0x42, ip4[0], ip4[1], ip4[2], ip4[3]}
}

// ensureDefaultBridge makes the default bridge with its gateway address when it is missing (the
// first container since boot).
func ensureDefaultBridge(root string, n Network, r leaseRange) (netlink.Link, error) {
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		return l, nil
	}
	unlock, err := hostLock(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		return l, nil
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("creating bridge %s: %w", n.Bridge, err)
	}
	l, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return nil, err
	}
	ones, _ := r.subnet.Mask.Size()
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: r.gateway, Mask: net.CIDRMask(ones, 32)}}
	if err := netlink.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	return l, netlink.LinkSetUp(l)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// attachBridge makes a bridge endpoint in-process and returns it with a CNI result like the
// bridge plugin's (for portmap to chain on).
func (d Driver) attachBridge(nsPath string, r Request) (Endpoint, error) {
	n := r.Network
	rng, err := rangeOf(n)
	if err != nil {
		return Endpoint{}, err
	}
	var br netlink.Link
	if n.IsDefault() {
		br, err = ensureDefaultBridge(d.Root, n, rng)
	} else {
		br, err = netlink.LinkByName(n.Bridge)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Bridge, err)
	}
	dir := d.leaseDir(n)
	start := time.Now()
	ip, err := allocate(dir, rng, r.ContainerID, r.IfName, r.IP)
	Trace("ipam "+r.IfName, start)
	if err != nil {
		return Endpoint{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	mac := DockerMAC(ip)
	if r.MAC != "" {
		if mac, err = net.ParseMAC(r.MAC); err != nil {
			d.releaseLease(n, r.ContainerID, r.IfName)
			return Endpoint{}, err
		}
	}
	ep := Endpoint{Network: n, IfName: r.IfName, Ports: r.Ports, IP: ip.String(), Gateway: rng.gateway.String(), MAC: mac.String(),
		LinkLocalIPs: r.LinkLocalIPs}
	ep.Prefix, _ = rng.subnet.Mask.Size()
	release := func() { d.releaseLease(n, r.ContainerID, r.IfName) }
	var ip6 net.IP
	sn6 := n.Subnet6()
	if n.IPv6() {
		if ip6, err = allocate6(dir, n, r.ContainerID, r.IfName, r.IP6); err != nil {
			release()
			return Endpoint{}, fmt.Errorf("network %s: %w", n.Name, err)
		}
		ep.IP6, ep.Gateway6 = ip6.String(), n.Gateway6()
		ep.Prefix6, _ = sn6.Mask.Size()
	}
	var linkLocal []*net.IPNet
	for _, a := range r.LinkLocalIPs {
		ll := net.ParseIP(a)
		if ll == nil {
			release()
			return Endpoint{}, fmt.Errorf("invalid link-local IP address: %s", a)
		}
		bits := 128
		if ll.To4() != nil {
			ll, bits = ll.To4(), 32
		}
		// Docker adds them with the link-local prefixes' lengths (169.254.0.0/16, fe80::/64).
		ones := 16
		if bits == 128 {
			ones = 64
		}
		linkLocal = append(linkLocal, &net.IPNet{IP: ll, Mask: net.CIDRMask(ones, bits)})
	}
	start = time.Now()
	ns, err := os.Open(nsPath)
	if err != nil {
		release()
		return Endpoint{}, err
	}
	defer ns.Close()
	hostName, peerName := "veth"+randomHex(4), "tmp"+randomHex(4)
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostName, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:      peerName,
		PeerNamespace: netlink.NsFd(int(ns.Fd())),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		release()
		return Endpoint{}, fmt.Errorf("network %s: creating a veth pair: %w", n.Name, err)
	}
	fail := func(err error) (Endpoint, error) {
		if l, lerr := netlink.LinkByName(hostName); lerr == nil {
			netlink.LinkDel(l)
		}
		release()
		return Endpoint{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return fail(err)
	}
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fail(err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fail(err)
	}
	err = InNetNS(nsPath, func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		peer, err := h.LinkByName(peerName)
		if err != nil {
			return err
		}
		if err := h.LinkSetName(peer, r.IfName); err != nil {
			return err
		}
		if err := h.LinkSetHardwareAddr(peer, mac); err != nil {
			return err
		}
		if err := h.AddrAdd(peer, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: rng.subnet.Mask}}); err != nil {
			return err
		}
		if ip6 != nil {
			// No duplicate address detection: the address is the network's lease, and DAD would
			// leave it tentative (unusable) for the container's first second.
			if err := h.AddrAdd(peer, &netlink.Addr{IPNet: &net.IPNet{IP: ip6, Mask: sn6.Mask}, Flags: unix.IFA_F_NODAD}); err != nil {
				return fmt.Errorf("adding %s: %w", ip6, err)
			}
		}
		for _, ll := range linkLocal {
			// Docker 20.10 adds them as it adds the main address (scope global, with broadcast).
			if err := h.AddrAdd(peer, &netlink.Addr{IPNet: ll, Flags: unix.IFA_F_NODAD}); err != nil {
				return fmt.Errorf("adding %s: %w", ll.IP, err)
			}
		}
		if err := h.LinkSetUp(peer); err != nil {
			return err
		}
		if r.DefaultRoute && !n.Internal {
			if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: rng.gateway}); err != nil {
				return err
			}
			if ip6 != nil {
				return h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: net.ParseIP(ep.Gateway6)})
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	Trace("veth "+r.IfName, start)
	res, _ := json.Marshal(map[string]any{
		"cniVersion": cniVersion,
		"interfaces": []map[string]string{{"name": n.Bridge}, {"name": hostName}, {"name": r.IfName, "mac": ep.MAC, "sandbox": nsPath}},
		"ips":        []map[string]any{{"address": fmt.Sprintf("%s/%d", ip, ep.Prefix), "gateway": ep.Gateway, "interface": 2}},
	})
	ep.Results = []json.RawMessage{res}
	return ep, nil
}

// allocate6 reserves an IPv6 address of the network's IPv6 range for a container's interface:
// want if given (and free), else the first free one after the gateway, as Docker's IPAM gives
// them out. Leases share the IPv4 ones' directory, lock and format, so releasing an interface
// releases both.
func allocate6(dir string, n Network, id, ifname, want string) (net.IP, error) {
	c := n.ipam6()
	pfx, err := netip.ParsePrefix(c.Subnet)
	if err != nil {
		return nil, err
	}
	pool := pfx.Masked()
	if c.IPRange != "" {
		if r, err := netip.ParsePrefix(c.IPRange); err == nil {
			pool = r.Masked()
		}
	}
	gw, _ := netip.ParseAddr(n.Gateway6())
	lock, err := lockLeases(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	reserve := func(a netip.Addr) (bool, error) { return reserveLease(dir, a.String(), id, ifname) }
	if want != "" {
		a, err := netip.ParseAddr(want)
		if err != nil || !pfx.Contains(a) || a == gw {
			return nil, fmt.Errorf("requested IP address %s is not available in range set %s", want, pfx)
		}
		ok, err := reserve(a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("requested IP address %s is not available in range set %s", want, pfx)
		}
		return net.IP(a.AsSlice()), nil
	}
	// A /64 has more addresses than anyone leases: the search stops after a generous number.
	a := pool.Addr().Next()
	for i := 0; i < 1<<16 && pool.Contains(a); i, a = i+1, a.Next() {
		if a == gw {
			continue
		}
		ok, err := reserve(a)
		if err != nil {
			return nil, err
		}
		if ok {
			return net.IP(a.AsSlice()), nil
		}
	}
	return nil, fmt.Errorf("no IPv6 addresses available in range set %s", pool)
}

// releaseLease removes a container interface's lease from a network's lease directory.
func (d Driver) releaseLease(n Network, containerID, ifname string) {
	lockAndRelease(d.leaseDir(n), containerID, ifname)
}

// lockAndRelease removes the leases of a container's interface from a lease directory, under its
// lock.
func lockAndRelease(dir, containerID, ifname string) {
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return
	}
	defer lock.Close()
	unix.Flock(int(lock.Fd()), unix.LOCK_EX)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	want, old := containerID+"\r\n"+ifname, containerID
	for _, e := range entries {
		if e.IsDir() || net.ParseIP(e.Name()) == nil {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if s := strings.TrimSpace(string(b)); s == want || s == old {
			os.Remove(p)
		}
	}
}

// detachBridge takes a bridge endpoint out of a namespace that stays (disconnect): its interface
// (the veth pair goes with it) and its lease.
func (d Driver) detachBridge(nsPath, containerID string, ep Endpoint) {
	if _, err := os.Stat(nsPath); err == nil {
		InNetNS(nsPath, func() error {
			h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
			if err != nil {
				return err
			}
			defer h.Close()
			l, err := h.LinkByName(ep.IfName)
			if err != nil {
				return err
			}
			return h.LinkDel(l)
		})
	}
	d.releaseLease(ep.Network, containerID, ep.IfName)
}
