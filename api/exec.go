package api

// execRoutes registers the streams group's endpoints: attach and resize (attach.go) and exec.
func (s *Server) execRoutes() {
	s.attachRoutes()
}
