package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/events"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/network"
)

// DownOptions are `down`'s flags.
type DownOptions struct {
	Volumes       bool   // -v: named volumes of the project and anonymous ones of its containers
	Images        string // --rmi: "all" or "local" (images without a custom name)
	RemoveOrphans bool
	Timeout       *int
}

// Down stops and removes a project's containers (dependents first), then the networks it made,
// and with Volumes its volumes. pl may be nil when the project's files are gone: what carries
// the project's labels is removed then.
func (e *Engine) Down(ctx context.Context, project string, pl *Plan, o DownOptions) error {
	all, err := e.ProjectContainers(project, true)
	if err != nil {
		return err
	}
	byService := map[string][]Container{}
	var orphans []Container
	for _, c := range all {
		if pl != nil {
			// As Compose: an orphan is a container of a service the project does not know, or
			// a one-off container that has exited; orphans go with --remove-orphans only.
			// Containers of services left out by profiles stay.
			orphan := !contains(pl.Known, c.Service) || c.OneOff && !c.State.Running()
			if orphan && o.RemoveOrphans {
				orphans = append(orphans, c)
			}
			if _, ok := pl.Service(c.Service); !ok || c.OneOff {
				continue
			}
		}
		byService[c.Service] = append(byService[c.Service], c)
	}
	// Dependents are stopped before what they depend on; a stopped container is removed in the
	// background meanwhile, since nothing waits on its removal but the networks'.
	var removals sync.WaitGroup
	var mu sync.Mutex
	var rmErrs []error
	stopThenRemove := func(cs []Container) error {
		var wg sync.WaitGroup
		errs := make([]error, len(cs))
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if errs[i] = e.stop(c.Name, c.ID, o.Timeout); errs[i] != nil {
					return
				}
				removals.Add(1)
				go func() {
					defer removals.Done()
					if err := e.remove(c.Name, c.ID, o.Volumes); err != nil {
						mu.Lock()
						rmErrs = append(rmErrs, err)
						mu.Unlock()
					}
				}()
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}

	if pl == nil {
		var cs []Container
		for _, list := range byService {
			cs = append(cs, list...)
		}
		err = stopThenRemove(cs)
	} else if err = stopThenRemove(orphans); err == nil {
		err = inReverseDependencyOrder(ctx, pl, func(ctx context.Context, sp *ServicePlan) error {
			return stopThenRemove(byService[sp.Name])
		})
	}
	removals.Wait()
	if err = errors.Join(append(rmErrs, err)...); err != nil {
		return err
	}
	removed := len(all)
	n, err := e.removeNetworks(project, pl)
	if err != nil {
		return err
	}
	removed += n
	if o.Volumes {
		n, err := e.removeVolumes(project, pl)
		if err != nil {
			return err
		}
		removed += n
	}
	if o.Images != "" {
		return e.removeImages(project, pl, all, o.Images)
	}
	if removed == 0 {
		e.warn(fmt.Sprintf("Warning: No resource found to remove for project %q.", project))
	}
	return nil
}

func (e *Engine) stop(name, id string, timeout *int) error {
	e.event("Container", name, "Stopping")
	if err := e.Containers.Stop(id, timeout); err != nil && !errors.As(err, new(container.NotFoundError)) {
		e.failed("Container", name, "Error while Stopping")
		return err
	}
	e.event("Container", name, "Stopped")
	return nil
}

func (e *Engine) remove(name, id string, volumes bool) error {
	e.event("Container", name, "Removing")
	if err := e.Containers.Remove(id, container.RemoveOptions{Force: true, Volumes: volumes}); err != nil && !errors.As(err, new(container.NotFoundError)) {
		e.failed("Container", name, "Error while Removing")
		return err
	}
	e.event("Container", name, "Removed")
	return nil
}

func (e *Engine) removeNetworks(project string, pl *Plan) (int, error) {
	var names []string
	removed := 0
	if pl != nil {
		for _, np := range pl.Networks {
			if !np.External {
				names = append(names, np.Name)
			}
		}
	} else {
		nets, err := e.Networks.List()
		if err != nil {
			return 0, err
		}
		for _, n := range nets {
			if n.Labels[ProjectLabel] == project {
				names = append(names, n.Name)
			}
		}
	}
	for _, name := range names {
		n, err := e.Networks.Get(name)
		if errors.As(err, new(network.NotFoundError)) {
			continue
		} else if err != nil {
			return removed, err
		}
		if n.Labels[ProjectLabel] != project {
			continue // not ours: Compose leaves it
		}
		e.event("Network", name, "Removing")
		if err := e.Containers.RemoveNetwork(n.ID); err != nil {
			e.failed("Network", name, "Resource is still in use")
			continue
		}
		e.event("Network", name, "Removed")
		removed++
	}
	return removed, nil
}

