package metadata

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The image listing's cache, state.db.listcache: what Listing reads (every name and every image's
// listed columns), written by the first listing after a change and read by the next ones
// instead of the rows. Reading 1,000 images and their names row by row through SQLite and
// database/sql was over half of `berth images`' own work (bench/images: stepping, the
// driver's value conversions, database/sql's scans); the file is one read and a walk over it.
//
// It is read in one of two ways:
//   - Inside a read transaction (Tx.Listing), checked against the database: it carries the value
//     of listing_gen it was made from, which triggers replace in the same transaction as any
//     change to images or names, and Listing compares the two. A stale, torn or foreign file is a
//     miss (the rows are read and the file rewritten), never a wrong listing.
//   - Without opening the database at all (SealedListing), when the file is sealed: then no
//     change to the listing has been committed since it was written. Opening the database
//     (SQLite parsing the whole schema on a new connection, pragmas, the first read
//     transaction) was a fifth of `berth images`' CPU over 1,000 images. The seal holds because
//     of three rules, all kept in this package:
//     1. A writer whose transaction changed listing_gen (DB.Update compares it before and after)
//     takes state.db.listlock shared, removes the cache file, commits, and only then lets the
//     lock go; it fails rather than commit if the file cannot be removed.
//     2. A listing that read the rows seals what it read only after its transaction has ended
//     (DB.View): holding state.db.listlock exclusively (or giving up if a writer holds it), it
//     reads listing_gen afresh and writes the file only if the value is still the one its rows
//     came with. No writer can be between rule 1's removal and its commit meanwhile, and a writer
//     that committed after the rows were read changed listing_gen, so what is written is current
//     at that moment, and any later change removes it first.
//     3. The file records the machine's boot and the identity of state.db and its WAL (device,
//     inode, size and modification time of the one; inode of the other): the file is written
//     without fsync and SQLite's commits with synchronous=NORMAL are not durable across a power
//     loss, so after a reboot the two might disagree; a database copied over or restored, or a
//     WAL removed, is another database. Any difference is a miss.
//     Only berth's own writers keep rule 1: a berth from before the seal (magic "berthlc2"),
//     writing to the same root, would leave a sealed file in place that no longer matches.
//
// A missing or unwritable file costs only speed. It is rewritten whole, through a temporary file
// renamed over it, so a reader sees an old file or a new one; no fsync, because the checksum
// catches what a crash leaves, rule 3 what a power loss leaves, and the database stays the only
// record.
//
// Layout, little-endian: the magic; the listing_gen value (8 bytes); the seal (a string, below;
// rule 3's identities); the uvarint counts of images and of names; per image its ID, created
// (varint, unix nanoseconds as stored), size (varint), parent, labels (the stored JSON text),
// then the uvarint count of its names and per name the name and its kind (uvarint); then the
// CRC-32 (IEEE) of everything before it (4 bytes). Strings are a uvarint length and the bytes.
//
// The checksum is IEEE's, not Castagnoli's: Go builds its Castagnoli tables on first use, and a
// first CRC-32C over 118 KB (1,000 images) took about 180 us, IEEE about 40 us; nothing else in
// the process builds the Castagnoli tables any more (third_party/compress/BERTH.md). Files of
// versions 1 ("berthlc1", CRC-32C) and 2 ("berthlc2", no seal) do not match this magic and are
// misses, rewritten by the next listing.

const listCacheMagic = "berthlc3"

// listCachePath is the cache file beside the database.
func (d *DB) listCachePath() string { return d.path + ".listcache" }

// listLockPath is the lock of rules 1 and 2.
func listLockPath(dbPath string) string { return dbPath + ".listlock" }

