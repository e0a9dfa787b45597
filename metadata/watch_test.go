package metadata

import (
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A commit by another connection (another berth process, in life) reaches a watcher.
func TestWatchSeesAnotherWriter(t *testing.T) {
	a, b := openTwice(t)
	changed, stop, err := a.Watch()
	if err != nil {
		t.Skipf("no inotify here: %v", err)
	}
	defer stop()
	if err := b.Update(func(tx *Tx) error {
		return tx.PutContainer(Container{ID: "c1", Name: "one", ImageID: "sha256:x", Created: time.Now(), Config: "{}"})
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(time.Minute):
		t.Fatal("no change seen a minute after a commit")
	}
}

// inotifyEvent is one event as the kernel writes it, its name padded to 16 bytes.
func inotifyEvent(name string) []byte {
	pad := (len(name) + 16) &^ 15
	b := make([]byte, unix.SizeofInotifyEvent+pad)
	binary.NativeEndian.PutUint32(b[12:], uint32(pad))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestWatchChangedNames(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{[]string{"state.db-wal"}, true},
		{[]string{"state.db"}, true},
		{[]string{"state.db.lock", "lock"}, false},
		{[]string{"state.db-shm", "x", "state.db-wal"}, true},
		{[]string{"state.db-walx"}, false},
	} {
		var buf []byte
		for _, n := range tc.names {
			buf = append(buf, inotifyEvent(n)...)
		}
		if got := changed(buf, "state.db"); got != tc.want {
			t.Errorf("changed(%q) = %v, want %v", tc.names, got, tc.want)
		}
	}
	if changed(inotifyEvent("state.db-wal")[:20], "state.db") {
		t.Error("a cut event counted")
	}
}
