package build

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/berth-engine/berth/analysis"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/opencontainers/go-digest"
)

// DefaultPathEnv is the PATH a build sets when the base image has none (as BuildKit does).
const DefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const historyComment = "buildkit.dockerfile.v0"

// EntitlementSecurityInsecure is BuildKit's name of the right to run privileged steps.
const EntitlementSecurityInsecure = "security.insecure"

// Options are one build's inputs.
type Options struct {
	ContextDir     string // the build context, a directory
	Dockerfile     []byte // the Dockerfile; nil reads DockerfilePath
	DockerfilePath string // host path of the Dockerfile (default ContextDir/Dockerfile)
	BuildArgs      map[string]string
	Target         string
	Tags           []string
	Labels         map[string]string
	NoCache        bool
	Platform       string
	// SourceDateEpoch, when set, is every history and image time, and no file in a new layer is
	// newer (reproducible builds).
	SourceDateEpoch *time.Time
	// Progress receives BuildKit-style progress; nil for none.
	Progress io.Writer
	// ProgressMode is how progress is shown: ProgressPlain (the default when empty) or
	// ProgressTTY, BuildKit's live view, for a Progress that is a terminal.
	ProgressMode string
	// Network is the network of every RUN that does not say (RUN --network): "default" (or ""),
	// "host", "none" or the name or ID of a user-defined network (the classic builder's
	// networkmode; the step gets an endpoint there and its embedded DNS).
	Network string
	// ShmSize is the size of the RUN steps' /dev/shm in bytes (build --shm-size); 0 for 64 MiB.
	ShmSize int64
	// AllowInsecure grants the security.insecure entitlement (--allow security.insecure): RUN
	// --security=insecure steps run privileged; without it they fail.
	AllowInsecure bool
	// UsernsRemap is the config file's userns-remap: RUN steps run in a user namespace with
	// that user's ranges, as containers do (see container.Manager.UsernsRemap).
	UsernsRemap string
	// Secrets are the build's secrets by id (--secret), for RUN --mount=type=secret.
	Secrets map[string][]byte
	// SSH are the agents forwarded by id (--ssh, see ParseSSH), for RUN --mount=type=ssh: an
	// agent's socket, or private key files.
	SSH map[string][]string
	// Pull fetches an image for a platform ("os/arch[/variant]", normalized) into the store (FROM,
	// COPY --from) and returns its ID: an image missing from the store, or there for another
	// platform. nil fails such a build ("No such image", or the platform mismatch).
	Pull func(ctx context.Context, ref, platform string) (string, error)
	// AlwaysPull pulls FROM images even when they are in the store (--pull).
	AlwaysPull bool
	// CacheFrom are registry references of exported build caches to use (--cache-from
	// type=registry,ref=R); PullCache fetches one into the store (as an image named ref) and
	// returns its ID. A cache that cannot be fetched is reported and skipped, as BuildKit does.
	CacheFrom []string
	PullCache func(ctx context.Context, ref string) (string, error)
	// CacheTo are registry references to export the target's cache to (--cache-to
	// type=registry,ref=R, mode=min: the steps of the resulting image); PushCache pushes the
	// image named ref from the store.
	CacheTo   []string
	PushCache func(ctx context.Context, ref string) error
	// Output exports the target's files instead of making an image (--output).
	Output *Output
	// InlineCache writes the cache into the built image's config (--cache-to type=inline), so
	// --cache-from of the image itself reuses its steps.
	InlineCache bool
	// ExtraHosts are host:ip entries added to every RUN's /etc/hosts (--add-host); they do not
	// change what is cached, as in Docker.
	ExtraHosts []string
	// CacheFromDirs and CacheToDirs are local caches (type=local,src=DIR / dest=DIR): the same
	// cache as a registry's, kept in a directory.
	CacheFromDirs, CacheToDirs []string
}

// Result is what a build made.
type Result struct {
	ImageID string
	Tags    []string // familiar names
	// Warnings are the Dockerfile checks' findings for the stages built (BuildKit prints them
	// at the end of a build). A failed build still returns them, with the error.
	Warnings []analysis.Finding
}

// layerRef is one layer of a state.
type layerRef struct {
	desc   image.Descriptor
	diffID digest.Digest
	chain  digest.Digest
	size   int64
}

// state is a stage's image as it is being built.
type state struct {
	cfg      image.Config
	layers   []layerRef
	key      string   // cache key of the last step: parent of the next one
	stage    int      // index of the stage being built
	env      []string // the stage's environment for expansion (ENV and ARG values)
	args     []string // names of the ARGs declared in this stage, in order (history of RUN)
	cmdSet   bool
	newHist  int                   // index in cfg.History of this build's first entry
	histTime []time.Time           // created time of each new layer entry (zero for empty ones)
	steps    []metadata.CacheEntry // the cached steps that made this state (--cache-to exports them)
	plat     platformArgs          // the platform the stage is for (what its RUN steps must run)
	// metaFor and metaTrail: the metadata instructions run since the step whose key is metaFor
	// (the classic builder's own cache entries for them; see classicMeta).
	metaFor, metaTrail string
	// imageID is the image imageState made the state of ("" for scratch); not kept up to date
	// by the steps (berth records no intermediate images).
	imageID string
}

func (st *state) chain() digest.Digest {
	if n := len(st.layers); n > 0 {
		return st.layers[n-1].chain
	}
	return ""
}

func (st *state) view(s *image.Store, empty string) *view {
	v := &view{}
	for i := len(st.layers) - 1; i >= 0; i-- {
		v.dirs = append(v.dirs, s.Layers.Dir(st.layers[i].chain))
	}
	if len(v.dirs) == 0 {
		v.dirs = []string{empty}
	}
	return v
}

