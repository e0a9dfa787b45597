package container

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// recordExit keeps the exit codes of removed --rm containers for a wait that comes too late, and
// drops those older than exitsKeep, looking for them at most once a minute (a mark's time).
func TestRecordExitSweep(t *testing.T) {
	root := t.TempDir()
	m := &Manager{Images: &image.Store{Root: root}}
	dir := m.exitsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-exitsKeep - time.Minute)
	stale := filepath.Join(dir, strings.Repeat("a", 64))
	os.WriteFile(stale, []byte("1"), 0o600)
	os.Chtimes(stale, old, old)

	m.recordExit(strings.Repeat("b", 64), 3) // no mark yet: it looks
	if _, err := os.Stat(stale); err == nil {
		t.Error("a record older than exitsKeep was kept")
	}
	if code, ok := m.removedExit(strings.Repeat("b", 64)); !ok || code != 3 {
		t.Errorf("removedExit = %d %v", code, ok)
	}
	if _, ok := m.removedExit(".swept"); ok {
		t.Error("the mark reads as a record")
	}

	// A fresh mark: the next exits do not look (the old record stays a while longer) ...
	os.WriteFile(stale, []byte("1"), 0o600)
	os.Chtimes(stale, old, old)
	m.recordExit(strings.Repeat("c", 64), 0)
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("looked again within a minute: %v", err)
	}
	// ... until the mark is a minute old.
	mark := filepath.Join(dir, ".swept")
	past := time.Now().Add(-exitsSweepEvery - time.Second)
	os.Chtimes(mark, past, past)
	m.recordExit(strings.Repeat("d", 64), 0)
	if _, err := os.Stat(stale); err == nil {
		t.Error("the old record outlived the next look")
	}
	if fi, err := os.Stat(mark); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("the mark was not renewed: %v", err)
	}
	for _, id := range []string{"b", "c", "d"} {
		if _, ok := m.removedExit(strings.Repeat(id, 64)); !ok {
			t.Errorf("the record of %s went", id)
		}
	}
}

// A wait sees a change another process commits long after the wait began (once its looks after
// its start have settled into the slow poll): the commit wakes it.
func TestWaitForSeesLaterChange(t *testing.T) {
	root := t.TempDir()
	s, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := New(s)
	c := &Container{ID: strings.Repeat("ef", 32), Name: "later"}
	self, err := procStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Running, supervised by this (live) process, so reconcile leaves it alone.
	row, err := c.row(State{Status: "running", StartedAt: time.Now(), SupervisorPid: os.Getpid(), SupervisorStart: self})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.PutContainer(row) }); err != nil {
		t.Fatal(err)
	}
	type res struct {
		st  State
		err error
	}
	done := make(chan res, 1)
	go func() {
		st, err := m.WaitFor(context.Background(), c.ID, WaitNotRunning)
		done <- res{st, err}
	}()
	time.Sleep(50 * time.Millisecond) // past the looks that follow the wait's start
	// Another process's store (its own connection) records the exit.
	other, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	om := New(other)
	if _, err := om.updateState(c.ID, func(st *State) error {
		st.Status, st.ExitCode, st.FinishedAt, st.SupervisorPid, st.SupervisorStart = "exited", 7, time.Now(), 0, 0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.st.Status != "exited" || r.st.ExitCode != 7 {
			t.Errorf("WaitFor = %+v %v", r.st, r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the wait did not see the exit")
	}
}
