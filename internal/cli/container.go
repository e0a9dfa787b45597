package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/berth-engine/berth/container/logging"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/reference"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// containerCommands mirror imageCommands: `berth container SUB` plus top-level aliases.
var containerCommands []imageCommand

func registerContainer(top, sub string, ctor func(g *Globals, use string) *cobra.Command) {
	containerCommands = append(containerCommands, imageCommand{top, sub, ctor})
	if top != "" {
		register(top, func(g *Globals) *cobra.Command { return ctor(g, top) })
	}
}

func init() {
	register("container", func(g *Globals) *cobra.Command {
		parent := &cobra.Command{Use: "container", Short: "Manage containers", Args: noArgs}
		for _, c := range containerCommands {
			sub := c.ctor(g, c.sub)
			if c.sub == "ls" {
				sub.Aliases = []string{"ps", "list"} // Docker's
			}
			parent.AddCommand(sub)
		}
		return parent
	})
	register("container-shim", newShimCommand)
	register("exec-shim", newExecShimCommand)
	registerContainer("run", "run", newRunCommand)
	registerContainer("create", "create", newCreateCommand)
	registerContainer("start", "start", newStartCommand)
	registerContainer("attach", "attach", newAttachCommand)
	registerContainer("stop", "stop", newStopCommand)
	registerContainer("restart", "restart", newRestartCommand)
	registerContainer("kill", "kill", newKillCommand)
	registerContainer("wait", "wait", newWaitCommand)
	registerContainer("rm", "rm", newRmCommand)
	registerContainer("ps", "ls", newPsCommand)
	registerContainer("logs", "logs", newLogsCommand)
	registerContainer("rename", "rename", newRenameCommand)
	registerContainer("pause", "pause", newPauseCommand)
	registerContainer("unpause", "unpause", newUnpauseCommand)
	registerContainer("", "inspect", newContainerInspectCommand)
	registerContainer("", "prune", newContainerPruneCommand)
}

// openManager opens the image store and a container manager over it.
func openManager(g *Globals) (*container.Manager, func(), error) {
	s, err := openStore(g)
	if err != nil {
		return nil, nil, err
	}
	return container.New(s), func() { s.Close() }, nil
}

// ---- create / run ----

type createFlags struct {
	name, workdir, user, hostname, domainname, entrypoint, runtime, pull       string
	stopSignal, memory, memorySwap, restart, healthCmd                         string
	env, envFiles, labels, labelFiles, volumes, tmpfs, publish, expose, attach []string
	mounts                                                                     mountsFlag
	capAdd, capDrop, addHosts, logOpts                                         []string
	logDriver                                                                  string
	interactive, tty, rm, readOnly, publishAll, init, privileged               bool
	cpus                                                                       float64
	cpuShares, cpuPeriod, cpuQuota                                             int64
	cpusetCpus, cpusetMems, memoryReservation, cidfile                         string
	pidsLimit                                                                  int64
	stopTimeout, healthRetries                                                 int
	healthInterval, healthTimeout, healthStartPeriod                           time.Duration
	noHealthcheck                                                              bool
	security                                                                   securityFlags
	net                                                                        netFlags
	// --volumes-from, --isolation, --volume-driver: kept in the record, applied by Create.
	volumesFrom             []string
	isolation, volumeDriver string
	macAddress              string
	// Block I/O, memory and cgroup resources (container/resources.go), --gpus, --storage-opt,
	// --platform and --disable-content-trust.
	blkioWeight                                 uint16
	blkioWeightDevice                           weightDevicesFlag
	readBps, writeBps, readIOps, writeIOps      throttleDevicesFlag
	memorySwappiness, cpuRtPeriod, cpuRtRuntime int64
	oomKillDisable, disableContentTrust         bool
	cgroupParent, platform                      string
	kernelMemory                                memBytesFlag
	gpus                                        gpusFlag
	storageOpts                                 []string
	// warnings are the CLI's own (Docker prints them before the daemon's).
	warnings []string
}

// weightDevicesFlag is --blkio-weight-device, each value checked when given (Docker's CLI errors).
type weightDevicesFlag []container.WeightDevice

func (f *weightDevicesFlag) String() string { return "" }
func (f *weightDevicesFlag) Type() string   { return "list" }
func (f *weightDevicesFlag) Set(v string) error {
	d, err := container.ParseWeightDevice(v)
	if err == nil {
		*f = append(*f, d)
	}
	return err
}

// throttleDevicesFlag is --device-{read,write}-{bps,iops}.
type throttleDevicesFlag struct {
	list []container.ThrottleDevice
	iops bool
}

func (f *throttleDevicesFlag) String() string { return "" }
func (f *throttleDevicesFlag) Type() string   { return "list" }
func (f *throttleDevicesFlag) Set(v string) error {
	d, err := container.ParseThrottleDevice(v, f.iops)
	if err == nil {
		f.list = append(f.list, d)
	}
	return err
}

// memBytesFlag is a size flag read as Docker's MemBytes (a malformed one is a flag error).
type memBytesFlag int64

func (f *memBytesFlag) String() string { return "" }
func (f *memBytesFlag) Type() string   { return "bytes" }
func (f *memBytesFlag) Set(v string) error {
	n, err := units.RAMInBytes(v)
	*f = memBytesFlag(n)
	return err
}

// gpusFlag is --gpus.
type gpusFlag []container.DeviceRequest

func (f *gpusFlag) String() string { return "" }
func (f *gpusFlag) Type() string   { return "gpu-request" }
func (f *gpusFlag) Set(v string) error {
	r, err := container.ParseGpus(v)
	if err == nil {
		*f = append(*f, r)
	}
	return err
}