func (e *Engine) removeVolumes(project string, pl *Plan) (int, error) {
	removed := 0
	vols, err := e.Containers.Volumes()
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	if pl != nil {
		for _, vp := range pl.Volumes {
			if !vp.External {
				want[vp.Name] = true
			}
		}
	}
	for _, v := range vols {
		if !want[v.Name] && (pl != nil || v.Labels[ProjectLabel] != project) {
			continue
		}
		if v.Labels[ProjectLabel] != project {
			continue
		}
		e.event("Volume", v.Name, "Removing")
		if err := e.Containers.RemoveVolume(v.Name, false); err != nil {
			e.failed("Volume", v.Name, "Resource is still in use")
			continue
		}
		e.event("Volume", v.Name, "Removed")
		removed++
	}
	return removed, nil
}

func (e *Engine) removeImages(project string, pl *Plan, cs []Container, mode string) error {
	seen := map[string]bool{}
	var refs []string
	add := func(ref string, custom bool) {
		if seen[ref] || mode == "local" && custom {
			return
		}
		seen[ref] = true
		refs = append(refs, ref)
	}
	if pl != nil {
		for _, sp := range pl.Services {
			add(sp.Image, sp.Image != DefaultImage(project, sp.Name))
		}
	}
	for _, c := range cs {
		add(c.Image, c.Image != DefaultImage(project, c.Service))
	}
	for _, ref := range refs {
		e.event("Image", ref, "Removing")
		if _, err := e.Containers.Images.Remove(ref, false); err != nil {
			continue // missing, or used by another container: Compose goes on
		}
		e.event("Image", ref, "Removed")
	}
	return nil
}

