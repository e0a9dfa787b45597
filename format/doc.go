// Package format is the single Docker-compatible output layer shared by every
// berth listing (images, ps, history, system df, search, ...). Its job is to
// make berth's --format and --filter behave byte for byte like the Docker CLI.
//
// # Model
//
// A listing builds one row value per output line. A row is a "context": a
// pointer to a struct whose exported, argument-less methods are the fields a
// user can name in a template, e.g.
//
//	type imageRow struct{ img *image.Image; trunc bool }
//
//	func (r *imageRow) ID() string   { ... }  // {{.ID}}
//	func (r *imageRow) Size() string { ... }  // {{.Size}}
//	func (r *imageRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
//
// The listing then calls [Write] once with the user's --format value, its
// default table format, the header texts of its fields and the rows:
//
//	format.Write(out, opts.format, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}", format.Header{
//		"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
//	}, rows)
//
// [Write] implements the Docker CLI's rules for choosing the output mode
// ("" / "table" use the default table, "table TEMPLATE" renders a custom
// table, "json" prints one JSON object per row, anything else is a raw Go
// template executed per row), the template function set (json, join, split,
// lower, upper, title, pad, truncate), the header rendering of tables
// (the same template run against the [Header] map with header-preserving
// functions) and the column alignment (text/tabwriter with Docker's
// settings). Because row types implement MarshalJSON through
// [MarshalContext], {{json .}} and --format json print every field, with
// keys sorted, exactly as Docker does.
//
// Quiet mode (-q) is handled by the callers: they pass [DefaultQuietFormat]
// (or their own) as the format.
//
// The package also provides the filter model of the Docker API ([Args],
// parsed from repeated --filter key=value flags) and small helpers the
// Docker listings share ([HumanSize], [CreatedSince], [TruncateID],
// [Ellipsis]).
package format
