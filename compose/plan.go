package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
)

// Plan is what a project asks of the engine, as plain values: made from a loaded project without
// touching the store, and carried out by an Engine.
type Plan struct {
	Project    string
	WorkingDir string
	Networks   []NetworkPlan
	Volumes    []VolumePlan
	// Services are in dependency order: every service comes after those it depends on.
	Services []ServicePlan
	// Known are the names of every service of the project, those left out by profiles or by
	// the command's selection too: a container of any other service is an orphan.
	Known []string
	// Warnings name the attributes of the file that berth does not apply (one line each).
	Warnings []string
}

// NetworkPlan is one network of the project.
type NetworkPlan struct {
	Key      string // the name in the Compose file ("default")
	Name     string // the engine's name ("project_default")
	External bool
	Create   network.CreateOptions
}

// VolumePlan is one named volume of the project.
type VolumePlan struct {
	Key      string
	Name     string // "project_data"
	External bool
	Labels   map[string]string
}

// Dependency is one entry of a service's depends_on.
type Dependency struct {
	Service   string
	Condition string // service_started, service_healthy, service_completed_successfully
	Required  bool
	Restart   bool
}

// BuildPlan is how a service's image is built.
type BuildPlan struct {
	Context    string
	Dockerfile string // path of the Dockerfile (absolute, or relative to Context)
	Inline     string // dockerfile_inline
	Args       map[string]string
	Target     string
	Labels     map[string]string
	NoCache    bool
	Pull       bool
	Network    string
	Tags       []string
}

// ServicePlan is one service: its image and the containers it should have.
type ServicePlan struct {
	Name       string
	Image      string     // what its containers run (the default name project-service when built)
	Build      *BuildPlan // nil: the image is pulled
	PullPolicy string     // missing (default), always, never, build, if_not_present
	Replicas   int
	Hash       string // com.docker.compose.config-hash
	DependsOn  []Dependency
	// NetworkModeService is the service whose namespace network_mode: service:X joins (resolved
	// to a container when the containers are made).
	NetworkModeService string
	// Healthcheck: the service defines a healthcheck of its own (the image's may still give one).
	Healthcheck bool
	// NoAttach: the service says attach: false (up shows no logs of it unless --attach names it).
	NoAttach bool
	imageID  string // the image its containers run, once known (com.docker.compose.image)
	// Template makes the container of a given number (scale beyond Replicas, `run`'s one-off).
	template func(number int, oneoff string) ContainerPlan
}

// ContainerPlan is one container to create: its name, its replica number and everything create
// needs.
type ContainerPlan struct {
	Name   string
	Number int // 0 for a one-off container
	Create container.CreateOptions
	// Connect are the networks after the first (container.CreateOptions joins the first).
	Connect []Attachment
	// Dirs are host directories of bind mounts to make when missing (bind.create_host_path).
	Dirs []string
	// Files are written into the container before it starts (secrets and configs whose value
	// comes from the environment or from content:).
	Files []File
}

// Attachment is a container's endpoint on one network.
type Attachment struct {
	Network string
	Aliases []string
	IP      string
}

// File is a file given to a container at a path.
type File struct {
	Path    string
	Content []byte
	Mode    int64
	UID     int
	GID     int
	// Missing says why the content is unknown (an unset variable): the container cannot be made.
	Missing string
}

// PlanOptions adjust a plan to a command's flags.
type PlanOptions struct {
	// Scale overrides services' replica counts (up --scale SVC=N).
	Scale map[string]int
}

