package ui

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
)

// DefaultAddr is where `berth ui` listens without --addr.
const DefaultAddr = "127.0.0.1:9100"

// Listener is the UI's socket and the Host names that reach it.
type Listener struct {
	net.Listener
	Hosts []string // Host header values accepted besides localhost
	TLS   bool
	URL   string // the base URL to print (without the token)
}

// Listen binds addr. A loopback address is served over plain HTTP; any other address only with
// TLS (certFile and keyFile), since the token would otherwise cross the network in clear.
func Listen(addr, certFile, keyFile string) (*Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid --addr %q: %v", addr, err)
	}
	withTLS := certFile != "" || keyFile != ""
	if !loopback(host) && !withTLS {
		return nil, fmt.Errorf("refusing to serve the UI on %s without TLS: anyone who can reach it could run containers as root; bind 127.0.0.1 or give --tls-cert and --tls-key", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if withTLS {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("loading the UI's TLS certificate: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	bound := l.Addr().(interface{ String() string }).String()
	_, port, _ = net.SplitHostPort(bound)
	out := &Listener{Listener: l, TLS: withTLS}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		// A wildcard bind is reached by the machine's own addresses and name.
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					out.Hosts = append(out.Hosts, n.IP.String())
				}
			}
		}
		if hn, err := os.Hostname(); err == nil {
			out.Hosts = append(out.Hosts, hn)
		}
		host = "localhost"
	default:
		out.Hosts = append(out.Hosts, host)
	}
	scheme := "http"
	if withTLS {
		scheme = "https"
	}
	out.URL = scheme + "://" + net.JoinHostPort(host, port) + "/"
	return out, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
