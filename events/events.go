// Package events is berth's event journal: what Docker's daemon keeps in memory for `docker
// events`, kept on disk under --root because berth has no daemon. Every berth process (a CLI
// command, a container's shim, `berth serve`) appends Docker-shaped messages to the same file,
// and readers (GET /events, `berth events`) replay it from a time and follow it as it grows.
//
// The journal is <root>/events/journal, one JSON message per line. An append is one write(2)
// with O_APPEND under a shared flock, so lines of concurrent writers never interleave; when the
// file passes MaxSize the writer that notices takes the lock exclusively and renames it to
// journal.1 (dropping the previous journal.1), so the journal stays bounded at about twice
// MaxSize. Readers read journal.1 then journal, and notice a rotation by the inode changing.
package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/berth-engine/berth/format"
)

// Docker's event types.
const (
	TypeContainer = "container"
	TypeImage     = "image"
	TypeVolume    = "volume"
	TypeNetwork   = "network"
	TypeDaemon    = "daemon"
	TypeBuilder   = "builder"
)

// MaxSize is the size at which the journal is rotated.
var MaxSize int64 = 8 << 20

// Actor is the object an event is about: its ID and attributes (name, image, labels, ...).
type Actor struct {
	ID         string
	Attributes map[string]string
}

// Message is one event, in the shape of Docker's events.Message (the pre-1.52 "status", "id" and
// "from" keys are added by the API for old clients, not stored).
type Message struct {
	Type     string
	Action   string
	Actor    Actor
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

// When is the event's time.
func (m Message) When() time.Time { return time.Unix(0, m.TimeNano) }

// Dir is the journal's directory under root.
func Dir(root string) string { return filepath.Join(root, "events") }

func journalPath(root string) string { return filepath.Join(Dir(root), "journal") }

// Log appends an event about actor to root's journal. It never fails the action it reports: an
// event that cannot be written is lost (as a full events buffer drops them in dockerd).
func Log(root, typ, action, id string, attrs map[string]string) {
	if root == "" {
		return
	}
	now := time.Now()
	m := Message{Type: typ, Action: action, Actor: Actor{ID: id, Attributes: attrs}, Scope: "local",
		Time: now.Unix(), TimeNano: now.UnixNano()}
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	_ = Append(root, m)
}

// Append writes m to root's journal as one line.
func Append(root string, m Message) error {
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if err := os.MkdirAll(Dir(root), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(Dir(root), "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := flock(lock, syscall.LOCK_SH); err != nil {
		return err
	}
	f, err := os.OpenFile(journalPath(root), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(line)
	st, serr := f.Stat()
	f.Close()
	if werr != nil {
		return werr
	}
	if serr == nil && st.Size() > MaxSize {
		// Rotate under the exclusive lock, after checking again that nobody rotated meanwhile.
		_ = flock(lock, syscall.LOCK_UN)
		if err := flock(lock, syscall.LOCK_EX); err != nil {
			return err
		}
		if st, err := os.Stat(journalPath(root)); err == nil && st.Size() > MaxSize {
			_ = os.Rename(journalPath(root), journalPath(root)+".1")
		}
	}
	return nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Filter is Docker's event filter (type, event, container, image, volume, network, label,
// daemon, scope), from the --filter / "filters" arguments.
type Filter struct{ args format.Args }

var filterKeys = map[string]bool{"type": true, "event": true, "container": true, "image": true,
	"volume": true, "network": true, "label": true, "daemon": true, "scope": true, "plugin": true,
	"config": true, "secret": true, "service": true, "node": true}

// NewFilter checks args' keys and returns the filter.
func NewFilter(args format.Args) (Filter, error) {
	if err := args.Validate(filterKeys); err != nil {
		return Filter{}, err
	}
	return Filter{args}, nil
}

// Include reports whether m passes every filter given, with Docker's rules: within a key any
// value matches; a container, volume or network filter matches the actor's ID (or its prefix) or
// its name; an image filter matches an image event's ID or name, or a container event's image,
// with or without its tag.
func (f Filter) Include(m Message) bool {
	a := f.args
	attrs := m.Actor.Attributes
	return f.matchEvent(m.Action) &&
		a.ExactMatch("type", m.Type) &&
		a.ExactMatch("scope", m.Scope) &&
		(!a.Contains("daemon") || m.Type == TypeDaemon && (a.ExactMatch("daemon", m.Actor.ID) || a.ExactMatch("daemon", attrs["name"]))) &&
		f.fuzzyName(TypeContainer, m) &&
		f.fuzzyName(TypeVolume, m) &&
		f.fuzzyName(TypeNetwork, m) &&
		f.matchImage(m) &&
		a.MatchKVList("label", attrs)
}

func (f Filter) matchEvent(action string) bool {
	if f.args.ExactMatch("event", action) {
		return true
	}
	// "exec_start: sh -c ..." and "health_status: healthy" match their bare action.
	if i := strings.Index(action, ":"); i > 0 {
		return f.args.ExactMatch("event", action[:i])
	}
	return false
}

func (f Filter) fuzzyName(typ string, m Message) bool {
	if !f.args.Contains(typ) {
		return true
	}
	return f.args.FuzzyMatch(typ, m.Actor.ID) || f.args.FuzzyMatch(typ, m.Actor.Attributes["name"])
}

func (f Filter) matchImage(m Message) bool {
	if !f.args.Contains("image") {
		return true
	}
	nameAttr := "image"
	if m.Type == TypeImage {
		nameAttr = "name"
	}
	name := m.Actor.Attributes[nameAttr]
	ok := func(v string) bool { return v != "" && f.args.ExactMatch("image", v) }
	return ok(m.Actor.ID) || ok(name) || ok(stripTag(m.Actor.ID)) || ok(stripTag(name))
}

// stripTag takes ":tag" (or "@digest") off an image reference, keeping a registry's port.
func stripTag(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// ReadOptions say which events a reader wants.
type ReadOptions struct {
	Since, Until time.Time // zero: from now (no past events) / forever
	Filter       Filter
	// Follow keeps reading new events until Until (or ctx ends); without it only the events
	// already in the journal are read.
	Follow bool
	// Poll is how often a follower looks for new lines (default 100ms) where inotify is
	// unavailable; with inotify it wakes when the journal changes.
	Poll time.Duration
}

// Read calls fn for each event of root's journal that opts select, in order. With Since zero
// and Follow, only events from now on are read, as `docker events` does. It returns when the
// journal is read (without Follow), when Until has passed, when ctx ends (nil), or when fn fails.
func Read(ctx context.Context, root string, opts ReadOptions, fn func(Message) error) error {
	if opts.Poll == 0 {
		opts.Poll = 100 * time.Millisecond
	}
	since := opts.Since
	// Without since and until only new events are read; with either, the journal is replayed
	// (from its start when only until is given), as dockerd replays its buffer.
	replay := !since.IsZero() || !opts.Until.IsZero()
	emit := func(line []byte) (stop bool, err error) {
		var m Message
		if json.Unmarshal(line, &m) != nil {
			return false, nil // a torn or foreign line is skipped
		}
		t := m.When()
		if t.Before(since) {
			return false, nil
		}
		if !opts.Until.IsZero() && t.After(opts.Until) {
			return true, nil
		}
		if !opts.Filter.Include(m) {
			return false, nil
		}
		return false, fn(m)
	}
	// Past events: the rotated journal, then the current one up to its end.
	if replay {
		if f, err := os.Open(journalPath(root) + ".1"); err == nil {
			stop, err := readLines(f, emit)
			f.Close()
			if err != nil || stop {
				return err
			}
		}
	}
	var (
		f   *os.File
		ino uint64
		rd  *bufio.Reader
		buf []byte
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	open := func(skipToEnd bool) error {
		nf, err := os.Open(journalPath(root))
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if f != nil {
			f.Close()
		}
		f, rd, buf = nf, bufio.NewReader(nf), nil
		if st, err := nf.Stat(); err == nil {
			ino = st.Sys().(*syscall.Stat_t).Ino
		}
		if skipToEnd {
			_, err = f.Seek(0, io.SeekEnd)
		}
		return err
	}
	// The watch starts before the first read, so no line written in between goes unnoticed.
	var w *dirWatch
	if opts.Follow {
		if w = watchDir(Dir(root)); w != nil {
			defer w.Close()
		}
	}
	if err := open(!replay); err != nil {
		return err
	}
	for {
		if f != nil {
			for {
				chunk, err := rd.ReadBytes('\n')
				buf = append(buf, chunk...)
				if err != nil {
					break // an incomplete last line waits for its end
				}
				stop, ferr := emit(bytes.TrimSpace(buf))
				buf = buf[:0]
				if ferr != nil || stop {
					return ferr
				}
			}
		}
		if !opts.Follow {
			return nil
		}
		if !opts.Until.IsZero() && time.Now().After(opts.Until) {
			return nil
		}
		if !w.wait(ctx.Done(), opts.Poll, opts.Until) {
			return nil
		}
		// A rotation: finish the old file (done above), then read the new one from its start.
		if st, err := os.Stat(journalPath(root)); err == nil {
			if f == nil || st.Sys().(*syscall.Stat_t).Ino != ino {
				if f != nil {
					// Lines written to the old file after our last read.
					for {
						chunk, err := rd.ReadBytes('\n')
						buf = append(buf, chunk...)
						if err != nil {
							break
						}
						stop, ferr := emit(bytes.TrimSpace(buf))
						buf = buf[:0]
						if ferr != nil || stop {
							return ferr
						}
					}
				}
				if err := open(false); err != nil {
					return err
				}
			}
		}
	}
}

func readLines(r io.Reader, emit func([]byte) (bool, error)) (bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		stop, err := emit(sc.Bytes())
		if err != nil || stop {
			return stop, err
		}
	}
	return false, nil
}

// Attributes merges an object's labels into attrs (Docker's container and image events carry
// their labels among the attributes).
func Attributes(attrs map[string]string, labels map[string]string) map[string]string {
	out := make(map[string]string, len(attrs)+len(labels))
	for k, v := range labels {
		out[k] = v
	}
	for k, v := range attrs {
		out[k] = v
	}
	return out
}

// FormatLine is `docker events`' default line: the time, type, action and actor, and the
// attributes sorted by key in parentheses.
func FormatLine(m Message) string {
	var b strings.Builder
	if m.TimeNano != 0 {
		b.WriteString(time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00"))
		b.WriteByte(' ')
	}
	b.WriteString(m.Type + " " + m.Action + " " + m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=" + m.Actor.Attributes[k])
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Docker is an event as dockerd sends it to clients of API versions before 1.52 (and as `docker
// events --format` sees it): the message with the deprecated status, id and from keys, which
// container and image events carry.
type Docker struct {
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string
	Action   string
	Actor    Actor
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

// Docker returns m in that shape; with legacy false the deprecated keys stay empty (API 1.52+).
func (m Message) Docker(legacy bool) Docker {
	d := Docker{Type: m.Type, Action: m.Action, Actor: m.Actor, Scope: m.Scope, Time: m.Time, TimeNano: m.TimeNano}
	if legacy && (m.Type == TypeContainer || m.Type == TypeImage) {
		d.Status, d.ID = m.Action, m.Actor.ID
		if m.Type == TypeContainer {
			d.From = m.Actor.Attributes["image"]
		}
	}
	return d
}
