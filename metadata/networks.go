package metadata

import (
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Network is a network's row; Config is the network package's JSON record (empty for the
// predefined bridge, host and none).
type Network struct {
	ID      string
	Name    string
	Created time.Time
	Config  string
}

const networkCols = `id, name, created, config`

func scanNetwork(sc interface{ Scan(...any) error }) (Network, error) {
	var n Network
	var created int64
	err := sc.Scan(&n.ID, &n.Name, &created, &n.Config)
	n.Created = fromNanos(created)
	return n, err
}

// Networks returns every network, by name.
func (t *Tx) Networks() ([]Network, error) {
	rows, err := t.tx.Query(`SELECT ` + networkCols + ` FROM networks ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Network
	for rows.Next() {
		n, err := scanNetwork(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Network returns one network by full ID or name, or ErrNotFound.
func (t *Tx) Network(idOrName string) (Network, error) {
	n, err := scanNetwork(t.tx.QueryRow(`SELECT `+networkCols+` FROM networks WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, idOrName, idOrName, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return n, ErrNotFound
	}
	return n, err
}

// NetworkIDsWithPrefix returns up to limit network IDs starting with prefix.
func (t *Tx) NetworkIDsWithPrefix(prefix string, limit int) ([]string, error) {
	return t.strings(`SELECT id FROM networks WHERE substr(id, 1, length(?)) = ? LIMIT ?`, prefix, prefix, limit)
}

// PutNetwork inserts a new network; a taken name or ID fails (ErrConflict).
func (t *Tx) PutNetwork(n Network) error {
	_, err := t.tx.Exec(`INSERT INTO networks(`+networkCols+`) VALUES(?,?,?,?)`, n.ID, n.Name, nanos(n.Created), n.Config)
	if err != nil && isConstraint(err) {
		return ErrConflict
	}
	return err
}

// DeleteNetwork removes a network's row; one with endpoints fails (ErrConflict).
func (t *Tx) DeleteNetwork(id string) error {
	var n int
	if err := t.tx.QueryRow(`SELECT count(*) FROM endpoints WHERE network_id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ErrConflict
	}
	_, err := t.tx.Exec(`DELETE FROM networks WHERE id = ?`, id)
	return err
}

// Endpoint is a running container's attachment to a network.
type Endpoint struct {
	NetworkID   string
	ContainerID string
	EndpointID  string
	Name        string
	Aliases     []string
	IP          string
	Prefix      int
	MAC         string
	IP6         string // on a network with IPv6 enabled
	Prefix6     int
}

const endpointCols = `network_id, container_id, endpoint_id, name, aliases, ip, prefix, mac, ip6, prefix6`

// PutEndpoint records an endpoint, replacing the container's earlier one on that network.
func (t *Tx) PutEndpoint(e Endpoint) error {
	aliases := ""
	if len(e.Aliases) > 0 {
		b, err := json.Marshal(e.Aliases)
		if err != nil {
			return err
		}
		aliases = string(b)
	}
	_, err := t.tx.Exec(`INSERT OR REPLACE INTO endpoints(`+endpointCols+`) VALUES(?,?,?,?,?,?,?,?,?,?)`,
		e.NetworkID, e.ContainerID, e.EndpointID, e.Name, aliases, e.IP, e.Prefix, e.MAC, e.IP6, e.Prefix6)
	return err
}

// DeleteEndpoints removes a container's endpoints: on one network, or on all with networkID "".
func (t *Tx) DeleteEndpoints(containerID, networkID string) error {
	_, err := t.tx.Exec(`DELETE FROM endpoints WHERE container_id = ? AND (? = '' OR network_id = ?)`, containerID, networkID, networkID)
	return err
}

func (t *Tx) endpoints(q string, args ...any) ([]Endpoint, error) {
	rows, err := t.tx.Query(`SELECT `+endpointCols+` FROM endpoints `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Endpoint
	for rows.Next() {
		var e Endpoint
		var aliases string
		if err := rows.Scan(&e.NetworkID, &e.ContainerID, &e.EndpointID, &e.Name, &aliases, &e.IP, &e.Prefix, &e.MAC, &e.IP6, &e.Prefix6); err != nil {
			return nil, err
		}
		if aliases != "" {
			json.Unmarshal([]byte(aliases), &e.Aliases)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Endpoints returns the endpoints on one network ("" for every network).
func (t *Tx) Endpoints(networkID string) ([]Endpoint, error) {
	return t.endpoints(`WHERE ? = '' OR network_id = ? ORDER BY name`, networkID, networkID)
}

// Neighbour is an endpoint with its network's name.
type Neighbour struct {
	Endpoint
	NetworkName string
}

// Neighbours returns the endpoints on the user-defined networks a container is attached to, its
// own included: the names its DNS resolver answers for. (The predefined networks, whose config is
// empty, have no name resolution.)
func (t *Tx) Neighbours(containerID string) ([]Neighbour, error) {
	rows, err := t.tx.Query(`SELECT e.network_id, e.container_id, e.endpoint_id, e.name, e.aliases, e.ip, e.prefix, e.mac, e.ip6, e.prefix6, n.name
		FROM endpoints e JOIN networks n ON n.id = e.network_id
		WHERE n.config != '' AND e.network_id IN (SELECT network_id FROM endpoints WHERE container_id = ?)
		ORDER BY e.network_id, e.name`, containerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Neighbour
	for rows.Next() {
		var e Neighbour
		var aliases string
		if err := rows.Scan(&e.NetworkID, &e.ContainerID, &e.EndpointID, &e.Name, &aliases, &e.IP, &e.Prefix, &e.MAC, &e.IP6, &e.Prefix6, &e.NetworkName); err != nil {
			return nil, err
		}
		if aliases != "" {
			json.Unmarshal([]byte(aliases), &e.Aliases)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RenameEndpoints follows a container's rename, so its new name resolves.
func (t *Tx) RenameEndpoints(containerID, name string) error {
	_, err := t.tx.Exec(`UPDATE endpoints SET name = ? WHERE container_id = ?`, name, containerID)
	return err
}
