package format

import (
	"bytes"
	"io"
	"reflect"
	"strings"
)

// Format keywords and templates understood by [Write], as in the Docker CLI.
const (
	// TableFormatKey selects table output; alone it means the listing's
	// default table, followed by a template it renders a custom table.
	TableFormatKey = "table"
	// JSONFormatKey prints every row as one JSON object per line.
	JSONFormatKey = "json"
	// RawFormatKey is the keyword some Docker listings map to a YAML-like
	// default; callers that support it substitute their own template.
	RawFormatKey = "raw"

	// DefaultQuietFormat is the format listings use for -q/--quiet.
	DefaultQuietFormat = "{{.ID}}"
	// JSONFormat is the template JSONFormatKey stands for.
	JSONFormat = "{{json .}}"
)

// Header texts shared by several Docker listings.
const (
	CreatedSinceHeader = "CREATED"
	CreatedAtHeader    = "CREATED AT"
	SizeHeader         = "SIZE"
	LabelsHeader       = "LABELS"
	NameHeader         = "NAME"
	DescriptionHeader  = "DESCRIPTION"
	DriverHeader       = "DRIVER"
	ScopeHeader        = "SCOPE"
	StateHeader        = "STATE"
	StatusHeader       = "STATUS"
	PortsHeader        = "PORTS"
	ImageHeader        = "IMAGE"
	PlatformHeader     = "PLATFORM"
	ContainerIDHeader  = "CONTAINER ID"
)

// Header maps a row field (method name) to the text of its column header.
// The table header is the user's template executed against this map, so a
// field that has no entry renders as text/template's "<no value>", exactly
// like the Docker CLI.
type Header map[string]string

// Label is the header text of {{.Label "name"}}: the last dot-separated
// component of name with '-' and '_' turned into spaces
// ("com.example.build-id" gives "build id"), as in the Docker CLI.
func (h Header) Label(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return labelReplacer.Replace(name)
}

var labelReplacer = strings.NewReplacer("-", " ", "_", " ")

// IsTable reports whether format selects table output (it starts with
// "table", as in the Docker CLI).
func IsTable(format string) bool { return strings.HasPrefix(format, TableFormatKey) }

// IsJSON reports whether format is the "json" keyword.
func IsJSON(format string) bool { return format == JSONFormatKey }

// escapes turns the two-character sequences \t and \n typed on a command line
// into a tab and a newline.
var escapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

// Write renders rows the way every Docker CLI listing does.
//
// format is the user's --format value. "" and "table" select defaultTable
// (normally "table " followed by the listing's default columns). A format
// starting with "table" renders a table with the rest of the string as the
// row template; "json" prints each row as {{json .}}; anything else is a
// Go template executed once per row. Before parsing, the keyword is removed,
// surrounding spaces are trimmed and the escapes \t and \n are replaced by a
// tab and a newline.
//
// Each row is executed with the template functions of [Funcs] and followed by
// a newline. Tables also get a header line, the same template executed
// against header with [HeaderFuncs] (errors in the header are ignored, as in
// Docker), and are aligned with text/tabwriter using Docker's settings
// (minwidth 10, tabwidth 1, padding 3, spaces). A table without rows still
// prints its header line; other formats print nothing.
//
// Rows should be pointers to row types whose exported methods are the
// fields; a struct (non-pointer) row is passed to the template by address so
// that pointer methods are found too. Nothing is written when a row fails to
// render: the error is a *[TemplateError] reading
// "template parsing error: ...", like parse errors. Errors writing to out
// are returned too.
func Write[Row any](out io.Writer, format, defaultTable string, header Header, rows []Row) error {
	if format == "" || format == TableFormatKey {
		format = defaultTable
	}
	table := IsTable(format)
	text := format
	switch {
	case table:
		text = text[len(TableFormatKey):]
	case IsJSON(format):
		text = JSONFormat
	}
	text = escapes.Replace(strings.Trim(text, " "))

	tmpl, err := Parse(text)
	if err != nil {
		return err
	}

	byAddress := rowsByAddress[Row]()
	var body bytes.Buffer
	body.Grow(64 * (len(rows) + 1)) // a typical row: spares the buffer's growth copies
	if table {
		// The header goes first into the same buffer, so the table is aligned without copying
		// the rows after it.
		if headTmpl, err := tmpl.Clone(); err == nil {
			// Like Docker, keep whatever the header template printed before
			// failing (for instance on a function that only accepts rows).
			_ = headTmpl.Funcs(headerFuncs).Execute(&body, header)
		}
		body.WriteByte('\n')
	}
	var fast *fieldsOnly
	if len(rows) > 0 {
		if t := reflect.TypeFor[Row](); t.Kind() == reflect.Pointer || byAddress {
			if byAddress {
				t = reflect.PointerTo(t)
			}
			fast = compileFieldsOnly(tmpl, t)
		}
	}
	for i := range rows {
		var data any = rows[i]
		if byAddress {
			data = &rows[i]
		}
		if fast != nil && byAddress {
			executeRow(fast, &body, &rows[i])
		} else if fast != nil {
			executeRow(fast, &body, rows[i])
		} else if err := tmpl.Execute(&body, data); err != nil {
			return &TemplateError{Err: err}
		}
		body.WriteByte('\n')
	}

	if !table {
		_, err := body.WriteTo(out)
		return err
	}

	// Aligned in one pass over the whole table (align), then written at once.
	var aligned bytes.Buffer
	aligned.Grow(body.Len() + body.Len()/2) // cells padded to their columns' widths
	align(&aligned, body.Bytes())
	_, err = aligned.WriteTo(out)
	return err
}

// rowsByAddress reports whether rows of type Row must be handed to templates
// by address: struct values would otherwise hide their pointer-receiver
// methods.
func rowsByAddress[Row any]() bool {
	return reflect.TypeFor[Row]().Kind() == reflect.Struct
}
