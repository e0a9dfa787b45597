package network

import (
	"encoding/binary"
	"net"
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