func (f *createFlags) bind(fl *pflag.FlagSet) {
	// -h is --hostname, as in Docker, so help is --help alone.
	fl.Bool("help", false, "Print usage")
	fl.StringVar(&f.name, "name", "", "Assign a name to the container")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fl.StringVarP(&f.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fl.StringVarP(&f.hostname, "hostname", "h", "", "Container host name")
	fl.StringVar(&f.domainname, "domainname", "", "Container NIS domain name")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.net.bind(fl)
	fl.StringVar(&f.runtime, "runtime", "", "Runtime to use for this container")
	fl.StringVar(&f.logDriver, "log-driver", "", "Logging driver for the container")
	fl.StringArrayVar(&f.logOpts, "log-opt", nil, "Log driver options")
	fl.StringVar(&f.pull, "pull", "missing", `Pull image before running ("always"|"missing"|"never")`)
	fl.StringVar(&f.stopSignal, "stop-signal", "", "Signal to stop a container")
	fl.IntVar(&f.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	fl.VarP(sizeString{p: &f.memory}, "memory", "m", "Memory limit")
	fl.Var(sizeString{p: &f.memorySwap, allowMinusOne: true}, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fl.Var(decimalCPUs{&f.cpus}, "cpus", "Number of CPUs")
	fl.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.Int64Var(&f.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	fl.Int64Var(&f.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	fl.StringVar(&f.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fl.StringVar(&f.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	fl.Var(sizeString{p: &f.memoryReservation}, "memory-reservation", "Memory soft limit")
	fl.StringVar(&f.cidfile, "cidfile", "", "Write the container ID to the file")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "Set environment variables")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "Read in a file of environment variables")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "Set meta data on a container")
	fl.StringArrayVar(&f.labelFiles, "label-file", nil, "Read in a line delimited file of labels")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "Bind mount a volume")
	fl.Var(&f.mounts, "mount", "Attach a filesystem mount to the container")
	fl.StringArrayVarP(&f.attach, "attach", "a", nil, "Attach to STDIN, STDOUT or STDERR")
	fl.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	fl.StringArrayVar(&f.volumesFrom, "volumes-from", nil, "Mount volumes from the specified container(s)")
	fl.StringVar(&f.isolation, "isolation", "", "Container isolation technology")
	fl.StringVar(&f.volumeDriver, "volume-driver", "", "Optional volume driver for the container")
	fl.StringVar(&f.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	fl.StringArrayVarP(&f.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	fl.StringArrayVar(&f.expose, "expose", nil, "Expose a port or a range of ports")
	fl.StringArrayVar(&f.capAdd, "cap-add", nil, "Add Linux capabilities")
	fl.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	fl.StringArrayVar(&f.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fl.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fl.BoolVar(&f.rm, "rm", false, "Automatically remove the container when it exits")
	fl.BoolVar(&f.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fl.BoolVarP(&f.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	fl.BoolVar(&f.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fl.BoolVar(&f.privileged, "privileged", false, "Give extended privileges to this container")
	fl.StringVar(&f.restart, "restart", "no", "Restart policy to apply when a container exits")
	fl.StringVar(&f.healthCmd, "health-cmd", "", "Command to run to check health")
	fl.DurationVar(&f.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h)")
	fl.IntVar(&f.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fl.DurationVar(&f.healthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)")
	fl.DurationVar(&f.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h)")
	fl.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	f.security.bind(fl)
	fl.Uint16Var(&f.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)")
	fl.Var(&f.blkioWeightDevice, "blkio-weight-device", "Block IO weight (relative device weight)")
	f.readIOps.iops, f.writeIOps.iops = true, true
	fl.Var(&f.readBps, "device-read-bps", "Limit read rate (bytes per second) from a device")
	fl.Var(&f.writeBps, "device-write-bps", "Limit write rate (bytes per second) to a device")
	fl.Var(&f.readIOps, "device-read-iops", "Limit read rate (IO per second) from a device")
	fl.Var(&f.writeIOps, "device-write-iops", "Limit write rate (IO per second) to a device")
	fl.Int64Var(&f.memorySwappiness, "memory-swappiness", -1, "Tune container memory swappiness (0 to 100)")
	fl.BoolVar(&f.oomKillDisable, "oom-kill-disable", false, "Disable OOM Killer")
	fl.StringVar(&f.cgroupParent, "cgroup-parent", "", "Optional parent cgroup for the container")
	fl.Var(&f.kernelMemory, "kernel-memory", "Kernel memory limit")
	fl.Int64Var(&f.cpuRtPeriod, "cpu-rt-period", 0, "Limit CPU real-time period in microseconds")
	fl.Int64Var(&f.cpuRtRuntime, "cpu-rt-runtime", 0, "Limit CPU real-time runtime in microseconds")
	fl.Var(&f.gpus, "gpus", "GPU devices to add to the container ('all' to pass all GPUs)")
	fl.StringArrayVar(&f.storageOpts, "storage-opt", nil, "Storage driver options for the container")
	fl.StringVar(&f.platform, "platform", "", "Set platform if server is multi-platform capable")
	fl.BoolVar(&f.disableContentTrust, "disable-content-trust", true, "Skip image verification")
}

// resources fills the block I/O, memory and cgroup options, checked as Docker's CLI checks them
// (the engine then checks them against the host, as dockerd does).
func (f *createFlags) resources(o *container.CreateOptions) error {
	h := &o.Host
	f.warnings = nil
	if f.memorySwappiness != -1 && (f.memorySwappiness < 0 || f.memorySwappiness > 100) {
		return fmt.Errorf("invalid value: %d. Valid memory swappiness range is 0-100", f.memorySwappiness)
	}
	if f.memorySwappiness != -1 {
		sw := f.memorySwappiness
		h.MemorySwappiness = &sw
	}
	h.KernelMemory = int64(f.kernelMemory)
	h.OomKillDisable = f.oomKillDisable
	h.BlkioWeight, h.BlkioWeightDevice = f.blkioWeight, f.blkioWeightDevice
	h.BlkioDeviceReadBps, h.BlkioDeviceWriteBps = f.readBps.list, f.writeBps.list
	h.BlkioDeviceReadIOps, h.BlkioDeviceWriteIOps = f.readIOps.list, f.writeIOps.list
	h.CgroupParent, h.CPURealtimePeriod, h.CPURealtimeRuntime = f.cgroupParent, f.cpuRtPeriod, f.cpuRtRuntime
	h.DeviceRequests = f.gpus
	for _, so := range f.storageOpts {
		k, v, ok := strings.Cut(so, "=")
		if !ok {
			return errors.New("invalid storage option")
		}
		if h.StorageOpt == nil {
			h.StorageOpt = map[string]string{}
		}
		h.StorageOpt[k] = v
	}
	if f.platform != "" {
		if _, err := container.ParsePlatformFlag(f.platform); err != nil {
			return platformError{err}
		}
	}
	o.Platform = f.platform
	if !f.disableContentTrust {
		// Docker verifies the image's signature with a Notary server then; berth has no client.
		return daemonError{errContentTrust}
	}
	if f.oomKillDisable && f.memory == "" {
		f.warnings = append(f.warnings, "Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.")
	}
	return nil
}

func (f *createFlags) printWarnings(g *Globals) {
	for _, w := range f.warnings {
		fmt.Fprintln(g.Stderr, "WARNING: "+w)
	}
}

// platformError is a --platform Docker's CLI could not read: `create` prints it alone, exit 1;
// `run` as its other usage errors.
type platformError struct{ error }

// healthcheck is Docker's CLI reading of the --health-* flags and --no-healthcheck: nil when none
// is given (the image's healthcheck applies), NONE to disable it.
func (f *createFlags) healthcheck() (*image.HealthConfig, error) {
	have := f.healthCmd != "" || f.healthInterval != 0 || f.healthTimeout != 0 || f.healthStartPeriod != 0 || f.healthRetries != 0
	if f.noHealthcheck {
		if have {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &image.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !have {
		return nil, nil
	}
	h := &image.HealthConfig{Interval: f.healthInterval, Timeout: f.healthTimeout, StartPeriod: f.healthStartPeriod, Retries: f.healthRetries}
	if f.healthCmd != "" {
		h.Test = []string{"CMD-SHELL", f.healthCmd}
	}
	switch {
	case f.healthInterval < 0:
		return nil, errors.New("--health-interval cannot be negative")
	case f.healthTimeout < 0:
		return nil, errors.New("--health-timeout cannot be negative")
	case f.healthRetries < 0:
		return nil, errors.New("--health-retries cannot be negative")
	case f.healthStartPeriod < 0:
		return nil, errors.New("--health-start-period cannot be negative")
	}
	return h, nil
}

// envVar resolves "-e NAME" from berth's own environment, as Docker's CLI does; a name that is
// not set is kept bare (it then removes the image's variable).
func envVar(v string) (string, error) {
	k, _, hasValue := strings.Cut(v, "=")
	if k == "" {
		return "", fmt.Errorf("invalid environment variable: %s", v)
	}
	if !hasValue {
		if val, ok := os.LookupEnv(k); ok {
			v = k + "=" + val
		}
	}
	// The container record is JSON, which would turn such bytes into U+FFFD without a word;
	// Docker's does the same to -e. Refuse instead: a value is never changed quietly.
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("invalid environment variable %q: it holds bytes that are not UTF-8, which berth cannot store unchanged", v)
	}
	return v, nil
}

// readKVFile reads an --env-file or --label-file: one VAR=VAL a line, '#' comments and blank
// lines skipped, a bare VAR taken from berth's environment (skipped when unset).
func readKVFile(path string, fromEnv bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		// Docker 20.10's words: the container record is JSON, which cannot keep such bytes.
		if !utf8.Valid(sc.Bytes()) {
			return nil, fmt.Errorf("invalid env file (%s): invalid utf8 bytes at line %d: %v", path, n, sc.Bytes())
		}
		line := strings.TrimLeft(sc.Text(), " \t")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, hasValue := strings.Cut(line, "=")
		if strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("variable '%s' contains whitespaces", k)
		}
		if !hasValue {
			if !fromEnv {
				out = append(out, line)
				continue
			}
			if v, ok := os.LookupEnv(line); ok {
				out = append(out, line+"="+v)
			}
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

func (f *createFlags) options(cmd *cobra.Command, args []string) (container.CreateOptions, error) {
	o := container.CreateOptions{
		Name: f.name, Image: args[0], Cmd: args[1:], WorkingDir: f.workdir, User: f.user,
		Hostname: f.hostname, Domainname: f.domainname, Tty: f.tty, OpenStdin: f.interactive,
		StopSignal: f.stopSignal, Expose: f.expose,
	}
	for _, a := range f.attach {
		switch s := strings.ToLower(a); s {
		case "stdin", "stdout", "stderr":
			o.Attach = append(o.Attach, s)
		default:
			return o, fmt.Errorf("invalid argument %q for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a)
		}
	}
	hc, err := f.healthcheck()
	if err != nil {
		return o, err
	}
	o.Healthcheck = hc
	rp, err := container.ParseRestartPolicy(f.restart)
	if err != nil {
		return o, err
	}
	if f.rm && !rp.IsNone() {
		return o, container.ErrConflictRestartRm
	}
	o.Host.RestartPolicy = rp
	if cmd.Flags().Changed("entrypoint") {
		ep := f.entrypoint
		o.Entrypoint = &ep
	}
	if cmd.Flags().Changed("stop-timeout") {
		t := f.stopTimeout
		o.StopTimeout = &t
	}
	for _, ef := range f.envFiles {
		vs, err := readKVFile(ef, true)
		if err != nil {
			return o, err
		}
		o.Env = append(o.Env, vs...)
	}
	for _, e := range f.env {
		v, err := envVar(e)
		if err != nil {
			return o, err
		}
		o.Env = append(o.Env, v)
	}
	var labels []string
	for _, lf := range f.labelFiles {
		vs, err := readKVFile(lf, false)
		if err != nil {
			return o, err
		}
		labels = append(labels, vs...)
	}
	labels = append(labels, f.labels...)
	if len(labels) > 0 {
		o.Labels = map[string]string{}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			o.Labels[k] = v
		}
	}
	h := &o.Host
	h.AutoRemove, h.ReadonlyRootfs, h.PublishAllPorts, h.Init, h.Privileged = f.rm, f.readOnly, f.publishAll, f.init, f.privileged
	h.Runtime, h.CapAdd, h.CapDrop, h.ExtraHosts = f.runtime, f.capAdd, f.capDrop, f.addHosts
	h.VolumesFrom, h.Isolation, h.VolumeDriver = f.volumesFrom, f.isolation, f.volumeDriver
	o.MacAddress = f.macAddress
	if f.logDriver == logging.None && len(f.logOpts) > 0 {
		return o, fmt.Errorf("invalid logging opts for driver %s", f.logDriver)
	}
	h.LogConfig.Type = f.logDriver
	if len(f.logOpts) > 0 {
		h.LogConfig.Config = map[string]string{}
		for _, kv := range f.logOpts {
			k, v, _ := strings.Cut(kv, "=")
			h.LogConfig.Config[k] = v
		}
	}
	if err := f.security.apply(h); err != nil {
		return o, err
	}
	if err := f.net.apply(&o, f.addHosts); err != nil {
		return o, err
	}
	if f.pull != "missing" && f.pull != "never" && f.pull != "always" {
		return o, fmt.Errorf(`invalid pull option: '%s': must be one of "always", "missing" or "never"`, f.pull)
	}
	if err := f.resources(&o); err != nil {
		return o, err
	}
	if f.memory != "" {
		n, err := units.RAMInBytes(f.memory)
		if err != nil {
			return o, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", f.memory, err)
		}
		h.Memory = n
	}
	if f.memorySwap != "" {
		n, err := parseMemorySwap(f.memorySwap)
		if err != nil {
			return o, err
		}
		h.MemorySwap = n
	}
	if f.cpus < 0 {
		return o, fmt.Errorf("invalid argument \"%v\" for \"--cpus\" flag: range of CPUs is from 0.01 to the number of CPUs available", f.cpus)
	}
	h.NanoCPUs = int64(f.cpus * 1e9)
	h.CPUShares, h.CPUPeriod, h.CPUQuota, h.CpusetCpus, h.CpusetMems = f.cpuShares, f.cpuPeriod, f.cpuQuota, f.cpusetCpus, f.cpusetMems
	if f.memoryReservation != "" {
		n, err := units.RAMInBytes(f.memoryReservation)
		if err != nil {
			return o, fmt.Errorf("invalid argument %q for \"--memory-reservation\" flag: %v", f.memoryReservation, err)
		}
		h.MemoryReservation = n
	}
	h.ContainerIDFile = f.cidfile
	h.PidsLimit = f.pidsLimit
	for _, v := range f.volumes {
		mt, err := container.ParseVolume(v)
		if err != nil {
			return o, err
		}
		if mt.Type == "bind" || mt.Source != "" {
			h.Binds = append(h.Binds, v)
		}
		h.Mounts = append(h.Mounts, mt)
	}
	for _, mt := range f.mounts {
		if err := container.CheckMount(mt); err != nil {
			return o, daemonError{err}
		}
		h.Mounts = append(h.Mounts, mt)
	}
	if len(f.tmpfs) > 0 {
		h.Tmpfs = map[string]string{}
		for _, t := range f.tmpfs {
			dst, opts, _ := strings.Cut(t, ":")
			h.Tmpfs[dst] = opts
		}
	}
	if len(f.publish) > 0 {
		pb, err := container.ParsePublish(f.publish)
		if err != nil {
			return o, err
		}
		h.PortBindings = pb
		for p := range pb {
			o.Expose = append(o.Expose, p)
		}
		sort.Strings(o.Expose)
	}
	return o, nil
}

// mountsFlag is --mount: each value parsed when given, so a malformed one is a flag error in
// Docker's words (`invalid argument "..." for "--mount" flag: ...`).
type mountsFlag []container.Mount

func (m *mountsFlag) String() string { return "" }
func (m *mountsFlag) Type() string   { return "mount" }
func (m *mountsFlag) Set(v string) error {
	mt, err := container.ParseMount(v)
	if err != nil {
		return err
	}
	*m = append(*m, mt)
	return nil
}

// createContainer creates a container, pulling its image first as --pull says (Docker's
// "Unable to find image 'x:latest' locally", then the pull's progress, on stderr).
func createContainer(g *Globals, m *container.Manager, o container.CreateOptions, pull string) (*container.Container, error) {
	conf, err := readConfig()
	if err != nil {
		return nil, err
	}
	cid, err := newCIDFile(o.Host.ContainerIDFile)
	if err != nil {
		return nil, err
	}
	defer cid.close()
	m.LogDefaults = logging.Config{Type: conf.LogDriver, Config: conf.LogOpts}
	m.UsernsRemap = conf.UsernsRemap
	m.DefaultRuntime = conf.DefaultRuntime
	if pull == "always" {
		if err := pullForRun(g, m, o.Image, o.Platform); err != nil {
			return nil, daemonError{err}
		}
	}
	c, err := m.Create(o)
	if errors.Is(err, image.ErrNoSuchImage) && pull != "always" && !reference.LooksLikeID(o.Image) {
		ref := o.Image
		if n, perr := reference.Parse(ref); perr == nil {
			ref = reference.Familiar(reference.WithDefaultTag(n))
		}
		fmt.Fprintf(g.Stderr, "Unable to find image '%s' locally\n", ref)
		if pull == "missing" {
			if perr := pullForRun(g, m, o.Image, o.Platform); perr != nil {
				return nil, daemonError{perr}
			}
			c, err = m.Create(o)
		}
	}
	if err != nil {
		return nil, daemonError{err}
	}
	for _, w := range c.Warnings {
		fmt.Fprintln(g.Stderr, "WARNING: "+w)
	}
	if err := cid.write(c.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// cidFile is --cidfile as Docker's CLI keeps it: refused when the file exists, created before
// the container, removed again when the create fails, and holding the ID once it succeeded.
type cidFile struct {
	path    string
	f       *os.File
	written bool
}

func newCIDFile(path string) (*cidFile, error) {
	if path == "" {
		return &cidFile{}, nil
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("Failed to create the container ID file: %v", err)
	}
	return &cidFile{path: path, f: f}, nil
}

func (c *cidFile) write(id string) error {
	if c.f == nil {
		return nil
	}
	if _, err := c.f.WriteString(id); err != nil {
		return fmt.Errorf("Failed to write the container ID to the file: %v", err)
	}
	c.written = true
	return nil
}

func (c *cidFile) close() {
	if c.f == nil {
		return
	}
	c.f.Close()
	if !c.written {
		os.Remove(c.path)
	}
}

// daemonError is a failure Docker's daemon would report (a refused mount, a name in use, an
// image that cannot be pulled), as opposed to a flag the CLI could not read: Docker words and
// exits differently for the two (createFailure, runFailure).
type daemonError struct{ error }

func (e daemonError) Unwrap() error { return e.error }

// createFailure is how Docker's `create` fails: what its CLI refuses is "docker: MESSAGE.\nSee
// 'docker create --help'.", exit 125; what the daemon refuses is "Error response from daemon:
// ..." (berth: "Error: ..."), exit 1.
func createFailure(cmd *cobra.Command, err error) error {
	var de daemonError
	if errors.As(err, &de) {
		return &StatusError{Code: 1, Err: de.error}
	}
	var pe platformError
	if errors.As(err, &pe) {
		return &StatusError{Code: 1, Usage: true, Err: pe.error}
	}
	return usageFailure(cmd, err)
}

// startFailure is how Docker's `run` reports a container that was created but did not start:
// "docker: Error response from daemon: MESSAGE." without the help hint, exit 125 (or the
// command's 126/127).
func startFailure(cmd *cobra.Command, err error) error {
	var se *container.StartError
	if errors.As(err, &se) && se.Code != 125 {
		return runError(err)
	}
	return &StatusError{Code: 125, Usage: true, Err: fmt.Errorf("%s: Error: %s.", cmd.Root().Name(), err)}
}

// usageFailure is Docker's reportError for create and run: the program's name as invoked, the
// message with a full stop, the help hint, exit 125.
func usageFailure(cmd *cobra.Command, err error) error {
	return &StatusError{Code: 125, Usage: true, Err: fmt.Errorf("%s: %s.\nSee '%s --help'.", cmd.Root().Name(), err, cmd.CommandPath())}
}

// runFailure is how Docker's `run` fails before its container runs: "docker: MESSAGE.\nSee
// 'docker run --help'.", exit 125 (with berth's name as invoked, and "Error: " where Docker
// says "Error response from daemon: "); the container command's 126/127 as runError says.
func runFailure(cmd *cobra.Command, err error) error {
	var se *container.StartError
	if errors.As(err, &se) && se.Code != 125 {
		return runError(err)
	}
	var de daemonError
	if errors.As(err, &de) {
		return usageFailure(cmd, fmt.Errorf("Error: %w", de.error))
	}
	return usageFailure(cmd, err)
}

// pullForRun pulls an image for run/create with its progress on stderr, as Docker prints it.
func pullForRun(g *Globals, m *container.Manager, ref, platform string) error {
	ro, err := registryOptions(true)
	if err != nil {
		return err
	}
	pr := newProgressPrinter(g.Stderr, g.Stderr)
	ro.Progress = pr.event
	ctx := context.Background()
	if g.intr != nil {
		ctx = g.intr.ctx // run: an interrupt stops the pull too
	}
	_, err = distribution.Pull(ctx, m.Images, ref, distribution.PullOptions{Options: ro, Platform: platform})
	pr.done()
	return err
}

// runError gives a failure of create/run/start Docker's exit code: the container command's
// 126/127, or 125.
func runError(err error) error {
	var se *container.StartError
	if errors.As(err, &se) {
		if se.Shown {
			// runc's own line ("runc run failed: ... exec: \"x\": executable file not found
			// in $PATH") is on stderr already; a second one would only repeat it.
			return &StatusError{Code: se.Code, Err: errors.New("")}
		}
		return &StatusError{Code: se.Code, Err: err}
	}
	return &StatusError{Code: 125, Err: err}
}

func newCreateCommand(g *Globals, use string) *cobra.Command {
	var f createFlags
	c := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(cmd, args)
			if err != nil {
				return createFailure(cmd, err)
			}
			f.printWarnings(g)
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			ctr, err := createContainer(g, m, o, f.pull)
			if err != nil {
				return createFailure(cmd, err)
			}
			fmt.Fprintln(g.Stdout, ctr.ID)
			return nil
		},
	}
	c.Flags().SetInterspersed(false)
	f.bind(c.Flags())
	c.Flags().Lookup("pull").Usage = `Pull image before creating ("always"|"missing"|"never")`
	return c
}

// stdinIsTTY refuses -it when stdin is not a terminal, before anything is created, as Docker
// does: its message, bare, exit 1.
func stdinIsTTY(g *Globals) error {
	if !isTerminal(g.Stdin) {
		return &StatusError{Code: 1, Err: errors.New("the input device is not a TTY"), Usage: true}
	}
	return nil
}

func newRunCommand(g *Globals, use string) *cobra.Command {
	var f createFlags
	var detach, sigProxy bool
	var detachKeysFlag string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(cmd, args)
			if err != nil {
				return runFailure(cmd, err)
			}
			f.printWarnings(g)
			o.Detach = detach
			var keys []byte
			if f.interactive && f.tty && !detach {
				if err := stdinIsTTY(g); err != nil {
					return err
				}
				if keys, err = detachKeys(detachKeysFlag, invalidDetachKeys); err != nil {
					return runFailure(cmd, err)
				}
			}
			// Interrupted while it sets the container up, run undoes the set-up before it
			// exits; once the container runs, signals go to it (--sig-proxy).
			ctx := g.interruptible(cmd)
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			// The new container stays locked until it has started: no prune takes it for
			// a stopped one meanwhile.
			o.HoldLock = true
			ctr, err := createContainer(g, m, o, f.pull)
			if err != nil {
				return runFailure(cmd, err)
			}
			defer ctr.Unlock()
			if detach {
				// Docker's CLI prints the ID as soon as the container exists, before it starts.
				fmt.Fprintln(g.Stdout, ctr.ID)
				if err := m.StartCreated(ctr); err != nil {
					if f.rm {
						m.Remove(ctr.ID, container.RemoveOptions{Force: true, Volumes: true})
					}
					return startFailure(cmd, err)
				}
				return nil
			}
			if f.interactive && f.tty {
				return runTerminal(g, m, ctr, keys, f.rm, cmd)
			}
			at := &container.Attach{Stdout: g.Stdout, Stderr: g.Stderr, ForwardSignals: sigProxy, Setup: ctx,
				Started: func() {
					ctr.Unlock()
					if sigProxy {
						g.intr.passOn()
					} else {
						g.intr.release()
					}
				}}
			if f.interactive {
				at.Stdin = g.Stdin
				if f.tty {
					// The container's terminal does the line editing and echo: ours goes raw.
					if in, ok := g.Stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
						if old, err := term.MakeRaw(int(in.Fd())); err == nil {
							defer term.Restore(int(in.Fd()), old)
						}
					}
				}
			}
			code, err := m.RunCreated(ctr, at)
			if err != nil {
				if f.rm {
					m.Remove(ctr.ID, container.RemoveOptions{Force: true, Volumes: true})
				}
				return startFailure(cmd, err)
			}
			if code != 0 {
				return &StatusError{Code: code, Err: errors.New("")}
			}
			return nil
		},
	}
	c.Flags().SetInterspersed(false)
	f.bind(c.Flags())
	c.Flags().BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	c.Flags().BoolVar(&sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	c.Flags().StringVar(&detachKeysFlag, "detach-keys", "", "Override the key sequence for detaching a container")
	return c
}

// runTerminal is `run -it` in the foreground: the container runs under its shim with this
// process as a client on the raw terminal, as Docker's CLI is a client of its daemon. The detach
// keys leave it running (berth exits 0, silently, as Docker's CLI does), and a client that dies
// leaves it running too, for `attach` to take up.
func runTerminal(g *Globals, m *container.Manager, ctr *container.Container, keys []byte, rm bool, cmd *cobra.Command) error {
	if in, ok := g.Stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		if old, err := term.MakeRaw(int(in.Fd())); err == nil {
			defer term.Restore(int(in.Fd()), old)
		}
	}
	// Signals keep their default action: the terminal sends ^C as a byte to the container, and
	// a client killed leaves the container to its shim.
	g.intr.release()
	code, err := m.StartCreatedAttached(ctr, container.AttachOptions{Stdin: g.Stdin, Stdout: g.Stdout, Stderr: g.Stderr, DetachKeys: keys})
	if errors.Is(err, container.ErrDetached) {
		return nil
	}
	if err != nil {
		if rm {
			m.Remove(ctr.ID, container.RemoveOptions{Force: true, Volumes: true})
		}
		return startFailure(cmd, err)
	}
	if code != 0 {
		return &StatusError{Code: code, Err: errors.New("")}
	}
	return nil
}

// forEach runs fn on every argument, printing each name that succeeded (Docker's multi-object
// commands), and fails with every error at the end.
func forEach(g *Globals, args []string, fn func(string) error) error {
	return eachArg(args, func(a string) error {
		if err := fn(a); err != nil {
			return err
		}
		fmt.Fprintln(g.Stdout, a)
		return nil
	})
}

func newStartCommand(g *Globals, use string) *cobra.Command {
	var attach, interactive bool
	var detachKeys string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			if attach || interactive {
				if len(args) > 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				o, err := attachOptions(g, interactive, true, detachKeys)
				if err != nil {
					return err
				}
				return attachResult(g, m, args[0], o, func(o container.AttachOptions) (int, error) {
					return m.StartAttached(args[0], o)
				})
			}
			// Docker's: each failure on its own line as the daemon said it, then one line
			// naming every container that did not start, exit 1.
			var failed []string
			for _, ref := range args {
				if err := m.StartDetached(ref); err != nil {
					fmt.Fprintln(g.Stderr, "Error: "+err.Error())
					failed = append(failed, ref)
					continue
				}
				fmt.Fprintln(g.Stdout, ref)
			}
			if len(failed) > 0 {
				return fmt.Errorf("failed to start containers: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	c.Flags().BoolVarP(&interactive, "interactive", "i", false, "Attach container's STDIN")
	c.Flags().StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return c
}

func newAttachCommand(g *Globals, use string) *cobra.Command {
	var noStdin, sigProxy bool
	var detachKeys string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			o, err := attachOptions(g, !noStdin, sigProxy, detachKeys)
			if err != nil {
				return err
			}
			return attachResult(g, m, args[0], o, func(o container.AttachOptions) (int, error) {
				return m.Attach(args[0], o)
			})
		},
	}
	c.Flags().BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	c.Flags().BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	c.Flags().StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return c
}

// attachOptions wires berth's stdio to an attach (attach, start -a).
func attachOptions(g *Globals, stdin, sigProxy bool, flag string) (container.AttachOptions, error) {
	o := container.AttachOptions{Stdout: g.Stdout, Stderr: g.Stderr, ForwardSignals: sigProxy}
	if stdin {
		o.Stdin = g.Stdin
	}
	keys, err := detachKeys(flag, invalidDetachKeys)
	if err != nil {
		return o, err
	}
	o.DetachKeys = keys
	return o, nil
}

// attachResult runs an attach with the terminal raw while stdin is a terminal attached to a TTY
// container (whose own terminal does the line editing and echo), and exits with the container's
// code; detaching prints Docker's "read escape sequence" and exits 1.
func attachResult(g *Globals, m *container.Manager, ref string, o container.AttachOptions, run func(container.AttachOptions) (int, error)) error {
	c, _, err := m.Get(ref)
	if err != nil {
		return err
	}
	if in, ok := o.Stdin.(*os.File); ok && c.Config.Tty && c.Config.OpenStdin && term.IsTerminal(int(in.Fd())) {
		if old, err := term.MakeRaw(int(in.Fd())); err == nil {
			defer term.Restore(int(in.Fd()), old)
		}
	}
	code, err := run(o)
	if errors.Is(err, container.ErrDetached) {
		return &StatusError{Code: 1, Usage: true, Err: err}
	}
	var ce container.ConflictError
	if errors.As(err, &ce) && strings.HasPrefix(ce.Msg, "You cannot attach") {
		return &StatusError{Code: 1, Usage: true, Err: err} // Docker prints these bare
	}
	var se *container.StartError
	if errors.As(err, &se) {
		return runError(err)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &StatusError{Code: code, Err: errors.New("")}
	}
	return nil
}

func newStopCommand(g *Globals, use string) *cobra.Command {
	return stopLikeCommand(g, use, "Stop one or more running containers", "Seconds to wait for stop before killing it",
		(*container.Manager).Stop)
}

func newRestartCommand(g *Globals, use string) *cobra.Command {
	return stopLikeCommand(g, use, "Restart one or more containers", "Seconds to wait for stop before killing the container",
		(*container.Manager).Restart)
}

// stopLikeCommand is stop and restart: -t/--time, passed on only when given (else the
// container's own stop timeout), and each container named back as it is done.
func stopLikeCommand(g *Globals, use, short, timeHelp string, fn func(*container.Manager, string, *int) error) *cobra.Command {
	var timeout int
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: short,
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			var t *int
			if cmd.Flags().Changed("time") {
				t = &timeout
			}
			return forEach(g, args, func(ref string) error { return fn(m, ref, t) })
		},
	}
	c.Flags().IntVarP(&timeout, "time", "t", 10, timeHelp)
	return c
}

func newKillCommand(g *Globals, use string) *cobra.Command {
	var signal string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return forEach(g, args, func(ref string) error { return m.Kill(ref, signal) })
		},
	}
	c.Flags().StringVarP(&signal, "signal", "s", "KILL", "Signal to send to the container")
	return c
}

func newPauseCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return forEach(g, args, m.Pause)
		},
	}
}

func newUnpauseCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return forEach(g, args, m.Unpause)
		},
	}
}

func newWaitCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return eachArg(args, func(ref string) error {
				st, err := m.WaitExit(ref)
				if err != nil {
					return err
				}
				fmt.Fprintln(g.Stdout, st.ExitCode)
				return nil
			})
		},
	}
}

func newRmCommand(g *Globals, use string) *cobra.Command {
	var force, volumes, link bool
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return eachArg(args, func(ref string) error {
				if link {
					if err := m.RemoveLink(ref); err != nil {
						return err
					}
					fmt.Fprintln(g.Stdout, ref)
					return nil
				}
				err := m.Remove(ref, container.RemoveOptions{Force: force, Volumes: volumes})
				var nf container.NotFoundError
				if errors.As(err, &nf) && force {
					return nil // rm -f of a missing container is quiet, as in Docker
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(g.Stdout, ref)
				return nil
			})
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	c.Flags().BoolVarP(&link, "link", "l", false, "Remove the specified link")
	return c
}

func newRenameCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			if args[0] == "" || args[1] == "" {
				return errors.New("Neither old nor new names may be empty")
			}
			// Docker's CLI: the daemon's answer, then its own line naming the container.
			if err := m.Rename(args[0], args[1]); err != nil {
				return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("Error response from daemon: %v\nError: failed to rename container named %s", err, args[0])}
			}
			return nil
		},
	}
}

