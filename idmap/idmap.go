// Package idmap is user namespace remapping, as dockerd's userns-remap: which host IDs a
// container's IDs are, read from /etc/subuid and /etc/subgid, Docker's "dockremap" user made on
// first use, and the user namespace handle an idmapped mount needs.
//
// Everything here but the functions that read or change the host (Lookup, EnsureUser,
// UsernsFile) works on values and is tested without root.
package idmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Range maps Size IDs from Container in the container to Host on the host.
type Range struct {
	Container uint32 `json:"ContainerID"`
	Host      uint32 `json:"HostID"`
	Size      uint32
}

// Map is a container's user and group ID mapping; the zero Map is no mapping (the host's IDs).
type Map struct {
	UIDs []Range `json:",omitempty"`
	GIDs []Range `json:",omitempty"`
}

// IsZero reports whether m maps nothing: the container uses the host's IDs.
func (m Map) IsZero() bool { return len(m.UIDs) == 0 && len(m.GIDs) == 0 }

// Root is the host user and group that the container's root is.
func (m Map) Root() (uid, gid int) {
	if m.IsZero() {
		return 0, 0
	}
	u, _ := toHost(m.UIDs, 0)
	g, _ := toHost(m.GIDs, 0)
	return u, g
}

// ErrUnmapped is an ID the mapping has no place for.
var ErrUnmapped = errors.New("ID outside the container's user namespace mapping")

func toHost(rs []Range, id uint32) (int, error) {
	for _, r := range rs {
		if id >= r.Container && id-r.Container < r.Size {
			return int(r.Host + (id - r.Container)), nil
		}
	}
	return -1, fmt.Errorf("%w: %d", ErrUnmapped, id)
}

func toContainer(rs []Range, id uint32) (int, error) {
	for _, r := range rs {
		if id >= r.Host && id-r.Host < r.Size {
			return int(r.Container + (id - r.Host)), nil
		}
	}
	return -1, fmt.Errorf("%w: host ID %d", ErrUnmapped, id)
}

// ToHost is the host owner of a container's uid and gid (unchanged without a mapping).
func (m Map) ToHost(uid, gid int) (int, int, error) {
	if m.IsZero() {
		return uid, gid, nil
	}
	if uid < 0 || gid < 0 {
		return -1, -1, fmt.Errorf("%w: %d:%d", ErrUnmapped, uid, gid)
	}
	u, err := toHost(m.UIDs, uint32(uid))
	if err != nil {
		return -1, -1, err
	}
	g, err := toHost(m.GIDs, uint32(gid))
	return u, g, err
}

// ToContainer is the container's view of a host uid and gid (unchanged without a mapping).
func (m Map) ToContainer(uid, gid int) (int, int, error) {
	if m.IsZero() {
		return uid, gid, nil
	}
	if uid < 0 || gid < 0 {
		return -1, -1, fmt.Errorf("%w: host ID %d:%d", ErrUnmapped, uid, gid)
	}
	u, err := toContainer(m.UIDs, uint32(uid))
	if err != nil {
		return -1, -1, err
	}
	g, err := toContainer(m.GIDs, uint32(gid))
	return u, g, err
}

// Spec is the mapping as an OCI runtime spec's linux.uidMappings and linux.gidMappings.
func (m Map) Spec() (uids, gids []specs.LinuxIDMapping) {
	conv := func(rs []Range) []specs.LinuxIDMapping {
		out := make([]specs.LinuxIDMapping, len(rs))
		for i, r := range rs {
			out[i] = specs.LinuxIDMapping{ContainerID: r.Container, HostID: r.Host, Size: r.Size}
		}
		return out
	}
	return conv(m.UIDs), conv(m.GIDs)
}

// ProcMap is the text of /proc/PID/uid_map (or gid_map) for the ranges, one "ID HOST SIZE" line each.
func ProcMap(rs []Range) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%d %d %d\n", r.Container, r.Host, r.Size)
	}
	return b.String()
}

// DefaultUser is the user (and group) that userns-remap "default" stands for, as in dockerd.
const DefaultUser = "dockremap"

// ParseRemap reads the userns-remap setting as dockerd does: "default" (the dockremap user and
// group), "USER", "USER:GROUP", "UID" or "UID:GID". A user without a group means the group of
// the same name.
func ParseRemap(v string) (usr, group string, err error) {
	if v == "" {
		return "", "", errors.New("userns-remap: empty user")
	}
	if v == "default" {
		return DefaultUser, DefaultUser, nil
	}
	usr, group, found := strings.Cut(v, ":")
	if usr == "" || (found && group == "") || strings.Contains(group, ":") {
		return "", "", fmt.Errorf("userns-remap: invalid value %q: expected \"default\", USER[:GROUP] or UID[:GID]", v)
	}
	if !found {
		group = usr
	}
	return usr, group, nil
}

