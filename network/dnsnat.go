package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The DNAT that sends a container's queries to 127.0.0.11:53 on to its resolver's ports. It is
// made through nftables' netlink interface from the supervisor, in the container's namespace, in
// one batch: an iptables-restore process for two rules cost more than the rest of a networked
// start. Where nf_tables is missing, iptables-restore does it as before.

func be16(v int) []byte { b := make([]byte, 2); binary.BigEndian.PutUint16(b, uint16(v)); return b }

// dnatRule: ip daddr 127.0.0.11 <proto> dport 53 dnat to 127.0.0.11:port.
func dnatRule(t *nftables.Table, c *nftables.Chain, proto byte, port int) *nftables.Rule {
	return &nftables.Rule{Table: t, Chain: c, Exprs: []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net.ParseIP(EmbeddedDNS).To4()},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(53)},
		&expr.Immediate{Register: 1, Data: net.ParseIP(EmbeddedDNS).To4()},
		&expr.Immediate{Register: 2, Data: be16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}}
}

// addDNSNAT installs the DNAT in the namespace at nsPath.
func addDNSNAT(nsPath string, udpPort, tcpPort int) error {
	ns, err := os.Open(nsPath)
	if err != nil {
		return err
	}
	defer ns.Close()
	if err := nftDNSNAT(int(ns.Fd()), udpPort, tcpPort); err == nil {
		return nil
	}
	// No nf_tables: the iptables way, from a thread in the namespace.
	return InNetNS(nsPath, func() error {
		cmd := exec.Command("iptables-restore", "--noflush", "-w")
		cmd.Stdin = strings.NewReader(natRules(udpPort, tcpPort))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("embedded DNS: iptables-restore: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

func nftDNSNAT(nsFd, udpPort, tcpPort int) error {
	c, err := nftables.New(nftables.WithNetNSFd(nsFd))
	if err != nil {
		return err
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "berth_dns"})
	out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
	c.AddRule(dnatRule(t, out, unix.IPPROTO_UDP, udpPort))
	c.AddRule(dnatRule(t, out, unix.IPPROTO_TCP, tcpPort))
	return c.Flush()
}
