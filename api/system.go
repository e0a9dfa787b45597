package api

import (
	"net/http"
)

// systemRoutes: _ping, version, info, events, system/df, auth.
func (s *Server) systemRoutes() {
	s.handle("GET /_ping", s.ping)
	s.handle("HEAD /_ping", s.ping)
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