// NewPlan turns a loaded project into a plan. It fails as Docker Compose does on what it cannot
// run (a dependency on a service not in the project, a cycle, container_name with replicas).
func NewPlan(p *types.Project, o PlanOptions) (*Plan, error) {
	pl := &Plan{Project: p.Name, WorkingDir: p.WorkingDir}
	for name := range p.Services {
		pl.Known = append(pl.Known, name)
	}
	for name := range p.DisabledServices {
		pl.Known = append(pl.Known, name)
	}
	for _, key := range sortedKeys(p.Networks) {
		n := p.Networks[key]
		np := NetworkPlan{Key: key, Name: n.Name, External: bool(n.External)}
		if !np.External {
			hash, err := hashJSON(n)
			if err != nil {
				return nil, err
			}
			labels := mergeLabels(n.Labels, map[string]string{
				NetworkLabel: key, ProjectLabel: p.Name, VersionLabel: Version, ConfigHashLabel: hash,
			})
			np.Create = network.CreateOptions{Name: n.Name, Driver: n.Driver, Internal: n.Internal,
				Attachable: n.Attachable, Labels: labels, Options: map[string]string(n.DriverOpts)}
			if len(n.Ipam.Config) > 0 && n.Ipam.Config[0] != nil {
				c := n.Ipam.Config[0]
				np.Create.IPAM = network.IPAMConfig{Subnet: c.Subnet, IPRange: c.IPRange, Gateway: c.Gateway}
			}
		}
		pl.Networks = append(pl.Networks, np)
	}
	for _, key := range sortedKeys(p.Volumes) {
		v := p.Volumes[key]
		vp := VolumePlan{Key: key, Name: v.Name, External: bool(v.External)}
		if !vp.External {
			if v.Driver == "" {
				v.Driver = "local"
			}
			hash, err := hashJSON(v)
			if err != nil {
				return nil, err
			}
			vp.Labels = mergeLabels(v.Labels, map[string]string{
				VolumeLabel: key, ProjectLabel: p.Name, VersionLabel: Version, ConfigHashLabel: hash,
			})
		}
		pl.Volumes = append(pl.Volumes, vp)
	}
	order, err := dependencyOrder(p)
	if err != nil {
		return nil, err
	}
	for _, name := range order {
		s := p.Services[name]
		pl.Warnings = append(pl.Warnings, unsupported(s)...)
		sp, err := planService(p, s, o)
		if err != nil {
			return nil, err
		}
		pl.Services = append(pl.Services, sp)
	}
	return pl, nil
}

// Service returns the plan of the named service.
func (pl *Plan) Service(name string) (*ServicePlan, bool) {
	for i := range pl.Services {
		if pl.Services[i].Name == name {
			return &pl.Services[i], true
		}
	}
	return nil, false
}

// Only keeps the named services and drops the others (`up --no-deps`): their containers are
// left as they are, and conditions on them are not waited for.
func (pl *Plan) Only(names []string) {
	var keep []ServicePlan
	for _, sp := range pl.Services {
		if contains(names, sp.Name) {
			keep = append(keep, sp)
		}
	}
	pl.Services = keep
}

// SetPullPolicy gives every service the pull policy policy (up's and create's --pull), as
// Docker Compose does, which accepts only the policies below ("policy", the flag's default, is
// not one of them when given).
func (pl *Plan) SetPullPolicy(policy string) error {
	switch policy {
	case "always", "never", "build", "missing", "if_not_present":
	default:
		return fmt.Errorf("invalid --pull option %q", policy)
	}
	for i := range pl.Services {
		pl.Services[i].PullPolicy = policy
	}
	return nil
}

