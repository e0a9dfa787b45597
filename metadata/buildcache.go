package metadata

import (
	"database/sql"
	"errors"
	"time"
)

// CacheEntry is one cached build step: what the step produced, found again by its cache key.
// A step without a layer (WORKDIR /) has ChainID "". The entry keeps its layer and blob alive:
// garbage collection must count CacheChainIDs and CacheBlobs among its roots.
type CacheEntry struct {
	Key         string
	ParentChain string
	ChainID     string
	DiffID      string
	Blob        string
	MediaType   string
	BlobSize    int64
	Size        int64 // unpacked size of the layer
	Created     time.Time
	LastUsed    time.Time
	Description string // the instruction, for `builder du`
}

const cacheCols = `key, parent_chain, chain_id, diff_id, blob, media_type, blob_size, size, created, last_used, description`

func scanCache(sc interface{ Scan(...any) error }) (CacheEntry, error) {
	var e CacheEntry
	var created, used int64
	err := sc.Scan(&e.Key, &e.ParentChain, &e.ChainID, &e.DiffID, &e.Blob, &e.MediaType, &e.BlobSize, &e.Size,
		&created, &used, &e.Description)
	e.Created, e.LastUsed = fromNanos(created), fromNanos(used)
	return e, err
}

// CacheLookup returns the cached step with key, or ErrNotFound.
func (t *Tx) CacheLookup(key string) (CacheEntry, error) {
	e, err := scanCache(t.tx.QueryRow(`SELECT `+cacheCols+` FROM build_cache WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// PutCache records (or replaces) a cached step.
func (t *Tx) PutCache(e CacheEntry) error {
	// A replaced result's blob may be garbage now (its layer is found by UnusedLayers).
	if old, err := t.CacheLookup(e.Key); err == nil && old.Blob != e.Blob {
		if err := t.AddCandidates(CandidateBlob, old.Blob); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err := t.tx.Exec(`INSERT INTO build_cache(`+cacheCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(key) DO UPDATE SET parent_chain=excluded.parent_chain, chain_id=excluded.chain_id,
		diff_id=excluded.diff_id, blob=excluded.blob, media_type=excluded.media_type, blob_size=excluded.blob_size,
		size=excluded.size, created=excluded.created, last_used=excluded.last_used, description=excluded.description`,
		e.Key, e.ParentChain, e.ChainID, e.DiffID, e.Blob, e.MediaType, e.BlobSize, e.Size,
		nanos(e.Created), nanos(e.LastUsed), e.Description)
	return err
}

// TouchCache marks cached steps as used at when.
func (t *Tx) TouchCache(when time.Time, keys ...string) error {
	for _, k := range keys {
		if _, err := t.tx.Exec(`UPDATE build_cache SET last_used = ? WHERE key = ?`, nanos(when), k); err != nil {
			return err
		}
	}
	return nil
}

// CacheEntries returns every cached step, most recently used first.
func (t *Tx) CacheEntries() ([]CacheEntry, error) {
	rows, err := t.tx.Query(`SELECT ` + cacheCols + ` FROM build_cache ORDER BY last_used DESC, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CacheEntry
	for rows.Next() {
		e, err := scanCache(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteCache removes cached steps by key.
func (t *Tx) DeleteCache(keys ...string) error {
	for _, k := range keys {
		if old, err := t.CacheLookup(k); err == nil {
			if err := t.AddCandidates(CandidateBlob, old.Blob); err != nil {
				return err
			}
		}
		if _, err := t.tx.Exec(`DELETE FROM build_cache WHERE key = ?`, k); err != nil {
			return err
		}
	}
	return nil
}

// CacheChainIDs returns the layers the build cache holds on to: roots for layer GC.
func (t *Tx) CacheChainIDs() (map[string]bool, error) {
	cs, err := t.strings(`SELECT DISTINCT chain_id FROM build_cache WHERE chain_id != ''`)
	out := make(map[string]bool, len(cs))
	for _, c := range cs {
		out[c] = true
	}
	return out, err
}

// CacheBlobs returns the layer blobs the build cache holds on to: roots for blob GC.
func (t *Tx) CacheBlobs() (map[string]bool, error) {
	bs, err := t.strings(`SELECT DISTINCT blob FROM build_cache WHERE blob != ''`)
	out := make(map[string]bool, len(bs))
	for _, b := range bs {
		out[b] = true
	}
	return out, err
}
