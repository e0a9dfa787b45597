package registry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Server is a registry speaking the OCI distribution spec (v1.1, with referrers) and the Docker
// Registry HTTP API v2 headers, plus Docker Hub's v1 search endpoint. It is an http.Handler.
type Server struct {
	cfg     Config
	store   backend
	spool   *spool
	auth    *authorizer
	proxy   *proxy
	metrics *metrics
	search  *searchIndex
}

const defaultMaxManifestSize = 4 << 20

// New opens (creating if needed) the storage and returns a server for it.
func New(cfg Config) (*Server, error) {
	if cfg.Storage == "" {
		return nil, errors.New("registry: no storage directory")
	}
	if cfg.MaxManifestSize <= 0 {
		cfg.MaxManifestSize = defaultMaxManifestSize
	}
	s := &Server{cfg: cfg, metrics: newMetrics()}
	var err error
	if cfg.S3 != nil {
		if s.store, err = newS3Store(*cfg.S3); err != nil {
			return nil, err
		}
	} else if s.store, err = openStore(cfg.Storage, !cfg.NoSync); err != nil {
		return nil, err
	}
	if s.spool, err = newSpool(filepath.Join(cfg.Storage, "uploads"), !cfg.NoSync, s.store.commitBlob); err != nil {
		return nil, err
	}
	s.search = &searchIndex{s: s, desc: map[digest.Digest]string{}}
	if s.auth, err = newAuthorizer(cfg); err != nil {
		return nil, err
	}
	if cfg.Proxy.URL != "" {
		if s.proxy, err = newProxy(cfg.Proxy, s.store, s.spool); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ServeHTTP logs and counts every request and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
	s.metrics.inflight.Add(1)
	defer func() {
		s.metrics.inflight.Add(-1)
		d := time.Since(start)
		s.metrics.observe(r.Method, lw.status, lw.bytes, d)
		if s.cfg.Log != nil {
			line := fmt.Sprintf("%s %s %s %q %d %d %s", start.UTC().Format(time.RFC3339), remoteHost(r), r.Method,
				r.URL.RequestURI(), lw.status, lw.bytes, d.Round(time.Microsecond))
			if lw.err != nil {
				line += fmt.Sprintf(" error=%q", lw.err.Error())
			}
			fmt.Fprintln(s.cfg.Log, line)
		}
	}()
	s.route(lw, r)
}

func remoteHost(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return r.RemoteAddr[:i]
	}
	return r.RemoteAddr
}

var v2Route = lazyRegexp(`^/v2/(.+?)/(tags/list|manifests/([^/]+)|blobs/uploads/?([^/]*)|blobs/([^/]+)|referrers/([^/]+))$`)

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/metrics":
		s.metrics.serve(w, r)
		return
	case p == "/token":
		s.auth.serveToken(w, r)
		return
	case p == "/v1/_ping" || p == "/v1/_ping/":
		s.serveV1Ping(w, r)
		return
	case p == "/v1/search":
		s.serveSearch(w, r)
		return
	case !strings.HasPrefix(p, "/v2"):
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if p == "/v2" || p == "/v2/" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, r, errUnsupported("method %s not allowed", r.Method))
			return
		}
		if _, err := s.auth.check(w, r, "", nil); err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		if r.Method == http.MethodGet {
			io.WriteString(w, "{}")
		}
		return
	}
	if p == "/v2/_catalog" {
		s.serveCatalog(w, r)
		return
	}
	m := v2Route().FindStringSubmatch(p)
	if m == nil {
		writeError(w, r, errf(http.StatusNotFound, "NOT_FOUND", "no route for %s", p))
		return
	}
	repo := m[1]
	if !ValidName(repo) {
		writeError(w, r, errNameInvalid(repo))
		return
	}
	var err error
	switch {
	case m[2] == "tags/list":
		err = s.need(w, r, repo, "pull", http.MethodGet, http.MethodHead)
		if err == nil {
			err = s.tagsList(w, r, repo)
		}
	case strings.HasPrefix(m[2], "manifests/"):
		err = s.manifests(w, r, repo, m[3])
	case strings.HasPrefix(m[2], "blobs/uploads"):
		err = s.uploads(w, r, repo, m[4])
	case strings.HasPrefix(m[2], "blobs/"):
		err = s.blobs(w, r, repo, m[5])
	case strings.HasPrefix(m[2], "referrers/"):
		err = s.need(w, r, repo, "pull", http.MethodGet, http.MethodHead)
		if err == nil {
			err = s.referrersList(w, r, repo, m[6])
		}
	}
	if err != nil {
		writeError(w, r, err)
	}
}