// AttachTo are the services whose logs up shows, as Docker Compose chooses them: attach when
// given (each must be in the plan), else the services named (all when none) that do not say
// attach: false, with their dependencies when deps (--attach-dependencies); less noAttach.
func (pl *Plan) AttachTo(services, attach, noAttach []string, deps bool) ([]string, error) {
	var out []string
	if len(attach) > 0 {
		var unknown []string
		for _, a := range attach {
			if _, ok := pl.Service(a); !ok {
				unknown = append(unknown, a)
			} else if !contains(out, a) {
				out = append(out, a)
			}
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("cannot attach to services not included in up: %s", strings.Join(unknown, ", "))
		}
	} else {
		want := map[string]bool{}
		var add func(name string)
		add = func(name string) {
			if want[name] {
				return
			}
			want[name] = true
			if sp, ok := pl.Service(name); ok && deps {
				for _, d := range sp.DependsOn {
					add(d.Service)
				}
			}
		}
		for _, sp := range pl.Services {
			if len(services) == 0 || contains(services, sp.Name) {
				add(sp.Name)
			}
		}
		for _, sp := range pl.Services {
			if want[sp.Name] && !sp.NoAttach {
				out = append(out, sp.Name)
			}
		}
	}
	var kept []string
	for _, s := range out {
		if !contains(noAttach, s) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// UseAliases gives a one-off container (run --use-aliases) the aliases the service's own
// containers have on each network: the service's name and the file's aliases.
func UseAliases(cp *ContainerPlan, sp *ServicePlan) {
	full := sp.ContainerFor(1)
	if len(full.Create.Aliases) > 1 {
		cp.Create.Aliases = append(cp.Create.Aliases, full.Create.Aliases[1:]...)
	}
	for i := range cp.Connect {
		if i < len(full.Connect) && len(full.Connect[i].Aliases) > 1 {
			cp.Connect[i].Aliases = append(cp.Connect[i].Aliases, full.Connect[i].Aliases[1:]...)
		}
	}
}

// VolumeNames are the engine names of the project's named volumes.
func (pl *Plan) VolumeNames() []string {
	var out []string
	for _, v := range pl.Volumes {
		out = append(out, v.Name)
	}
	return out
}

// ServiceNames are the plan's services in dependency order.
func (pl *Plan) ServiceNames() []string {
	var out []string
	for _, s := range pl.Services {
		out = append(out, s.Name)
	}
	return out
}

// ContainerFor is the service's container number n (1 for the first replica). Containers are
// made from the service when asked for, not kept in the plan: a replica count is the file's
// to choose, and a plan's size must not follow it.
func (sp *ServicePlan) ContainerFor(number int) ContainerPlan { return sp.template(number, "") }

// Containers are the service's planned replicas, numbers 1 to Replicas.
func (sp *ServicePlan) Containers() []ContainerPlan {
	out := make([]ContainerPlan, 0, sp.Replicas)
	for n := 1; n <= sp.Replicas; n++ {
		out = append(out, sp.ContainerFor(n))
	}
	return out
}

// OneOff is `compose run`'s container of the service: named project-service-run-SLUG, labelled
// oneoff=True, without the service's aliases or published ports.
func (sp *ServicePlan) OneOff(slug string) ContainerPlan { return sp.template(0, slug) }

// ContainerName is Docker Compose's name of a service's container number n.
func ContainerName(project, service string, n int) string {
	return project + "-" + service + "-" + strconv.Itoa(n)
}

// DefaultImage is the name Compose gives a built image that the file does not name.
func DefaultImage(project, service string) string { return project + "-" + service }

func planService(p *types.Project, s types.ServiceConfig, o PlanOptions) (ServicePlan, error) {
	hash, err := ServiceHash(s)
	if err != nil {
		return ServicePlan{}, err
	}
	sp := ServicePlan{Name: s.Name, Image: s.Image, PullPolicy: s.PullPolicy, Hash: hash,
		Healthcheck: s.HealthCheck != nil && !s.HealthCheck.Disable, NoAttach: s.Attach != nil && !*s.Attach}
	if sp.Image == "" {
		sp.Image = DefaultImage(p.Name, s.Name)
	}
	sp.Replicas = s.GetScale()
	if n, ok := o.Scale[s.Name]; ok {
		sp.Replicas = n
	}
	if sp.Replicas > 1 && s.ContainerName != "" {
		return sp, fmt.Errorf(`WARNING: The %q service is using the custom container name %q. Docker requires each container to have a unique name. Remove the custom name to scale the service`, s.Name, s.ContainerName)
	}
	if s.Build != nil {
		sp.Build = planBuild(s, sp.Image)
	} else if s.Image == "" {
		return sp, fmt.Errorf("service %q has neither an image nor a build context specified: invalid compose project", s.Name)
	}
	for _, dep := range sortedKeys(s.DependsOn) {
		d := s.DependsOn[dep]
		cond := d.Condition
		if cond == "" {
			cond = types.ServiceConditionStarted
		}
		sp.DependsOn = append(sp.DependsOn, Dependency{Service: dep, Condition: cond, Required: d.Required, Restart: d.Restart})
	}
	if name, ok := strings.CutPrefix(s.NetworkMode, types.NetworkModeServicePrefix); ok {
		sp.NetworkModeService = name
	}
	// Each container is made from a copy of the service, so no two share a map or a slice.
	sp.template = func(number int, slug string) ContainerPlan {
		c, err := planContainer(p, s, hash, number, slug)
		if err != nil {
			panic(err) // planContainer's errors are all found by the first call below
		}
		return c
	}
	if _, err := planContainer(p, s, hash, 1, ""); err != nil {
		return sp, err
	}
	return sp, nil
}

func planBuild(s types.ServiceConfig, img string) *BuildPlan {
	b := s.Build
	bp := &BuildPlan{Context: b.Context, Dockerfile: b.Dockerfile, Inline: b.DockerfileInline, Target: b.Target,
		NoCache: b.NoCache, Pull: b.Pull, Network: b.Network, Labels: map[string]string(b.Labels)}
	bp.Tags = append([]string{img}, b.Tags...)
	if len(b.Args) > 0 {
		bp.Args = map[string]string{}
		for k, v := range b.Args {
			if v != nil {
				bp.Args[k] = *v
			}
		}
	}
	return bp
}

// planContainer is Docker Compose's create request for a service's container (its
// getCreateConfigs), in berth's CreateOptions.
func planContainer(p *types.Project, s types.ServiceConfig, hash string, number int, slug string) (ContainerPlan, error) {
	oneoff := slug != ""
	name := ContainerName(p.Name, s.Name, number)
	if oneoff {
		name = p.Name + "-" + s.Name + "-run-" + slug[:min(12, len(slug))]
	} else if s.ContainerName != "" {
		name = s.ContainerName
	}
	labels := mergeLabels(s.Labels, s.CustomLabels)
	labels[ConfigHashLabel] = hash
	if oneoff {
		labels[OneoffLabel] = "True"
		labels[SlugLabel] = slug
	} else {
		labels[ContainerNumberLabel] = strconv.Itoa(number)
	}
	var deps []string
	for _, d := range sortedKeys(s.DependsOn) {
		deps = append(deps, fmt.Sprintf("%s:%s:%t", d, s.DependsOn[d].Condition, s.DependsOn[d].Restart))
	}
	labels[DependenciesLabel] = strings.Join(deps, ",")

	o := container.CreateOptions{
		Name: name, Image: s.Image, Labels: labels, User: s.User, WorkingDir: s.WorkingDir,
		Hostname: s.Hostname, Domainname: s.DomainName, Tty: s.Tty, OpenStdin: s.StdinOpen, Detach: true,
		StopSignal: s.StopSignal,
	}
	if o.Image == "" {
		o.Image = DefaultImage(p.Name, s.Name)
	}
	if s.Command != nil {
		o.Cmd = append([]string{}, s.Command...)
	}
	if s.Entrypoint != nil {
		o.EntrypointArgs = append([]string{}, s.Entrypoint...)
	}
	for _, k := range sortedKeys(s.Environment) {
		if v := s.Environment[k]; v != nil {
			o.Env = append(o.Env, k+"="+*v)
		}
	}
	if s.StopGracePeriod != nil {
		secs := int(time.Duration(*s.StopGracePeriod).Seconds())
		o.StopTimeout = &secs
	}
	if hc := s.HealthCheck; hc != nil {
		h := &image.HealthConfig{Test: []string(hc.Test)}
		if hc.Disable {
			h = &image.HealthConfig{Test: []string{"NONE"}}
		}
		if hc.Interval != nil {
			h.Interval = time.Duration(*hc.Interval)
		}
		if hc.Timeout != nil {
			h.Timeout = time.Duration(*hc.Timeout)
		}
		if hc.StartPeriod != nil {
			h.StartPeriod = time.Duration(*hc.StartPeriod)
		}
		if hc.StartInterval != nil {
			h.StartInterval = time.Duration(*hc.StartInterval)
		}
		if hc.Retries != nil {
			h.Retries = int(*hc.Retries)
		}
		o.Healthcheck = h
	}
	for _, e := range s.Expose {
		o.Expose = append(o.Expose, e)
	}

	h := &o.Host
	h.Init = s.Init != nil && *s.Init
	h.Privileged, h.ReadonlyRootfs, h.Runtime = s.Privileged, s.ReadOnly, s.Runtime
	h.CapAdd, h.CapDrop, h.GroupAdd, h.SecurityOpt = s.CapAdd, s.CapDrop, s.GroupAdd, s.SecurityOpt
	h.DNS, h.DNSSearch, h.DNSOptions = []string(s.DNS), []string(s.DNSSearch), s.DNSOpts
	h.ExtraHosts = s.ExtraHosts.AsList(":")
	h.PidMode, h.IpcMode, h.UTSMode, h.CgroupnsMode, h.UsernsMode = s.Pid, s.Ipc, s.Uts, s.Cgroup, s.UserNSMode
	h.ShmSize, h.PidsLimit, h.OomScoreAdj = int64(s.ShmSize), s.PidsLimit, int(s.OomScoreAdj)
	h.Memory, h.NanoCPUs = int64(s.MemLimit), int64(float64(s.CPUS)*1e9)
	if s.MemSwapLimit != 0 {
		h.MemorySwap = int64(s.MemSwapLimit)
	}
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		l := s.Deploy.Resources.Limits
		if l.MemoryBytes != 0 {
			h.Memory = int64(l.MemoryBytes)
		}
		if l.NanoCPUs != 0 {
			h.NanoCPUs = int64(float64(l.NanoCPUs) * 1e9)
		}
		if l.Pids != 0 {
			h.PidsLimit = l.Pids
		}
	}
	if len(s.Sysctls) > 0 {
		h.Sysctls = map[string]string(s.Sysctls)
	}
	for _, k := range sortedKeys(s.Ulimits) {
		u := s.Ulimits[k]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		h.Ulimits = append(h.Ulimits, &units.Ulimit{Name: k, Soft: soft, Hard: hard})
	}
	if s.Logging != nil {
		h.LogConfig = logging.Config{Type: s.Logging.Driver, Config: s.Logging.Options}
	}
	h.RestartPolicy = restartPolicy(s)
	if oneoff {
		h.RestartPolicy = container.RestartPolicy{Name: "no"}
	}
	for _, t := range s.Tmpfs {
		if h.Tmpfs == nil {
			h.Tmpfs = map[string]string{}
		}
		target, opts, _ := strings.Cut(t, ":")
		h.Tmpfs[target] = opts
	}
	if !oneoff {
		for _, port := range s.Ports {
			proto := port.Protocol
			if proto == "" {
				proto = "tcp"
			}
			key := fmt.Sprintf("%d/%s", port.Target, proto)
			if h.PortBindings == nil {
				h.PortBindings = map[string][]container.PortBinding{}
			}
			h.PortBindings[key] = append(h.PortBindings[key], container.PortBinding{HostIP: port.HostIP, HostPort: port.Published})
			o.Expose = append(o.Expose, key)
		}
	}
	sort.Strings(o.Expose)

	cp := ContainerPlan{Name: name, Number: number}
	if err := planMounts(p, s, &o, &cp); err != nil {
		return cp, err
	}
	if err := planNetworks(p, s, name, oneoff, &o, &cp); err != nil {
		return cp, err
	}
	cp.Create = o
	return cp, nil
}

func restartPolicy(s types.ServiceConfig) container.RestartPolicy {
	if s.Restart != "" {
		name, max, _ := strings.Cut(s.Restart, ":")
		n, _ := strconv.Atoi(max)
		return container.RestartPolicy{Name: name, MaximumRetryCount: n}
	}
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		rp := s.Deploy.RestartPolicy
		n := 0
		if rp.MaxAttempts != nil {
			n = int(*rp.MaxAttempts)
		}
		switch rp.Condition {
		case "any", "":
			return container.RestartPolicy{Name: "always", MaximumRetryCount: n}
		case "on-failure":
			return container.RestartPolicy{Name: "on-failure", MaximumRetryCount: n}
		}
	}
	return container.RestartPolicy{Name: "no"}
}

