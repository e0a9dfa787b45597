package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func init() {
	registerImage("build", "build", newBuildCommand)
	register("builder", newBuilderCommand)
}

type buildFlags struct {
	tags      []string
	file      string
	buildArgs []string
	addHosts  []string
	labels    []string
	target    string
	noCache   bool
	pull      bool
	quiet     bool
	iidfile   string
	network   string
	shmSize   memBytes
	allow     []string
	progress  string
	secrets   []string
	ssh       []string
	output    string
	platform  string
	cacheFrom []string
	cacheTo   []string
	check     bool
	checkFmt  string
}

func newBuildCommand(g *Globals, use string) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] PATH | URL | -",
		Short: "Build an image from a Dockerfile",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runBuild(g.interruptible(c), g, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "Name and optionally a tag in the 'name:tag' format")
	fl.StringVarP(&f.file, "file", "f", "", "Name of the Dockerfile (Default is 'PATH/Dockerfile')")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "Set build-time variables")
	fl.StringArrayVar(&f.labels, "label", nil, "Set metadata for an image")
	fl.StringVar(&f.target, "target", "", "Set the target build stage to build.")
	fl.BoolVar(&f.noCache, "no-cache", false, "Do not use cache when building the image")
	fl.BoolVar(&f.pull, "pull", false, "Always attempt to pull a newer version of the image")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	fl.StringVar(&f.iidfile, "iidfile", "", "Write the image ID to the file")
	fl.StringVar(&f.network, "network", "default", "Set the networking mode for the RUN instructions during build")
	fl.Var(&f.shmSize, "shm-size", "Size of /dev/shm")
	fl.StringArrayVar(&f.allow, "allow", nil, "Allow extra privileged entitlement (e.g., \"network.host\", \"security.insecure\")")
	fl.StringVar(&f.progress, "progress", "auto", "Set type of progress output (auto, plain, tty)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "Secret file to expose to the build")
	fl.StringVarP(&f.output, "output", "o", "", "Output destination (format: type=local,dest=path)")
	fl.StringArrayVar(&f.ssh, "ssh", nil, "SSH agent socket or keys to expose to the build (format: default|<id>[=<socket>|<key>[,<key>]])")
	fl.StringVar(&f.platform, "platform", "", "Set platform if server is multi-platform capable")
	fl.StringArrayVar(&f.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "External cache sources (e.g., \"user/app:cache\", \"type=registry,ref=user/app:cache\")")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "Cache export destinations (e.g., \"type=registry,ref=user/app:cache\")")
	fl.BoolVar(&f.check, "check", false, "Check the Dockerfile (BuildKit's build checks and layer rules) without building; exit 1 on a finding")
	fl.StringVar(&f.checkFmt, "check-format", "text", "Output of --check: text (one line per finding), json (BuildKit's lint result) or sarif")
	return cmd
}

