package api

import "net/http"

// berth has no swarm mode. dockerd outside a swarm answers the swarm endpoints with 503 and these
// messages, and clients depend on them: docker-py's network tests leave a swarm they may have
// joined (force) and take "not part of a swarm" as done; `docker info` and GUIs read /swarm.
// Registered with the network routes, whose clients are the ones that ask.
func (s *Server) swarmRoutes() {
	notManager := func(w http.ResponseWriter, r *http.Request) error {
		return statusErr(http.StatusServiceUnavailable, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
	}
	for _, p := range []string{"GET /swarm", "GET /swarm/unlockkey", "GET /nodes", "GET /services", "GET /tasks", "GET /secrets", "GET /configs"} {
		s.handle(p, notManager)
	}
	s.handle("POST /swarm/leave", func(w http.ResponseWriter, r *http.Request) error {
		return statusErr(http.StatusServiceUnavailable, "This node is not part of a swarm")
	})
	noSwarm := func(w http.ResponseWriter, r *http.Request) error {
		return statusErr(http.StatusServiceUnavailable, "berth has no swarm mode: swarm init/join are not supported")
	}
	s.handle("POST /swarm/init", noSwarm)
	s.handle("POST /swarm/join", noSwarm)
}
