package api

// buildRoutes registers the build endpoints.
func (s *Server) buildRoutes() {
}