type builder struct {
	ctx      context.Context
	s        *image.Store
	o        Options
	plan     *Plan
	ignore   *patternmatcher.PatternMatcher
	ctxView  *view
	tmp      string
	sshMu    sync.Mutex
	agents   map[string]*sshAgent // --ssh agents, made when a step first needs them
	empty    string               // an empty directory: the rootfs of scratch
	prog     *progress
	states   []*state
	images   map[string]*state // --from images by reference
	now      time.Time
	mu       sync.Mutex // guards images and usedKeys: independent stages run concurrently
	usedKeys []string
	sums     *sumCache
}

// Build runs a Dockerfile and records the resulting image. Nothing is named or recorded unless
// every step succeeded.
func Build(ctx context.Context, s *image.Store, o Options) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	df, name, err := readDockerfile(&o)
	if err != nil {
		return nil, err
	}
	var tags []reference.Tagged
	for _, t := range o.Tags {
		r, err := reference.ParseTagged(t)
		if err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", t, err)
		}
		tags = append(tags, r)
	}
	prog := newProgress(o.Progress, o.ProgressMode)
	defer prog.close()
	v := prog.start("[internal] load build definition from " + name)
	v.status("transferring dockerfile: %dB", len(df))
	plan, err := ParsePlan(df, PlanOptions{Name: name, BuildArgs: o.BuildArgs, Target: o.Target, Platform: o.Platform})
	if err != nil {
		v.fail(err)
		return nil, err
	}
	v.done()
	v = prog.start("[internal] load .dockerignore")
	ignore, _, err := loadIgnore(o.ContextDir, o.DockerfilePath)
	if err != nil {
		v.fail(err)
		return nil, err
	}
	v.done()
	// As BuildKit: with error=true in the check configuration, a finding fails the build before
	// any step runs. The warnings shown at the end are checked again once the base images are
	// in the store (their environment scopes UndefinedVar).
	co, err := checkOptions(s, o, name, ignore, false)
	if err != nil {
		return nil, err
	}
	if cr, err := analysis.CheckDockerfile(df, co); err != nil {
		return nil, err // a malformed "# check=" directive fails the build, as in BuildKit
	} else if cr.Err != nil {
		return &Result{Warnings: cr.BuildWarnings()}, cr.Err
	}
	warnings := func() []analysis.Finding {
		if cr, err := analysis.CheckDockerfile(df, co); err == nil {
			return cr.BuildWarnings()
		}
		return nil
	}

	for _, ref := range o.CacheFrom {
		v := prog.start("importing cache manifest from " + ref)
		if err := importCache(ctx, s, o, ref); err != nil {
			v.log("WARNING: cache %s not imported: %v", ref, err)
		}
		v.done()
	}
	for _, dir := range o.CacheFromDirs {
		v := prog.start("importing cache manifest from " + dir)
		if err := importLocalCache(s, dir); err != nil {
			v.log("WARNING: cache %s not imported: %v", dir, err)
		}
		v.done()
	}
	// What an earlier build killed in a RUN left on the host (mounts, network, processes), and
	// the scratch directories of killed builds.
	ctrs := container.New(s)
	if err := ctrs.SweepInterrupted(); err != nil {
		v := prog.start("[internal] clean up after an interrupted build")
		v.log("WARNING: %v", err)
		v.done()
	}
	// Scratch space under the root, claimed, so that a build killed with SIGKILL leaves nothing
	// that the next build (or container prune) does not remove.
	tmp, releaseTmp, err := ctrs.ClaimBuildTemp()
	if err != nil {
		return nil, err
	}
	defer releaseTmp()
	release, err := s.BeginWrite()
	if err != nil {
		return nil, err
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()

	v = prog.start("[internal] load build context")
	v.done()
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, empty: empty, s: s, o: o, plan: plan, ignore: ignore,
		ctxView: &view{dirs: []string{o.ContextDir}}, tmp: tmp, prog: prog,
		states: make([]*state, len(plan.Stages)), images: map[string]*state{}, now: time.Now().UTC(),
		sums: loadSums(filepath.Join(s.Root, sumsFile))}
	defer b.sums.save()
	if err := b.runStages(); err != nil {
		return &Result{Warnings: warnings()}, err
	}
	var res *Result
	if o.Output != nil {
		// As BuildKit's -o: the files go out, and no image is made.
		res, err = &Result{}, b.exportFiles(b.states[plan.Target], o.Output)
	} else {
		res, err = b.export(b.states[plan.Target], tags)
	}
	if res == nil {
		res = &Result{}
	}
	res.Warnings = warnings()
	if err != nil || len(o.CacheTo)+len(o.CacheToDirs) == 0 {
		return res, err
	}
	release()
	released = true
	for _, ref := range o.CacheTo {
		v := prog.start("exporting cache to " + ref)
		if err := exportCache(ctx, s, o, b.states[plan.Target], ref); err != nil {
			err = fmt.Errorf("exporting cache to %s: %w", ref, err)
			v.fail(err)
			return res, err
		}
		v.done()
	}
	for _, dir := range o.CacheToDirs {
		v := prog.start("exporting cache to " + dir)
		if err := exportLocalCache(s, b.states[plan.Target], dir); err != nil {
			err = fmt.Errorf("exporting cache to %s: %w", dir, err)
			v.fail(err)
			return res, err
		}
		v.done()
	}
	return res, nil
}

var errDependency = errors.New("a stage this one needs failed")

