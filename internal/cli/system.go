package cli

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
	"github.com/berth-engine/berth/system"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func init() {
	register("system", newSystemCommand)
	register("version", newVersionCommand)
	register("info", func(g *Globals) *cobra.Command { return newInfoCommand(g, "info") })
	register("inspect", newInspectCommand)
}

func newSystemCommand(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "system", Short: "Manage " + titleName(progName()), Args: noArgs}
	c.AddCommand(newDfCommand(g), newSystemPruneCommand(g), newInfoCommand(g, "info"), newCheckCommand(g, "check"),
		newServeCommand(g, "service"), newEventsCommand(g, "events"))
	return c
}

// ---- system df ----

// dfRow is one line of the `system df` summary (Docker's diskUsage*Context).
type dfRow struct {
	kind        string
	total       int
	active      int
	size        int64
	reclaimable int64
}

func (r *dfRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *dfRow) Type() string                 { return r.kind }
func (r *dfRow) TotalCount() string           { return fmt.Sprint(r.total) }
func (r *dfRow) Active() string               { return fmt.Sprint(r.active) }
func (r *dfRow) Size() string                 { return units.HumanSize(float64(r.size)) }
func (r *dfRow) Reclaimable() string {
	if r.size > 0 {
		return fmt.Sprintf("%s (%v%%)", units.HumanSize(float64(r.reclaimable)), r.reclaimable*100/r.size)
	}
	return units.HumanSize(float64(r.reclaimable))
}

var dfHeader = format.Header{
	"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": format.SizeHeader, "Reclaimable": "RECLAIMABLE",
}

// dfImageHeader is the images table of `system df -v`, where SIZE is the 4-digit virtual size.
var dfImageHeader = func() format.Header {
	h := format.Header{}
	for k, v := range imageHeader {
		h[k] = v
	}
	h["VirtualSize"] = format.SizeHeader
	return h
}()

func newDfCommand(g *Globals) *cobra.Command {
	var verbose bool
	var formatStr string
	c := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show " + progName() + " disk usage",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			sdu, err := system.CollectDiskUsage(s)
			if err != nil {
				return err
			}
			if verbose {
				return writeDfVerbose(g, sdu.Images, diskUsageRows(sdu), sdu.BuildCache)
			}
			rows := []*dfRow{usageRow("Images", sdu.ImageUsage()), usageRow("Containers", sdu.ContainerUsage()),
				usageRow("Local Volumes", sdu.VolumeUsage()), usageRow("Build Cache", sdu.BuildCacheUsage())}
			return format.Write(g.Stdout, formatStr,
				"table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", dfHeader, rows)
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "Show detailed information on space usage")
	c.Flags().StringVar(&formatStr, "format", "", "Pretty-print images using a Go template")
	return c
}

// usageRow is one line of `system df`.
func usageRow(kind string, u system.Usage) *dfRow {
	return &dfRow{kind: kind, total: int(u.TotalCount), active: int(u.ActiveCount), size: u.TotalSize, reclaimable: u.Reclaimable}
}

// cacheRow is one build cache entry in `system df -v` (Docker's buildCacheContext).
type cacheRow struct {
	c   build.CacheRecord
	now time.Time
}

func (r *cacheRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *cacheRow) ID() string                   { return format.TruncateID(r.c.Key) }
func (r *cacheRow) CacheType() string            { return "regular" }
func (r *cacheRow) Size() string                 { return units.HumanSizeWithPrecision(float64(r.c.Size), 3) }
func (r *cacheRow) CreatedSince() string         { return format.CreatedSince(r.c.Created, r.now) }
func (r *cacheRow) LastUsedSince() string        { return format.CreatedSince(r.c.LastUsed, r.now) }
func (r *cacheRow) UsageCount() string           { return "1" }
func (r *cacheRow) Shared() string               { return fmt.Sprint(r.c.Shared) }

