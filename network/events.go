package network

import "github.com/berth-engine/berth/events"

// Event appends a network event (create, destroy, connect, disconnect) about n to the journal
// under the manager's root, with Docker's attributes (name, type) and extra (a container's ID).
func (m *Manager) Event(action string, n Network, extra map[string]string) {
	attrs := map[string]string{"name": n.Name, "type": n.Driver}
	for k, v := range extra {
		attrs[k] = v
	}
	events.Log(m.Root, events.TypeNetwork, action, n.ID, attrs)
}
