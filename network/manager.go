package network

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/rootless"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager keeps the networks of one berth root: their records in the state database, their
// bridges and rules on the host.
type Manager struct {
	DB   *metadata.DB
	Root string
	// Pools are where subnets come from when a network names none (nil: DefaultPools).
	Pools []Pool
}

// NotFoundError is Docker's "No such network: x".
type NotFoundError struct{ Ref string }

func (e NotFoundError) Error() string { return "No such network: " + e.Ref }

// ConflictError is an operation the network's state forbids (in use, predefined, a taken name).
type ConflictError struct{ Msg string }

func (e ConflictError) Error() string { return e.Msg }

func (m *Manager) driver() Driver { return Driver{Root: m.Root} }

// fromRow turns a database row into a Network.
func fromRow(r metadata.Network) (Network, error) {
	if r.Config == "" {
		for _, n := range Predefined(func(string) string { return r.ID }, r.Created) {
			if n.Name == r.Name {
				return n, nil
			}
		}
		return Network{}, fmt.Errorf("network %s: no record", r.Name)
	}
	var n Network
	if err := json.Unmarshal([]byte(r.Config), &n); err != nil {
		return Network{}, fmt.Errorf("network %s: %w", r.Name, err)
	}
	n.ID, n.Name, n.Created = r.ID, r.Name, r.Created
	return n, nil
}