func newLogsCommand(g *Globals, use string) *cobra.Command {
	var follow, timestamps, details bool
	var tail, since, until string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := container.LogsOptions{Follow: follow, Timestamps: timestamps, Details: details, Tail: -1}
			if tail != "all" && tail != "" {
				n, err := strconv.Atoi(tail)
				if err != nil {
					return fmt.Errorf("invalid value for \"tail\": %s", tail)
				}
				if n >= 0 {
					o.Tail = n
				}
			}
			now := time.Now()
			var err error
			if since != "" {
				if o.Since, err = image.ParseTimestamp(since, now); err != nil {
					return err
				}
			}
			if until != "" {
				if o.Until, err = image.ParseTimestamp(until, now); err != nil {
					return err
				}
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return m.Logs(args[0], o, g.Stdout, g.Stderr)
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "Follow log output")
	c.Flags().BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	c.Flags().BoolVar(&details, "details", false, "Show extra details provided to logs")
	c.Flags().StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	c.Flags().StringVar(&since, "since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	c.Flags().StringVar(&until, "until", "", "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)")
	return c
}

func newContainerInspectCommand(g *Globals, use string) *cobra.Command {
	var formatStr string
	var size bool
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return inspectAll(g, formatStr, args, func(ref string) (any, error) {
				r, err := m.Inspect(ref, size)
				if err != nil {
					return nil, err
				}
				return r, nil
			})
		},
	}
	c.Flags().StringVarP(&formatStr, "format", "f", "", "Format the output using the given Go template")
	c.Flags().BoolVarP(&size, "size", "s", false, "Display total file sizes")
	return c
}