func runBuild(ctx context.Context, g *Globals, f buildFlags, src string) error {
	mode := f.progress
	// As with buildx, BUILDKIT_PROGRESS is the mode when the flag leaves it to auto.
	if v := os.Getenv("BUILDKIT_PROGRESS"); v != "" && mode == "auto" {
		mode = v
	}
	switch mode {
	case "auto", "plain", "tty":
	default:
		return fmt.Errorf("invalid progress mode %q: want auto, plain or tty", mode)
	}
	var progressMode string
	if !f.quiet {
		var err error
		if progressMode, err = chooseProgress(mode, g.Stderr); err != nil {
			return err
		}
	}
	// A bad --platform fails before anything is read or written.
	if err := build.ValidatePlatform(f.platform); err != nil {
		return err
	}
	o := build.Options{Target: f.target, NoCache: f.noCache, Platform: f.platform, Tags: f.tags, AlwaysPull: f.pull,
		BuildArgs: map[string]string{}, Labels: map[string]string{}, Network: f.network, ExtraHosts: f.addHosts,
		ShmSize: int64(f.shmSize)}
	for _, h := range f.addHosts {
		if host, ip, ok := strings.Cut(h, ":"); !ok || host == "" || net.ParseIP(ip) == nil {
			return fmt.Errorf("invalid argument %q for \"--add-host\" flag: invalid IP address in add-host: %q", h, ip)
		}
	}
	for _, a := range f.allow {
		for _, e := range strings.Split(a, ",") {
			switch e {
			case build.EntitlementSecurityInsecure:
				o.AllowInsecure = true
			case "network.host": // RUN --network=host needs no grant in berth
			default:
				return fmt.Errorf("unknown entitlement %s", e)
			}
		}
	}
	secrets, err := parseSecrets(f.secrets)
	if err != nil {
		return err
	}
	o.Secrets = secrets
	if o.SSH, err = build.ParseSSH(f.ssh); err != nil {
		return err
	}
	if o.Output, err = build.ParseOutput(f.output); err != nil {
		return err
	}
	if o.Output != nil && o.Output.Dest == "-" {
		o.Output.Writer = g.Stdout
	}
	for _, c := range f.cacheFrom {
		ref, dir, err := parseCacheRef(c, "--cache-from")
		if err != nil {
			return err
		}
		if dir != "" {
			o.CacheFromDirs = append(o.CacheFromDirs, dir)
		} else {
			o.CacheFrom = append(o.CacheFrom, ref)
		}
	}
	for _, c := range f.cacheTo {
		if c == "type=inline" {
			o.InlineCache = true
			continue
		}
		ref, dir, err := parseCacheRef(c, "--cache-to")
		if err != nil {
			return err
		}
		if dir != "" {
			o.CacheToDirs = append(o.CacheToDirs, dir)
		} else {
			o.CacheTo = append(o.CacheTo, ref)
		}
	}
	for _, a := range f.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if v, set := os.LookupEnv(k); set {
				o.BuildArgs[k] = v
			}
			continue
		}
		o.BuildArgs[k] = v
	}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		o.Labels[k] = v
	}
	epoch := o.BuildArgs["SOURCE_DATE_EPOCH"]
	if epoch == "" {
		epoch = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if epoch != "" {
		n, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: %w", epoch, err)
		}
		t := time.Unix(n, 0).UTC()
		o.SourceDateEpoch = &t
	}

	// A context from stdin or a URL is unpacked in a directory of its own, made only then: a
	// claimed scratch directory of the store (builds/tmp-*), so that a build killed however it
	// dies leaves nothing the next build's sweep does not remove (the owner record beside the
	// context, not in it).
	tmp := ""
	var releaseTmp func()
	mkTmp := func() error {
		dir, release, err := container.ClaimBuildTempAt(g.Root)
		if err != nil {
			return err
		}
		releaseTmp, tmp = release, filepath.Join(dir, "context")
		return os.Mkdir(tmp, 0o700)
	}
	defer func() {
		if releaseTmp != nil {
			releaseTmp()
		}
	}()
	stdinUsed := false
	switch {
	case src == "-":
		stdinUsed = true
		if err := mkTmp(); err != nil {
			return err
		}
		data, err := io.ReadAll(g.Stdin)
		if err != nil {
			return err
		}
		if isTar(data) {
			if err := build.ExtractContext(bytes.NewReader(data), tmp); err != nil {
				return err
			}
			o.ContextDir = tmp
		} else {
			// A Dockerfile on stdin and no context.
			o.ContextDir, o.Dockerfile = tmp, data
			o.DockerfilePath = filepath.Join(tmp, "Dockerfile")
		}
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		if err := mkTmp(); err != nil {
			return err
		}
		if err := build.FetchContext(ctx, src, tmp); err != nil {
			return err
		}
		o.ContextDir = tmp
	default:
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("unable to prepare context: path %q not found", src)
		}
		if !fi.IsDir() {
			return fmt.Errorf("unable to prepare context: context must be a directory: %s", src)
		}
		o.ContextDir = src
	}
	switch {
	case f.file == "-":
		if stdinUsed {
			return errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		data, err := io.ReadAll(g.Stdin)
		if err != nil {
			return err
		}
		o.Dockerfile = data
		o.DockerfilePath = filepath.Join(o.ContextDir, "Dockerfile")
	case f.file != "":
		o.DockerfilePath = f.file
		if o.ContextDir == tmp && !filepath.IsAbs(f.file) {
			o.DockerfilePath = filepath.Join(tmp, f.file)
		}
	}
	if !f.quiet {
		o.Progress, o.ProgressMode = g.Stderr, progressMode
	}
	s, err := openStore(g)
	if err != nil {
		return err
	}
	defer s.Close()
	o.Pull = func(ctx context.Context, ref, platform string) (string, error) {
		ro, err := registryOptions(true)
		if err != nil {
			return "", err
		}
		res, err := distribution.Pull(ctx, s, ref, distribution.PullOptions{Options: ro, Platform: platform})
		if err != nil {
			return "", err
		}
		return res.ImageID, nil
	}
	o.PullCache = func(ctx context.Context, ref string) (string, error) {
		ro, err := registryOptions(true)
		if err != nil {
			return "", err
		}
		res, err := distribution.Pull(ctx, s, ref, distribution.PullOptions{Options: ro})
		if err != nil {
			return "", err
		}
		return res.ImageID, nil
	}
	o.PushCache = func(ctx context.Context, ref string) error {
		ro, err := registryOptions(true)
		if err != nil {
			return err
		}
		_, err = distribution.Push(ctx, s, ref, distribution.PushOptions{Options: ro})
		return err
	}
	if f.check {
		return runCheck(g, s, o, f.checkFmt)
	}
	conf, err := readConfig()
	if err != nil {
		return err
	}
	o.UsernsRemap = conf.UsernsRemap
	res, err := build.Build(ctx, s, o)
	if res != nil && !f.quiet {
		printBuildWarnings(g.Stderr, res.Warnings)
	}
	if err != nil {
		return err
	}
	// The build cache's automatic limit (builder.gc in the config file): berth has no daemon to
	// collect in the background, so every build ends by applying it.
	if conf, err := readConfig(); err != nil {
		fmt.Fprintln(g.Stderr, "WARNING: build cache not collected:", err)
	} else if rules, err := conf.Builder.GC.Rules(s.Root); err != nil {
		fmt.Fprintln(g.Stderr, "WARNING: build cache not collected:", err)
	} else if _, err := build.CollectCache(s, rules); err != nil {
		fmt.Fprintln(g.Stderr, "WARNING: build cache not collected:", err)
	}
	if f.iidfile != "" {
		if err := os.WriteFile(f.iidfile, []byte(res.ImageID), 0o644); err != nil {
			return err
		}
	}
	if f.quiet && res.ImageID != "" {
		fmt.Fprintln(g.Stdout, res.ImageID)
	}
	return nil
}

