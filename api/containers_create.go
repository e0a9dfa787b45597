package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/runtime"
	"github.com/moby/moby/api/types/blkiodev"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// containerCreate is POST /containers/create?name=&platform=.
func (s *Server) containerCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	var body createBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	req := body.CreateRequest
	if req.Config == nil {
		return badRequest("config cannot be empty in order to create a container")
	}
	if p := r.Form.Get("platform"); p != "" {
		if err := checkPlatform(p); err != nil {
			return err
		}
	}
	o, warnings, err := createOptions(r.Form.Get("name"), body)
	if err != nil {
		return badRequest("%v", err)
	}
	c, err := s.containers.Create(o)
	if err != nil {
		return createError(err)
	}
	warnings = append(warnings, c.Warnings...)
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusCreated, ctypes.CreateResponse{ID: c.ID, Warnings: warnings})
	return nil
}

// createBody is a create request with Config.MacAddress, which API versions before 1.44 send
// (and docker-py still does) and the current types no longer have, and the top-level Runtime
// docker-py sends for create_container(runtime=...) beside HostConfig.
type createBody struct {
	ctypes.CreateRequest
	MacAddress string `json:",omitempty"`
	// Runtime is honoured when HostConfig names none: dockerd ignores it and so runs the
	// client's runc only because runc is its default, where berth's default may be crun.
	Runtime string `json:",omitempty"`
}

// checkPlatform refuses a platform berth cannot run (it runs the host's).
func checkPlatform(p string) error {
	os_, _, _ := strings.Cut(p, "/")
	if os_ != "linux" {
		return badRequest("%q: unknown operating system or architecture: invalid argument", p)
	}
	return nil
}

// createError gives Create's failures dockerd's statuses: the engine's typed errors (no such
// image 404, name in use 409) keep theirs, a failure of the host (a file system call) is a 500,
// and everything else is Create refusing what it was asked: 400.
func createError(err error) error {
	if statusOf(err) != http.StatusInternalServerError {
		return err
	}
	if errors.As(err, new(container.NetworkNotFoundError)) {
		return notFound("%v", err)
	}
	var (
		pe *fs.PathError
		le *os.LinkError
		se *os.SyscallError
		en syscall.Errno
	)
	if errors.As(err, &pe) || errors.As(err, &le) || errors.As(err, &se) || errors.As(err, &en) {
		return err
	}
	return badRequest("%v", err)
}

// createOptions translates an Engine API create request into the options `berth create` builds
// from its flags, so both faces create containers through the same container.Manager.Create.
// Warnings name what the request asked for that berth does not do (it is left out, as dockerd
// leaves out what a platform lacks, rather than refused).
func createOptions(name string, body createBody) (container.CreateOptions, []string, error) {
	req := body.CreateRequest
	cfg := req.Config
	if cfg == nil {
		cfg = &ctypes.Config{}
	}
	hc := req.HostConfig
	if hc == nil {
		hc = &ctypes.HostConfig{}
	}
	o := container.CreateOptions{
		Name: name, Image: cfg.Image, Cmd: cfg.Cmd, WorkingDir: cfg.WorkingDir, User: cfg.User,
		Hostname: cfg.Hostname, Domainname: cfg.Domainname, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin,
		StopSignal: cfg.StopSignal, StopTimeout: cfg.StopTimeout, Labels: cfg.Labels,
	}
	for stream, on := range map[string]bool{"stdin": cfg.AttachStdin, "stdout": cfg.AttachStdout, "stderr": cfg.AttachStderr} {
		if on {
			o.Attach = append(o.Attach, stream)
		}
	}
	sort.Strings(o.Attach)
	o.Detach = len(o.Attach) == 0
	var warnings []string
	if o.Image == "" {
		return o, nil, errors.New("No image specified")
	}
	if cfg.Entrypoint != nil {
		// The whole list; [] and [""] reset the image's, as dockerd reads them.
		o.EntrypointArgs = []string{}
		if !(len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "") {
			o.EntrypointArgs = append(o.EntrypointArgs, cfg.Entrypoint...)
		}
	}
	for _, e := range cfg.Env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return o, nil, fmt.Errorf("invalid environment variable: %s", e)
		}
		if !utf8.ValidString(e) {
			return o, nil, fmt.Errorf("invalid environment variable %q: it holds bytes that are not UTF-8", e)
		}
		o.Env = append(o.Env, e)
	}
	for p := range cfg.ExposedPorts {
		o.Expose = append(o.Expose, p.String())
	}
	for v := range cfg.Volumes {
		o.Volumes = append(o.Volumes, v)
	}
	sort.Strings(o.Volumes)
	if hcfg := cfg.Healthcheck; hcfg != nil {
		if hcfg.Interval < 0 || hcfg.Timeout < 0 || hcfg.StartPeriod < 0 || hcfg.StartInterval < 0 {
			return o, nil, errors.New("Interval in Healthcheck cannot be less than 1ms")
		}
		if hcfg.Retries < 0 {
			return o, nil, errors.New("Retries in Healthcheck cannot be negative")
		}
		o.Healthcheck = &image.HealthConfig{Test: hcfg.Test, Interval: hcfg.Interval, Timeout: hcfg.Timeout,
			StartPeriod: hcfg.StartPeriod, StartInterval: hcfg.StartInterval, Retries: hcfg.Retries}
	}
	if err := hostOptions(&o, hc, &warnings); err != nil {
		return o, nil, err
	}
	if o.Host.Runtime == "" {
		o.Host.Runtime = body.Runtime
	}
	if err := networkOptions(&o, cfg, hc, req); err != nil {
		return o, nil, err
	}
	// API < 1.44 sends the MAC address in Config, newer ones in the first network's endpoint.
	if body.MacAddress != "" {
		o.MacAddress = body.MacAddress
	}
	sort.Strings(o.Expose)
	o.Expose = slices.Compact(o.Expose)
	return o, warnings, nil
}

