package metadata

import (
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// Error is a failure of the database itself (not of a record), said in words a user can act
// on: what berth was doing, SQLite's own message, and what to do about it. Users never see a
// bare "database is locked" or "no such table".
type Error struct {
	Path   string // the state database
	Doing  string // "reading", "writing", "opening"
	Err    error  // SQLite's error
	Advice string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s the state database %s: %v: %s", e.Doing, e.Path, e.Err, e.Advice)
}

func (e *Error) Unwrap() error { return e.Err }

// SQLite's primary result codes (sqlite3.h) berth gives advice for.
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

// explain wraps an error that came from SQLite in an Error; any other error (a record's own,
// such as ErrNotFound or a conflict) is returned as it is.
func explain(path, doing string, err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	advice := "run 'berth system check' to see whether the store is damaged"
	switch se.Code() & 0xff {
	case sqliteBusy, sqliteLocked:
		advice = "another berth process kept it locked for longer than 30s; try again once it is done"
	case sqliteReadOnly, sqliteCantOpen:
		advice = "berth cannot write it; run berth as a user who may write its --root, and check that the disk is mounted read-write"
	case sqliteIOErr:
		advice = "the disk failed to read or write it; check the disk and its filesystem"
	case sqliteFull:
		advice = "the disk is full; free some space (berth system prune) and try again"
	case sqliteCorrupt, sqliteNotADB:
		advice = "it is damaged; run 'berth system check --repair' to rebuild it from the blobs, or restore it from a backup"
	default:
		if m := se.Error(); strings.Contains(m, "no such table") || strings.Contains(m, "no such column") {
			advice = "it was made by another berth version or is damaged; use the berth that made it, or run 'berth system check --repair'"
		}
	}
	return &Error{Path: path, Doing: doing, Err: se, Advice: advice}
}

// Unusable reports whether err says the database file itself is unusable: no berth schema in
// it (ErrNoSchema), or a file SQLite finds damaged or not a database. A busy, read-only or
// failing disk is not that: the same file may work on the next try.
func Unusable(err error) bool {
	if errors.Is(err, ErrNoSchema) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteCorrupt, sqliteNotADB:
			return true
		}
	}
	return false
}
