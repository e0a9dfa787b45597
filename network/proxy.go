package network

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Proxy is the userland proxy of a container's ports published on the host's IPv6 addresses.
// Docker 20.10 publishes a port given without a host address on 0.0.0.0 and on [::] (where the
// host has IPv6), and reaches the container's IPv4 address from [::] through docker-proxy: no
// IPv6 NAT (ip6tables is off by default). berth's IPv4 bindings are DNAT rules (portmap); the
// [::] ones are this proxy, run by the container's supervisor for as long as it runs, as the
// resolver is.
type Proxy struct {
	closers []io.Closer
	wg      sync.WaitGroup
}

// ProxyPort is one [::] binding: the host port and the container's port it reaches.
type ProxyPort struct {
	Proto         string // tcp or udp
	HostIP        string // "::" (or another IPv6 address)
	HostPort      int
	ContainerPort int
}

// udpIdle is how long a UDP client's flow is kept without traffic (docker-proxy's 90 s).
const udpIdle = 90 * time.Second

// StartProxy listens on every port and forwards to the container's address, which target
// returns at each new connection ("" when the container has none now).
func StartProxy(ports []ProxyPort, target func() string) (*Proxy, error) {
	p := &Proxy{}
	for _, pp := range ports {
		addr := net.JoinHostPort(pp.HostIP, strconv.Itoa(pp.HostPort))
		switch pp.Proto {
		case "tcp":
			l, err := net.Listen("tcp6", addr)
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("Error starting userland proxy: %w", err)
			}
			p.closers = append(p.closers, l)
			p.wg.Add(1)
			go p.serveTCP(l, pp.ContainerPort, target)
		case "udp":
			c, err := net.ListenPacket("udp6", addr)
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("Error starting userland proxy: %w", err)
			}
			p.closers = append(p.closers, c)
			p.wg.Add(1)
			go p.serveUDP(c, pp.ContainerPort, target)
		}
	}
	return p, nil
}

func (p *Proxy) serveTCP(l net.Listener, port int, target func() string) {
	defer p.wg.Done()
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			ip := target()
			if ip == "" {
				return
			}
			out, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), 10*time.Second)
			if err != nil {
				return
			}
			defer out.Close()
			done := make(chan struct{})
			go func() {
				io.Copy(out, in)
				if c, ok := out.(*net.TCPConn); ok {
					c.CloseWrite()
				}
				close(done)
			}()
			io.Copy(in, out)
			if c, ok := in.(*net.TCPConn); ok {
				c.CloseWrite()
			}
			<-done
		}()
	}
}

// serveUDP relays datagrams: one socket to the container per client address, whose answers go
// back to that client, closed after udpIdle without traffic.
func (p *Proxy) serveUDP(c net.PacketConn, port int, target func() string) {
	defer p.wg.Done()
	var mu sync.Mutex
	flows := map[string]net.Conn{}
	defer func() {
		mu.Lock()
		for _, f := range flows {
			f.Close()
		}
		mu.Unlock()
	}()
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		mu.Lock()
		f := flows[from.String()]
		if f == nil {
			ip := target()
			if ip == "" {
				mu.Unlock()
				continue
			}
			if f, err = net.Dial("udp", net.JoinHostPort(ip, strconv.Itoa(port))); err != nil {
				mu.Unlock()
				continue
			}
			flows[from.String()] = f
			go func(f net.Conn, from net.Addr) {
				b := make([]byte, 65535)
				for {
					f.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := f.Read(b)
					if err != nil {
						break
					}
					c.WriteTo(b[:n], from)
				}
				mu.Lock()
				delete(flows, from.String())
				mu.Unlock()
				f.Close()
			}(f, from)
		}
		mu.Unlock()
		f.Write(buf[:n])
	}
}

// Close stops listening and waits for the listeners to end (open TCP connections end with the
// container's address going away).
func (p *Proxy) Close() {
	if p == nil {
		return
	}
	for _, c := range p.closers {
		c.Close()
	}
	p.wg.Wait()
}

// HostHasIPv6 reports whether the host can listen on IPv6 (Docker then publishes a port given
// without an address on [::] too).
var HostHasIPv6 = sync.OnceValue(func() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
})

// PortHold keeps the host ports of a container's DNAT bindings (the IPv4 ones) bound for as
// long as the container's supervisor runs, as docker-proxy holds them in Docker. A DNAT rule
// alone does not keep the kernel from giving the port to another program (a bind to port 0):
// that program's connections, on 127.0.0.1 too, would then go to the container instead. The
// sockets are bound and never listen: DNAT takes the port's traffic before it could reach them,
// and a connection the rules do not catch is refused, not left waiting in a backlog.
type PortHold struct{ fds []int }

// HoldPorts binds every mapping's host address and port (0.0.0.0 for none). A port another
// program took since it was checked is an error, as docker-proxy's failure to listen.
func HoldPorts(maps []PortMapping) (*PortHold, error) {
	h := &PortHold{}
	for _, m := range maps {
		ip := net.ParseIP(m.HostIP)
		if m.HostIP == "" {
			ip = net.IPv4zero
		}
		ip4 := ip.To4()
		if ip4 == nil {
			continue // IPv6 addresses are the userland proxy's, which listens itself
		}
		typ := unix.SOCK_STREAM
		if m.Protocol == "udp" {
			typ = unix.SOCK_DGRAM
		} else if m.Protocol != "tcp" {
			continue // sctp: nothing berth publishes binds it
		}
		fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			h.Close()
			return nil, err
		}
		sa := &unix.SockaddrInet4{Port: m.HostPort}
		copy(sa.Addr[:], ip4)
		if err := unix.Bind(fd, sa); err != nil {
			unix.Close(fd)
			h.Close()
			return nil, fmt.Errorf("Error starting userland proxy: listen %s %s: bind: %w", m.Protocol,
				net.JoinHostPort(ip4.String(), strconv.Itoa(m.HostPort)), err)
		}
		h.fds = append(h.fds, fd)
	}
	return h, nil
}

// Close lets the ports go.
func (h *PortHold) Close() {
	if h == nil {
		return
	}
	for _, fd := range h.fds {
		unix.Close(fd)
	}
	h.fds = nil
}
