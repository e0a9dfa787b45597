package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

const testDigest = "sha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf"

// imageRow is a listing row shaped like docker/cli's image context.
type imageRow struct {
	id, repo, tag, digest string
	created               time.Time
	size                  int64
}

func (r *imageRow) ID() string                   { return r.id }
func (r *imageRow) Repository() string           { return r.repo }
func (r *imageRow) Tag() string                  { return r.tag }
func (r *imageRow) Digest() string               { return r.digest }
func (r *imageRow) CreatedSince() string         { return CreatedSince(r.created, testNow) }
func (r *imageRow) Size() string                 { return HumanSize(r.size) }
func (r *imageRow) MarshalJSON() ([]byte, error) { return MarshalContext(r) }

const defaultImageTable = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"

var imageHeader = Header{
	"ID":           "IMAGE ID",
	"Repository":   "REPOSITORY",
	"Tag":          "TAG",
	"Digest":       "DIGEST",
	"CreatedSince": CreatedSinceHeader,
	"Size":         SizeHeader,
}

// testImages are the images of docker/cli's TestImageContextWrite: one
// tagged image with a digest, one without a creation time, one dangling.
func testImages() []*imageRow {
	day := testNow.Add(-24 * time.Hour)
	return []*imageRow{
		{id: "imageID1", repo: "image", tag: "tag1", digest: testDigest, created: day},
		{id: "imageID2", repo: "image", tag: "tag2", digest: "<none>"},
		{id: "imageID3", repo: "<none>", tag: "<none>", digest: "<none>", created: day},
	}
}

func writeString[Row any](t *testing.T, format, def string, h Header, rows []Row) string {
	t.Helper()
	var out bytes.Buffer
	if err := Write(&out, format, def, h, rows); err != nil {
		t.Fatalf("Write(%q): %v", format, err)
	}
	return out.String()
}