// SubIDRange is one line of /etc/subuid or /etc/subgid: NAME-OR-ID:START:COUNT.
type SubIDRange struct {
	Owner       string
	Start, Size uint32
}

// ParseSubIDs reads a subuid or subgid file (shadow-utils' format; comments and malformed lines
// are skipped, as newuidmap skips them).
func ParseSubIDs(r io.Reader) ([]SubIDRange, error) {
	var out []SubIDRange
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] == "" {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		size, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || size == 0 || start+size-1 > math.MaxUint32 {
			continue
		}
		out = append(out, SubIDRange{Owner: f[0], Start: uint32(start), Size: uint32(size)})
	}
	return out, sc.Err()
}

// Ranges turns the subordinate ranges of one owner (matched by name or numeric ID) into a
// mapping from container ID 0 up, the lowest host range first, as dockerd builds it.
func Ranges(all []SubIDRange, name, id string) []Range {
	var mine []SubIDRange
	for _, r := range all {
		if r.Owner == name || (id != "" && r.Owner == id) {
			mine = append(mine, r)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Start < mine[j].Start })
	var out []Range
	next := uint32(0)
	for _, r := range mine {
		out = append(out, Range{Container: next, Host: r.Start, Size: r.Size})
		next += r.Size
	}
	return out
}

// Default range dockerd gives a user it creates: 65536 IDs from the first free ID at or above 100000.
const (
	DefaultRangeStart = 100000
	DefaultRangeSize  = 65536
)

// NextFreeRange is the first gap of size IDs at or above DefaultRangeStart that no range in the
// file uses.
func NextFreeRange(all []SubIDRange, size uint32) (uint32, error) {
	sorted := append([]SubIDRange(nil), all...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	start := uint64(DefaultRangeStart)
	for _, r := range sorted {
		end := uint64(r.Start) + uint64(r.Size)
		if end <= start {
			continue
		}
		if uint64(r.Start) >= start+uint64(size) {
			break
		}
		start = end
	}
	if start+uint64(size)-1 > math.MaxUint32 {
		return 0, errors.New("no free range of subordinate IDs left")
	}
	return uint32(start), nil
}

// Files are where the subordinate ranges are read from (variables so tests can point at copies).
var (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

func readSubIDs(path string) ([]SubIDRange, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseSubIDs(f)
}

// Lookup is the mapping of a remap user and group: their ranges in /etc/subuid and /etc/subgid.
// Names and numeric IDs both work, as in dockerd.
func Lookup(usr, group string) (Map, error) {
	var m Map
	uname, uid, err := lookupUser(usr)
	if err != nil {
		return m, err
	}
	gname, gid, err := lookupGroup(group)
	if err != nil {
		return m, err
	}
	subuid, err := readSubIDs(SubUIDFile)
	if err != nil {
		return m, err
	}
	subgid, err := readSubIDs(SubGIDFile)
	if err != nil {
		return m, err
	}
	m.UIDs, m.GIDs = Ranges(subuid, uname, uid), Ranges(subgid, gname, gid)
	if len(m.UIDs) == 0 {
		return Map{}, fmt.Errorf("userns-remap: no subuid ranges found for user %q in %s", uname, SubUIDFile)
	}
	if len(m.GIDs) == 0 {
		return Map{}, fmt.Errorf("userns-remap: no subgid ranges found for group %q in %s", gname, SubGIDFile)
	}
	return m, nil
}

func lookupUser(v string) (name, id string, err error) {
	u, err := user.Lookup(v)
	if err != nil {
		if _, nerr := strconv.Atoi(v); nerr == nil {
			if u, err = user.LookupId(v); err != nil {
				return "", v, nil // a bare UID with no passwd entry: its ranges by number
			}
		} else {
			return "", "", fmt.Errorf("userns-remap: user %q: %w", v, err)
		}
	}
	return u.Username, u.Uid, nil
}

func lookupGroup(v string) (name, id string, err error) {
	g, err := user.LookupGroup(v)
	if err != nil {
		if _, nerr := strconv.Atoi(v); nerr == nil {
			if g, err = user.LookupGroupId(v); err != nil {
				return "", v, nil
			}
		} else {
			return "", "", fmt.Errorf("userns-remap: group %q: %w", v, err)
		}
	}
	return g.Name, g.Gid, nil
}
