package layer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestStageCommitIsAtomicAndFirstWins(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chain := digest.FromString("layer")
	a, _ := s.Stage()
	b, _ := s.Stage()
	os.WriteFile(filepath.Join(a.Dir(), "f"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(b.Dir(), "f"), []byte("b"), 0o644)
	if s.Exists(chain) {
		t.Fatal("staged layer visible before commit")
	}
	if created, err := a.Commit(chain); err != nil || !created {
		t.Fatalf("first commit: %v %v", created, err)
	}
	if created, err := b.Commit(chain); err != nil || created {
		t.Fatalf("second commit of the same chain: %v %v", created, err)
	}
	got, _ := os.ReadFile(filepath.Join(s.Dir(chain), "f"))
	if string(got) != "a" {
		t.Fatalf("content %q: the first commit must win", got)
	}
	ids, _ := s.List()
	if len(ids) != 1 || ids[0] != chain {
		t.Fatalf("List = %v", ids)
	}
	// A crashed writer's staged directory is not a layer, and CleanTemp removes it.
	c, _ := s.Stage()
	_ = c
	if ids, _ := s.List(); len(ids) != 1 {
		t.Fatalf("staged dir listed: %v", ids)
	}
	if n, err := s.CleanTemp(); err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d %v", n, err)
	}
	if err := s.Remove(chain); err != nil || s.Exists(chain) {
		t.Fatalf("Remove: %v", err)
	}
}

func TestRootfsMountsAreData(t *testing.T) {
	s := &Store{dir: "/r/layers"}
	l1, l2 := digest.FromString("1"), digest.FromString("2")
	m := s.RootfsMounts([]digest.Digest{l1, l2}, "/c/upper", "/c/work")
	if len(m) != 1 || m[0].Type != "overlay" {
		t.Fatalf("%+v", m)
	}
	opts := strings.Join(m[0].Options, ",")
	want := "lowerdir=" + s.Dir(l2) + ":" + s.Dir(l1)
	if !strings.Contains(opts, want) || !strings.Contains(opts, "upperdir=/c/upper") || !strings.Contains(opts, "workdir=/c/work") {
		t.Fatalf("options %s, want top layer first: %s", opts, want)
	}
	if m := s.RootfsMounts(nil, "/c/upper", "/c/work"); m[0].Type != "bind" {
		t.Fatalf("no layers: %+v", m)
	}
}
