package compose

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
	"github.com/distribution/reference"
)

// Event is one step of a compose command on one object, as Docker Compose reports it: Kind is
// "Container", "Network", "Volume" or "Image"; Status "Creating", "Created", "Started",
// "Healthy"...
type Event struct {
	Kind, Name, Status string
	// Err marks a failure (Status is then the error's text).
	Err bool
	// Text: Status is Compose's event text rather than its status text, as in its pull
	// events (" web Pulling ", Kind empty and Name the service).
	Text bool
	// Raw: Status is the whole line after the name, as in Compose's commit and export lines
	// (" p-web-1 Commit p-web-1 Committing").
	Raw bool
}

// String is the event as Docker Compose's plain progress prints it (" Container p-web-1  Started",
// " web Pulled ").
func (e Event) String() string {
	id := e.Name
	if e.Kind != "" {
		id = e.Kind + " " + e.Name
	}
	if e.Text {
		return " " + id + " " + e.Status + " "
	}
	if e.Raw {
		return " " + id + " " + e.Status
	}
	return " " + id + "  " + e.Status
}

// Engine carries out plans on one store.
type Engine struct {
	Containers *container.Manager
	Networks   *network.Manager
	// Events receives every step as it happens (nil: none). It is called from several
	// goroutines, one at a time.
	Events func(Event)
	// Pull fetches an image into the store (the caller shows its progress). nil: images must be
	// in the store.
	Pull func(ctx context.Context, ref string) error
	// BuildProgress receives the builds' progress (nil: none).
	BuildProgress io.Writer
	// Warn receives Compose's warnings (orphans...), one line each.
	Warn func(string)
	// Tail receives the messages Compose prints as they are after a command's progress (pull's
	// "must be built" hint, push's ignored failures).
	Tail func(string)
	// Confirm asks the user Compose's question (a volume whose definition changed: recreate
	// it?) and returns the answer; nil answers no.
	Confirm func(question string) bool
	// DryRun (--dry-run) makes Each and Start report their events without touching a
	// container, as Docker Compose's dry-run client does.
	DryRun bool

	mu sync.Mutex
}

func (e *Engine) event(kind, name, status string) {
	if e.Events == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Events(Event{Kind: kind, Name: name, Status: status, Text: kind == ""})
}

func (e *Engine) failed(kind, name, status string) {
	if e.Events == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Events(Event{Kind: kind, Name: name, Status: status, Err: true, Text: kind == ""})
}

func (e *Engine) warn(msg string) {
	if e.Warn != nil {
		e.Warn(msg)
	}
}

// Container is one container of a project, from the store.
type Container struct {
	container.Summary
	Project, Service string
	Number           int
	OneOff           bool
}

