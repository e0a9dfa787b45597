package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// runStep runs a RUN in a throw-away container over the stage's layers; what the command changed
// (the container's overlay upper dir) becomes the step's layer. The cache key is the parent state,
// the command line as history shows it (with the build args in scope, as BuildKit writes them),
// what else the process sees (environment, user, working directory, network), the mounts'
// definitions (for a bind mount the checksum or cache key of its source; never a cache mount's
// or a secret's content) and a heredoc script's text.
func (b *builder) runStep(st *state, c *instructions.RunCommand, label string) error {
	cc := st.cfg.Config
	shown := text(c)
	args := append([]string(nil), c.CmdLine...)
	var script []byte // a heredoc with a shebang runs as a file
	if len(c.Files) > 0 {
		var summary string
		var err error
		args, script, summary, err = heredocArgs(c)
		if err != nil {
			err = b.stageErr(c, "%v", err)
			b.prog.start(label + " " + shown).fail(err)
			return err
		}
		shown += " (" + summary + ")"
	}
	if c.PrependShell {
		args = withShell(cc, args)
	}
	v := b.prog.start(label + " " + shown)
	fail := func(err error) error {
		v.fail(err)
		return err
	}
	// Mount flags are expanded with the stage's variables (--mount=target=$DIR).
	if err := c.Expand(b.expander(st)); err != nil {
		return fail(b.stageErr(c, "%v", err))
	}
	network := string(instructions.GetNetwork(c))
	if network == "" || network == instructions.NetworkDefault {
		network = b.o.Network
	}
	switch network {
	case "", "default", "bridge":
		network = "default"
	case "host", "none":
	default:
		if instructions.GetNetwork(c) != "" && instructions.GetNetwork(c) != instructions.NetworkDefault {
			return fail(b.stageErr(c, "%s: network mode %q is not supported", shown, network))
		}
		// The build's own network (networkmode, --network NAME): a user-defined network,
		// which the step looks up when it runs.
	}
	// RUN --security=insecure: a privileged step, allowed only with the security.insecure
	// entitlement (`build --allow security.insecure`), as BuildKit grants it.
	insecure := instructions.GetSecurity(c) == instructions.SecurityInsecure
	if insecure && !b.o.AllowInsecure {
		return fail(b.stageErr(c, "%s is not allowed", EntitlementSecurityInsecure))
	}

	// History: "RUN |2 B=2 A=1 /bin/sh -c make # buildkit", the stage's build args in the order
	// they were declared, an ARG without a value as "K=", as BuildKit writes it.
	createdBy := "RUN "
	if len(st.args) > 0 {
		createdBy += fmt.Sprintf("|%d ", len(st.args))
		for _, k := range st.args {
			val, _ := lookupEnv(st.env, k)
			createdBy += k + "=" + val + " "
		}
	}
	createdBy += strings.Join(args, " ") + " # buildkit"

	rootfs := st.view(b.s, b.empty)
	stubs := missingMountPoints(rootfs)
	mounts, err := b.prepareMounts(st, c, rootfs)
	if err != nil {
		return fail(b.stageErr(c, "%s: %v", shown, err))
	}
	defer mounts.done()
	if script != nil {
		mounts.mounts = append(mounts.mounts, container.StepMount{Destination: "/dev/pipes/" + path.Base(c.Files[0].Name),
			Type: "bind", Data: script, Mode: 0o755, ReadOnly: true})
	}

	epoch := ""
	if b.o.SourceDateEpoch != nil {
		epoch = fmt.Sprint(b.o.SourceDateEpoch.Unix())
	}
	key := digestOf(st.key + "\x00" + epoch + "\x00run\x00" + createdBy + "\x00" + strings.Join(st.env, "\x00") +
		"\x00" + cc.User + "\x00" + cc.WorkingDir + "\x00" + network + "\x00" + strings.Join(mounts.key, "\x01") +
		"\x00" + string(script))
	if insecure {
		key = digestOf(key + "\x00security=insecure")
	}
	if len(stubs) > 0 {
		// The layer has the mount points too; a step cached before berth added them is not it.
		key = digestOf(key + "\x00mountpoints\x00" + strings.Join(stubs, "\x00"))
	}
	if !b.o.NoCache {
		// An entry without a layer was recorded when berth dropped empty layers: a miss.
		if e, ok := b.lookup(key, st, v); ok && e.ChainID != "" {
			b.apply(st, e, createdBy)
			st.key = key
			v.cached()
			return nil
		}
	}
	if err := mounts.realize(); err != nil {
		return fail(b.stageErr(c, "%s: %v", shown, err))
	}
	env := append([]string(nil), st.env...)
	// Proxy build args reach every RUN without an ARG, and stay out of history and the cache
	// key (BuildKit's proxy environment).
	for _, k := range proxyArgs {
		if v, ok := b.o.BuildArgs[k]; ok {
			if _, set := lookupEnv(env, k); !set {
				env = append(env, k+"="+v)
			}
		}
	}
	if mounts.sshSock != "" {
		if _, set := lookupEnv(env, "SSH_AUTH_SOCK"); !set {
			env = append(env, "SSH_AUTH_SOCK="+mounts.sshSock)
		}
	}
	e, err := b.runAndCommit(st, v, key, shown, stubs, container.StepOptions{
		Layers: st.chains(), Args: args, Env: append(env, mounts.env...), User: cc.User,
		WorkDir: cc.WorkingDir, Network: network, Mounts: mounts.mounts, MountPoints: mounts.points,
		Insecure: insecure, ExtraHosts: b.o.ExtraHosts, ShmSize: b.o.ShmSize,
	})
	if err != nil {
		return fail(&stepFailure{msg: b.stageErr(c, "%s: %v", shown, err), cause: err})
	}
	b.apply(st, e, createdBy)
	st.key = key
	v.done()
	return nil
}

