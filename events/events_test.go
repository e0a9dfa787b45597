package events

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-engine/berth/format"
)

func readAll(t *testing.T, root string, o ReadOptions) []Message {
	t.Helper()
	var out []Message
	if err := Read(context.Background(), root, o, func(m Message) error { out = append(out, m); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Docker's line, recorded from the reference daemon (`docker events`).
func TestFormatLineIsDockers(t *testing.T) {
	m := Message{Type: "container", Action: "die", Actor: Actor{ID: "ef0b5dd252e7",
		Attributes: map[string]string{"name": "par-r3", "image": "reference-busybox:1", "exitCode": "0"}},
		TimeNano: time.Date(2026, 12, 3, 7, 25, 1, 416734159, time.UTC).UnixNano()}
	got := FormatLine(m)
	want := time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00") +
		" container die ef0b5dd252e7 (exitCode=0, image=reference-busybox:1, name=par-r3)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	m.Actor.Attributes = nil
	if got := FormatLine(m); strings.Contains(got, "(") {
		t.Errorf("no attributes: %q", got)
	}
}

func TestConcurrentAppendsAreWholeLines(t *testing.T) {
	root := t.TempDir()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				Log(root, TypeContainer, "start", fmt.Sprintf("%d-%d", w, i), map[string]string{"pad": strings.Repeat("x", 300)})
			}
		}(w)
	}
	wg.Wait()
	got := readAll(t, root, ReadOptions{Since: time.Unix(1, 0)})
	if len(got) != 400 {
		t.Fatalf("read %d events, want 400", len(got))
	}
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.Actor.ID] = true
	}
	if len(seen) != 400 {
		t.Errorf("%d distinct events, want 400", len(seen))
	}
}

// Other processes append too: a child process writing through the same code.
func TestAppendFromAnotherProcess(t *testing.T) {
	if os.Getenv("EVENTS_CHILD_ROOT") != "" {
		for i := 0; i < 100; i++ {
			Log(os.Getenv("EVENTS_CHILD_ROOT"), TypeImage, "tag", fmt.Sprint("child-", i), nil)
		}
		return
	}
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendFromAnotherProcess$")
	cmd.Env = append(os.Environ(), "EVENTS_CHILD_ROOT="+root)
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	for i := 0; i < 100; i++ {
		Log(root, TypeContainer, "create", fmt.Sprint("parent-", i), nil)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, root, ReadOptions{Since: time.Unix(1, 0)}); len(got) != 200 {
		t.Errorf("read %d events, want 200", len(got))
	}
}

func TestRotationKeepsTheJournalBounded(t *testing.T) {
	old := MaxSize
	MaxSize = 4096
	t.Cleanup(func() { MaxSize = old })
	root := t.TempDir()
	for i := 0; i < 200; i++ {
		Log(root, TypeContainer, "start", fmt.Sprint(i), nil)
	}
	st, err := os.Stat(journalPath(root))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > MaxSize+512 {
		t.Errorf("journal is %d bytes, over its bound %d", st.Size(), MaxSize)
	}
	got := readAll(t, root, ReadOptions{Since: time.Unix(1, 0)})
	if len(got) == 0 || len(got) >= 200 {
		t.Fatalf("read %d events after rotation", len(got))
	}
	// The newest events survive, in order.
	if last := got[len(got)-1].Actor.ID; last != "199" {
		t.Errorf("last event %s, want 199", last)
	}
	for i := 1; i < len(got); i++ {
		if got[i].TimeNano < got[i-1].TimeNano {
			t.Fatalf("events out of order at %d", i)
		}
	}
}

func TestSinceUntilAndFilters(t *testing.T) {
	root := t.TempDir()
	base := time.Now().Add(-time.Hour)
	add := func(d time.Duration, typ, action, id string, attrs map[string]string) {
		at := base.Add(d)
		if err := Append(root, Message{Type: typ, Action: action, Actor: Actor{ID: id, Attributes: attrs},
			Scope: "local", Time: at.Unix(), TimeNano: at.UnixNano()}); err != nil {
			t.Fatal(err)
		}
	}
	add(1*time.Second, TypeContainer, "create", "aaa111", map[string]string{"name": "web", "image": "busybox:latest", "tier": "front"})
	add(2*time.Second, TypeContainer, "start", "aaa111", map[string]string{"name": "web", "image": "busybox:latest", "tier": "front"})
	add(3*time.Second, TypeImage, "tag", "sha256:abc", map[string]string{"name": "busybox:1"})
	add(4*time.Second, TypeContainer, "exec_start: sh -c true", "bbb222", map[string]string{"name": "db", "image": "alpine"})
	add(5*time.Second, TypeVolume, "create", "data", map[string]string{"driver": "local"})
	add(6*time.Second, TypeNetwork, "connect", "net1", map[string]string{"name": "front", "container": "aaa111"})

	ids := func(ms []Message) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Type+":"+m.Action)
		}
		return strings.Join(s, ",")
	}
	cases := []struct {
		filters      []string
		since, until time.Duration
		want         string
	}{
		{nil, 0, 0, "container:create,container:start,image:tag,container:exec_start: sh -c true,volume:create,network:connect"},
		{nil, 2 * time.Second, 4 * time.Second, "container:start,image:tag,container:exec_start: sh -c true"},
		{[]string{"type=container"}, 0, 0, "container:create,container:start,container:exec_start: sh -c true"},
		{[]string{"event=exec_start"}, 0, 0, "container:exec_start: sh -c true"},
		{[]string{"container=web"}, 0, 0, "container:create,container:start"},
		{[]string{"container=aaa"}, 0, 0, "container:create,container:start"},
		{[]string{"image=busybox"}, 0, 0, "container:create,container:start,image:tag"},
		{[]string{"label=tier=front"}, 0, 0, "container:create,container:start"},
		{[]string{"volume=data"}, 0, 0, "volume:create"},
		{[]string{"network=front"}, 0, 0, "network:connect"},
		{[]string{"type=container", "event=start", "event=create"}, 0, 0, "container:create,container:start"},
	}
	for _, c := range cases {
		args, err := format.ParseFilters(c.filters)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewFilter(args)
		if err != nil {
			t.Fatal(err)
		}
		o := ReadOptions{Filter: f, Since: base}
		if c.since != 0 {
			o.Since = base.Add(c.since)
		}
		if c.until != 0 {
			o.Until = base.Add(c.until)
		}
		if got := ids(readAll(t, root, o)); got != c.want {
			t.Errorf("%v since %v until %v:\n got  %s\n want %s", c.filters, c.since, c.until, got, c.want)
		}
	}
	bad, _ := format.ParseFilters([]string{"colour=red"})
	if _, err := NewFilter(bad); err == nil {
		t.Error("unknown filter key accepted")
	}
}

