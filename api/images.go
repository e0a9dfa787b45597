package api

import "net/http"

// imageRoutes registers the image endpoints.
func (s *Server) imageRoutes() {
	s.handle("GET /images/{name...}", s.imageGet)
}

// imageGet routes GET /images/NAME/json (and, for the images group, /history, /get): an image
// name may hold slashes, so the name is everything before the last path element.
func (s *Server) imageGet(w http.ResponseWriter, r *http.Request) error {
	name, what := splitLast(r.PathValue("name"))
	switch what {
	case "json":
		resp, err := s.images.Inspect(name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	}
	return notFound("page not found")
}
