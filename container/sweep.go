package container

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/runtime"
	"golang.org/x/sys/unix"
)

// Interrupted work and its debris.
//
// Every side effect berth has on the host (an overlay mount, a network namespace with its veth
// pair and CNI address lease, a runtime container with its cgroup and processes) is preceded by a
// record that names it, so that whatever kills berth, the next berth finds and undoes it:
//
//   - a container's record (its row) says "running" with its supervisor's PID before anything is
//     mounted or started; a record whose supervisor is gone is reconciled (Get, List), and
//     everything its start may have made is undone (reconcile, sweepSideEffects);
//   - a build step's record is its directory builds/<id>/ with an owner file that the process
//     running the step holds locked (flock) for as long as it lives: the lock goes with the
//     process however it dies, so a directory whose lock can be taken belongs to no one and is
//     swept (SweepInterrupted).
//
// The sweep is cheap when nothing was interrupted: one directory read of builds/.

// stepOwnerFile is the owner record inside a build step's directory.
const stepOwnerFile = "owner"

// staleAge is how old a step directory without an owner must be before it is taken for debris:
// younger, its owner may be between making it and locking its record.
const staleAge = time.Minute

// claimStepDir makes a build step's directory, dir, with its owner record already locked: the
// directory appears under its name only once the lock is held (made aside and renamed), so a
// sweeper never sees a step directory whose owner has not locked it yet. The returned file
// holds the lock; closing it releases the step to the sweepers.
func claimStepDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".new")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(tmp, stepOwnerFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	fmt.Fprintf(f, "%d\n", os.Getpid()) // for people: the lock is what counts
	if err := os.Rename(tmp, dir); err != nil {
		f.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	return f, nil
}

// buildTempPrefix names a build's scratch directories (ClaimBuildTemp) under builds/.
const buildTempPrefix = "tmp-"

// ClaimBuildTemp makes a build's scratch directory, builds/tmp-<random>/, claimed as a build
// step's directory is: a build killed however it dies leaves a directory whose owner is gone,
// which the next SweepInterrupted removes. release removes it and lets the claim go.
func (m *Manager) ClaimBuildTemp() (dir string, release func(), err error) {
	return ClaimBuildTempAt(m.Images.Root)
}

// ClaimBuildTempAt is ClaimBuildTemp for the store at root, without opening it: the build
// command claims the directory a context from stdin or a URL is unpacked in before it opens
// the store (which checks the context first).
func ClaimBuildTempAt(root string) (dir string, release func(), err error) {
	idb := make([]byte, 16)
	rand.Read(idb)
	dir = filepath.Join(root, "builds", buildTempPrefix+hex.EncodeToString(idb))
	owner, err := claimStepDir(dir)
	if err != nil {
		return "", nil, err
	}
	return dir, func() {
		os.RemoveAll(dir)
		owner.Close()
	}, nil
}

// SweepInterrupted undoes what build steps whose berth died (SIGKILL, a crash, a reboot) left
// behind: their processes, runtime containers, cgroups, network namespaces, veth pairs, address
// leases and mounts; and the overlay probes of a killed berth (probeOverlay). Steps still
// running are left alone. It returns what it could not remove.
func (m *Manager) SweepInterrupted() error {
	builds := filepath.Join(m.Images.Root, "builds")
	errs := sweepClaimed(builds, "build-", m.sweepStep)
	errs = append(errs, sweepClaimed(builds, buildTempPrefix, func(name string) error {
		p := filepath.Join(builds, name)
		unmountUnder(p)
		return os.RemoveAll(p)
	})...)
	errs = append(errs, m.sweepOverlayProbes()...)
	return errors.Join(errs...)
}

// sweepOverlayProbes removes the overlay probes (probeOverlay) of berths killed while probing.
func (m *Manager) sweepOverlayProbes() []error {
	return sweepClaimed(m.Images.Root, overlayProbePrefix, func(name string) error {
		p := filepath.Join(m.Images.Root, name)
		unmountUnder(p)
		return os.RemoveAll(p)
	})
}

// sweepClaimed calls sweep for every directory of parent named prefix* (made by claimStepDir)
// whose owner is gone, holding its owner lock meanwhile, and removes directories that a killed
// berth made aside and never claimed.
func sweepClaimed(parent, prefix string, sweep func(name string) error) []error {
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) == 0 {
		return nil
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(parent, name)
		switch {
		case strings.HasPrefix(name, "."+prefix) && strings.HasSuffix(name, ".new"):
			// Killed before it claimed its directory: nothing but the directory.
			if fi, err := os.Lstat(p); err == nil && time.Since(fi.ModTime()) > staleAge {
				os.RemoveAll(p)
			}
		case strings.HasPrefix(name, prefix):
			f, err := os.OpenFile(filepath.Join(p, stepOwnerFile), os.O_RDWR, 0)
			if err != nil {
				if fi, serr := os.Lstat(p); !errors.Is(err, os.ErrNotExist) || serr != nil || time.Since(fi.ModTime()) < staleAge {
					continue
				}
				// An older berth's (no record): swept once it is surely over.
			} else if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
				f.Close()
				continue // its owner lives
			}
			if err := sweep(name); err != nil {
				errs = append(errs, err)
			}
			if f != nil {
				f.Close()
			}
		}
	}
	return errs
}

