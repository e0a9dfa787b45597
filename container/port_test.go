package container

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// What Docker 20.10's `docker port CONTAINER PRIVATE_PORT` makes of its argument, checked against
// the reference daemon: the key it looks up, or the error it prints (bare).
func TestParsePrivatePort(t *testing.T) {
	for in, want := range map[string]string{
		"80":       "80/tcp",
		"80/tcp":   "80/tcp",
		"90/udp":   "90/udp",
		"080":      "80/tcp",
		"80-80":    "80/tcp",
		"80-81":    "80-81/tcp",
		"1-2-3":    "1-2/tcp",
		"0":        "0/tcp",
		"/tcp":     "0/tcp",
		"65535":    "65535/tcp",
		"80/TCP":   "80/TCP",
		"80/tcp/x": "80/tcp/x",
	} {
		if got, err := ParsePrivatePort(in); err != nil || got != want {
			t.Errorf("ParsePrivatePort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"abc":   `strconv.ParseUint: parsing "abc": invalid syntax`,
		"99999": `strconv.ParseUint: parsing "99999": value out of range`,
		"80/":   `strconv.ParseUint: parsing "80/": invalid syntax`,
		"-1":    `strconv.ParseUint: parsing "": invalid syntax`,
		" 80":   `strconv.ParseUint: parsing " 80": invalid syntax`,
		"81-80": `Invalid range specified for the Port: 81-80`,
	} {
		_, err := ParsePrivatePort(in)
		var ie *InvalidPortError
		if !errors.As(err, &ie) || err.Error() != want {
			t.Errorf("ParsePrivatePort(%q) error = %v, want %q", in, err, want)
		}
	}
	// The port in "No public port" is the argument with /tcp added when it has no protocol.
	for in, want := range map[string]string{"81": "81/tcp", "/tcp": "/tcp", "80/udp ": "80/udp ", "80/tcp/x": "80/tcp/x"} {
		if got := (NoPublicPortError{Port: privatePortAsTyped(in), Container: "web"}).Error(); got != "No public port '"+want+"' published for web" {
			t.Errorf("%q: %s", in, got)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	got := []string{"90/udp", "443/tcp", "80/tcp", "7000/tcp", "8/tcp", "80/sctp", "080/tcp", "1.2.3.4:10", "1.2.3.4:9"}
	sort.Slice(got, func(i, j int) bool { return naturalLess(got[i], got[j]) })
	want := "1.2.3.4:9 1.2.3.4:10 8/tcp 80/sctp 80/tcp 080/tcp 90/udp 443/tcp 7000/tcp"
	if strings.Join(got, " ") != want {
		t.Errorf("sorted = %v\nwant %s", got, want)
	}
}

// ps's PORTS as Docker 20.10's CLI writes it (its DisplayablePorts), checked against
// `docker ps --format '{{.Ports}}'` of the same containers.
func TestDisplayPorts(t *testing.T) {
	p := func(ip string, priv, pub uint16, proto string) Port {
		return Port{IP: ip, PrivatePort: priv, PublicPort: pub, Type: proto}
	}
	cases := []struct {
		ports []Port
		want  string
	}{
		{nil, ""},
		{[]Port{p("", 9988, 0, "tcp")}, "9988/tcp"},
		{[]Port{p("", 7001, 0, "udp"), p("", 7000, 0, "udp"), p("", 9000, 0, "tcp")}, "7000-7001/udp, 9000/tcp"},
		{[]Port{p("", 80, 0, "tcp"), p("", 7003, 0, "udp"), p("", 7000, 0, "udp"), p("", 7001, 0, "udp"), p("", 9000, 0, "tcp")},
			"7000-7001/udp, 80/tcp, 9000/tcp, 7003/udp"},
		{[]Port{p("0.0.0.0", 80, 18090, "tcp"), p("::", 80, 18090, "tcp"), p("", 7000, 0, "udp"), p("", 7001, 0, "udp"), p("", 9000, 0, "tcp"), p("0.0.0.0", 81, 18091, "udp")},
			"7000-7001/udp, 9000/tcp, 0.0.0.0:18090->80/tcp, :::18090->80/tcp, 0.0.0.0:18091->81/udp"},
		{[]Port{p("4.3.2.1", 9988, 9988, "tcp"), p("4.3.2.1", 9989, 9989, "tcp")}, "4.3.2.1:9988-9989->9988-9989/tcp"},
	}
	for _, c := range cases {
		if got := DisplayPorts(c.ports); got != c.want {
			t.Errorf("DisplayPorts(%v) = %q, want %q", c.ports, got, c.want)
		}
	}
}
