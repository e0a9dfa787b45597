package api

// networkRoutes registers the network endpoints.
func (s *Server) networkRoutes() {
}