// ProjectContainers returns a project's containers (one-off ones too when oneoff), ordered by
// service then number.
func (e *Engine) ProjectContainers(project string, oneoff bool) ([]Container, error) {
	all, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, s := range all {
		l := s.Config.Labels
		if l[ProjectLabel] != project {
			continue
		}
		c := Container{Summary: s, Project: project, Service: l[ServiceLabel], OneOff: l[OneoffLabel] == "True"}
		c.Number, _ = strconv.Atoi(l[ContainerNumberLabel])
		if c.OneOff && !oneoff {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		if out[i].OneOff != out[j].OneOff {
			return !out[i].OneOff
		}
		if out[i].Number != out[j].Number {
			return out[i].Number < out[j].Number
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Projects are the projects that have containers in the store, by name.
func (e *Engine) Projects() (map[string][]Container, error) {
	all, err := e.Containers.List()
	if err != nil {
		return nil, err
	}
	out := map[string][]Container{}
	for _, s := range all {
		l := s.Config.Labels
		if p := l[ProjectLabel]; p != "" {
			out[p] = append(out[p], Container{Summary: s, Project: p, Service: l[ServiceLabel], OneOff: l[OneoffLabel] == "True"})
		}
	}
	return out, nil
}

// UpOptions are `up`'s and `create`'s flags.
type UpOptions struct {
	Recreate      string // "diverged" (default), "force", "never"
	RemoveOrphans bool
	Build         string // "" build when the image is missing, "always" (--build), "never" (--no-build)
	NoStart       bool   // create only
	Wait          bool   // wait for every container to run (and be healthy when it has a check)
	WaitTimeout   time.Duration
	Timeout       *int // stop timeout of containers replaced or removed
	// Services, when set, are the services the user named: only they follow Recreate; their
	// dependencies follow RecreateDependencies.
	Services []string
	// RecreateDependencies is the policy of the services the user did not name: "" or
	// "diverged" (default), "force" (--always-recreate-deps), "never" (--no-recreate).
	RecreateDependencies string
	// RenewAnonVolumes (-V): a recreated container gets new anonymous volumes instead of its
	// predecessor's.
	RenewAnonVolumes bool
}

// Recreate policies.
const (
	RecreateDiverged = "diverged"
	RecreateForce    = "force"
	RecreateNever    = "never"
)

// Up creates the project's networks and volumes, converges each service's containers to its plan
// (unchanged containers are left alone, changed ones recreated, missing ones made, extra ones
// removed) and starts them in dependency order, waiting on depends_on conditions.
func (e *Engine) Up(ctx context.Context, pl *Plan, o UpOptions) error {
	if o.Recreate == "" {
		o.Recreate = RecreateDiverged
	}
	if err := e.EnsureImages(ctx, pl, o.Build); err != nil {
		return err
	}
	if err := e.ensureNetworks(pl); err != nil {
		return err
	}
	if err := e.ensureVolumes(pl); err != nil {
		return err
	}
	existing, err := e.ProjectContainers(pl.Project, false)
	if err != nil {
		return err
	}
	if err := e.orphans(pl, existing, o); err != nil {
		return err
	}
	byService := map[string][]Container{}
	for _, c := range existing {
		byService[c.Service] = append(byService[c.Service], c)
	}
	var mu sync.Mutex
	ids := map[string][]string{} // service → the IDs of its containers, in number order
	err = inDependencyOrder(ctx, pl, func(ctx context.Context, sp *ServicePlan) error {
		recreate := o.Recreate
		if len(o.Services) > 0 && !contains(o.Services, sp.Name) {
			recreate = o.RecreateDependencies
			if recreate == "" && o.Recreate == RecreateNever {
				recreate = RecreateNever
			} else if recreate == "" {
				recreate = RecreateDiverged
			}
		}
		mu.Lock()
		netOwner := ids[sp.NetworkModeService]
		mu.Unlock()
		got, err := e.convergeService(ctx, pl, sp, byService[sp.Name], recreate, o, netOwner)
		mu.Lock()
		ids[sp.Name] = got
		mu.Unlock()
		return err
	})
	if err != nil || o.NoStart {
		return err
	}
	return e.start(ctx, pl, ids, o)
}

// orphans are containers of the project whose service is no longer in it: a warning, or removed
// with --remove-orphans.
func (e *Engine) orphans(pl *Plan, existing []Container, o UpOptions) error {
	var names []string
	var found []Container
	for _, c := range existing {
		if !contains(pl.Known, c.Service) {
			found = append(found, c)
			names = append(names, c.Name)
		}
	}
	if len(found) == 0 {
		return nil
	}
	if !o.RemoveOrphans {
		e.warn(fmt.Sprintf("Found orphan containers (%s) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.", "["+strings.Join(names, " ")+"]"))
		return nil
	}
	for _, c := range found {
		if err := e.stopAndRemove(c.Name, c.ID, o.Timeout, false); err != nil {
			return err
		}
	}
	return nil
}

// EnsureImages pulls or builds what services need before any container is made, and records the
// image each service runs (com.docker.compose.image). policy is "" (build when missing),
// "always" or "never".
func (e *Engine) EnsureImages(ctx context.Context, pl *Plan, policy string) error {
	for i := range pl.Services {
		sp := &pl.Services[i]
		_, err := e.Containers.Images.Resolve(sp.Image)
		missing := errors.Is(err, image.ErrNoSuchImage)
		if err != nil && !missing {
			return err
		}
		switch {
		case sp.Build != nil && (policy == "always" || missing && policy != "never" || sp.PullPolicy == "build"):
			if err := e.BuildService(ctx, pl, sp, nil); err != nil {
				return err
			}
		case missing && sp.PullPolicy == "never":
			return fmt.Errorf("No such image: %s", sp.Image)
		case missing && sp.Build != nil:
			return fmt.Errorf("service %q has no image to run and --no-build was given: No such image: %s", sp.Name, sp.Image)
		case missing || sp.PullPolicy == "always":
			if e.Pull == nil {
				return fmt.Errorf("No such image: %s", sp.Image)
			}
			e.event("", sp.Name, "Pulling")
			if err := e.Pull(ctx, sp.Image); err != nil {
				e.failed("", sp.Name, "Error")
				return err
			}
			e.event("", sp.Name, "Pulled")
		}
		id, err := e.Containers.Images.Resolve(sp.Image)
		if err != nil {
			return err
		}
		sp.imageID = id
	}
	return nil
}

// PullOptions are compose pull's.
type PullOptions struct {
	// Pull fetches one image into the store.
	Pull            func(ctx context.Context, ref string) error
	IgnoreFailures  bool   // --ignore-pull-failures
	IgnoreBuildable bool   // --ignore-buildable
	Policy          string // --policy: every service's pull_policy ("missing", "always")
}

// PullImages is `compose pull`, deciding and reporting as Docker Compose does: a service is
// skipped when it has no image of its own, its pull policy says never or build, the policy is
// missing and the image is here (a tag other than latest), it can be built and IgnoreBuildable
// is set, or another service pulls the same image. A failed pull of an image that can be built
// is a warning that names the build to run; any other failure stops the command unless
// IgnoreFailures.
func (e *Engine) PullImages(ctx context.Context, pl *Plan, o PullOptions) error {
	var mustBuild []string
	var errs []error
	pulling := map[string]string{}
	warnBuild := func() {
		if len(mustBuild) > 0 {
			e.tail("WARNING: Some service image(s) must be built from source by running:\n    berth compose build " + strings.Join(mustBuild, " "))
		}
	}
	for i := range pl.Services {
		sp := &pl.Services[i]
		policy := sp.PullPolicy
		if o.Policy != "" {
			policy = o.Policy
		}
		skip := ""
		switch {
		case sp.Build != nil && sp.Image == DefaultImage(pl.Project, sp.Name):
			skip = "Skipped - No image to be pulled"
		case policy == "never" || policy == "build":
			skip = "Skipped"
		case (policy == "missing" || policy == "if_not_present") && e.presentNotLatest(sp.Image):
			skip = "Skipped - Image is already present locally"
		case sp.Build != nil && o.IgnoreBuildable:
			skip = "Skipped - Image can be built"
		case pulling[sp.Image] != "":
			skip = "Skipped - Image is already being pulled by " + pulling[sp.Image]
		}
		if skip != "" {
			e.event("", sp.Name, skip)
			continue
		}
		pulling[sp.Image] = sp.Name
		e.event("", sp.Name, "Pulling")
		if err := o.Pull(ctx, sp.Image); err != nil {
			errs = append(errs, err)
			if sp.Build != nil {
				mustBuild = append(mustBuild, sp.Name)
				e.emit(Event{Name: sp.Name, Status: "Warning " + err.Error(), Raw: true})
				continue
			}
			e.emit(Event{Name: sp.Name, Status: "Error " + err.Error(), Raw: true, Err: true})
			if !o.IgnoreFailures {
				warnBuild()
				return err
			}
			continue
		}
		e.event("", sp.Name, "Pulled")
	}
	warnBuild()
	if o.IgnoreFailures {
		return nil
	}
	return errors.Join(errs...)
}

// presentNotLatest says whether ref is in the store under a tag Compose trusts to be current:
// any but latest (named or implied), or a digest.
func (e *Engine) presentNotLatest(ref string) bool {
	n, err := reference.ParseDockerRef(ref)
	if err != nil {
		return false
	}
	if t, ok := n.(reference.Tagged); ok && t.Tag() == "latest" {
		return false
	}
	_, err = e.Containers.Images.Resolve(ref)
	return err == nil
}

// PushImages is `compose push`, as Docker Compose does: the image and build tags of every
// service that is built under an image name of its own, each pushed by push (which reports its own progress); services that
// are not built are skipped. With ignoreFailures a failed push is reported and the next goes on.
func (e *Engine) PushImages(ctx context.Context, pl *Plan, push func(ctx context.Context, ref string) error, ignoreFailures bool) error {
	for i := range pl.Services {
		sp := &pl.Services[i]
		if sp.Build == nil || sp.Image == DefaultImage(pl.Project, sp.Name) {
			e.event("", sp.Name, "Skipped") // nothing built, or no image name to push it to
			continue
		}
		for _, tag := range sp.Build.Tags { // the image first

			if err := push(ctx, tag); err != nil {
				if !ignoreFailures {
					return err
				}
				e.tail(fmt.Sprintf("Pushing %s: %s", sp.Name, err))
			}
		}
	}
	return nil
}

func (e *Engine) tail(msg string) {
	if e.Tail != nil {
		e.Tail(msg)
	}
}

// emit passes one event on as it is.
func (e *Engine) emit(ev Event) {
	if e.Events == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.Events(ev)
}

// BuildOptions are the build of a service's image (for BuildService, or build's --check), extra
// overriding them.
func (e *Engine) BuildOptions(sp *ServicePlan, extra func(*build.Options)) build.Options {
	b := sp.Build
	o := build.Options{ContextDir: b.Context, BuildArgs: b.Args, Target: b.Target, Tags: b.Tags, Labels: b.Labels,
		NoCache: b.NoCache, AlwaysPull: b.Pull, Progress: e.BuildProgress, Network: b.Network}
	if b.Inline != "" {
		o.Dockerfile = []byte(b.Inline)
	} else if b.Dockerfile != "" {
		o.DockerfilePath = b.Dockerfile
		if !filepath.IsAbs(o.DockerfilePath) {
			o.DockerfilePath = filepath.Join(b.Context, b.Dockerfile)
		}
	}
	if e.Pull != nil {
		o.Pull = func(ctx context.Context, ref, platform string) (string, error) {
			if err := e.Pull(ctx, ref); err != nil {
				return "", err
			}
			return e.Containers.Images.Resolve(ref)
		}
	}
	if extra != nil {
		extra(&o)
	}
	return o
}

// BuildService builds a service's image (tagged with its image name and build.tags). extra
// overrides the build's options (compose build's flags).
func (e *Engine) BuildService(ctx context.Context, pl *Plan, sp *ServicePlan, extra func(*build.Options)) error {
	if sp.Build == nil {
		return nil
	}
	o := e.BuildOptions(sp, extra)
	e.event("Image", sp.Image, "Building")
	if _, err := build.Build(ctx, e.Containers.Images, o); err != nil {
		e.failed("Image", sp.Image, "Error")
		return fmt.Errorf("failed to solve: %w", err)
	}
	e.event("Image", sp.Image, "Built")
	return nil
}

// ensureNetworks creates the project's networks that do not exist and checks external ones.
func (e *Engine) ensureNetworks(pl *Plan) error {
	for _, np := range pl.Networks {
		n, err := e.Networks.Get(np.Name)
		if err == nil {
			if !np.External && n.Labels[ProjectLabel] != "" && n.Labels[ProjectLabel] != pl.Project {
				e.warn(fmt.Sprintf("a network with name %s exists but was not created for project %q.\nSet `external: true` to use an existing network", np.Name, pl.Project))
			}
			if !np.External && n.Labels[ProjectLabel] == pl.Project && diverged(n.Labels, np.Create.Labels) {
				if err := e.recreateNetwork(pl, n, np); err != nil {
					return err
				}
			}
			continue
		}
		if !errors.As(err, new(network.NotFoundError)) {
			return err
		}
		if np.External {
			return fmt.Errorf("network %s declared as external, but could not be found", np.Name)
		}
		if err := e.createNetwork(np); err != nil {
			return err
		}
	}
	return nil
}

// createNetwork makes one of the project's networks, with Compose's Creating/Created lines.
func (e *Engine) createNetwork(np NetworkPlan) error {
	e.event("Network", np.Name, "Creating")
	if _, err := e.Networks.Create(np.Create); err != nil {
		e.failed("Network", np.Name, "Error")
		return fmt.Errorf("failed to create network %s: %w", np.Name, err)
	}
	e.event("Network", np.Name, "Created")
	return nil
}

// ensureVolumes creates the project's named volumes that do not exist and checks external ones.
func (e *Engine) ensureVolumes(pl *Plan) error {
	for _, vp := range pl.Volumes {
		v, err := e.Containers.InspectVolume(vp.Name)
		if err == nil {
			if vp.External || v.Labels[ProjectLabel] != pl.Project || !diverged(v.Labels, vp.Labels) {
				continue
			}
			// As Compose: a volume holds data, so it is recreated only when the user agrees.
			if e.Confirm == nil || !e.Confirm(fmt.Sprintf("Volume %q exists but doesn't match configuration in compose file. Recreate (data will be lost)?", vp.Name)) {
				continue
			}
			if err := e.removeDivergedVolume(pl, vp.Name); err != nil {
				return err
			}
		}
		if vp.External {
			return fmt.Errorf("external volume %q not found", vp.Name)
		}
		e.event("Volume", vp.Name, "Creating")
		if _, err := e.Containers.CreateVolume(vp.Name, vp.Labels); err != nil {
			e.failed("Volume", vp.Name, "Error")
			return err
		}
		e.event("Volume", vp.Name, "Created")
	}
	return nil
}

// diverged reports whether a network's or volume's definition changed since it was made: its
// config hash label differs from the plan's (one made without the label is left alone, as
// Compose does).
func diverged(have, want map[string]string) bool {
	h := have[ConfigHashLabel]
	return h != "" && h != want[ConfigHashLabel]
}

// recreateNetwork replaces a project network whose definition changed, as Compose does: the
// containers on it are stopped, the network removed and made again; the stopped containers
// are started again by up, on the new network (found by name).
func (e *Engine) recreateNetwork(pl *Plan, n network.Network, np NetworkPlan) error {
	cs, err := e.ProjectContainers(pl.Project, true)
	if err != nil {
		return err
	}
	var on []Container
	for _, c := range cs {
		for _, ec := range c.Networks {
			if ec.NetworkID == n.ID || ec.Network == n.Name {
				on = append(on, c)
				break
			}
		}
	}
	if err := e.Each(on, "Stopping", "Stopped", func(c Container) error { return e.Containers.Stop(c.ID, nil) }); err != nil {
		return err
	}
	if err := e.Containers.RemoveNetwork(n.ID); err != nil {
		e.failed("Network", np.Name, "Error")
		return err
	}
	e.event("Network", np.Name, "Removed")
	return e.createNetwork(np)
}

// removeDivergedVolume removes a project volume whose definition changed, with the project's
// containers that use it (up makes them again), as Compose does once the user agreed.
func (e *Engine) removeDivergedVolume(pl *Plan, name string) error {
	cs, err := e.ProjectContainers(pl.Project, true)
	if err != nil {
		return err
	}
	for _, c := range cs {
		for _, m := range c.Host.Mounts {
			if m.Type == "volume" && m.Source == name {
				if err := e.stopAndRemove(c.Name, c.ID, nil, false); err != nil {
					return err
				}
				break
			}
		}
	}
	return e.Containers.RemoveVolume(name, false)
}

// convergeService brings a service's containers to its plan and returns their IDs.
func (e *Engine) convergeService(ctx context.Context, pl *Plan, sp *ServicePlan, have []Container, recreate string, o UpOptions, netOwner []string) ([]string, error) {
	timeout := o.Timeout
	// Keep the lowest numbers; remove containers beyond the planned count, obsolete ones first.
	sort.SliceStable(have, func(i, j int) bool { return have[i].Number < have[j].Number })
	var keep []Container
	for _, c := range have {
		if len(keep) < sp.Replicas {
			keep = append(keep, c)
			continue
		}
		if err := e.stopAndRemove(c.Name, c.ID, timeout, false); err != nil {
			return nil, err
		}
	}
	byNumber := map[int]bool{}
	var ids []string
	for _, c := range keep {
		want := sp.ContainerFor(c.Number)
		e.finishPlan(sp, &want, netOwner)
		if !e.mustRecreate(sp, c, recreate) {
			byNumber[c.Number] = true
			ids = append(ids, c.ID)
			// Its state is read again: a dependency's recreation may have stopped it meanwhile.
			if _, st, err := e.Containers.Get(c.ID); err == nil && st.Status == "running" {
				e.event("Container", c.Name, "Running")
			}
			continue
		}
		if err := e.stopDependents(pl, sp, timeout); err != nil {
			return nil, err
		}
		e.event("Container", c.Name, "Recreate")
		if !o.RenewAnonVolumes {
			if old, _, err := e.Containers.Get(c.ID); err == nil {
				InheritAnonymousVolumes(&want, old.Host.Mounts, pl.VolumeNames())
			}
		}
		id, err := e.recreate(pl, c, want, timeout)
		if err != nil {
			e.failed("Container", c.Name, "Error")
			return nil, err
		}
		e.event("Container", c.Name, "Recreated")
		byNumber[c.Number] = true
		ids = append(ids, id)
	}
	for n := 1; len(ids) < sp.Replicas; n++ {
		if byNumber[n] {
			continue
		}
		want := sp.ContainerFor(n)
		e.finishPlan(sp, &want, netOwner)
		e.event("Container", want.Name, "Creating")
		id, err := e.CreateContainer(want)
		if err != nil {
			e.failed("Container", want.Name, "Error")
			return nil, err
		}
		e.event("Container", want.Name, "Created")
		byNumber[n] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// recreate replaces container old by want as Compose does: the replacement is created first
// under a temporary name (<old id12>_<name>), then the old one is stopped and removed, and the
// replacement takes its name. It returns the replacement's ID.
func (e *Engine) recreate(pl *Plan, old Container, want ContainerPlan, timeout *int) (string, error) {
	want.Create.Labels[ReplaceLabel] = strings.TrimPrefix(old.Name, pl.Project+"-")
	name := want.Create.Name
	want.Create.Name = TempName(old.ID, name)
	id, err := e.CreateContainer(want)
	if err != nil {
		return "", err
	}
	if err := e.stopAndRemove("", old.ID, timeout, true); err != nil {
		return "", err
	}
	if err := e.Containers.Rename(id, name); err != nil {
		return "", err
	}
	return id, nil
}

// InheritAnonymousVolumes gives a replacement container its predecessor's anonymous volumes, as
// Compose's recreate does unless -V: where the plan mounts an anonymous volume (a service
// volume without a source), or mounts nothing over a volume of the old container that is
// not one of the project's named volumes (an image's VOLUME), the old volume is mounted again.
func InheritAnonymousVolumes(want *ContainerPlan, old []container.Mount, named []string) {
	h := &want.Create.Host
	planned := map[string]int{}
	for i, m := range h.Mounts {
		planned[path.Clean(m.Target)] = i
	}
	for _, m := range old {
		if m.Type != "volume" || m.Source == "" {
			continue
		}
		target := path.Clean(m.Target)
		i, ok := planned[target]
		switch {
		case ok && h.Mounts[i].Type == "volume" && h.Mounts[i].Source == "":
			h.Mounts[i].Source = m.Source
		case !ok && !contains(named, m.Source):
			h.Mounts = append(h.Mounts, container.Mount{Type: "volume", Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
		}
	}
}

// TempName is the name Compose gives a replacement while the container it replaces still exists.
func TempName(oldID, name string) string {
	if len(oldID) > 12 {
		oldID = oldID[:12]
	}
	return oldID + "_" + name
}

// finishPlan adds to a planned container what is only known once images and other services'
// containers exist.
func (e *Engine) finishPlan(sp *ServicePlan, c *ContainerPlan, netOwner []string) {
	if sp.imageID != "" {
		c.Create.Labels[ImageDigestLabel] = sp.imageID
	}
	if sp.NetworkModeService != "" && len(netOwner) > 0 {
		c.Create.Host.NetworkMode = "container:" + netOwner[0]
	}
}

func (e *Engine) mustRecreate(sp *ServicePlan, c Container, policy string) bool {
	switch policy {
	case RecreateNever:
		return false
	case RecreateForce:
		return true
	}
	l := c.Config.Labels
	if l[ConfigHashLabel] != sp.Hash {
		return true
	}
	return sp.imageID != "" && l[ImageDigestLabel] != sp.imageID
}

// CreateContainer makes one planned container: host directories of binds, the container on its
// first network, its other networks, and the files it is given. It returns the container's ID.
func (e *Engine) CreateContainer(cp ContainerPlan) (string, error) {
	for _, f := range cp.Files {
		if f.Missing != "" {
			return "", errors.New(f.Missing)
		}
	}
	for _, d := range cp.Dirs {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return "", err
			}
		}
	}
	c, err := e.Containers.Create(cp.Create)
	if err != nil {
		return "", err
	}
	undo := func(err error) (string, error) {
		e.Containers.Remove(c.ID, container.RemoveOptions{Force: true})
		return "", err
	}
	for _, a := range cp.Connect {
		if err := e.Containers.Connect(a.Network, c.ID, container.EndpointOptions{Aliases: a.Aliases, IPv4Address: a.IP}); err != nil {
			return undo(err)
		}
	}
	if len(cp.Files) > 0 {
		if err := e.Containers.CopyTarTo(c.ID, filesTar(cp.Files), "/", container.CopyOptions{}); err != nil {
			return undo(fmt.Errorf("giving %s its secrets and configs: %w", cp.Name, err))
		}
	}
	return c.ID, nil
}

// filesTar is a tar stream of files (with their parent directories) to copy into a container.
func filesTar(files []File) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		name := strings.TrimPrefix(filepath.Clean(f.Path), "/")
		var parents []string
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			parents = append([]string{d}, parents...)
			dirs[d] = true
		}
		for _, d := range parents {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755})
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: f.Mode, Size: int64(len(f.Content)), Uid: f.UID, Gid: f.GID})
		tw.Write(f.Content)
	}
	tw.Close()
	return &buf
}

