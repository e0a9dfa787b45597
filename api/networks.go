package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/network"
)

// networkRoutes registers the network endpoints.
func (s *Server) networkRoutes() {
	s.handle("GET /networks", s.networkList)
	s.handle("POST /networks/create", s.networkCreate)
	s.handle("POST /networks/prune", s.networkPrune)
	s.handle("GET /networks/{id}", s.networkInspect)
	s.handle("DELETE /networks/{id}", s.networkRemove)
	s.handle("POST /networks/{id}/connect", s.networkConnect)
	s.handle("POST /networks/{id}/disconnect", s.networkDisconnect)
	s.swarmRoutes()
}

// networkErr gives the network engine's errors dockerd's status and, for a missing network,
// dockerd's wording (the CLI's "No such network" is the docker CLI's own).
func networkErr(err error) error {
	var nf network.NotFoundError
	var nc network.ConflictError
	var inv network.InvalidFilterError
	var ife *format.InvalidFilterError
	switch {
	case errors.As(err, &nf):
		return notFound("network %s not found", nf.Ref)
	case errors.As(err, &inv), errors.As(err, &ife):
		return badRequest("%v", err)
	case errors.As(err, &nc):
		// dockerd's Forbidden: what no request may do to a network, as opposed to a name taken.
		for _, forbidden := range []string{"pre-defined network", "predefined", "only one instance", "has active endpoints"} {
			if strings.Contains(nc.Msg, forbidden) {
				return statusErr(http.StatusForbidden, "%s", nc.Msg)
			}
		}
	}
	return err
}

// networkCreateRequest is dockerd's network create body (the fields berth reads; the moby types
// use netip values that refuse the empty strings clients send).
type networkCreateRequest struct {
	Name           string
	CheckDuplicate *bool
	Driver         string
	Scope          string
	EnableIPv6     *bool
	IPAM           *struct {
		Driver string
		Config []struct {
			Subnet, IPRange, Gateway string
			AuxiliaryAddresses       map[string]string `json:"AuxiliaryAddresses"`
		}
		Options map[string]string
	}
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigOnly bool
	ConfigFrom *struct{ Network string }
	Options    map[string]string
	Labels     map[string]string
}

// networkCreate is POST /networks/create: 201 {"Id": ..., "Warning": ""}.
func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request) error {
	var req networkCreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return badRequest("invalid name: %s", req.Name)
	}
	switch {
	case req.Ingress || req.ConfigOnly || req.ConfigFrom != nil && req.ConfigFrom.Network != "":
		return badRequest("Ingress, ConfigOnly and ConfigFrom networks are swarm's; berth has no swarm mode")
	case req.Scope != "" && req.Scope != "local":
		return badRequest("berth networks are local: scope %q is not supported", req.Scope)
	}
	o := network.CreateOptions{Name: req.Name, Driver: req.Driver, Internal: req.Internal, Attachable: req.Attachable,
		Labels: req.Labels, Options: req.Options, EnableIPv6: req.EnableIPv6 != nil && *req.EnableIPv6}
	if req.IPAM != nil {
		if req.IPAM.Driver != "" && req.IPAM.Driver != "default" {
			return notFound("plugin %q not found", req.IPAM.Driver)
		}
		var cs []network.IPAMConfig
		for _, c := range req.IPAM.Config {
			cs = append(cs, network.IPAMConfig{Subnet: c.Subnet, IPRange: c.IPRange, Gateway: c.Gateway, AuxiliaryAddresses: c.AuxiliaryAddresses})
		}
		var err error
		if o.IPAM, o.IPAM6, err = network.SplitIPAM(cs); err != nil {
			return badRequest("%v", err)
		}
		o.IPAMOptions = req.IPAM.Options
	}
	// The engine's own validation first, which touches nothing: what it refuses is the
	// request's fault (400), or a conflict, or a driver that is not there (404).
	if _, err := network.Plan(o, "", time.Now()); err != nil {
		var nc network.ConflictError
		switch {
		case errors.As(err, &nc):
			return networkErr(err)
		case strings.HasPrefix(err.Error(), "plugin "):
			return notFound("%v", err)
		}
		return badRequest("%v", err)
	}
	n, err := s.networks.Create(o)
	if err != nil {
		return networkErr(err)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"Id": n.ID, "Warning": ""})
	return nil
}

// networkList is GET /networks?filters=: every network's inspect view, without containers.
func (s *Server) networkList(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	nets, err := s.networks.ListFiltered(f)
	if err != nil {
		return networkErr(err)
	}
	out := make([]*network.Resource, 0, len(nets))
	for _, n := range nets {
		out = append(out, network.ResourceOf(n))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// networkInspect is GET /networks/{id}, with the containers attached to it.
func (s *Server) networkInspect(w http.ResponseWriter, r *http.Request) error {
	res, err := s.networks.Inspect(r.PathValue("id"))
	if err != nil {
		return networkErr(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// networkRemove is DELETE /networks/{id}: 204.
func (s *Server) networkRemove(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.RemoveNetwork(r.PathValue("id")); err != nil {
		return networkErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// networkPrune is POST /networks/prune?filters=: {"NetworksDeleted": [...]}.
func (s *Server) networkPrune(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	names, err := s.containers.PruneNetworksFiltered(f)
	if err != nil {
		return networkErr(err)
	}
	writeJSON(w, http.StatusOK, map[string][]string{"NetworksDeleted": names})
	return nil
}

// endpointSettings is the part of dockerd's EndpointSettings a connect reads.
type endpointSettings struct {
	IPAMConfig *struct {
		IPv4Address, IPv6Address string
		LinkLocalIPs             []string
	}
	Links      []string
	Aliases    []string
	MacAddress string
	DriverOpts map[string]string
}

// networkConnect is POST /networks/{id}/connect {"Container", "EndpointConfig"}.
func (s *Server) networkConnect(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Container      string
		EndpointConfig *endpointSettings
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return badRequest("container name or ID is required")
	}
	var opts container.EndpointOptions
	if ec := req.EndpointConfig; ec != nil {
		opts = container.EndpointOptions{Aliases: ec.Aliases, MacAddress: ec.MacAddress, Links: ec.Links, DriverOpts: ec.DriverOpts}
		if ec.IPAMConfig != nil {
			opts.IPv4Address, opts.IPv6Address, opts.LinkLocalIPs = ec.IPAMConfig.IPv4Address, ec.IPAMConfig.IPv6Address, ec.IPAMConfig.LinkLocalIPs
		}
	}
	if err := s.containers.Connect(r.PathValue("id"), req.Container, opts); err != nil {
		return networkErr(engineConnectErr(err))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// networkDisconnect is POST /networks/{id}/disconnect {"Container", "Force"}.
func (s *Server) networkDisconnect(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Container string
		Force     bool
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Container == "" {
		return badRequest("container name or ID is required")
	}
	if err := s.containers.Disconnect(r.PathValue("id"), req.Container, req.Force); err != nil {
		return networkErr(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// engineConnectErr: the engine's plain refusals of a connect's parameters are a 400.
func engineConnectErr(err error) error {
	msg := err.Error()
	for _, bad := range []string{"aliases are only supported", "links are only supported", "invalid IPv4 address", "invalid IPv6 address",
		"is not a valid mac address", "invalid link-local", "bad format for links", "user specified IP address", "does not belong to any"} {
		if strings.Contains(msg, bad) {
			return badRequest("%s", msg)
		}
	}
	return err
}
