// Package metadata is berth's SQLite database (state.db): images, names, layers and containers. It is
// the only package that imports the SQLite driver.
//
// Several berth processes use the database at once. It runs in WAL mode so readers never wait for
// a writer, with a busy timeout so writers queue instead of failing. Every write is one short
// transaction through DB.Update, begun IMMEDIATE so two writers never deadlock upgrading a read lock;
// nobody holds a transaction during long work (download, unpack, RUN).
package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

// DB is an open state database.
type DB struct {
	db      *sql.DB
	path    string
	version versionConn // DB.Version's connection (version.go)
}

// LeaveOpenAtExit is set by a process that closes its database only on its way out (the berth
// command): Close then leaves the connection to the process's exit. SQLite closing the last
// connection would checkpoint the WAL into the database and delete it (two fsyncs, then two
// more to recreate it in the next process); left open, the WAL stays for the next process to
// carry on from, as after a crash, which is what WAL mode is built for.
var LeaveOpenAtExit bool

// walLimit bounds the WAL file. SQLite's own autocheckpoint cannot keep it short across
// short-lived processes: the first connection of each process rebuilds the WAL index from the
// WAL (recovery), which marks no frame as already copied into the database, and SQLite
// restarts the WAL from its beginning only when a write begins with every frame copied. So a
// passive checkpoint is forgotten at exit and every process appends to the end; the WAL grew by
// some 18 KB per `berth tag`, and every later process read all of it at open (about 1 ms a MB).
// Instead, a commit that leaves the WAL past walLimit checkpoints it with TRUNCATE (copy every
// frame, fsync the database, truncate the WAL to zero), and SQLite's autocheckpoint is off. At
// 128 pages that happens about once in 28 tags, and the listing after it reads at most 512 KB
// of WAL. Measured on disk, 500 `tag` processes then `images -q` (interleaved): before, 22.8 ms
// a tag, 16.7 ms a listing, WAL 9.3 MB; this, 13.7 ms and 12.5 ms, WAL 0.3 MB; closing the
// database in every process instead (a checkpoint and fsync in each, readers included), 23.8 ms
// and 14.8 ms.
const walLimit = 128 * 4096

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrNoSchema is returned by OpenExisting when the file holds no berth database: it is missing,
// empty (0 bytes, or a database never migrated), or was never one.
var ErrNoSchema = errors.New("no berth database in it")

// Open opens (creating and migrating if needed) the database at path.
func Open(path string) (*DB, error) { return open(path, true) }

// OpenExisting opens the database at path only if it already holds berth's schema (migrating it
// to a newer one if needed). It never creates one: a missing or empty file is ErrNoSchema, and a
// file SQLite cannot read is an error wrapping the cause. The image store uses it for a root that
// holds content, where a new empty database would say that nothing is in use.
func OpenExisting(path string) (*DB, error) {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 && !hasWAL(path) {
		return nil, ErrNoSchema
	}
	return open(path, false)
}

// hasWAL reports whether a write-ahead log holding frames sits beside path: a database whose
// only page lives in its WAL has a 0-byte main file until the first checkpoint.
func hasWAL(path string) bool {
	fi, err := os.Stat(path + "-wal")
	return err == nil && fi.Size() > 32 // the WAL header alone is 32 bytes
}

func open(path string, create bool) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Reads map the database file instead of copying its pages into the page cache: 10% fewer
	// page faults for `berth images` over 1,000 images (each fresh page is a fault in a process
	// that lives milliseconds). WAL frames are still read as before.
	q.Add("_pragma", "mmap_size(268435456)")
	q.Set("_txlock", "immediate")
	// Creating the file, switching it to WAL and migrating take locks that SQLite's busy handler
	// does not always wait for (two processes creating the database at once get SQLITE_BUSY
	// straight away), so processes take turns through a lock file while they open. Once the
	// database exists this costs one flock.
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	d := &DB{db: db, path: path}
	// One statement reads both what OpenExisting checks and what migrate needs: each statement
	// costs a prepare in every short-lived process.
	var v, tables int
	if err := db.QueryRow(`SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'images')`).Scan(&v, &tables); err != nil {
		db.Close()
		if e := explain(path, "opening", err); e != err || !create {
			return nil, e
		}
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	if !create && (v == 0 || tables == 0) {
		db.Close()
		return nil, ErrNoSchema
	}
	if v < len(migrations) {
		if err := d.migrate(); err != nil {
			db.Close()
			if e := explain(path, "opening", err); e != err {
				return nil, e
			}
			return nil, fmt.Errorf("state database %s: %w", path, err)
		}
	}
	// A WAL left long (by a berth before walLimit, or a checkpoint a reader kept from finishing)
	// is cut now, while this process still holds the open lock, rather than read by every process.
	d.trimWAL()
	return d, nil
}