// stopAndRemove stops and removes a container, with Compose's events unless quiet.
func (e *Engine) stopAndRemove(name, id string, timeout *int, quiet bool) error {
	ev := func(s string) {
		if !quiet {
			e.event("Container", name, s)
		}
	}
	ev("Stopping")
	if err := e.Containers.Stop(id, timeout); err != nil && !errors.As(err, new(container.NotFoundError)) {
		return err
	}
	ev("Stopped")
	ev("Removing")
	if err := e.Containers.Remove(id, container.RemoveOptions{Force: true}); err != nil && !errors.As(err, new(container.NotFoundError)) {
		return err
	}
	ev("Removed")
	return nil
}

// start starts every service's containers in dependency order, each once its dependencies meet
// their conditions.
func (e *Engine) start(ctx context.Context, pl *Plan, ids map[string][]string, o UpOptions) error {
	err := inDependencyOrder(ctx, pl, func(ctx context.Context, sp *ServicePlan) error {
		if err := e.waitDependencies(ctx, pl, sp, ids); err != nil {
			return err
		}
		return e.startContainers(ctx, ids[sp.Name])
	})
	if err != nil || !o.Wait {
		return err
	}
	if o.WaitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.WaitTimeout)
		defer cancel()
	}
	for _, sp := range pl.Services {
		for _, id := range ids[sp.Name] {
			c, _, err := e.Containers.Get(id)
			if err != nil {
				return err
			}
			e.event("Container", c.Name, "Waiting")
			cond := "service_started"
			if c.Config.Healthcheck != nil && len(c.Config.Healthcheck.Test) > 0 && c.Config.Healthcheck.Test[0] != "NONE" {
				cond = "service_healthy"
			}
			if err := e.waitContainer(ctx, c.Name, id, cond, true); err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return errors.New("timeout waiting for the project to be running or healthy")
				}
				return err
			}
		}
	}
	return nil
}

