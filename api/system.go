package api

import (
	"net/http"
	goruntime "runtime"
)

// systemRoutes: _ping, version, info, events, system/df, auth.
func (s *Server) systemRoutes() {
	s.handle("GET /_ping", s.ping)
	s.handle("HEAD /_ping", s.ping)
	s.handle("GET /version", s.version)
}

// version is GET /version. TODO(system group): the same document as `berth version`'s Server
// section (components, runtimes), built by one engine-side function for both faces.
func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"Platform":      map[string]string{"Name": "berth"},
		"Version":       s.engineVersion(),
		"ApiVersion":    MaxVersion,
		"MinAPIVersion": MinVersion,
		"GoVersion":     goruntime.Version(),
		"Os":            goruntime.GOOS,
		"Arch":          goruntime.GOARCH,
	})
	return nil
}

// ping is dockerd's /_ping: "OK" with the headers clients negotiate the version from.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Builder-Version", "1") // the classic builder: BuildKit's session API is not served
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		return nil
	}
	_, err := w.Write([]byte("OK"))
	return err
}
