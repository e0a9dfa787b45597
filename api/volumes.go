package api

// volumeRoutes registers the volume endpoints.
func (s *Server) volumeRoutes() {
}
