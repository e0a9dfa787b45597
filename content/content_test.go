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

// fakeSyncer stands for the layer store's group commit: marks count up, and each SyncTo that
// finds its mark not yet synced runs one "sync" (check) that covers every mark so far.
type fakeSyncer struct {
	marks, synced uint64
	syncs         int
	check         func()
	covers        bool
}

func (f *fakeSyncer) SyncMark() uint64 { f.marks++; return f.marks }
func (f *fakeSyncer) SyncTo(mark uint64) error {
	if mark > f.synced {
		f.syncs++
		f.check()
		f.synced = f.marks
	}
	return nil
}
func (f *fakeSyncer) Covers(string) bool { return f.covers }

// A batch's blobs appear only at Commit, after their garbage candidates are recorded and after
// one sync covering the last write; a wrong blob never joins it; nothing is left in ingest/.
func TestBatchSyncsOnceBeforeRenaming(t *testing.T) {
	s, _ := Open(t.TempDir())
	old, _ := s.Put([]byte("already here"))
	datas := [][]byte{[]byte("config"), []byte("layer one"), []byte("already here"), []byte("layer one")}
	sy := &fakeSyncer{covers: true}
	sy.check = func() {
		for _, b := range datas {
			if d := digest.FromBytes(b); d != old && s.Has(d) {
				t.Errorf("blob %s has its final name before the sync", d)
			}
		}
	}
	var candidates []digest.Digest
	s.OnCommit = func(d digest.Digest) error {
		if s.Has(d) {
			t.Errorf("candidate %s recorded after the blob appeared", d)
		}
		candidates = append(candidates, d)
		return nil
	}
	b := s.NewBatch(sy)
	defer b.Discard()
	if _, err := b.Put(datas[0]); err != nil {
		t.Fatal(err)
	}
	for _, data := range datas[1:] {
		w, err := b.Writer()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if _, _, err := w.Commit(digest.FromBytes(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	w, _ := b.Writer()
	w.Write([]byte("evil"))
	if _, _, err := w.Commit(digest.FromString("good"), -1); err == nil {
		t.Fatal("a blob that does not hash to its digest joined the batch")
	}
	w.Close()
	for _, data := range datas[:2] {
		if s.Has(digest.FromBytes(data)) {
			t.Fatalf("blob %q is in place before the batch is committed", data)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if sy.syncs != 1 {
		t.Errorf("%d syncs for one batch, want 1", sy.syncs)
	}
	if len(candidates) != 2 {
		t.Errorf("candidates %v, want the two new blobs", candidates)
	}
	for _, data := range datas {
		if got, err := s.ReadAll(digest.FromBytes(data)); err != nil || !bytes.Equal(got, data) {
			t.Errorf("blob %q: %q %v", data, got, err)
		}
	}
	b.Discard()
	if ents, _ := os.ReadDir(s.IngestDir()); len(ents) != 0 {
		t.Fatalf("ingest not empty after the batch: %v", ents)
	}
}

// A sync that ran after the last write (a pull's layer sync) makes Commit's own sync
// unnecessary; a write after it needs another.
func TestBatchSharesEarlierSync(t *testing.T) {
	s, _ := Open(t.TempDir())
	sy := &fakeSyncer{covers: true, check: func() {}}
	b := s.NewBatch(sy)
	defer b.Discard()
	b.Put([]byte("a"))
	sy.SyncTo(sy.SyncMark()) // the layer written after blob a is synced
	if err := b.Commit(); err != nil || sy.syncs != 1 {
		t.Fatalf("Commit after a covering sync: %v, %d syncs (want 1)", err, sy.syncs)
	}
	b.Put([]byte("b"))
	if err := b.Commit(); err != nil || sy.syncs != 2 {
		t.Fatalf("Commit of a blob written after the sync: %v, %d syncs (want 2)", err, sy.syncs)
	}
	if !s.Has(digest.FromString("a")) || !s.Has(digest.FromString("b")) {
		t.Fatal("blobs missing after Commit")
	}
}

// Without a syncer reaching the store (another filesystem), the batch fsyncs its blobs itself;
// a discarded batch leaves nothing.
func TestBatchWithoutSyncer(t *testing.T) {
	s, _ := Open(t.TempDir())
	sy := &fakeSyncer{covers: false, check: func() { t.Error("a syncer for another filesystem was used") }}
	b := s.NewBatch(sy)
	d, _ := b.Put([]byte("x"))
	if err := b.Commit(); err != nil || !s.Has(d) {
		t.Fatalf("Commit: %v, has %v", err, s.Has(d))
	}
	b = s.NewBatch(nil)
	d, _ = b.Put([]byte("dropped"))
	b.Discard()
	if s.Has(d) {
		t.Fatal("a discarded batch's blob is in place")
	}
	if ents, _ := os.ReadDir(s.IngestDir()); len(ents) != 0 {
		t.Fatalf("ingest not empty after Discard: %v", ents)
	}
}
