package idmap

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRemap(t *testing.T) {
	for _, c := range []struct{ in, usr, group, err string }{
		{"default", "dockremap", "dockremap", ""},
		{"alice", "alice", "alice", ""},
		{"alice:staff", "alice", "staff", ""},
		{"1000", "1000", "1000", ""},
		{"1000:100", "1000", "100", ""},
		{"", "", "", "empty user"},
		{":x", "", "", "invalid value"},
		{"a:", "", "", "invalid value"},
		{"a:b:c", "", "", "invalid value"},
	} {
		u, g, err := ParseRemap(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseRemap(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || u != c.usr || g != c.group {
			t.Errorf("ParseRemap(%q) = %q, %q, %v; want %q, %q", c.in, u, g, err, c.usr, c.group)
		}
	}
}

const subuid = `# comment
dockremap:100000:65536
alice:165536:65536
1001:300000:10
dockremap:500000:1000
bad line
bob:x:10
carol:10:0
`

func TestParseSubIDsAndRanges(t *testing.T) {
	all, err := ParseSubIDs(strings.NewReader(subuid))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("parsed %d ranges, want 4 (comments, malformed and empty ranges skipped): %+v", len(all), all)
	}
	got := Ranges(all, "dockremap", "103")
	want := []Range{{0, 100000, 65536}, {65536, 500000, 1000}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Ranges(dockremap) = %+v, want %+v", got, want)
	}
	// By numeric ID too (a line may name the user's uid).
	if got := Ranges(all, "dave", "1001"); len(got) != 1 || got[0] != (Range{0, 300000, 10}) {
		t.Errorf("Ranges(dave/1001) = %+v", got)
	}
	if got := Ranges(all, "nobody", ""); got != nil {
		t.Errorf("Ranges(nobody) = %+v, want none", got)
	}
}

func TestNextFreeRange(t *testing.T) {
	for _, c := range []struct {
		in   []SubIDRange
		want uint32
	}{
		{nil, 100000},
		{[]SubIDRange{{"a", 100000, 65536}}, 165536},
		{[]SubIDRange{{"a", 300000, 65536}, {"b", 100000, 65536}}, 165536},
		// A gap too small is skipped.
		{[]SubIDRange{{"a", 100000, 65536}, {"b", 200000, 65536}}, 265536},
		// Ranges below the default start do not matter.
		{[]SubIDRange{{"a", 1000, 500}}, 100000},
		// A range straddling the start pushes it up.
		{[]SubIDRange{{"a", 90000, 20000}}, 110000},
	} {
		got, err := NextFreeRange(c.in, DefaultRangeSize)
		if err != nil || got != c.want {
			t.Errorf("NextFreeRange(%+v) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	if _, err := NextFreeRange([]SubIDRange{{"a", 100000, 4294967295 - 100000}}, DefaultRangeSize); err == nil {
		t.Error("NextFreeRange with no room left: no error")
	}
}

func TestMapTranslation(t *testing.T) {
	m := Map{UIDs: []Range{{0, 100000, 1000}, {1000, 500000, 10}}, GIDs: []Range{{0, 200000, 65536}}}
	if u, g := m.Root(); u != 100000 || g != 200000 {
		t.Errorf("Root() = %d, %d", u, g)
	}
	u, g, err := m.ToHost(1005, 5)
	if err != nil || u != 500005 || g != 200005 {
		t.Errorf("ToHost(1005, 5) = %d, %d, %v", u, g, err)
	}
	u, g, err = m.ToContainer(500005, 200005)
	if err != nil || u != 1005 || g != 5 {
		t.Errorf("ToContainer = %d, %d, %v", u, g, err)
	}
	if _, _, err := m.ToHost(2000, 0); !errors.Is(err, ErrUnmapped) {
		t.Errorf("ToHost(2000) error %v, want ErrUnmapped", err)
	}
	if _, _, err := m.ToContainer(0, 0); !errors.Is(err, ErrUnmapped) {
		t.Errorf("ToContainer(host root) error %v, want ErrUnmapped", err)
	}
	var none Map
	if u, g, err := none.ToHost(5, 6); err != nil || u != 5 || g != 6 {
		t.Errorf("zero Map ToHost = %d, %d, %v", u, g, err)
	}
	uids, gids := m.Spec()
	if len(uids) != 2 || uids[1].ContainerID != 1000 || uids[1].HostID != 500000 || uids[1].Size != 10 || len(gids) != 1 {
		t.Errorf("Spec() = %+v, %+v", uids, gids)
	}
	if got := ProcMap(m.UIDs); got != "0 100000 1000\n1000 500000 10\n" {
		t.Errorf("ProcMap = %q", got)
	}
}

func TestFromOptions(t *testing.T) {
	o := FromOptions([]string{"index=off", "lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "volatile"})
	if len(o.Lowers) != 2 || o.Lowers[0] != "/a" || o.Upper != "/u" || o.Work != "/w" ||
		len(o.Options) != 2 || o.Options[0] != "index=off" || o.Options[1] != "volatile" {
		t.Errorf("FromOptions = %+v", o)
	}
}

func FuzzParseSubIDs(f *testing.F) {
	f.Add(subuid)
	f.Add("a:4294967295:1\n")
	f.Add("a:4294967295:2\n")
	f.Fuzz(func(t *testing.T, s string) {
		all, err := ParseSubIDs(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range all {
			if r.Size == 0 || uint64(r.Start)+uint64(r.Size)-1 > 0xffffffff {
				t.Fatalf("accepted range %+v", r)
			}
		}
		if _, err := NextFreeRange(all, DefaultRangeSize); err == nil {
			start, _ := NextFreeRange(all, DefaultRangeSize)
			for _, r := range all {
				if uint64(r.Start) < uint64(start)+DefaultRangeSize && uint64(start) < uint64(r.Start)+uint64(r.Size) {
					t.Fatalf("free range at %d overlaps %+v", start, r)
				}
			}
		}
	})
}
