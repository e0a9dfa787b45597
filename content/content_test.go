package content

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestIngestVerifiesAndRenames(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello layer")
	want := digest.FromBytes(data)
	d, n, err := s.Ingest(bytes.NewReader(data), want, int64(len(data)))
	if err != nil || d != want || n != int64(len(data)) {
		t.Fatalf("Ingest = %s %d %v", d, n, err)
	}
	got, err := s.ReadAll(d)
	if err != nil || string(got) != string(data) {
		t.Fatalf("ReadAll = %q %v", got, err)
	}
	if ents, _ := os.ReadDir(s.IngestDir()); len(ents) != 0 {
		t.Fatalf("ingest not empty after commit: %v", ents)
	}
}

func TestIngestRejectsMismatch(t *testing.T) {
	s, _ := Open(t.TempDir())
	wrong := digest.FromString("other")
	_, _, err := s.Ingest(strings.NewReader("content"), wrong, -1)
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("want digest mismatch, got %v", err)
	}
	_, _, err = s.Ingest(strings.NewReader("content"), "", 3)
	if err == nil || !strings.Contains(err.Error(), "size mismatch") {
		t.Fatalf("want size mismatch, got %v", err)
	}
	if s.Has(digest.FromString("content")) {
		t.Fatal("a rejected blob was stored")
	}
	if ents, _ := os.ReadDir(s.IngestDir()); len(ents) != 0 {
		t.Fatalf("rejected ingest left files: %v", ents)
	}
}

func TestReadAllDetectsCorruption(t *testing.T) {
	s, _ := Open(t.TempDir())
	d, err := s.Put([]byte("good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(d), []byte("evil"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAll(d); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corruption not detected: %v", err)
	}
}

func TestMissingAndWalk(t *testing.T) {
	s, _ := Open(t.TempDir())
	if _, err := s.Open(digest.FromString("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	a, _ := s.Put([]byte("a"))
	b, _ := s.Put([]byte("bb"))
	seen := map[digest.Digest]int64{}
	if err := s.Walk(func(d digest.Digest, n int64) error { seen[d] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[a] != 1 || seen[b] != 2 {
		t.Fatalf("walk saw %v", seen)
	}
	if err := s.Delete(a); err != nil || s.Has(a) {
		t.Fatalf("delete: %v", err)
	}
	w, _ := s.Writer()
	w.Write([]byte("partial"))
	// an abandoned writer (a crash) leaves a file that CleanIngest removes
	if n, err := s.CleanIngest(); err != nil || n != 1 {
		t.Fatalf("CleanIngest = %d %v", n, err)
	}
}