// Close closes the database (see LeaveOpenAtExit).
func (d *DB) Close() error {
	if LeaveOpenAtExit {
		return nil
	}
	d.closeVersion()
	return d.db.Close()
}

// migrate brings the schema to the newest version (open calls it only when user_version is
// behind).
func (d *DB) migrate() error {
	var v int
	return d.Update(func(tx *Tx) error {
		// Re-read inside the write lock: another process may have migrated meanwhile.
		if err := tx.tx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
			return err
		}
		for ; v < len(migrations); v++ {
			if _, err := tx.tx.Exec(migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		_, err := tx.tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v))
		return err
	})
}

// Tx is a transaction; its methods are the only way rows are read or written.
type Tx struct {
	tx *sql.Tx
	d  *DB
	// seal, set by Listing in a read transaction that read the rows, is the listing to seal
	// once the transaction has ended (View).
	seal *[]Image
	// sealGen is that listing's listing_gen value.
	sealGen int64
}

// Update runs fn in one write transaction: committed if fn returns nil, rolled back otherwise.
// A transaction that changed the image listing (listing_gen) unseals the listing's cache before
// it commits (listcache.go).
func (d *DB) Update(fn func(*Tx) error) error {
	tx, err := d.db.BeginTx(context.Background(), nil)
	if err != nil {
		return explain(d.path, "writing", err)
	}
	t := &Tx{tx: tx, d: d}
	gen, genErr := t.listingGen()
	if err := fn(t); err != nil {
		tx.Rollback()
		return explain(d.path, "writing", err)
	}
	if now, err := t.listingGen(); err != nil || genErr != nil || now != gen {
		unseal, err := d.unsealListing()
		if err != nil {
			tx.Rollback()
			return explain(d.path, "writing", err)
		}
		defer unseal()
	}
	if err := tx.Commit(); err != nil {
		return explain(d.path, "writing", err)
	}
	d.trimWAL()
	return nil
}

// trimWAL checkpoints the WAL with TRUNCATE when it is past walLimit (see walLimit). It is best
// effort: the transaction is already committed, and a checkpoint kept from finishing by a reader
// (or by another writer's turn) is retried by the next commit.
func (d *DB) trimWAL() {
	st, err := os.Stat(d.path + "-wal")
	if err != nil || st.Size() <= walLimit {
		return
	}
	// TRUNCATE waits (through the busy handler) for readers to leave the WAL; a commit should not
	// stall behind a slow reader for the whole busy timeout, so this one connection waits briefly.
	ctx := context.Background()
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.ExecContext(ctx, `PRAGMA busy_timeout = 1000`)
	var busy, log, done int
	conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done)
	conn.ExecContext(ctx, `PRAGMA busy_timeout = 30000`)
}

// View runs fn in a read transaction (a consistent snapshot).
func (d *DB) View(fn func(*Tx) error) error {
	tx, err := d.db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return explain(d.path, "reading", err)
	}
	defer tx.Rollback()
	t := &Tx{tx: tx, d: d}
	err = fn(t)
	tx.Rollback() // before sealing, which reads on the connection this one frees
	if err == nil && t.seal != nil {
		d.sealListing(t.sealGen, *t.seal)
	}
	return explain(d.path, "reading", err)
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// QuickCheck runs SQLite's quick_check over the database file and returns what it found wrong
// (nothing for a sound database).
func (d *DB) QuickCheck() ([]string, error) {
	rows, err := d.db.Query(`PRAGMA quick_check`)
	if err != nil {
		return nil, explain(d.path, "checking", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, explain(d.path, "checking", err)
		}
		if s != "ok" {
			out = append(out, s)
		}
	}
	return out, explain(d.path, "checking", rows.Err())
}
