package api

import (
	"net/http"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/reference"
)

// imageCommit is POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=: `berth
// commit`, answered 201 {"Id": ...}. The body, a container config, is the new image's config,
// the changes applied to it and merged with the container's (container.MergeCommitConfig);
// without one ("null" or empty) the container's own is, as dockerd does.
func (s *Server) imageCommit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	var body *image.ContainerConfig
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ctr := r.Form.Get("container")
	if ctr == "" {
		return badRequest("container is required")
	}
	o := container.CommitOptions{Author: r.Form.Get("author"), Message: r.Form.Get("comment"),
		Changes: r.Form["changes"], Pause: boolValueOr(r, "pause", true), Context: r.Context(), Config: body}
	if repo := r.Form.Get("repo"); repo != "" {
		o.Ref = repo
		if tag := r.Form.Get("tag"); tag != "" {
			o.Ref += ":" + tag
		}
		if _, err := reference.ParseTagged(o.Ref); err != nil {
			return badRequest("%v", err)
		}
	}
	id, err := s.containers.Commit(ctr, o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		ID string `json:"Id"`
	}{id})
	return nil
}

// imageSearch is GET /images/search?term=&limit=&filters=: `berth search`.
func (s *Server) imageSearch(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	limit, err := intValue(r, "limit", 0)
	if err != nil {
		return err
	}
	term := r.Form.Get("term")
	if term == "" {
		return badRequest("term is required")
	}
	res, err := distribution.Search(r.Context(), term, distribution.SearchOptions{Limit: int(limit), Filters: f})
	if err != nil {
		return filterError(err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