func newContainerPruneCommand(g *Globals, use string) *cobra.Command {
	var force bool
	var filters format.Args
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force && !confirm(g, "WARNING! This will remove all stopped containers.") {
				return nil
			}
			reclaimed, err := pruneContainers(g, filters)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, "Total reclaimed space:", units.HumanSize(float64(reclaimed)))
			return nil
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	c.Flags().Var(&filters, "filter", "Provide filter values (e.g. 'until=<timestamp>')")
	return c
}

// ---- ps ----

const (
	defaultPsTable     = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	defaultPsTableSize = defaultPsTable + "\t{{.Size}}"
)

var psHeader = format.Header{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": format.CreatedSinceHeader,
	"CreatedAt": format.CreatedAtHeader, "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
	"Size": format.SizeHeader, "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
	"State": "STATE", "LocalVolumes": "LOCAL VOLUMES",
}

// psRow is one row of `ps` (Docker's ContainerContext).
type psRow struct {
	trunc   bool
	now     time.Time
	s       container.Summary
	image   string
	size    bool
	imgSize int64
	dfSize  bool // system df -v: SIZE is the writable layer alone
	ports   string
}

func (r *psRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }

func (r *psRow) ID() string {
	if r.trunc {
		return format.TruncateID(r.s.ID)
	}
	return r.s.ID
}

