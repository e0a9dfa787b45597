package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/reference"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// imageCommands are the constructors of `berth image SUB` commands; those with a top-level alias
// (`berth images`, `berth rmi`, ...) are built twice, because a cobra command has one parent.
type imageCommand struct {
	top  string // top-level name, "" for none
	sub  string // name under `berth image`
	ctor func(g *Globals, use string) *cobra.Command
}

var imageCommands []imageCommand

func registerImage(top, sub string, ctor func(g *Globals, use string) *cobra.Command) {
	imageCommands = append(imageCommands, imageCommand{top, sub, ctor})
	if top != "" {
		register(top, func(g *Globals) *cobra.Command { return ctor(g, top) })
	}
}

func init() {
	register("image", func(g *Globals) *cobra.Command {
		parent := &cobra.Command{Use: "image", Short: "Manage images", Args: noArgs}
		// Docker's aliases of `image ls` and `image rm`.
		aliases := map[string][]string{"ls": {"list"}, "rm": {"rmi", "remove"}}
		for _, c := range imageCommands {
			sub := c.ctor(g, c.sub)
			sub.Aliases = aliases[c.sub]
			parent.AddCommand(sub)
		}
		return parent
	})
	registerImage("images", "ls", newImagesCommand)
	registerImage("import", "import", newImportCommand)
	registerImage("tag", "tag", newTagCommand)
	registerImage("rmi", "rm", newRmiCommand)
	registerImage("", "prune", newImagePruneCommand)
	registerImage("history", "history", newHistoryCommand)
	registerImage("", "inspect", newImageInspectCommand)
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("%q accepts no arguments.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
		c.CommandPath(), c.CommandPath(), usageLine(c), c.Short)}
}

// openStore opens the image store under --root.
func openStore(g *Globals) (*image.Store, error) {
	return image.Open(g.Root)
}

// ---- images ----

const (
	defaultImageTable        = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	defaultImageTableDigests = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
)

var imageHeader = format.Header{
	"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
	"CreatedSince": format.CreatedSinceHeader, "CreatedAt": format.CreatedAtHeader, "Size": format.SizeHeader,
	"Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}

// imageRow is one row of `images`: the template fields are its methods (Docker's imageContext).
type imageRow struct {
	trunc  bool
	now    time.Time
	i      *image.Summary
	repo   string
	tag    string
	digest string
}

func (r *imageRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }

func (r *imageRow) ID() string {
	if r.trunc {
		return format.TruncateID(r.i.ID)
	}
	return r.i.ID
}
func (r *imageRow) Repository() string   { return r.repo }
func (r *imageRow) Tag() string          { return r.tag }
func (r *imageRow) Digest() string       { return r.digest }
func (r *imageRow) CreatedSince() string { return format.CreatedSince(r.i.Created, r.now) }
func (r *imageRow) CreatedAt() string    { return time.Unix(r.i.Created.Unix(), 0).String() }
func (r *imageRow) Size() string         { return format.HumanSize(r.i.Size) }
func (r *imageRow) Containers() string {
	if r.i.Containers == -1 {
		return "N/A"
	}
	return strconv.FormatInt(r.i.Containers, 10)
}
func (r *imageRow) VirtualSize() string { return units.HumanSize(float64(r.i.Size)) }
func (r *imageRow) SharedSize() string {
	if r.i.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.i.SharedSize))
}
func (r *imageRow) UniqueSize() string {
	if r.i.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.i.Size - r.i.SharedSize))
}

