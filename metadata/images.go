package metadata

import (
	"database/sql"
	"encoding/json"
	"errors"
	"sort"
	"time"
)

// Image is an image's row: what listing and filtering need without opening any blob.
type Image struct {
	ID          string // "sha256:<config digest hex>"
	Manifest    string // digest of the manifest blob in the content store
	MediaType   string // the manifest's media type
	Created     time.Time
	Size        int64 // unpacked size of all layers
	Parent      string
	Labels      map[string]string
	LastTagTime time.Time
	Added       time.Time
	Layers      []string // chain IDs, bottom first
	Blobs       []string // digests of the manifest, config and layer blobs
	Names       []Name   // its names, ordered by name: filled by Listing only

	rawLabels string // Labels as stored (JSON, "" when none); set by ImageSummaries for the listing cache
}

// NameKind tells a tag name from a digest name.
type NameKind int

const (
	KindTag    NameKind = 1
	KindDigest NameKind = 2
)

// Name is one stored reference ("docker.io/library/busybox:latest") to an image.
type Name struct {
	Name    string
	ImageID string
	Kind    NameKind
	Updated time.Time
}

// Layer is an unpacked layer, shared by every image whose chain reaches it.
type Layer struct {
	ChainID string
	DiffID  string
	Parent  string // parent chain ID, "" for a base layer
	Size    int64
}

// PutImage records an image (replacing a row with the same ID) with its layer list.
func (t *Tx) PutImage(img Image) error {
	labels := ""
	if len(img.Labels) > 0 {
		b, err := json.Marshal(img.Labels)
		if err != nil {
			return err
		}
		labels = string(b)
	}
	if img.Added.IsZero() {
		img.Added = time.Now()
	}
	_, err := t.tx.Exec(`INSERT INTO images(id, manifest, media_type, created, size, parent, labels, last_tag_time, added)
		VALUES(?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET manifest=excluded.manifest, media_type=excluded.media_type`,
		img.ID, img.Manifest, img.MediaType, nanos(img.Created), img.Size, img.Parent, labels,
		nanos(img.LastTagTime), nanos(img.Added))
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(`DELETE FROM image_layers WHERE image_id = ?`, img.ID); err != nil {
		return err
	}
	for i, c := range img.Layers {
		if _, err := t.tx.Exec(`INSERT INTO image_layers(image_id, idx, chain_id) VALUES(?,?,?)`, img.ID, i, c); err != nil {
			return err
		}
	}
	for _, d := range img.Blobs {
		if _, err := t.tx.Exec(`INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?,?)`, img.ID, d); err != nil {
			return err
		}
	}
	return nil
}

// BlobInUse reports whether any image needs the blob.
//
// The roots are images and the build cache (a cached step's layer blob outlives the images that
// were built with it, so a later build can reuse it).
func (t *Tx) BlobInUse(digest string) (bool, error) {
	var n int
	err := t.tx.QueryRow(`SELECT (SELECT count(*) FROM image_blobs WHERE digest = ?) +
		(SELECT count(*) FROM build_cache WHERE blob = ?)`, digest, digest).Scan(&n)
	return n > 0, err
}

// UsedBlobs returns every blob digest some image needs.
func (t *Tx) UsedBlobs() (map[string]bool, error) {
	ds, err := t.strings(`SELECT digest FROM image_blobs UNION SELECT blob FROM build_cache WHERE blob != ''`)
	out := make(map[string]bool, len(ds))
	for _, d := range ds {
		out[d] = true
	}
	return out, err
}

// UnusedLayers returns the layers neither an image, a container nor the build cache uses (a
// container's record lists its image's layers as ImageLayers, so they outlive a deleted image).
func (t *Tx) UnusedLayers() ([]string, error) {
	return t.strings(`SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)
		AND chain_id NOT IN (SELECT chain_id FROM build_cache)
		AND chain_id NOT IN (SELECT j.value FROM containers,
			json_each(CASE WHEN json_valid(containers.config) THEN containers.config ELSE '{}' END, '$.ImageLayers') AS j)`)
}

// ContainersWithoutLayers returns the containers created from an image whose record does not
// list the image's layers (made by an older berth): they need the image to start.
func (t *Tx) ContainersWithoutLayers(imageID string) ([]string, error) {
	return t.strings(`SELECT id FROM containers WHERE image_id = ?
		AND (NOT json_valid(config) OR json_extract(config, '$.ImageLayers') IS NULL) ORDER BY created`, imageID)
}

// ImageBlobs returns the blobs of one image.
func (t *Tx) ImageBlobs(id string) ([]string, error) {
	return t.strings(`SELECT digest FROM image_blobs WHERE image_id = ?`, id)
}

const imageCols = `id, manifest, media_type, created, size, parent, labels, last_tag_time, added`

