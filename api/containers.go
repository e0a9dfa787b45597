package api

// containerRoutes registers the container endpoints.
func (s *Server) containerRoutes() {
}
