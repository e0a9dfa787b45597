package network

import (
	"net"
	"reflect"
	"sort"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func testTable() Table {
	return NewTable([]Member{
		{Network: "app", Names: []string{"web1", "svc", "0123456789ab"}, IP: net.ParseIP("10.1.0.2")},
		{Network: "app", Names: []string{"web2", "svc"}, IP: net.ParseIP("10.1.0.3")},
		{Network: "db", Names: []string{"pg"}, IP: net.ParseIP("10.2.0.2")},
	})
}

func query(t testing.TB, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 42, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func answers(t *testing.T, resp []byte) (dnsmessage.Header, []string) {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range m.Answers {
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, net.IP(b.A[:]).String())
		case *dnsmessage.AAAAResource:
			out = append(out, net.IP(b.AAAA[:]).String())
		case *dnsmessage.PTRResource:
			out = append(out, b.PTR.String())
		}
	}
	return m.Header, out
}

func TestAnswerNames(t *testing.T) {
	tab := testTable()
	for _, c := range []struct {
		name string
		want []string
	}{
		{"web1.", []string{"10.1.0.2"}},
		{"WEB2.", []string{"10.1.0.3"}},
		{"web2.app.", []string{"10.1.0.3"}},
		{"0123456789ab.", []string{"10.1.0.2"}},
		{"svc.", []string{"10.1.0.2", "10.1.0.3"}},
		{"svc.app.", []string{"10.1.0.2", "10.1.0.3"}},
		{"pg.db.", []string{"10.2.0.2"}},
	} {
		resp, fwd, err := Answer(query(t, c.name, dnsmessage.TypeA), tab)
		if err != nil || fwd {
			t.Fatalf("%s: forward %v, %v", c.name, fwd, err)
		}
		h, got := answers(t, resp)
		sort.Strings(got)
		if !reflect.DeepEqual(got, c.want) || h.ID != 42 || !h.Response || h.RCode != dnsmessage.RCodeSuccess || !h.RecursionAvailable {
			t.Errorf("%s: %v %+v, want %v", c.name, got, h, c.want)
		}
	}
	// A known name has no IPv6 address: an empty answer, not a forward.
	resp, fwd, _ := Answer(query(t, "web1.", dnsmessage.TypeAAAA), tab)
	if _, got := answers(t, resp); fwd || len(got) != 0 {
		t.Errorf("AAAA web1: %v %v", got, fwd)
	}
	// Anything else is forwarded: names of no member, the wrong network, other types.
	for _, n := range []string{"example.com.", "web1.db.", "pg.app.", "svc.other."} {
		if resp, fwd, err := Answer(query(t, n, dnsmessage.TypeA), tab); !fwd || resp != nil || err != nil {
			t.Errorf("%s: not forwarded", n)
		}
	}
	if _, fwd, _ := Answer(query(t, "web1.", dnsmessage.TypeMX), tab); !fwd {
		t.Error("MX not forwarded")
	}
	// Reverse lookups of members.
	resp, fwd, _ = Answer(query(t, "2.0.1.10.in-addr.arpa.", dnsmessage.TypePTR), tab)
	if _, got := answers(t, resp); fwd || !reflect.DeepEqual(got, []string{"web1.app."}) {
		t.Errorf("PTR: %v %v", got, fwd)
	}
}

// Several containers behind one name come back in every order over many queries.
func TestAnswerShuffles(t *testing.T) {
	tab := testTable()
	firsts := map[string]bool{}
	for i := 0; i < 200 && len(firsts) < 2; i++ {
		resp, _, _ := Answer(query(t, "svc.", dnsmessage.TypeA), tab)
		_, got := answers(t, resp)
		firsts[got[0]] = true
	}
	if len(firsts) != 2 {
		t.Errorf("the first answer is always %v", firsts)
	}
}

func TestAnswerBadPackets(t *testing.T) {
	tab := testTable()
	if _, _, err := Answer([]byte{1, 2, 3}, tab); err == nil {
		t.Error("a short packet answered")
	}
	resp, _, _ := Answer(query(t, "web1.", dnsmessage.TypeA), tab)
	if r, fwd, err := Answer(resp, tab); err == nil || r != nil || fwd {
		t.Error("a response answered")
	}
	if sf := ServFail(query(t, "x.", dnsmessage.TypeA)); sf == nil {
		t.Error("no SERVFAIL")
	} else if h, _ := answers(t, sf); h.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("rcode %v", h.RCode)
	}
}

