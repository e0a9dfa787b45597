package format

import (
	"bytes"
	"reflect"
	"testing"
)

type fastRow struct{ n int }

func (r *fastRow) Name() string { return "row" }
func (r *fastRow) Num() int     { return r.n }
func (r *fastRow) Pair() (string, error) {
	return "p", nil
}

// The compiled path must print exactly what text/template prints, and step aside for anything
// it does not handle.
func TestFieldsOnlyMatchesTextTemplate(t *testing.T) {
	typ := reflect.TypeFor[*fastRow]()
	for _, text := range []string{"{{.Name}}\t{{.Num}}", "x{{.Name}}y{{ .Num }}z", "{{.Num}}"} {
		tmpl, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		f := compileFieldsOnly(tmpl, typ)
		if f == nil {
			t.Fatalf("%q not compiled", text)
		}
		var fast, typed, slow bytes.Buffer
		row := &fastRow{n: 42}
		f.execute(&fast, reflect.ValueOf(row))
		executeRow(f, &typed, row)
		if err := tmpl.Execute(&slow, row); err != nil {
			t.Fatal(err)
		}
		if fast.String() != slow.String() || typed.String() != slow.String() {
			t.Errorf("%q: fast %q, typed %q, text/template %q", text, fast.String(), typed.String(), slow.String())
		}
	}
	for _, text := range []string{"{{.Name | upper}}", "{{json .}}", "{{.Pair}}", "{{.Missing}}", "{{if .Num}}x{{end}}", "{{$x := .Name}}"} {
		tmpl, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if compileFieldsOnly(tmpl, typ) != nil {
			t.Errorf("%q compiled, but needs text/template", text)
		}
	}
}