func scanImage(sc interface{ Scan(...any) error }) (Image, error) {
	var img Image
	var created, ltt, added int64
	var labels string
	if err := sc.Scan(&img.ID, &img.Manifest, &img.MediaType, &created, &img.Size, &img.Parent, &labels, &ltt, &added); err != nil {
		return img, err
	}
	img.Created, img.LastTagTime, img.Added = fromNanos(created), fromNanos(ltt), fromNanos(added)
	if labels != "" {
		if err := json.Unmarshal([]byte(labels), &img.Labels); err != nil {
			return img, err
		}
	}
	return img, nil
}

// Image returns one image with its layers, or ErrNotFound.
func (t *Tx) Image(id string) (Image, error) {
	img, err := scanImage(t.tx.QueryRow(`SELECT `+imageCols+` FROM images WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return img, ErrNotFound
	}
	if err != nil {
		return img, err
	}
	rows, err := t.tx.Query(`SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx`, id)
	if err != nil {
		return img, err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return img, err
		}
		img.Layers = append(img.Layers, c)
	}
	return img, rows.Err()
}

// Images returns every image, without their layer lists (see ImageLayers), newest first.
func (t *Tx) Images() ([]Image, error) {
	rows, err := t.tx.Query(`SELECT ` + imageCols + ` FROM images ORDER BY created DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Image
	for rows.Next() {
		img, err := scanImage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, rows.Err()
}

// ImageSummaries is Images with only what a listing shows (ID, Created, Size, Parent, Labels):
// manifests, media types, LastTagTime and Added are left empty, so no row copies them. Newest
// first, as Images.
//
// It is what `berth images` reads when the listing cache (listcache.go) is stale: the rows are
// read in table order and sorted here, which spares SQLite's sorter (about a quarter of the query's time over 1,000 images, bench/images).
// expect sizes the result (the caller's guess at the number of images, such as the number of
// names): growing a slice of 1,000 Images by append costs twice what a count(*) statement did,
// and that statement a prepare and a scan (about 1% of a listing's CPU each way).
func (t *Tx) ImageSummaries(expect int) ([]Image, error) {
	rows, err := t.tx.Query(`SELECT id, created, size, parent, labels FROM images`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	expect = max(expect, 16)
	out := make([]Image, 0, expect)
	created := make([]int64, 0, expect)
	// One set of scan targets for every row (each would escape to the heap otherwise).
	var r struct {
		id, parent, labels string
		created, size      int64
	}
	for rows.Next() {
		if err := rows.Scan(&r.id, &r.created, &r.size, &r.parent, &r.labels); err != nil {
			return nil, err
		}
		img := Image{ID: r.id, Size: r.size, Parent: r.parent, Created: fromNanos(r.created), rawLabels: r.labels}
		if r.labels != "" {
			if err := json.Unmarshal([]byte(r.labels), &img.Labels); err != nil {
				return nil, err
			}
		}
		out = append(out, img)
		created = append(created, r.created)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Sort(byCreated{out, created})
	return out, nil
}

// byCreated orders images as `ORDER BY created DESC, id` does (created in stored nanoseconds,
// IDs compared bytewise, as SQLite's BINARY collation).
type byCreated struct {
	img     []Image
	created []int64
}

func (s byCreated) Len() int { return len(s.img) }
func (s byCreated) Less(i, j int) bool {
	if s.created[i] != s.created[j] {
		return s.created[i] > s.created[j]
	}
	return s.img[i].ID < s.img[j].ID
}
func (s byCreated) Swap(i, j int) {
	s.img[i], s.img[j] = s.img[j], s.img[i]
	s.created[i], s.created[j] = s.created[j], s.created[i]
}

// ImageLayers maps every image ID to its chain IDs, bottom first.
func (t *Tx) ImageLayers() (map[string][]string, error) {
	rows, err := t.tx.Query(`SELECT image_id, chain_id FROM image_layers ORDER BY image_id, idx`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, c string
		if err := rows.Scan(&id, &c); err != nil {
			return nil, err
		}
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}

// ImageIDsWithPrefix returns the IDs starting with prefix ("sha256:84a2..."), at most limit.
func (t *Tx) ImageIDsWithPrefix(prefix string, limit int) ([]string, error) {
	// The prefix is hex (checked by the caller), so it holds no LIKE wildcard.
	rows, err := t.tx.Query(`SELECT id FROM images WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`,
		prefix, prefix+"\xff", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// DeleteImage removes an image row and its layer list (names must be gone already).
func (t *Tx) DeleteImage(id string) error {
	// Its blobs and layers may be garbage now: GC looks at them.
	blobs, err := t.ImageBlobs(id)
	if err != nil {
		return err
	}
	layers, err := t.strings(`SELECT chain_id FROM image_layers WHERE image_id = ?`, id)
	if err != nil {
		return err
	}
	if err := t.AddCandidates(CandidateBlob, blobs...); err != nil {
		return err
	}
	if err := t.AddCandidates(CandidateLayer, layers...); err != nil {
		return err
	}
	_, err = t.tx.Exec(`DELETE FROM images WHERE id = ?`, id)
	return err
}

// Children returns the IDs of images whose parent is id.
func (t *Tx) Children(id string) ([]string, error) {
	return t.strings(`SELECT id FROM images WHERE parent = ?`, id)
}

// SetName points name at imageID, replacing whatever it pointed at, and returns the previous image
// ID ("" if the name is new).
func (t *Tx) SetName(name, imageID string, kind NameKind, when time.Time) (string, error) {
	var prev string
	err := t.tx.QueryRow(`SELECT image_id FROM names WHERE name = ?`, name).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	if _, err := t.tx.Exec(`INSERT INTO names(name, image_id, kind, updated) VALUES(?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET image_id=excluded.image_id, kind=excluded.kind, updated=excluded.updated`,
		name, imageID, int(kind), nanos(when)); err != nil {
		return "", err
	}
	if kind == KindTag {
		if _, err := t.tx.Exec(`UPDATE images SET last_tag_time = ? WHERE id = ?`, nanos(when), imageID); err != nil {
			return "", err
		}
	}
	return prev, nil
}

// ResolveName returns the image a name points at, or ErrNotFound.
func (t *Tx) ResolveName(name string) (string, error) {
	var id string
	err := t.tx.QueryRow(`SELECT image_id FROM names WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return id, err
}

// DeleteName removes a name; it reports whether the name existed.
func (t *Tx) DeleteName(name string) (bool, error) {
	res, err := t.tx.Exec(`DELETE FROM names WHERE name = ?`, name)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Names returns every name, ordered by name.
func (t *Tx) Names() ([]Name, error) {
	// Read in table order and sorted here (bytewise, as SQLite's BINARY collation): walking the
	// name index instead costs a table lookup per row, a third of the query (bench/images).
	out, err := t.names(`SELECT name, image_id, kind, updated FROM names`)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// NameRefs is Names without their update times (left zero): what a listing needs, one column
// fewer to read and convert per name.
func (t *Tx) NameRefs() ([]Name, error) {
	rows, err := t.tx.Query(`SELECT name, image_id, kind FROM names`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Name, 0, 64)
	var n Name
	var kind int
	for rows.Next() {
		if err := rows.Scan(&n.Name, &n.ImageID, &kind); err != nil {
			return nil, err
		}
		n.Kind = NameKind(kind)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// NamesOf returns the names of one image, ordered by name.
func (t *Tx) NamesOf(imageID string) ([]Name, error) {
	return t.names(`SELECT name, image_id, kind, updated FROM names WHERE image_id = ? ORDER BY name`, imageID)
}

// NamesWithPrefix returns the names starting with prefix ("docker.io/library/busybox:").
func (t *Tx) NamesWithPrefix(prefix string) ([]Name, error) {
	return t.names(`SELECT name, image_id, kind, updated FROM names WHERE substr(name, 1, ?) = ? ORDER BY name`,
		len(prefix), prefix)
}

func (t *Tx) names(q string, args ...any) ([]Name, error) {
	rows, err := t.tx.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Name, 0, 64)
	var n Name
	var kind int
	var upd int64
	for rows.Next() {
		if err := rows.Scan(&n.Name, &n.ImageID, &kind, &upd); err != nil {
			return nil, err
		}
		n.Kind, n.Updated = NameKind(kind), fromNanos(upd)
		out = append(out, n)
	}
	return out, rows.Err()
}

// PutLayer records an unpacked layer; recording an existing chain ID is a no-op.
func (t *Tx) PutLayer(l Layer) error {
	_, err := t.tx.Exec(`INSERT INTO layers(chain_id, diff_id, parent, size) VALUES(?,?,?,?)
		ON CONFLICT(chain_id) DO NOTHING`, l.ChainID, l.DiffID, l.Parent, l.Size)
	return err
}

// Layer returns a layer by chain ID, or ErrNotFound.
func (t *Tx) Layer(chainID string) (Layer, error) {
	var l Layer
	err := t.tx.QueryRow(`SELECT chain_id, diff_id, parent, size FROM layers WHERE chain_id = ?`, chainID).
		Scan(&l.ChainID, &l.DiffID, &l.Parent, &l.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	return l, err
}

// Layers returns every layer keyed by chain ID.
func (t *Tx) Layers() (map[string]Layer, error) {
	rows, err := t.tx.Query(`SELECT chain_id, diff_id, parent, size FROM layers`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Layer{}
	for rows.Next() {
		var l Layer
		if err := rows.Scan(&l.ChainID, &l.DiffID, &l.Parent, &l.Size); err != nil {
			return nil, err
		}
		out[l.ChainID] = l
	}
	return out, rows.Err()
}

// DeleteLayer removes a layer row.
func (t *Tx) DeleteLayer(chainID string) error {
	if err := t.AddCandidates(CandidateLayer, chainID); err != nil {
		return err
	}
	_, err := t.tx.Exec(`DELETE FROM layers WHERE chain_id = ?`, chainID)
	return err
}

func (t *Tx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.tx.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
