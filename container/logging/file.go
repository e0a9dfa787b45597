package logging

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Entry is one message of a container's output: a line with its newline, or a piece of a longer
// line (split at 16 KB, as Docker does) without one.
type Entry struct {
	Stream string // "stdout" or "stderr"
	Line   []byte
	Time   time.Time
}

// Writer records a container's output. One process writes a container's log at a time.
type Writer interface {
	Write(Entry) error
	Close() error
}

// Path is where the driver keeps a container's live log under the container's directory dir
// ("" for none, as Docker's inspect shows).
func Path(c Config, dir, id string) string {
	switch c.Type {
	case JSONFile, "":
		return filepath.Join(dir, id+"-json.log")
	case Local:
		return filepath.Join(dir, "local-logs", "container.log")
	}
	return ""
}

// Open opens the container's log for writing, with Docker's errors for bad option values
// ("failed to initialize logging driver: ...").
func Open(c Config, dir, id string) (Writer, error) {
	if c.Type == None {
		return discard{}, nil
	}
	cd, ok := codecs[c.Type]
	if !ok {
		return nil, ValidateKeys(c)
	}
	rot, err := parseRotation(c)
	if err != nil {
		return nil, fmt.Errorf("failed to initialize logging driver: %w", err)
	}
	path := Path(c, dir, id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileWriter{path: path, f: f, size: st.Size(), rot: rot, codec: cd}, nil
}

type discard struct{}

func (discard) Write(Entry) error { return nil }
func (discard) Close() error      { return nil }

// codec is a file driver's on-disk form of entries.
type codec interface {
	encode(buf []byte, e Entry) []byte
	// split decodes the entry at the start of b, returning its length; 0 when b holds no whole
	// entry yet. An entry that is whole but unreadable returns its length and an error.
	split(b []byte) (int, Entry, error)
}

var codecs = map[string]codec{JSONFile: jsonCodec{}, Local: localCodec{}}

// fileWriter appends encoded entries to the live file and rotates it before an entry would take
// it past max-size: the live file becomes path.1 (gzipped to path.1.gz with compress), path.1
// becomes path.2 and so on, and the oldest beyond max-file is dropped.
type fileWriter struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	size  int64
	rot   rotation
	codec codec
	buf   []byte
	last  time.Time
}

func (w *fileWriter) Write(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = w.codec.encode(w.buf[:0], e)
	if w.rot.maxSize >= 0 && w.size > 0 && w.size+int64(len(w.buf)) > w.rot.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	w.last = e.Time
	return err
}

func (w *fileWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

func (w *fileWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return err
	}
	if w.rot.maxFiles > 1 {
		// Make room from the oldest down: path.(n-1) → path.n replaces what was there.
		for i := w.rot.maxFiles - 1; i > 1; i-- {
			for _, ext := range []string{".gz", ""} {
				from := w.path + "." + strconv.Itoa(i-1) + ext
				if _, err := os.Stat(from); err == nil {
					os.Remove(w.path + "." + strconv.Itoa(i) + otherExt(ext))
					if err := os.Rename(from, w.path+"."+strconv.Itoa(i)+ext); err != nil {
						return err
					}
				}
			}
		}
		first := w.path + ".1"
		os.Remove(first)
		os.Remove(first + ".gz")
		if w.rot.compress {
			if err := compressFile(w.path, first+".gz", w.last); err != nil {
				return err
			}
		} else if err := os.Rename(w.path, first); err != nil {
			return err
		}
	}
	// With one file the log starts again, empty (Docker's behaviour for max-file=1).
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	w.f, w.size = f, 0
	return nil
}

func otherExt(ext string) string {
	if ext == "" {
		return ".gz"
	}
	return ""
}

// rotatedMeta is what Docker keeps in a rotated log's gzip header: the time of its last entry,
// so a reader with --since can skip the file.
type rotatedMeta struct {
	LastTime time.Time `json:"lastTime,omitempty"`
}

// compressFile gzips src into dst (through a temporary file, so dst is whole or absent), then
// removes src. A reader holding src open still reads it to its end.
func compressFile(src, dst string, last time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if b, err := json.Marshal(rotatedMeta{LastTime: last}); err == nil {
		zw.Header.Extra = b
	}
	_, err = io.Copy(zw, in)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Remove(src)
}

// files returns a log's files, oldest first: the rotated ones (path.N[.gz], highest N first),
// then the live one.
func files(path string) []string {
	matches, _ := filepath.Glob(path + ".*")
	type rotated struct {
		n    int
		name string
	}
	var rs []rotated
	for _, m := range matches {
		suffix := strings.TrimSuffix(strings.TrimPrefix(m, path+"."), ".gz")
		if n, err := strconv.Atoi(suffix); err == nil && n > 0 {
			rs = append(rs, rotated{n, m})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	out := make([]string, 0, len(rs)+1)
	for _, r := range rs {
		out = append(out, r.name)
	}
	return append(out, path)
}

// openLogFile opens one of a log's files, decompressing a rotated .gz one.
func openLogFile(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil || !strings.HasSuffix(name, ".gz") {
		return f, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}