func TestWriteImageTables(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{
			name:   "default for empty format",
			format: "",
			want: "REPOSITORY   TAG       IMAGE ID   CREATED        SIZE\n" +
				"image        tag1      imageID1   24 hours ago   0B\n" +
				"image        tag2      imageID2   N/A            0B\n" +
				"<none>       <none>    imageID3   24 hours ago   0B\n",
		},
		{
			name:   "default for table keyword",
			format: "table",
			want: "REPOSITORY   TAG       IMAGE ID   CREATED        SIZE\n" +
				"image        tag1      imageID1   24 hours ago   0B\n" +
				"image        tag2      imageID2   N/A            0B\n" +
				"<none>       <none>    imageID3   24 hours ago   0B\n",
		},
		{
			name:   "single custom column is not padded",
			format: "table {{.Repository}}",
			want:   "REPOSITORY\nimage\nimage\n<none>\n",
		},
		{
			name:   "custom columns with typed \\t",
			format: `table {{.Repository}}\t{{.Digest}}`,
			want: "REPOSITORY   DIGEST\n" +
				"image        " + testDigest + "\n" +
				"image        <none>\n" +
				"<none>       <none>\n",
		},
		{
			name:   "digest column is as wide as its longest cell",
			format: "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Size}}",
			want: "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID   SIZE\n" +
				"image        tag1      " + testDigest + "   imageID1   0B\n" +
				"image        tag2      <none>                                                                    imageID2   0B\n" +
				"<none>       <none>    <none>                                                                    imageID3   0B\n",
		},
		{
			name:   "keyword glued to the template and extra spaces",
			format: "table   {{.ID}}\t{{.Tag}}   ",
			want: "IMAGE ID   TAG\n" +
				"imageID1   tag1\n" +
				"imageID2   tag2\n" +
				"imageID3   <none>\n",
		},
		{
			name:   "text outside actions is kept in header and rows",
			format: "table {{.Repository}}:{{.Tag}}\t{{.Size}}",
			want: "REPOSITORY:TAG   SIZE\n" +
				"image:tag1       0B\n" +
				"image:tag2       0B\n" +
				"<none>:<none>    0B\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := writeString(t, tc.format, defaultImageTable, imageHeader, testImages())
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestWriteRaw(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{"one field", "{{.Repository}}", "image\nimage\n<none>\n"},
		{"typed escapes become real tab and newline", `{{.Repository}}\t{{.Tag}}\n`, "image\ttag1\n\nimage\ttag2\n\n<none>\t<none>\n\n"},
		{"spaces around are trimmed", "  {{.ID}} ", "imageID1\nimageID2\nimageID3\n"},
		{"inner spaces are kept", "{{.ID}}  {{.Tag}}", "imageID1  tag1\nimageID2  tag2\nimageID3  <none>\n"},
		{"builtin println adds its own newline", "{{println .ID}}", "imageID1\n\nimageID2\n\nimageID3\n\n"},
		{"quiet format", DefaultQuietFormat, "imageID1\nimageID2\nimageID3\n"},
		{"keyword not at the start is plain text", " json", "json\njson\njson\n"},
		{"conditionals", `{{if eq .Tag "tag2"}}{{.ID}}{{end}}`, "\n" + "imageID2\n" + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := writeString(t, tc.format, defaultImageTable, imageHeader, testImages())
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	want := `{"CreatedSince":"24 hours ago","Digest":"` + testDigest + `","ID":"imageID1","Repository":"image","Size":"0B","Tag":"tag1"}` + "\n" +
		`{"CreatedSince":"","Digest":"\u003cnone\u003e","ID":"imageID2","Repository":"image","Size":"0B","Tag":"tag2"}` + "\n" +
		`{"CreatedSince":"24 hours ago","Digest":"\u003cnone\u003e","ID":"imageID3","Repository":"\u003cnone\u003e","Size":"0B","Tag":"\u003cnone\u003e"}` + "\n"
	for _, format := range []string{"json", "{{json .}}", " {{json .}} "} {
		t.Run(format, func(t *testing.T) {
			if got := writeString(t, format, defaultImageTable, imageHeader, testImages()); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	t.Run("no rows", func(t *testing.T) {
		if got := writeString(t, "json", defaultImageTable, imageHeader, []*imageRow{}); got != "" {
			t.Errorf("got %q, want nothing", got)
		}
	})
	t.Run("json of one field is not HTML-escaped", func(t *testing.T) {
		got := writeString(t, "{{json .Repository}}", defaultImageTable, imageHeader, testImages()[2:])
		if want := `"<none>"` + "\n"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestWriteNoRows(t *testing.T) {
	tests := []struct{ format, want string }{
		{"", "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"},
		{"table {{.Repository}}", "REPOSITORY\n"},
		{"table {{.Repository}}\t{{.Digest}}", "REPOSITORY   DIGEST\n"},
		{"{{.Repository}}", ""},
		{DefaultQuietFormat, ""},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			if got := writeString(t, tc.format, defaultImageTable, imageHeader, []*imageRow(nil)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// containerRow exercises slices, labels and header functions.
type containerRow struct {
	id     string
	names  []string
	labels map[string]string
}

func (c *containerRow) ID() string                   { return c.id }
func (c *containerRow) Names() []string              { return c.names }
func (c *containerRow) Label(name string) string     { return c.labels[name] }
func (c *containerRow) Command() string              { return `"sh"` }
func (c *containerRow) MarshalJSON() ([]byte, error) { return MarshalContext(c) }

var containerHeader = Header{"ID": ContainerIDHeader, "Names": "NAMES"}

func testContainers() []*containerRow {
	return []*containerRow{
		{id: "4a5b6c7d8e9f", names: []string{"web", "web-alias"}, labels: map[string]string{"com.example.build-id": "42"}},
		{id: "0123456789ab", names: []string{"db"}},
	}
}

func TestWriteHeaderFunctions(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{
			name:   "lower and upper keep the header",
			format: "table {{.ID | upper}}\t{{.ID | lower}}",
			want: "CONTAINER ID   CONTAINER ID\n" +
				"4A5B6C7D8E9F   4a5b6c7d8e9f\n" +
				"0123456789AB   0123456789ab\n",
		},
		{
			name:   "join keeps the header",
			format: `table {{join .Names ","}}\t{{.ID}}`,
			want: "NAMES           CONTAINER ID\n" +
				"web,web-alias   4a5b6c7d8e9f\n" +
				"db              0123456789ab\n",
		},
		{
			name:   "truncate keeps the header",
			format: "table {{truncate .ID 4}}\t{{.ID}}",
			want: "CONTAINER ID   CONTAINER ID\n" +
				"4a5b           4a5b6c7d8e9f\n" +
				"0123           0123456789ab\n",
		},
		{
			name:   "title, split and json keep the header",
			format: `table {{title .ID}}|{{split .ID "5"}}|{{json .ID}}`,
			want: "CONTAINER ID|CONTAINER ID|CONTAINER ID\n" +
				`4a5b6c7d8e9f|[4a b6c7d8e9f]|"4a5b6c7d8e9f"` + "\n" +
				`0123456789ab|[01234 6789ab]|"0123456789ab"` + "\n",
		},
		{
			name:   "pad applies to the header too",
			format: "table {{pad .ID 2 1}}|",
			want: "  CONTAINER ID |\n" +
				"  4a5b6c7d8e9f |\n" +
				"  0123456789ab |\n",
		},
		{
			name:   "label header is the last name component",
			format: `table {{.ID}}\t{{.Label "com.example.build-id"}}`,
			want: "CONTAINER ID   build id\n" +
				"4a5b6c7d8e9f   42\n" +
				"0123456789ab   \n",
		},
		{
			name:   "field without header text prints <no value> like Docker",
			format: "table {{.ID}}\t{{.Names}}\t{{.Command}}",
			want: "CONTAINER ID   NAMES             <no value>\n" +
				"4a5b6c7d8e9f   [web web-alias]   \"sh\"\n" +
				"0123456789ab   [db]              \"sh\"\n",
		},
		{
			name:   "header stops at a function that only accepts rows",
			format: "table {{.ID}}:{{json .}}",
			want: "CONTAINER ID:\n" +
				`4a5b6c7d8e9f:{"Command":"\"sh\"","ID":"4a5b6c7d8e9f","Names":["web","web-alias"]}` + "\n" +
				`0123456789ab:{"Command":"\"sh\"","ID":"0123456789ab","Names":["db"]}` + "\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := writeString(t, tc.format, "", containerHeader, testContainers())
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{"unknown function", "{{InvalidFunction}}", `template parsing error: template: :1: function "InvalidFunction" not defined`},
		{"nil command", "{{nil}}", `template parsing error: template: :1:2: executing "" at <nil>: nil is not a command`},
		{"bad operand", "{{ .ID } }}", `template parsing error: template: :1: unexpected "}" in operand`},
		{"unclosed action in a table", "table {{.ID", `template parsing error: template: :1: unclosed action`},
		{"unknown field", "table {{.ID}}\t{{.Nope}}", `template parsing error: template: :1:10: executing "" at <.Nope>: can't evaluate field Nope in type *format.imageRow`},
		{"negative pad", "{{pad .ID -1 0}}", `template parsing error: template: :1:2: executing "" at <pad .ID -1 0>: error calling pad: strings: negative Repeat count`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Write(&out, tc.format, defaultImageTable, imageHeader, testImages())
			if err == nil {
				t.Fatalf("no error, output %q", out.String())
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
			var te *TemplateError
			if !errors.As(err, &te) || te.Unwrap() == nil {
				t.Errorf("error %T is not a *TemplateError wrapping the template error", err)
			}
			if out.Len() != 0 {
				t.Errorf("output written despite the error: %q", out.String())
			}
		})
	}
}

// valueRow has pointer-receiver methods but is passed by value.
type valueRow struct{ name string }

func (v *valueRow) Name() string { return v.name }

func TestWriteStructRowsByAddress(t *testing.T) {
	rows := []valueRow{{"a"}, {"bb"}}
	got := writeString(t, "table {{.Name}}", "", Header{"Name": NameHeader}, rows)
	if want := "NAME\na\nbb\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWriteAnyRows(t *testing.T) {
	rows := []any{&imageRow{id: "x"}, &containerRow{id: "y"}}
	got := writeString(t, "{{.ID}}", "", nil, rows)
	if got != "x\ny\n" {
		t.Errorf("got %q", got)
	}
}

func TestWriteColumnWidths(t *testing.T) {
	// minwidth 10 and padding 3: short columns are 10 wide, long ones are
	// their longest cell plus 3 spaces; the last column is never padded.
	rows := []*imageRow{{id: "a", tag: "123456789012345"}}
	got := writeString(t, "table {{.ID}}\t{{.Tag}}\t{{.ID}}", "", Header{"ID": "I", "Tag": "T"}, rows)
	want := "I         T                 I\n" +
		"a         123456789012345   a\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	if lines := strings.Split(got, "\n"); len(lines[0]) != len(lines[1]) {
		t.Errorf("header and row are not aligned: %q", got)
	}
}

func TestHeaderLabel(t *testing.T) {
	tests := map[string]string{
		"com.example.build-id": "build id",
		"plain":                "plain",
		"a.b_c-d":              "b c d",
		"trailing.":            "",
	}
	for in, want := range tests {
		if got := (Header{}).Label(in); got != want {
			t.Errorf("Label(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsTableIsJSON(t *testing.T) {
	if !IsTable("table") || !IsTable("table {{.ID}}") || IsTable("json") || IsTable(" table") {
		t.Error("IsTable")
	}
	if !IsJSON("json") || IsJSON("json ") || IsJSON("{{json .}}") || IsJSON("table") {
		t.Error("IsJSON")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReportsOutputErrors(t *testing.T) {
	for _, format := range []string{"table", "{{.ID}}"} {
		if err := Write(failWriter{}, format, defaultImageTable, imageHeader, testImages()); err == nil || err.Error() != "disk full" {
			t.Errorf("format %q: error %v, want disk full", format, err)
		}
	}
}