func writeDfVerbose(g *Globals, du image.DiskUsage, cdu containerDiskUsage, cache []build.CacheRecord) error {
	now := time.Now()
	rows := make([]*imageRow, 0, len(du.Images))
	for i := range du.Images {
		img := &du.Images[i]
		repo, tag := "<none>", "<none>"
		if !img.IsDangling() && len(img.RepoTags) > 0 {
			for _, r := range imageRows([]image.Summary{{ID: img.ID, RepoTags: img.RepoTags[:1]}}, true, false, now) {
				repo, tag = r.repo, r.tag
			}
		}
		rows = append(rows, &imageRow{trunc: true, now: now, i: img, repo: repo, tag: tag})
	}
	out := g.Stdout
	fmt.Fprint(out, "Images space usage:\n\n")
	if err := format.Write(out, "", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.VirtualSize}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", dfImageHeader, rows); err != nil {
		return err
	}
	fmt.Fprint(out, "\nContainers space usage:\n\n")
	if err := format.Write(out, "", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
		format.Header{"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "LocalVolumes": "LOCAL VOLUMES",
			"Size": "SIZE", "RunningFor": "CREATED", "Status": "STATUS", "Names": "NAMES"}, cdu.ctrRows); err != nil {
		return err
	}
	fmt.Fprint(out, "\nLocal Volumes space usage:\n\n")
	if err := format.Write(out, "", "table {{.Name}}\t{{.Links}}\t{{.Size}}",
		format.Header{"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}, cdu.volRows); err != nil {
		return err
	}
	cacheRows := make([]*cacheRow, len(cache))
	for i := range cache {
		cacheRows[i] = &cacheRow{c: cache[i], now: now}
	}
	fmt.Fprintf(out, "\nBuild cache usage: %s\n\n", units.HumanSize(float64((system.DiskUsage{BuildCache: cache}).BuildCacheUsage().TotalSize)))
	return format.Write(out, "", "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
		format.Header{"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
			"LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}, cacheRows)
}

// ---- system prune ----

func newSystemPruneCommand(g *Globals) *cobra.Command {
	var all, force, volumes bool
	var filters format.Args
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			warning := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - all dangling build cache\n"
			if all {
				warning = "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n"
			}
			if volumes {
				warning = strings.Replace(warning, "  - all networks", "  - all volumes not used by at least one container\n  - all networks", 1)
			}
			if !force && !confirm(g, warning) {
				return nil
			}
			// Containers first: their images then become unused (Docker's order).
			reclaimedContainers, err := pruneContainers(g, filters)
			if err != nil {
				return err
			}
			// Then the networks no container uses any more, as Docker does.
			if filters.Len() == 0 {
				m, closeFn, err := openManager(g)
				if err != nil {
					return err
				}
				names, err := m.PruneNetworks()
				closeFn()
				printPruned(g.Stdout, "Deleted Networks:", names)
				if err != nil {
					return err
				}
			}
			if volumes {
				// Then the volumes those containers held (Docker's order: before networks'
				// report, after the containers).
				freed, err := pruneVolumes(g, filters)
				if err != nil {
					return err
				}
				reclaimedContainers += freed
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			reclaimed, err := pruneImages(g, s, image.PruneOptions{All: all, Filters: filters})
			if err != nil {
				return err
			}
			reclaimed += reclaimedContainers
			// Docker's system prune ends with the build cache: the dangling records, or with
			// -a all of them; their layers count once nothing else holds them. (With
			// --filter, only -a prunes it, as before: the cache takes no label filter yet.)
			if all || filters.Len() == 0 {
				freed, err := pruneBuildCache(g, s, build.PruneOptions{All: all})
				if err != nil {
					return err
				}
				reclaimed += freed
			}
			// Then sweep what interrupted writes and earlier deletions left on disk; layers
			// that only now lost their last user count too.
			st, err := s.Collect()
			if err != nil {
				return err
			}
			reclaimed += st.Reclaimed
			fmt.Fprintln(g.Stdout, "Total reclaimed space:", units.HumanSize(float64(reclaimed)))
			return nil
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images not just dangling ones")
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.Flags().BoolVar(&volumes, "volumes", false, "Prune volumes")
	c.Flags().Var(&filters, "filter", "Provide filter values (e.g. 'label=<key>=<value>')")
	return c
}

// ---- version, info ----

func newVersionCommand(g *Globals) *cobra.Command {
	var formatStr string
	c := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the " + titleName(progName()) + " version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := collectVersion()
			if err != nil {
				return err
			}
			if formatStr == "" {
				return writeVersion(g.Stdout, v)
			}
			return executeStrict(g.Stdout, "version", formatStr, v)
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	return c
}

// APIVersion is the Docker Engine API version whose behaviour berth follows (Docker 20.10's).
// berth has no API server: the CLI is the engine, so the minimum is the same version.
const APIVersion = "1.41"

// versionInfo is Docker 20.10's `version` document (types.Version under "Server"), so
// `--format '{{.Server.Version}}'` and `'{{json .}}'` read the same keys as with Docker.
type versionInfo struct {
	Client clientVersion
	Server system.ServerVersion
}

type platform = system.Platform

type clientVersion struct {
	Platform          platform
	Version           string
	ApiVersion        string //nolint:revive // Docker's key
	DefaultAPIVersion string
	GitCommit         string
	GoVersion         string
	Os                string
	Arch              string
	BuildTime         string
	Context           string
	Experimental      bool
}

// collectVersion describes this binary (client and engine are one) and the OCI runtimes on PATH.
func collectVersion() (versionInfo, error) {
	sv, err := system.Version(system.VersionOptions{Version: Version, APIVersion: APIVersion, MinAPIVersion: APIVersion})
	if err != nil {
		return versionInfo{}, err
	}
	commit, built := system.BuildVCS()
	builtANSIC := ""
	if !built.IsZero() {
		builtANSIC = built.Format(time.ANSIC)
	}
	cl := clientVersion{Version: Version, ApiVersion: APIVersion, DefaultAPIVersion: APIVersion, GitCommit: commit,
		GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH, BuildTime: builtANSIC, Context: "default"}
	return versionInfo{Client: cl, Server: sv}, nil
}

// writeVersion prints Docker 20.10's plain `version` layout.
func writeVersion(w io.Writer, v versionInfo) error {
	var b strings.Builder
	line := func(indent, key, val string) {
		fmt.Fprintf(&b, "%s%-*s%s\n", indent, 19-len(indent)+1, key+":", val)
	}
	heading := func(name string, p platform) {
		b.WriteString(name + ":")
		if p.Name != "" {
			b.WriteString(" " + p.Name)
		}
		b.WriteByte('\n')
	}
	c := v.Client
	heading("Client", c.Platform)
	line(" ", "Version", c.Version)
	line(" ", "API version", c.ApiVersion)
	line(" ", "Go version", c.GoVersion)
	line(" ", "Git commit", c.GitCommit)
	line(" ", "Built", c.BuildTime)
	line(" ", "OS/Arch", c.Os+"/"+c.Arch)
	line(" ", "Context", c.Context)
	line(" ", "Experimental", fmt.Sprint(c.Experimental))
	b.WriteString("\n")
	heading("Server", v.Server.Platform)
	for _, comp := range v.Server.Components {
		fmt.Fprintf(&b, " %s:\n", comp.Name)
		if comp.Name != "Engine" {
			line("  ", "Version", comp.Version)
			line("  ", "GitCommit", comp.Details["GitCommit"])
			continue
		}
		d := comp.Details
		line("  ", "Version", comp.Version)
		line("  ", "API version", d["ApiVersion"]+" (minimum version "+d["MinAPIVersion"]+")")
		line("  ", "Go version", d["GoVersion"])
		line("  ", "Git commit", d["GitCommit"])
		line("  ", "Built", d["BuildTime"])
		line("  ", "OS/Arch", d["Os"]+"/"+d["Arch"])
		line("  ", "Experimental", d["Experimental"])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// executeStrict runs a --format template on v itself, never on a map, so a field v does not
// have fails with the template's own message and exit 1, as Docker's version and info do.
func executeStrict(w io.Writer, name, formatStr string, v any) error {
	tmpl, err := format.ParseNamed(name, formatStr)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return &StatusError{Code: 1, Err: err, Usage: true}
	}
	buf.WriteByte('\n')
	_, err = buf.WriteTo(w)
	return err
}

func newInfoCommand(g *Globals, use string) *cobra.Command {
	var formatStr string
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Display system-wide information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := readConfig()
			if err != nil {
				return err
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			m.LogDefaults = logging.Config{Type: conf.LogDriver, Config: conf.LogOpts}
			m.UsernsRemap = conf.UsernsRemap
			m.DefaultRuntime = conf.DefaultRuntime
			info, err := m.Info(Version)
			if err != nil {
				return err
			}
			if formatStr != "" {
				return executeStrict(g.Stdout, "", formatStr, info)
			}
			fmt.Fprintf(g.Stdout, "Client:\n Version:    %s\n\nServer:\n Containers: %d\n  Running: %d\n  Paused: %d\n  Stopped: %d\n Images: %d\n Server Version: %s\n Storage Driver: %s\n Default Runtime: %s\n Operating System: %s\n Architecture: %s\n Berth Root Dir: %s\n",
				Version, info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped,
				info.Images, info.ServerVersion, info.Driver, info.Runtime, info.OperatingSystem, info.Architecture, info.RootDir)
			if len(info.SecurityOptions) > 0 {
				fmt.Fprint(g.Stdout, " Security Options:\n")
				for _, o := range info.SecurityOptions {
					switch o {
					case "name=seccomp,profile=default":
						fmt.Fprint(g.Stdout, "  seccomp\n   Profile: default\n")
					case "name=userns":
						fmt.Fprintf(g.Stdout, "  userns\n   Layers: %s\n", info.UsernsLayers)
					}
				}
			}
			// berth has no daemon: a container's restart policy is applied by its shim, so
			// nothing restarts containers after a reboot or once their shim is gone.
			fmt.Fprintln(g.Stdout, " Restart Policies: applied by each container's shim while it runs (no daemon: not after a reboot)")
			if sv := system.Service(g.Root); sv.Running {
				fmt.Fprintf(g.Stdout, " Engine API: served by berth serve (pid %d) on %s\n", sv.Pid, strings.Join(sv.Hosts, ", "))
			} else {
				fmt.Fprintln(g.Stdout, " Engine API: not served (start it with `berth serve`, or the berth.socket unit)")
			}
			return nil
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	return c
}

// ---- inspect ----

func newInspectCommand(g *Globals) *cobra.Command {
	var formatStr, typ string
	var size bool
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on " + titleName(progName()) + " objects",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch typ {
			case "", "container", "image", "network", "volume":
			case "config", "node", "plugin", "secret", "service", "task":
				// Swarm and plugin objects: berth has none, so none is found.
			default:
				return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("%q is not a valid value for --type", typ)}
			}
			if size && typ != "" && typ != "container" {
				fmt.Fprintf(g.Stderr, "WARNING: --size ignored for %s\n", typ)
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			m := container.New(s)
			nm := &network.Manager{DB: s.DB, Root: s.Root}
			// Docker looks for a container, then an image, a network, a volume; with --type only
			// there, and the error is that kind's own.
			kinds := []struct {
				name string
				get  func(string) (any, error)
			}{
				{"container", func(r string) (any, error) { return m.Inspect(r, size) }},
				{"image", func(r string) (any, error) { return s.Inspect(r) }},
				{"network", func(r string) (any, error) { return nm.Inspect(r) }},
				{"volume", func(r string) (any, error) { return m.InspectVolume(r) }},
			}
			return inspectAll(g, formatStr, args, func(ref string) (any, error) {
				for _, k := range kinds {
					if typ != "" && typ != k.name {
						continue
					}
					r, err := k.get(ref)
					if err == nil {
						return r, nil
					}
					if typ != "" {
						return nil, err
					}
				}
				return nil, fmt.Errorf("No such object: %s", ref)
			})
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	c.Flags().BoolVarP(&size, "size", "s", false, "Display total file sizes if the type is container")
	c.Flags().StringVar(&typ, "type", "", "Return JSON for specified type")
	return c
}