// planMounts turns volumes, secrets and configs into mounts: named volumes by their engine names,
// binds (whose missing source directories are made, as Docker does for -v), tmpfs; file secrets
// and configs are bound read-only, others are written into the container.
func planMounts(p *types.Project, s types.ServiceConfig, o *container.CreateOptions, cp *ContainerPlan) error {
	h := &o.Host
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeVolume:
			src := v.Source
			if src != "" {
				vol, ok := p.Volumes[src]
				if !ok {
					return fmt.Errorf("service %q refers to undefined volume %s: invalid compose project", s.Name, src)
				}
				src = vol.Name
			}
			h.Mounts = append(h.Mounts, container.Mount{Type: "volume", Source: src, Target: v.Target, ReadOnly: v.ReadOnly})
		case types.VolumeTypeBind:
			if v.Bind == nil || v.Bind.CreateHostPath {
				cp.Dirs = append(cp.Dirs, v.Source)
			}
			h.Mounts = append(h.Mounts, container.Mount{Type: "bind", Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
		case types.VolumeTypeTmpfs:
			if h.Tmpfs == nil {
				h.Tmpfs = map[string]string{}
			}
			opts := ""
			if v.Tmpfs != nil && v.Tmpfs.Size != 0 {
				opts = "size=" + strconv.FormatInt(int64(v.Tmpfs.Size), 10)
			}
			h.Tmpfs[v.Target] = opts
		default:
			return fmt.Errorf("service %q: volumes of type %q are not supported by berth", s.Name, v.Type)
		}
	}
	files := func(kind string, refs []types.FileReferenceConfig, defs map[string]types.FileObjectConfig, dir string) error {
		for _, r := range refs {
			def, ok := defs[r.Source]
			if !ok {
				return fmt.Errorf("service %q refers to undefined %s %s: invalid compose project", s.Name, kind, r.Source)
			}
			target := r.Target
			if target == "" {
				target = path.Join(dir, r.Source)
				if dir == "/" {
					target = "/" + r.Source
				}
			} else if !path.IsAbs(target) {
				target = path.Join(dir, target)
			}
			switch {
			case bool(def.External):
				return fmt.Errorf("service %q: external %s %s is not supported by berth (it has no swarm)", s.Name, kind, r.Source)
			case def.File != "":
				h.Mounts = append(h.Mounts, container.Mount{Type: "bind", Source: def.File, Target: target, ReadOnly: true})
			default:
				content, missing := def.Content, ""
				if def.Environment != "" {
					v, ok := p.Environment[def.Environment]
					if !ok {
						// Only making the container needs the value: down, ps or logs of the
						// project must not fail for it.
						missing = fmt.Sprintf("environment variable %q required by %s %q is not set", def.Environment, kind, r.Source)
					}
					content = v
				}
				f := File{Path: target, Content: []byte(content), Mode: 0o444, Missing: missing}
				if r.Mode != nil {
					f.Mode = int64(*r.Mode)
				}
				f.UID, _ = strconv.Atoi(r.UID)
				f.GID, _ = strconv.Atoi(r.GID)
				cp.Files = append(cp.Files, f)
			}
		}
		return nil
	}
	var secrets, configs []types.FileReferenceConfig
	for _, r := range s.Secrets {
		secrets = append(secrets, types.FileReferenceConfig(r))
	}
	for _, r := range s.Configs {
		configs = append(configs, types.FileReferenceConfig(r))
	}
	secretDefs := map[string]types.FileObjectConfig{}
	for k, v := range p.Secrets {
		secretDefs[k] = types.FileObjectConfig(v)
	}
	configDefs := map[string]types.FileObjectConfig{}
	for k, v := range p.Configs {
		configDefs[k] = types.FileObjectConfig(v)
	}
	if err := files("secret", secrets, secretDefs, "/run/secrets"); err != nil {
		return err
	}
	return files("config", configs, configDefs, "/")
}

