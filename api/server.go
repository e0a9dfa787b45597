// Package api is berth's second face: the Docker Engine API server. Like internal/cli it only
// translates: an HTTP request becomes calls on the engine packages (image, container, network,
// build, distribution) and their results become Docker's JSON. Anything a handler would do beyond
// decoding, encoding and choosing a status belongs in an engine package, so the CLI and the API
// always give the same answer.
//
// Each endpoint group lives in a file of its own (system.go, images.go, build.go, containers.go,
// exec.go, volumes.go, networks.go) and registers its routes from one function called by New.
package api

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
)

// Config is what the serving process read from its flags and berth's config file.
type Config struct {
	Root         string // berth's state directory (--root)
	BerthVersion string // berth's own version, reported as the engine's
	// Networks are the settings of berth's config file the network manager needs.
	DefaultAddressPools []network.Pool
	// Registry is how pulls and pushes reach registries (insecure registries, certs.d).
	Registry distribution.Options
	// LogDefaults is the daemon-wide log driver and options (log-driver, log-opts).
	LogDefaults logging.Config
	// UsernsRemap is userns-remap: containers created through the API run remapped.
	UsernsRemap string
	// DefaultRuntime is default-runtime: the OCI runtime of containers created without one.
	DefaultRuntime string
	// BuilderGC is the build cache's automatic limit (builder.gc).
	BuilderGC build.GCConfig
	// Logf receives one line per failed request and per server event; nil logs nothing.
	Logf func(format string, args ...any)
}

// Server is the Engine API over one berth root. It is an http.Handler; Serve (listen.go) puts it
// on the sockets dockerd would listen on.
type Server struct {
	cfg        Config
	images     *image.Store
	containers *container.Manager
	networks   *network.Manager
	execs      container.Execs // exec instances live in the serving process, as in dockerd
	lists      listCaches      // what the listings encoded (listcache.go)
	mux        *http.ServeMux

	// streams counts hijacked connections and streaming responses, so Close can wait for them.
	streams sync.WaitGroup
	ctx     context.Context // cancelled by Close: every stream ends
	cancel  context.CancelFunc
}

// New opens berth's store under cfg.Root and registers every route.
func New(cfg Config) (*Server, error) {
	s, err := image.Open(cfg.Root)
	if err != nil {
		return nil, err
	}
	srv := &Server{
		cfg:        cfg,
		images:     s,
		containers: &container.Manager{Images: s, LogDefaults: cfg.LogDefaults, UsernsRemap: cfg.UsernsRemap, DefaultRuntime: cfg.DefaultRuntime, CacheRecords: true},
		networks:   &network.Manager{DB: s.DB, Root: s.Root, Pools: cfg.DefaultAddressPools},
		mux:        http.NewServeMux(),
	}
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
	srv.systemRoutes()
	srv.imageRoutes()
	srv.buildRoutes()
	srv.containerRoutes()
	srv.execRoutes()
	srv.volumeRoutes()
	srv.networkRoutes()
	return srv, nil
}

// Images is the image store the server reads (the web UI's berth-only endpoints share it).
func (s *Server) Images() *image.Store { return s.images }

// Close ends every stream the server is serving and closes the store.
func (s *Server) Close() error {
	s.cancel()
	s.streams.Wait()
	return s.images.Close()
}

// handlerFunc is an endpoint: it writes its answer, or returns an error that ServeHTTP turns
// into Docker's {"message": ...} with the matching status. An error returned after the handler
// has begun writing is only logged.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers pattern (net/http's "METHOD /path/{name}" form, without the /vN.NN prefix).
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rw := &trackingWriter{ResponseWriter: w}
		if err := h(rw, r); err != nil {
			if rw.wrote {
				s.logf("%s %s: %v (after the response began)", r.Method, r.URL.Path, err)
				return
			}
			s.writeError(rw, r, err)
		}
	})
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// ServeHTTP strips and checks the API version prefix, then routes. A panic in a handler is one
// 500 for that request, never the end of the server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, p, debug.Stack())
			writeJSON(w, http.StatusInternalServerError, errorBody{Message: fmt.Sprintf("internal error: %v", p)})
		}
	}()
	version, rest, err := splitVersion(r.URL.Path)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Message: err.Error()})
		return
	}
	w.Header().Set("Api-Version", MaxVersion)
	w.Header().Set("Server", "Docker/"+s.engineVersion()+" (linux)")
	w.Header().Set("Ostype", "linux")
	r2 := r.WithContext(withVersion(r.Context(), version))
	if rest != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
	}
	if _, pattern := s.mux.Handler(r2); pattern == "" {
		// Docker's router answers an unknown path, and a known path with another method, 404.
		writeJSON(w, http.StatusNotFound, errorBody{Message: "page not found"})
		return
	}
	s.mux.ServeHTTP(w, r2)
}

func (s *Server) engineVersion() string {
	if s.cfg.BerthVersion != "" {
		return s.cfg.BerthVersion
	}
	return "dev"
}

// Logger returns a Logf writing to the standard logger, for Config.Logf.
func Logger(prefix string) func(string, ...any) {
	return func(format string, args ...any) { log.Printf(prefix+format, args...) }
}
