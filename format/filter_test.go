package format

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func mustFilters(t *testing.T, values ...string) Args {
	t.Helper()
	args, err := ParseFilters(values)
	if err != nil {
		t.Fatalf("ParseFilters(%q): %v", values, err)
	}
	return args
}

func TestParseFilters(t *testing.T) {
	args := mustFilters(t, "dangling=true", " Label = com.example.a=1 ", "label=x", "", "before=", "reference=busybox:*")
	wantKeys := []string{"before", "dangling", "label", "reference"}
	if got := args.Keys(); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("keys %q, want %q", got, wantKeys)
	}
	if got := args.Get("label"); !reflect.DeepEqual(got, []string{"com.example.a=1", "x"}) {
		t.Errorf("label values %q", got)
	}
	if got := args.Get("before"); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("before values %q", got)
	}
	if got := args.Get("missing"); got == nil || len(got) != 0 {
		t.Errorf("missing key: %#v, want empty non-nil slice", got)
	}
	if args.Len() != 4 {
		t.Errorf("Len %d", args.Len())
	}
}

func TestParseFiltersBadFormat(t *testing.T) {
	_, err := ParseFilters([]string{"dangling=true", "dangling"})
	if !errors.Is(err, ErrBadFilterFormat) {
		t.Fatalf("error %v, want ErrBadFilterFormat", err)
	}
	if err.Error() != "bad format of filter (expected name=value)" {
		t.Errorf("error text %q", err)
	}
}

func TestArgsIsAFlagValue(t *testing.T) {
	var args Args
	var _ pflag.Value = &args

	fs := pflag.NewFlagSet("images", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fs.VarP(&args, "filter", "f", "Filter output based on conditions provided")
	if err := fs.Parse([]string{"-f", "dangling=true", "--filter", "label=a=b"}); err != nil {
		t.Fatal(err)
	}
	if !args.ExactMatch("dangling", "true") || !args.ExactMatch("label", "a=b") {
		t.Errorf("flag values not recorded: %s", args.String())
	}
	if got, want := args.String(), `{"dangling":{"true":true},"label":{"a=b":true}}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}

	// The Docker CLI's complete message for a value without '='.
	err := fs.Parse([]string{"--filter", "dangling"})
	want := `invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if args.Type() != "filter" || (&Args{}).String() != "" {
		t.Error("Type or empty String")
	}
}

func TestValidate(t *testing.T) {
	accepted := map[string]bool{"dangling": true, "label": true, "before": true}
	if err := mustFilters(t, "dangling=true", "label=a").Validate(accepted); err != nil {
		t.Errorf("valid filters rejected: %v", err)
	}
	if err := NewArgs().Validate(accepted); err != nil {
		t.Errorf("empty filters rejected: %v", err)
	}
	err := mustFilters(t, "dangling=true", "zeta=1", "foo=bar").Validate(accepted)
	if err == nil || err.Error() != "Invalid filter 'foo'" {
		t.Errorf("error %v, want Invalid filter 'foo'", err)
	}
	var ife *InvalidFilterError
	if !errors.As(err, &ife) || ife.Filter != "foo" || ife.Value != nil {
		t.Errorf("error %#v is not the expected *InvalidFilterError", err)
	}
}

func TestExactMatchFamily(t *testing.T) {
	args := mustFilters(t, "name=web", "name=db", "id=4a5b", "status=running")
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"exact hit", args.ExactMatch("name", "web"), true},
		{"exact miss", args.ExactMatch("name", "we"), false},
		{"exact absent key matches all", args.ExactMatch("label", "anything"), true},
		{"unique with two values", args.UniqueExactMatch("name", "web"), false},
		{"unique with one value", args.UniqueExactMatch("status", "running"), true},
		{"unique miss", args.UniqueExactMatch("status", "exited"), false},
		{"unique absent key", args.UniqueExactMatch("label", "x"), true},
		{"fuzzy prefix", args.FuzzyMatch("id", "4a5b6c7d8e9f"), true},
		{"fuzzy not a prefix", args.FuzzyMatch("id", "04a5b"), false},
		{"fuzzy exact", args.FuzzyMatch("name", "db"), true},
		{"fuzzy absent key", args.FuzzyMatch("label", ""), true},
		{"regexp", mustFilters(t, "name=^w.b$").Match("name", "wab"), true},
		{"regexp miss", mustFilters(t, "name=^w.b$").Match("name", "wabc"), false},
		{"invalid regexp still matches exactly", mustFilters(t, "name=(").Match("name", "("), true}, // exact match still applies
		{"invalid regexp miss", mustFilters(t, "name=(").Match("name", "(x"), false},
		{"regexp absent key", args.Match("label", "x"), true},
		{"contains", args.Contains("status"), true},
		{"contains absent", args.Contains("label"), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestMatchKVList(t *testing.T) {
	labels := map[string]string{"com.example.vendor": "acme", "version": "1.0", "empty": ""}
	tests := []struct {
		filters []string
		labels  map[string]string
		want    bool
	}{
		{nil, labels, true},
		{nil, nil, true},
		{[]string{"label=version"}, labels, true},
		{[]string{"label=version=1.0"}, labels, true},
		{[]string{"label=version=2.0"}, labels, false},
		{[]string{"label=missing"}, labels, false},
		{[]string{"label=empty="}, labels, true},
		{[]string{"label=empty"}, labels, true},
		{[]string{"label=version="}, labels, false},
		{[]string{"label=com.example.vendor=acme", "label=version"}, labels, true},    // all must hold
		{[]string{"label=com.example.vendor=acme", "label=version=9"}, labels, false}, // one fails
		{[]string{"label=version"}, nil, false},
		{[]string{"label=a=b=c"}, map[string]string{"a": "b=c"}, true}, // value may hold '='
	}
	for _, tc := range tests {
		args := mustFilters(t, tc.filters...)
		if got := args.MatchKVList("label", tc.labels); got != tc.want {
			t.Errorf("filters %q on %v: got %v, want %v", tc.filters, tc.labels, got, tc.want)
		}
	}
}

func TestGetBoolOrDefault(t *testing.T) {
	tests := []struct {
		filters []string
		def     bool
		want    bool
		err     string
	}{
		{nil, true, true, ""},
		{nil, false, false, ""},
		{[]string{"dangling=true"}, false, true, ""},
		{[]string{"dangling=1"}, false, true, ""},
		{[]string{"dangling=false"}, true, false, ""},
		{[]string{"dangling=0"}, true, false, ""},
		{[]string{"dangling=true", "dangling=1"}, false, true, ""},
		{[]string{"dangling=maybe"}, true, true, "Invalid filter 'dangling=[maybe]'"},
		{[]string{"dangling=TRUE"}, false, false, "Invalid filter 'dangling=[TRUE]'"},
		{[]string{"dangling="}, false, false, "Invalid filter 'dangling=[]'"},
		{[]string{"dangling=true", "dangling=false"}, false, false, "Invalid filter 'dangling=[false true]'"},
		{[]string{"dangling=true", "dangling=maybe"}, false, true, ""}, // extra junk is ignored, as in moby
	}
	for _, tc := range tests {
		args := mustFilters(t, tc.filters...)
		got, err := args.GetBoolOrDefault("dangling", tc.def)
		if got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.filters, got, tc.want)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.filters, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%q: error %v, want %s", tc.filters, err, tc.err)
		}
	}
}

