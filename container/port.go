package container

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PublishedPort is one host address a container port is published on: `port`'s
// "80/tcp -> 127.0.0.1:8080".
type PublishedPort struct {
	Port string // the container's port and protocol, "80/tcp"
	PortBinding
}

// String is the mapping as `port` prints it (Docker 20.10's "80/tcp -> 0.0.0.0:8080").
func (p PublishedPort) String() string { return p.Port + " -> " + p.HostIP + ":" + p.HostPort }

// PublishedPorts lists where a container's ports are published, as Docker's
// NetworkSettings.Ports has them: only while the container runs (paused included), with -P's
// ports and the host ports left for the kernel to choose resolved; nothing otherwise. The order is
// natural (80/tcp before 443/tcp), as Docker's CLI sorts them since 20.10 left them in map order.
func (m *Manager) PublishedPorts(ref string) ([]PublishedPort, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return nil, err
	}
	if !st.Running() {
		return nil, nil
	}
	ns := m.networkState(c.ID)
	if ns == nil {
		return nil, nil
	}
	var out []PublishedPort
	for p, bs := range ns.Ports {
		for _, b := range bs {
			out = append(out, PublishedPort{Port: p, PortBinding: b})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Port != out[j].Port {
			return naturalLess(out[i].Port, out[j].Port)
		}
		return naturalLess(out[i].HostIP+":"+out[i].HostPort, out[j].HostIP+":"+out[j].HostPort)
	})
	return out, nil
}

// Port is where one port of a container is published: `port CONTAINER PRIVATE_PORT[/PROTO]`.
// A port that is not one is an *InvalidPortError; one not published (or a container that does
// not run) is a NoPublicPortError.
func (m *Manager) Port(ref, private string) ([]PortBinding, error) {
	all, err := m.PublishedPorts(ref) // an unknown container first, as Docker checks
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivatePort(private)
	if err != nil {
		return nil, err
	}
	var out []PortBinding
	for _, p := range all {
		if p.Port == key {
			out = append(out, p.PortBinding)
		}
	}
	if len(out) == 0 {
		return nil, NoPublicPortError{Port: privatePortAsTyped(private), Container: ref}
	}
	return out, nil
}

// NoPublicPortError is Docker's answer for a port that is not published, naming the port as the
// user typed it (with "/tcp" when no protocol was given) and the container as they named it.
type NoPublicPortError struct{ Port, Container string }

func (e NoPublicPortError) Error() string {
	return fmt.Sprintf("No public port '%s' published for %s", e.Port, e.Container)
}

// InvalidPortError is a PRIVATE_PORT that is not a port number or range; Docker's CLI prints its
// message bare (`strconv.ParseUint: parsing "abc": invalid syntax`).
type InvalidPortError struct{ Err error }

func (e *InvalidPortError) Error() string { return e.Err.Error() }
func (e *InvalidPortError) Unwrap() error { return e.Err }

// splitPrivatePort splits PRIVATE_PORT[/PROTO] as Docker 20.10's CLI does: at the first "/", the
// protocol tcp when none follows it (then "80/" stays the port, and is no number).
func splitPrivatePort(s string) (port, proto string) {
	port, proto = s, "tcp"
	if p, pr, ok := strings.Cut(s, "/"); ok && pr != "" {
		port, proto = p, pr
	}
	return port, proto
}

func privatePortAsTyped(s string) string {
	port, proto := splitPrivatePort(s)
	return port + "/" + proto
}

// ParsePrivatePort reads PRIVATE_PORT[/PROTO] into the key of Docker's port maps ("80/tcp") the
// way Docker 20.10's CLI does: a number of 0 to 65535 (leading zeros allowed, nothing for 0) or a
// range "80-81"; the protocol is taken as given, so "80/TCP" names no published port.
func ParsePrivatePort(s string) (string, error) {
	port, proto := splitPrivatePort(s)
	if port == "" {
		return "0/" + proto, nil
	}
	bad := func(err error) (string, error) { return "", &InvalidPortError{Err: err} }
	lo, hi, isRange := strings.Cut(port, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return bad(err)
	}
	if !isRange {
		return fmt.Sprintf("%d/%s", start, proto), nil
	}
	hi, _, _ = strings.Cut(hi, "-") // "1-2-3" is 1-2, as Docker reads it
	end, err := strconv.ParseUint(hi, 10, 16)
	if err != nil {
		return bad(err)
	}
	if end < start {
		return bad(fmt.Errorf("Invalid range specified for the Port: %s", port))
	}
	if start == end {
		return fmt.Sprintf("%d/%s", start, proto), nil
	}
	return fmt.Sprintf("%d-%d/%s", start, end, proto), nil
}

// NaturalLess is naturalLess for the listings that sort by name (network ls), as Docker's CLI
// does with its sortorder package.
func NaturalLess(a, b string) bool { return naturalLess(a, b) }

// naturalLess orders strings with their runs of digits compared as numbers ("80/tcp" before
// "443/tcp", "1.2.3.4:9" before "1.2.3.4:10").
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			if len(da) != len(db) {
				return len(da) < len(db)
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
