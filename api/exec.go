package api

// execRoutes registers the exec endpoints.
func (s *Server) execRoutes() {
}