// imageRows expands summaries into rows as Docker's CLI does: a row per repository tag (per digest
// too with --digests), digest-only repositories as "<none>" tags, dangling images as <none>:<none>.
func imageRows(images []image.Summary, trunc, digests bool, now time.Time) []*imageRow {
	rows := make([]*imageRow, 0, len(images))
	// The rows are allocated a block at a time (most images make one row), not one by one.
	block := make([]imageRow, 0, len(images))
	for i := range images {
		img := &images[i]
		add := func(repo, tag, dgst string) {
			if len(block) == cap(block) {
				block = make([]imageRow, 0, max(16, len(images)-i))
			}
			block = append(block, imageRow{trunc: trunc, now: now, i: img, repo: repo, tag: tag, digest: dgst})
			rows = append(rows, &block[len(block)-1])
		}
		if img.IsDangling() {
			add("<none>", "<none>", "<none>")
			continue
		}
		if len(img.RepoTags) == 1 && len(img.RepoDigests) == 0 {
			// One tag and no digest, the common case: the one row the grouping below would make.
			if repo, tag, _ := reference.SplitStored(img.RepoTags[0]); tag != "" {
				add(repo, tag, "<none>")
			}
			continue
		}
		repoTags := map[string][]string{}
		repoDigests := map[string][]string{}
		// The names come from the store, already valid and familiar: split, don't re-parse.
		for _, s := range img.RepoTags {
			if repo, tag, _ := reference.SplitStored(s); tag != "" {
				repoTags[repo] = append(repoTags[repo], tag)
			}
		}
		for _, s := range img.RepoDigests {
			if repo, _, dgst := reference.SplitStored(s); dgst != "" {
				repoDigests[repo] = append(repoDigests[repo], dgst)
			}
		}
		for _, repo := range sortedKeys(repoTags) {
			ds := repoDigests[repo]
			delete(repoDigests, repo)
			if !digests {
				ds = nil
			}
			for _, tag := range repoTags[repo] {
				if len(ds) == 0 {
					add(repo, tag, "<none>")
					continue
				}
				for _, d := range ds {
					add(repo, tag, d)
				}
			}
		}
		for _, repo := range sortedKeys(repoDigests) {
			if digests {
				for _, d := range repoDigests[repo] {
					add(repo, "<none>", d)
				}
			} else {
				add(repo, "<none>", "")
			}
		}
	}
	return rows
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func newImagesCommand(g *Globals, use string) *cobra.Command {
	var (
		all, quiet, digests, noTrunc bool
		formatStr                    string
		filters                      format.Args
	)
	c := &cobra.Command{
		Use:   use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := filters.Clone()
			if len(args) == 1 {
				f.Add("reference", args[0])
			}
			images, err := image.ListAt(g.Root, image.ListOptions{All: all, Filters: f})
			if err != nil {
				return err
			}
			// Docker shows digests when asked, or when the template names {{.Digest}} (exactly so:
			// "{{ .Digest }}" and {{json .}} print <none>, as Docker's CLI does).
			showDigests := digests || strings.Contains(formatStr, "{{.Digest}}")
			rows := imageRows(images, !noTrunc, showDigests, time.Now())
			def := defaultImageTable
			if digests {
				def = defaultImageTableDigests
			}
			fmtStr := formatStr
			if quiet {
				fmtStr = format.DefaultQuietFormat
			}
			return format.Write(g.Stdout, fmtStr, def, imageHeader, rows)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Show all images (default hides intermediate images)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	fl.BoolVar(&digests, "digests", false, "Show digests")
	fl.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	fl.StringVar(&formatStr, "format", "", "Pretty-print images using a Go template")
	fl.VarP(&filters, "filter", "f", "Filter output based on conditions provided")
	return c
}

// ---- import ----

func newImportCommand(g *Globals, use string) *cobra.Command {
	var changes []string
	var message string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := image.ImportOptions{Changes: changes, Message: message, Source: "-"}
			if len(args) == 2 {
				opts.Ref = args[1]
			}
			var in io.Reader = g.Stdin
			if strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://") {
				resp, err := http.Get(args[0])
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("error downloading %s: %s", args[0], resp.Status)
				}
				in, opts.Source = resp.Body, args[0]
			} else if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			id, err := s.Import(in, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, id)
			return nil
		},
	}
	c.Flags().StringArrayVarP(&changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	c.Flags().StringVarP(&message, "message", "m", "", "Set commit message for imported image")
	return c
}

// ---- tag ----

func newTagCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := reference.ParseTagged(args[1]); err != nil {
				return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("Error parsing reference: %q is not a valid repository/tag: %w", args[1], err)}
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Tag(args[0], args[1])
		},
	}
}

// ---- rmi ----

func newRmiCommand(g *Globals, use string) *cobra.Command {
	var force, noPrune bool
	c := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			// With -f, images that are not there are no failure: Docker 20.10 prints their
			// errors and exits 0 unless another error happened.
			var errs []string
			fatal := false
			for _, ref := range args {
				res, err := s.Remove(ref, force)
				if err != nil {
					fatal = fatal || !errors.Is(err, image.ErrNoSuchImage)
					errs = append(errs, err.Error())
					continue
				}
				printDeleted(g.Stdout, res, "Untagged: ", "Deleted: ")
			}
			if force && !fatal && len(errs) > 0 {
				fmt.Fprintf(g.Stderr, "Error: %s\n", strings.Join(errs, "\nError: "))
				return nil
			}
			return argErrors(errs)
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	c.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents")
	return c
}

func printDeleted(w io.Writer, res []image.DeleteResponse, untagged, deleted string) {
	for _, r := range res {
		if r.Untagged != "" {
			fmt.Fprintf(w, "%s%s\n", untagged, r.Untagged)
		} else {
			fmt.Fprintf(w, "%s%s\n", deleted, r.Deleted)
		}
	}
}

// ---- image prune ----

func newImagePruneCommand(g *Globals, use string) *cobra.Command {
	var all, force bool
	var filters format.Args
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Remove unused images",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			warning := "WARNING! This will remove all dangling images."
			if all {
				warning = "WARNING! This will remove all images without at least one container associated to them."
			}
			if !force && !confirm(g, warning) {
				return nil
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			reclaimed, err := pruneImages(g, s, image.PruneOptions{All: all, Filters: filters})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, "Total reclaimed space:", units.HumanSize(float64(reclaimed)))
			return nil
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.Flags().Var(&filters, "filter", "Provide filter values (e.g. 'until=<timestamp>')")
	return c
}