// runStages runs every stage the target needs, each as soon as the stages it depends on are done,
// so independent stages run concurrently. The error reported is the first failed stage's.
func (b *builder) runStages() error {
	n := len(b.plan.Stages)
	if b.prog.classic() {
		// The classic builder runs the stages one after the other, in the Dockerfile's order and
		// up to the target, needed or not: its "Step N/M" lines follow one another.
		for i := 0; i <= b.plan.Target && i < n; i++ {
			if err := b.runStage(i); err != nil {
				return err
			}
		}
		return nil
	}
	done := make([]chan struct{}, n)
	errs := make([]error, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if !b.plan.Needed[i] {
			close(done[i])
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer close(done[i])
			for _, d := range b.plan.Deps[i] {
				<-done[d]
				if errs[d] != nil {
					errs[i] = errDependency
					return
				}
			}
			errs[i] = b.runStage(i)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && err != errDependency {
			return err
		}
	}
	return nil
}

func (b *builder) stageErr(cmd interface{ Location() []parser.Range }, f string, args ...any) error {
	return b.plan.errAt(lineOf(cmd.Location()), f, args...)
}

// imageState loads an image (by reference, or "scratch") for platform plat as the state a stage
// starts from; pull fetches it first (--pull). An image missing from the store, or there for
// another platform, is pulled for plat when Options.Pull allows; an image for another platform
// is never used.
//
// The store keeps one image per name, as Docker 20.10's classic image store does: pulling base:1
// for linux/arm64 while base:1 names the linux/amd64 image moves the name (and the repo digest)
// to the arm64 image; the amd64 image stays in the store without that name (dangling unless
// another name keeps it) until it is removed or pruned, and pulling it again only moves the name
// back (its layers are there). A build whose stages want two platforms of one name moves the
// name back and forth; each stage keeps the image ID it resolved, so the build is not affected.
func (b *builder) imageState(ref string, pull bool, plat platformArgs) (*state, error) {
	if ref == "scratch" {
		created := time.Time{}
		return &state{cfg: image.Config{Architecture: plat.Arch, OS: plat.OS, Variant: plat.Variant,
			Config: &image.ContainerConfig{}, Created: &created, RootFS: image.RootFS{Type: "layers"}},
			key: digestOf("scratch\x00" + plat.String()), plat: plat}, nil
	}
	var id string
	var err error
	if !pull {
		id, err = b.s.Resolve(ref)
	}
	var img *image.Image
	switch {
	case err == nil && !pull:
		if img, err = b.s.Get(id); err != nil {
			return nil, err
		}
		if have := image.PlatformOf(img.Config); !plat.image().Runs(have) {
			mismatch := platformMismatch(ref, plat, have)
			if b.o.Pull == nil {
				return nil, mismatch
			}
			img = nil
			if id, err = b.o.Pull(b.ctx, ref, plat.String()); err != nil {
				if strings.Contains(err.Error(), "does not match the specified platform") {
					return nil, err
				}
				return nil, fmt.Errorf("%v, and pulling it for %s failed: %w", mismatch, plat, err)
			}
		}
	case pull || errors.Is(err, image.ErrNoSuchImage):
		if b.o.Pull == nil {
			if err == nil {
				err = image.NotFoundError{Ref: ref}
			}
			return nil, err
		}
		id, err = b.o.Pull(b.ctx, ref, plat.String())
		if err != nil && !pull {
			err = fmt.Errorf("No such image: %s, and pulling it failed: %w", ref, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if img == nil {
		if img, err = b.s.Get(id); err != nil {
			return nil, err
		}
		if have := image.PlatformOf(img.Config); !plat.image().Runs(have) {
			return nil, platformMismatch(ref, plat, have)
		}
	}
	// The platform is part of the key: a build for linux/arm64 never reuses linux/amd64 steps.
	st := &state{cfg: *img.Config, key: digestOf("image\x00" + id + "\x00" + plat.String()), newHist: len(img.Config.History), plat: plat, imageID: id}
	cc := image.ContainerConfig{}
	if img.Config.Config != nil {
		cc = *img.Config.Config
	}
	st.cfg.Config = &cc
	// BuildKit keeps no base image's comment: `inspect` then shows the last history entry's,
	// buildkit.dockerfile.v0 for a built image.
	st.cfg.Comment = ""
	st.cfg.History = append([]image.History(nil), img.Config.History...)
	chains := image.ChainIDs(img.Config.RootFS.DiffIDs)
	if len(chains) != len(img.Manifest.Layers) {
		return nil, fmt.Errorf("image %s: %d layers in the manifest, %d in the config", ref, len(img.Manifest.Layers), len(chains))
	}
	for i, c := range chains {
		size, _ := b.s.RecordedLayer(c)
		st.layers = append(st.layers, layerRef{desc: img.Manifest.Layers[i], diffID: img.Config.RootFS.DiffIDs[i], chain: c, size: size})
	}
	return st, nil
}

// platformMismatch is Docker's error for an image of another platform than the one asked for.
func platformMismatch(ref string, want platformArgs, have image.Platform) error {
	return fmt.Errorf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", ref, want, have)
}

// builtImage is the image of st's layers with config cfg (whose diff IDs it fills), named tags.
func (st *state) builtImage(cfg image.Config, tags []reference.Tagged) image.BuiltImage {
	bi := image.BuiltImage{Config: &cfg, Tags: tags}
	cfg.RootFS = image.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}
	for _, l := range st.layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.diffID)
		bi.Layers = append(bi.Layers, image.LayerRecord{DiffID: l.diffID, Size: l.size})
		bi.Blobs = append(bi.Blobs, l.desc)
	}
	return bi
}

func digestOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (st *state) clone() *state {
	n := *st
	cc := *st.cfg.Config
	n.cfg.Config = &cc
	n.cfg.History = append([]image.History(nil), st.cfg.History...)
	n.layers = append([]layerRef(nil), st.layers...)
	n.env = append([]string(nil), st.env...)
	n.histTime = append([]time.Time(nil), st.histTime...)
	n.steps = append([]metadata.CacheEntry(nil), st.steps...)
	return &n
}

// stepCount is how many progress steps a stage has: FROM and every command that may write a layer.
func stepCount(cmds []instructions.Command) int {
	n := 1
	for _, c := range cmds {
		switch c.(type) {
		case *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand, *instructions.RunCommand:
			n++
		}
	}
	return n
}

func (b *builder) runStage(i int) error {
	stage := b.plan.Stages[i]
	var st *state
	var err error
	fromName := b.plan.Bases[i]
	baseID, fromImage := "", false
	if j := b.plan.BaseIdx[i]; j >= 0 {
		st = b.states[j].clone()
	} else {
		v := b.prog.start("[internal] load metadata for " + displayRef(fromName))
		st, err = b.imageState(fromName, b.o.AlwaysPull && fromName != "scratch", b.plan.Platforms[i])
		if err != nil {
			err = b.stageErr(&stageLoc{stage.Location}, "FROM %s: %v", fromName, err)
			v.fail(err)
			return err
		}
		v.done()
		baseID, fromImage = st.imageID, true
	}
	st.stage = i
	st.plat = b.plan.Platforms[i]
	if b.plan.BaseIdx[i] >= 0 {
		// A stage FROM a stage inherits its ARGs, as BuildKit's does its base's state and build
		// args: their values stay in the environment of what follows (the image's Env over
		// them) and RUN's history lists them.
		for _, e := range st.cfg.Config.Env {
			k, v, _ := strings.Cut(e, "=")
			st.env = setEnv(st.env, k, v)
		}
	} else {
		st.args = nil
		st.env = append([]string(nil), st.cfg.Config.Env...)
	}
	st.cmdSet = false
	if !hasEnv(st.cfg.Config.Env, "PATH") {
		st.cfg.Config.Env = append([]string{DefaultPathEnv}, st.cfg.Config.Env...)
		st.env = append([]string{DefaultPathEnv}, st.env...)
	}
	cmds := stage.Commands
	nTriggers := 0 // the ONBUILD triggers in front of cmds, which are no instruction of the Dockerfile
	// ONBUILD triggers of the base run first, and are not inherited: those of an image, and
	// those of an earlier stage this one is FROM (BuildKit runs both).
	if triggers := st.cfg.Config.OnBuild; len(triggers) > 0 {
		var pre []instructions.Command
		for _, t := range triggers {
			res, err := parser.Parse(strings.NewReader(t))
			if err != nil {
				return b.stageErr(&stageLoc{stage.Location}, "ONBUILD trigger %q: %v", t, err)
			}
			for _, n := range res.AST.Children {
				c, err := instructions.ParseCommand(n)
				if err != nil {
					return b.stageErr(&stageLoc{stage.Location}, "ONBUILD trigger %q: %v", t, err)
				}
				pre = append(pre, c)
			}
		}
		cmds = append(pre, cmds...)
		nTriggers = len(pre)
	}
	st.cfg.Config.OnBuild = nil

	total := stepCount(cmds)
	label := stepLabel(b.plan.StageName(i), total)
	idx := 1
	first, all := b.classicNumbers(i)
	b.prog.instruction(first, all, stage.SourceCode)
	if fromImage {
		// A stage FROM an earlier one has no image ID to show: berth records none for it.
		b.prog.baseImage(baseID)
	}
	v := b.prog.start(label(idx) + " FROM " + displayRef(fromName))
	v.done()
	for k, c := range cmds {
		if err := b.ctx.Err(); err != nil {
			return err // interrupted: no further step starts
		}
		if k >= nTriggers {
			b.prog.instruction(first+1+k-nTriggers, all, text(c))
		}
		switch c.(type) {
		case *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand, *instructions.RunCommand:
			idx++
			err = b.layerStep(st, c, label(idx))
		default:
			if err = b.metaStep(st, c); err == nil && b.prog.classic() {
				err = b.classicMeta(st, c)
			}
		}
		if err != nil {
			return err
		}
	}
	b.states[i] = st
	return nil
}

// classicNumbers are the classic builder's step number of stage i's FROM and the number of
// instructions in the Dockerfile: it numbers every instruction, across stages.
func (b *builder) classicNumbers(i int) (first, total int) {
	for j, st := range b.plan.Stages {
		if j == i {
			first = total + 1
		}
		total += 1 + len(st.Commands)
	}
	return first, total
}

// classicMeta gives a metadata instruction (ENV, LABEL, CMD...) the cache entry of its own that
// the classic builder has for it (there, an image per instruction): found, the step shows
// " ---> Using cache"; else it is recorded for the next build. The entry is keyed by the step
// before and the metadata instructions since, and has no layer; the keys of the layer steps
// are left as they are, so BuildKit-style builds of the same Dockerfile share their cache.
func (b *builder) classicMeta(st *state, c instructions.Command) error {
	if st.metaFor != st.key {
		st.metaFor, st.metaTrail = st.key, ""
	}
	// The instruction and the environment after it: an ARG given another value is another step.
	st.metaTrail += "\x00" + text(c) + "\x00" + strings.Join(st.env, "\x00")
	key := digestOf(st.key + "\x00classic-meta" + st.metaTrail)
	if !b.o.NoCache {
		if _, ok := b.lookup(key, st, nil); ok {
			b.prog.metaCached()
			return nil
		}
	}
	_, err := b.record(st, nil, key, text(c))
	return err
}

type stageLoc struct{ r []parser.Range }

func (s *stageLoc) Location() []parser.Range { return s.r }

func stepLabel(stage string, total int) func(int) string {
	w := len(fmt.Sprint(total))
	return func(i int) string {
		pre := ""
		if stage != "" {
			pre = stage + " "
		}
		return fmt.Sprintf("[%s%*d/%d]", pre, w, i, total)
	}
}

func displayRef(r string) string {
	if r == "scratch" {
		return r
	}
	if n, err := reference.Parse(r); err == nil {
		return reference.WithDefaultTag(n).String()
	}
	return r
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); shell.EqualEnvKeys(ek, k) {
			return true
		}
	}
	return false
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); shell.EqualEnvKeys(ek, k) {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// envGetter is the stage's variables, for expansion.
func (b *builder) envGetter(st *state) envGetter {
	env := envGetter{}
	for _, e := range st.env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	return env
}

// expander expands words with the stage's variables.
func (b *builder) expander(st *state) instructions.SingleWordExpander {
	env := b.envGetter(st)
	return func(word string) (string, error) {
		r, _, err := shell.NewLex(b.plan.Escape).ProcessWord(word, env)
		return r, err
	}
}

func (b *builder) expand(st *state, c instructions.Command) error {
	if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(b.expander(st)); err != nil {
			return b.stageErr(c, "%v", err)
		}
	}
	return nil
}