func TestFollowSeesNewEventsOnly(t *testing.T) {
	root := t.TempDir()
	Log(root, TypeContainer, "create", "before", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Message, 10)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, root, ReadOptions{Follow: true, Poll: 10 * time.Millisecond}, func(m Message) error {
			got <- m
			return nil
		})
	}()
	// Wait until the reader has opened the journal, then append.
	deadline := time.After(30 * time.Second)
	for i := 0; ; i++ {
		Log(root, TypeContainer, "start", fmt.Sprint("after-", i), nil)
		select {
		case m := <-got:
			if !strings.HasPrefix(m.Actor.ID, "after-") {
				t.Fatalf("follower read %s, an event from before it started", m.Actor.ID)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("follower saw nothing")
		}
	}
}

// The journal is a file anyone with access to the root could damage: reading whatever it holds
// never fails or panics, and whole lines around the damage are still read.
func FuzzReadJournal(f *testing.F) {
	f.Add([]byte(`{"Type":"image","Action":"tag","Actor":{"ID":"x"},"time":1,"timeNano":1000000000}` + "\n"))
	f.Add([]byte("garbage\n{\"Type\":\n\x00\xff\n"))
	f.Add([]byte(`{"Type":"container","Action":"die","Actor":{"ID":"c","Attributes":{"exitCode":"0"}},"timeNano":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		if err := os.MkdirAll(Dir(root), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(journalPath(root), data, 0o600); err != nil {
			t.Fatal(err)
		}
		Log(root, TypeImage, "tag", "after-damage", nil)
		var last string
		err := Read(context.Background(), root, ReadOptions{Since: time.Unix(0, 1)}, func(m Message) error {
			last = m.Actor.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The line appended after the damage is read unless the damage ended mid-line (then
		// it is glued to it, as a torn write would be).
		if len(data) == 0 || data[len(data)-1] == '\n' {
			if last != "after-damage" {
				t.Fatalf("the event after the damage was not read (last %q)", last)
			}
		}
	})
}

// A follower wakes on inotify, not on its poll interval: with an hour's poll it still sees
// new events, across a rotation too, and it ends at until without any event.
func TestFollowWakesOnChange(t *testing.T) {
	if w := watchDir(t.TempDir()); w == nil {
		t.Skip("inotify unavailable here")
	} else {
		w.Close()
	}
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Message, 100)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, root, ReadOptions{Follow: true, Poll: time.Hour}, func(m Message) error {
			got <- m
			return nil
		})
	}()
	expect := func(id string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case m := <-got:
				if m.Actor.ID == id {
					return
				}
			case <-time.After(20 * time.Millisecond):
				// The reader may not have opened the journal yet: a first event is repeated.
				if strings.HasPrefix(id, "first") {
					Log(root, TypeContainer, "start", id, nil)
				}
			case <-deadline:
				t.Fatalf("follower did not see %s", id)
			}
		}
	}
	Log(root, TypeContainer, "start", "first", nil)
	expect("first")
	Log(root, TypeContainer, "start", "second", nil)
	expect("second")
	// A rotation: the journal renamed away and a new one begun.
	big := strings.Repeat("x", int(MaxSize))
	Log(root, TypeContainer, "start", "big", map[string]string{"pad": big})
	if _, err := os.Stat(journalPath(root) + ".1"); err != nil {
		t.Fatalf("no rotation: %v", err)
	}
	Log(root, TypeContainer, "start", "after-rotation", nil)
	expect("after-rotation")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// until ends a follow that sees no event, though its poll is an hour.
	res := make(chan error, 1)
	go func() {
		res <- Read(context.Background(), root, ReadOptions{Follow: true, Poll: time.Hour, Until: time.Now().Add(200 * time.Millisecond)},
			func(Message) error { return nil })
	}()
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("follow did not end at until")
	}
}
