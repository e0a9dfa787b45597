package container

import (
	"encoding/json"
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
		c := Container{ID: id, Path: "true", Created: time.Unix(100, 0), Config: image.ContainerConfig{Labels: labels}}
		cfg, _ := json.Marshal(c)
		st, _ := json.Marshal(State{Status: status})
		if err := s.DB.Update(func(tx *metadata.Tx) error {
			tx.DeleteContainer(id)
			return tx.PutContainer(metadata.Container{ID: id, Name: name, ImageID: "sha256:x", Created: c.Created, Config: string(cfg), State: string(st)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() map[string]Summary {
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