// pruneImages prunes images and prints Docker's "Deleted Images:" section; `image prune` and
// `system prune` both end with it.
func pruneImages(g *Globals, s *image.Store, opts image.PruneOptions) (int64, error) {
	res, reclaimed, err := s.Prune(opts)
	if err != nil {
		return 0, err
	}
	if len(res) > 0 {
		fmt.Fprintln(g.Stdout, "Deleted Images:")
		printDeleted(g.Stdout, res, "untagged: ", "deleted: ")
		fmt.Fprintln(g.Stdout)
	}
	return reclaimed, nil
}

// printPruned prints a prune's section as Docker does: its title, one line per item and a blank
// line; nothing when nothing went.
func printPruned(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	for _, it := range items {
		fmt.Fprintln(w, it)
	}
	fmt.Fprintln(w)
}

// confirm asks Docker's question and reads the answer from stdin.
func confirm(g *Globals, warning string) bool {
	fmt.Fprintf(g.Stdout, "%s\nAre you sure you want to continue? [y/N] ", warning)
	var answer string
	fmt.Fscanln(g.Stdin, &answer)
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}

// ---- history ----

var historyHeader = format.Header{
	"ID": "IMAGE", "CreatedSince": format.CreatedSinceHeader, "CreatedAt": format.CreatedAtHeader,
	"CreatedBy": "CREATED BY", "Size": format.SizeHeader, "Comment": "COMMENT",
}

// historyRow is one row of `history` (Docker's historyContext).
type historyRow struct {
	h     *image.HistoryItem
	trunc bool
	human bool
	now   time.Time
}

func (r *historyRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }

func (r *historyRow) ID() string {
	if r.trunc && r.h.ID != "<missing>" {
		return format.TruncateID(r.h.ID)
	}
	return r.h.ID
}
func (r *historyRow) CreatedAt() string {
	return time.Unix(r.h.Created.Unix(), 0).Format(time.RFC3339)
}
func (r *historyRow) CreatedSince() string {
	if !r.human {
		return r.CreatedAt()
	}
	return format.CreatedSince(time.Unix(r.h.Created.Unix(), 0), r.now)
}
func (r *historyRow) CreatedBy() string {
	by := strings.ReplaceAll(r.h.CreatedBy, "\t", " ")
	if r.trunc {
		return format.Ellipsis(by, 45)
	}
	return by
}
func (r *historyRow) Size() string {
	if r.human {
		return format.HumanSize(r.h.Size)
	}
	return strconv.FormatInt(r.h.Size, 10)
}
func (r *historyRow) Comment() string { return r.h.Comment }

func newHistoryCommand(g *Globals, use string) *cobra.Command {
	var human, noTrunc, quiet bool
	var formatStr string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			items, err := s.History(args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			rows := make([]*historyRow, len(items))
			for i := range items {
				rows[i] = &historyRow{h: &items[i], trunc: !noTrunc, human: human, now: now}
			}
			def := "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
			if !human {
				def = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
			}
			fmtStr := formatStr
			if quiet {
				fmtStr = format.DefaultQuietFormat
			}
			return format.Write(g.Stdout, fmtStr, def, historyHeader, rows)
		},
	}
	c.Flags().BoolVarP(&human, "human", "H", true, "Print sizes and dates in human readable format")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	c.Flags().StringVar(&formatStr, "format", "", "Pretty-print images using a Go template")
	return c
}

// ---- inspect ----

func newImageInspectCommand(g *Globals, use string) *cobra.Command {
	var formatStr string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			return inspectAll(g, formatStr, args, func(ref string) (any, error) { return s.Inspect(ref) })
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	return c
}

// inspectAll prints objects like Docker's inspect: an indented JSON array, or a template per
// object; objects that are not found are reported after the others and make the command fail.
func inspectAll(g *Globals, formatStr string, refs []string, get func(string) (any, error)) error {
	var objs []any
	var errs []string
	for _, ref := range refs {
		o, err := get(ref)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		objs = append(objs, o)
	}
	if formatStr == "" {
		// Docker builds the array from each object's raw JSON, indented with four spaces.
		raws := make([]json.RawMessage, 0, len(objs))
		for _, o := range objs {
			b, err := json.Marshal(o)
			if err != nil {
				return err
			}
			raws = append(raws, b)
		}
		b, err := json.MarshalIndent(raws, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "%s\n", b)
	} else {
		tmpl, err := format.Parse(formatStr)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := executeInspect(g.Stdout, tmpl, o); err != nil {
				return err
			}
		}
	}
	return argErrors(errs)
}

// executeInspect runs a template on the typed object and, when a field is not found there (the
// JSON name differs, like "Id"), on the object's JSON, as Docker's inspect does.
func executeInspect(w io.Writer, tmpl *template.Template, o any) error {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, o); err != nil {
		b, merr := json.Marshal(o)
		if merr != nil {
			return merr
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var generic any
		if derr := dec.Decode(&generic); derr != nil {
			return derr
		}
		buf.Reset()
		if err := tmpl.Execute(&buf, generic); err != nil {
			return &format.TemplateError{Err: err}
		}
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}
