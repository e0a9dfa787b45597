package compose

import (
	"errors"
	"fmt"
	"sort"

	"github.com/berth-engine/berth/network"
)

// DryUp is `up --dry-run`: the events Up would report, from the store as it is, with nothing
// changed. As Docker Compose's dry run: missing networks and volumes are "Created", changed
// containers "Recreated" (and then started under their temporary name, as Compose's dry-run
// client reports it), missing ones "Created", running unchanged ones "Running", and the others
// "Started" unless NoStart. Images are not pulled or built.
func (e *Engine) DryUp(pl *Plan, o UpOptions) error {
	if o.Recreate == "" {
		o.Recreate = RecreateDiverged
	}
	for _, np := range pl.Networks {
		_, err := e.Networks.Get(np.Name)
		if err == nil {
			continue
		}
		if !errors.As(err, new(network.NotFoundError)) {
			return err
		}
		if np.External {
			return fmt.Errorf("network %s declared as external, but could not be found", np.Name)
		}
		e.event("Network", np.Name, "Creating")
		e.event("Network", np.Name, "Created")
	}
	for _, vp := range pl.Volumes {
		if _, err := e.Containers.InspectVolume(vp.Name); err == nil {
			continue
		}
		if vp.External {
			return fmt.Errorf("external volume %q not found", vp.Name)
		}
		e.event("Volume", vp.Name, "Creating")
		e.event("Volume", vp.Name, "Created")
	}
	existing, err := e.ProjectContainers(pl.Project, false)
	if err != nil {
		return err
	}
	var toStart []string
	for i := range pl.Services {
		sp := &pl.Services[i]
		var have []Container
		for _, c := range existing {
			if c.Service == sp.Name {
				have = append(have, c)
			}
		}
		sort.SliceStable(have, func(i, j int) bool { return have[i].Number < have[j].Number })
		recreate := o.Recreate
		if len(o.Services) > 0 && !contains(o.Services, sp.Name) && recreate == RecreateForce {
			recreate = RecreateDiverged
		}
		used := map[int]bool{}
		for n, c := range have {
			if n >= sp.Replicas {
				for _, s := range []string{"Stopping", "Stopped", "Removing", "Removed"} {
					e.event("Container", c.Name, s)
				}
				continue
			}
			used[c.Number] = true
			switch {
			case e.mustRecreate(sp, c, recreate):
				e.event("Container", c.Name, "Recreate")
				e.event("Container", c.Name, "Recreated")
				toStart = append(toStart, TempName(c.ID, c.Name))
			case c.State.Running():
				e.event("Container", c.Name, "Running")
			default:
				toStart = append(toStart, c.Name)
			}
		}
		for n, made := 1, min(len(have), sp.Replicas); made < sp.Replicas; n++ {
			if used[n] {
				continue
			}
			name := sp.ContainerFor(n).Name
			e.event("Container", name, "Creating")
			e.event("Container", name, "Created")
			toStart = append(toStart, name)
			made++
		}
	}
	if o.NoStart {
		return nil
	}
	for _, name := range toStart {
		e.event("Container", name, "Starting")
		e.event("Container", name, "Started")
	}
	return nil
}

// DryDown is `down --dry-run`: the events Down would report, with nothing changed. As in
// Docker Compose's dry run, the project's networks are then reported in use while containers
// (which were not really removed) are on them.
func (e *Engine) DryDown(project string, pl *Plan, o DownOptions) error {
	all, err := e.ProjectContainers(project, true)
	if err != nil {
		return err
	}
	var cs []Container
	for _, c := range all {
		orphan := pl != nil && (!contains(pl.Known, c.Service) || c.OneOff && !c.State.Running())
		if pl != nil && (c.OneOff || !orphan && !containsService(pl, c.Service)) || orphan && !o.RemoveOrphans {
			continue
		}
		cs = append(cs, c)
	}
	if pl != nil {
		// Dependents first, as Down stops them.
		rank := map[string]int{}
		for i, sp := range pl.Services {
			rank[sp.Name] = i
		}
		sort.SliceStable(cs, func(i, j int) bool { return rank[cs[i].Service] > rank[cs[j].Service] })
	}
	for _, c := range cs {
		for _, s := range []string{"Stopping", "Stopped", "Removing", "Removed"} {
			e.event("Container", c.Name, s)
		}
	}
	nets, err := e.Networks.List()
	if err != nil {
		return err
	}
	for _, n := range nets {
		if n.Labels[ProjectLabel] != project || pl != nil && !plannedNetwork(pl, n.Name) {
			continue
		}
		e.event("Network", n.Name, "Removing")
		if len(cs) > 0 {
			e.failed("Network", n.Name, "Resource is still in use")
		} else {
			e.event("Network", n.Name, "Removed")
		}
	}
	if o.Volumes {
		vols, err := e.Containers.Volumes()
		if err != nil {
			return err
		}
		for _, v := range vols {
			if v.Labels[ProjectLabel] == project {
				e.event("Volume", v.Name, "Removing")
				e.event("Volume", v.Name, "Removed")
			}
		}
	}
	return nil
}

func containsService(pl *Plan, name string) bool {
	_, ok := pl.Service(name)
	return ok
}

func plannedNetwork(pl *Plan, name string) bool {
	for _, np := range pl.Networks {
		if np.Name == name && !np.External {
			return true
		}
	}
	return false
}
