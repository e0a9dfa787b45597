package api

import (
	"errors"
	"net/http"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/moby/moby/api/types/volume"
)

// volumeRoutes registers the volume endpoints.
func (s *Server) volumeRoutes() {
	s.handle("GET /volumes", s.volumeList)
	s.handle("POST /volumes/create", s.volumeCreate)
	s.handle("POST /volumes/prune", s.volumePrune)
	s.handle("GET /volumes/{name}", s.volumeInspect)
	s.handle("DELETE /volumes/{name}", s.volumeRemove)
}

// volumeErr gives the volume engine's errors dockerd's status and, for a missing volume,
// dockerd's wording (the CLI's "No such volume: NAME" is the docker CLI's own).
func volumeErr(op string, err error) error {
	var nf container.VolumeNotFoundError
	var inv container.InvalidVolumeError
	var drv container.VolumeDriverError
	var ife *format.InvalidFilterError
	switch {
	case errors.As(err, &nf):
		return notFound("%s %s: no such volume", op, nf.Name)
	case errors.As(err, &drv):
		return notFound("%s", drv.Error())
	case errors.As(err, &inv), errors.As(err, &ife):
		return badRequest("%v", err)
	}
	return err
}

// volumeCreate is POST /volumes/create: 201 and the volume (an existing one as it is).
func (s *Server) volumeCreate(w http.ResponseWriter, r *http.Request) error {
	var req volume.CreateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	v, err := s.containers.CreateVolumeWith(container.VolumeOptions{
		Name: req.Name, Driver: req.Driver, DriverOpts: req.DriverOpts, Labels: req.Labels,
	})
	if err != nil {
		return volumeErr("create", err)
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// volumeList is GET /volumes?filters=: {"Volumes": [...], "Warnings": null}.
func (s *Server) volumeList(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	vs, err := s.containers.VolumesFiltered(f)
	if err != nil {
		return volumeErr("list", err)
	}
	writeJSON(w, http.StatusOK, struct {
		Volumes  []container.Volume
		Warnings []string
	}{vs, nil})
	return nil
}

// volumeInspect is GET /volumes/{name}.
func (s *Server) volumeInspect(w http.ResponseWriter, r *http.Request) error {
	v, err := s.containers.InspectVolume(r.PathValue("name"))
	if err != nil {
		return volumeErr("get", err)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// volumeRemove is DELETE /volumes/{name}?force=: 204; 409 while a container uses it; force
// makes a missing volume no error.
func (s *Server) volumeRemove(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if err := s.containers.RemoveVolume(r.PathValue("name"), boolValue(r, "force")); err != nil {
		return volumeErr("get", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// volumePrune is POST /volumes/prune?filters=: unused volumes (from API 1.42 anonymous ones
// only, unless filter all=true), {"VolumesDeleted": [...], "SpaceReclaimed": N}.
func (s *Server) volumePrune(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	names, freed, err := s.containers.PruneVolumesFiltered(f, versionBefore(r.Context(), "1.42"))
	if err != nil {
		return volumeErr("prune", err)
	}
	if len(names) == 0 {
		names = nil
	}
	writeJSON(w, http.StatusOK, volume.PruneReport{VolumesDeleted: names, SpaceReclaimed: uint64(max(freed, 0))})
	return nil
}