// sweepStep undoes everything a build step may have made on the host, in the order that lets
// each go: the orphaned processes that could still be making things, the runtime's container
// and its cgroup, the network, then the mounts and the files.
func (m *Manager) sweepStep(id string) error {
	sandbox := &Container{ID: id, Host: HostConfig{NetworkMode: "bridge"}}
	m.sweepSideEffects(sandbox)
	dir := filepath.Join(m.Images.Root, "builds", id)
	unmountUnder(dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the interrupted build step %s: %w", dir, err)
	}
	os.RemoveAll(m.dir(id))
	return nil
}

// sweepSideEffects undoes the host-side effects of a container or build step whose berth is gone
// and whose processes are not to live on: orphaned runtime and CNI plugin processes still at
// work for it, its runtime container, its cgroup, and its network (with a namespace made before
// its network record was written).
func (m *Manager) sweepSideEffects(c *Container) {
	rt, err := m.Runtime(c.Host.Runtime)
	if err == nil {
		killOrphans(c.ID, rt.StateDir)
		if _, err := os.Stat(filepath.Join(rt.StateDir, c.ID)); err == nil {
			rt.Delete(c.ID, true)
		}
	} else {
		killOrphans(c.ID, "")
	}
	runtime.RemoveCgroup(c.Host.CgroupsPath(c.ID))
	m.cleanupNetwork(c)
	m.removeStaleNetNS(c.ID)
	m.releaseUnrecordedLeases(c)
}

// cniPluginNames are the plugins berth runs (cniPlugins), as their processes are named.
var cniPluginNames = map[string]bool{"bridge": true, "portmap": true, "host-local": true, "loopback": true}

// killOrphans kills the processes a dead berth left at work for container id: a runtime
// invocation naming it (under berth's runtime state directory stateDir) and CNI plugins adding
// or deleting its network (CNI_CONTAINERID in their environment). Left alone, they could go on
// making what the sweep is about to remove. It waits (a few seconds at most) for them to go.
func killOrphans(id, stateDir string) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	var killed []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		comm, err := os.ReadFile("/proc/" + p.Name() + "/comm")
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		match := false
		switch {
		case cniPluginNames[name]:
			env, _ := os.ReadFile("/proc/" + p.Name() + "/environ")
			match = bytes.Contains(append([]byte{0}, env...), []byte("\x00CNI_CONTAINERID="+id+"\x00"))
		case name == "runc" || name == "crun" || strings.HasPrefix(name, "runc:"):
			cmd, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline")
			args := strings.Split(string(cmd), "\x00")
			hasID, hasRoot := false, stateDir == ""
			for _, a := range args {
				hasID = hasID || a == id
				hasRoot = hasRoot || a == stateDir
			}
			match = hasID && hasRoot
		}
		if match && unix.Kill(pid, unix.SIGKILL) == nil {
			killed = append(killed, pid)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range killed {
		for unix.Kill(pid, 0) == nil && !zombie(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// zombie reports whether a process has exited and only waits to be reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

// unmountUnder unmounts every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMountPath(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	f.Close()
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		unix.Unmount(p, unix.MNT_DETACH)
	}
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ---- the per-container lock ----

// lockPath is a container's lock: held by whoever creates or starts it until it runs, and taken by
// prune before it removes a stopped container, so prune never takes a container that is being
// created or started for a stopped one.
func (m *Manager) lockPath(id string) string { return filepath.Join(m.dir(id), "lock") }

// lockContainer takes a container's lock; with wait false it fails at once (errLocked) when
// someone holds it. The lock is released by closing the file.
func (m *Manager) lockContainer(id string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(m.lockPath(id), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, NotFoundError{id}
		}
		return nil, err
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}

var errLocked = errors.New("container is being created or started")

// Unlock releases the lock that Create took on the container: `run` holds it until the
// container has started, so that no prune takes it for a stopped container meanwhile.
func (c *Container) Unlock() {
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// PruneContainer removes a container if it is stopped and nobody is creating or starting it (its
// lock is free), as `container prune` and `system prune` do for each container; it reports
// whether it removed it.
func (m *Manager) PruneContainer(id string) (bool, error) {
	lock, err := m.lockContainer(id, false)
	if errors.Is(err, errLocked) || errors.As(err, new(NotFoundError)) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer lock.Close()
	c, st, err := m.Get(id)
	if errors.As(err, new(NotFoundError)) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Running() {
		return false, nil
	}
	m.waitTeardown(c.ID)
	if err := m.remove(c, RemoveOptions{}); err != nil {
		return false, err
	}
	return true, nil
}

// removeStaleNetNS removes the network namespace of container (or build step) id that its
// network record does not name: one made before the record was written.
func (m *Manager) removeStaleNetNS(id string) {
	network.RemoveNetNS(filepath.Join(m.Images.Root, "netns", id))
}
