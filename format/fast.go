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
			f.parts = append(f.parts, fieldPart{method: m.Index})
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
		v := row.Method(p.method).Call(nil)[0]
		if v.Kind() == reflect.String {
			buf.WriteString(v.String())
		} else {
			fmt.Fprint(buf, v.Interface())
		}
	}
}
