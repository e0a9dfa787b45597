package container

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/runtime"
	"github.com/docker/go-units"
	"github.com/opencontainers/go-digest"
)

// InspectResponse is `inspect`'s view of a container, in the shape (field order and names) of
// Docker's ContainerJSON.
type InspectResponse struct {
	ID              string `json:"Id"`
	Created         string
	Path            string
	Args            []string
	State           InspectState
	Image           string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	ExecIDs         []string
	HostConfig      InspectHostConfig
	GraphDriver     image.GraphDriver
	SizeRw          *int64 `json:",omitempty"`
	SizeRootFs      *int64 `json:",omitempty"`
	Mounts          []InspectMount
	Config          image.ContainerConfig
	NetworkSettings InspectNetwork
}

// InspectState is Docker's ContainerState.
type InspectState struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
	Health     *Health `json:",omitempty"`
}

// InspectHostConfig is the part of Docker's HostConfig berth knows about, in Docker's field order.
type InspectHostConfig struct {
	Binds           []string
	ContainerIDFile string
	LogConfig       struct {
		Type   string
		Config map[string]string
	}
	NetworkMode       string
	PortBindings      map[string][]PortBinding
	RestartPolicy     RestartPolicy
	AutoRemove        bool
	CapAdd            []string
	CapDrop           []string
	CgroupnsMode      string
	ExtraHosts        []string
	GroupAdd          []string
	IpcMode           string
	OomScoreAdj       int
	PidMode           string
	Privileged        bool
	PublishAllPorts   bool
	ReadonlyRootfs    bool
	SecurityOpt       []string
	Tmpfs             map[string]string `json:",omitempty"`
	UTSMode           string
	UsernsMode        string
	ShmSize           int64
	Sysctls           map[string]string `json:",omitempty"`
	Runtime           string
	Memory            int64
	NanoCpus          int64 `json:"NanoCpus"`
	Devices           []DeviceMapping
	DeviceCgroupRules []string
	MemorySwap        int64
	PidsLimit         *int64
	Ulimits           []*units.Ulimit
	Init              *bool `json:",omitempty"`
	MaskedPaths       []string
	ReadonlyPaths     []string
}

// InspectMount is one entry of Mounts.
type InspectMount struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// InspectNetwork is the part of NetworkSettings berth fills.
type InspectNetwork struct {
	Bridge      string
	SandboxKey  string
	Ports       map[string][]PortBinding
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
	Networks    map[string]InspectEndpoint
}

// InspectEndpoint is a container's attachment to one network: Docker's EndpointSettings.
type InspectEndpoint struct {
	IPAMConfig          *InspectIPAM
	Links               []string
	Aliases             []string
	NetworkID           string
	EndpointID          string
	Gateway             string
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	MacAddress          string
	DriverOpts          map[string]string
}

// InspectIPAM is an endpoint's fixed address (--ip).
type InspectIPAM struct {
	IPv4Address string `json:",omitempty"`
}

