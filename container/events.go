package container

import (
	"strconv"

	"github.com/berth-engine/berth/events"
)

// event appends a container event to the store's journal (package events) with Docker's
// attributes: the image as the user named it, the name, the container's labels, and extra.
func (m *Manager) event(action string, c *Container, extra map[string]string) {
	attrs := events.Attributes(map[string]string{"image": c.Image, "name": c.Name}, c.Config.Labels)
	for k, v := range extra {
		attrs[k] = v
	}
	events.Log(m.Images.Root, events.TypeContainer, action, c.ID, attrs)
}

// volumeEvent appends a volume event (create, destroy, mount, unmount).
func (m *Manager) volumeEvent(action, name string, extra map[string]string) {
	attrs := map[string]string{"driver": "local"}
	for k, v := range extra {
		attrs[k] = v
	}
	events.Log(m.Images.Root, events.TypeVolume, action, name, attrs)
}

// mountEvents appends a volume "mount" event for each named volume c mounts as it starts.
func (m *Manager) mountEvents(c *Container) {
	for _, mt := range c.Host.Mounts {
		if mt.Type != "volume" {
			continue
		}
		rw := "true"
		if mt.ReadOnly {
			rw = "false"
		}
		m.volumeEvent("mount", mt.Source, map[string]string{"container": c.ID, "destination": mt.Target,
			"propagation": "", "read/write": rw})
	}
}

// networkEvents appends a network connect (at start) or disconnect (at exit) event for each
// network c is on, as dockerd does when it joins and leaves them.
func (m *Manager) networkEvents(c *Container, action string) {
	if len(c.Networks) == 0 {
		return
	}
	nm := m.networks()
	for _, e := range c.Networks {
		if n, err := nm.Get(e.NetworkID); err == nil {
			nm.Event(action, n, map[string]string{"container": c.ID})
		}
	}
}

// startEvents are Docker's events of a start, in dockerd 20.10's order: the networks joined,
// the volumes mounted, start.
func (m *Manager) startEvents(c *Container) {
	m.networkEvents(c, "connect")
	m.mountEvents(c)
	m.event("start", c, nil)
}

// unmountEvents appends a volume "unmount" event for each named volume c had mounted.
func (m *Manager) unmountEvents(c *Container) {
	for _, mt := range c.Host.Mounts {
		if mt.Type == "volume" {
			m.volumeEvent("unmount", mt.Source, map[string]string{"container": c.ID})
		}
	}
}

// dieEvents are Docker's events of an exit: die with the exit code, the networks left, the
// volumes unmounted.
func (m *Manager) dieEvents(c *Container, code int) {
	m.event("die", c, map[string]string{"exitCode": strconv.Itoa(code)})
	m.networkEvents(c, "disconnect")
	m.unmountEvents(c)
}
