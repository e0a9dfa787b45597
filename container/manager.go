package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berth-engine/berth/container/logging"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/runtime"
)

// Manager runs containers over an image store.
type Manager struct {
	Images *image.Store
	// Shim is the command line that re-executes berth as a detached container's supervisor; the
	// container ID is appended. Empty: this executable with "--root ROOT container-shim".
	ShimCommand []string
	// LogDefaults is the daemon-wide log driver and options (berth's config file: log-driver,
	// log-opts) that Create merges into each container's.
	LogDefaults logging.Config
	// UsernsRemap is the config file's userns-remap ("default", USER[:GROUP], UID[:GID]; empty
	// for none): containers created meanwhile run in a user namespace with that user's ranges.
	UsernsRemap string
	// DefaultRuntime is the config file's default-runtime: the OCI runtime of a container
	// created without one. Empty: crun when it is installed, else runc (DefaultRuntimeName).
	DefaultRuntime string
	// CacheRecords keeps the container records this process decoded (a long-lived one: berth
	// serve), so that a listing decodes only the records that changed since the last one.
	CacheRecords bool

	recordsMu sync.Mutex
	records   map[string]*cachedRecord
	// rows are the rows the last listing read, at rowsVersion (taken before reading them): a
	// listing while the database's Version is unchanged reads nothing.
	rows        []metadata.Container
	rowsVersion metadata.Version
	revisions   uint64 // the last Summary.Revision given out

	spares *spares // the spare shim kept ahead (KeepSpareShim), or nil

	holds sync.Map // container ID → *network.PortHold of its running supervision (holdPorts)
}

// cachedRecord is a decoded container record and state and the JSON they were decoded from.
type cachedRecord struct {
	config, state, name string
	sizeRw              int64
	c                   Container
	st                  State
	rev                 uint64
}

// DefaultRuntimeName is the OCI runtime a container created without --runtime gets, recorded in
// it (HostConfig.Runtime) so that it keeps it. Unless the config file says otherwise it is crun
// where crun is installed and can run on the host's cgroup layout, as podman chooses: a start
// costs crun about half runc's CPU, and crun loads the seccomp filter berth compiled once where
// runc compiles Docker's profile at every start (bench/run/seccomp.sh: berth run --rm, 47
// against 101 ms of CPU). runc otherwise.
func (m *Manager) DefaultRuntimeName() string {
	if m.DefaultRuntime != "" {
		return m.DefaultRuntime
	}
	return hostDefaultRuntime()
}

var hostDefaultRuntime = sync.OnceValue(func() string {
	if _, err := exec.LookPath("crun"); err == nil && runtime.CrunRunsHere() {
		return "crun"
	}
	return "runc"
})

// New returns a Manager over an open image store.
func New(s *image.Store) *Manager { return &Manager{Images: s} }

func (m *Manager) dir(id string) string { return filepath.Join(m.Images.Root, "containers", id) }

// Runtime returns the OCI runtime driver for a container: the one it records, runc for a record
// without one (made before containers recorded their runtime, when runc was the only default).
func (m *Manager) Runtime(name string) (*runtime.Runtime, error) {
	if name == "" {
		name = "runc"
	}
	return runtime.New(name, filepath.Join(m.Images.Root, "runtime", name))
}

// NotFoundError is Docker's "No such container: x".
type NotFoundError struct{ Ref string }

func (e NotFoundError) Error() string { return "No such container: " + e.Ref }

// ConflictError is an operation the container's state forbids.
type ConflictError struct{ Msg string }

func (e ConflictError) Error() string { return e.Msg }

