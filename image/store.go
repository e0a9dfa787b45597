package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-engine/berth/content"
	"github.com/berth-engine/berth/layer"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/opencontainers/go-digest"
)

// Store is berth's image store under one root directory: blobs in the content store, unpacked
// layers in the layer store, and the records tying them to names in the metadata database.
//
// Writers (import, load, pull, build) hold the root's lock shared for the whole operation;
// garbage collection holds it exclusively. So GC never sees the blobs and layers a writer has
// written but not yet recorded, and a writer killed with -9 releases its share at once.
type Store struct {
	Root    string
	Content *content.Store
	Layers  *layer.Store
	DB      *metadata.DB
}

// Open opens (creating if needed) the store at root. A root that holds content (blobs, layers or
// containers) but whose database is missing, empty or unreadable is refused with a DamagedError
// and left as it is: an empty database there would say that nothing is in use, and the next
// prune would delete everything. A new, empty root gets a new database.
func Open(root string) (*Store, error) {
	s, err := openParts(root)
	if err != nil {
		return nil, err
	}
	if s.DB, err = openDB(root); err != nil {
		return nil, err
	}
	s.hook()
	return s, nil
}

func openParts(root string) (*Store, error) {
	rootErr := func(err error) error {
		return fmt.Errorf("opening berth's root directory %s: %w (run berth as a user who may write it, or choose another with --root or BERTH_ROOT)", root, err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, rootErr(err)
	}
	// Nobody else may walk the store (CVE-2021-41091: unprivileged users reached set-uid
	// programs in containers' root filesystems through Docker's data root): a root made
	// beforehand with looser permissions loses its bits for others, as Docker tightens its own.
	if fi, err := os.Stat(root); err == nil && fi.Mode().Perm()&0o007 != 0 && os.Geteuid() == 0 {
		if err := os.Chmod(root, fi.Mode().Perm()&^0o007); err != nil {
			return nil, err
		}
	}
	cs, err := content.Open(root)
	if err != nil {
		return nil, rootErr(err)
	}
	ls, err := layer.Open(root)
	if err != nil {
		return nil, rootErr(err)
	}
	return &Store{Root: root, Content: cs, Layers: ls}, nil
}

// Inventory counts what root holds on disk, without its database: what `system check` can
// still say about a root whose database is lost.
func Inventory(root string) (blobs, layers, containers int) {
	count := func(dir string, keep func(string) bool) int {
		n := 0
		ents, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range ents {
			if keep(e.Name()) {
				n++
			}
		}
		return n
	}
	notTemp := func(n string) bool { return !strings.Contains(n, ".tmp-") }
	return count("blobs/sha256", notTemp), count("layers", notTemp),
		count("containers", func(n string) bool { return !strings.HasPrefix(n, "build-") })
}

// hook makes the content and layer stores record every blob and layer as a garbage candidate
// before it appears (see metadata's gc_candidates).
func (s *Store) hook() {
	s.Content.OnCommit = func(d digest.Digest) error { return s.DB.AddCandidate(metadata.CandidateBlob, d.String()) }
	s.Layers.OnCommit = func(c digest.Digest) error { return s.DB.AddCandidate(metadata.CandidateLayer, c.String()) }
}

func dbPath(root string) string { return filepath.Join(root, "state.db") }

func openDB(root string) (*metadata.DB, error) {
	path := dbPath(root)
	db, err := metadata.OpenExisting(path)
	if err == nil {
		return db, nil
	}
	if !metadata.Unusable(err) {
		return nil, err // busy, read-only, a failing disk: not a reason to doubt the file
	}
	if holds := heldContent(root); len(holds) > 0 {
		return nil, &DamagedError{Root: root, DB: path, Holds: holds, Cause: err}
	}
	if !errors.Is(err, metadata.ErrNoSchema) {
		return nil, err
	}
	return metadata.Open(path)
}

// heldContent names the directories of root that hold something a database must account for.
func heldContent(root string) []string {
	var out []string
	for _, d := range []string{"blobs/sha256", "layers", "containers", "volumes"} {
		f, err := os.Open(filepath.Join(root, d))
		if err != nil {
			continue
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			if !strings.Contains(n, ".tmp-") {
				out = append(out, strings.TrimSuffix(d, "/sha256")+"/")
				break
			}
		}
	}
	return out
}

// DamagedError refuses a root whose content has lost its database.
type DamagedError struct {
	Root, DB string
	Holds    []string // "blobs/", "layers/", "containers/", "volumes/"
	Cause    error    // metadata.ErrNoSchema, or why SQLite cannot read it
}

func (e *DamagedError) Error() string {
	what := "is missing or empty"
	if !errors.Is(e.Cause, metadata.ErrNoSchema) {
		what = fmt.Sprintf("cannot be read (%v)", e.Cause)
		var me *metadata.Error
		if errors.As(e.Cause, &me) {
			what = fmt.Sprintf("cannot be read (%v)", me.Err)
		}
	}
	return fmt.Sprintf("the state database %s %s, but %s holds content (%s): berth refuses to use this root so that "+
		"nothing in it is taken for unused; nothing has been removed. Restore state.db from a backup or check --root, "+
		"or run 'berth system check --repair' to rebuild the image records from the blobs (tags, containers and build cache cannot be rebuilt)",
		e.DB, what, e.Root, strings.Join(e.Holds, ", "))
}

// Close releases the database.
func (s *Store) Close() error { return s.DB.Close() }

func (s *Store) lockFile() (*os.File, error) {
	return os.OpenFile(filepath.Join(s.Root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
}

// BeginWrite takes the store's lock shared for a write operation and returns its release. When no
// other writer runs it first sweeps what crashed writers left (ingest files, staged layers).
func (s *Store) BeginWrite() (release func(), err error) {
	f, err := s.lockFile()
	if err != nil {
		return nil, err
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		s.sweep()
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// beginExclusive waits until no writer runs and keeps others out (garbage collection).
func (s *Store) beginExclusive() (release func(), err error) {
	f, err := s.lockFile()
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// sweep removes leftovers of interrupted writes; the caller holds the lock exclusively.
func (s *Store) sweep() {
	s.Content.CleanIngest()
	s.Layers.CleanTemp()
}

// ErrNoSuchImage is returned (wrapped in NotFoundError) when a reference resolves to nothing.
var ErrNoSuchImage = errors.New("no such image")

// NotFoundError says which reference was not found, in Docker's words. Resolve names a name with
// its default tag ("nosuch:latest", as Docker's daemon does); commands whose Docker CLI echoes the
// user's words (rmi, inspect, save) replace Ref with them.
type NotFoundError struct{ Ref string }

func (e NotFoundError) Error() string { return "No such image: " + e.Ref }
func (e NotFoundError) Is(t error) bool {
	return t == ErrNoSuchImage
}

// Resolve finds the image a user's reference names, the way Docker does: a full "sha256:" ID, then
// a name (":latest" added), then a unique ID prefix.
func (s *Store) Resolve(ref string) (string, error) {
	var id string
	err := s.DB.View(func(tx *metadata.Tx) error {
		var err error
		id, err = resolve(tx, ref)
		return err
	})
	return id, err
}

func resolve(tx *metadata.Tx, ref string) (string, error) {
	if d, err := digest.Parse(ref); err == nil {
		if _, err := tx.Image(d.String()); err == nil {
			return d.String(), nil
		}
		return "", NotFoundError{ref}
	}
	notFound := NotFoundError{ref}
	if n, err := reference.Parse(ref); err == nil {
		full := reference.WithDefaultTag(n)
		if id, err := tx.ResolveName(full.String()); err == nil {
			return id, nil
		} else if !errors.Is(err, metadata.ErrNotFound) {
			return "", err
		}
		notFound.Ref = reference.Familiar(full)
	}
	if reference.LooksLikeID(ref) {
		prefix := ref
		if !strings.HasPrefix(prefix, "sha256:") {
			prefix = "sha256:" + prefix
		}
		ids, err := tx.ImageIDsWithPrefix(prefix, 2)
		if err != nil {
			return "", err
		}
		switch len(ids) {
		case 1:
			return ids[0], nil
		case 2:
			return "", fmt.Errorf("image ID prefix %q is ambiguous: it matches more than one image", ref)
		}
	}
	return "", notFound
}

// Image is a stored image: its record, config and manifest.
type Image struct {
	metadata.Image
	Config      *Config
	ConfigRaw   []byte
	Manifest    *Manifest
	ManifestRaw []byte
	Names       []metadata.Name
}

// Get loads an image by ID with its config, manifest and names.
func (s *Store) Get(id string) (*Image, error) {
	img := &Image{}
	err := s.DB.View(func(tx *metadata.Tx) error {
		rec, err := tx.Image(id)
		if errors.Is(err, metadata.ErrNotFound) {
			return NotFoundError{id}
		}
		if err != nil {
			return err
		}
		img.Image = rec
		img.Names, err = tx.NamesOf(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if img.ManifestRaw, err = s.Content.ReadAll(digest.Digest(img.Image.Manifest)); err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", id, err)
	}
	img.Manifest = &Manifest{}
	if err := json.Unmarshal(img.ManifestRaw, img.Manifest); err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", id, err)
	}
	if img.ConfigRaw, err = s.Content.ReadAll(digest.Digest(id)); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", id, err)
	}
	if img.Config, err = ParseConfig(img.ConfigRaw); err != nil {
		return nil, fmt.Errorf("image %s: config: %w", id, err)
	}
	return img, nil
}

// LayerRecord describes one layer of an image being recorded: already unpacked (by chain ID) and
// with its blob in the content store.
type LayerRecord struct {
	DiffID digest.Digest
	Size   int64 // unpacked size (sum of the tar entries' sizes)
}

// Record is everything Put needs to make an image visible.
type Record struct {
	ManifestDigest digest.Digest
	MediaType      string
	ConfigDigest   digest.Digest // the image ID
	Config         *Config
	Layers         []LayerRecord
	Blobs          []digest.Digest       // the layer blobs (manifest and config are added by Put)
	Tags           []reference.Tagged    // names to point at the image
	Digests        []reference.Canonical // repo digests (pulled or pushed images)
}

// Put records an image whose blobs and unpacked layers are already in place, with its names, in
// one transaction, and returns its ID. A name that pointed at another image moves to this one.
func (s *Store) Put(r Record) (id string, err error) {
	id = r.ConfigDigest.String()
	chains := ChainIDs(diffIDs(r.Layers))
	var size int64
	for _, l := range r.Layers {
		size += l.Size
	}
	var labels map[string]string
	if r.Config.Config != nil {
		labels = r.Config.Config.Labels
	}
	created := time.Time{}
	if r.Config.Created != nil {
		created = *r.Config.Created
	}
	now := time.Now()
	err = s.DB.Update(func(tx *metadata.Tx) error {
		for i, l := range r.Layers {
			parent := ""
			if i > 0 {
				parent = chains[i-1].String()
			}
			if err := tx.PutLayer(metadata.Layer{ChainID: chains[i].String(), DiffID: l.DiffID.String(), Parent: parent, Size: l.Size}); err != nil {
				return err
			}
		}
		layers := make([]string, len(chains))
		for i, c := range chains {
			layers[i] = c.String()
		}
		blobs := []string{r.ManifestDigest.String(), id}
		for _, b := range r.Blobs {
			blobs = append(blobs, b.String())
		}
		if err := tx.PutImage(metadata.Image{
			ID: id, Manifest: r.ManifestDigest.String(), MediaType: r.MediaType, Created: created,
			Size: size, Parent: r.Config.Parent, Labels: labels, Added: now, Layers: layers, Blobs: blobs,
		}); err != nil {
			return err
		}
		for _, t := range r.Tags {
			if _, err := tx.SetName(t.String(), id, metadata.KindTag, now); err != nil {
				return err
			}
		}
		for _, d := range r.Digests {
			if _, err := tx.SetName(d.String(), id, metadata.KindDigest, now); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

func diffIDs(ls []LayerRecord) []digest.Digest {
	out := make([]digest.Digest, len(ls))
	for i, l := range ls {
		out[i] = l.DiffID
	}
	return out
}
