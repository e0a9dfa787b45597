package metadata

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// walWriterEnv makes the test binary a short-lived berth-like process: open the database, write
// one tag, exit without closing (as cmd/berth does with LeaveOpenAtExit).
const walWriterEnv = "BERTH_TEST_WAL_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(walWriterEnv); path != "" {
		os.Exit(walWriter(path, os.Getenv(walWriterEnv+"_N")))
	}
	os.Exit(m.Run())
}

func walWriter(path, n string) int {
	LeaveOpenAtExit = true
	db, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	err = db.Update(func(tx *Tx) error {
		_, err := tx.SetName("docker.io/library/r:t"+n, "sha256:base", KindTag, time.Now())
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// Each process's first connection rebuilds the WAL index by recovery, which forgets what earlier
// processes checkpointed, so SQLite alone never restarts the WAL across processes: it grew by
// every process's write. 300 writer processes must leave it within walLimit plus one write.
func TestWALBoundedAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error {
		return tx.PutImage(Image{ID: "sha256:base", Manifest: "m", MediaType: "t", Created: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var max int64
	for i := 0; i < 300; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), walWriterEnv+"="+path, walWriterEnv+"_N="+strconv.Itoa(i))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("writer %d: %v: %s", i, err, out)
		}
		if s := walSize(t, path); s > max {
			max = s
		}
	}
	if max > walLimit+64*1024 {
		t.Errorf("WAL reached %d bytes over 300 writer processes, want at most walLimit (%d) plus one write", max, walLimit)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *Tx) error {
		names, err := tx.Names()
		if err != nil || len(names) != 300 {
			t.Errorf("%d names after 300 writers (%v)", len(names), err)
		}
		return nil
	})
}

// One long-lived process (a shim, a build) writing many times keeps the WAL bounded too, now
// that SQLite's autocheckpoint is off.
func TestWALBoundedInOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var max int64
	for i := 0; i < 2000; i++ {
		err := db.Update(func(tx *Tx) error {
			id := fmt.Sprintf("sha256:%06d", i)
			return tx.PutImage(Image{ID: id, Manifest: "m", MediaType: "t", Created: time.Now(), Blobs: []string{"b" + id}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if s := walSize(t, path); s > max {
			max = s
		}
	}
	if max > walLimit+64*1024 {
		t.Errorf("WAL reached %d bytes over 2000 commits, want at most walLimit (%d) plus one write", max, walLimit)
	}
}

// A WAL left long by an older berth is cut by the next process that opens the database, so
// readers stop paying for it.
func TestOpenTrimsLongWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Grow the WAL past walLimit without trimWAL: raw commits through database/sql.
	for i := 0; i < 400; i++ {
		if _, err := db.db.Exec(`INSERT INTO images(id, manifest, media_type, created, size, added) VALUES(?, 'm', 't', 0, 0, 0)`,
			fmt.Sprintf("sha256:%06d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if s := walSize(t, path); s <= walLimit {
		t.Fatalf("set-up: WAL only %d bytes", s)
	}
	db2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if s := walSize(t, path); s > walLimit {
		t.Errorf("WAL still %d bytes after Open", s)
	}
	db.Close()
}
