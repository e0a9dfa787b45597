package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
)

// HostsFile is /etc/hosts as Docker writes it: the loopback and IPv6 names, then, when the
// container has an address, "IP\tHOSTNAME[.DOMAIN] [HOSTNAME]", then --add-host entries.
func HostsFile(ip, hostname, domainname string, extra []string) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"ff00::0\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n")
	for _, e := range extra {
		// --add-host host:ip
		if i := strings.LastIndex(e, ":"); i > 0 && !strings.Contains(e[:i], ":") {
			fmt.Fprintf(&b, "%s\t%s\n", e[i+1:], e[:i])
		}
	}
	if ip != "" {
		if domainname != "" {
			fmt.Fprintf(&b, "%s\t%s.%s %s\n", ip, hostname, domainname, hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
		}
	}
	return b.Bytes()
}

// HostnameFile is /etc/hostname.
func HostnameFile(hostname string) []byte { return []byte(hostname + "\n") }

// ResolvConf derives a container's /etc/resolv.conf from the host's, as Docker does for a
// container in its own network namespace: nameservers on loopback cannot be reached from there and
// are dropped; if none remain, Google's public resolvers are used. With the host's network the
// file is used as it is (hostNet).
func ResolvConf(host []byte, hostNet bool) []byte {
	if hostNet {
		return host
	}
	var out bytes.Buffer
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && ip.IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if servers == 0 {
		out.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return out.Bytes()
}
