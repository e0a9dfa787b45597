package api

import (
	"encoding/base64"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/system"
)

// systemRoutes: _ping, version, info, events, system/df, auth.
func (s *Server) systemRoutes() {
	s.handle("GET /_ping", s.ping)
	s.handle("HEAD /_ping", s.ping)
	s.handle("GET /version", s.version)
	s.handle("GET /info", s.info)
	s.handle("GET /system/df", s.systemDF)
	s.handle("POST /auth", s.auth)
	s.handle("GET /events", s.events)
}

// versionJSON is GET /version: `berth version`'s Server section with the API versions served.
type versionJSON struct {
	system.ServerVersion
}

// version is GET /version: the same document as `berth version`'s Server section (built by
// system.Version for both), with the Engine API versions this server speaks.
func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	v, err := system.Version(system.VersionOptions{Version: s.engineVersion(), APIVersion: MaxVersion, MinAPIVersion: MinVersion})
	if err != nil {
		return err
	}
	v.Platform = system.Platform{Name: "berth"}
	writeJSON(w, http.StatusOK, versionJSON{v})
	return nil
}

// infoJSON is GET /info: `berth info`'s document (container.Manager.Info, the keys `berth info
// --format` reads) plus Docker's keys that berth answers with a constant, so Docker's clients find
// every field they read.
type infoJSON struct {
	container.Info
	ID                 string
	Debug              bool
	OSType             string
	OSVersion          string
	DefaultRuntime     string
	DriverStatus       [][2]string
	Plugins            infoPlugins
	MemoryLimit        bool
	SwapLimit          bool
	CpuCfsPeriod       bool //nolint:revive // Docker's key
	CpuCfsQuota        bool //nolint:revive // Docker's key
	CPUShares          bool
	CPUSet             bool
	PidsLimit          bool
	IPv4Forwarding     bool
	BridgeNfIptables   bool
	BridgeNfIP6tables  bool `json:"BridgeNfIp6tables"`
	OomKillDisable     bool
	NFd                int
	NGoroutines        int
	SystemTime         string
	NEventsListener    int
	IndexServerAddress string
	RegistryConfig     infoRegistryConfig
	HTTPProxy          string `json:"HttpProxy"`
	HTTPSProxy         string `json:"HttpsProxy"`
	NoProxy            string
	Labels             []string
	ExperimentalBuild  bool
	LiveRestoreEnabled bool
	Isolation          string
	InitBinary         string
	ContainerdCommit   infoCommit
	RuncCommit         infoCommit
	InitCommit         infoCommit
	Warnings           []string
	// Service says whether a `berth serve` runs over the root (this one does), as `berth info`.
	Service system.ServiceState
}

type infoPlugins struct {
	Volume, Network, Authorization, Log []string
}

type infoRegistryConfig struct {
	InsecureRegistryCIDRs []string
	IndexConfigs          map[string]infoIndex
	Mirrors               []string
}

type infoIndex struct {
	Name     string
	Mirrors  []string
	Secure   bool
	Official bool
}

type infoCommit struct{ ID string }

// info is GET /info.
func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	in, err := s.containers.Info(s.engineVersion())
	if err != nil {
		return err
	}
	doc := infoJSON{Info: *in, Service: system.Service(s.cfg.Root), OSType: runtime.GOOS, OSVersion: osVersion(), DefaultRuntime: in.Runtime,
		DriverStatus: [][2]string{},
		Plugins: infoPlugins{Volume: []string{"local"}, Network: []string{"bridge", "host", "none"},
			Log: []string{"json-file", "local", "none"}},
		MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true,
		PidsLimit: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIP6tables: true, OomKillDisable: true,
		NGoroutines: runtime.NumGoroutine(), SystemTime: time.Now().Format(time.RFC3339Nano),
		IndexServerAddress: "https://index.docker.io/v1/",
		RegistryConfig: infoRegistryConfig{InsecureRegistryCIDRs: []string{"127.0.0.0/8"},
			IndexConfigs: map[string]infoIndex{"docker.io": {Name: "docker.io", Mirrors: []string{}, Secure: true, Official: true}},
			Mirrors:      []string{}},
		HTTPProxy: os.Getenv("HTTP_PROXY"), HTTPSProxy: os.Getenv("HTTPS_PROXY"), NoProxy: os.Getenv("NO_PROXY"),
		Labels: []string{}}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		doc.NFd = len(fds)
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// osVersion is /etc/os-release's VERSION_ID, as Docker's OSVersion.
func osVersion() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VERSION_ID="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// dfContainer is a container in GET /system/df (Docker's container summary, the fields df reads).
type dfContainer struct {
	ID         string `json:"Id"`
	Names      []string
	Image      string
	ImageID    string
	Command    string
	Created    int64
	State      string
	Status     string
	SizeRw     int64
	SizeRootFs int64
	Labels     map[string]string
	Mounts     []any
}

type dfVolume struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
	UsageData  struct {
		Size     int64
		RefCount int64
	}
}

type dfBuildCache struct {
	ID          string
	Parent      string `json:",omitempty"`
	Type        string
	Description string
	InUse       bool
	Shared      bool
	Size        int64
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	UsageCount  int
}