func (e *Engine) startContainers(ctx context.Context, ids []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		c, st, err := e.Containers.Get(id)
		if err != nil {
			return err
		}
		if st.Running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.event("Container", c.Name, "Starting")
			err := portsFree(c)
			if err == nil {
				err = e.Containers.StartDetached(id)
			}
			if err != nil {
				e.failed("Container", c.Name, "Error")
				errs[i] = err
				return
			}
			e.event("Container", c.Name, "Started")
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitDependencies waits until each dependency of a service meets its condition (started is
// met by the order alone), with Compose's events and errors.
func (e *Engine) waitDependencies(ctx context.Context, pl *Plan, sp *ServicePlan, ids map[string][]string) error {
	type waiter struct{ name, id, cond string }
	var ws []waiter
	for _, d := range sp.DependsOn {
		if d.Condition == "service_started" {
			continue
		}
		if _, ok := pl.Service(d.Service); !ok {
			continue // not selected (--no-deps) or optional
		}
		for _, id := range ids[d.Service] {
			c, _, err := e.Containers.Get(id)
			if err != nil {
				return err
			}
			ws = append(ws, waiter{c.Name, id, d.Condition})
		}
	}
	for _, w := range ws {
		e.event("Container", w.name, "Waiting")
	}
	// The first dependency that fails ends the wait for the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.waitContainer(ctx, w.name, w.id, w.cond, false); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return ctx.Err()
}

// waitContainer polls a container until it meets a condition.
func (e *Engine) waitContainer(ctx context.Context, name, id, cond string, forWait bool) error {
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		c, st, err := e.Containers.Get(id)
		if err != nil {
			return err
		}
		switch cond {
		case "service_healthy":
			if hc := c.Config.Healthcheck; hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
				e.failed("Container", name, "Error")
				return fmt.Errorf("dependency failed to start: container %s has no healthcheck configured", c.Name)
			}
			if !st.Running() && st.Status != "created" {
				e.failed("Container", name, "Error")
				return fmt.Errorf("dependency failed to start: container %s exited (%d)", c.Name, st.ExitCode)
			}
			if st.Health == nil {
				break // its first probe has not run yet
			}
			switch st.Health.Status {
			case "healthy":
				e.event("Container", name, "Healthy")
				return nil
			case "unhealthy":
				e.failed("Container", name, "Error")
				return fmt.Errorf("dependency failed to start: container %s is unhealthy", c.Name)
			}
		case "service_completed_successfully":
			if !st.Running() && st.Status != "created" {
				if st.ExitCode == 0 {
					e.event("Container", name, "Exited")
					return nil
				}
				msg := fmt.Sprintf("service %q didn't complete successfully: exit %d", c.Config.Labels[ServiceLabel], st.ExitCode)
				e.failed("Container", name, msg)
				return errors.New(msg)
			}
		default: // running
			if st.Running() {
				e.event("Container", name, "Healthy")
				return nil
			}
			if forWait && st.Status == "exited" {
				e.failed("Container", name, "Error")
				return fmt.Errorf("container %s exited (%d)", c.Name, st.ExitCode)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// inDependencyOrder runs fn for each service of the plan once fn has finished for the services it
// depends on; independent services run at the same time. The first error cancels what has not
// started.
func inDependencyOrder(ctx context.Context, pl *Plan, fn func(context.Context, *ServicePlan) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := map[string]chan struct{}{}
	for _, sp := range pl.Services {
		done[sp.Name] = make(chan struct{})
	}
	errs := make([]error, len(pl.Services))
	var wg sync.WaitGroup
	for i := range pl.Services {
		sp := &pl.Services[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[sp.Name])
			deps := sp.DependsOn
			if sp.NetworkModeService != "" {
				deps = append(deps, Dependency{Service: sp.NetworkModeService})
			}
			for _, d := range deps {
				ch, ok := done[d.Service]
				if !ok {
					continue
				}
				select {
				case <-ch:
				case <-ctx.Done():
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			if err := fn(ctx, sp); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// portsFree fails as Docker's daemon does when a host port the container publishes is taken
// by a process of the host. berth publishes through NAT rules alone, with no proxy holding the
// port, so nothing else would notice: the container would start and its port answer for the
// other process. (Ports taken by other containers are the network package's to refuse.)
func portsFree(c *container.Container) error {
	for port, bs := range c.Host.PortBindings {
		_, proto, _ := strings.Cut(port, "/")
		if proto == "" {
			proto = "tcp"
		}
		for _, b := range bs {
			if b.HostPort == "" || b.HostPort == "0" || strings.Contains(b.HostPort, "-") {
				continue
			}
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			addr := net.JoinHostPort(ip, b.HostPort)
			var err error
			switch proto {
			case "udp":
				var l net.PacketConn
				if l, err = net.ListenPacket("udp4", addr); err == nil {
					l.Close()
				}
			default:
				var l net.Listener
				if l, err = net.Listen("tcp4", addr); err == nil {
					l.Close()
				}
			}
			if err != nil && strings.Contains(err.Error(), "address already in use") {
				return fmt.Errorf("driver failed programming external connectivity on endpoint %s: Error starting userland proxy: listen %s4 %s: bind: address already in use", c.Name, proto, addr)
			}
		}
	}
	return nil
}

// WaitDependencies waits until the dependencies of a service meet their depends_on conditions
// (`run` of a service whose dependencies `up` has just started).
func (e *Engine) WaitDependencies(ctx context.Context, pl *Plan, sp *ServicePlan) error {
	cs, err := e.ProjectContainers(pl.Project, false)
	if err != nil {
		return err
	}
	ids := map[string][]string{}
	for _, c := range cs {
		ids[c.Service] = append(ids[c.Service], c.ID)
	}
	return e.waitDependencies(ctx, pl, sp, ids)
}

// stopDependents stops the running containers of the services that depend on sp with
// restart: true, before sp's containers are recreated; up's start phase starts them again.
func (e *Engine) stopDependents(pl *Plan, sp *ServicePlan, timeout *int) error {
	var names []string
	for _, other := range pl.Services {
		for _, d := range other.DependsOn {
			if d.Service == sp.Name && d.Restart {
				names = append(names, other.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	cs, err := e.ProjectContainers(pl.Project, false)
	if err != nil {
		return err
	}
	var running []Container
	for _, c := range cs {
		if contains(names, c.Service) && c.State.Running() {
			running = append(running, c)
		}
	}
	return e.Each(running, "Stopping", "Stopped", func(c Container) error { return e.Containers.Stop(c.ID, timeout) })
}