// inReverseDependencyOrder runs fn for each service once it has finished for every service that
// depends on it.
func inReverseDependencyOrder(ctx context.Context, pl *Plan, fn func(context.Context, *ServicePlan) error) error {
	dependents := map[string][]string{}
	for _, sp := range pl.Services {
		for _, d := range sp.DependsOn {
			dependents[d.Service] = append(dependents[d.Service], sp.Name)
		}
		if sp.NetworkModeService != "" {
			dependents[sp.NetworkModeService] = append(dependents[sp.NetworkModeService], sp.Name)
		}
	}
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
			for _, d := range dependents[sp.Name] {
				<-done[d]
			}
			errs[i] = fn(ctx, sp)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Select returns the containers of the named services (all when none is named), failing with
// Compose's error on a service the project does not have.
func Select(cs []Container, pl *Plan, services []string) ([]Container, error) {
	if len(services) == 0 {
		return cs, nil
	}
	if pl != nil {
		for _, s := range services {
			if _, ok := pl.Service(s); !ok {
				return nil, fmt.Errorf("no such service: %s", s)
			}
		}
	}
	var out []Container
	for _, c := range cs {
		if contains(services, c.Service) {
			out = append(out, c)
		}
	}
	return out, nil
}

// CopyTargets are the containers `compose cp` copies to (toService) or from, as Compose picks
// them, running or not: with index, the service's container of that number; else, copying to
// the service, all its containers (with all, `run`'s too), and copying from it, the first of
// them by number.
func CopyTargets(cs []Container, service string, index int, all, toService bool) ([]Container, error) {
	var list []Container
	for _, c := range cs {
		if c.Service == service && (!c.OneOff || all && index == 0) && (index == 0 || c.Number == index && !c.OneOff) {
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		if index > 0 {
			return nil, fmt.Errorf("service %q is not running container #%d", service, index)
		}
		return nil, fmt.Errorf("no container found for service %q", service)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Number < list[j].Number })
	if !toService {
		list = list[:1]
	}
	return list, nil
}

// Copy runs one copy per container at once, with Compose's lines (" p-web-1 copy f to
// p-web-1:/tmp Copying", then "Copied"); what names the copy for a container.
func (e *Engine) Copy(targets []Container, what func(Container) string, fn func(Container) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(targets))
	for i, c := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.emit(Event{Name: c.Name, Status: what(c) + " Copying", Raw: true})
			if errs[i] = fn(c); errs[i] == nil {
				e.emit(Event{Name: c.Name, Status: what(c) + " Copied", Raw: true})
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// OfServices are the containers of cs whose service is one of names (ps --orphans=false: the
// file's services; up's foreground: the services it brought up).
func OfServices(cs []Container, names []string) []Container {
	var out []Container
	for _, c := range cs {
		if contains(names, c.Service) {
			out = append(out, c)
		}
	}
	return out
}

// Each runs an operation on containers at once, with Compose's events: working (e.g.
// "Stopping") before, done ("Stopped") after.
func (e *Engine) Each(cs []Container, working, done string, fn func(Container) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if working != "" {
				e.event("Container", c.Name, working)
			}
			if e.DryRun {
				e.event("Container", c.Name, done)
				return
			}
			if err := fn(c); err != nil {
				e.failed("Container", c.Name, "Error while "+working)
				errs[i] = err
				return
			}
			e.event("Container", c.Name, done)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Start starts a project's existing containers in dependency order, waiting on conditions
// (`compose start`).
func (e *Engine) Start(ctx context.Context, pl *Plan, cs []Container) error {
	ids := map[string][]string{}
	for _, c := range cs {
		if !c.OneOff {
			ids[c.Service] = append(ids[c.Service], c.ID)
		}
	}
	return inDependencyOrder(ctx, pl, func(ctx context.Context, sp *ServicePlan) error {
		if len(ids[sp.Name]) == 0 {
			return nil
		}
		if e.DryRun {
			var list []Container
			for _, c := range cs {
				if c.Service == sp.Name && !c.OneOff {
					list = append(list, c)
				}
			}
			return e.Each(list, "Starting", "Started", nil)
		}
		if err := e.waitDependencies(ctx, pl, sp, ids); err != nil {
			return err
		}
		return e.startContainers(ctx, ids[sp.Name])
	})
}

// LogsOptions are `logs`'s flags.
type LogsOptions struct {
	container.LogsOptions
	NoPrefix bool
	Color    bool
	// FollowNew (with Follow) is `compose logs -f`: containers that start later are followed
	// too, an exit is reported ("web-1 exited with code 0"), and the follow ends once none of
	// the services' containers runs. Without it only the given containers are followed.
	FollowNew bool
}

// Logs writes the containers' logs, each line prefixed with its container's short name
// (service-N, padded to the longest) as Docker Compose does. With Follow it also follows the
// project's containers of services (all when empty) that start afterwards (a scale-up, a
// recreate, a restart), says when a followed container exits, and returns once none of them
// runs.
func (e *Engine) Logs(ctx context.Context, project string, services []string, cs []Container, o LogsOptions, w io.Writer) error {
	width := 0
	for _, c := range cs {
		width = max(width, len(shortName(c)))
	}
	var mu sync.Mutex // the output
	var wg sync.WaitGroup
	var errs []error
	if !o.Follow {
		for i, c := range cs {
			lw := &lineWriter{w: w, mu: &mu, prefix: logPrefix(c, i, width, o)}
			if err := e.Containers.Logs(c.ID, o.LogsOptions, lw, lw); err != nil {
				errs = append(errs, err)
			}
			lw.flush() // one container after the other, as Compose prints a finished log
		}
		return errors.Join(errs...)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o.Context = ctx
	var fmu sync.Mutex // what follows
	// active: followed now; seen: followed once; running: followed while running, its die event
	// not read yet.
	active, seen, running := map[string]bool{}, map[string]bool{}, map[string]bool{}
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	follow := func(c Container, since time.Time, live bool) {
		fmu.Lock()
		if active[c.ID] {
			fmu.Unlock()
			return
		}
		i := len(seen)
		active[c.ID], seen[c.ID] = true, true
		if live {
			running[c.ID] = true
		}
		fmu.Unlock()
		lo := o.LogsOptions
		if !since.IsZero() {
			lo.Since = since // a restart: what it printed before was shown already
		}
		lw := &lineWriter{w: w, mu: &mu, prefix: logPrefix(c, i, max(width, len(shortName(c))), o)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.Containers.Logs(c.ID, lo, lw, lw)
			lw.flush()
			fmu.Lock()
			delete(active, c.ID)
			if err != nil && !errors.As(err, new(container.NotFoundError)) {
				errs = append(errs, err)
			}
			fmu.Unlock()
			poke()
		}()
	}
	for _, c := range cs {
		follow(c, time.Time{}, o.FollowNew && c.State.Running())
	}
	if !o.FollowNew {
		wg.Wait()
		return errors.Join(errs...)
	}
	// Containers that start from now on, found in the event journal.
	go e.Watch(ctx, project, services, func(ev ContainerEvent) {
		fmu.Lock()
		again := seen[ev.ID]
		fmu.Unlock()
		if ev.Action == "die" && again {
			// As Compose, from the die event (the container may be gone by the time its
			// log ends).
			mu.Lock()
			fmt.Fprintf(w, "%s exited with code %s\n", strings.TrimPrefix(ev.Name, project+"-"), ev.Attributes["exitCode"])
			mu.Unlock()
			fmu.Lock()
			delete(running, ev.ID)
			fmu.Unlock()
			return
		}
		if ev.Action != "start" {
			return
		}
		if c, ok := e.followable(project, services, ev.ID); ok {
			since := time.Time{}
			if again {
				since = ev.Time
			}
			follow(c, since, true)
		}
	})
	var idle time.Time // since when nothing has been followed
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(errs...)
		case <-changed:
		case <-time.After(time.Second):
		}
		fmu.Lock()
		n, dying := len(active), len(running)
		fmu.Unlock()
		if n > 0 {
			idle = time.Time{}
			continue
		}
		if idle.IsZero() {
			idle = time.Now()
		}
		// Nothing is followed: done, unless a container of the services runs (one the watch
		// has not reported yet) or a replacement is about to start (a recreate).
		live, pending := e.liveContainers(project, services)
		for _, c := range live {
			fmu.Lock()
			again := seen[c.ID]
			fmu.Unlock()
			since := time.Time{}
			if again {
				since = c.State.StartedAt
			}
			follow(c, since, true)
		}
		if len(live) == 0 && dying > 0 && time.Since(idle) < 3*time.Second {
			// The die events of containers that ended are in the journal: their exits are
			// reported before the end.
			time.Sleep(20 * time.Millisecond)
			poke()
			continue
		}
		if len(live) == 0 && !pending {
			cancel()
			wg.Wait()
			return errors.Join(errs...)
		}
		if len(live) == 0 {
			time.Sleep(50 * time.Millisecond)
			poke()
		}
	}
}

// followable is the project's container id, when it belongs to services (all when empty) and is
// not a one-off.
func (e *Engine) followable(project string, services []string, id string) (Container, bool) {
	cs, err := e.ProjectContainers(project, false)
	if err != nil {
		return Container{}, false
	}
	for _, c := range cs {
		if c.ID == id && (len(services) == 0 || contains(services, c.Service)) {
			return c, true
		}
	}
	return Container{}, false
}

// liveContainers are the running containers of the project's services (all when empty); pending
// says that a replacement of a recreate has yet to start.
func (e *Engine) liveContainers(project string, services []string) (live []Container, pending bool) {
	cs, err := e.ProjectContainers(project, false)
	if err != nil {
		return nil, false
	}
	for _, c := range cs {
		if len(services) > 0 && !contains(services, c.Service) {
			continue
		}
		if c.State.Running() {
			live = append(live, c)
		} else if c.State.Status == "created" && c.Config.Labels[ReplaceLabel] != "" && time.Since(c.Created) < time.Minute {
			// (a replacement that `compose create` made and nobody starts is not waited for)
			pending = true
		}
	}
	return live, pending
}

func logPrefix(c Container, i, width int, o LogsOptions) string {
	if o.NoPrefix {
		return ""
	}
	prefix := shortName(c) + strings.Repeat(" ", width-len(shortName(c))) + "  | "
	if o.Color {
		prefix = colors[i%len(colors)] + prefix + "\x1b[0m"
	}
	return prefix
}

var colors = []string{"\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[93m", "\x1b[92m", "\x1b[95m", "\x1b[94m"}

// shortName is a container's name in logs and events of Compose: the name without the project
// prefix ("web-1"); a custom container_name stays whole.
func shortName(c Container) string {
	if c.OneOff {
		return c.Name
	}
	return strings.TrimPrefix(c.Name, c.Project+"-")
}

// lineWriter writes whole lines with a prefix; lines from several containers do not mix.
type lineWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.mu.Lock()
		_, err := io.WriteString(l.w, l.prefix+string(l.buf[:i+1]))
		l.mu.Unlock()
		l.buf = l.buf[i+1:]
		if err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.mu.Lock()
		io.WriteString(l.w, l.prefix+string(l.buf)+"\n")
		l.mu.Unlock()
		l.buf = nil
	}
}

