package format

import (
	"bytes"
	"fmt"
	"reflect"
	"text/template"
	"text/template/parse"
)

// fieldsOnly is a template made only of text and {{.Method}} actions (every default table is),
// compiled to method indexes of one row type. Executing it calls the methods directly, skipping
// text/template's walk and its per-row method lookup by name, which dominate a listing of
// thousands of rows (bench/images). Anything else stays with text/template.
type fieldsOnly struct {
	parts []fieldPart
}

type fieldPart struct {
	text   []byte
	method int // -1 for text
	// str is the method as a func(Receiver) string when it returns a plain string (most
	// fields): executeRow calls it without reflect's Call, a fifth of a listing's CPU.
	str any
}

// compileFieldsOnly returns nil when the template needs text/template, or when typ lacks one of
// its fields as a one-result method (text/template then gives its usual error).
func compileFieldsOnly(tmpl *template.Template, typ reflect.Type) *fieldsOnly {
	if tmpl.Tree == nil || tmpl.Tree.Root == nil || len(tmpl.Templates()) > 1 {
		return nil
	}
	f := &fieldsOnly{}
	for _, n := range tmpl.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			f.parts = append(f.parts, fieldPart{text: n.Text, method: -1})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil
			}
			field, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(field.Ident) != 1 {
				return nil
			}
			m, ok := typ.MethodByName(field.Ident[0])
			if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 {
				return nil
			}
			part := fieldPart{method: m.Index}
			if m.Type.Out(0) == reflect.TypeFor[string]() {
				part.str = m.Func.Interface()
			}
			f.parts = append(f.parts, part)
		default:
			return nil
		}
	}
	return f
}

// execute writes one row as text/template would.
func (f *fieldsOnly) execute(buf *bytes.Buffer, row reflect.Value) {
	for _, p := range f.parts {
		if p.method < 0 {
			buf.Write(p.text)
			continue
		}
		callMethod(buf, row, p.method)
	}
}

// executeRow is execute for a row of the compiled type P, calling string methods directly.
func executeRow[P any](f *fieldsOnly, buf *bytes.Buffer, row P) {
	for _, p := range f.parts {
		if p.method < 0 {
			buf.Write(p.text)
			continue
		}
		if fn, ok := p.str.(func(P) string); ok {
			buf.WriteString(fn(row))
			continue
		}
		callMethod(buf, reflect.ValueOf(row), p.method)
	}
}

func callMethod(buf *bytes.Buffer, row reflect.Value, method int) {
	v := row.Method(method).Call(nil)[0]
	if v.Kind() == reflect.String {
		buf.WriteString(v.String())
	} else {
		fmt.Fprint(buf, v.Interface())
	}
}
