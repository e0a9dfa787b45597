package network

import (
	"bufio"
	"bytes"
	"net"
	"strings"
)

// EmbeddedDNS is the address of the resolver every container on a user-defined network asks, as
// Docker's embedded DNS server.
const EmbeddedDNS = "127.0.0.11"

// resolvConf is a resolv.conf's parts.
type resolvConf struct {
	servers, search, options []string
}

func parseResolvConf(b []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.servers = append(rc.servers, f[1])
		case "search", "domain":
			rc.search = f[1:]
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc
}

// ResolvConf is a container's /etc/resolv.conf as dockerd writes it from the host's and the
// --dns, --dns-search and --dns-option flags. With the embedded resolver (user-defined networks)
// the only nameserver is 127.0.0.11, and ndots:0 is added unless an ndots option is set; without
// it, loopback nameservers of the host cannot be reached and are left out (Google's public
// resolvers when none remain). A search of "." is no search.
func ResolvConf(host []byte, dns, search, options []string, embedded bool) []byte {
	rc := parseResolvConf(host)
	if len(dns) > 0 {
		rc.servers = dns
	}
	if len(search) > 0 {
		rc.search = nil
		for _, s := range search {
			if s != "." {
				rc.search = append(rc.search, s)
			}
		}
	}
	if len(options) > 0 {
		rc.options = options
	}
	if embedded {
		rc.servers = []string{EmbeddedDNS}
		ndots := false
		for _, o := range rc.options {
			ndots = ndots || strings.HasPrefix(o, "ndots:")
		}
		if !ndots {
			rc.options = append(rc.options, "ndots:0")
		}
	} else {
		var kept []string
		for _, s := range rc.servers {
			if ip := net.ParseIP(s); ip == nil || !ip.IsLoopback() {
				kept = append(kept, s)
			}
		}
		if len(kept) == 0 {
			kept = []string{"8.8.8.8", "8.8.4.4"}
		}
		rc.servers = kept
	}
	var b bytes.Buffer
	if len(rc.search) > 0 {
		b.WriteString("search " + strings.Join(rc.search, " ") + "\n")
	}
	for _, s := range rc.servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(rc.options) > 0 {
		b.WriteString("options " + strings.Join(rc.options, " ") + "\n")
	}
	return b.Bytes()
}

// Upstreams are the servers the embedded resolver forwards other names to: --dns if given, else
// the host's nameservers (loopback ones included: the resolver asks from the host's namespace),
// else Google's public resolvers. Each is "IP:53".
func Upstreams(host []byte, dns []string) []string {
	servers := dns
	if len(servers) == 0 {
		servers = parseResolvConf(host).servers
	}
	var out []string
	for _, s := range servers {
		if ip := net.ParseIP(s); ip != nil && s != EmbeddedDNS {
			out = append(out, net.JoinHostPort(ip.String(), "53"))
		}
	}
	if len(out) == 0 {
		out = []string{"8.8.8.8:53", "8.8.4.4:53"}
	}
	return out
}