// history appends an entry made by this build.
func (st *state) history(createdBy string, empty bool) {
	st.cfg.History = append(st.cfg.History, image.History{CreatedBy: createdBy, Comment: historyComment, EmptyLayer: empty})
	st.histTime = append(st.histTime, time.Time{})
}

func withShell(cc *image.ContainerConfig, args []string) []string {
	sh := cc.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), sh...), strings.Join(args, " "))
}

// metaStep runs an instruction that only changes the config.
func (b *builder) metaStep(st *state, c instructions.Command) error {
	if _, ok := c.(*instructions.ArgCommand); !ok {
		if err := b.expand(st, c); err != nil {
			return err
		}
	}
	cc := st.cfg.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		var parts []string
		for _, kv := range c.Env {
			cc.Env = setEnv(cc.Env, kv.Key, kv.Value)
			st.env = setEnv(st.env, kv.Key, kv.Value)
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		st.history("ENV "+strings.Join(parts, " "), true)
	case *instructions.ArgCommand:
		var parts []string
		exp := b.expander(st)
		for _, kv := range c.Args {
			key := kv.Key
			var val *string
			if kv.Value != nil {
				x, err := exp(*kv.Value)
				if err != nil {
					return b.stageErr(c, "%v", err)
				}
				val = &x
			} else if g, ok := b.plan.Global[key]; ok {
				if _, isMeta := b.metaArg(key); isMeta || isPredefined(key) {
					val = &g
				}
			}
			if v, ok := b.o.BuildArgs[key]; ok {
				val = &v
			}
			s := key
			if !slices.Contains(st.args, key) {
				st.args = append(st.args, key)
			}
			if val != nil {
				s += "=" + *val
				// The value is in the environment of what follows (RUN, expansion) even when
				// an ENV set the name before: BuildKit adds it to the state's environment
				// (ENV wins only when it comes after). The image's Env keeps the ENV's value.
				st.env = setEnv(st.env, key, *val)
			}
			parts = append(parts, s)
		}
		st.history("ARG "+strings.Join(parts, " "), true)
	case *instructions.LabelCommand:
		if cc.Labels == nil {
			cc.Labels = map[string]string{}
		}
		var parts []string
		for _, kv := range c.Labels {
			cc.Labels[kv.Key] = kv.Value
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		st.history("LABEL "+strings.Join(parts, " "), true)
	case *instructions.MaintainerCommand:
		st.cfg.Author = c.Maintainer
		st.history("MAINTAINER "+c.Maintainer, true)
	case *instructions.ExposeCommand:
		ports := map[string]struct{}{}
		for _, p := range c.Ports {
			// Expanded into words, as BuildKit does: EXPOSE $PORTS with PORTS="80 53/udp"
			// exposes two ports.
			words, err := shell.NewLex(b.plan.Escape).ProcessWords(p, b.envGetter(st))
			if err != nil {
				return b.stageErr(c, "%v", err)
			}
			for _, w := range words {
				ps, err := parsePorts(w)
				if err != nil {
					return b.stageErr(c, "%v", err)
				}
				for _, x := range ps {
					ports[x] = struct{}{}
				}
			}
		}
		if cc.ExposedPorts == nil {
			cc.ExposedPorts = map[string]struct{}{}
		}
		for p := range ports {
			cc.ExposedPorts[p] = struct{}{}
		}
		st.history(fmt.Sprintf("EXPOSE %v", ports), true)
	case *instructions.VolumeCommand:
		if cc.Volumes == nil {
			cc.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if strings.TrimSpace(v) == "" {
				return b.stageErr(c, "VOLUME specified can not be an empty string")
			}
			cc.Volumes[v] = struct{}{}
		}
		st.history(fmt.Sprintf("VOLUME %v", c.Volumes), true)
	case *instructions.UserCommand:
		cc.User = c.User
		st.history("USER "+c.User, true)
	case *instructions.StopSignalCommand:
		cc.StopSignal = c.Signal
		st.history("STOPSIGNAL "+c.Signal, true)
	case *instructions.ShellCommand:
		cc.Shell = append([]string(nil), c.Shell...)
		st.history(fmt.Sprintf("SHELL %v", c.Shell), true)
	case *instructions.OnbuildCommand:
		// No history entry: BuildKit writes none for ONBUILD.
		cc.OnBuild = append(cc.OnBuild, c.Expression)
	case *instructions.CmdCommand:
		args := c.CmdLine
		if c.PrependShell {
			args = withShell(cc, args)
		}
		cc.Cmd = append([]string(nil), args...)
		cc.ArgsEscaped = true
		st.cmdSet = true
		st.history(fmt.Sprintf("CMD %q", args), true)
	case *instructions.EntrypointCommand:
		args := c.CmdLine
		if c.PrependShell {
			args = withShell(cc, args)
		}
		cc.Entrypoint = append([]string(nil), args...)
		cc.ArgsEscaped = true
		if !st.cmdSet {
			cc.Cmd = nil
		}
		st.history(fmt.Sprintf("ENTRYPOINT %q", args), true)
	case *instructions.HealthCheckCommand:
		h := c.Health
		cc.Healthcheck = &image.HealthConfig{Test: append([]string(nil), h.Test...), Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
		// BuildKit (v0.34) prints its HealthcheckConfig value with %+v. Spelled out here, so
		// that a field added to image.HealthConfig cannot change history. (v0.8, in Docker
		// 20.10, printed a pointer to a four-field struct with %q: &{["CMD" "x"] "5s" ...}.)
		st.history(fmt.Sprintf("HEALTHCHECK {Test:%v Interval:%v Timeout:%v StartPeriod:%v StartInterval:%v Retries:%d}",
			h.Test, h.Interval, h.Timeout, h.StartPeriod, h.StartInterval, h.Retries), true)
	default:
		return b.stageErr(c, "%s is not supported", strings.ToUpper(c.Name()))
	}
	return nil
}

func (b *builder) metaArg(k string) (string, bool) {
	for _, ma := range b.plan.MetaArgs {
		for _, kv := range ma.Args {
			if kv.Key == k {
				return b.plan.Global[k], true
			}
		}
	}
	return "", false
}

func isPredefined(k string) bool {
	switch k {
	case "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT":
		return true
	}
	return false
}

// parsePorts turns "80", "53/udp", "8000-8002/tcp" into Docker's "port/proto" keys.
func parsePorts(s string) ([]string, error) {
	port, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	lo, hi, isRange := strings.Cut(port, "-")
	var a, z int
	if _, err := fmt.Sscanf(lo, "%d", &a); err != nil || fmt.Sprint(a) != lo || a < 0 || a > 65535 {
		return nil, fmt.Errorf("invalid containerPort: %s", port)
	}
	z = a
	if isRange {
		if _, err := fmt.Sscanf(hi, "%d", &z); err != nil || fmt.Sprint(z) != hi || z < a || z > 65535 {
			return nil, fmt.Errorf("invalid range specified for container: %s", port)
		}
	}
	var out []string
	for p := a; p <= z; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// workdirJoin resolves a path against the current working directory.
func workdirJoin(cur, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	if cur == "" {
		cur = "/"
	}
	return path.Join(cur, p)
}

// layerStep runs a step that may write a layer, through the cache.
func (b *builder) layerStep(st *state, c instructions.Command, label string) error {
	shown := text(c)
	if x, err := b.expander(st)(shown); err == nil {
		shown = x
	}
	if rc, ok := c.(*instructions.RunCommand); ok {
		return b.runStep(st, rc, label)
	}
	if err := b.expand(st, c); err != nil {
		return err
	}
	cc := st.cfg.Config
	var (
		desc      string // what progress and the cache entry show
		createdBy string
		w         *layerWriter
		keyExtra  string
		deferred  func() error // work left for a cache miss
	)
	base := st.view(b.s, b.empty)
	now := b.now
	if b.o.SourceDateEpoch != nil {
		now = *b.o.SourceDateEpoch
	}
	switch c := c.(type) {
	case *instructions.WorkdirCommand:
		wd := workdirJoin(cc.WorkingDir, c.Path)
		cc.WorkingDir = wd
		desc, createdBy = "WORKDIR "+wd, "WORKDIR "+wd
		uid, gid := 0, 0
		if cc.User != "" {
			uid, gid, _ = ids(base, cc.User)
		}
		// WORKDIR / is the one WORKDIR without a layer (BuildKit makes no mkdir for it).
		if wd != "/" {
			w = newLayerWriter(base, now, b.o.SourceDateEpoch, uid, gid)
			if rd, err := base.resolve(wd, true); err == nil && !w.baseIsDir(rd) {
				w.mkdirAll(rd)
			}
		}
		keyExtra = fmt.Sprintf("workdir\x00%s\x00%d:%d", wd, uid, gid)
	case *instructions.CopyCommand, *instructions.AddCommand:
		spec, hist, err := b.copySpec(st, base, c)
		if err != nil {
			v := b.prog.start(label + " " + shown)
			v.fail(err)
			return err
		}
		desc = shown
		createdBy = hist + " # buildkit"
		var wbase *view
		if !linkOf(c) {
			wbase = base
		}
		w = newLayerWriter(wbase, now, b.o.SourceDateEpoch, spec.uid, spec.gid)
		w.sums = b.sums
		collect := func() error {
			if err := spec.collect(w); err != nil {
				return b.stageErr(c, "%s: %v", text(c), err)
			}
			return nil
		}
		if spec.srcKey != "" {
			// Files of a stage or image are fixed by its cache key: no need to read them to
			// know whether the step is cached; they are read only on a miss.
			keyExtra = fmt.Sprintf("copyfrom\x00%s\x00%s\x00%s\x00%t", shown, hist, spec.srcKey, linkOf(c))
			deferred = collect
			break
		}
		if err := collect(); err != nil {
			b.prog.start(label + " " + shown).fail(err)
			return err
		}
		sum, err := w.checksum()
		if err != nil {
			return b.stageErr(c, "%s: %v", text(c), err)
		}
		keyExtra = fmt.Sprintf("copy\x00%s\x00%s\x00%s\x00%t", shown, hist, sum, linkOf(c))
	}
	// With SOURCE_DATE_EPOCH the layer's times differ, so it is another cache entry.
	epoch := ""
	if b.o.SourceDateEpoch != nil {
		epoch = fmt.Sprint(b.o.SourceDateEpoch.Unix())
	}
	key := digestOf(st.key + "\x00" + epoch + "\x00" + keyExtra)
	v := b.prog.start(label + " " + shown)
	if !b.o.NoCache {
		// An entry without a layer for a step that has one was recorded when berth dropped
		// empty layers: a miss, made again.
		if e, ok := b.lookup(key, st, v); ok && (e.ChainID != "" || w == nil) {
			b.apply(st, e, createdBy)
			st.key = key
			v.cached()
			return nil
		}
	}
	if deferred != nil {
		if err := deferred(); err != nil {
			v.fail(err)
			return err
		}
	}
	e, err := b.commit(st, w, key, desc)
	if err != nil {
		err = b.stageErr(c, "%s: %v", text(c), err)
		v.fail(err)
		return err
	}
	b.apply(st, e, createdBy)
	st.key = key
	v.done()
	return nil
}

func linkOf(c instructions.Command) bool {
	switch c := c.(type) {
	case *instructions.CopyCommand:
		return c.Link
	case *instructions.AddCommand:
		return c.Link
	}
	return false
}

// copySpec expands a COPY/ADD into what to copy, and the text history shows.
func (b *builder) copySpec(st *state, base *view, c instructions.Command) (*copySpec, string, error) {
	spec := &copySpec{ctx: b.ctx, tmp: b.tmp, src: b.ctxView, isContext: true, ignore: b.ignore}
	var sd instructions.SourcesAndDest
	var chown, chmod, from string
	var excludes []string
	name := "COPY"
	switch c := c.(type) {
	case *instructions.CopyCommand:
		sd, chown, chmod, from, excludes = c.SourcesAndDest, c.Chown, c.Chmod, c.From, c.ExcludePatterns
		spec.parents = c.Parents
	case *instructions.AddCommand:
		sd, chown, chmod, excludes = c.SourcesAndDest, c.Chown, c.Chmod, c.ExcludePatterns
		spec.add, spec.checksum, name = true, c.Checksum, "ADD"
		if spec.checksum != "" {
			if _, err := digest.Parse(spec.checksum); err != nil {
				return nil, "", b.stageErr(c, "invalid checksum %q: %v", spec.checksum, err)
			}
		}
	}
	for _, sc := range sd.SourceContents {
		data := sc.Data
		if sc.Expand {
			x, err := b.expander(st)(data)
			if err != nil {
				return nil, "", b.stageErr(c, "%v", err)
			}
			data = x
		}
		spec.contents = append(spec.contents, heredoc{name: sc.Path, data: data})
	}
	spec.srcs = sd.SourcePaths
	spec.rawDest = sd.DestPath
	spec.dest = workdirJoin(st.cfg.Config.WorkingDir, sd.DestPath)
	// The destination is reached through the image's symlinks (/lib -> usr/lib), never replacing them.
	if rd, err := base.resolve(spec.dest, true); err == nil {
		spec.dest = rd
	}
	if from != "" {
		fromExp, _, err := shell.NewLex(b.plan.Escape).ProcessWord(from, envGetter(b.plan.Global))
		if err != nil {
			return nil, "", b.stageErr(c, "%v", err)
		}
		j, isStage, err := b.plan.stageRef(fromExp, st.stage)
		if err != nil {
			return nil, "", b.stageErr(c, "%v", err)
		}
		var src *state
		if isStage {
			src = b.states[j]
		} else {
			b.mu.Lock()
			src = b.images[fromExp]
			b.mu.Unlock()
			if src == nil {
				// An image named by --from is for the build's target platform, as in BuildKit.
				src, err = b.imageState(fromExp, false, b.plan.Platform)
				if err != nil {
					return nil, "", b.stageErr(c, "%s: --from=%s is neither a stage of this Dockerfile nor an image: %v", text(c), fromExp, err)
				}
				b.mu.Lock()
				b.images[fromExp] = src
				b.mu.Unlock()
			}
		}
		spec.src, spec.isContext, spec.ignore, spec.srcKey = src.view(b.s, b.empty), false, nil, src.key
	}
	if len(excludes) > 0 {
		pm, err := patternmatcher.New(excludes)
		if err != nil {
			return nil, "", b.stageErr(c, "invalid --exclude: %v", err)
		}
		spec.exclude = pm
	}
	m, err := parseChmod(chmod)
	if err != nil {
		return nil, "", b.stageErr(c, "%v", err)
	}
	spec.chmod = m
	if chown != "" {
		spec.chown = true
		spec.uid, spec.gid, err = ids(base, chown)
		if err != nil {
			return nil, "", b.stageErr(c, "%s: %v", text(c), err)
		}
	}
	histText := name + " " + strings.Join(append(append([]string(nil), sd.SourcePaths...), sd.DestPath), " ")
	return spec, histText, nil
}

// lookup finds the cached result of a step with key on top of st. A hit must stand on the same
// parent layer: an earlier step rebuilt (--no-cache, or a killed build that recorded only some
// steps) gives the key of every later step a new parent, and reusing the old result would make an
// image whose chain IDs name layers that were never unpacked. A hit whose layer or blob is gone
// from the store (removed by hand, a damaged root) is a miss too, rebuilt with a warning on v.
func (b *builder) lookup(key string, st *state, v *vertex) (metadata.CacheEntry, bool) {
	var e metadata.CacheEntry
	err := b.s.DB.View(func(tx *metadata.Tx) error {
		var err error
		e, err = tx.CacheLookup(key)
		return err
	})
	if err != nil {
		return e, false
	}
	if e.ParentChain != st.chain().String() {
		return e, false
	}
	if e.ChainID != "" {
		chain := digest.Digest(e.ChainID)
		if image.ChainID(st.chain(), digest.Digest(e.DiffID)) != chain {
			return e, false
		}
		if !b.s.Layers.Exists(chain) || !b.s.Content.Has(digest.Digest(e.Blob)) {
			what := "layer " + e.ChainID
			if b.s.Layers.Exists(chain) {
				what = "blob " + e.Blob
			}
			v.log("WARNING: the cached result of this step is incomplete (%s is missing from the store): rebuilding it", what)
			return e, false
		}
	}
	b.mu.Lock()
	b.usedKeys = append(b.usedKeys, key)
	b.mu.Unlock()
	return e, true
}

// commit writes a step's layer and records it in the cache. A step that changed nothing still
// has a layer, an empty tar, as in BuildKit (WORKDIR of an existing directory, COPY of a
// wildcard that matched nothing); only a nil w (WORKDIR /) makes none.
func (b *builder) commit(st *state, w *layerWriter, key, desc string) (metadata.CacheEntry, error) {
	var layer io.Reader
	if w != nil {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(w.writeTo(pw)) }()
		defer pr.Close()
		layer = pr
	}
	return b.record(st, layer, key, desc)
}

// record stores a step's layer tar (nil when the step made none) on top of the state's layers and
// records the step in the cache, with the layer known to the store like any unpacked layer (its
// size and parent). COPY/ADD and RUN both end here.
func (b *builder) record(st *state, layer io.Reader, key, desc string) (metadata.CacheEntry, error) {
	created := b.now
	if b.o.SourceDateEpoch != nil {
		created = *b.o.SourceDateEpoch
	}
	e := metadata.CacheEntry{Key: key, ParentChain: st.chain().String(), Created: created, LastUsed: time.Now(), Description: desc}
	if layer != nil {
		l, err := b.s.IngestLayer(image.LayerSource{R: layer, Size: -1, Recompress: true}, st.chain())
		if err != nil {
			return e, err
		}
		e.ChainID, e.DiffID, e.Blob, e.MediaType, e.BlobSize, e.Size = l.ChainID.String(), l.DiffID.String(),
			l.Blob.Digest.String(), l.Blob.MediaType, l.Blob.Size, l.Size
	}
	err := b.s.DB.Update(func(tx *metadata.Tx) error {
		if e.ChainID != "" {
			if err := tx.PutLayer(metadata.Layer{ChainID: e.ChainID, DiffID: e.DiffID, Parent: e.ParentChain, Size: e.Size}); err != nil {
				return err
			}
		}
		return tx.PutCache(e)
	})
	return e, err
}

// apply adds a step's result to the state.
func (b *builder) apply(st *state, e metadata.CacheEntry, createdBy string) {
	st.steps = append(st.steps, e)
	st.history(createdBy, e.ChainID == "")
	if e.ChainID == "" {
		return
	}
	st.histTime[len(st.histTime)-1] = e.Created
	st.layers = append(st.layers, layerRef{
		desc:   image.Descriptor{MediaType: e.MediaType, Digest: digest.Digest(e.Blob), Size: e.BlobSize},
		diffID: digest.Digest(e.DiffID), chain: digest.Digest(e.ChainID), size: e.Size,
	})
	st.cfg.RootFS.DiffIDs = append(append([]digest.Digest(nil), st.cfg.RootFS.DiffIDs...), digest.Digest(e.DiffID))
}

// export records the target stage as an image with its names.
func (b *builder) export(st *state, tags []reference.Tagged) (*Result, error) {
	v := b.prog.start("exporting to image")
	cfg := st.cfg
	cc := *cfg.Config
	cfg.Config = &cc
	if len(b.o.Labels) > 0 {
		labels := map[string]string{}
		for k, val := range cc.Labels {
			labels[k] = val
		}
		for k, val := range b.o.Labels {
			labels[k] = val
		}
		cc.Labels = labels
	}
	// History times: a layer's is when it was built; an entry without a layer takes the time of
	// the next layer this build added, or of the last one (as BuildKit's exporter does).
	times := st.histTime
	var last time.Time
	for _, t := range times {
		if !t.IsZero() {
			last = t
		}
	}
	if last.IsZero() {
		last = b.now
		if b.o.SourceDateEpoch != nil {
			last = *b.o.SourceDateEpoch
		}
	}
	hist := append([]image.History(nil), cfg.History...)
	next := last
	for i := len(times) - 1; i >= 0; i-- {
		t := times[i]
		if t.IsZero() {
			t = next
		} else {
			next = t
		}
		if b.o.SourceDateEpoch != nil {
			t = *b.o.SourceDateEpoch
		}
		tt := t.UTC()
		hist[st.newHist+i].Created = &tt
	}
	cfg.History = hist
	created := last.UTC()
	cfg.Created = &created
	cfg.Container, cfg.ContainerConfig, cfg.DockerVersion, cfg.Parent = "", nil, "", ""
	if b.plan.Explicit {
		// As BuildKit: with --platform the image is for the target platform whatever its last
		// stage was FROM; a variant the base image had survives when the target names none.
		tp := b.plan.Platform
		same := cfg.OS == tp.OS && cfg.Architecture == tp.Arch
		cfg.OS, cfg.Architecture = tp.OS, tp.Arch
		if tp.Variant != "" || !same {
			cfg.Variant = tp.Variant
		}
	}
	cfg.BuildCache = ""
	if b.o.InlineCache {
		list, err := cacheSteps(st)
		if err != nil {
			v.fail(err)
			return nil, err
		}
		cfg.BuildCache = list
	}
	built := st.builtImage(cfg, tags)
	if err := b.s.DB.Update(func(tx *metadata.Tx) error { return tx.TouchCache(time.Now(), b.usedKeys...) }); err != nil {
		v.fail(err)
		return nil, err
	}
	v.status("exporting layers")
	id, err := b.s.PutBuilt(built)
	if err != nil {
		v.fail(err)
		return nil, err
	}
	v.status("writing image %s", id)
	res := &Result{ImageID: id}
	for _, t := range tags {
		v.status("naming to %s", t.String())
		res.Tags = append(res.Tags, reference.Familiar(t))
	}
	v.done()
	return res, nil
}

func readIgnore(b []byte) ([]string, error) {
	return ignorefile.ReadAll(bytes.NewReader(b))
}

// text is an instruction as written in the Dockerfile.
func text(c any) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return ""
}

// ExtractContext unpacks a build context sent as a tar (plain or compressed: gzip, bzip2, xz,
// zstd) into dir, as `build -` and the Engine API's POST /build receive it.
func ExtractContext(r io.Reader, dir string) error {
	plain, _, err := archive.DecompressStream(bufio.NewReader(r))
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	defer plain.Close()
	if _, err := archive.Apply(dir, plain, archive.ApplyOptions{Whiteout: archive.WhiteoutApply, BestEffortXattrs: true}); err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	return nil
}

// FetchContext downloads a build context from an http(s) URL (a tar) into dir.
func FetchContext(ctx context.Context, url, dir string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unable to prepare context: %s: %s", url, resp.Status)
	}
	return ExtractContext(resp.Body, dir)
}