// Compiled on first use, not as every berth command starts.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// Create makes a new container from an image: merges the config, records it and prepares its
// directories. Nothing runs and nothing is mounted until Start.
func (m *Manager) Create(o CreateOptions) (*Container, error) {
	if o.Name != "" && !validName().MatchString(o.Name) {
		return nil, fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	o.Name = strings.TrimPrefix(o.Name, "/")
	if err := needRoot(); err != nil {
		return nil, err
	}
	imageID, err := m.Images.Resolve(o.Image)
	if err != nil {
		return nil, err
	}
	img, err := m.Images.Get(imageID)
	if err != nil {
		return nil, err
	}
	if err := checkPlatform(o.Image, o.Platform, img.Config); err != nil {
		return nil, err
	}
	id := newID()
	if o.Host.UTSMode == runtime.NamespaceHost && o.Hostname != "" {
		return nil, errors.New("conflicting options: hostname and the UTS mode")
	}
	endpoints, err := m.planNetworks(&o)
	if err != nil {
		return nil, err
	}
	if o.Host.Links, err = m.legacyLinks(o, endpoints); err != nil {
		return nil, err
	}
	if o.Hostname == "" {
		o.Hostname = id[:12]
		if o.Host.NetworkMode == runtime.NetworkHost || o.Host.UTSMode == runtime.NamespaceHost {
			o.Hostname, _ = os.Hostname()
		}
	}
	cfg, err := MergeConfig(img.Config.Config, o)
	if err != nil {
		return nil, err
	}
	if _, err := runtime.NormalizeCapabilities(nil, o.Host.CapAdd, o.Host.CapDrop); err != nil {
		return nil, err
	}
	if _, err := runtime.ParseSecurityOpts(o.Host.SecurityOpt); err != nil {
		return nil, err
	}
	if err := ValidateIsolation(&o.Host); err != nil {
		return nil, err
	}
	if err := m.checkJoinTargets(&o.Host); err != nil {
		return nil, err
	}
	if err := ValidateHealthcheck(cfg.Healthcheck); err != nil {
		return nil, err
	}
	if err := ValidateRestartPolicy(o.Host.RestartPolicy); err != nil {
		return nil, err
	}
	o.Host.LogConfig = logging.Merge(o.Host.LogConfig, m.LogDefaults)
	if err := logging.ValidateKeys(o.Host.LogConfig); err != nil {
		return nil, err
	}
	if o.Host.AutoRemove && !o.Host.RestartPolicy.IsNone() {
		return nil, errors.New("can't create 'AutoRemove' container with restart policy")
	}
	if err := ResolveMemorySwap(&o.Host); err != nil {
		return nil, err
	}
	if ncpu := goruntime.NumCPU(); o.Host.NanoCPUs > int64(ncpu)*1e9 {
		return nil, fmt.Errorf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu)
	}
	if o.Host.NanoCPUs > 0 && (o.Host.CPUPeriod > 0 || o.Host.CPUQuota > 0) {
		return nil, errors.New("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	}
	if o.Host.CPUPeriod != 0 && (o.Host.CPUPeriod < 1000 || o.Host.CPUPeriod > 1000000) {
		return nil, errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	}
	if o.Host.CPUQuota > 0 && o.Host.CPUQuota < 1000 {
		return nil, errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	if o.Host.Memory > 0 && o.Host.MemoryReservation > o.Host.Memory {
		return nil, errors.New("Minimum memory limit can not be less than memory reservation limit, see usage")
	}
	warnings, err := checkCreate(&o)
	if err != nil {
		return nil, err
	}
	if err := m.volumesFrom(&o.Host); err != nil {
		return nil, err
	}
	remap, err := m.remapFor(&o.Host)
	if err != nil {
		return nil, err
	}
	if o.Host.Runtime == "" {
		o.Host.Runtime = m.DefaultRuntimeName()
	}
	path, args := EntrypointAndArgs(cfg)
	c := &Container{
		ID: id, Name: o.Name, Created: time.Now().UTC(), Path: path, Args: args,
		Image: o.Image, ImageID: imageID, Config: cfg, Host: o.Host, Driver: m.storageDriver(), Networks: endpoints,
		IDMap: remap, ImageLayers: img.Image.Layers, Warnings: warnings,
	}
	if remap != nil && c.Driver == driverOverlay && m.UsernsLayers(*remap) != UsernsIdmapped {
		c.Driver = driverCopy
	}
	if err := m.resolveVolumes(c); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.dir(id), 0o710); err != nil {
		return nil, err
	}
	// The overlay's root directory takes its attributes from upper/: it must be 0755 like an
	// image's root, or only root could walk the container's filesystem.
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.Mkdir(filepath.Join(m.dir(id), d), 0o755); err != nil {
			os.RemoveAll(m.dir(id))
			return nil, err
		}
	}
	if err := m.ensureInitLayer(); err != nil {
		os.RemoveAll(m.dir(id))
		return nil, err
	}
	if c.IDMap != nil {
		if err := m.prepareRemapped(c); err != nil {
			os.RemoveAll(m.dir(id))
			return nil, fmt.Errorf("preparing the container's directories for its user namespace: %w", err)
		}
	}
	if c.Driver == driverCopy {
		lowers, err := m.lowerDirs(c)
		if err == nil {
			err = flattenLayers(lowers, filepath.Join(m.dir(id), "rootfs"), c.hostOwner)
		}
		if err != nil {
			os.RemoveAll(m.dir(id))
			return nil, fmt.Errorf("copying the image into the container (copy driver): %w", err)
		}
	}
	// The container is locked before its record exists: a prune that sees the record waits for
	// nothing and takes nothing while the container is being created and started.
	lock, err := m.lockContainer(id, true)
	if err != nil {
		os.RemoveAll(m.dir(id))
		return nil, err
	}
	if o.HoldLock {
		c.lock = lock
	} else {
		defer lock.Close()
	}
	// Holding the store's write lock while recording keeps image GC from removing the layers
	// between our Resolve and the row that protects them.
	release, err := m.Images.BeginWrite()
	if err != nil {
		c.Unlock()
		os.RemoveAll(m.dir(id))
		return nil, err
	}
	defer release()
	err = m.Images.DB.Update(func(tx *metadata.Tx) error {
		if _, err := tx.Image(imageID); err != nil {
			return image.NotFoundError{Ref: o.Image}
		}
		if c.Name == "" {
			for i := 0; ; i++ {
				c.Name = randomName(i)
				if _, err := tx.ContainerByName(c.Name); errors.Is(err, metadata.ErrNotFound) {
					break
				}
			}
		}
		row, err := c.row(State{Status: "created"})
		if err != nil {
			return err
		}
		err = tx.PutContainer(row)
		if errors.Is(err, metadata.ErrConflict) {
			other, _ := tx.ContainerByName(c.Name)
			return ConflictError{fmt.Sprintf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", c.Name, other.ID)}
		}
		return err
	})
	if err != nil {
		c.Unlock()
		os.RemoveAll(m.dir(id))
		return nil, err
	}
	m.markLinked(c.Host.Links)
	m.event("create", c, nil)
	return c, nil
}

func newID() string {
	b := make([]byte, 32)
	for {
		rand.Read(b)
		id := hex.EncodeToString(b)
		// Docker never makes an all-digit short ID (it would parse as a number).
		if _, err := strconv.ParseInt(id[:12], 10, 64); err != nil {
			return id
		}
	}
}

var (
	nameLeft  = []string{"brave", "calm", "eager", "fervent", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nimble", "quiet", "rapid", "serene", "tender", "vivid", "witty", "zealous"}
	nameRight = []string{"albatross", "beacon", "capstan", "dinghy", "ensign", "frigate", "galley", "harbor", "jetty", "keel", "lantern", "mooring", "pilot", "quay", "rudder", "schooner", "tiller", "wharf"}
)

// randomName is a Docker-style adjective_noun name; retries add a digit, as Docker does.
func randomName(retry int) string {
	b := make([]byte, 2)
	rand.Read(b)
	n := nameLeft[int(b[0])%len(nameLeft)] + "_" + nameRight[int(b[1])%len(nameRight)]
	if retry > 0 {
		n += strconv.Itoa(int(b[0]) % 10)
	}
	return n
}

func (c *Container) row(st State) (metadata.Container, error) {
	cfg, err := json.Marshal(c)
	if err != nil {
		return metadata.Container{}, err
	}
	s, err := json.Marshal(st)
	if err != nil {
		return metadata.Container{}, err
	}
	return metadata.Container{ID: c.ID, Name: c.Name, ImageID: c.ImageID, Created: c.Created,
		Config: string(cfg), State: string(s)}, nil
}

func fromRow(r metadata.Container) (*Container, State, error) {
	// A record made before restart policies has none: Docker's default, "no".
	c := Container{Host: HostConfig{RestartPolicy: RestartPolicy{Name: "no"}}}
	var st State
	if err := json.Unmarshal([]byte(r.Config), &c); err != nil {
		return nil, st, fmt.Errorf("container %s: bad record: %w", r.ID, err)
	}
	if r.State != "" {
		if err := json.Unmarshal([]byte(r.State), &st); err != nil {
			return nil, st, fmt.Errorf("container %s: bad state: %w", r.ID, err)
		}
	}
	c.Name = r.Name
	return &c, st, nil
}

// lookup finds a container the way Docker does: full ID, exact name, then a unique ID prefix.
func lookup(tx *metadata.Tx, ref string) (metadata.Container, error) {
	name := strings.TrimPrefix(ref, "/")
	if r, err := tx.Container(ref); err == nil {
		return r, nil
	}
	if r, err := tx.ContainerByName(name); err == nil {
		return r, nil
	}
	if ref != "" && isHex(ref) {
		ids, err := tx.ContainerIDsWithPrefix(ref, 2)
		if err != nil {
			return metadata.Container{}, err
		}
		switch len(ids) {
		case 1:
			return tx.Container(ids[0])
		case 2:
			return metadata.Container{}, fmt.Errorf("Multiple IDs found with provided prefix: %s", ref)
		}
	}
	return metadata.Container{}, NotFoundError{ref}
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Get finds a container by ID, name or ID prefix and returns it with its state, reconciled with
// the runtime when its supervisor is gone.
func (m *Manager) Get(ref string) (*Container, State, error) {
	var row metadata.Container
	err := m.Images.DB.View(func(tx *metadata.Tx) error {
		var err error
		row, err = lookup(tx, ref)
		return err
	})
	if err != nil {
		return nil, State{}, err
	}
	c, st, err := fromRow(row)
	if err != nil {
		return nil, st, err
	}
	if st, err = m.reconcile(c, st); errors.As(err, new(NotFoundError)) {
		return nil, st, NotFoundError{ref}
	}
	return c, st, err
}

// Summary is a container with its state and what a listing shows.
type Summary struct {
	*Container
	State  State
	SizeRw int64
	// Revision, when not 0, names the record, state and SizeRw this summary was made from, in
	// this process: two summaries of a container with the same non-zero Revision are the same
	// (Status strings aside, which depend on the time). Only a Manager with CacheRecords gives
	// revisions, and only to containers that do not run (whose listing reads nothing else).
	Revision uint64
	// LinkNames are the container's names as a legacy link's target, "/PARENT/ALIAS" (set by
	// ListFiltered).
	LinkNames []string
}

// Names are a listed container's names as Docker lists them (GET /containers/json's Names, `ps
// --no-trunc`): "/NAME" and its names as a link target, sorted.
func (s Summary) Names() []string {
	names := append([]string{"/" + s.Name}, s.LinkNames...)
	sort.Strings(names)
	return names
}

// List returns every container, newest first, reconciled.
func (m *Manager) List() ([]Summary, error) { return m.list(false) }

// list is List; shared: see ListOptions.Shared.
func (m *Manager) list(shared bool) ([]Summary, error) {
	if m.CacheRecords {
		return m.listCached(shared)
	}
	rows, err := m.containerRows()
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(rows))
	for _, r := range rows {
		c, st, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		if st, err = m.reconcile(c, st); errors.As(err, new(NotFoundError)) {
			continue // a --rm container that ended unwatched, removed now
		} else if err != nil {
			return nil, err
		}
		out = append(out, Summary{Container: c, State: st, SizeRw: r.SizeRw})
	}
	return out, nil
}

// containerRows reads every container's row in one read transaction.
func (m *Manager) containerRows() ([]metadata.Container, error) {
	var rows []metadata.Container
	err := m.Images.DB.View(func(tx *metadata.Tx) error {
		var err error
		rows, err = tx.Containers()
		return err
	})
	return rows, err
}

// listCached is List in a long-lived process (CacheRecords). Reading and decoding the records
// is most of a listing's work (some 1 KB of JSON each), and most have not changed since the
// last listing: the rows are read again only when the database's Version changed since they
// were read, and only the records and states that changed are decoded. Only the containers
// listed now are kept. A kept entry never changes once made (a change makes a new one), so a
// shared listing can hand out the entry's own record.
func (m *Manager) listCached(shared bool) ([]Summary, error) {
	m.recordsMu.Lock()
	defer m.recordsMu.Unlock()
	rows, fresh := m.rows, false
	v, verr := m.Images.DB.Version() // before the read: a commit after it changes it
	if verr != nil || v != m.rowsVersion || rows == nil {
		fresh = true
		m.rows, m.rowsVersion = nil, metadata.Version{}
		var err error
		if rows, err = m.containerRows(); err != nil {
			return nil, err
		}
		if verr == nil && rows != nil {
			m.rows, m.rowsVersion = rows, v
		}
	}
	cache := m.records
	if fresh || cache == nil {
		// New rows: only the containers listed now are kept.
		old := cache
		cache = make(map[string]*cachedRecord, len(rows))
		for _, r := range rows {
			if e, ok := old[r.ID]; ok {
				cache[r.ID] = e
			}
		}
		m.records = cache
	}
	out := make([]Summary, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		e := cache[r.ID]
		if fresh && e != nil {
			// The rows read again hold their own copy of each string: an unchanged one is
			// swapped for the entry's, so that later listings compare pointers, not 1 KB.
			if e.config == r.Config {
				r.Config = e.config
			}
			if e.state == r.State {
				r.State = e.state
			}
		}
		if e == nil || e.config != r.Config || e.state != r.State || e.name != r.Name || e.sizeRw != r.SizeRw {
			ne := &cachedRecord{config: r.Config, state: r.State, name: r.Name, sizeRw: r.SizeRw}
			if e != nil && e.config == r.Config {
				ne.c = e.c
			} else {
				c, _, err := fromRow(metadata.Container{ID: r.ID, Name: r.Name, Config: r.Config})
				if err != nil {
					return nil, err
				}
				ne.c = *c
			}
			ne.c.Name = r.Name
			if e != nil && e.state == r.State {
				ne.st = e.st
			} else if r.State != "" {
				if err := json.Unmarshal([]byte(r.State), &ne.st); err != nil {
					return nil, fmt.Errorf("container %s: bad state: %w", r.ID, err)
				}
			}
			m.revisions++
			ne.rev = m.revisions
			e = ne
			cache[r.ID] = e
		}
		st := e.st
		rev := e.rev
		if st.SupervisorPid != 0 || st.Running() {
			// reconcile asks the supervisor or the runtime, and a listing the network state.
			rev = 0
		}
		c := &e.c
		if !shared || rev == 0 {
			cp := e.c // each caller gets its own copy of the record's top level
			c = &cp
			if st.Health != nil {
				h := *st.Health // and of the state's health, with its log
				h.Log = append([]HealthcheckResult(nil), h.Log...)
				st.Health = &h
			}
		}
		st, err := m.reconcile(c, st)
		if errors.As(err, new(NotFoundError)) {
			continue // a --rm container that ended unwatched, removed now
		} else if err != nil {
			return nil, err
		}
		out = append(out, Summary{Container: c, State: st, SizeRw: r.SizeRw, Revision: rev})
	}
	return out, nil
}

// setState records a container's state; it reports false when the container is gone.
func (m *Manager) setState(id string, st State) (bool, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return false, err
	}
	var ok bool
	err = m.Images.DB.Update(func(tx *metadata.Tx) error {
		ok, err = tx.SetContainerState(id, string(b))
		return err
	})
	return ok, err
}

// updateState applies fn to the stored state in one transaction.
func (m *Manager) updateState(id string, fn func(*State) error) (State, error) {
	var st State
	err := m.Images.DB.Update(func(tx *metadata.Tx) error {
		r, err := tx.Container(id)
		if err != nil {
			return err
		}
		if r.State != "" {
			if err := json.Unmarshal([]byte(r.State), &st); err != nil {
				return err
			}
		}
		if err := fn(&st); err != nil {
			return err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = tx.SetContainerState(id, string(b))
		return err
	})
	return st, err
}

// Rename gives a container a new name.
func (m *Manager) Rename(ref, newName string) error {
	// Docker's order: the container is looked up first, then the new name is checked as it is
	// reserved ("Error when allocating new name: ...").
	valid := validName().MatchString(newName)
	newName = strings.TrimPrefix(newName, "/")
	var renamed *Container
	var oldName string
	err := m.Images.DB.Update(func(tx *metadata.Tx) error {
		r, err := lookup(tx, ref)
		if err != nil {
			return err
		}
		if r.Name == newName {
			return fmt.Errorf("Renaming a container with the same name as its current name")
		}
		if !valid {
			return fmt.Errorf("Error when allocating new name: Invalid container name (/%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName)
		}
		c, _, err := fromRow(r)
		if err != nil {
			return err
		}
		oldName, renamed = c.Name, c
		c.Name = newName
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		err = tx.SetContainerConfig(r.ID, newName, string(b))
		if err == nil {
			err = tx.RenameEndpoints(r.ID, newName)
		}
		if errors.Is(err, metadata.ErrConflict) {
			other, _ := tx.ContainerByName(newName)
			return ConflictError{fmt.Sprintf("Error when allocating new name: Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", newName, other.ID)}
		}
		return err
	})
	if err == nil && renamed != nil {
		m.event("rename", renamed, map[string]string{"oldName": "/" + oldName})
	}
	return err
}

// RemoveOptions are `rm`'s flags.
type RemoveOptions struct {
	Force   bool // kill a running container first
	Volumes bool // remove its anonymous volumes

	runtimeGone bool // the runtime has already forgotten the container (runc run)
	reaped      bool // the caller reaped the container's init: the runtime's record goes without it (DeleteExited)
}

// Remove deletes a container: its row, its directory and its runtime state.
func (m *Manager) Remove(ref string, o RemoveOptions) error {
	c, st, err := m.Get(ref)
	if err != nil {
		return err
	}
	if st.Running() {
		if !o.Force {
			if st.Restarting() {
				return ConflictError{fmt.Sprintf("You cannot remove a restarting container %s. Stop the container before attempting removal or force remove", c.ID)}
			}
			if st.Status == "paused" {
				return ConflictError{fmt.Sprintf("You cannot remove a paused container %s. Unpause and then stop the container before attempting removal or force remove", c.ID)}
			}
			return ConflictError{fmt.Sprintf("You cannot remove a running container %s. Stop the container before attempting removal or force remove", c.ID)}
		}
		if err := m.Kill(c.ID, "KILL"); err != nil && !errors.As(err, new(ConflictError)) {
			return err
		}
		if _, err := m.Wait(c.ID, 10*time.Second); err != nil {
			return err
		}
	}
	m.waitTeardown(c.ID)
	return m.remove(c, o)
}

func (m *Manager) remove(c *Container, o RemoveOptions) error {
	// The runtime and the network forget the container while its mounts go (none depends on
	// the others); the network's state is read first, from the directory about to go.
	net := m.networkState(c.ID)
	deleted := make(chan struct{})
	go func() {
		// The runtime keeps a directory per container it knows; a container its supervisor
		// tore down has none left, and a `runc delete` (a process) is spared.
		if rt, err := m.Runtime(c.Host.Runtime); err == nil && !o.runtimeGone {
			if _, err := os.Stat(filepath.Join(rt.StateDir, c.ID)); errors.Is(err, os.ErrNotExist) {
				// nothing to delete
			} else if o.reaped {
				rt.DeleteExited(c.ID, c.Host.CgroupsPath(c.ID))
			} else {
				rt.Delete(c.ID, true)
			}
		}
		close(deleted)
	}()
	netDone := make(chan struct{})
	go func() {
		if net != nil {
			m.undoNetwork(c, net)
		}
		close(netDone)
	}()
	unmountRootfs(m.dir(c.ID))
	// Temporary mounts of export and cp that a killed berth left behind.
	if tmp, _ := filepath.Glob(filepath.Join(m.dir(c.ID), tempMountPrefix+"*")); len(tmp) > 0 {
		for _, p := range tmp {
			unmountUnder(p)
		}
	}
	<-deleted
	<-netDone
	// The row goes last: whoever waits for the container to be gone (stop of a --rm container,
	// rm -f) then finds nothing of it left.
	if err := os.RemoveAll(m.dir(c.ID)); err != nil {
		return err
	}
	if err := m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.DeleteContainer(c.ID) }); err != nil {
		return err
	}
	m.event("destroy", c, nil)
	if o.Volumes && len(c.Host.Mounts) > 0 {
		m.removeAnonymousVolumes(c)
	}
	return nil
}

// SizeRw is the size of a container's writable layer (its files' bytes), recorded for system df.
func (m *Manager) SizeRw(id string) (int64, error) {
	n := dirSize(filepath.Join(m.dir(id), "upper"))
	if c, _, err := m.getState(id); err == nil && c.Driver == driverCopy {
		n = 0
		if lowers, err := m.lowerDirs(c); err == nil {
			changes, _ := copyChanges(filepath.Join(m.dir(id), "rootfs"), lowers, c.hostOwner)
			if root, err := os.OpenRoot(filepath.Join(m.dir(id), "rootfs")); err == nil {
				for _, ch := range changes {
					if fi, err := root.Lstat(strings.TrimPrefix(ch.Path, "/")); err == nil && fi.Mode().IsRegular() {
						n += fi.Size()
					}
				}
				root.Close()
			}
		}
	}
	err := m.Images.DB.Update(func(tx *metadata.Tx) error { return tx.SetContainerSize(id, n) })
	return n, err
}

// ImageSize is an image's unpacked size (0 when it is gone).
func (m *Manager) ImageSize(imageID string) int64 {
	var n int64
	m.Images.DB.View(func(tx *metadata.Tx) error {
		img, err := tx.Image(imageID)
		n = img.Size
		return err
	})
	return n
}

// sharedInitLayer is the init layer of every container (makeInitLayer): it is the same for all,
// and read-only, so it is made once rather than created and removed with each container.
func (m *Manager) sharedInitLayer() string { return filepath.Join(m.Images.Root, "init-layer") }

// initLayer is the init layer of a container: the shared one, or its own for a container that an
// older berth created.
func (m *Manager) initLayer(id string) string {
	own := filepath.Join(m.dir(id), "init")
	if _, err := os.Lstat(own); err == nil {
		return own
	}
	return m.sharedInitLayer()
}

// ensureInitLayer makes the shared init layer if it is missing, atomically (another berth may be
// making it too).
func (m *Manager) ensureInitLayer() error {
	dst := m.sharedInitLayer()
	if _, err := os.Lstat(dst); err == nil {
		return addDockerenv(dst)
	}
	tmp, err := os.MkdirTemp(m.Images.Root, ".init-layer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := makeInitLayer(tmp); err != nil {
		return err
	}
	if err := addDockerenv(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, serr := os.Lstat(dst); serr == nil {
			return nil // another process made it first
		}
		return err
	}
	return nil
}

// addDockerenv puts /.dockerenv in a container init layer, as Docker does (an empty 0755 file
// owned by root; container-detection scripts test for it). Build steps do not get it (BuildKit
// makes none). A shared init layer made by an older berth lacks it: it is added there by a rename,
// so a concurrent berth sees the file whole or not at all.
func addDockerenv(dir string) error {
	dst := filepath.Join(dir, ".dockerenv")
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	f, err := os.CreateTemp(dir, ".dockerenv-")
	if err != nil {
		return err
	}
	f.Close()
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// makeInitLayer makes an init layer, as Docker's "-init" layer: the mount points the
// runtime needs (/proc, /sys, /dev/..., /etc/hosts...) exist in a read-only layer between the
// image and the writable layer, so mounting over them writes nothing to upper/ and diff, commit
// and export never see them.
func makeInitLayer(dir string) error {
	for _, d := range []string{"dev/pts", "dev/shm", "dev/mqueue", "proc", "sys", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for _, f := range []string{"dev/console", "etc/hosts", "etc/hostname", "etc/resolv.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o755); err != nil {
			return err
		}
	}
	return os.Symlink("/proc/mounts", filepath.Join(dir, "etc", "mtab"))
}
