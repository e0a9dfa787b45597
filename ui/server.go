// Package ui is berth's web UI: static pages (HTML, CSS and plain ES modules embedded in the
// binary, no build step) that are a client of the Docker Engine API served by package api on the
// same origin, plus the few berth-only endpoints under /berth/ for what the Engine API lacks
// (layer file trees and analysis, shared/unique sizes, registry search over catalogs, the
// terminal's WebSocket).
//
// A web page on loopback that can create containers is root on the host if any other web page
// can reach it, so every request passes the guard in guard.go: the Host must be the bound address
// or localhost (DNS rebinding), a state-changing request must come from this origin (CSRF), and
// every request must carry the token printed at start (as the cookie the first visit sets, or as
// `Authorization: Bearer`, which a Docker client can send).
package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"sync"

	"github.com/berth-engine/berth/api"
	"github.com/berth-engine/berth/image"
)

//go:embed static
var staticFS embed.FS

// Options configure a UI server.
type Options struct {
	// API is the Engine API the pages talk to; it is mounted at its usual paths.
	API *api.Server
	// Images is the store the berth-only endpoints read (the API's own).
	Images *image.Store
	// Token is the secret every request must carry; New makes a random one when empty.
	Token string
	// Hosts are the Host header values accepted besides localhost and the bound address (set by
	// Listen); a wildcard bind accepts the machine's own addresses.
	Hosts []string
	// TLS is true when the listener speaks TLS (the cookie is then Secure).
	TLS bool
	// Logf receives one line per refused request; nil logs nothing.
	Logf func(format string, args ...any)
}

// Server is the UI's http.Handler.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	static http.Handler

	// analyzed caches the last image read for the layer browser: reading every layer of an image
	// is the slow part, and a user clicks through one image's layers at a time. One entry keeps
	// the idle process small.
	mu       sync.Mutex
	analyzed *analyzedImage
}

// New makes the UI's handler.
func New(o Options) (*Server, error) {
	if o.Token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		o.Token = hex.EncodeToString(b)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	etags, err := contentTags(sub)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, mux: http.NewServeMux(), static: withETags(etags, http.FileServerFS(sub))}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.Handle("GET /static/", http.StripPrefix("/static", s.static))
	s.berthRoutes()
	if o.API != nil {
		// Everything else is the Engine API at its usual paths (/_ping, /v1.41/images/json ...).
		s.mux.Handle("/", o.API)
	}
	return s, nil
}

// contentTags hashes every embedded file once: the ETag a browser revalidates its copy with, so
// a page load costs 304s instead of the scripts again (embedded files have no modification time).
func contentTags(fsys fs.FS) (map[string]string, error) {
	tags := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags["/"+p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return tags, err
}

func withETags(tags map[string]string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t, ok := tags[r.URL.Path]; ok {
			w.Header().Set("ETag", t)
			w.Header().Set("Cache-Control", "no-cache")
		}
		h.ServeHTTP(w, r)
	})
}

// Token is the secret the URL carries.
func (s *Server) Token() string { return s.opts.Token }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// ServeHTTP guards, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No Access-Control-* header is ever sent: another origin's script cannot read an answer.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if !s.guard(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// index serves the single page. A first visit with ?token= stores the token in the cookie and
// redirects to the bare URL, so the token leaves the address bar and the history.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("token") {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("Cache-Control", "no-store")
	b, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}