func TestAddDelCloneWalk(t *testing.T) {
	var args Args // zero value is usable
	args.Add("name", "a")
	args.Add("name", "b")
	args.Add("name", "a")
	clone := args.Clone()
	args.Del("name", "a")
	if got := args.Get("name"); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("after Del: %q", got)
	}
	args.Del("name", "b")
	if args.Contains("name") || args.Len() != 0 {
		t.Error("key kept after its last value was deleted")
	}
	args.Del("absent", "x") // no panic
	if got := clone.Get("name"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("clone changed with the original: %q", got)
	}

	var seen []string
	errStop := errors.New("stop")
	err := clone.WalkValues("name", func(v string) error {
		seen = append(seen, v)
		return errStop
	})
	if !errors.Is(err, errStop) || !reflect.DeepEqual(seen, []string{"a"}) {
		t.Errorf("WalkValues: %v %q", err, seen)
	}
	if err := clone.WalkValues("absent", func(string) error { return errStop }); err != nil {
		t.Errorf("WalkValues on absent key: %v", err)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{"", "dangling=true", " Label = a=b ", "noequals", "=", "=v", "K=", "ÄÖ=ü", "a\t=\nb"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		var args Args
		err := args.Set(value)
		key, val, hasEq := strings.Cut(value, "=")
		switch {
		case value == "":
			if err != nil || args.Len() != 0 {
				t.Fatalf("empty value: err %v, %d keys", err, args.Len())
			}
		case !hasEq:
			if !errors.Is(err, ErrBadFilterFormat) || args.Len() != 0 {
				t.Fatalf("%q: err %v, %d keys", value, err, args.Len())
			}
		default:
			if err != nil {
				t.Fatalf("%q: %v", value, err)
			}
			k := strings.ToLower(strings.TrimSpace(key))
			v := strings.TrimSpace(val)
			if args.Keys()[0] != k || args.Len() != 1 {
				t.Fatalf("%q: keys %q, want [%q]", value, args.Keys(), k)
			}
			if !args.ExactMatch(k, v) || !args.UniqueExactMatch(k, v) || !args.FuzzyMatch(k, v+"suffix") {
				t.Fatalf("%q: value %q does not match itself", value, v)
			}
			if got := args.Get(k); len(got) != 1 || got[0] != v {
				t.Fatalf("%q: values %q, want [%q]", value, got, v)
			}
			// Must not panic whatever the value.
			_, _ = args.GetBoolOrDefault(k, false)
			_ = args.MatchKVList(k, map[string]string{v: v})
			_ = args.Match(k, v)
			_ = args.String()
		}
	})
}

func TestFiltersFromJSON(t *testing.T) {
	for _, in := range []string{`{"label":{"a=b":true},"status":{"running":true}}`, `{"label":["a=b"],"status":["running"]}`} {
		a, err := FromJSON(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := a.Get("label"); len(got) != 1 || got[0] != "a=b" || !a.ExactMatch("status", "running") {
			t.Fatalf("%s: parsed %v", in, a.fields)
		}
		if back, _ := FromJSON(a.ToJSON()); back.ToJSON() != a.ToJSON() {
			t.Fatalf("round trip of %s: %s", in, back.ToJSON())
		}
	}
	if a, err := FromJSON(""); err != nil || a.Len() != 0 {
		t.Fatalf("empty: %v %v", a, err)
	}
	if _, err := FromJSON(`{"label":`); err == nil {
		t.Fatal("malformed filters accepted")
	}
	if _, err := FromJSON(`"x"`); err == nil {
		t.Fatal("a JSON string accepted as filters")
	}
}