// chooseProgress is the display of a progress mode on w, as BuildKit's progressui chooses it:
// auto is the tty view when w is a terminal and plain progress otherwise; tty on anything but a
// terminal is an error, with BuildKit's words.
func chooseProgress(mode string, w io.Writer) (string, error) {
	if mode == "plain" {
		return build.ProgressPlain, nil
	}
	if isTerminal(w) {
		return build.ProgressTTY, nil
	}
	if mode == "tty" {
		if _, ok := w.(*os.File); !ok {
			return "", errors.New("failed to get console: output is not a file")
		}
		return "", errors.New("failed to get console: provided file is not a console")
	}
	return build.ProgressPlain, nil
}

// parseCacheRef reads a --cache-from/--cache-to value as buildx does: a bare registry reference,
// or type=registry,ref=R, or type=local with src=DIR (from) or dest=DIR (to). It returns the
// reference or the directory. Only mode=min is exported: the steps of the resulting image.
func parseCacheRef(v, flag string) (ref, dir string, err error) {
	if !strings.Contains(v, "=") {
		return v, "", nil
	}
	fields := map[string]string{}
	for _, field := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(field, "=")
		fields[strings.ToLower(strings.TrimSpace(k))] = val
	}
	typ := fields["type"]
	known := map[string]bool{"type": true, "mode": true, "compression": true, "ignore-error": true, "oci-mediatypes": true}
	switch typ {
	case "registry":
		known["ref"], known["image-manifest"] = true, true
	case "local":
		if flag == "--cache-from" {
			known["src"], known["digest"] = true, true
		} else {
			known["dest"], known["tag"], known["force-compression"] = true, true, true
		}
	default:
		return "", "", fmt.Errorf("%s %s: cache type %q is not supported (type=registry, type=local, or type=inline for --cache-to)", flag, v, typ)
	}
	for k, val := range fields {
		switch {
		case !known[k]:
			return "", "", fmt.Errorf("%s %s: unknown option %q", flag, v, k)
		case k == "mode" && val != "min":
			return "", "", fmt.Errorf("%s %s: mode=%s is not supported (only mode=min)", flag, v, val)
		}
	}
	switch {
	case typ == "registry" && fields["ref"] == "":
		return "", "", fmt.Errorf("%s %s: ref is required", flag, v)
	case typ == "registry":
		return fields["ref"], "", nil
	case flag == "--cache-from" && fields["src"] == "":
		return "", "", fmt.Errorf("%s %s: src is required", flag, v)
	case flag == "--cache-from":
		return "", fields["src"], nil
	case fields["dest"] == "":
		return "", "", fmt.Errorf("%s %s: dest is required", flag, v)
	}
	return "", fields["dest"], nil
}

// parseSecrets reads --secret values as Docker's CLI takes them: id=ID[,src=PATH|,env=VAR]
// (type=file or type=env; "source" for "src"). Without src or env the secret is the environment
// variable named ID when it is set, else the file named ID.
func parseSecrets(specs []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, spec := range specs {
		var id, typ, src, env string
		for _, field := range strings.Split(spec, ",") {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				return nil, fmt.Errorf("invalid secret %q: field %q must be a key=value pair", spec, field)
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "id":
				id = v
			case "type":
				if v != "file" && v != "env" {
					return nil, fmt.Errorf("invalid secret %q: unsupported type %q", spec, v)
				}
				typ = v
			case "src", "source":
				src = v
			case "env":
				env = v
			default:
				return nil, fmt.Errorf("invalid secret %q: unexpected key %q", spec, k)
			}
		}
		if id == "" {
			return nil, fmt.Errorf("invalid secret %q: id is required", spec)
		}
		if typ == "env" && env == "" {
			env, src = src, ""
			if env == "" {
				env = id
			}
		}
		if src == "" && env == "" && typ != "file" {
			if _, ok := os.LookupEnv(id); ok {
				env = id
			} else {
				src = id
			}
		}
		if env != "" {
			v, ok := os.LookupEnv(env)
			if !ok {
				return nil, fmt.Errorf("secret %s: environment variable %s is not set", id, env)
			}
			out[id] = []byte(v)
			continue
		}
		if src == "" {
			src = id
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", id, err)
		}
		out[id] = data
	}
	return out, nil
}

