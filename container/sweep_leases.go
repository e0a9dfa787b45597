package container

import (
	"encoding/json"
	"errors"

	"github.com/berth-engine/berth/network"
)

// releaseUnrecordedLeases releases the address leases a killed berth took while attaching a
// container to its networks but never recorded as endpoints: the netlink fast path leases an
// address before the endpoint row is written.
// Without a database (a sweep over a bare root) there is no network to look up, and nothing
// was leased through one.
func (m *Manager) releaseUnrecordedLeases(c *Container) {
	if m.Images == nil || m.Images.DB == nil {
		return
	}
	nets := m.networks()
	d := m.netDriver()
	for i, ec := range c.endpointConfigs() {
		n, err := nets.Get(ec.NetworkID)
		if errors.As(err, new(network.NotFoundError)) || ec.NetworkID == "" {
			n, err = nets.Get(ec.Network)
		}
		if err != nil {
			continue
		}
		d.Release("", c.ID, network.Endpoint{Network: n, IfName: network.IfName(i), Results: []json.RawMessage{nil}})
	}
}
