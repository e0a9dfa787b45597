package format

import (
	"encoding/json"
	"strings"
	"testing"
)

// richRow has every kind of method MarshalContext must include or skip.
type richRow struct {
	Exported string // fields are not marshalled, only methods
	id       string
}

func (r *richRow) ID() string                      { return r.id }
func (r *richRow) Current() bool                   { return true }
func (r *richRow) Count() int                      { return 3 }
func (r *richRow) Names() []string                 { return []string{"a", "b"} }
func (r *richRow) Platform() *struct{ OS string }  { return nil }
func (r *richRow) HTML() string                    { return "<none> & co" }
func (r *richRow) Label(name string) string        { return name }         // takes an argument
func (r *richRow) Pair() (string, error)           { return "", nil }      // two results
func (r *richRow) Nothing()                        {}                      // no result
func (r *richRow) Variadic(...string) string       { return "" }           // takes arguments
func (r *richRow) FullHeader() any                 { return "skipped" }    // Docker's header accessor
func (r *richRow) hidden() string                  { return "unexported" } //nolint:unused // must be skipped
func (r *richRow) MarshalJSON() ([]byte, error)    { return MarshalContext(r) }
func (r richRow) ValueMethod() string              { return "by value" }
func (r *richRow) Nested() map[string]int          { return map[string]int{"z": 1, "a": 2} }
func (r *richRow) Interface() any                  { return json.Number("12") }
func (r *richRow) Raw() json.RawMessage            { return json.RawMessage(`{"k":1}`) }
func (r *richRow) Float() float64                  { return 1.5 }
func (r *richRow) Unicode() string                 { return "你好\u2028" }
func (r *richRow) Bytes() []byte                   { return []byte("hi") }
func (r *richRow) Empty() []string                 { return nil }
func (r *richRow) ErrorOnly() error                { return nil }
func (r *richRow) Ptr() *string                    { s := "p"; return &s }
func (r *richRow) Zero() string                    { return "" }
func (r *richRow) Escape() string                  { return "tab\tquote\"" }
func (r *richRow) Multi() (a, b string, err error) { return }

const richJSON = `{"Bytes":"aGk=","Count":3,"Current":true,"Empty":null,"ErrorOnly":null,` +
	`"Escape":"tab\tquote\"","Float":1.5,"HTML":"\u003cnone\u003e \u0026 co","ID":"r1",` +
	`"Interface":12,"Names":["a","b"],"Nested":{"a":2,"z":1},"Platform":null,"Ptr":"p",` +
	`"Raw":{"k":1},"Unicode":"你好\u2028","ValueMethod":"by value","Zero":""}`

func TestMarshalContext(t *testing.T) {
	got, err := MarshalContext(&richRow{id: "r1", Exported: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != richJSON {
		t.Errorf("got:\n%s\nwant:\n%s", got, richJSON)
	}
}

func TestMarshalContextStructValue(t *testing.T) {
	got, err := MarshalContext(richRow{id: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != richJSON {
		t.Errorf("struct value: got:\n%s\nwant:\n%s", got, richJSON)
	}
}

func TestMarshalContextErrors(t *testing.T) {
	var nilRow *richRow
	n := 3
	tests := []struct {
		v    any
		want string
	}{
		{nil, "expected a pointer to a struct, got nil"},
		{nilRow, "expected a pointer to a struct, got nil pointer"},
		{3, "expected a pointer to a struct, got int"},
		{&n, "expected a pointer to a struct, got a pointer to int"},
		{map[string]string{}, "expected a pointer to a struct, got map"},
	}
	for _, tc := range tests {
		if _, err := MarshalContext(tc.v); err == nil || err.Error() != tc.want {
			t.Errorf("MarshalContext(%#v) error %v, want %q", tc.v, err, tc.want)
		}
	}
}

func TestJSONFunctionUsesMarshalContext(t *testing.T) {
	var out strings.Builder
	rows := []*richRow{{id: "r1"}}
	if err := Write(&out, "{{json .}}", "", nil, rows); err != nil {
		t.Fatal(err)
	}
	// The json template function does not escape HTML itself, but keeps the
	// escapes MarshalJSON produced, exactly as Docker prints "\u003cnone\u003e".
	if got := out.String(); got != richJSON+"\n" {
		t.Errorf("got:\n%s\nwant:\n%s", got, richJSON)
	}
}

type badRow struct{}

func (badRow) ID() string        { return "x" }
func (badRow) Updates() chan int { return nil }

func TestMarshalContextUnsupportedValue(t *testing.T) {
	if _, err := MarshalContext(badRow{}); err == nil || !strings.Contains(err.Error(), "unsupported type: chan int") {
		t.Errorf("error %v, want unsupported type", err)
	}
	// Like Docker, the json function swallows the error: the row renders empty.
	var out strings.Builder
	if err := Write(&out, "json", "", nil, []*jsonBadRow{{}}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "\n" {
		t.Errorf("got %q, want an empty line", out.String())
	}
}

type jsonBadRow struct{ badRow }

func (r *jsonBadRow) MarshalJSON() ([]byte, error) { return MarshalContext(r) }

// contextFields is how MarshalContext worked before it wrote members in order: the map of\n// every member, for json.Marshal to sort and encode.
func contextFields(v any) (map[string]any, error) {
	val, err := contextValue(v)
	if err != nil {
		return nil, err
	}
	typ := val.Type()
	fields := make(map[string]any, typ.NumMethod())
	for i := range typ.NumMethod() {
		method := typ.Method(i) // exported methods only
		fn := val.Method(i).Type()
		if notFields[method.Name] || fn.NumIn() != 0 || fn.NumOut() != 1 {
			continue
		}
		fields[method.Name] = val.Method(i).Call(nil)[0].Interface()
	}
	return fields, nil
}

// MarshalContext writes what json.Marshal of the map of members wrote, for every kind of member
// and for strings that need escaping.
func TestMarshalContextMatchesMap(t *testing.T) {
	for _, v := range []any{&richRow{id: "r1"}, richRow{id: "<&>\u2028\x00\xff"}, &richRow{}} {
		m, err := contextFields(v)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalContext(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%#v:\ngot  %s\nwant %s", v, got, want)
		}
	}
}

func FuzzMarshalContextMatchesMap(f *testing.F) {
	f.Add("r1")
	f.Add("<none>\t\"\\\x7f\u2029\xc3")
	f.Add("<&>\u2028\x00\xff")
	f.Add("sha256:0123456789abcdef 2 days ago 1.23MB ~!@#$%^*()_+`-={}|[]:;',./?")
	f.Fuzz(func(t *testing.T, id string) {
		m, _ := contextFields(&richRow{id: id})
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		// The row's own type (its methods called directly, strings encoded by appendJSONString)
		// and any (reflection and json.Marshal) write the same.
		got, err := MarshalContext(&richRow{id: id})
		if err != nil || string(got) != string(want) {
			t.Fatalf("got %s (%v), want %s", got, err, want)
		}
		var v any = &richRow{id: id}
		if got, err := MarshalContext(v); err != nil || string(got) != string(want) {
			t.Fatalf("through any: got %s (%v), want %s", got, err, want)
		}
		// The template's json function writes what json.Encoder (no HTML escaping) writes.
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if got := jsonString(v); got != strings.TrimSpace(buf.String()) {
			t.Fatalf("json function: %s, the encoder: %s", got, buf.String())
		}
	})
}
