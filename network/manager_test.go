package network

import (
	"errors"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/berth-engine/berth/metadata"
)

func openManager(t *testing.T) *Manager {
	t.Helper()
	db, err := metadata.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &Manager{DB: db, Root: t.TempDir()}
}

// The migration makes Docker's predefined networks, with IDs like dockerd's.
func TestPredefinedNetworks(t *testing.T) {
	m := openManager(t)
	nets, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	var names []string
	for _, n := range nets {
		names = append(names, n.Name+"/"+n.Driver)
		if !hex64.MatchString(n.ID) || n.Created.IsZero() || n.UserDefined() {
			t.Errorf("%+v", n)
		}
	}
	if got := join(names); got != "bridge/bridge host/host none/null" {
		t.Fatalf("networks %s", got)
	}
	br, err := m.Get("default")
	if err != nil || br.Name != "bridge" || br.Bridge != DefaultBridge || br.Subnet().String() != DefaultSubnet || br.Gateway() != "10.89.0.1" {
		t.Fatalf("default: %+v %v", br, err)
	}
	if n, err := m.Get(br.ID[:8]); err != nil || n.Name != "bridge" {
		t.Errorf("by prefix: %+v %v", n, err)
	}
	if _, err := m.Get("nosuch"); err == nil || err.Error() != "No such network: nosuch" || !errors.As(err, new(NotFoundError)) {
		t.Errorf("missing: %v", err)
	}
	if err := m.Remove("host"); err == nil || err.Error() != "host is a pre-defined network and cannot be removed" {
		t.Errorf("rm host: %v", err)
	}
	r, err := m.Inspect("none")
	if err != nil || r.Driver != "null" || r.Scope != "local" || r.IPAM.Driver != "default" || len(r.IPAM.Config) != 0 || r.Containers == nil {
		t.Errorf("inspect none: %+v %v", r, err)
	}
	// Endpoints show in inspect as Docker's Containers.
	m.DB.Update(func(tx *metadata.Tx) error {
		return tx.PutEndpoint(metadata.Endpoint{NetworkID: br.ID, ContainerID: "c1", EndpointID: "e1", Name: "web", IP: "10.89.0.5", Prefix: 16, MAC: "02:42:0a:59:00:05"})
	})
	r, _ = m.Inspect("bridge")
	if c := r.Containers["c1"]; c.Name != "web" || c.IPv4Address != "10.89.0.5/16" || c.EndpointID != "e1" {
		t.Errorf("containers %+v", r.Containers)
	}
}
