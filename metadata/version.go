package metadata

import (
	"context"
	"database/sql"
	"sync"
)

// Version identifies the database's content as seen at one moment: two Versions taken from the
// same DB are equal only if nobody (this process or another) committed between them. A
// long-lived process (berth serve) keeps what it decoded from a listing together with the
// Version it took BEFORE reading, and reads again only when Version has changed since: a commit
// made after that Version was taken (even one its read already saw) changes it, so what was
// kept is never older than the database. The zero Version equals no other.
type Version struct {
	conn uint64 // which of the DB's asking connections the number comes from (from 1)
	data int64  // SQLite's PRAGMA data_version on that connection
}

// versionConn is the connection Version asks through. SQLite's data_version changes when a
// connection OTHER than the asking one commits; this connection only ever asks, so every commit
// counts, this process's own (made through the pool's other connections) and other processes'.
type versionConn struct {
	mu    sync.Mutex
	conn  *sql.Conn
	epoch uint64 // counts the connections made, so numbers from two connections never compare equal
}

// Version returns the database's current Version (see Version). It costs one statement on a
// connection kept for it, some tens of microseconds; an error means "unknown": the caller reads.
func (d *DB) Version() (Version, error) {
	v := &d.version
	v.mu.Lock()
	defer v.mu.Unlock()
	ctx := context.Background()
	if v.conn == nil {
		c, err := d.db.Conn(ctx)
		if err != nil {
			return Version{}, explain(d.path, "reading", err)
		}
		v.conn = c
		v.epoch++
	}
	var n int64
	if err := v.conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&n); err != nil {
		// Start afresh next time: a number from a new connection never equals an old one.
		v.conn.Close()
		v.conn = nil
		return Version{}, explain(d.path, "reading", err)
	}
	return Version{conn: v.epoch, data: n}, nil
}

// closeVersion gives the asking connection back (Close).
func (d *DB) closeVersion() {
	v := &d.version
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.conn != nil {
		v.conn.Close()
		v.conn = nil
	}
}
