package logging

import (
	"io"
	"os"
	"syscall"
	"time"
)

// ReadOptions are `logs`' flags.
type ReadOptions struct {
	Follow bool
	Tail   int // the last Tail entries only; -1 for all
	Since  time.Time
	Until  time.Time
}

// pollInterval is how often a following reader looks for more output.
const pollInterval = 100 * time.Millisecond

// Read calls emit with a container's log entries, oldest first, across the rotated files and the
// live one. With Follow it goes on reading the live file, across rotations, while alive reports
// that the container's supervisor may still write; after alive turns false it reads what was
// written before, then returns.
func Read(c Config, dir, id string, o ReadOptions, alive func() bool, emit func(Entry)) error {
	if c.Type == None {
		return ErrNotReadable
	}
	cd, ok := codecs[c.Type]
	if !ok {
		return ValidateKeys(c)
	}
	path := Path(c, dir, id)
	out := func(e Entry) {
		if !o.Since.IsZero() && e.Time.Before(o.Since) || !o.Until.IsZero() && e.Time.After(o.Until) {
			return
		}
		emit(e)
	}
	// With --tail the entries wait in a ring until every file is read.
	var ring []Entry
	next := 0
	keep := out
	if o.Tail >= 0 {
		keep = func(e Entry) {
			if o.Tail == 0 {
				return
			}
			if len(ring) < o.Tail {
				ring = append(ring, e)
				return
			}
			ring[next] = e
			next = (next + 1) % o.Tail
		}
	}
	names := files(path)
	for _, name := range names[:len(names)-1] {
		r, err := openLogFile(name)
		if os.IsNotExist(err) {
			continue // rotated away while we listed
		}
		if err != nil {
			return err
		}
		d := &decoder{r: r, c: cd}
		for {
			e, err := d.next()
			if err != nil {
				break
			}
			keep(e)
		}
		r.Close()
	}
	f, err := os.Open(path)
	for os.IsNotExist(err) && o.Follow && alive() {
		time.Sleep(pollInterval)
		f, err = os.Open(path)
	}
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var d *decoder
	if f != nil {
		defer func() { f.Close() }()
		d = &decoder{r: f, c: cd}
		for {
			e, err := d.next()
			if err != nil {
				break
			}
			keep(e)
		}
	}
	for i := range ring {
		out(ring[(next+i)%len(ring)])
	}
	if !o.Follow || f == nil {
		return nil
	}
	done := false
	for {
		e, err := d.next()
		if err == nil {
			out(e)
			continue
		}
		if err != io.EOF {
			return err
		}
		if nf := reopened(path, f); nf != nil {
			// Rotated: the old file is read to its end; go on with the new one.
			f.Close()
			f, d = nf, &decoder{r: nf, c: cd}
			continue
		}
		if done {
			return nil
		}
		if !alive() {
			done = true // one more pass: what was written before the exit was recorded
			continue
		}
		time.Sleep(pollInterval)
	}
}

// reopened returns the file now at path when it is not f (the log was rotated), else nil.
func reopened(path string, f *os.File) *os.File {
	var a, b syscall.Stat_t
	if syscall.Stat(path, &a) != nil || syscall.Fstat(int(f.Fd()), &b) != nil {
		return nil
	}
	if a.Ino == b.Ino && a.Dev == b.Dev {
		return nil
	}
	nf, err := os.Open(path)
	if err != nil {
		return nil
	}
	return nf
}

// decoder reads entries from a file that may still grow: a partial entry at the end stays
// buffered until the rest arrives.
type decoder struct {
	r   io.Reader
	c   codec
	buf []byte
	off int
}

func (d *decoder) next() (Entry, error) {
	for {
		if d.off < len(d.buf) {
			n, e, err := d.c.split(d.buf[d.off:])
			if n > 0 {
				d.off += n
				if err != nil {
					continue // an unreadable entry is skipped, as Docker does
				}
				return e, nil
			}
		}
		if d.off > 0 {
			d.buf = append(d.buf[:0], d.buf[d.off:]...)
			d.off = 0
		}
		if cap(d.buf)-len(d.buf) < 32*1024 {
			nb := make([]byte, len(d.buf), 2*cap(d.buf)+64*1024)
			copy(nb, d.buf)
			d.buf = nb
		}
		k, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
		d.buf = d.buf[:len(d.buf)+k]
		if k == 0 {
			if err == nil {
				err = io.EOF
			}
			return Entry{}, err
		}
	}
}
