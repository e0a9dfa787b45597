package network

import (
	"errors"
	"math/rand/v2"
	"net"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// The embedded resolver, as Docker's: a container on a user-defined network asks 127.0.0.11,
// which answers for the containers on the networks it shares with the asker (by container name,
// network alias, short ID, and NAME.NETWORK), several A records in shuffled order for a name
// several containers share, and forwards every other name to the host's resolvers.
//
// This file is the packet handling, pure: Answer turns a query and a Table into a response. The
// sockets are in resolver.go.

// ttl is what Docker's resolver gives its own answers.
const ttl = 600

// Member is one container's endpoint on a network, as the resolver sees it.
type Member struct {
	Network string   // the network's name
	Names   []string // the container's name, its aliases and its short ID
	IP      net.IP
	IP6     net.IP // on a network with IPv6 enabled (nil otherwise)
}

// Table is the names a resolver answers for: lowercase name (no trailing dot) → addresses.
type Table struct {
	addrs  map[string][]net.IP
	addrs6 map[string][]net.IP // the IPv6 addresses of names that have some
	names  map[string]string   // IPv4 → NAME.NETWORK, for PTR
}

// NewTable indexes members: each name resolves alone and as NAME.NETWORK.
func NewTable(members []Member) Table {
	t := Table{addrs: map[string][]net.IP{}, addrs6: map[string][]net.IP{}, names: map[string]string{}}
	addTo := func(m map[string][]net.IP, name string, ip net.IP) {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		for _, have := range m[name] {
			if have.Equal(ip) {
				return
			}
		}
		m[name] = append(m[name], ip)
	}
	var ip6 net.IP
	add := func(name string, ip net.IP) {
		addTo(t.addrs, name, ip)
		if ip6 != nil {
			addTo(t.addrs6, name, ip6)
		}
	}
	for _, m := range members {
		ip := m.IP.To4()
		if ip == nil {
			continue
		}
		ip6 = nil
		if m.IP6 != nil && m.IP6.To4() == nil {
			ip6 = m.IP6
		}
		for i, n := range m.Names {
			if n == "" {
				continue
			}
			add(n, ip)
			add(n+"."+m.Network, ip)
			if i == 0 {
				if _, ok := t.names[ip.String()]; !ok {
					t.names[ip.String()] = n + "." + m.Network
				}
			}
		}
	}
	return t
}

// Addrs returns a name's addresses (nil: not a container's).
func (t Table) Addrs(name string) []net.IP {
	return t.addrs[strings.ToLower(strings.TrimSuffix(name, "."))]
}

// reverseName turns "4.3.2.1.in-addr.arpa." into 1.2.3.4 (nil if it is no such name).
func reverseName(name string) net.IP {
	rest, ok := strings.CutSuffix(strings.ToLower(name), ".in-addr.arpa.")
	if !ok {
		return nil
	}
	p := strings.Split(rest, ".")
	if len(p) != 4 {
		return nil
	}
	return net.ParseIP(p[3] + "." + p[2] + "." + p[1] + "." + p[0]).To4()
}

// errDrop: the packet gets no answer (it is a response, or unreadable).
var errDrop = errors.New("dropped")

// Answer answers a query from the table. forward reports that the name is not one the table
// knows: the query is to be sent on to the upstream resolvers as it is. A packet that is not a
// query gets neither (an error).
func Answer(query []byte, t Table) (resp []byte, forward bool, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false, errDrop
	}
	if h.Response {
		return nil, false, errDrop
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return reply(h, nil, dnsmessage.RCodeFormatError, nil)
	}
	if h.OpCode != 0 || len(qs) != 1 {
		return reply(h, qs, dnsmessage.RCodeNotImplemented, nil)
	}
	q := qs[0]
	if q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY {
		return nil, true, nil
	}
	name := q.Name.String()
	switch q.Type {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeALL:
		addrs := t.Addrs(name)
		if addrs == nil {
			return nil, true, nil
		}
		var rrs []dnsmessage.Resource
		if q.Type != dnsmessage.TypeAAAA {
			for _, ip := range shuffle(addrs) {
				var a dnsmessage.AResource
				copy(a.A[:], ip.To4())
				rrs = append(rrs, dnsmessage.Resource{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: ttl},
					Body:   &a,
				})
			}
		}
		if q.Type != dnsmessage.TypeA {
			// A container's name with no IPv6 address: no records, no error (as Docker's).
			for _, ip := range shuffle(t.addrs6[strings.ToLower(strings.TrimSuffix(name, "."))]) {
				var a dnsmessage.AAAAResource
				copy(a.AAAA[:], ip.To16())
				rrs = append(rrs, dnsmessage.Resource{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET, TTL: ttl},
					Body:   &a,
				})
			}
		}
		return reply(h, qs, dnsmessage.RCodeSuccess, rrs)
	case dnsmessage.TypePTR:
		ip := reverseName(name)
		target, ok := "", false
		if ip != nil {
			target, ok = t.names[ip.String()]
		}
		if !ok {
			return nil, true, nil
		}
		n, err := dnsmessage.NewName(target + ".")
		if err != nil {
			return nil, true, nil
		}
		return reply(h, qs, dnsmessage.RCodeSuccess, []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET, TTL: ttl},
			Body:   &dnsmessage.PTRResource{PTR: n},
		}})
	}
	return nil, true, nil
}

// shuffle returns the addresses in a random order (Docker's round robin).
func shuffle(addrs []net.IP) []net.IP {
	out := append([]net.IP(nil), addrs...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// reply builds a response to the query whose header is h.
func reply(h dnsmessage.Header, qs []dnsmessage.Question, rcode dnsmessage.RCode, answers []dnsmessage.Resource) ([]byte, bool, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, false, err
	}
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			return nil, false, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, false, err
	}
	for _, rr := range answers {
		var err error
		switch body := rr.Body.(type) {
		case *dnsmessage.AResource:
			err = b.AResource(rr.Header, *body)
		case *dnsmessage.AAAAResource:
			err = b.AAAAResource(rr.Header, *body)
		case *dnsmessage.PTRResource:
			err = b.PTRResource(rr.Header, *body)
		}
		if err != nil {
			return nil, false, err
		}
	}
	out, err := b.Finish()
	return out, false, err
}

// ServFail is the answer when no upstream resolver answered.
func ServFail(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	qs, _ := p.AllQuestions()
	out, _, _ := reply(h, qs, dnsmessage.RCodeServerFailure, nil)
	return out
}