// ProjectServiceContainer is ServiceContainer over a project's containers as they are now.
func (e *Engine) ProjectServiceContainer(project, service string, index int) (Container, error) {
	cs, err := e.ProjectContainers(project, false)
	if err != nil {
		return Container{}, err
	}
	return ServiceContainer(cs, service, index)
}

// ServiceContainer picks a service's container by its --index (1 and up) among cs, for commands
// that take a container by service (exec, port, cp).
func ServiceContainer(cs []Container, service string, index int) (Container, error) {
	return serviceContainer(cs, service, index, false)
}

// IndexedContainers are the containers of logs --index: with index 0 all of cs, else the one
// container of that number of the one service named, running or not, as Compose's logs picks it.
func IndexedContainers(cs []Container, services []string, index int) ([]Container, error) {
	if index == 0 {
		return cs, nil
	}
	if len(services) != 1 {
		return nil, errors.New("--index requires one service to be selected")
	}
	c, err := serviceContainer(cs, services[0], index, true)
	if err != nil {
		return nil, err
	}
	return []Container{c}, nil
}

func serviceContainer(cs []Container, service string, index int, stopped bool) (Container, error) {
	var list []Container
	for _, c := range cs {
		if c.Service == service && !c.OneOff {
			list = append(list, c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Number < list[j].Number })
	for _, c := range list {
		if (index == 0 || c.Number == index) && (stopped || c.State.Running()) {
			return c, nil
		}
	}
	if index > 0 {
		return Container{}, fmt.Errorf("service %q is not running container #%d", service, index)
	}
	return Container{}, fmt.Errorf("service %q is not running", service)
}

// ContainerEvent is one event of a project's container, as `compose events` reports it.
type ContainerEvent struct {
	Time                     time.Time
	Action                   string // create, start, die, destroy, pause, unpause, health_status: healthy...
	ID, Name, Service, Image string
	// Attributes are the event's, without the com.docker.compose.* labels (as Compose prints
	// them).
	Attributes map[string]string
}

// Watch reports the events of a project's containers (of services, when given) until ctx ends.
// berth has no daemon that streams events: it follows the event journal every berth process
// writes, as `berth events` does.
func (e *Engine) Watch(ctx context.Context, project string, services []string, fn func(ContainerEvent)) error {
	return e.WatchRange(ctx, project, services, time.Time{}, time.Time{}, fn)
}

// WatchRange is Watch from since (replaying the journal; zero: from now on) until until (zero:
// until ctx ends), as `compose events --since/--until`.
func (e *Engine) WatchRange(ctx context.Context, project string, services []string, since, until time.Time, fn func(ContainerEvent)) error {
	args := format.NewArgs()
	args.Add("type", events.TypeContainer)
	args.Add("label", ProjectLabel+"="+project)
	f, err := events.NewFilter(args)
	if err != nil {
		return err
	}
	return events.Read(ctx, e.Containers.Images.Root, events.ReadOptions{Follow: true, Filter: f, Since: since, Until: until}, func(m events.Message) error {
		a := m.Actor.Attributes
		if len(services) > 0 && !contains(services, a[ServiceLabel]) {
			return nil
		}
		ev := ContainerEvent{Time: m.When(), Action: m.Action, ID: m.Actor.ID, Name: a["name"], Service: a[ServiceLabel],
			Image: a["image"], Attributes: map[string]string{}}
		for k, v := range a {
			if !strings.HasPrefix(k, "com.docker.compose.") {
				ev.Attributes[k] = v
			}
		}
		fn(ev)
		return nil
	})
}

// Stop stops a project's containers, dependents before what they depend on (`compose stop`);
// without a plan, all at once.
func (e *Engine) Stop(ctx context.Context, pl *Plan, cs []Container, timeout *int) error {
	stopAll := func(list []Container) error {
		return e.Each(list, "Stopping", "Stopped", func(c Container) error { return e.Containers.Stop(c.ID, timeout) })
	}
	if pl == nil {
		return stopAll(cs)
	}
	byService := map[string][]Container{}
	var others []Container
	for _, c := range cs {
		if _, ok := pl.Service(c.Service); ok && !c.OneOff {
			byService[c.Service] = append(byService[c.Service], c)
		} else {
			others = append(others, c)
		}
	}
	if err := stopAll(others); err != nil {
		return err
	}
	return inReverseDependencyOrder(ctx, pl, func(ctx context.Context, sp *ServicePlan) error {
		return stopAll(byService[sp.Name])
	})
}

// WaitExits is `compose wait`: it blocks until every container of cs has stopped, calls fn as
// each does (in the order they stop), and returns the exit code of the last one, as Compose
// does.
func (e *Engine) WaitExits(cs []Container, fn func(c Container, code int)) (int, error) {
	type exit struct {
		c    Container
		code int
		err  error
	}
	done := make(chan exit, len(cs))
	for _, c := range cs {
		go func() {
			st, err := e.Containers.WaitExit(c.ID)
			done <- exit{c, st.ExitCode, err}
		}()
	}
	code := 0
	var errs []error
	for range cs {
		x := <-done
		if x.err != nil {
			errs = append(errs, x.err)
			continue
		}
		fn(x.c, x.code)
		code = x.code
	}
	return code, errors.Join(errs...)
}
