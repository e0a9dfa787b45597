package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// templateFuncs are the functions available to every user template, on top
// of text/template's builtins (and, or, not, len, index, print, printf,
// println, slice, eq, ne, lt, le, gt, ge, call, html, js, urlquery).
// They mirror the Docker CLI's templates package.
var templateFuncs = template.FuncMap{
	"json":     jsonString,
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    title,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      pad,
	"truncate": truncate,
}

// headerFuncs replace templateFuncs while a table header is rendered, so that
// e.g. "{{.Size | lower}}" or "{{join .Names ","}}" still print the column's
// header text unchanged. pad is deliberately not replaced: padding must apply
// to the header as well or the column would not line up.
var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v, _ string) string { return v },
	"join":     func(v, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

// Funcs returns a copy of the template functions available to --format
// templates (json, split, join, title, lower, upper, pad, truncate).
func Funcs() template.FuncMap { return maps.Clone(templateFuncs) }

// HeaderFuncs returns a copy of the functions that replace [Funcs] while a
// table header is rendered; they return their (string) argument unchanged.
func HeaderFuncs() template.FuncMap { return maps.Clone(headerFuncs) }

// TemplateError is returned for a --format template that does not parse or
// fails while executing. Its text matches the Docker CLI, e.g.
//
//	template parsing error: template: :1: function "foo" not defined
type TemplateError struct {
	Err error // the text/template error
}

func (e *TemplateError) Error() string { return "template parsing error: " + e.Err.Error() }

// Unwrap returns the underlying text/template error.
func (e *TemplateError) Unwrap() error { return e.Err }

// Parse parses a user template with the Docker template functions, exactly
// as the Docker CLI's templates.Parse does (anonymous template, so errors
// read "template: :LINE: ..."). A parse failure is returned as a
// *[TemplateError]. The format is used as given: the "table"/"json"
// keywords and the \t, \n escapes are handled by [Write], not here.
func Parse(format string) (*template.Template, error) { return ParseNamed("", format) }

// ParseNamed is [Parse] with the template named as Docker names it ("version"), which its
// execution errors quote.
func ParseNamed(name, format string) (*template.Template, error) {
	tmpl, err := template.New(name).Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, &TemplateError{Err: err}
	}
	return tmpl, nil
}

// jsonString encodes v as JSON without HTML escaping and without the trailing
// newline. Errors are swallowed (empty output), as in the Docker CLI.
func jsonString(v any) string {
	// A row (a non-nil pointer that marshals itself, as every listing's row does): what the
	// encoder would write, its MarshalJSON compacted without HTML escaping, without the
	// encoder's reflection over the value.
	if m, ok := v.(json.Marshaler); ok {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			b, err := m.MarshalJSON()
			if err != nil {
				return ""
			}
			var buf bytes.Buffer
			buf.Grow(len(b))
			if json.Compact(&buf, b) != nil {
				return ""
			}
			return buf.String()
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

// pad surrounds a non-empty string with prefix spaces before and suffix
// spaces after it; an empty string stays empty. Negative counts make the
// template fail (as strings.Repeat panics and text/template reports it).
func pad(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
}

// truncate keeps the first n bytes of s (the Docker function is byte based).
func truncate(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

// title upper-cases the first letter of every word, with the word boundaries
// of the (deprecated) strings.Title that the Docker CLI uses.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		start := wordSeparator(prev)
		prev = r
		if start {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// wordSeparator reports whether r ends a word for title.
func wordSeparator(r rune) bool {
	if r < utf8.RuneSelf {
		isAlnum := ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		return !isAlnum && r != '_'
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return false
	}
	return unicode.IsSpace(r)
}

// Check executes a --format template, as given (a table keyword included), once against row and
// discards what it prints. `docker ps` checks its template so before it lists anything, so a
// template naming an unknown field fails even when no container is listed. The errors are
// Docker's: "failed to parse template: ..." and "failed to execute template: ...".
func Check(text string, row any) error {
	tmpl, err := Parse(text)
	if err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			err = te.Err
		}
		return fmt.Errorf("failed to parse template: %w", err)
	}
	if err := tmpl.Execute(io.Discard, row); err != nil {
		return fmt.Errorf("failed to execute template: %w", err)
	}
	return nil
}