// List returns every network, by name.
func (m *Manager) List() ([]Network, error) {
	var rows []metadata.Network
	if err := m.DB.View(func(tx *metadata.Tx) (err error) { rows, err = tx.Networks(); return }); err != nil {
		return nil, err
	}
	out := make([]Network, 0, len(rows))
	for _, r := range rows {
		n, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Get finds a network as Docker does: by full ID, by name, then by a unique ID prefix.
// ("default" is the default bridge, as in --network default.)
func (m *Manager) Get(ref string) (Network, error) {
	if ref == "default" {
		ref = BridgeName
	}
	var row metadata.Network
	err := m.DB.View(func(tx *metadata.Tx) error {
		var err error
		row, err = tx.Network(ref)
		if !errors.Is(err, metadata.ErrNotFound) || ref == "" {
			return err
		}
		ids, err := tx.NetworkIDsWithPrefix(strings.ToLower(ref), 2)
		switch {
		case err != nil:
			return err
		case len(ids) == 0:
			return NotFoundError{ref}
		case len(ids) > 1:
			return fmt.Errorf("network %s is ambiguous (%d matches found based on ID prefix)", ref, len(ids))
		}
		row, err = tx.Network(ids[0])
		return err
	})
	if errors.Is(err, metadata.ErrNotFound) {
		return Network{}, NotFoundError{ref}
	}
	if err != nil {
		return Network{}, err
	}
	return fromRow(row)
}

// Endpoints returns the endpoints on a network (by container name).
func (m *Manager) Endpoints(id string) ([]metadata.Endpoint, error) {
	var eps []metadata.Endpoint
	err := m.DB.View(func(tx *metadata.Tx) (err error) { eps, err = tx.Endpoints(id); return })
	return eps, err
}

// CreateOptions are `network create`'s flags.
type CreateOptions struct {
	Name   string
	Driver string // "" or "bridge"
	IPAM   IPAMConfig
	// IPAM6 is the IPv6 range (kept without EnableIPv6 too, as Docker keeps it); EnableIPv6
	// gives containers addresses of it.
	IPAM6      IPAMConfig
	EnableIPv6 bool
	Internal   bool
	Attachable bool
	Labels     map[string]string
	Options    map[string]string
	// IPAMOptions are the IPAM driver's options; nil is none at all (the API's request
	// without them), where the CLI sends an empty map.
	IPAMOptions map[string]string
}

// lockPath serialises the choice of subnets and bridges across every berth process on the host
// (all roots), since bridges and routes are the host's.
const lockPath = "/run/berth-network.lock"

func hostLock(root string) (func(), error) {
	path := lockPath
	if rootless.Active() {
		// The user's bridges are in the store's own namespace (HostNS), /run is root's.
		os.MkdirAll(filepath.Join(root, "network"), 0o700)
		path = filepath.Join(root, "network", "bridges.lock")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Plan validates create's options and returns the network to make (its subnet still empty when
// the pool is to choose it). It touches nothing.
func Plan(o CreateOptions, id string, now time.Time) (Network, error) {
	switch {
	case IsPredefined(o.Name):
		return Network{}, ConflictError{fmt.Sprintf("operation is not permitted on predefined %s network", o.Name)}
	case o.Driver == "host" || o.Driver == "null":
		return Network{}, ConflictError{fmt.Sprintf("only one instance of %q network is allowed", o.Driver)}
	case o.Driver != "" && o.Driver != "bridge":
		return Network{}, fmt.Errorf("plugin %q not found", o.Driver)
	}
	ipam, err := IPAMCheck(o.IPAM)
	if err != nil {
		return Network{}, err
	}
	if _, sn, err := net.ParseCIDR(ipam.Subnet); err == nil && sn.IP.To4() == nil {
		return Network{}, fmt.Errorf("invalid subnet %s: not an IPv4 subnet", ipam.Subnet)
	}
	ipam6, err := IPAMCheck(o.IPAM6)
	if err != nil {
		return Network{}, err
	}
	if _, sn, err := net.ParseCIDR(ipam6.Subnet); err == nil && sn.IP.To4() != nil {
		return Network{}, fmt.Errorf("invalid subnet %s: not an IPv6 subnet", ipam6.Subnet)
	}
	if o.EnableIPv6 && ipam6.Subnet == "" {
		return Network{}, ErrNoIPv6Pool
	}
	if o.Labels == nil {
		o.Labels = map[string]string{}
	}
	if o.Options == nil {
		o.Options = map[string]string{}
	}
	n := Network{ID: id, Name: o.Name, Driver: "bridge", Created: now, Internal: o.Internal, Attachable: o.Attachable,
		Labels: o.Labels, Options: o.Options, Bridge: BridgeFor(id, o.Options),
		IPAMOptions: o.IPAMOptions, NoIPAMOptions: o.IPAMOptions == nil, EnableIPv6: o.EnableIPv6}
	if len(n.Bridge) > unix.IFNAMSIZ-1 {
		return Network{}, fmt.Errorf("bridge name %s is longer than %d characters", n.Bridge, unix.IFNAMSIZ-1)
	}
	if ipam.Subnet != "" {
		n.IPAM, n.UserSubnet = []IPAMConfig{ipam}, true
	}
	if ipam6.Subnet != "" {
		// After the IPv4 range, which Create fills in from the pools when not given.
		n.IPAM = append(n.IPAM, ipam6)
	}
	return n, nil
}

// Create makes a user-defined bridge network: its record, its bridge with the gateway's address
// and its host rules. A subnet not given comes from the pools, skipping every range routed on the
// host and every other network's.
func (m *Manager) Create(o CreateOptions) (Network, error) {
	id := newID()
	n, err := Plan(o, id, time.Now().UTC())
	if err != nil {
		return Network{}, err
	}
	unlock, err := hostLock(m.Root)
	if err != nil {
		return Network{}, err
	}
	defer unlock()
	nets, err := m.List()
	if err != nil {
		return Network{}, err
	}
	var taken []*net.IPNet
	for _, other := range nets {
		if other.Name == n.Name {
			return Network{}, ConflictError{fmt.Sprintf("network with name %s already exists", n.Name)}
		}
		if sn := other.Subnet(); sn != nil {
			taken = append(taken, sn)
		}
		if sn, mine := other.Subnet6(), n.Subnet6(); sn != nil && mine != nil && Overlaps(sn, mine) {
			return Network{}, ConflictError{"Pool overlaps with other one on this address space"}
		}
	}
	if sn := n.Subnet(); sn != nil {
		if overlapsAny(sn, taken) {
			return Network{}, ConflictError{"Pool overlaps with other one on this address space"}
		}
	} else {
		pools := m.Pools
		if len(pools) == 0 {
			pools = DefaultPools
		}
		sn, err := ChooseSubnet(pools, append(taken, HostRoutes()...))
		if err != nil {
			return Network{}, err
		}
		n.IPAM = append([]IPAMConfig{{Subnet: sn.String(), Gateway: gatewayOf(sn.String())}}, n.IPAM...)
	}
	if n.IPAM[0].Gateway == "" {
		n.IPAM[0].Gateway = gatewayOf(n.IPAM[0].Subnet)
	}
	err = HostNS(m.Root, func() error {
		if err := CreateBridge(n); err != nil {
			return err
		}
		if err := m.reserveAux(n); err != nil {
			DeleteBridge(n)
			return err
		}
		if err := AddRules(Rules(n)); err != nil {
			DeleteBridge(n)
			return err
		}
		return nil
	})
	if err != nil {
		return Network{}, err
	}
	rec := n
	rec.ID, rec.Name, rec.Created = "", "", time.Time{}
	b, err := json.Marshal(rec)
	if err == nil {
		err = m.DB.Update(func(tx *metadata.Tx) error {
			return tx.PutNetwork(metadata.Network{ID: n.ID, Name: n.Name, Created: n.Created, Config: string(b)})
		})
	}
	if err != nil {
		m.teardown(n)
		if errors.Is(err, metadata.ErrConflict) {
			return Network{}, ConflictError{fmt.Sprintf("network with name %s already exists", n.Name)}
		}
		return Network{}, err
	}
	m.Event("create", n, nil)
	return n, nil
}

// teardown removes what Create made on the host.
// The bridge's deletion (the kernel waits out RCU grace periods, 50-100 ms under load) and the
// rules' (an iptables-restore) do not depend on each other: they run side by side.
func (m *Manager) teardown(n Network) {
	if rootless.Active() {
		// One thread that has joined the shared namespace: a goroutine of its own would run in
		// the host's.
		HostNS(m.Root, func() error {
			DeleteRules(Rules(n))
			DeleteBridge(n)
			return nil
		})
	} else {
		done := make(chan struct{})
		go func() { DeleteBridge(n); close(done) }()
		DeleteRules(Rules(n))
		<-done
	}
	os.RemoveAll(filepath.Join(m.Root, "network", "ipam", n.ID))
}

// Remove deletes a user-defined network that no running container uses.
func (m *Manager) Remove(ref string) error {
	n, err := m.Get(ref)
	if err != nil {
		return err
	}
	if !n.UserDefined() {
		return ConflictError{fmt.Sprintf("%s is a pre-defined network and cannot be removed", n.Name)}
	}
	err = m.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteNetwork(n.ID) })
	if errors.Is(err, metadata.ErrConflict) {
		return ConflictError{fmt.Sprintf("error while removing network: network %s id %s has active endpoints", n.Name, n.ID)}
	}
	if err != nil {
		return err
	}
	m.teardown(n)
	m.Event("destroy", n, nil)
	if rootless.Active() {
		m.dropRootlessNS()
	}
	return nil
}

// dropRootlessNS removes the store's shared rootless namespace and stops its slirp4netns once
// no user-defined network is left in it, so an idle user runs nothing but the pause process.
// Create makes them again on first use.
func (m *Manager) dropRootlessNS() {
	unlock, err := hostLock(m.Root)
	if err != nil {
		return
	}
	defer unlock()
	nets, err := m.List()
	if err != nil {
		return
	}
	for _, n := range nets {
		if n.UserDefined() {
			return
		}
	}
	RemoveRootlessNetNS(m.Root)
}

// Prune removes every user-defined network no running container uses, and returns their names.
func (m *Manager) Prune() ([]string, error) {
	return m.PruneMatching(func(Network) bool { return true })
}

// PruneMatching is Prune of the networks keep says yes to (PruneFilter).
func (m *Manager) PruneMatching(match func(Network) bool) ([]string, error) {
	nets, err := m.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range nets {
		if !n.UserDefined() || !match(n) {
			continue
		}
		if err := m.Remove(n.ID); err == nil {
			removed = append(removed, n.Name)
		} else if !errors.As(err, new(ConflictError)) {
			return removed, err
		}
	}
	sort.Strings(removed)
	return removed, nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateBridge makes a network's Linux bridge, with the gateway's address, up. A bridge of that
// name left by an earlier run is taken over.
func CreateBridge(n Network) error {
	sn := n.Subnet()
	if sn == nil {
		return fmt.Errorf("network %s has no subnet", n.Name)
	}
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		DeleteBridge(n)
	}
	fail := func(err error) error {
		DeleteBridge(n)
		return fmt.Errorf("creating bridge %s: %w", n.Bridge, err)
	}
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}); err != nil {
		return fail(err)
	}
	l, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fail(err)
	}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(n.Gateway()).To4(), Mask: sn.Mask}}); err != nil {
		return fail(err)
	}
	if n.IPv6() {
		// The IPv6 gateway, without duplicate address detection (it would stay tentative, and
		// unusable, for a while). Docker 20.10 does not NAT IPv6: no ip6tables rules.
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(n.Gateway6()), Mask: n.Subnet6().Mask}, Flags: unix.IFA_F_NODAD}); err != nil {
			return fail(err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fail(err)
	}
	return nil
}

