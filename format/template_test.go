package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"text/template"
)

func execute(t *testing.T, tmpl *template.Template, data any) (string, error) {
	t.Helper()
	var b bytes.Buffer
	err := tmpl.Execute(&b, data)
	return b.String(), err
}

func mustParse(t *testing.T, format string) *template.Template {
	t.Helper()
	tmpl, err := Parse(format)
	if err != nil {
		t.Fatalf("Parse(%q): %v", format, err)
	}
	return tmpl
}

func TestTemplateFunctions(t *testing.T) {
	tests := []struct {
		format string
		data   any
		want   string
	}{
		// json: no HTML escaping, no trailing newline (docker/cli #32120).
		{`{{json .}}`, "0.0.0.0:2->8/udp", `"0.0.0.0:2->8/udp"`},
		{`{{json .}}`, map[string]any{"b": 1, "a": []string{"<x>", "&"}}, `{"a":["<x>","&"],"b":1}`},
		{`{{json .}}`, nil, `null`},
		{`{{json .}}`, func() {}, ``}, // unencodable: empty, no error
		{`{{join (split . ":") "/"}}`, "text:with:colon", "text/with/colon"},
		{`{{split . ","}}`, "a,b,,c", "[a b  c]"},
		{`{{join . ", "}}`, []string{"x", "y"}, "x, y"},
		{`{{lower .}}`, "MiXeD Case", "mixed case"},
		{`{{upper .}}`, "MiXeD Case", "MIXED CASE"},
		{`{{title .}}`, "hello world-foo_bar 9lives élan", "Hello World-Foo_bar 9lives Élan"},
		{`{{title .}}`, "ALREADY up", "ALREADY Up"},
		{`{{truncate . 5}}`, "tupx5xzf6hvsrhnruz5cr8gwp", "tupx5"},
		{`{{truncate . 25}}`, "tupx5xzf6hvsrhnruz5cr8gwp", "tupx5xzf6hvsrhnruz5cr8gwp"},
		{`{{truncate . 30}}`, "tupx5xzf6hvsrhnruz5cr8gwp", "tupx5xzf6hvsrhnruz5cr8gwp"},
		{`{{truncate . 0}}`, "abc", ""},
		{`{{truncate . 1}}`, "é", "\xc3"}, // byte based, like Docker
		{`{{pad . 3 3}}`, "tupx5xzf6hvsrhnruz5cr8gwp", "   tupx5xzf6hvsrhnruz5cr8gwp   "},
		{`{{pad . 0 2}}|`, "x", "x  |"},
		{`{{pad . 3 3}}`, "", ""},
		{`{{truncate . 5}}`, "", ""},
		{`{{println .}}`, "line", "line\n"},
		{`{{len .}}`, []string{"a", "b"}, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			got, err := execute(t, mustParse(t, tc.format), tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTemplateFunctionsRejectNil(t *testing.T) {
	for _, format := range []string{`{{truncate . 5}}`, `{{pad . 3 3}}`, `{{lower .}}`} {
		got, err := execute(t, mustParse(t, format), nil)
		if err == nil {
			t.Errorf("%s on nil: no error", format)
		}
		if got != "" {
			t.Errorf("%s on nil: output %q", format, got)
		}
	}
}

func TestHeaderFunctionsAreIdentity(t *testing.T) {
	const source = "hello world"
	for _, format := range []string{
		`{{ json .}}`, `{{ split . ","}}`, `{{ join . ","}}`, `{{ title .}}`,
		`{{ lower .}}`, `{{ upper .}}`, `{{ truncate . 2}}`,
	} {
		tmpl, err := template.New("").Funcs(Funcs()).Funcs(HeaderFuncs()).Parse(format)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := execute(t, tmpl, source); err != nil || got != source {
			t.Errorf("%s = %q, %v; want %q", format, got, err, source)
		}
	}
	// pad is the one function that is not replaced.
	if _, ok := HeaderFuncs()["pad"]; ok {
		t.Error("pad must not be overridden for headers")
	}
}

func TestFuncsReturnsCopies(t *testing.T) {
	Funcs()["json"] = strings.ToUpper
	HeaderFuncs()["lower"] = strings.ToUpper
	got, _ := execute(t, mustParse(t, `{{json .}}`), "x")
	if got != `"x"` {
		t.Errorf("package function map was modified: %q", got)
	}
	if len(Funcs()) != 8 || len(HeaderFuncs()) != 7 {
		t.Errorf("unexpected function sets: %d, %d", len(Funcs()), len(HeaderFuncs()))
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"{{ .Names } }}":      `template parsing error: template: :1: unexpected "}" in operand`,
		"{{InvalidFunction}}": `template parsing error: template: :1: function "InvalidFunction" not defined`,
		"{{.ID":               `template parsing error: template: :1: unclosed action`,
		"{{if .ID}}":          `template parsing error: template: :1: unexpected EOF`,
		"line1\n{{end}}":      `template parsing error: template: :2: unexpected {{end}}`,
	}
	for format, want := range tests {
		tmpl, err := Parse(format)
		if err == nil {
			t.Errorf("Parse(%q): no error", format)
			continue
		}
		if tmpl != nil {
			t.Errorf("Parse(%q): template returned with error", format)
		}
		if err.Error() != want {
			t.Errorf("Parse(%q) error:\n%s\nwant:\n%s", format, err, want)
		}
		var te *TemplateError
		if !errors.As(err, &te) || !strings.HasPrefix(te.Unwrap().Error(), "template: :") {
			t.Errorf("Parse(%q): error does not wrap the template error: %#v", format, err)
		}
	}
}

// Check runs the template as given against one row, with docker ps's error wording.
func TestCheck(t *testing.T) {
	type row struct{ ID string }
	for _, tc := range []struct{ text, want string }{
		{"{{.ID}}", ""},
		{"table {{.ID}}", ""},
		{"json", ""},
		{"{{.ID", "failed to parse template: template: :1: unclosed action"},
		{"table {{.Nope}}", `failed to execute template: template: :1:8: executing "" at <.Nope>: can't evaluate field Nope in type *format.row`},
	} {
		err := Check(tc.text, &row{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Check(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
