package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Resolver serves the embedded DNS of one container. It runs in the container's supervisor (the
// shim of a detached container, berth itself for a foreground run), since berth has no daemon:
// its sockets are opened inside the container's network namespace on 127.0.0.11 at ports the
// kernel chooses, and NAT rules in that namespace send 127.0.0.11:53 there, as dockerd does, so
// the container keeps port 53 for itself. Forwarded queries leave from the supervisor's own
// (the host's) namespace, so the host's resolvers are reachable even on loopback.
type Resolver struct {
	udp       *net.UDPConn
	tcp       *net.TCPListener
	table     func() (Table, error)
	upstreams []string
	wg        sync.WaitGroup
}

// forwardTimeout bounds one upstream's answer.
const forwardTimeout = 3 * time.Second

// natRules are the DNAT as iptables rules, where nf_tables is missing (and its answers back from
// port 53).
func natRules(udpPort, tcpPort int) string {
	return fmt.Sprintf("*nat\n"+
		"-A OUTPUT -d %[1]s/32 -p udp -m udp --dport 53 -j DNAT --to-destination %[1]s:%[2]d\n"+
		"-A OUTPUT -d %[1]s/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination %[1]s:%[3]d\n"+
		"-A POSTROUTING -s %[1]s/32 -p udp -m udp --sport %[2]d -j SNAT --to-source :53\n"+
		"-A POSTROUTING -s %[1]s/32 -p tcp -m tcp --sport %[3]d -j SNAT --to-source :53\n"+
		"COMMIT\n", EmbeddedDNS, udpPort, tcpPort)
}

// StartResolver starts serving the embedded DNS in the namespace at nsPath. table is read for
// every query (membership changes as containers come and go); upstreams ("IP:53") get the rest.
func StartResolver(nsPath string, table func() (Table, error), upstreams []string) (*Resolver, error) {
	r := &Resolver{table: table, upstreams: upstreams}
	start := time.Now()
	err := InNetNS(nsPath, func() error {
		addr := &net.UDPAddr{IP: net.ParseIP(EmbeddedDNS)}
		u, err := net.ListenUDP("udp4", addr)
		if err != nil {
			return err
		}
		t, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: addr.IP})
		if err != nil {
			u.Close()
			return err
		}
		r.udp, r.tcp = u, t
		return nil
	})
	Trace("resolver sockets", start)
	if err == nil {
		start = time.Now()
		err = addDNSNAT(nsPath, r.udp.LocalAddr().(*net.UDPAddr).Port, r.tcp.Addr().(*net.TCPAddr).Port)
		Trace("resolver nat", start)
	}
	if err != nil {
		if r.udp != nil {
			r.udp.Close()
			r.tcp.Close()
		}
		return nil, err
	}
	r.wg.Add(2)
	go r.serveUDP()
	go r.serveTCP()
	return r, nil
}

// Close stops serving; queries under way are dropped.
func (r *Resolver) Close() {
	r.udp.Close()
	r.tcp.Close()
	r.wg.Wait()
}

// handle answers one query, or forwards it over the given network ("udp" or "tcp").
func (r *Resolver) handle(q []byte, proto string) []byte {
	t, err := r.table()
	if err != nil {
		t = Table{}
	}
	resp, forward, err := Answer(q, t)
	if err != nil && resp == nil {
		return nil
	}
	if !forward {
		return resp
	}
	for _, up := range r.upstreams {
		if resp, err := exchange(proto, up, q); err == nil {
			return resp
		}
	}
	return ServFail(q)
}

func (r *Resolver) serveUDP() {
	defer r.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := r.udp.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if resp := r.handle(q, "udp"); resp != nil {
				r.udp.WriteToUDP(resp, from)
			}
		}()
	}
}

func (r *Resolver) serveTCP() {
	defer r.wg.Done()
	for {
		c, err := r.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go func() {
			defer c.Close()
			for {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				q, err := readTCPMessage(c)
				if err != nil {
					return
				}
				resp := r.handle(q, "tcp")
				if resp == nil || writeTCPMessage(c, resp) != nil {
					return
				}
			}
		}()
	}
}

// readTCPMessage reads one length-prefixed DNS message (RFC 1035 4.2.2).
func readTCPMessage(r io.Reader) ([]byte, error) {
	var n uint16
	if err := binary.Read(r, binary.BigEndian, &n); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeTCPMessage(w io.Writer, msg []byte) error {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint16(len(msg)))
	b.Write(msg)
	_, err := w.Write(b.Bytes())
	return err
}

// exchange sends a query to one upstream resolver and returns its answer.
func exchange(proto, server string, q []byte) ([]byte, error) {
	c, err := net.DialTimeout(proto, server, forwardTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(forwardTimeout))
	if proto == "tcp" {
		if err := writeTCPMessage(c, q); err != nil {
			return nil, err
		}
		return readTCPMessage(c)
	}
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		// Only the answer to this query (same ID) counts.
		if n >= 2 && len(q) >= 2 && buf[0] == q[0] && buf[1] == q[1] {
			return buf[:n], nil
		}
	}
}
