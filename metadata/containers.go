package metadata

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Container is a container's row. The image store reads the first five fields (conflicts on rmi,
// prune, system df); the container package keeps its whole record in Config and its lifecycle
// state in State, both JSON it owns.
type Container struct {
	ID      string
	Name    string
	ImageID string
	Created time.Time
	SizeRw  int64
	Config  string
	State   string
}

const containerCols = `id, name, image_id, created, size_rw, config, state`

func scanContainer(sc interface{ Scan(...any) error }) (Container, error) {
	var c Container
	var created int64
	err := sc.Scan(&c.ID, &c.Name, &c.ImageID, &created, &c.SizeRw, &c.Config, &c.State)
	c.Created = fromNanos(created)
	return c, err
}

// Containers returns every container, newest first.
func (t *Tx) Containers() ([]Container, error) {
	rows, err := t.tx.Query(`SELECT ` + containerCols + ` FROM containers ORDER BY created DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Container
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ContainersUsing returns the IDs of the containers created from an image.
func (t *Tx) ContainersUsing(imageID string) ([]string, error) {
	return t.strings(`SELECT id FROM containers WHERE image_id = ? ORDER BY created`, imageID)
}

// RunningContainersUsing returns the IDs of the running (or paused, or restarting) containers
// created from an image: what makes Docker's rmi refuse even with force.
func (t *Tx) RunningContainersUsing(imageID string) ([]string, error) {
	return t.strings(`SELECT id FROM containers WHERE image_id = ?
		AND json_extract(state, '$.Status') IN ('running', 'paused', 'restarting') ORDER BY created`, imageID)
}

// Container returns one container by full ID, or ErrNotFound.
func (t *Tx) Container(id string) (Container, error) {
	c, err := scanContainer(t.tx.QueryRow(`SELECT `+containerCols+` FROM containers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// ContainerByName returns the container with a name ("web", without Docker's leading slash).
func (t *Tx) ContainerByName(name string) (Container, error) {
	c, err := scanContainer(t.tx.QueryRow(`SELECT `+containerCols+` FROM containers WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// ContainerIDsWithPrefix returns the IDs starting with a hex prefix, at most limit.
func (t *Tx) ContainerIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return t.strings(`SELECT id FROM containers WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`,
		prefix, prefix+"\xff", limit)
}

// PutContainer inserts a new container; a taken name or ID fails (ErrConflict).
func (t *Tx) PutContainer(c Container) error {
	_, err := t.tx.Exec(`INSERT INTO containers(`+containerCols+`) VALUES(?,?,?,?,?,?,?)`,
		c.ID, c.Name, c.ImageID, nanos(c.Created), c.SizeRw, c.Config, c.State)
	if err != nil && isConstraint(err) {
		return ErrConflict
	}
	return err
}

// ErrConflict is returned when a unique column (a container's name) is already taken.
var ErrConflict = errors.New("conflict")

func isConstraint(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "constraint failed"))
}

// SetContainerState replaces a container's state; it reports whether the container exists.
func (t *Tx) SetContainerState(id, state string) (bool, error) {
	res, err := t.tx.Exec(`UPDATE containers SET state = ? WHERE id = ?`, state, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetContainerConfig replaces a container's record (and name, for rename).
func (t *Tx) SetContainerConfig(id, name, config string) error {
	_, err := t.tx.Exec(`UPDATE containers SET name = ?, config = ? WHERE id = ?`, name, config, id)
	if isConstraint(err) {
		return ErrConflict
	}
	return err
}

// SetContainerSize records the writable layer's size (for system df without walking it again).
func (t *Tx) SetContainerSize(id string, size int64) error {
	_, err := t.tx.Exec(`UPDATE containers SET size_rw = ? WHERE id = ?`, size, id)
	return err
}

// DeleteContainer removes a container's row.
func (t *Tx) DeleteContainer(id string) error {
	_, err := t.tx.Exec(`DELETE FROM containers WHERE id = ?`, id)
	return err
}

// Volume is a named volume's row.
type Volume struct {
	Name      string
	Driver    string
	Created   time.Time
	Labels    map[string]string
	Options   map[string]string
	Anonymous bool
}

func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// PutVolume records a volume; an existing name is left as it is and reported as not created.
func (t *Tx) PutVolume(v Volume) (bool, error) {
	labels, err := encodeMap(v.Labels)
	if err != nil {
		return false, err
	}
	opts, err := encodeMap(v.Options)
	if err != nil {
		return false, err
	}
	anon := 0
	if v.Anonymous {
		anon = 1
	}
	res, err := t.tx.Exec(`INSERT INTO volumes(name, driver, created, labels, options, anonymous) VALUES(?,?,?,?,?,?)
		ON CONFLICT(name) DO NOTHING`, v.Name, v.Driver, nanos(v.Created), labels, opts, anon)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Volumes returns every volume, ordered by name.
func (t *Tx) Volumes() ([]Volume, error) {
	rows, err := t.tx.Query(`SELECT name, driver, created, labels, options, anonymous FROM volumes ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Volume
	for rows.Next() {
		var v Volume
		var created int64
		var labels, opts string
		var anon int
		if err := rows.Scan(&v.Name, &v.Driver, &created, &labels, &opts, &anon); err != nil {
			return nil, err
		}
		v.Created, v.Anonymous = fromNanos(created), anon == 1
		if labels != "" {
			if err := json.Unmarshal([]byte(labels), &v.Labels); err != nil {
				return nil, err
			}
		}
		if opts != "" {
			if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteVolume removes a volume's row.
func (t *Tx) DeleteVolume(name string) error {
	_, err := t.tx.Exec(`DELETE FROM volumes WHERE name = ?`, name)
	return err
}