// Names is the container's name, and with --no-trunc its names as a link target too, as
// Docker's ps prints them ("apme/al,apme2/apt1,apt1").
func (r *psRow) Names() string {
	if r.trunc || len(r.s.LinkNames) == 0 {
		return r.s.Name
	}
	names := r.s.Names()
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "/")
	}
	return strings.Join(names, ",")
}
func (r *psRow) Image() string {
	img := r.image
	if img == "" {
		return "<no image>"
	}
	if r.trunc && strings.HasPrefix(img, "sha256:") {
		return format.TruncateID(img)
	}
	return img
}
func (r *psRow) Command() string {
	cmd := r.s.Command()
	if r.trunc {
		cmd = format.Ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}
func (r *psRow) CreatedAt() string  { return time.Unix(r.s.Created.Unix(), 0).String() }
func (r *psRow) RunningFor() string { return format.CreatedSince(r.s.Created, r.now) }
func (r *psRow) Ports() string      { return r.ports }
func (r *psRow) State() string      { return r.s.State.Status }
func (r *psRow) Status() string     { return container.StatusString(r.s.State, r.now) }
func (r *psRow) Size() string {
	if r.dfSize {
		return units.HumanSize(float64(r.s.SizeRw))
	}
	if !r.size {
		return ""
	}
	srw := format.HumanSizeWithPrecision(r.s.SizeRw, 3)
	return fmt.Sprintf("%s (virtual %s)", srw, format.HumanSizeWithPrecision(r.s.SizeRw+r.imgSize, 3))
}
func (r *psRow) Labels() string {
	var kv []string
	for k, v := range r.s.Config.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
func (r *psRow) Label(name string) string { return r.s.Config.Labels[name] }

// Mounts is Docker's MOUNTS: each mount's volume name or host path (a --mount tmpfs: ""),
// cut to 15 characters unless --no-trunc, in the order of their container paths (Docker
// mounts them sorted so, and lists them so).
func (r *psRow) Mounts() string {
	ms := append([]container.Mount(nil), r.s.Host.Mounts...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Target < ms[j].Target })
	var names []string
	for _, mt := range ms {
		n := mt.Source
		if r.trunc {
			n = format.Ellipsis(n, 15)
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}
func (r *psRow) LocalVolumes() string {
	n := 0
	for _, mt := range r.s.Host.Mounts {
		if mt.Type == "volume" {
			n++
		}
	}
	return strconv.Itoa(n)
}
func (r *psRow) Networks() string { return strings.Join(r.s.NetworkNames(), ",") }

type psOptions struct {
	all, quiet, size, latest, noTrunc bool
	last                              int
	format                            string
	filters                           format.Args
}

func newPsCommand(g *Globals, use string) *cobra.Command {
	var o psOptions
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "List containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			fmtStr := o.format
			if fmtStr != "" {
				// Docker checks the template against an empty row before it lists anything.
				if err := format.Check(fmtStr, &psRow{s: container.Summary{Container: &container.Container{}}}); err != nil {
					return &StatusError{Code: 1, Usage: true, Err: err} // printed bare, as Docker's
				}
			}
			if strings.Contains(fmtStr, ".Size") {
				// Docker's CLI asks for sizes when the template shows them.
				o.size = true
			}
			rows, err := psRows(m, o, time.Now())
			if err != nil {
				return err
			}
			if o.quiet && (fmtStr == "" || fmtStr == format.TableFormatKey) {
				// Docker 20.10: a custom --format wins over -q (NewContainerFormat).
				fmtStr = format.DefaultQuietFormat
			}
			def := defaultPsTable
			if o.size {
				def = defaultPsTableSize
			}
			return format.Write(g.Stdout, fmtStr, def, psHeader, rows)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	fl.BoolVarP(&o.quiet, "quiet", "q", false, "Only display container IDs")
	fl.BoolVarP(&o.size, "size", "s", false, "Display total file sizes")
	fl.BoolVarP(&o.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	fl.IntVarP(&o.last, "last", "n", -1, "Show n last created containers (includes all states)")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	fl.StringVar(&o.format, "format", "", "Pretty-print containers using a Go template")
	fl.VarP(&o.filters, "filter", "f", "Filter output based on conditions provided")
	return c
}

func psRows(m *container.Manager, o psOptions, now time.Time) ([]*psRow, error) {
	limit := o.last
	if o.latest {
		limit = 1
	}
	list, err := m.ListFiltered(container.ListOptions{All: o.all, Limit: limit, Filters: o.filters})
	if err != nil {
		return nil, err
	}
	imageSizes := map[string]int64{}
	var rows []*psRow
	resolved := map[string]string{}
	for _, s := range list {
		ports := m.Ports(s.ID, s.Config.ExposedPorts, s.State.Running())
		r := &psRow{trunc: !o.noTrunc, now: now, s: s, size: o.size, image: s.Image, ports: container.DisplayPorts(ports)}
		// Containers mostly share a few image names: resolve each name once per listing.
		id, ok := resolved[s.Image]
		if !ok {
			id, _ = m.Images.Resolve(s.Image) // "" when the name is gone
			resolved[s.Image] = id
		}
		if id != s.ImageID {
			r.image = s.ImageID
		}
		if o.size {
			r.s.SizeRw, _ = m.SizeRw(s.ID)
			sz, ok := imageSizes[s.ImageID]
			if !ok {
				sz = m.ImageSize(s.ImageID)
				imageSizes[s.ImageID] = sz
			}
			r.imgSize = sz
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// newShimCommand is the hidden `berth container-shim ID`: the supervisor of a detached container
// (see container.Manager.StartDetached). It reports the start on fd 3 and lives as long as the
// container.
func newShimCommand(g *Globals) *cobra.Command {
	var restarting, attached bool
	c := &cobra.Command{
		Use:    "container-shim ID",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			var att *os.File
			if attached {
				att = os.NewFile(4, "attach")
			}
			return m.Shim(args[0], os.NewFile(3, "notify"), restarting, att)
		},
	}
	// --restarting: take over a container that a foreground `run` left to be restarted.
	c.Flags().BoolVar(&restarting, "restarting", false, "")
	// --attached: fd 4 is a client (start -a) attached before the container starts.
	c.Flags().BoolVar(&attached, "attached", false, "")
	return c
}

// newExecShimCommand is the hidden `berth exec-shim`: the holder of an `exec -it` process's
// terminal (see container.Manager.ExecHeld): control on fd 3, the terminal's data on fd 4.
func newExecShimCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "exec-shim",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return m.ExecShim(os.NewFile(3, "control"), os.NewFile(4, "data"))
		},
	}
}

// pruneContainers removes stopped containers matching filters and prints Docker's "Deleted
// Containers:" section; `container prune` and `system prune` both use it.
func pruneContainers(g *Globals, filters format.Args) (int64, error) {
	m, closeFn, err := openManager(g)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	deleted, reclaimed, warning, err := m.Prune(filters)
	if warning != nil {
		fmt.Fprintln(g.Stderr, "WARNING:", warning)
	}
	if err != nil {
		return 0, err
	}
	printPruned(g.Stdout, "Deleted Containers:", deleted)
	return reclaimed, nil
}