// FuzzAnswer: no packet makes the resolver panic, and whatever it answers is a well-formed
// response to the same ID.
func FuzzAnswer(f *testing.F) {
	f.Add(query(f, "web1.", dnsmessage.TypeA))
	f.Add(query(f, "svc.app.", dnsmessage.TypeA))
	f.Add(query(f, "2.0.1.10.in-addr.arpa.", dnsmessage.TypePTR))
	f.Add(query(f, "example.com.", dnsmessage.TypeAAAA))
	f.Add([]byte{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	tab := testTable()
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, _, err := Answer(data, tab)
		if err != nil || resp == nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("unreadable answer: %v", err)
		}
		if !m.Header.Response || len(data) < 2 || m.Header.ID != uint16(data[0])<<8|uint16(data[1]) {
			t.Fatalf("answer header %+v", m.Header)
		}
	})
}

func TestResolvConf(t *testing.T) {
	host := []byte("# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 10.0.0.2\noptions edns0\n")
	for _, c := range []struct {
		dns, search, opts []string
		embedded          bool
		want              string
	}{
		{nil, nil, nil, true, "search corp.example\nnameserver 127.0.0.11\noptions edns0 ndots:0\n"},
		{[]string{"8.8.8.8"}, []string{"example.com"}, []string{"ndots:2"}, true, "search example.com\nnameserver 127.0.0.11\noptions ndots:2\n"},
		{[]string{"8.8.8.8"}, []string{"example.com"}, []string{"ndots:2"}, false, "search example.com\nnameserver 8.8.8.8\noptions ndots:2\n"},
		{nil, []string{"."}, nil, false, "nameserver 10.0.0.2\noptions edns0\n"},
	} {
		if got := string(ResolvConf(host, c.dns, c.search, c.opts, c.embedded)); got != c.want {
			t.Errorf("%+v:\n%s\nwant:\n%s", c, got, c.want)
		}
	}
	if got := Upstreams(host, nil); !reflect.DeepEqual(got, []string{"127.0.0.53:53", "10.0.0.2:53"}) {
		t.Errorf("upstreams %v", got)
	}
	if got := Upstreams(host, []string{"1.1.1.1"}); !reflect.DeepEqual(got, []string{"1.1.1.1:53"}) {
		t.Errorf("upstreams with --dns %v", got)
	}
	if got := Upstreams(nil, nil); !reflect.DeepEqual(got, []string{"8.8.8.8:53", "8.8.4.4:53"}) {
		t.Errorf("upstreams of nothing %v", got)
	}
}

// On an IPv6 network Docker's resolver answers AAAA with the container's IPv6 address (recorded
// with Docker 20.10's nslookup of a container and of an endpoint link's alias), and a name
// without one gets no records and no error.
func TestAnswerAAAA(t *testing.T) {
	ms := []Member{{Network: "v6", Names: []string{"up"}, IP: net.ParseIP("172.19.0.2"), IP6: net.ParseIP("2001:db8:78::2")},
		{Network: "v4", Names: []string{"old"}, IP: net.ParseIP("172.20.0.2")}}
	tab := NewTable(append(ms, LinkMembers(ms, "v6", []string{"up:bar"})...))
	for name, want := range map[string][]string{"up.": {"2001:db8:78::2"}, "bar.": {"2001:db8:78::2"}, "up.v6.": {"2001:db8:78::2"}, "old.": nil} {
		resp, fwd, err := Answer(query(t, name, dnsmessage.TypeAAAA), tab)
		if err != nil || fwd {
			t.Fatalf("%s: %v %v", name, fwd, err)
		}
		h, got := answers(t, resp)
		if h.RCode != dnsmessage.RCodeSuccess || !reflect.DeepEqual(got, want) {
			t.Errorf("AAAA %s: %v %v, want %v", name, h.RCode, got, want)
		}
	}
	resp, _, _ := Answer(query(t, "bar.", dnsmessage.TypeA), tab)
	if _, got := answers(t, resp); !reflect.DeepEqual(got, []string{"172.19.0.2"}) {
		t.Errorf("A bar: %v", got)
	}
}
