package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
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

// InspectHostConfig is Docker 20.10's HostConfig: every key, in Docker's order, with Docker's
// zero values for what berth does not do (so tools reading .HostConfig.CpuShares find 0, not
// nothing). Resources keys are inline, as Docker embeds them.
type InspectHostConfig struct {
	Binds           []string
	ContainerIDFile string
	LogConfig       struct {
		Type   string
		Config map[string]string
	}
	NetworkMode          string
	PortBindings         map[string][]PortBinding
	RestartPolicy        RestartPolicy
	AutoRemove           bool
	VolumeDriver         string
	VolumesFrom          []string
	CapAdd               []string
	CapDrop              []string
	CgroupnsMode         string
	DNS                  []string `json:"Dns"`
	DNSOptions           []string `json:"DnsOptions"`
	DNSSearch            []string `json:"DnsSearch"`
	ExtraHosts           []string
	GroupAdd             []string
	IpcMode              string
	Cgroup               string
	Links                []string
	OomScoreAdj          int
	PidMode              string
	Privileged           bool
	PublishAllPorts      bool
	ReadonlyRootfs       bool
	SecurityOpt          []string
	Tmpfs                map[string]string `json:",omitempty"`
	UTSMode              string
	UsernsMode           string
	ShmSize              int64
	Sysctls              map[string]string `json:",omitempty"`
	Runtime              string
	ConsoleSize          [2]uint
	Isolation            string
	CPUShares            int64 `json:"CpuShares"`
	Memory               int64
	NanoCpus             int64 `json:"NanoCpus"`
	CgroupParent         string
	BlkioWeight          uint16
	BlkioWeightDevice    []any
	BlkioDeviceReadBps   []any
	BlkioDeviceWriteBps  []any
	BlkioDeviceReadIOps  []any
	BlkioDeviceWriteIOps []any
	CPUPeriod            int64 `json:"CpuPeriod"`
	CPUQuota             int64 `json:"CpuQuota"`
	CPURealtimePeriod    int64 `json:"CpuRealtimePeriod"`
	CPURealtimeRuntime   int64 `json:"CpuRealtimeRuntime"`
	CpusetCpus           string
	CpusetMems           string
	Devices              []DeviceMapping
	DeviceCgroupRules    []string
	DeviceRequests       []any
	KernelMemory         int64
	KernelMemoryTCP      int64
	MemoryReservation    int64
	MemorySwap           int64
	MemorySwappiness     *int64
	OomKillDisable       bool
	PidsLimit            *int64
	Ulimits              []*units.Ulimit
	CPUCount             int64 `json:"CpuCount"`
	CPUPercent           int64 `json:"CpuPercent"`
	IOMaximumIOps        uint64
	IOMaximumBandwidth   uint64
	Mounts               []HostMount `json:",omitempty"`
	MaskedPaths          []string
	ReadonlyPaths        []string
	Init                 *bool `json:",omitempty"`
}

// HostMount is one --mount as Docker keeps it in HostConfig.Mounts (its mount.Mount).
type HostMount struct {
	Type          string
	Source        string `json:",omitempty"`
	Target        string
	ReadOnly      bool             `json:",omitempty"`
	BindOptions   *HostMountBind   `json:",omitempty"`
	VolumeOptions *HostMountVolume `json:",omitempty"`
	TmpfsOptions  *HostMountTmpfs  `json:",omitempty"`
}

// HostMountBind is a bind's options.
type HostMountBind struct {
	Propagation string `json:",omitempty"`
}

// HostMountVolume is a volume's options.
type HostMountVolume struct {
	NoCopy       bool `json:",omitempty"`
	DriverConfig struct{}
}