// systemDF is GET /system/df?type=: what `berth system df` measures (system.CollectDiskUsage).
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, t := range r.Form["type"] {
		switch t {
		case "container", "image", "volume", "build-cache":
			want[t] = true
		default:
			return badRequest("unknown object type: %s", t)
		}
	}
	all := len(want) == 0
	du, err := system.CollectDiskUsage(s.images)
	if err != nil {
		return err
	}
	ctx := r.Context()
	doc := map[string]any{}
	if all || want["image"] {
		doc["LayersSize"] = du.Images.LayersSize
		images := make([]imageSummaryJSON, 0, len(du.Images.Images))
		for _, sum := range du.Images.Images {
			j := imageSummaryJSON{Containers: sum.Containers, Created: sum.Created.Unix(), ID: sum.ID,
				Labels: sum.Labels, ParentID: sum.ParentID, RepoDigests: sum.RepoDigests, RepoTags: sum.RepoTags,
				SharedSize: sum.SharedSize, Size: sum.Size}
			if sum.IsDangling() && !versionBefore(ctx, "1.43") {
				j.RepoTags, j.RepoDigests = []string{}, []string{}
			}
			if versionBefore(ctx, "1.44") {
				size := sum.Size
				j.VirtualSize = &size
			}
			images = append(images, j)
		}
		doc["Images"] = images
	}
	if all || want["container"] {
		ctrs := make([]dfContainer, 0, len(du.Containers))
		for _, c := range du.Containers {
			cmd := strings.TrimSpace(c.Path + " " + strings.Join(c.Args, " "))
			ctrs = append(ctrs, dfContainer{ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Image, ImageID: c.ImageID,
				Command: cmd, Created: c.Created.Unix(), State: c.State.Status, Status: c.State.Status,
				SizeRw: c.SizeRw, Labels: c.Config.Labels, Mounts: []any{}})
		}
		doc["Containers"] = ctrs
	}
	if all || want["volume"] {
		vols := make([]dfVolume, 0, len(du.Volumes))
		for _, v := range du.Volumes {
			dv := dfVolume{CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint,
				Name: v.Name, Options: v.Options, Scope: v.Scope}
			dv.UsageData.Size, dv.UsageData.RefCount = v.Size, int64(v.Links)
			vols = append(vols, dv)
		}
		doc["Volumes"] = vols
	}
	if all || want["build-cache"] {
		bc := make([]dfBuildCache, 0, len(du.BuildCache))
		for _, c := range du.BuildCache {
			last := c.LastUsed
			bc = append(bc, dfBuildCache{ID: c.Key, Type: "regular", Description: c.Description, Shared: c.Shared,
				Size: c.Size, CreatedAt: c.Created, LastUsedAt: &last, UsageCount: 1})
		}
		doc["BuildCache"] = bc
	}
	// API 1.52 summarises each kind (the numbers of `berth system df`), with the lists as Items
	// when verbose. dockerd drops the 1.51 lists from 1.53; berth keeps them, because clients
	// that negotiate the newest version still read them (docker-py 7.1's df reads LayersSize).
	if !versionBefore(ctx, "1.52") {
		verbose := boolValue(r, "verbose")
		for _, k := range []struct {
			want, key, list string
			u               system.Usage
		}{
			{"image", "ImageUsage", "Images", du.ImageUsage()},
			{"container", "ContainerUsage", "Containers", du.ContainerUsage()},
			{"volume", "VolumeUsage", "Volumes", du.VolumeUsage()},
			{"build-cache", "BuildCacheUsage", "BuildCache", du.BuildCacheUsage()},
		} {
			if !all && !want[k.want] {
				continue
			}
			u := map[string]any{"TotalCount": k.u.TotalCount, "ActiveCount": k.u.ActiveCount,
				"TotalSize": k.u.TotalSize, "Reclaimable": k.u.Reclaimable}
			if verbose {
				u["Items"] = doc[k.list]
			}
			doc[k.key] = u
		}
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// auth is POST /auth: checks the credentials against the registry, as `docker login` asks the
// daemon to. berth's server stores nothing: the client keeps the credentials it sent.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) error {
	var ac registryAuth
	if err := decodeBody(r, &ac); err != nil {
		return err
	}
	if ac.Username == "" && ac.Auth != "" {
		if raw, err := base64.StdEncoding.DecodeString(ac.Auth); err == nil {
			ac.Username, ac.Password, _ = strings.Cut(string(raw), ":")
		}
	}
	if ac.Username == "" || ac.Password == "" {
		return badRequest("username and password are required")
	}
	server := ac.ServerAddress
	if server == "" {
		server = "https://index.docker.io/v1/"
	}
	key := distribution.ServerKey(server)
	ctx, cancel := s.requestContext(r)
	defer cancel()
	if err := distribution.CheckCredentials(ctx, key, ac.Username, ac.Password, s.cfg.Registry); err != nil {
		return statusErr(http.StatusUnauthorized, "%v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"Status": "Login Succeeded", "IdentityToken": ""})
	return nil
}

// ping is dockerd's /_ping: "OK" with the headers clients negotiate the version from.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Builder-Version", "1") // the classic builder: BuildKit's session API is not served
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		return nil
	}
	_, err := w.Write([]byte("OK"))
	return err
}
