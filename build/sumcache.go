package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// sumsFile keeps the content digests of context files between builds, by path and stat data
// (device, inode, size, mtime, ctime), so that an unchanged context is not read again to find
// its COPY steps cached. A file whose times are too recent to tell a later change in the same
// clock tick from this read is not remembered.
const sumsFile = "build-sums"

type sumEntry struct {
	Dev, Ino           uint64
	Size, Mtime, Ctime int64
	Sum                [sha256.Size]byte
}

type sumCache struct {
	mu    sync.Mutex
	path  string
	old   map[string]sumEntry
	used  map[string]sumEntry
	dirty bool
}

func loadSums(path string) *sumCache {
	c := &sumCache{path: path, old: map[string]sumEntry{}, used: map[string]sumEntry{}}
	if b, err := os.ReadFile(path); err == nil {
		c.old = decodeSums(b)
	}
	return c
}

// The file: "berth-sums-1\n", then per file its path (uvarint length, bytes), Dev, Ino, Size,
// Mtime, Ctime (uvarints) and the 32-byte digest.
const sumsMagic = "berth-sums-1\n"

func encodeSums(m map[string]sumEntry) []byte {
	b := make([]byte, 0, len(sumsMagic)+len(m)*120)
	b = append(b, sumsMagic...)
	for p, e := range m {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
		for _, v := range []uint64{e.Dev, e.Ino, uint64(e.Size), uint64(e.Mtime), uint64(e.Ctime)} {
			b = binary.AppendUvarint(b, v)
		}
		b = append(b, e.Sum[:]...)
	}
	return b
}

func decodeSums(b []byte) map[string]sumEntry {
	m := map[string]sumEntry{}
	if !bytes.HasPrefix(b, []byte(sumsMagic)) {
		return m
	}
	b = b[len(sumsMagic):]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	for len(b) > 0 {
		l, ok := next()
		if !ok || uint64(len(b)) < l {
			return map[string]sumEntry{}
		}
		p := string(b[:l])
		b = b[l:]
		var vs [5]uint64
		for i := range vs {
			if vs[i], ok = next(); !ok {
				return map[string]sumEntry{}
			}
		}
		if len(b) < sha256.Size {
			return map[string]sumEntry{}
		}
		e := sumEntry{Dev: vs[0], Ino: vs[1], Size: int64(vs[2]), Mtime: int64(vs[3]), Ctime: int64(vs[4])}
		copy(e.Sum[:], b)
		b = b[sha256.Size:]
		m[p] = e
	}
	return m
}

// digest is the sha256 of the content of the file at p; st is its stat data when the caller
// has it (else p is stat'ed).
func (c *sumCache) digest(p string, st *syscall.Stat_t) ([]byte, error) {
	known := c != nil
	if known && st == nil {
		st = new(syscall.Stat_t)
		known = syscall.Stat(p, st) == nil
	}
	var key sumEntry
	if known {
		key = sumEntry{Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
		c.mu.Lock()
		e, ok := c.used[p]
		if !ok {
			e, ok = c.old[p]
		}
		c.mu.Unlock()
		if ok && e.Dev == key.Dev && e.Ino == key.Ino && e.Size == key.Size && e.Mtime == key.Mtime && e.Ctime == key.Ctime {
			c.mu.Lock()
			c.used[p] = e
			c.mu.Unlock()
			return e.Sum[:], nil
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, err
	}
	sum := h.Sum(nil)
	// A change within the file system's clock tick after this read would leave the stat data
	// as it is: only files whose times are older than a few ticks are remembered (file systems
	// with whole-second times get two seconds).
	window := 100 * time.Millisecond
	if key.Mtime%1e9 == 0 && key.Ctime%1e9 == 0 {
		window = 2 * time.Second
	}
	recent := time.Now().Add(-window).UnixNano()
	if known && key.Mtime < recent && key.Ctime < recent {
		copy(key.Sum[:], sum)
		c.mu.Lock()
		c.used[p] = key
		c.dirty = true
		c.mu.Unlock()
	}
	return sum, nil
}

// save writes the digests back: those used by this build, and earlier ones while there are
// not too many.
func (c *sumCache) save() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return
	}
	out := c.used
	if len(c.old)+len(c.used) < 200000 {
		out = make(map[string]sumEntry, len(c.old)+len(c.used))
		for k, v := range c.old {
			out[k] = v
		}
		for k, v := range c.used {
			out[k] = v
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".build-sums-")
	if err != nil {
		return
	}
	if _, err := tmp.Write(encodeSums(out)); err != nil || tmp.Close() != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), c.path) != nil {
		os.Remove(tmp.Name())
	}
}
