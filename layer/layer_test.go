package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// The layers directory is marked chattr +T on the first Stage, so that ext4 spreads layers over
// lightly used block groups (see markTopDir); where the filesystem has no such flag, nothing.
func TestStageMarksLayersTopDir(t *testing.T) {
	root := t.TempDir()
	flags := func(dir string) (uint32, error) {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		return unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	}
	if _, err := flags(root); err != nil {
		t.Skipf("%s has no inode flags (%v)", root, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil || st.Type != unix.EXT4_SUPER_MAGIC {
		t.Skipf("%s is not ext2/3/4, which alone has the top-directory flag", root)
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := flags(s.dir); f&fsTopDirFlag != 0 {
		t.Fatal("Open alone (every listing) already set the flag")
	}
	st1, err := s.Stage()
	if err != nil {
		t.Fatal(err)
	}
	defer st1.Discard()
	if f, err := flags(s.dir); err != nil || f&fsTopDirFlag == 0 {
		t.Fatalf("layers directory flags %#x (%v): no FS_TOPDIR_FL after Stage", f, err)
	}
	// Not inherited: the layer's own directories stay together.
	if f, _ := flags(st1.Dir()); f&fsTopDirFlag != 0 {
		t.Fatalf("staged layer flags %#x: FS_TOPDIR_FL inherited", f)
	}
}

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

// CommitAll flushes every staged layer with one filesystem sync, before any of them takes its
// final name, records each as a candidate before it appears, and leaves no staged directory.
func TestCommitAllSyncsOnceBeforeRenaming(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chains := []digest.Digest{digest.FromString("a"), digest.FromString("b"), digest.FromString("c")}
	// c already exists (another image made it): its staged copy is dropped.
	old, _ := s.Stage()
	if _, err := old.Commit(chains[2]); err != nil {
		t.Fatal(err)
	}
	var staged []*Staged
	for i := range chains {
		st, err := s.Stage()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(st.Dir(), "f"), []byte{byte(i)}, 0o644)
		staged = append(staged, st)
	}
	syncs := 0
	orig := syncFS
	t.Cleanup(func() { syncFS = orig })
	syncFS = func(dir string) error {
		syncs++
		for _, c := range chains[:2] {
			if s.Exists(c) {
				t.Errorf("layer %s has its final name before the sync", c)
			}
		}
		return orig(dir)
	}
	var candidates []digest.Digest
	s.OnCommit = func(c digest.Digest) error {
		if s.Exists(c) {
			t.Errorf("candidate %s recorded after the layer appeared", c)
		}
		candidates = append(candidates, c)
		return nil
	}
	created, err := s.CommitAll(staged, chains)
	if err != nil {
		t.Fatal(err)
	}
	if syncs != 1 {
		t.Errorf("%d filesystem syncs for one CommitAll, want 1", syncs)
	}
	if len(created) != 3 || !created[0] || !created[1] || created[2] {
		t.Errorf("created = %v, want [true true false]", created)
	}
	if len(candidates) != 2 {
		t.Errorf("candidates %v, want the two new layers", candidates)
	}
	for i, c := range chains[:2] {
		if b, err := os.ReadFile(filepath.Join(s.Dir(c), "f")); err != nil || b[0] != byte(i) {
			t.Errorf("layer %d: %v %v", i, b, err)
		}
	}
	if n, _ := s.CleanTemp(); n != 0 {
		t.Errorf("%d staged directories left behind", n)
	}
}

// Layers synced as they finish (a pull's background syncs) need no further sync at CommitAll; a
// failed sync commits nothing.
func TestCommitAllAfterStagedSync(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	orig := syncFS
	t.Cleanup(func() { syncFS = orig })
	var mu sync.Mutex
	syncs := 0
	fail := false
	syncFS = func(dir string) error {
		mu.Lock()
		defer mu.Unlock()
		syncs++
		if fail {
			return errors.New("disk gone")
		}
		return orig(dir)
	}
	var staged []*Staged
	var chains []digest.Digest
	var wg sync.WaitGroup
	for i := range 4 {
		st, err := s.Stage()
		if err != nil {
			t.Fatal(err)
		}
		staged = append(staged, st)
		chains = append(chains, digest.FromString(fmt.Sprint("layer", i)))
	}
	for _, st := range staged {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Sync(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	before := syncs
	if before < 1 || before > 4 {
		t.Fatalf("%d syncs for 4 layers", before)
	}
	if _, err := s.CommitAll(staged, chains); err != nil {
		t.Fatal(err)
	}
	if syncs != before {
		t.Errorf("CommitAll synced again (%d -> %d) layers already synced", before, syncs)
	}

	// A new layer whose sync fails never takes its name.
	st, _ := s.Stage()
	fail = true
	c := digest.FromString("unlucky")
	if _, err := s.CommitAll([]*Staged{st}, []digest.Digest{c}); err == nil || s.Exists(c) {
		t.Fatalf("CommitAll with a failing sync: err %v, exists %v", err, s.Exists(c))
	}
	if n, _ := s.CleanTemp(); n != 0 {
		t.Errorf("%d staged directories left behind", n)
	}
}

// Other writes (a pull's blobs) share the layers' syncs: a mark taken before a layer's Sync is
// covered by it, a mark taken after needs another sync. Covers tells the store's filesystem.
func TestSyncMarkSharesLayerSyncs(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	syncs := 0
	orig := syncFS
	t.Cleanup(func() { syncFS = orig })
	syncFS = func(dir string) error { syncs++; return orig(dir) }
	blob := s.SyncMark() // a blob written before the layer finished
	st, _ := s.Stage()
	defer st.Discard()
	if err := st.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncTo(blob); err != nil || syncs != 1 {
		t.Fatalf("SyncTo a mark the layer's sync covers: %v, %d syncs (want 1)", err, syncs)
	}
	later := s.SyncMark()
	if err := s.SyncTo(later); err != nil || syncs != 2 {
		t.Fatalf("SyncTo a mark after the last sync: %v, %d syncs (want 2)", err, syncs)
	}
	if !s.Covers(root) {
		t.Error("the store's own root is not covered by its syncs")
	}
	if s.Covers("/proc") {
		t.Error("/proc is covered by the store's syncs")
	}
}
