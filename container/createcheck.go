package container

import (
	"errors"
	"strings"
)

// ErrConflictPublishNetwork is Docker's refusal to publish ports of a container without a
// network of its own.
var ErrConflictPublishNetwork = errors.New("conflicting options: port publishing and the container type network mode")

// checkCreate is what Docker's daemon checks and adjusts of a new container's host settings
// whichever face asked for it: the smallest memory limit, port publishing against the network
// mode (published ports are dropped, with a warning, on the host's network), the init binary.
func checkCreate(o *CreateOptions) (warnings []string, err error) {
	h := &o.Host
	if h.Memory > 0 && h.Memory < minMemory {
		return nil, errors.New("Minimum memory limit allowed is 6MB")
	}
	if len(h.PortBindings) > 0 || h.PublishAllPorts {
		switch mode := h.NetworkMode; {
		case mode == "none" || strings.HasPrefix(mode, "container:"):
			if len(h.PortBindings) > 0 {
				return nil, ErrConflictPublishNetwork
			}
		case mode == "host":
			if len(h.PortBindings) > 0 {
				warnings = append(warnings, "Published ports are discarded when using host network mode")
			}
			h.PortBindings, h.PublishAllPorts = nil, false
		}
	}
	if h.Init {
		if _, err := InitBinary(); err != nil {
			return nil, err
		}
	}
	return warnings, nil
}
