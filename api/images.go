package api

// imageRoutes registers the image endpoints.
func (s *Server) imageRoutes() {
}