func isTar(data []byte) bool {
	plain, _, err := archive.DecompressStream(bytes.NewReader(data))
	if err != nil {
		return false
	}
	defer plain.Close()
	_, err = tar.NewReader(plain).Next()
	return err == nil
}

func newBuilderCommand(g *Globals) *cobra.Command {
	parent := &cobra.Command{Use: "builder", Short: "Manage builds", Args: noArgs}
	du := &cobra.Command{
		Use:   "du",
		Short: "Show build cache disk usage",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			recs, err := build.CacheUsage(s)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.Stdout, 1, 8, 1, '\t', 0)
			fmt.Fprintln(tw, "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED")
			var total, reclaimable, shared int64
			now := time.Now()
			for _, r := range recs {
				total += r.Size
				if r.Shared {
					shared += r.Size
				} else {
					reclaimable += r.Size
				}
				fmt.Fprintf(tw, "%s\t%t\t%s\t%s ago\n", format.TruncateID(r.Key), !r.Shared,
					units.HumanSizeWithPrecision(float64(r.Size), 3), units.HumanDuration(now.Sub(r.LastUsed)))
			}
			tw.Flush()
			if len(recs) > 0 {
				fmt.Fprintln(g.Stdout)
			}
			tw = tabwriter.NewWriter(g.Stdout, 1, 8, 1, '\t', 0)
			fmt.Fprintf(tw, "Shared:\t%s\n", units.HumanSize(float64(shared)))
			fmt.Fprintf(tw, "Private:\t%s\n", units.HumanSize(float64(total-shared)))
			fmt.Fprintf(tw, "Reclaimable:\t%s\n", units.HumanSize(float64(reclaimable)))
			fmt.Fprintf(tw, "Total:\t%s\n", units.HumanSize(float64(total)))
			return tw.Flush()
		},
	}
	var force, all bool
	var keepStorage bytesFlag
	var filters format.Args
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			unusedFor, err := build.ParsePruneFilters(filters)
			if err != nil {
				return fmt.Errorf("failed to prune build cache: %w", err)
			}
			if !force {
				warning := "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] "
				if all {
					warning = "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "
				}
				fmt.Fprint(g.Stdout, warning)
				line, _ := bufio.NewReader(g.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return nil
				}
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			defer s.Close()
			// As BuildKit: without -a only the dangling records go (those whose layer no image
			// uses); -a removes every record a running build does not hold.
			freed, err := pruneBuildCache(g, s, build.PruneOptions{All: all, KeepStorage: int64(keepStorage), UnusedFor: unusedFor})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, "Total reclaimed space:", units.HumanSize(float64(freed)))
			return nil
		},
	}
	prune.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	prune.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	prune.Flags().Var(&keepStorage, "keep-storage", "Amount of disk space to keep for cache")
	prune.Flags().Var(&filters, "filter", "Provide filter values (e.g. 'until=24h')")
	parent.AddCommand(du, prune)
	return parent
}

// bytesFlag is a size flag in Docker's units (--keep-storage 10GB).
type bytesFlag int64

func (b *bytesFlag) String() string { return units.BytesSize(float64(*b)) }
func (b *bytesFlag) Type() string   { return "bytes" }
func (b *bytesFlag) Set(v string) error {
	n, err := units.RAMInBytes(v)
	if err != nil {
		return err
	}
	*b = bytesFlag(n)
	return nil
}

// pruneBuildCache empties the build cache and prints Docker's "Deleted build cache objects:"
// section; `builder prune` and `system prune -a` both end with it.
func pruneBuildCache(g *Globals, s *image.Store, o build.PruneOptions) (int64, error) {
	recs, freed, err := build.PruneCacheWith(s, o)
	if err != nil {
		return 0, err
	}
	if len(recs) > 0 {
		fmt.Fprintln(g.Stdout, "Deleted build cache objects:")
		for _, r := range recs {
			fmt.Fprintln(g.Stdout, format.TruncateID(r.Key))
		}
		fmt.Fprintln(g.Stdout)
	}
	return freed, nil
}