// stepFailure is a RUN's failure, located in the Dockerfile, that keeps its cause (a
// *container.StepError with the command's exit code) for errors.As: the Engine API reports the
// code in its errorDetail.
type stepFailure struct{ msg, cause error }

func (e *stepFailure) Error() string { return e.msg.Error() }
func (e *stepFailure) Unwrap() error { return e.cause }

// heredocArgs turns a RUN with heredocs into its command, as BuildKit does: a lone heredoc
// ("RUN <<EOF") runs its text in the shell, or, when it starts with "#!", runs as a script
// mounted at /dev/pipes/NAME; anything else ("RUN <<EOF bash", "RUN cat <<A >f") goes to the
// shell with the heredocs written back after the command line.
func heredocArgs(c *instructions.RunCommand) (args []string, script []byte, summary string, err error) {
	args = c.CmdLine
	if len(args) != 1 || !c.PrependShell {
		return nil, nil, "", fmt.Errorf("parsing produced an invalid run command: %v", args)
	}
	if h := parser.MustParseHeredoc(args[0]); h != nil {
		f := c.Files[0]
		data := f.Data
		if f.Chomp {
			data = parser.ChompHeredocContent(data)
		}
		summary = strings.TrimSpace(f.Data)
		lines := strings.Split(strings.ReplaceAll(summary, "\r\n", "\n"), "\n")
		summary = lines[0]
		if len(lines) > 1 {
			summary += "..."
		}
		if strings.HasPrefix(data, "#!") {
			return []string{path.Join("/dev/pipes", f.Name)}, []byte(data), summary, nil
		}
		return []string{data}, nil, summary, nil
	}
	var sb strings.Builder
	sb.WriteString(args[0])
	for _, f := range c.Files {
		sb.WriteByte('\n')
		sb.WriteString(f.Data)
		sb.WriteString(f.Name)
	}
	return []string{sb.String()}, nil, "", nil
}

var proxyArgs = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
	"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}

func lookupEnv(env []string, k string) (string, bool) {
	for _, e := range env {
		if ek, v, _ := strings.Cut(e, "="); shell.EqualEnvKeys(ek, k) {
			return v, true
		}
	}
	return "", false
}

func (st *state) chains() []digest.Digest {
	out := make([]digest.Digest, len(st.layers))
	for i, l := range st.layers {
		out[i] = l.chain
	}
	return out
}

// runtimeMountPoints are the directories runc creates in a container's rootfs for the mounts of
// BuildKit's default spec (/dev, /proc, /sys) when the image lacks them. BuildKit leaves them in
// the RUN's layer: its MountStubsCleaner removes only the stubs of /etc/hosts, /etc/resolv.conf
// and --mount targets (v0.34 executor/stubs.go; Docker 20.10's v0.8 leaves them too), so the
// first RUN over an image without them adds them, empty, 0755 and root's. berth's step has them
// in its init layer, below the upper dir, so the build adds them to the upper dir itself.
var runtimeMountPoints = []string{"dev", "proc", "sys"}

// missingMountPoints are the runtimeMountPoints the rootfs lacks.
func missingMountPoints(rootfs *view) []string {
	var out []string
	for _, d := range runtimeMountPoints {
		if _, _, _, err := rootfs.lstat("/" + d); err != nil {
			out = append(out, d)
		}
	}
	return out
}