// DeleteBridge removes a network's bridge; a missing one is no error.
func DeleteBridge(n Network) {
	if n.Bridge == "" || n.Bridge == DefaultBridge {
		return
	}
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		netlink.LinkDel(l)
	}
}

// EnsureBridge makes a user-defined network's bridge and rules again when the host lost them
// (a reboot, someone's `ip link del`): containers on it must still start.
func EnsureBridge(root string, n Network) error {
	if !n.UserDefined() || n.Driver != "bridge" {
		return nil
	}
	return HostNS(root, func() error { return ensureBridge(root, n) })
}

func ensureBridge(root string, n Network) error {
	// One RTM_GETLINK by name (net.InterfaceByName would dump every link on the host).
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		return nil
	}
	unlock, err := hostLock(root)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := netlink.LinkByName(n.Bridge); err == nil {
		return nil
	}
	if err := CreateBridge(n); err != nil {
		return err
	}
	DeleteRules(Rules(n))
	return AddRules(Rules(n))
}

// ListFiltered lists the networks that pass `network ls`'s filters (dockerd's, with its
// errors): driver, id, label, name, scope, type (custom, builtin), dangling.
func (m *Manager) ListFiltered(f format.Args) ([]Network, error) {
	if err := f.Validate(map[string]bool{"driver": true, "id": true, "label": true, "name": true, "scope": true, "type": true, "dangling": true}); err != nil {
		return nil, err
	}
	var typ string
	if err := f.WalkValues("type", func(v string) error {
		if v != "custom" && v != "builtin" {
			return InvalidFilterError{fmt.Sprintf("Invalid filter: 'type'='%s'", v)}
		}
		typ = v
		return nil
	}); err != nil {
		return nil, err
	}
	dangling, err := f.GetBoolOrDefault("dangling", false)
	if err != nil {
		return nil, err
	}
	nets, err := m.List()
	if err != nil {
		return nil, err
	}
	out := []Network{}
	for _, n := range nets {
		switch {
		case f.Contains("driver") && !f.ExactMatch("driver", n.Driver),
			f.Contains("name") && !f.Match("name", n.Name),
			f.Contains("id") && !f.Match("id", n.ID),
			f.Contains("scope") && !f.ExactMatch("scope", "local"),
			!f.MatchKVList("label", n.Labels),
			typ == "custom" && !n.UserDefined(), typ == "builtin" && n.UserDefined():
			continue
		}
		if f.Contains("dangling") {
			eps, err := m.Endpoints(n.ID)
			if err != nil {
				return nil, err
			}
			if (n.UserDefined() && len(eps) == 0) != dangling {
				continue
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// InvalidFilterError is a filter value dockerd refuses (a 400).
type InvalidFilterError struct{ Msg string }

func (e InvalidFilterError) Error() string { return e.Msg }

// PruneFilter reads network prune's filters (until, label, label!) into a predicate.
func PruneFilter(f format.Args) (func(Network) bool, error) {
	if err := f.Validate(map[string]bool{"until": true, "label": true, "label!": true}); err != nil {
		return nil, err
	}
	var until time.Time
	if vs := f.Get("until"); len(vs) > 0 {
		if len(vs) > 1 {
			return nil, InvalidFilterError{"more than one until filter specified"}
		}
		t, err := image.ParseTimestamp(vs[0], time.Now())
		if err != nil {
			return nil, InvalidFilterError{err.Error()}
		}
		until = t
	}
	return func(n Network) bool {
		if !until.IsZero() && !n.Created.Before(until) {
			return false
		}
		if !f.MatchKVList("label", n.Labels) {
			return false
		}
		for _, kv := range f.Get("label!") {
			k, v, hasV := strings.Cut(kv, "=")
			if got, ok := n.Labels[k]; ok && (!hasV || got == v) {
				return false
			}
		}
		return true
	}, nil
}

// reserveAux takes a network's auxiliary addresses out of its address space: each gets a lease
// of its own in the lease directory both allocators share (the fast path's and host-local's).
func (m *Manager) reserveAux(n Network) error {
	dir := m.driver().leaseDir(n)
	for _, c := range n.IPAM {
		names := make([]string, 0, len(c.AuxiliaryAddresses))
		for name := range c.AuxiliaryAddresses {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			ip := net.ParseIP(c.AuxiliaryAddresses[name])
			if err := os.WriteFile(filepath.Join(dir, ip.String()), []byte("aux-address\r\n"+name), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