// hostOptions translates the HostConfig.
func hostOptions(o *container.CreateOptions, hc *ctypes.HostConfig, warnings *[]string) error {
	h := &o.Host
	h.AutoRemove, h.ReadonlyRootfs, h.PublishAllPorts, h.Privileged = hc.AutoRemove, hc.ReadonlyRootfs, hc.PublishAllPorts, hc.Privileged
	h.Runtime, h.CapAdd, h.CapDrop, h.ExtraHosts = hc.Runtime, hc.CapAdd, hc.CapDrop, hc.ExtraHosts
	h.VolumesFrom, h.Isolation, h.VolumeDriver = hc.VolumesFrom, string(hc.Isolation), hc.VolumeDriver
	h.Init = hc.Init != nil && *hc.Init
	h.RestartPolicy = container.RestartPolicy{Name: string(hc.RestartPolicy.Name), MaximumRetryCount: hc.RestartPolicy.MaximumRetryCount}
	if h.RestartPolicy.Name == "" {
		h.RestartPolicy.Name = "no"
	}
	if err := container.ValidateRestartPolicy(h.RestartPolicy); err != nil {
		return err
	}
	for _, x := range hc.ExtraHosts {
		if err := container.ValidateExtraHost(x); err != nil {
			return fmt.Errorf("invalid extra host %q: %v", x, err)
		}
	}
	h.LogConfig = logging.Config{Type: hc.LogConfig.Type, Config: hc.LogConfig.Config}
	if h.LogConfig.Type == logging.None && len(h.LogConfig.Config) > 0 {
		return fmt.Errorf("invalid logging opts for driver %s", h.LogConfig.Type)
	}

	// Security and isolation.
	for _, opt := range hc.SecurityOpt {
		if opt == "systempaths=unconfined" {
			h.MaskedPaths, h.ReadonlyPaths = []string{}, []string{}
			continue
		}
		h.SecurityOpt = append(h.SecurityOpt, opt)
	}
	if _, err := runtime.ParseSecurityOpts(h.SecurityOpt); err != nil {
		return err
	}
	if hc.MaskedPaths != nil {
		h.MaskedPaths = hc.MaskedPaths
	}
	if hc.ReadonlyPaths != nil {
		h.ReadonlyPaths = hc.ReadonlyPaths
	}
	for _, d := range hc.Devices {
		dm := container.DeviceMapping{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer, CgroupPermissions: d.CgroupPermissions}
		if dm.PathInContainer == "" {
			dm.PathInContainer = dm.PathOnHost
		}
		if dm.CgroupPermissions == "" {
			dm.CgroupPermissions = "rwm"
		}
		if !runtime.ValidDeviceMode(dm.CgroupPermissions) {
			return fmt.Errorf("invalid device mode: %s", dm.CgroupPermissions)
		}
		h.Devices = append(h.Devices, dm)
	}
	for _, rule := range hc.DeviceCgroupRules {
		if _, err := runtime.ParseDeviceCgroupRule(rule); err != nil {
			return err
		}
	}
	h.DeviceCgroupRules, h.GroupAdd, h.Ulimits = hc.DeviceCgroupRules, hc.GroupAdd, hc.Ulimits
	for k, v := range hc.Sysctls {
		if err := container.ValidateSysctl(k + "=" + v); err != nil {
			return err
		}
	}
	h.Sysctls, h.ShmSize, h.OomScoreAdj = hc.Sysctls, hc.ShmSize, hc.OomScoreAdj
	h.CgroupnsMode, h.IpcMode, h.PidMode = string(hc.CgroupnsMode), string(hc.IpcMode), string(hc.PidMode)
	h.UTSMode, h.UsernsMode = string(hc.UTSMode), string(hc.UsernsMode)
	if err := container.ValidateIsolation(h); err != nil {
		return err
	}

	// Resources.
	h.Memory, h.MemorySwap, h.NanoCPUs = hc.Memory, hc.MemorySwap, hc.NanoCPUs
	h.CPUShares, h.CPUPeriod, h.CPUQuota = hc.CPUShares, hc.CPUPeriod, hc.CPUQuota
	h.CpusetCpus, h.CpusetMems, h.MemoryReservation = hc.CpusetCpus, hc.CpusetMems, hc.MemoryReservation
	if hc.PidsLimit != nil {
		h.PidsLimit = *hc.PidsLimit
	}
	if hc.NanoCPUs < 0 {
		return errors.New("range of CPUs is from 0.01 to the number of CPUs available")
	}
	if hc.NanoCPUs > 0 && (hc.CPUPeriod > 0 || hc.CPUQuota > 0) {
		return errors.New("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	}

	// Mounts: binds as `-v` reads them, Mounts as `--mount` does, tmpfs as `--tmpfs`.
	for _, b := range hc.Binds {
		mt, err := container.ParseVolume(b)
		if err != nil {
			return err
		}
		if mt.Type == "bind" || mt.Source != "" {
			h.Binds = append(h.Binds, b)
		}
		h.Mounts = append(h.Mounts, mt)
	}
	for _, m := range hc.Mounts {
		mt, err := apiMount(m, warnings)
		if err != nil {
			return err
		}
		h.Mounts = append(h.Mounts, mt)
	}
	if len(hc.Tmpfs) > 0 {
		h.Tmpfs = map[string]string{}
		for dst, opts := range hc.Tmpfs {
			h.Tmpfs[dst] = opts
		}
	}

	// Ports: every published port is exposed too, as `-p` makes it.
	if len(hc.PortBindings) > 0 {
		h.PortBindings = map[string][]container.PortBinding{}
		for p, bs := range hc.PortBindings {
			key := p.String()
			list := []container.PortBinding{}
			for _, b := range bs {
				pb := container.PortBinding{HostPort: b.HostPort}
				if b.HostIP.IsValid() {
					pb.HostIP = b.HostIP.String()
				}
				list = append(list, pb)
			}
			if len(list) == 0 {
				list = append(list, container.PortBinding{})
			}
			h.PortBindings[key] = list
			o.Expose = append(o.Expose, key)
		}
	}

	unsupported(warnings, "CpuRealtimePeriod", hc.CPURealtimePeriod != 0)
	unsupported(warnings, "CpuRealtimeRuntime", hc.CPURealtimeRuntime != 0)
	// The cgroup settings: the engine keeps what the host's cgroups can apply (create's
	// warnings say what it discarded) and puts them in the container's OCI spec.
	h.CgroupParent, h.BlkioWeight = hc.CgroupParent, hc.BlkioWeight
	h.OomKillDisable = hc.OomKillDisable != nil && *hc.OomKillDisable
	h.MemorySwappiness = hc.MemorySwappiness
	for _, d := range hc.BlkioWeightDevice {
		if d != nil {
			h.BlkioWeightDevice = append(h.BlkioWeightDevice, container.WeightDevice{Path: d.Path, Weight: d.Weight})
		}
	}
	for _, l := range []struct {
		from []*blkiodev.ThrottleDevice
		to   *[]container.ThrottleDevice
	}{{hc.BlkioDeviceReadBps, &h.BlkioDeviceReadBps}, {hc.BlkioDeviceWriteBps, &h.BlkioDeviceWriteBps},
		{hc.BlkioDeviceReadIOps, &h.BlkioDeviceReadIOps}, {hc.BlkioDeviceWriteIOps, &h.BlkioDeviceWriteIOps}} {
		for _, d := range l.from {
			if d != nil {
				*l.to = append(*l.to, container.ThrottleDevice{Path: d.Path, Rate: d.Rate})
			}
		}
	}
	unsupported(warnings, "DeviceRequests", len(hc.DeviceRequests) > 0)
	unsupported(warnings, "StorageOpt", len(hc.StorageOpt) > 0)
	return nil
}

// apiMount is one of HostConfig.Mounts as `--mount` would give it, checked as dockerd checks it;
// the options berth cannot honour are refused, as `--mount` refuses them.
func apiMount(m mount.Mount, warnings *[]string) (container.Mount, error) {
	mt := container.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, Spec: true}
	if mt.Type == "" {
		mt.Type = "volume"
	}
	if b := m.BindOptions; b != nil {
		if b.NonRecursive || b.ReadOnlyNonRecursive || b.ReadOnlyForceRecursive || b.CreateMountpoint {
			return mt, errors.New("bind options other than Propagation are not supported by berth")
		}
		mt.Propagation = string(b.Propagation)
	}
	if v := m.VolumeOptions; v != nil {
		if v.Subpath != "" || v.DriverConfig != nil && (v.DriverConfig.Name != "" && v.DriverConfig.Name != "local" || len(v.DriverConfig.Options) > 0) {
			return mt, errors.New("volume options other than NoCopy and Labels are not supported by berth")
		}
		unsupported(warnings, "VolumeOptions.Labels (the volume "+m.Source+" is made without them)", len(v.Labels) > 0)
		mt.NoCopy = v.NoCopy
	}
	if t := m.TmpfsOptions; t != nil {
		mt.TmpfsSize, mt.TmpfsMode = t.SizeBytes, t.Mode
	}
	for opt, set := range map[string]bool{"bind": m.BindOptions != nil, "volume": m.VolumeOptions != nil, "tmpfs": m.TmpfsOptions != nil} {
		if set && mt.Type != opt {
			return mt, fmt.Errorf("invalid mount config: cannot mix '%s' options with mount type '%s'", opt, mt.Type)
		}
	}
	return mt, container.CheckMount(mt)
}

// unsupported records a request field berth does not apply.
func unsupported(warnings *[]string, field string, set bool) {
	if set {
		*warnings = append(*warnings, "berth does not support "+field+"; it was ignored")
	}
}

// networkOptions translates the network mode, DNS settings and NetworkingConfig: the network
// mode names the first network (eth0) and EndpointsConfig may name more and give the aliases
// and address of each; the first's are what `--network-alias` and `--ip` give.
func networkOptions(o *container.CreateOptions, cfg *ctypes.Config, hc *ctypes.HostConfig, req ctypes.CreateRequest) error {
	mode := string(hc.NetworkMode)
	if mode == "" || mode == "default" {
		mode = "default"
	}
	if cfg.NetworkDisabled {
		mode = "none"
	}
	o.Host.NetworkMode = mode
	o.Links = hc.Links
	for _, d := range hc.DNS {
		o.Host.DNS = append(o.Host.DNS, d.String())
	}
	o.Host.DNSSearch, o.Host.DNSOptions = hc.DNSSearch, hc.DNSOptions
	var eps map[string]*networkEndpoint
	if req.NetworkingConfig != nil && len(req.NetworkingConfig.EndpointsConfig) > 0 {
		eps = map[string]*networkEndpoint{}
		for n, es := range req.NetworkingConfig.EndpointsConfig {
			ep := &networkEndpoint{}
			if es != nil {
				ep.aliases = es.Aliases
				if len(es.MacAddress) > 0 {
					ep.mac = net.HardwareAddr(es.MacAddress).String()
				}
				if es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid() {
					ep.ip = es.IPAMConfig.IPv4Address.String()
				}
				if es.IPAMConfig != nil && es.IPAMConfig.IPv6Address.IsValid() {
					ep.ip6 = es.IPAMConfig.IPv6Address.String()
				}
				if es.IPAMConfig != nil {
					for _, a := range es.IPAMConfig.LinkLocalIPs {
						ep.linkLocal = append(ep.linkLocal, a.String())
					}
				}
				ep.links, ep.driverOpts = es.Links, es.DriverOpts
			}
			eps[n] = ep
		}
	}
	if mode == "host" || mode == "none" || strings.HasPrefix(mode, "container:") {
		return nil
	}
	first := mode
	if first == "default" {
		first = "bridge"
	}
	o.Networks = []string{mode}
	ep, ok := eps[first]
	if !ok {
		ep, ok = eps[mode]
	}
	if ok {
		o.Aliases, o.IP, o.MacAddress = ep.aliases, ep.ip, ep.mac
		o.IP6, o.LinkLocalIPs, o.EndpointLinks, o.DriverOpts = ep.ip6, ep.linkLocal, ep.links, ep.driverOpts
	}
	var more []string
	for n := range eps {
		if n != first && n != mode {
			more = append(more, n)
		}
	}
	sort.Strings(more)
	o.Networks = append(o.Networks, more...)
	return nil
}

type networkEndpoint struct {
	aliases, links, linkLocal []string
	ip, ip6, mac              string
	driverOpts                map[string]string
}