func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Inspect returns a container's inspect view; size adds SizeRw and SizeRootFs.
func (m *Manager) Inspect(ref string, size bool) (*InspectResponse, error) {
	c, st, err := m.Get(ref)
	if err != nil {
		return nil, err
	}
	dir := m.dir(c.ID)
	rt := c.Host.Runtime
	if rt == "" {
		rt = "runc"
	}
	st.Pid = m.pid(c.ID, st)
	r := &InspectResponse{
		ID: c.ID, Created: dockerTime(c.Created), Path: c.Path, Args: c.Args,
		State: InspectState{
			Status: st.Status, Running: st.Running(), Paused: st.Status == "paused", Dead: st.Status == "dead",
			OOMKilled: st.OOMKilled, Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error,
			StartedAt: dockerTime(st.StartedAt), FinishedAt: dockerTime(st.FinishedAt),
			Restarting: st.Restarting(), Health: st.Health,
		},
		RestartCount:   st.RestartCount,
		Image:          c.ImageID,
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		LogPath:        m.LogPath(c),
		Name:           "/" + c.Name,
		Driver:         c.Driver,
		Platform:       "linux",
		Config:         c.Config,
	}
	if r.Args == nil {
		r.Args = []string{}
	}
	if sec, err := runtime.ParseSecurityOpts(c.Host.SecurityOpt); err == nil {
		r.AppArmorProfile = sec.AppArmor
	}
	h := &r.HostConfig
	h.Binds, h.NetworkMode, h.PortBindings = c.Host.Binds, c.Host.NetworkMode, c.Host.PortBindings
	if h.PortBindings == nil {
		h.PortBindings = map[string][]PortBinding{}
	}
	lc := c.LogConfig()
	h.LogConfig.Type, h.LogConfig.Config = lc.Type, lc.Config
	h.RestartPolicy = c.Host.RestartPolicy
	h.AutoRemove, h.CapAdd, h.CapDrop, h.ExtraHosts = c.Host.AutoRemove, c.Host.CapAdd, c.Host.CapDrop, c.Host.ExtraHosts
	h.PublishAllPorts, h.ReadonlyRootfs, h.Tmpfs = c.Host.PublishAllPorts, c.Host.ReadonlyRootfs, c.Host.Tmpfs
	h.ShmSize, h.Runtime, h.Memory, h.NanoCpus, h.MemorySwap = DefaultShmSize, rt, c.Host.Memory, c.Host.NanoCPUs, c.Host.MemorySwap
	if c.Host.ShmSize > 0 {
		h.ShmSize = c.Host.ShmSize
	}
	h.CgroupnsMode, h.IpcMode, h.PidMode, h.UTSMode = cgroupnsMode(c.Host.CgroupnsMode), c.Host.IpcMode, c.Host.PidMode, c.Host.UTSMode
	h.UsernsMode = c.Host.UsernsMode
	if h.IpcMode == "" {
		h.IpcMode = runtime.NamespacePrivate
	}
	h.GroupAdd, h.OomScoreAdj, h.Sysctls, h.DeviceCgroupRules = c.Host.GroupAdd, c.Host.OomScoreAdj, c.Host.Sysctls, c.Host.DeviceCgroupRules
	h.Devices, h.Ulimits = c.Host.Devices, c.Host.Ulimits
	if h.Devices == nil {
		h.Devices = []DeviceMapping{}
	}
	if c.Host.PidsLimit > 0 {
		p := c.Host.PidsLimit
		h.PidsLimit = &p
	}
	if c.Host.Init {
		t := true
		h.Init = &t
	}
	h.Privileged, h.SecurityOpt = c.Host.Privileged, c.Host.SecurityOpt
	if !c.Host.Privileged {
		// Docker records no masked or read-only paths for a privileged container (null).
		h.MaskedPaths, h.ReadonlyPaths = runtime.MaskedPaths(), runtime.ReadonlyPaths()
		if c.Host.MaskedPaths != nil {
			h.MaskedPaths = c.Host.MaskedPaths
		}
		if c.Host.ReadonlyPaths != nil {
			h.ReadonlyPaths = c.Host.ReadonlyPaths
		}
	}

	var layers []string
	var imgSize int64
	m.Images.DB.View(func(tx *metadata.Tx) error {
		img, err := tx.Image(c.ImageID)
		layers, imgSize = img.Layers, img.Size
		return err
	})
	lowers := []string{m.initLayer(c.ID)}
	for i := len(layers) - 1; i >= 0; i-- {
		lowers = append(lowers, m.Images.Layers.Dir(digest.Digest(layers[i])))
	}
	r.GraphDriver = image.GraphDriver{Name: c.Driver, Data: map[string]string{
		"LowerDir":  strings.Join(lowers, ":"),
		"MergedDir": filepath.Join(dir, "rootfs"),
		"UpperDir":  filepath.Join(dir, "upper"),
		"WorkDir":   filepath.Join(dir, "work"),
	}}
	if c.Driver == driverCopy {
		r.GraphDriver = image.GraphDriver{Name: c.Driver, Data: map[string]string{"RootDir": filepath.Join(dir, "rootfs")}}
	}
	if size {
		rw, _ := m.SizeRw(c.ID)
		total := rw + imgSize
		r.SizeRw, r.SizeRootFs = &rw, &total
	}
	r.Mounts = []InspectMount{}
	for _, mt := range c.Host.Mounts {
		im := InspectMount{Type: mt.Type, Source: mt.Source, Destination: mt.Target, RW: !mt.ReadOnly, Propagation: "rprivate"}
		if mt.ReadOnly {
			im.Mode = "ro"
		}
		if mt.Type == "volume" {
			im.Name, im.Source, im.Driver, im.Mode, im.Propagation = mt.Source, m.volumeDir(mt.Source), "local", "z", ""
		}
		r.Mounts = append(r.Mounts, im)
	}
	r.NetworkSettings = InspectNetwork{Ports: map[string][]PortBinding{}, Networks: map[string]InspectEndpoint{}}
	for _, ec := range c.endpointConfigs() {
		ie := InspectEndpoint{NetworkID: ec.NetworkID, Aliases: ec.Aliases}
		if ec.IPv4Address != "" {
			ie.IPAMConfig = &InspectIPAM{IPv4Address: ec.IPv4Address}
		}
		r.NetworkSettings.Networks[ec.Network] = ie
	}
	if c.Host.NetworkMode == runtime.NetworkHost || c.Host.NetworkMode == runtime.NetworkNone {
		r.NetworkSettings.Networks[c.Host.NetworkMode] = InspectEndpoint{}
	}
	if ns := m.networkState(c.ID); ns != nil && ns.primary() != nil && st.Running() {
		for _, p := range ns.Endpoints {
			ie := r.NetworkSettings.Networks[p.Network.Name]
			ie.NetworkID, ie.EndpointID, ie.Gateway, ie.IPAddress = p.Network.ID, p.EndpointID, p.Gateway, p.IP
			ie.IPPrefixLen, ie.MacAddress = p.Prefix, p.MAC
			if len(p.Aliases) > 0 {
				ie.Aliases = p.Aliases
			}
			r.NetworkSettings.Networks[p.Network.Name] = ie
			if p.Network.IsDefault() {
				// Docker's top-level fields are the default bridge's endpoint only.
				r.NetworkSettings.Gateway, r.NetworkSettings.IPAddress = ie.Gateway, ie.IPAddress
				r.NetworkSettings.IPPrefixLen, r.NetworkSettings.MacAddress = ie.IPPrefixLen, ie.MacAddress
				r.NetworkSettings.Bridge = network.DefaultBridge
			}
		}
		r.NetworkSettings.SandboxKey = ns.NetNS
		for p, b := range ns.Ports {
			r.NetworkSettings.Ports[p] = b
		}
	} else if c.Host.NetworkMode == runtime.NetworkNone && st.Running() && st.Pid != 0 {
		// The runtime made the namespace: it is the container's init's.
		r.NetworkSettings.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	}
	for p := range c.Config.ExposedPorts {
		if _, ok := r.NetworkSettings.Ports[p]; !ok {
			r.NetworkSettings.Ports[p] = nil
		}
	}
	return r, nil
}
