package network

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-engine/berth/rootless"
	"golang.org/x/sys/unix"
)

// In rootless mode the host's network namespace is not the user's to change: no bridge, address
// or iptables rule can be made there. User-defined networks live instead in one network namespace
// per store that stands in for the host (as rootless podman's "rootless-netns" and rootlesskit's
// child namespace do): their bridges, the host ends of the veth pairs, their NAT rules and the
// address leases are there, made by exactly the code that makes them on the host for root. One
// slirp4netns serves that namespace (its tap0 is 10.0.2.100, its default route slirp's
// gateway), so containers on those networks reach the outside through it. berth itself keeps
// running in the host's namespace; only the network work runs on a thread that has joined the
// shared one (HostNS).

// rootlessNS is where the shared namespace of a store is bound, and its slirp4netns's record
// and API socket (short enough for a sockaddr_un under a home directory).
func rootlessNS(root string) (ns, state, api, lock, log string) {
	dir := filepath.Join(root, "netns")
	return filepath.Join(dir, "rootless"), filepath.Join(dir, "rootless.json"), filepath.Join(dir, "rootless.slirp"),
		filepath.Join(dir, "rootless.lock"), filepath.Join(dir, "rootless.log")
}

// HostNS runs fn where the host's side of a user-defined network belongs: the calling thread's
// namespace for root; in rootless mode the store's shared namespace, made (with its slirp4netns)
// on first use or after the slirp4netns serving it has gone.
func HostNS(root string, fn func() error) error {
	if !rootless.Active() {
		return fn()
	}
	ns, err := EnsureRootlessNetNS(root)
	if err != nil {
		return err
	}
	return InNetNS(ns, fn)
}

// EnsureRootlessNetNS returns the path of the store's shared rootless network namespace, making
// it and starting its slirp4netns when either is missing.
func EnsureRootlessNetNS(root string) (string, error) {
	ns, state, api, lockPath, logPath := rootlessNS(root)
	if err := os.MkdirAll(filepath.Dir(ns), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return "", err
	}
	var s Slirp
	if b, err := os.ReadFile(state); err == nil && json.Unmarshal(b, &s) == nil && s.PID > 0 && isSlirp(s.PID) && isNetNS(ns) {
		return ns, nil
	}
	// Nothing, or a namespace whose slirp4netns died: a new pair. Bridges of the old namespace
	// went with it; EnsureBridge makes them again in the new one.
	StopSlirp(s)
	RemoveNetNS(ns)
	os.Remove(state)
	if err := NewNetNS(ns); err != nil {
		return "", fmt.Errorf("creating the rootless network namespace: %w", err)
	}
	s, err = StartSlirp(ns, api, logPath)
	if err != nil {
		RemoveNetNS(ns)
		return "", err
	}
	err = InNetNS(ns, func() error {
		// Routing between the bridges and tap0 (NAT is each network's rules, as on the host).
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	})
	if err == nil {
		b, _ := json.Marshal(s)
		err = os.WriteFile(state, b, 0o600)
	}
	if err != nil {
		StopSlirp(s)
		RemoveNetNS(ns)
		return "", err
	}
	return ns, nil
}

// RemoveRootlessNetNS stops the store's shared namespace's slirp4netns and removes the namespace
// (nothing when there is none).
func RemoveRootlessNetNS(root string) {
	ns, state, _, _, _ := rootlessNS(root)
	var s Slirp
	if b, err := os.ReadFile(state); err == nil && json.Unmarshal(b, &s) == nil {
		StopSlirp(s)
	}
	RemoveNetNS(ns)
	os.Remove(state)
}

// isNetNS reports whether path is a bound namespace (nsfs), not the empty file under it.
func isNetNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// PublishRootless forwards a published port from the host to the store's shared namespace
// through its slirp4netns: the host port arrives on tap0 (10.0.2.100) at the same port number,
// where the network's port mapping rules (portmap's DNAT, as on the host for root) send it to
// the container. It returns the forwarding's ID for UnpublishRootless.
func PublishRootless(root string, pm PortMapping) (int, error) {
	s, err := rootlessSlirp(root)
	if err != nil {
		return 0, err
	}
	return s.AddPortID(PortMapping{HostIP: pm.HostIP, HostPort: pm.HostPort, ContainerPort: pm.HostPort, Protocol: pm.Protocol})
}

// UnpublishRootless ends forwardings PublishRootless made (those of a slirp4netns since
// replaced went with it).
func UnpublishRootless(root string, ids []int) {
	s, err := rootlessSlirp(root)
	if err != nil {
		return
	}
	for _, id := range ids {
		s.RemovePort(id)
	}
}

// rootlessSlirp is the running slirp4netns of the store's shared namespace.
func rootlessSlirp(root string) (Slirp, error) {
	_, state, _, _, _ := rootlessNS(root)
	var s Slirp
	b, err := os.ReadFile(state)
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil || s.PID <= 0 || !isSlirp(s.PID) {
		return Slirp{}, fmt.Errorf("the rootless network namespace's slirp4netns is not running")
	}
	return s, nil
}
