package metadata

// Garbage candidates: the database's positive knowledge of what may be garbage (see schema.go).

// Kinds of garbage candidates.
const (
	CandidateBlob  = "blob"
	CandidateLayer = "layer"
)

// Candidate is a blob (by digest) or an unpacked layer (by chain ID) that may be on disk with
// nothing needing it.
type Candidate struct {
	Kind string
	ID   string
}

// AddCandidate records, in a transaction of its own, that a blob or layer is about to be moved
// into the store: if the writer dies before it records what needs it, GC knows to look at it.
func (d *DB) AddCandidate(kind, id string) error {
	return d.Update(func(tx *Tx) error { return tx.AddCandidates(kind, id) })
}

// AddCandidates marks blobs or layers as possible garbage.
func (t *Tx) AddCandidates(kind string, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, err := t.tx.Exec(`INSERT INTO gc_candidates(kind, id) VALUES(?,?) ON CONFLICT DO NOTHING`, kind, id); err != nil {
			return err
		}
	}
	return nil
}

// Candidates returns every garbage candidate.
func (t *Tx) Candidates() ([]Candidate, error) {
	rows, err := t.tx.Query(`SELECT kind, id FROM gc_candidates ORDER BY kind, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.Kind, &c.ID); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCandidate forgets a candidate (GC has dealt with it).
func (t *Tx) DeleteCandidate(c Candidate) error {
	_, err := t.tx.Exec(`DELETE FROM gc_candidates WHERE kind = ? AND id = ?`, c.Kind, c.ID)
	return err
}