// planNetworks is Compose's networking of a container: network_mode as given; otherwise the
// service's networks by priority, the first joined at create and the others connected before it
// starts, each with the container's name, the service's name and the aliases of the file
// (a one-off container of `run` gets only its name).
func planNetworks(p *types.Project, s types.ServiceConfig, name string, oneoff bool, o *container.CreateOptions, cp *ContainerPlan) error {
	if s.NetworkMode != "" {
		if _, ok := strings.CutPrefix(s.NetworkMode, types.NetworkModeServicePrefix); !ok {
			o.Host.NetworkMode = s.NetworkMode
		}
		return nil
	}
	if len(p.Networks) == 0 {
		o.Host.NetworkMode = "none"
		return nil
	}
	keys := s.NetworksByPriority()
	if len(keys) == 0 {
		keys = []string{"default"}
	}
	for i, key := range keys {
		n, ok := p.Networks[key]
		if !ok {
			return fmt.Errorf("service %q refers to undefined network %s: invalid compose project", s.Name, key)
		}
		cfg := s.Networks[key]
		aliases := []string{name}
		if !oneoff {
			if cfg.ServiceNameAliasEnabled() {
				aliases = append(aliases, s.Name)
			}
			if cfg != nil {
				aliases = append(aliases, cfg.Aliases...)
			}
		}
		ip := ""
		if cfg != nil {
			ip = cfg.Ipv4Address
		}
		if i == 0 {
			o.Networks, o.Aliases, o.IP = []string{n.Name}, aliases, ip
			continue
		}
		cp.Connect = append(cp.Connect, Attachment{Network: n.Name, Aliases: aliases, IP: ip})
	}
	return nil
}

