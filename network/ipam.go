package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

func ip4(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func u32ToIP(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}

// lastAddr is a subnet's last (broadcast) address.
func lastAddr(n *net.IPNet) uint32 {
	ones, bits := n.Mask.Size()
	return ip4(n.IP) | (1<<(bits-ones) - 1)
}

// Pool is one range networks get their subnets from: dockerd's default-address-pools entry
// ({"base": "172.80.0.0/16", "size": 24} gives 172.80.0.0/24, 172.80.1.0/24…).
type Pool struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

// DefaultPools are dockerd's defaults: 172.17.0.0/16 to 172.31.0.0/16, then /20s of
// 192.168.0.0/16.
var DefaultPools = []Pool{
	{Base: "172.17.0.0/16", Size: 16}, {Base: "172.18.0.0/15", Size: 16}, {Base: "172.20.0.0/14", Size: 16},
	{Base: "172.24.0.0/13", Size: 16}, {Base: "192.168.0.0/16", Size: 20},
}

// ErrNoIPv6Pool is Docker 20.10's refusal of --ipv6 without an IPv6 subnet (it has no default
// IPv6 pool).
var ErrNoIPv6Pool = errors.New("could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network")

// SplitIPAM sorts a network's address ranges as given (the CLI's --subnet/--gateway/--ip-range
// lists, the API's IPAM.Config) into its IPv4 and IPv6 ones: a bridge network has at most one
// of each.
func SplitIPAM(cs []IPAMConfig) (v4, v6 IPAMConfig, err error) {
	var n4, n6 int
	for _, c := range cs {
		_, sn, perr := net.ParseCIDR(c.Subnet)
		switch {
		case perr != nil || sn.IP.To4() != nil:
			// Not a subnet at all is IPAMCheck's to refuse, with Docker's wording.
			v4 = c
			n4++
		default:
			v6 = c
			n6++
		}
	}
	if n4 > 1 {
		return v4, v6, errors.New("bridge driver doesn't support multiple subnets")
	}
	if n6 > 1 {
		return v4, v6, errors.New("berth's bridge networks take one IPv6 subnet")
	}
	return v4, v6, nil
}

// ErrPoolsExhausted is Docker's wording for a pool with no free subnet left.
var ErrPoolsExhausted = errors.New("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")

// ValidatePools checks pools as read from the config file.
func ValidatePools(pools []Pool) error {
	for _, p := range pools {
		_, base, err := net.ParseCIDR(p.Base)
		if err != nil || base.IP.To4() == nil {
			return fmt.Errorf("default-address-pools: invalid base %q", p.Base)
		}
		ones, _ := base.Mask.Size()
		if p.Size < ones || p.Size > 30 {
			return fmt.Errorf("default-address-pools: size %d does not fit base %s", p.Size, p.Base)
		}
	}
	return nil
}

// ChooseSubnet returns the first subnet of the pools that overlaps none of taken (the host's
// routes and the other networks' subnets).
func ChooseSubnet(pools []Pool, taken []*net.IPNet) (*net.IPNet, error) {
	for _, p := range pools {
		_, base, err := net.ParseCIDR(p.Base)
		if err != nil || base.IP.To4() == nil {
			continue
		}
		ones, _ := base.Mask.Size()
		if p.Size < ones || p.Size > 30 {
			continue
		}
		step := uint64(1) << (32 - p.Size)
		first, last := uint64(ip4(base.IP)), uint64(lastAddr(base))
		for a := first; a <= last; a += step {
			cand := &net.IPNet{IP: u32ToIP(uint32(a)), Mask: net.CIDRMask(p.Size, 32)}
			if !overlapsAny(cand, taken) {
				return cand, nil
			}
		}
	}
	return nil, ErrPoolsExhausted
}

// Overlaps reports whether two subnets share an address.
func Overlaps(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

func overlapsAny(n *net.IPNet, taken []*net.IPNet) bool {
	for _, t := range taken {
		if Overlaps(n, t) {
			return true
		}
	}
	return false
}

// parseRoutes reads /proc/net/route's destinations (the default route left out).
func parseRoutes(data string) []*net.IPNet {
	var out []*net.IPNet
	for i, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		// The kernel prints them in host (little-endian) byte order.
		d := make(net.IP, 4)
		binary.LittleEndian.PutUint32(d, uint32(dst))
		m := make(net.IPMask, 4)
		binary.LittleEndian.PutUint32(m, uint32(mask))
		out = append(out, &net.IPNet{IP: d, Mask: m})
	}
	return out
}

// HostRoutes are the IPv4 destinations routed on this host now.
func HostRoutes() []*net.IPNet {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil
	}
	return parseRoutes(string(b))
}

// IPAMCheck validates a network's address options as Docker does (its CLI's wording first).
func IPAMCheck(c IPAMConfig) (IPAMConfig, error) {
	if c.Subnet == "" {
		if c.Gateway != "" || c.IPRange != "" || len(c.AuxiliaryAddresses) > 0 {
			return c, errors.New("every ip-range or gateway must have a corresponding subnet")
		}
		return c, nil
	}
	_, sn, err := net.ParseCIDR(c.Subnet)
	if err != nil {
		return c, fmt.Errorf("Invalid subnet %s : invalid CIDR address: %s", c.Subnet, c.Subnet)
	}
	v4 := sn.IP.To4() != nil
	if c.IPRange != "" {
		_, rn, err := net.ParseCIDR(c.IPRange)
		if err != nil {
			return c, fmt.Errorf("invalid CIDR address: %s", c.IPRange)
		}
		ro, _ := rn.Mask.Size()
		so, _ := sn.Mask.Size()
		if !sn.Contains(rn.IP) || ro < so {
			return c, fmt.Errorf("no matching subnet for range %s", c.IPRange)
		}
		c.IPRange = rn.String()
	}
	if c.Gateway != "" {
		gw := net.ParseIP(c.Gateway)
		if gw == nil || (gw.To4() != nil) != v4 {
			return c, fmt.Errorf("invalid gateway address %s", c.Gateway)
		}
		if !sn.Contains(gw) {
			return c, fmt.Errorf("no matching subnet for gateway %s", c.Gateway)
		}
	}
	for _, a := range c.AuxiliaryAddresses {
		ip := net.ParseIP(a)
		if ip == nil || (ip.To4() != nil) != v4 {
			return c, fmt.Errorf("invalid auxiliary address %s", a)
		}
		if !sn.Contains(ip) {
			return c, fmt.Errorf("no matching subnet for aux-address %s", a)
		}
	}
	c.Subnet = sn.String()
	return c, nil
}
