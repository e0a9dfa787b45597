package network

import (
	"strconv"
	"time"
)

// Resource is `network inspect`'s view of a network: Docker's NetworkResource, key for key.
type Resource struct {
	Name       string
	ID         string `json:"Id"`
	Created    time.Time
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       struct {
		Driver  string
		Options map[string]string
		Config  []IPAMConfig
	}
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigFrom struct{ Network string }
	ConfigOnly bool
	Containers map[string]ContainerEndpoint
	Options    map[string]string
	Labels     map[string]string
}

// ContainerEndpoint is one container in a network's inspect view.
type ContainerEndpoint struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

// Inspect returns a network's inspect view, with the containers attached to it now.
func (m *Manager) Inspect(ref string) (*Resource, error) {
	n, err := m.Get(ref)
	if err != nil {
		return nil, err
	}
	eps, err := m.Endpoints(n.ID)
	if err != nil {
		return nil, err
	}
	r := ResourceOf(n)
	for _, e := range eps {
		ce := ContainerEndpoint{Name: e.Name, EndpointID: e.EndpointID, MacAddress: e.MAC,
			IPv4Address: e.IP + "/" + strconv.Itoa(e.Prefix)}
		if e.IP6 != "" {
			ce.IPv6Address = e.IP6 + "/" + strconv.Itoa(e.Prefix6)
		}
		r.Containers[e.ContainerID] = ce
	}
	return r, nil
}

// ResourceOf is a network's inspect view without its containers (what Docker's list shows).
func ResourceOf(n Network) *Resource {
	r := &Resource{Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		EnableIPv6: n.EnableIPv6, Internal: n.Internal, Attachable: n.Attachable, Containers: map[string]ContainerEndpoint{},
		Options: n.Options, Labels: n.Labels}
	r.IPAM.Driver, r.IPAM.Config = "default", n.IPAM
	if r.IPAM.Config == nil {
		r.IPAM.Config = []IPAMConfig{}
	}
	if n.UserDefined() && !n.NoIPAMOptions {
		r.IPAM.Options = n.IPAMOptions
		if r.IPAM.Options == nil {
			r.IPAM.Options = map[string]string{}
		}
	}
	if r.Options == nil {
		r.Options = map[string]string{}
	}
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	return r
}
