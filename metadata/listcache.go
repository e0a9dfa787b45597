package metadata

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"unsafe"
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
// Layout, little-endian: the magic; the listing_gen value (8 bytes); the uvarint counts of images
// and of names; per image its ID, created (varint, unix nanoseconds as stored), size (varint),
// parent, labels (the stored JSON text), then the uvarint count of its names and per name the
// name and its kind (uvarint); then the CRC-32 (IEEE) of everything before it (4 bytes). Strings
// are a uvarint length and the bytes.
//
// The checksum is IEEE's, not Castagnoli's: Go builds its Castagnoli tables on first use, and a
// first CRC-32C over 118 KB (1,000 images) took about 180 us, IEEE about 40 us; nothing else in
// the process builds the Castagnoli tables any more (third_party/compress/BERTH.md). Version 1
// ("berthlc1") used CRC-32C: its files do not match this magic and are misses, rewritten by the
// next listing.

const listCacheMagic = "berthlc2"

// listCachePath is the cache file beside the database.
func (d *DB) listCachePath() string { return d.path + ".listcache" }

// Listing returns what an image listing needs, as NameRefs and ImageSummaries would in this
// transaction: every image newest first with only ID, Created, Size, Parent and Labels, each
// with its names (Image.Names, ordered by name). It reads them from the listing cache when that
// is current, and otherwise from the rows, then refreshes the cache.
func (t *Tx) Listing() ([]Image, error) {
	var gen int64
	if err := t.tx.QueryRow(`SELECT gen FROM listing_gen`).Scan(&gen); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(t.d.listCachePath()); err == nil {
		if images, ok := decodeListing(b, gen); ok {
			return images, nil
		}
	}
	names, err := t.NameRefs()
	if err != nil {
		return nil, err
	}
	images, err := t.ImageSummaries(len(names) + 16)
	if err != nil {
		return nil, err
	}
	groupNames(images, names)
	// Best effort: a root this process cannot write to still lists, from the rows.
	writeListCache(t.d.listCachePath(), encodeListing(gen, images))
	return images, nil
}

// groupNames sets each image's Names from names (ordered by name), in one backing array; a name
// whose image is not in images is left out.
func groupNames(images []Image, names []Name) {
	index := make(map[string]int, len(images))
	for i := range images {
		index[images[i].ID] = i
	}
	count := make([]int, len(images))
	for _, n := range names {
		if i, ok := index[n.ImageID]; ok {
			count[i]++
		}
	}
	flat := make([]Name, 0, len(names))
	start := make([]int, len(images))
	for i, c := range count {
		start[i] = len(flat)
		flat = flat[:len(flat)+c]
	}
	for _, n := range names {
		if i, ok := index[n.ImageID]; ok {
			flat[start[i]] = n
			start[i]++
		}
	}
	off := 0
	for i, c := range count {
		if c > 0 {
			images[i].Names = flat[off : off+c : off+c]
		}
		off += c
	}
}

func encodeListing(gen int64, images []Image) []byte {
	size := len(listCacheMagic) + 8 + 2*binary.MaxVarintLen64 + 4
	nNames := 0
	for _, img := range images {
		size += 6*binary.MaxVarintLen64 + len(img.ID) + len(img.Parent) + len(img.rawLabels)
		for _, n := range img.Names {
			size += 2*binary.MaxVarintLen64 + len(n.Name)
		}
		nNames += len(img.Names)
	}
	b := make([]byte, 0, size)
	b = append(b, listCacheMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(gen))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(images)))
	b = binary.AppendUvarint(b, uint64(nNames))
	for _, img := range images {
		str(img.ID)
		b = binary.AppendVarint(b, nanos(img.Created))
		b = binary.AppendVarint(b, img.Size)
		str(img.Parent)
		str(img.rawLabels)
		b = binary.AppendUvarint(b, uint64(len(img.Names)))
		for _, n := range img.Names {
			str(n.Name)
			b = binary.AppendUvarint(b, uint64(n.Kind))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
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
// made from another value, torn, or not a listing at all. The strings it returns share b's
// memory, which the caller must not change afterwards.
func decodeListing(b []byte, gen int64) (images []Image, ok bool) {
	const head = len(listCacheMagic) + 8
	if len(b) < head+4 || string(b[:len(listCacheMagic)]) != listCacheMagic ||
		int64(binary.LittleEndian.Uint64(b[len(listCacheMagic):])) != gen {
		return nil, false
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, false
	}
	// One string over the file, never changed after: every decoded string is a slice of it
	// (copying 120 KB for 1,000 images, and its page faults, was a tenth of a listing).
	r := listReader{s: unsafe.String(&body[0], len(body)), off: head}
	n, nNames := r.uvarint(), r.uvarint()
	if r.bad || n > uint64(len(body)) || nNames > uint64(len(body)) { // each takes a byte at least
		return nil, false
	}
	images = make([]Image, n)
	names := make([]Name, nNames)
	for i := range images {
		img := &images[i]
		img.ID = r.str()
		img.Created = fromNanos(r.varint())
		img.Size = r.varint()
		img.Parent = r.str()
		img.rawLabels = r.str()
		if img.rawLabels != "" && json.Unmarshal([]byte(img.rawLabels), &img.Labels) != nil {
			return nil, false
		}
		k := r.uvarint()
		if r.bad || k > uint64(len(names)) {
			return nil, false
		}
		if k > 0 {
			img.Names, names = names[:k:k], names[k:]
			for j := range img.Names {
				img.Names[j] = Name{Name: r.str(), ImageID: img.ID, Kind: NameKind(r.uvarint())}
			}
		}
	}
	if r.bad || r.off != len(body) || len(names) != 0 {
		return nil, false
	}
	return images, true
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
