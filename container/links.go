package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-engine/berth/network"
	rt "github.com/berth-engine/berth/runtime"
)

// Docker's legacy links (--link NAME[:ALIAS], HostConfig.Links) on the default bridge: Create
// resolves the targets (which must exist), each start requires them running and gives the
// container Docker's link variables and an /etc/hosts line per link; `rm --link` removes one.
// On a user-defined network the same flag makes endpoint links instead (planNetworks), which
// the container's DNS resolver answers (dnsTable).

// legacyLinks resolves --link's targets for a container joining the default bridge first (none
// otherwise: on a user-defined network they became endpoint links).
func (m *Manager) legacyLinks(o CreateOptions, eps []EndpointConfig) ([]LegacyLink, error) {
	if len(o.Links) == 0 || len(eps) == 0 || !network.IsPredefined(eps[0].Network) {
		return nil, nil
	}
	var out []LegacyLink
	seen := map[string]bool{}
	for _, l := range o.Links {
		name, alias, err := network.ParseLink(l)
		if err != nil {
			return nil, err
		}
		target, _, err := m.Get(name)
		if err != nil {
			return nil, fmt.Errorf("could not get container for %s: %w", name, err)
		}
		if target.Host.NetworkMode == rt.NetworkHost {
			return nil, errors.New("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
		}
		if seen[alias] {
			return nil, ConflictError{fmt.Sprintf("Conflict. The name %q is already in use by the link %q", "/"+o.Name+"/"+alias, l)}
		}
		seen[alias] = true
		out = append(out, LegacyLink{Target: target.ID, Alias: alias})
	}
	return out, nil
}

// LinkStrings are HostConfig.Links as Docker's inspect shows them: "/TARGET:/NAME/ALIAS", with
// the target's name now; a link whose target is gone is left out.
func (m *Manager) LinkStrings(c *Container) []string {
	var out []string
	for _, l := range c.Host.Links {
		if t, _, err := m.Get(l.Target); err == nil {
			out = append(out, "/"+t.Name+":/"+c.Name+"/"+l.Alias)
		}
	}
	return out
}

// links are the container's legacy links as its start sees them: each target must run, and is
// described by its address on the default bridge. A target removed since is skipped (its link
// went with it, as in Docker).
func (m *Manager) links(c *Container) ([]network.Link, error) {
	var out []network.Link
	for _, l := range c.Host.Links {
		t, st, err := m.Get(l.Target)
		if errors.As(err, new(NotFoundError)) {
			continue
		} else if err != nil {
			return nil, err
		}
		if !st.Running() || st.Restarting() {
			return nil, fmt.Errorf("Cannot link to a non running container: /%s AS /%s/%s", t.Name, c.Name, l.Alias)
		}
		ip := linkIP(m.networkState(t.ID))
		var exposed []string
		for p := range t.Config.ExposedPorts {
			exposed = append(exposed, p)
		}
		out = append(out, network.Link{Alias: l.Alias, Parent: c.Name, Name: t.Name, Hostname: t.Config.Hostname,
			IP: ip, Exposed: exposed, Env: t.Config.Env})
	}
	return out, nil
}

// linkIP is a link target's address: on the default bridge, else its first network's.
func linkIP(ns *networkState) string {
	ip := ""
	if ns != nil {
		for _, ep := range ns.Endpoints {
			if ep.Network.IsDefault() || ip == "" {
				ip = ep.IP
			}
		}
	}
	return ip
}

// linkedMarker, in a container's directory, says a container was created with a legacy link to
// it: only then does its start look for linkers to update (updateLinkers).
const linkedMarker = "linked"

// markLinked leaves linkedMarker in the links' targets.
func (m *Manager) markLinked(links []LegacyLink) {
	for _, l := range links {
		if f, err := os.OpenFile(filepath.Join(m.dir(l.Target), linkedMarker), os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
}

// updateLinkers gives the running containers that link to c its address now, in their
// /etc/hosts and their links' variables (an exec's), as dockerd updates its linkers' hosts
// files when a link target starts (recorded: a target restarted on another address is found at
// the new one in its linkers' /etc/hosts, under every name of its line).
func (m *Manager) updateLinkers(c *Container) {
	if _, err := os.Stat(filepath.Join(m.dir(c.ID), linkedMarker)); err != nil {
		return
	}
	ip := linkIP(m.networkState(c.ID))
	if ip == "" {
		return
	}
	list, err := m.List()
	if err != nil {
		return
	}
	for _, p := range list {
		if !p.State.Running() || p.ID == c.ID {
			continue
		}
		aliases := map[string]bool{}
		for _, l := range p.Host.Links {
			if l.Target == c.ID {
				aliases[l.Alias] = true
			}
		}
		if len(aliases) == 0 {
			continue
		}
		m.editLinks(p.Container, func(links []network.Link) []network.Link {
			for i := range links {
				if aliases[links[i].Alias] {
					links[i].IP = ip
				}
			}
			return links
		})
	}
}

// linkEnv is the variables of all of a container's links, in link order.
func linkEnv(links []network.Link) []string {
	var env []string
	for _, l := range links {
		env = append(env, l.EnvVars()...)
	}
	return env
}

// linkHosts are /etc/hosts entries for the links, in --add-host's "NAMES:IP" form.
func linkHosts(links []network.Link) []string {
	var out []string
	for _, l := range links {
		if l.IP != "" {
			out = append(out, l.HostsNames()+":"+l.IP)
		}
	}
	return out
}

// RemoveLink is `rm --link /NAME/ALIAS` (DELETE /containers/NAME/ALIAS?link=1): the container
// NAME forgets its link ALIAS; a running one loses the link's /etc/hosts line at once.
func (m *Manager) RemoveLink(ref string) error {
	full := "/" + strings.TrimPrefix(ref, "/")
	parent, alias := filepath.Split(full)
	if parent == "/" {
		return ConflictError{"Conflict, cannot remove the default link name of the container"}
	}
	parent = strings.Trim(parent, "/")
	c, st, err := m.Get(parent)
	if err != nil {
		return NotFoundError{strings.TrimPrefix(ref, "/")}
	}
	var kept []LegacyLink
	found := false
	for _, l := range c.Host.Links {
		if l.Alias == alias {
			found = true
			continue
		}
		kept = append(kept, l)
	}
	if !found {
		return NotFoundError{strings.TrimPrefix(ref, "/")}
	}
	c.Host.Links = kept
	if err := m.saveRecord(c); err != nil {
		return err
	}
	if st.Running() {
		m.rewriteHosts(c)
	}
	return nil
}

// rewriteHosts writes a running container's /etc/hosts again without the links it no longer
// has (in place: the file is bind-mounted into the container).
func (m *Manager) rewriteHosts(c *Container) {
	keep := map[string]bool{}
	for _, l := range c.Host.Links {
		keep[l.Alias] = true
	}
	m.editLinks(c, func(old []network.Link) []network.Link {
		var links []network.Link
		for _, l := range old {
			if keep[l.Alias] {
				links = append(links, l)
			}
		}
		return links
	})
}

// editLinks changes the links a running container's start recorded and writes its /etc/hosts
// again from them.
func (m *Manager) editLinks(c *Container, edit func([]network.Link) []network.Link) {
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	ns := m.networkState(c.ID)
	if ns == nil || ns.primary() == nil {
		return
	}
	ns.Links = edit(ns.Links)
	if m.saveNetworkState(c.ID, ns) != nil {
		return
	}
	files, err := m.etcFiles(c, ns.primary().IP, false)
	if err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(m.dir(c.ID), "hosts"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return
	}
	f.Write(files["hosts"])
	f.Close()
}

// recordLinks keeps the links a start resolved with the container's network state, for its
// /etc/hosts, its exec's environment and `rm --link`.
func (m *Manager) recordLinks(c *Container, links []network.Link) error {
	if len(links) == 0 {
		return nil
	}
	unlock := m.lockNetwork(c.ID)
	defer unlock()
	ns := m.networkState(c.ID)
	if ns == nil {
		return nil
	}
	ns.Links = links
	return m.saveNetworkState(c.ID, ns)
}

// processEnv is the container's process environment with its links' variables, which Docker
// puts after PATH, HOSTNAME and TERM and before the container's own.
func (m *Manager) processEnv(c *Container) []string {
	var links []network.Link
	if len(c.Host.Links) > 0 {
		if ns := m.networkState(c.ID); ns != nil {
			links = ns.Links
		}
	}
	return ProcessEnvLinks(c.Config, linkEnv(links))
}
