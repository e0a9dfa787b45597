package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The host-wide record of published host ports. berth publishes with DNAT, so nothing listens
// on a published port and the kernel cannot tell two roots apart; each published port is a file
// in portsDir (tmpfs under /run: cleared at boot) naming the root and container holding it, and
// the check-then-record of a start happens under one lock, so of two simultaneous `run -p
// 8080:80` (any roots) exactly one gets the port and the other Docker's "port is already
// allocated". An entry whose container no longer has its network (network.json gone: stopped,
// removed, or its root deleted) is stale and ignored.
var portsDir = func() string {
	if os.Geteuid() == 0 {
		return "/run/berth/ports"
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "berth", "ports")
}

// portRegistry is the locked record; unlock releases it.
type portRegistry struct {
	dir  string
	lock *os.File
}

// lockPorts takes the host-wide lock of the record.
func lockPorts() (*portRegistry, error) {
	dir := portsDir()
	os.MkdirAll(filepath.Dir(dir), 0o755) // /run/berth also holds the API's socket
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("the host's record of published ports: %w", err)
	}
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("the host's record of published ports: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return &portRegistry{dir: dir, lock: f}, nil
}

func (r *portRegistry) unlock() { r.lock.Close() }

// portEntryName is an entry's file name for "ip:port/proto" (ip 0.0.0.0 for every address).
func portEntryName(key string) string { return strings.NewReplacer("/", "_").Replace(key) }

func portEntryKey(name string) string {
	i := strings.LastIndex(name, "_")
	if i < 0 {
		return name
	}
	return name[:i] + "/" + name[i+1:]
}

func portOwner(root, id string) string { return root + "\n" + id + "\n" }

// live adds to used the ports other containers (of any root) hold, as "ip:port/proto".
func (r *portRegistry) live(root, self string, used map[string]bool) {
	ents, _ := os.ReadDir(r.dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			continue
		}
		owner := strings.Split(string(b), "\n")
		if len(owner) < 2 || string(b) == portOwner(root, self) {
			continue
		}
		if _, err := os.Stat(filepath.Join(owner[0], "containers", owner[1], "network.json")); err != nil {
			continue // stale: its container's network is gone
		}
		used[portEntryKey(e.Name())] = true
	}
}

// record notes the ports a container now holds.
func (r *portRegistry) record(root, id string, ports map[string][]PortBinding) error {
	for p, bs := range ports {
		_, proto := splitPrivatePort(p)
		for _, b := range bs {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			name := portEntryName(ip + ":" + b.HostPort + "/" + proto)
			if err := os.WriteFile(filepath.Join(r.dir, name), []byte(portOwner(root, id)), 0o600); err != nil {
				return fmt.Errorf("the host's record of published ports: %w", err)
			}
		}
	}
	return nil
}

// releasePorts removes a container's entries (its network is being torn down).
func releasePorts(root, id string) {
	dir := portsDir()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if b, err := os.ReadFile(p); err == nil && string(b) == portOwner(root, id) {
			os.Remove(p)
		}
	}
}
