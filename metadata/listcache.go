package metadata

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The image listing's cache, state.db.listcache: what Listing reads (every name and every image's
// listed columns), written by the first listing after a change and read by the next ones
// instead of the rows. Reading 1,000 images and their names row by row through SQLite and
// database/sql was over half of `berth images`' own work (bench/images: stepping, the
// driver's value conversions, database/sql's scans); the file is one read and a walk over it.
//
// It is always checked against the database, never trusted alone: it carries the value of
// listing_gen it was made from, which triggers replace in the same transaction as any change to
// images or names, and Listing compares the two inside its read transaction. A stale, torn or
// foreign file is a miss (the rows are read and the file rewritten), never a wrong listing; a
// missing or unwritable file costs only speed. It is rewritten whole, through a temporary file
// renamed over it, so a reader sees an old file or a new one; no fsync, because the checksum
// catches what a crash leaves and the database stays the only record.
//
// Layout, little-endian: the magic; the listing_gen value (8 bytes); uvarint image count, and
// per image its ID, created (varint, unix nanoseconds as stored), size (varint), parent and
// labels (the stored JSON text); uvarint name count, and per name the name, the index of its
// image in the list above (the count itself when the image is not listed, then the image ID
// follows) and its kind (uvarint); then the CRC-32C of everything before it (4 bytes). Strings
// are a uvarint length and the bytes.

const listCacheMagic = "berthlc1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// listCachePath is the cache file beside the database.
func (d *DB) listCachePath() string { return d.path + ".listcache" }

// Listing returns what an image listing needs, as NameRefs and ImageSummaries (with expect as
// the number of names) would in this transaction: every name ordered by name, and every image
// newest first with only ID, Created, Size, Parent and Labels. It reads them from the listing
// cache when that is current, and otherwise from the rows, then refreshes the cache.
func (t *Tx) Listing() ([]Name, []Image, error) {
	var gen int64
	if err := t.tx.QueryRow(`SELECT gen FROM listing_gen`).Scan(&gen); err != nil {
		return nil, nil, err
	}
	if b, err := os.ReadFile(t.d.listCachePath()); err == nil {
		if names, images, ok := decodeListing(b, gen); ok {
			return names, images, nil
		}
	}
	names, err := t.NameRefs()
	if err != nil {
		return nil, nil, err
	}
	images, err := t.ImageSummaries(len(names) + 16)
	if err != nil {
		return nil, nil, err
	}
	// Best effort: a root this process cannot write to still lists, from the rows.
	writeListCache(t.d.listCachePath(), encodeListing(gen, names, images))
	return names, images, nil
}

func encodeListing(gen int64, names []Name, images []Image) []byte {
	size := len(listCacheMagic) + 8 + 2*binary.MaxVarintLen64 + 4
	index := make(map[string]int, len(images))
	for i, img := range images {
		index[img.ID] = i
		size += 5*binary.MaxVarintLen64 + len(img.ID) + len(img.Parent) + len(img.rawLabels)
	}
	for _, n := range names {
		size += 3*binary.MaxVarintLen64 + len(n.Name)
	}
	b := make([]byte, 0, size)
	b = append(b, listCacheMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(gen))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(images)))
	for _, img := range images {
		str(img.ID)
		b = binary.AppendVarint(b, nanos(img.Created))
		b = binary.AppendVarint(b, img.Size)
		str(img.Parent)
		str(img.rawLabels)
	}
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		str(n.Name)
		if i, ok := index[n.ImageID]; ok {
			b = binary.AppendUvarint(b, uint64(i))
		} else {
			b = binary.AppendUvarint(b, uint64(len(images)))
			str(n.ImageID)
		}
		b = binary.AppendUvarint(b, uint64(n.Kind))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// listReader walks an encoded listing; any overrun sets bad.
type listReader struct {
	s   string // the file, as one string: every decoded string is a slice of it
	off int
	bad bool
}

func (r *listReader) uvarint() uint64 {
	var x uint64
	for shift := 0; shift < 64; shift += 7 {
		if r.off >= len(r.s) {
			break
		}
		c := r.s[r.off]
		r.off++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x
		}
	}
	r.bad = true
	return 0
}

func (r *listReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *listReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)-r.off) {
		r.bad = true
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// decodeListing reads an encoded listing made from listing_gen value gen; ok is false for a file
// made from another value, torn, or not a listing at all.
func decodeListing(b []byte, gen int64) (names []Name, images []Image, ok bool) {
	const head = len(listCacheMagic) + 8
	if len(b) < head+4 || string(b[:len(listCacheMagic)]) != listCacheMagic ||
		int64(binary.LittleEndian.Uint64(b[len(listCacheMagic):])) != gen {
		return nil, nil, false
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, nil, false
	}
	r := listReader{s: string(body), off: head}
	n := r.uvarint()
	if n > uint64(len(body)) { // every image takes at least one byte
		return nil, nil, false
	}
	images = make([]Image, n)
	for i := range images {
		img := &images[i]
		img.ID = r.str()
		img.Created = fromNanos(r.varint())
		img.Size = r.varint()
		img.Parent = r.str()
		img.rawLabels = r.str()
		if img.rawLabels != "" && json.Unmarshal([]byte(img.rawLabels), &img.Labels) != nil {
			return nil, nil, false
		}
	}
	n = r.uvarint()
	if r.bad || n > uint64(len(body)) {
		return nil, nil, false
	}
	names = make([]Name, n)
	for i := range names {
		nm := &names[i]
		nm.Name = r.str()
		if j := r.uvarint(); j < uint64(len(images)) {
			nm.ImageID = images[j].ID
		} else {
			nm.ImageID = r.str()
		}
		nm.Kind = NameKind(r.uvarint())
	}
	if r.bad || r.off != len(body) {
		return nil, nil, false
	}
	return names, images, true
}

// writeListCache replaces the cache file with b (see the comment at the top), ignoring failures.
func writeListCache(path string, b []byte) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