// addStubs makes the mount points in the step's upper dir. The step's command wrote that
// directory: it is reached through an os.Root, and a name the command made something else than
// a directory (a symlink to a host path, say) is left as it is, never followed.
func addStubs(upper string, stubs []string) error {
	if len(stubs) == 0 {
		return nil
	}
	root, err := os.OpenRoot(upper)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, d := range stubs {
		if err := root.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if fi, err := root.Lstat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := root.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// runAndCommit runs the step and records its upper dir, with the mount points that runc
// would have left there, as a layer in the cache. A command that changed nothing makes an empty
// layer, as BuildKit does (Docker's history shows it as 0B).
func (b *builder) runAndCommit(st *state, v *vertex, key, desc string, stubs []string, o container.StepOptions) (metadata.CacheEntry, error) {
	out := &lineLog{v: v, start: time.Now()}
	errOut := &lineLog{v: v, start: out.start, stderr: true}
	o.Stdout, o.Stderr = out, errOut
	o.Context = b.ctx
	var stepID string
	o.Created = func(id string) {
		stepID = id
		v.runningIn(id)
	}
	m := container.New(b.s)
	m.UsernsRemap = b.o.UsernsRemap
	upper, cleanup, err := m.RunStep(o)
	out.flush()
	errOut.flush()
	if errOut.lastLine() != "" && (out.lastLine() == "" || errOut.lastAt.After(out.lastAt)) {
		out = errOut
	}
	if err != nil {
		return metadata.CacheEntry{}, foreignExecError(err, out.lastLine(), st.plat)
	}
	removed := false
	defer func() {
		if !removed {
			cleanup()
		}
	}()
	if err := addStubs(upper, stubs); err != nil {
		return metadata.CacheEntry{}, err
	}
	if b.o.SourceDateEpoch != nil {
		// Reproducible layers: nothing in them is newer than the epoch.
		clampTimes(upper, *b.o.SourceDateEpoch)
	}
	rc, err := archive.Diff(upper)
	if err != nil {
		return metadata.CacheEntry{}, err
	}
	e, err := b.record(st, rc, key, desc)
	rc.Close()
	if err == nil {
		cleanup()
		removed = true
		v.removedContainer(stepID)
	}
	return e, err
}

// foreignExecError makes a RUN that could not start its program because the kernel does not run
// that architecture ("exec /bin/sh: exec format error", which runc prints before exiting 1, as
// under Docker without binfmt_misc/QEMU) say so on the error line itself, with the platforms
// involved when the stage is for another architecture than this machine's.
func foreignExecError(err error, last string, plat platformArgs) error {
	var se *container.StepError
	if !errors.As(err, &se) || !strings.Contains(last, "exec format error") {
		return err
	}
	msg := err.Error() + ": " + strings.TrimSpace(last)
	if host := image.DefaultPlatform(); !host.Runs(plat.image()) {
		msg += fmt.Sprintf(" (the stage is for %s and this machine is %s: berth does not emulate other architectures)", plat, host)
	}
	return errors.New(msg)
}

// lineLog hands a RUN's output to progress line by line, with its time since the command started
// (plain progress shows "#N 0.123 line").
type lineLog struct {
	mu    sync.Mutex
	v     *vertex
	start time.Time
	buf   bytes.Buffer
	last  string // the last line with text
	// lastAt is when last was written; stderr: the lines are the command's stderr.
	lastAt time.Time
	stderr bool
}

func (l *lineLog) emit(line string) {
	if l.stderr {
		l.v.errOutput(time.Since(l.start), line)
		return
	}
	l.v.output(time.Since(l.start), line)
}

func (l *lineLog) lastLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err == io.EOF {
			l.buf.WriteString(line) // an unfinished line waits for the rest
			return len(p), nil
		}
		line = strings.TrimSuffix(line, "\n")
		if strings.TrimSpace(line) != "" {
			l.last, l.lastAt = line, time.Now()
		}
		l.emit(line)
	}
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		if strings.TrimSpace(l.buf.String()) != "" {
			l.last, l.lastAt = l.buf.String(), time.Now()
		}
		l.emit(l.buf.String())
		l.buf.Reset()
	}
}

// clampTimes sets every time in dir later than epoch to epoch (SOURCE_DATE_EPOCH).
func clampTimes(dir string, epoch time.Time) {
	ts := []unix.Timespec{unix.NsecToTimespec(epoch.UnixNano()), unix.NsecToTimespec(epoch.UnixNano())}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.ModTime().After(epoch) {
			unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
}