// dependencyOrder sorts the services so that each comes after what it depends on (by name among
// equals), and refuses a cycle with Compose's message.
func dependencyOrder(p *types.Project) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			i := 0
			for i < len(path) && path[i] != name {
				i++
			}
			return fmt.Errorf("dependency cycle detected: %s -> %s", strings.Join(path[i:], " -> "), name)
		}
		state[name] = 1
		s := p.Services[name]
		for _, dep := range sortedKeys(s.DependsOn) {
			if _, ok := p.Services[dep]; !ok {
				if !s.DependsOn[dep].Required {
					continue
				}
				return fmt.Errorf("service %q depends on undefined service %q: invalid compose project", name, dep)
			}
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		if dep, ok := strings.CutPrefix(s.NetworkMode, types.NetworkModeServicePrefix); ok {
			if _, ok := p.Services[dep]; ok {
				if err := visit(dep, append(path, name)); err != nil {
					return err
				}
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, name := range sortedKeys(p.Services) {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hashJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return sha256Hex(b), nil
}

// unsupported lists the attributes of a service that berth accepts but does not apply yet, so
// that nothing is ignored silently.
func unsupported(s types.ServiceConfig) []string {
	var out []string
	add := func(set bool, attr string) {
		if set {
			out = append(out, fmt.Sprintf("service %q: %s is not supported by berth and is ignored", s.Name, attr))
		}
	}
	add(len(s.Devices) > 0, "devices")
	add(len(s.VolumesFrom) > 0, "volumes_from")
	add(len(s.Links) > 0 || len(s.ExternalLinks) > 0, "links")
	add(s.MacAddress != "", "mac_address")
	add(s.CPUShares != 0 || s.CPUQuota != 0 || s.CPUPeriod != 0 || s.CPUSet != "", "cpu_shares/cpu_quota/cpu_period/cpuset")
	add(s.MemReservation != 0, "mem_reservation")
	add(s.BlkioConfig != nil, "blkio_config")
	add(len(s.DeviceCgroupRules) > 0, "device_cgroup_rules")
	add(len(s.Gpus) > 0, "gpus")
	add(len(s.StorageOpt) > 0, "storage_opt")
	for name, n := range s.Networks {
		add(n != nil && (n.Ipv6Address != "" || n.MacAddress != "" || len(n.LinkLocalIPs) > 0 || n.InterfaceName != ""),
			"networks."+name+" ipv6_address/mac_address/link_local_ips/interface_name")
	}
	return out
}