// Listing returns what an image listing needs, as NameRefs and ImageSummaries would in this
// transaction: every image newest first with only ID, Created, Size, Parent and Labels, each
// with its names (Image.Names, ordered by name). It reads them from the listing cache when that
// is current, and otherwise from the rows; the cache is then rewritten and sealed once the
// transaction has ended (a read transaction of DB.View).
func (t *Tx) Listing() ([]Image, error) {
	gen, err := t.listingGen()
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(t.d.listCachePath()); err == nil {
		if g, seal, images, ok := decodeListing(b); ok && g == gen {
			// Current, but sealed for another identity of the database (a checkpoint changed
			// the file's time, the root was copied): sealed again for this one.
			if key, ok := sealKey(t.d.path); ok && key != seal {
				t.seal, t.sealGen = &images, gen
			}
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
	t.seal, t.sealGen = &images, gen
	return images, nil
}

// listingGen is listing_gen's value in this transaction.
func (t *Tx) listingGen() (int64, error) {
	var gen int64
	err := t.tx.QueryRow(`SELECT gen FROM listing_gen`).Scan(&gen)
	return gen, err
}

// SealedListing is Listing without the database: the listing from the cache of the database at
// path when the cache is sealed (see the comment at the top), ok false otherwise. Nothing is
// opened but the cache file and the stat of the database's files.
func SealedListing(path string) (images []Image, ok bool) {
	b, err := os.ReadFile(path + ".listcache")
	if err != nil {
		return nil, false
	}
	key, ok := sealKey(path)
	if !ok {
		return nil, false
	}
	_, seal, images, ok := decodeListing(b)
	if !ok || seal != key {
		return nil, false
	}
	return images, true
}

// sealKey is rule 3's identity of the database at path as it is now.
func sealKey(path string) (string, bool) {
	var db, wal unix.Stat_t
	if unix.Stat(path, &db) != nil {
		return "", false
	}
	if err := unix.Stat(path+"-wal", &wal); err != nil && err != unix.ENOENT {
		return "", false
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || len(boot) < 32 {
		return "", false
	}
	b := make([]byte, 0, 96)
	b = append(b, bytes.TrimSpace(boot)...)
	for _, v := range []uint64{db.Dev, db.Ino, uint64(db.Size), uint64(db.Mtim.Sec), uint64(db.Mtim.Nsec), wal.Ino} {
		b = append(b, ' ')
		b = strconv.AppendUint(b, v, 16)
	}
	return string(b), true
}

// unsealListing is rule 1's first half: it removes the cache file holding the listing lock
// shared, and returns the release to call once the transaction has committed (or failed).
func (d *DB) unsealListing() (func(), error) {
	lock, err := os.OpenFile(listLockPath(d.path), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the image listing's cache: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, fmt.Errorf("locking the image listing's cache: %w", err)
	}
	if err := os.Remove(d.listCachePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		lock.Close()
		return nil, fmt.Errorf("removing the image listing's cache: %w", err)
	}
	return func() { lock.Close() }, nil
}

// sealListing is rule 2: it writes images, read with listing_gen at gen, as the sealed cache if
// listing_gen is still gen and no writer is between its removal of the cache and its commit.
// It is best effort: a root this process cannot write to still lists, from the rows.
func (d *DB) sealListing(gen int64, images []Image) {
	lock, err := os.OpenFile(listLockPath(d.path), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	defer lock.Close()
	if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // a writer is committing a change: the next listing seals
	}
	key, ok := sealKey(d.path)
	if !ok {
		return
	}
	var now int64
	if d.db.QueryRow(`SELECT gen FROM listing_gen`).Scan(&now) != nil || now != gen {
		return
	}
	writeListCache(d.listCachePath(), encodeListing(gen, key, images))
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

func encodeListing(gen int64, seal string, images []Image) []byte {
	size := len(listCacheMagic) + 8 + 3*binary.MaxVarintLen64 + len(seal) + 4
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
	str(seal)
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

// decodeListing reads an encoded listing: the listing_gen value and the seal it was made with,
// and its images; ok is false for a file torn or not a listing at all. The strings it returns
// share b's memory, which the caller must not change afterwards.
func decodeListing(b []byte) (gen int64, seal string, images []Image, ok bool) {
	const head = len(listCacheMagic) + 8
	if len(b) < head+4 || string(b[:len(listCacheMagic)]) != listCacheMagic {
		return 0, "", nil, false
	}
	gen = int64(binary.LittleEndian.Uint64(b[len(listCacheMagic):]))
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return 0, "", nil, false
	}
	// One string over the file, never changed after: every decoded string is a slice of it
	// (copying 120 KB for 1,000 images, and its page faults, was a tenth of a listing).
	r := listReader{s: unsafe.String(&body[0], len(body)), off: head}
	seal = r.str()
	n, nNames := r.uvarint(), r.uvarint()
	if r.bad || n > uint64(len(body)) || nNames > uint64(len(body)) { // each takes a byte at least
		return 0, "", nil, false
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
			return 0, "", nil, false
		}
		k := r.uvarint()
		if r.bad || k > uint64(len(names)) {
			return 0, "", nil, false
		}
		if k > 0 {
			img.Names, names = names[:k:k], names[k:]
			for j := range img.Names {
				img.Names[j] = Name{Name: r.str(), ImageID: img.ID, Kind: NameKind(r.uvarint())}
			}
		}
	}
	if r.bad || r.off != len(body) || len(names) != 0 {
		return 0, "", nil, false
	}
	return gen, seal, images, true
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
