package build

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth-engine/berth/archive"
)

// Output is `build --output`: the target stage's files exported instead of an image, as
// BuildKit's local and tar exporters do (docker build -o DIR).
type Output struct {
	Type string // "local" (a directory) or "tar"
	// Dest is the directory (local) or the tar file (tar); for a tar, Writer, when set, gets it
	// instead (-o - : standard output).
	Dest   string
	Writer io.Writer
}

// exportFiles writes the files of st (its layers merged, whiteouts applied) as o says.
func (b *builder) exportFiles(st *state, o *Output) error {
	name := "exporting to client directory"
	if o.Type == "tar" {
		name = "exporting to client tarball"
	}
	v := b.prog.start(name)
	fail := func(err error) error {
		v.fail(err)
		return err
	}
	spec := &copySpec{ctx: b.ctx, tmp: b.tmp, src: st.view(b.s, b.empty), srcs: []string{"/"}, rawDest: "/", dest: "/"}
	w := newLayerWriter(nil, b.now, b.o.SourceDateEpoch, 0, 0)
	if err := spec.collect(w); err != nil {
		return fail(err)
	}
	var out io.Writer
	switch {
	case o.Type == "tar" && o.Writer != nil:
		out = o.Writer
	case o.Type == "tar":
		f, err := os.Create(o.Dest)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		out = f
	default:
		if err := os.MkdirAll(o.Dest, 0o700); err != nil { // as BuildKit's local exporter makes it
			return fail(err)
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(w.writeTo(pw)) }()
		if _, err := archive.Apply(o.Dest, pr, archive.ApplyOptions{Whiteout: archive.WhiteoutApply}); err != nil {
			pr.CloseWithError(err)
			return fail(fmt.Errorf("writing %s: %w", o.Dest, err))
		}
		v.status("copying files")
		v.done()
		return nil
	}
	if err := w.writeTo(out); err != nil {
		return fail(err)
	}
	v.status("sending tarball")
	v.done()
	return nil
}

// ParseOutput reads --output as Docker's CLI does: a path alone is type=local,dest=PATH ("-" is
// a tar on standard output); else type=local|tar with dest=.
func ParseOutput(s string) (*Output, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.Contains(s, "=") {
		if s == "-" {
			return &Output{Type: "tar", Dest: "-"}, nil
		}
		return &Output{Type: "local", Dest: s}, nil
	}
	o := &Output{}
	for _, field := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("invalid value %q: each field must be a key=value pair", field)
		}
		switch k {
		case "type":
			o.Type = val
		case "dest":
			o.Dest = val
		default:
			return nil, fmt.Errorf("--output %s: unknown option %q", s, k)
		}
	}
	switch o.Type {
	case "local", "tar":
	case "":
		return nil, fmt.Errorf("--output %s: type is required", s)
	default:
		return nil, fmt.Errorf("--output %s: exporter %q is not supported (type=local or type=tar)", s, o.Type)
	}
	if o.Dest == "" {
		return nil, fmt.Errorf("--output %s: dest is required", s)
	}
	if o.Dest == "-" && o.Type == "local" {
		return nil, fmt.Errorf("--output %s: a directory cannot be standard output", s)
	}
	return o, nil
}