// HostMountTmpfs is a tmpfs' options.
type HostMountTmpfs struct {
	SizeBytes int64       `json:",omitempty"`
	Mode      os.FileMode `json:",omitempty"`
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

// InspectNetwork is Docker 20.10's NetworkSettings, every key in Docker's order. The sandbox is
// the container's network namespace, which berth names by the container's ID.
type InspectNetwork struct {
	Bridge                 string
	SandboxID              string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  map[string][]PortBinding
	SandboxKey             string
	SecondaryIPAddresses   []string
	SecondaryIPv6Addresses []string
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]InspectEndpoint
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

// InspectIPAM is an endpoint's fixed addresses (--ip, --ip6, --link-local-ip).
type InspectIPAM struct {
	IPv4Address  string   `json:",omitempty"`
	IPv6Address  string   `json:",omitempty"`
	LinkLocalIPs []string `json:",omitempty"`
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
	return m.inspect(c, st, size)
}

// Listed is what a listing (GET /containers/json) shows of a container just listed (List,
// ListFiltered) beyond its record: its networks and mounts as inspect shows them, without what
// only inspect needs (its image's layers, its paths, its host config), so a listing of many
// containers reads nothing more per container than the network state of a running one.
func (m *Manager) Listed(s Summary) (map[string]InspectEndpoint, []InspectMount) {
	return m.networkSettings(s.Container, s.State).Networks, m.inspectMounts(s.Container)
}

func (m *Manager) inspect(c *Container, st State, size bool) (*InspectResponse, error) {
	dir := m.dir(c.ID)
	rt := c.Host.Runtime
	if rt == "" {
		rt = "runc"
	}
	st.Pid = m.pid(c.ID, st)
	// Docker makes a container's files, its sandbox and endpoints at its first start: until
	// then their paths and IDs are empty.
	started := !st.StartedAt.IsZero()
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
		Driver:         dockerDriverName(c.Driver),
		Platform:       "linux",
		Config:         c.Config,
	}
	if !started {
		r.ResolvConfPath, r.HostnamePath, r.HostsPath, r.LogPath = "", "", "", ""
	}
	if r.Args == nil {
		r.Args = []string{}
	}
	if r.Config.Labels == nil {
		r.Config.Labels = map[string]string{}
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
	h.DNS, h.DNSOptions, h.DNSSearch = nonNil(c.Host.DNS), nonNil(c.Host.DNSOptions), nonNil(c.Host.DNSSearch)
	h.CPUShares, h.CPUPeriod, h.CPUQuota = c.Host.CPUShares, c.Host.CPUPeriod, c.Host.CPUQuota
	h.CpusetCpus, h.CpusetMems, h.MemoryReservation = c.Host.CpusetCpus, c.Host.CpusetMems, c.Host.MemoryReservation
	h.ContainerIDFile = c.Host.ContainerIDFile
	h.Links = m.LinkStrings(c)
	h.BlkioWeightDevice = []any{} // what Docker 20.10's CLI sends; the other Blkio lists stay null
	for _, d := range c.Host.BlkioWeightDevice {
		h.BlkioWeightDevice = append(h.BlkioWeightDevice, d)
	}
	for _, l := range []struct {
		from []ThrottleDevice
		to   *[]any
	}{{c.Host.BlkioDeviceReadBps, &h.BlkioDeviceReadBps}, {c.Host.BlkioDeviceWriteBps, &h.BlkioDeviceWriteBps},
		{c.Host.BlkioDeviceReadIOps, &h.BlkioDeviceReadIOps}, {c.Host.BlkioDeviceWriteIOps, &h.BlkioDeviceWriteIOps}} {
		for _, d := range l.from {
			*l.to = append(*l.to, d)
		}
	}
	h.CgroupParent, h.BlkioWeight, h.OomKillDisable = c.Host.CgroupParent, c.Host.BlkioWeight, c.Host.OomKillDisable
	h.MemorySwappiness = c.Host.MemorySwappiness
	h.Mounts = hostMounts(c.Host.Mounts)
	h.VolumesFrom, h.Isolation, h.VolumeDriver = c.Host.VolumesFrom, c.Host.Isolation, c.Host.VolumeDriver
	h.CPUShares, h.CpusetCpus, h.CpusetMems = c.Host.CPUShares, c.Host.CpusetCpus, c.Host.CpusetMems
	if c.Host.PidsLimit > 0 {
		p := c.Host.PidsLimit
		h.PidsLimit = &p
	}
	// resources.go's: --kernel-memory, --cpu-rt-*, --gpus.
	h.KernelMemory, h.CPURealtimePeriod, h.CPURealtimeRuntime = c.Host.KernelMemory, c.Host.CPURealtimePeriod, c.Host.CPURealtimeRuntime
	for _, r := range c.Host.DeviceRequests {
		if r.Options == nil {
			r.Options = map[string]string{} // Docker's CLI sends {}
		}
		h.DeviceRequests = append(h.DeviceRequests, r)
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
	if c.ImageLayers != nil {
		layers = c.ImageLayers // its image may be gone (rmi -f)
	}
	lowers := []string{m.initLayer(c.ID)}
	for i := len(layers) - 1; i >= 0; i-- {
		lowers = append(lowers, m.Images.Layers.Dir(digest.Digest(layers[i])))
	}
	r.GraphDriver = image.GraphDriver{Name: r.Driver, Data: map[string]string{
		"LowerDir":  strings.Join(lowers, ":"),
		"MergedDir": filepath.Join(dir, "rootfs"),
		"UpperDir":  filepath.Join(dir, "upper"),
		"WorkDir":   filepath.Join(dir, "work"),
	}}
	if c.Driver == driverCopy {
		r.GraphDriver = image.GraphDriver{Name: r.Driver, Data: map[string]string{"RootDir": filepath.Join(dir, "rootfs")}}
	}
	if size {
		rw, _ := m.SizeRw(c.ID)
		total := rw + imgSize
		r.SizeRw, r.SizeRootFs = &rw, &total
	}
	r.Mounts = m.inspectMounts(c)
	r.NetworkSettings = m.networkSettings(c, st)
	return r, nil
}

// inspectMounts are a container's mounts as inspect and a listing show them.
func (m *Manager) inspectMounts(c *Container) []InspectMount {
	out := []InspectMount{}
	for _, mt := range c.Host.Mounts {
		im := InspectMount{Type: mt.Type, Source: mt.Source, Destination: mt.Target, RW: !mt.ReadOnly, Propagation: "rprivate"}
		if mt.Propagation != "" {
			im.Propagation = mt.Propagation
		}
		if mt.ReadOnly && !mt.Spec {
			im.Mode = "ro" // -v's mode; --mount has none
		}
		if mt.Type == "tmpfs" {
			im.Propagation = ""
		}
		if mt.Type == "volume" {
			im.Name, im.Source, im.Driver, im.Mode, im.Propagation = mt.Source, m.volumeDir(mt.Source), "local", "z", ""
		}
		out = append(out, im)
	}
	return out
}

// networkSettings is a container's NetworkSettings as inspect shows them; st.Pid is known. Its
// network state is read only while it runs (a stopped container has none).
func (m *Manager) networkSettings(c *Container, st State) InspectNetwork {
	var net *networkState
	started := !st.StartedAt.IsZero()
	ns := InspectNetwork{Ports: map[string][]PortBinding{}, Networks: map[string]InspectEndpoint{}}
	for _, ec := range c.endpointConfigs() {
		ie := InspectEndpoint{Aliases: ec.Aliases, Links: ec.Links, MacAddress: ec.MacAddress, DriverOpts: ec.DriverOpts}
		if started {
			ie.NetworkID = ec.NetworkID
		}
		if ec.IPv4Address != "" || ec.IPv6Address != "" || len(ec.LinkLocalIPs) > 0 {
			ie.IPAMConfig = &InspectIPAM{IPv4Address: ec.IPv4Address, IPv6Address: ec.IPv6Address, LinkLocalIPs: ec.LinkLocalIPs}
		}
		ns.Networks[ec.Network] = ie
	}
	if c.Host.NetworkMode == runtime.NetworkHost || c.Host.NetworkMode == runtime.NetworkNone {
		ns.Networks[c.Host.NetworkMode] = InspectEndpoint{}
	}
	if st.Running() {
		net = m.networkState(c.ID)
	}
	if net != nil && net.primary() != nil {
		for _, p := range net.Endpoints {
			ie := ns.Networks[p.Network.Name]
			ie.NetworkID, ie.EndpointID, ie.Gateway, ie.IPAddress = p.Network.ID, p.EndpointID, p.Gateway, p.IP
			ie.IPPrefixLen, ie.MacAddress = p.Prefix, p.MAC
			ie.GlobalIPv6Address, ie.GlobalIPv6PrefixLen, ie.IPv6Gateway = p.IP6, p.Prefix6, p.Gateway6
			if len(p.Aliases) > 0 {
				ie.Aliases = p.Aliases
			}
			ns.Networks[p.Network.Name] = ie
			if p.Network.IsDefault() {
				// Docker's top-level fields are the default bridge's endpoint only.
				// Bridge stays "": Docker 20.10 leaves it empty for the default bridge too.
				ns.Gateway, ns.IPAddress = ie.Gateway, ie.IPAddress
				ns.IPPrefixLen, ns.MacAddress = ie.IPPrefixLen, ie.MacAddress
				ns.EndpointID = ie.EndpointID
				ns.GlobalIPv6Address, ns.GlobalIPv6PrefixLen = ie.GlobalIPv6Address, ie.GlobalIPv6PrefixLen
				ns.IPv6Gateway = ie.IPv6Gateway
			}
		}
		ns.SandboxKey, ns.SandboxID = net.NetNS, c.ID
		for p, b := range net.Ports {
			ns.Ports[p] = b
		}
	} else if c.Host.NetworkMode == runtime.NetworkNone && st.Running() && st.Pid != 0 {
		// The runtime made the namespace: it is the container's init's.
		ns.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	}
	for p := range c.Config.ExposedPorts {
		if _, ok := ns.Ports[p]; !ok {
			ns.Ports[p] = nil
		}
	}
	return ns
}

// dockerDriverName is the storage driver's name as Docker reports it: berth's overlay layout is
// what Docker calls overlay2 (lower dirs, one upper, work), and tools test for that name.
func dockerDriverName(d string) string {
	if d == "overlay" {
		return "overlay2"
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// hostMounts are the --mount mounts as Docker keeps them in HostConfig.Mounts (nil when none).
func hostMounts(ms []Mount) []HostMount {
	var out []HostMount
	for _, mt := range ms {
		if !mt.Spec {
			continue
		}
		hm := HostMount{Type: mt.Type, Source: mt.Source, Target: mt.Target, ReadOnly: mt.ReadOnly}
		switch mt.Type {
		case "bind":
			if mt.Propagation != "" {
				hm.BindOptions = &HostMountBind{Propagation: mt.Propagation}
			}
		case "volume":
			if mt.NoCopy {
				hm.VolumeOptions = &HostMountVolume{NoCopy: true}
			}
		case "tmpfs":
			if mt.TmpfsSize != 0 || mt.TmpfsMode != 0 {
				hm.TmpfsOptions = &HostMountTmpfs{SizeBytes: mt.TmpfsSize, Mode: mt.TmpfsMode}
			}
		}
		out = append(out, hm)
	}
	return out
}