// need checks the method against allowed ones and the client's right to action on repo.
func (s *Server) need(w http.ResponseWriter, r *http.Request, repo, action string, methods ...string) error {
	if !slices.Contains(methods, r.Method) {
		return errUnsupported("method %s not allowed here", r.Method)
	}
	if action != "pull" && (s.cfg.ReadOnly || s.proxy != nil) {
		return errUnsupported("the registry is read-only")
	}
	_, err := s.auth.check(w, r, repo, []string{action})
	return err
}

func actionFor(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "pull"
	case http.MethodDelete:
		return "delete"
	}
	return "push"
}

// ---- blobs

func (s *Server) blobs(w http.ResponseWriter, r *http.Request, repo, ref string) error {
	if err := s.need(w, r, repo, actionFor(r.Method), http.MethodGet, http.MethodHead, http.MethodDelete); err != nil {
		return err
	}
	d, ok := parseDigest(ref)
	if !ok {
		return errDigestInvalid("invalid digest %q", ref)
	}
	if r.Method == http.MethodDelete {
		ok, err := s.store.unlinkBlob(repo, d)
		if err != nil {
			return err
		}
		if !ok {
			return errBlobUnknown(d)
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	if !s.store.repoHasBlob(repo, d) {
		if s.proxy == nil {
			return errBlobUnknown(d)
		}
		return s.proxy.serveBlob(w, r, repo, d)
	}
	f, err := s.store.openBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// ---- uploads

func (s *Server) uploadLocation(w http.ResponseWriter, repo string, u *upload) {
	end := u.size - 1
	if end < 0 {
		end = 0
	}
	h := w.Header()
	h.Set("Location", "/v2/"+repo+"/blobs/uploads/"+u.id)
	h.Set("Range", fmt.Sprintf("0-%d", end))
	h.Set("Docker-Upload-UUID", u.id)
	h.Set("Content-Length", "0")
}

func (s *Server) blobCreated(w http.ResponseWriter, repo string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+repo+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) blobLimit() int64 {
	if s.cfg.MaxBlobSize > 0 {
		return s.cfg.MaxBlobSize
	}
	return -1
}

func (s *Server) uploads(w http.ResponseWriter, r *http.Request, repo, id string) error {
	if id == "" {
		if err := s.need(w, r, repo, "push", http.MethodPost); err != nil {
			return err
		}
		return s.startUpload(w, r, repo)
	}
	if err := s.need(w, r, repo, "push", http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPut, http.MethodDelete); err != nil {
		return err
	}
	u, err := s.spool.getUpload(repo, id)
	if err != nil {
		return err
	}
	defer s.spool.release(u)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.uploadLocation(w, repo, u)
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodDelete:
		s.spool.finishUpload(u)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPatch:
		if err := s.appendChunk(w, r, repo, u); err != nil {
			return err
		}
		s.uploadLocation(w, repo, u)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	// PUT: an optional last chunk, then the digest that closes the upload.
	dq := r.URL.Query().Get("digest")
	d, ok := parseDigest(dq)
	if !ok {
		return errDigestInvalid("invalid or missing digest %q", dq)
	}
	if err := s.appendChunk(w, r, repo, u); err != nil {
		return err
	}
	if err := s.spool.commitUpload(u, d); err != nil {
		return err
	}
	s.metrics.pushedBlobs.Add(1)
	s.blobCreated(w, repo, d)
	return nil
}

// appendChunk adds the request body to the session. Chunks must come in order: a Content-Range
// that does not start where the session ends is answered 416 with the session's current range.
func (s *Server) appendChunk(w http.ResponseWriter, r *http.Request, repo string, u *upload) error {
	if cr := r.Header.Get("Content-Range"); cr != "" {
		cr = strings.TrimPrefix(strings.TrimPrefix(cr, "bytes "), "bytes=")
		a, b, ok := strings.Cut(cr, "-")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || end < start {
			s.uploadLocation(w, repo, u)
			return errRangeInvalid("invalid Content-Range %q", r.Header.Get("Content-Range"))
		}
		if start != u.size {
			s.uploadLocation(w, repo, u)
			return errRangeInvalid("chunk starts at %d but the upload holds %d bytes", start, u.size)
		}
		if r.ContentLength >= 0 && r.ContentLength != end-start+1 {
			s.uploadLocation(w, repo, u)
			return errRangeInvalid("Content-Range %q does not match Content-Length %d", cr, r.ContentLength)
		}
	}
	before := u.size
	n, err := u.append(r.Body, s.blobLimit())
	s.metrics.bytesIn.Add(n)
	if err != nil {
		if _, ok := err.(*apiError); !ok {
			// The client went away mid-chunk: drop what it sent so the session stays resumable.
			if terr := u.truncate(before); terr != nil {
				s.spool.finishUpload(u)
			}
			return errUploadInvalid("reading the chunk: %v", err)
		}
		s.spool.finishUpload(u)
		return err
	}
	if r.ContentLength > 0 && n != r.ContentLength {
		if err := u.truncate(before); err != nil {
			s.spool.finishUpload(u)
		}
		return errSizeInvalid("got %d bytes, Content-Length said %d", n, r.ContentLength)
	}
	return nil
}

func (s *Server) startUpload(w http.ResponseWriter, r *http.Request, repo string) error {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, ok := parseDigest(m)
		if !ok {
			return errDigestInvalid("invalid digest %q", m)
		}
		if s.canMount(r, repo, q.Get("from"), d) {
			ok, err := s.store.mountBlob(repo, d)
			if err != nil {
				return err
			}
			if ok {
				s.blobCreated(w, repo, d)
				return nil
			}
		}
		// Not mountable: fall back to an ordinary upload session, as the spec asks.
	}
	u, err := s.spool.startUpload(repo)
	if err != nil {
		return err
	}
	defer s.spool.release(u)
	if dq := q.Get("digest"); dq != "" {
		d, ok := parseDigest(dq)
		if !ok {
			s.spool.finishUpload(u)
			return errDigestInvalid("invalid digest %q", dq)
		}
		if _, err := u.append(r.Body, s.blobLimit()); err != nil {
			s.spool.finishUpload(u)
			if _, ok := err.(*apiError); ok {
				return err
			}
			return errUploadInvalid("reading the blob: %v", err)
		}
		s.metrics.bytesIn.Add(u.size)
		if err := s.spool.commitUpload(u, d); err != nil {
			s.spool.finishUpload(u)
			return err
		}
		s.metrics.pushedBlobs.Add(1)
		s.blobCreated(w, repo, d)
		return nil
	}
	s.uploadLocation(w, repo, u)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// canMount decides whether a blob may be linked into repo without being uploaded: from names a
// repository the client may pull holding the blob; without from, only a registry with no access
// control mounts anonymously (there, every blob is readable by everyone anyway).
func (s *Server) canMount(r *http.Request, repo, from string, d digest.Digest) bool {
	if from == "" {
		return !s.auth.enabled() && s.store.blobExists(d)
	}
	if !ValidName(from) || !s.store.repoHasBlob(from, d) {
		return false
	}
	return s.auth.allowed(r, from, "pull")
}

// ---- tags and catalog

// paginate applies the spec's n and last parameters to a sorted list and sets the Link header
// when more entries follow.
func paginate(w http.ResponseWriter, r *http.Request, all []string, base string) ([]string, error) {
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i, _ := slices.BinarySearch(all, last)
		if i < len(all) && all[i] == last {
			i++
		}
		all = all[i:]
	}
	if ns := q.Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 0 {
			return nil, errf(http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid n %q", ns)
		}
		if n < len(all) {
			all = all[:n]
			if n > 0 {
				v := url.Values{"last": {all[n-1]}, "n": {ns}}
				w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, base, v.Encode()))
			}
		}
	}
	if all == nil {
		all = []string{}
	}
	return all, nil
}

func (s *Server) tagsList(w http.ResponseWriter, r *http.Request, repo string) error {
	if s.proxy != nil && !s.store.repoExists(repo) {
		return errNameUnknown(repo)
	}
	tags, err := s.store.listTags(repo)
	if err != nil {
		if !s.store.repoExists(repo) {
			return errNameUnknown(repo)
		}
		tags = nil
	}
	tags, err = paginate(w, r, tags, "/v2/"+repo+"/tags/list")
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo, tags})
}

func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, errUnsupported("method %s not allowed", r.Method))
		return
	}
	if _, err := s.auth.check(w, r, "", nil); err != nil {
		writeError(w, r, err)
		return
	}
	repos, err := s.store.repositories()
	if err != nil {
		writeError(w, r, err)
		return
	}
	repos = slices.DeleteFunc(repos, func(n string) bool { return !s.auth.allowed(r, n, "pull") })
	repos, err = paginate(w, r, repos, "/v2/_catalog")
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := writeJSON(w, r, http.StatusOK, "application/json", map[string][]string{"repositories": repos}); err != nil {
		writeError(w, r, err)
	}
}
