package container

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// A long-lived process's listings reuse the records they decoded while the records are the
// same, and see every change: a new config, a new state, a rename, a removal.
func TestListCachedRecords(t *testing.T) {
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := New(s)
	m.CacheRecords = true
	put := func(id, name string, labels map[string]string, status string) {
		putRecord(t, s, name, Container{ID: id, Config: image.ContainerConfig{Labels: labels}}, State{Status: status})
	}
	list := func() map[string]Summary { return listByID(t, m) }
	put("a", "one", map[string]string{"k": "1"}, "created")
	put("b", "two", nil, "exited")
	first := list()
	if len(first) != 2 || first["a"].Config.Labels["k"] != "1" || first["a"].Name != "one" || first["b"].State.Status != "exited" {
		t.Fatalf("first listing %+v", first)
	}
	// A caller changing its copy's top level does not change the next listing's.
	first["a"].Container.Path = "changed"
	second := list()
	if second["a"].Path != "true" || second["a"].Container == first["a"].Container {
		t.Errorf("a listing shares its record with the one before: %q", second["a"].Path)
	}
	if len(m.records) != 2 {
		t.Errorf("%d records cached, want 2", len(m.records))
	}
	put("a", "renamed", map[string]string{"k": "2"}, "exited")
	s.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteContainer("b") })
	third := list()
	if len(third) != 1 || third["a"].Config.Labels["k"] != "2" || third["a"].Name != "renamed" || third["a"].State.Status != "exited" {
		t.Errorf("after changes %+v", third)
	}
	if len(m.records) != 1 {
		t.Errorf("%d records cached after a removal, want 1", len(m.records))
	}
}

// Revisions name what a summary was made from: the same while nothing changed, new when the
// state or the record changes; none for a running container. A commit by another process (a
// second store over the same root) shows in the very next listing, which reads nothing when
// nobody committed.
func TestListCachedRevisionsAndOtherWriters(t *testing.T) {
	root := t.TempDir()
	s, err := image.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := image.Open(root) // another berth process, in life
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	m := New(s)
	m.CacheRecords = true
	put := func(id, status string, labels map[string]string) {
		putRecord(t, other, id, Container{ID: id, Config: image.ContainerConfig{Labels: labels}}, State{Status: status, Pid: 1})
	}
	list := func() map[string]Summary { return listByID(t, m) }
	put("a", "created", nil)
	put("b", "exited", nil)
	first := list()
	if first["a"].Revision == 0 || first["b"].Revision == 0 || first["a"].Revision == first["b"].Revision {
		t.Fatalf("revisions %d and %d", first["a"].Revision, first["b"].Revision)
	}
	rows := m.rows
	second := list()
	if second["a"].Revision != first["a"].Revision || second["b"].Revision != first["b"].Revision {
		t.Errorf("revisions changed without a change: %d %d, then %d %d", first["a"].Revision, first["b"].Revision, second["a"].Revision, second["b"].Revision)
	}
	if len(rows) != 2 || &m.rows[0] != &rows[0] {
		t.Error("a listing read the rows again though nobody committed")
	}
	put("c", "created", nil) // another process creates one: the next listing has it
	third := list()
	if _, ok := third["c"]; !ok || len(third) != 3 {
		t.Fatalf("another process's new container is missing: %v", third)
	}
	if third["a"].Revision != first["a"].Revision {
		t.Error("an unchanged container got a new revision")
	}
	put("a", "exited", nil) // a new state
	if l := list(); l["a"].Revision == first["a"].Revision || l["a"].State.Status != "exited" {
		t.Errorf("after a state change: revision %d, status %q", l["a"].Revision, l["a"].State.Status)
	}
	put("b", "exited", map[string]string{"k": "v"}) // a new record, the same state
	if l := list(); l["b"].Revision == first["b"].Revision || l["b"].Config.Labels["k"] != "v" {
		t.Errorf("after a record change: revision %d, labels %v", l["b"].Revision, l["b"].Config.Labels)
	}
	// A running container (its supervisor alive: this test process) gets no revision.
	start, err := procStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	c := Container{ID: "r", Path: "true", Created: time.Unix(100, 0)}
	cfg, _ := json.Marshal(c)
	st, _ := json.Marshal(State{Status: "running", Pid: os.Getpid(), SupervisorPid: os.Getpid(), SupervisorStart: start})
	if err := other.DB.Update(func(tx *metadata.Tx) error {
		return tx.PutContainer(metadata.Container{ID: "r", Name: "r", ImageID: "sha256:x", Created: c.Created, Config: string(cfg), State: string(st)})
	}); err != nil {
		t.Fatal(err)
	}
	if l := list(); l["r"].Revision != 0 || l["r"].State.Status != "running" {
		t.Errorf("a running container: revision %d, status %q", l["r"].Revision, l["r"].State.Status)
	}
}

// A shared listing hands out the cache's own record while it is unchanged, and a change makes a
// new one: a record handed out earlier never changes under its reader.
func TestListSharedRecords(t *testing.T) {
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := New(s)
	m.CacheRecords = true
	cfg := putRecord(t, s, "one", Container{ID: "a"}, State{Status: "created"})
	list := func() Summary {
		t.Helper()
		l, err := m.ListFiltered(ListOptions{All: true, Shared: true})
		if err != nil || len(l) != 1 {
			t.Fatalf("%v %v", l, err)
		}
		return l[0]
	}
	first, second := list(), list()
	if first.Container != second.Container || first.Name != "one" {
		t.Errorf("two shared listings of an unchanged container: %p %p (%q)", first.Container, second.Container, first.Name)
	}
	if err := s.DB.Update(func(tx *metadata.Tx) error { return tx.SetContainerConfig("a", "two", string(cfg)) }); err != nil {
		t.Fatal(err)
	}
	third := list()
	if third.Container == first.Container || third.Name != "two" || first.Name != "one" {
		t.Errorf("after a rename: the new record %q (%p), the one handed out before %q (%p)", third.Name, third.Container, first.Name, first.Container)
	}
}

// putRecord writes container c (its Path "true", created at 100 s) named name with state st
// through s's database, in place of any record of the same ID, as a berth process would; it
// returns the config JSON written.
func putRecord(t *testing.T, s *image.Store, name string, c Container, st State) string {
	t.Helper()
	c.Path, c.Created = "true", time.Unix(100, 0)
	cfg, _ := json.Marshal(c)
	state, _ := json.Marshal(st)
	if err := s.DB.Update(func(tx *metadata.Tx) error {
		tx.DeleteContainer(c.ID)
		return tx.PutContainer(metadata.Container{ID: c.ID, Name: name, ImageID: "sha256:x", Created: c.Created, Config: string(cfg), State: string(state)})
	}); err != nil {
		t.Fatal(err)
	}
	return string(cfg)
}

// listByID is m's listing by container ID.
func listByID(t *testing.T, m *Manager) map[string]Summary {
	t.Helper()
	l, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Summary{}
	for _, s := range l {
		out[s.ID] = s
	}
	return out
}
