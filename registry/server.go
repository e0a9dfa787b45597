package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
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
	auth    *authorizer
	trusted []*net.IPNet // proxies whose X-Forwarded-* headers are believed
	proxy   *proxy
	metrics *metrics
	search  *searchIndex
}

const defaultMaxManifestSize = 4 << 20

// New opens (creating if needed) the storage and returns a server for it.
func New(cfg Config) (*Server, error) {
	if cfg.Storage == "" && cfg.S3 == nil {
		return nil, errors.New("registry: no storage directory")
	}
	if cfg.MaxManifestSize <= 0 {
		cfg.MaxManifestSize = defaultMaxManifestSize
	}
	if t := cfg.Auth.Token; t != nil && t.Key == "" && cfg.S3 != nil {
		return nil, errors.New("registry: token auth with S3 storage needs auth.token.key: replicas " +
			"sharing the bucket must sign tokens with the same key, or each refuses the tokens of the others")
	}
	s := &Server{cfg: cfg, metrics: newMetrics()}
	var err error
	if s.trusted, err = parseTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if cfg.S3 != nil {
		if s.store, err = newS3Store(*cfg.S3); err != nil {
			return nil, err
		}
	} else if s.store, err = openStore(cfg.Storage, !cfg.NoSync); err != nil {
		return nil, err
	}
	s.search = &searchIndex{s: s, desc: map[digest.Digest]string{}}
	if s.auth, err = newAuthorizer(cfg); err != nil {
		return nil, err
	}
	s.auth.base = s.externalBase
	if cfg.Proxy.URL != "" {
		if s.proxy, err = newProxy(cfg.Proxy, s.store); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseTrustedProxies reads Config.TrustedProxies: addresses or CIDR prefixes.
func parseTrustedProxies(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range list {
		if !strings.Contains(p, "/") {
			ip := net.ParseIP(p)
			if ip == nil {
				return nil, fmt.Errorf("registry: trustedProxies: %q is not an IP address or CIDR prefix", p)
			}
			bits := 8 * len(ip.To16())
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("registry: trustedProxies: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// externalBase is the scheme://host clients reach this registry at, when the request came
// through a trusted proxy (a load balancer ending TLS) that said so in X-Forwarded-Proto and
// X-Forwarded-Host; "" otherwise, and locations stay relative to what the client asked.
func (s *Server) externalBase(r *http.Request) string {
	if len(s.trusted) == 0 {
		return ""
	}
	ip := net.ParseIP(remoteHost(r))
	trusted := false
	for _, n := range s.trusted {
		if ip != nil && n.Contains(ip) {
			trusted = true
			break
		}
	}
	if !trusted {
		return ""
	}
	// With several proxies in a row each appends its own value: the first is the client's.
	first := func(v string) string {
		v, _, _ = strings.Cut(v, ",")
		return strings.TrimSpace(v)
	}
	proto, host := first(r.Header.Get("X-Forwarded-Proto")), first(r.Header.Get("X-Forwarded-Host"))
	if proto != "http" && proto != "https" {
		proto = "http"
		if r.TLS != nil {
			proto = "https"
		}
	}
	if host == "" {
		host = r.Host
	}
	if strings.ContainsAny(host, "/ \t@?#") {
		return ""
	}
	return proto + "://" + host
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
		return strings.Trim(r.RemoteAddr[:i], "[]")
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
	ctx := r.Context()
	if r.Method == http.MethodDelete {
		ok, err := s.store.unlinkBlob(ctx, repo, d)
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
	if ok, err := s.store.repoHasBlob(ctx, repo, d); err != nil {
		return err
	} else if !ok {
		if s.proxy == nil {
			return errBlobUnknown(d)
		}
		return s.proxy.serveBlob(w, r, repo, d)
	}
	f, err := s.store.openBlob(ctx, d)
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

func (s *Server) uploadLocation(w http.ResponseWriter, r *http.Request, repo string, u uploadSession) {
	end := u.Size() - 1
	if end < 0 {
		end = 0
	}
	h := w.Header()
	h.Set("Location", s.externalBase(r)+"/v2/"+repo+"/blobs/uploads/"+u.ID())
	h.Set("Range", fmt.Sprintf("0-%d", end))
	h.Set("Docker-Upload-UUID", u.ID())
	h.Set("Content-Length", "0")
}

func (s *Server) blobCreated(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", s.externalBase(r)+"/v2/"+repo+"/blobs/"+d.String())
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
	ctx := r.Context()
	u, err := s.store.uploads().resume(ctx, repo, id)
	if err != nil {
		return err
	}
	defer u.release()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.uploadLocation(w, r, repo, u)
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodDelete:
		u.cancel(ctx)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPatch:
		if err := s.checkChunk(w, r, repo, u); err != nil {
			return err
		}
		n, err := u.write(ctx, r.Body, s.blobLimit(), chunkLength(r))
		s.metrics.bytesIn.Add(n)
		if err != nil {
			return s.chunkFailed(ctx, u, err)
		}
		s.uploadLocation(w, r, repo, u)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	// PUT: an optional last chunk, then the digest that closes the upload.
	dq := r.URL.Query().Get("digest")
	d, ok := parseDigest(dq)
	if !ok {
		return errDigestInvalid("invalid or missing digest %q", dq)
	}
	if err := s.checkChunk(w, r, repo, u); err != nil {
		return err
	}
	n, err := u.commit(ctx, r.Body, s.blobLimit(), chunkLength(r), d)
	s.metrics.bytesIn.Add(n)
	if err != nil {
		return s.chunkFailed(ctx, u, err)
	}
	s.metrics.pushedBlobs.Add(1)
	s.blobCreated(w, r, repo, d)
	return nil
}

// chunkLength is the number of bytes a chunk must hold: its Content-Length when it says one
// and is not 0 (some clients send 0 with a body they stream), else any number.
func chunkLength(r *http.Request) int64 {
	if r.ContentLength > 0 {
		return r.ContentLength
	}
	return -1
}

// chunkFailed ends a session that grew past the size limit; other failures leave it resumable.
func (s *Server) chunkFailed(ctx context.Context, u uploadSession, err error) error {
	if ae, ok := err.(*apiError); ok && ae.Status == http.StatusRequestEntityTooLarge {
		u.cancel(ctx)
	}
	return err
}

// checkChunk checks a chunk's Content-Range. Chunks must come in order: a Content-Range that
// does not start where the session ends is answered 416 with the session's current range.
func (s *Server) checkChunk(w http.ResponseWriter, r *http.Request, repo string, u uploadSession) error {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return nil
	}
	cr = strings.TrimPrefix(strings.TrimPrefix(cr, "bytes "), "bytes=")
	a, b, ok := strings.Cut(cr, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || end < start {
		s.uploadLocation(w, r, repo, u)
		return errRangeInvalid("invalid Content-Range %q", r.Header.Get("Content-Range"))
	}
	if start != u.Size() {
		s.uploadLocation(w, r, repo, u)
		return errRangeInvalid("chunk starts at %d but the upload holds %d bytes", start, u.Size())
	}
	if r.ContentLength >= 0 && r.ContentLength != end-start+1 {
		s.uploadLocation(w, r, repo, u)
		return errRangeInvalid("Content-Range %q does not match Content-Length %d", cr, r.ContentLength)
	}
	return nil
}

func (s *Server) startUpload(w http.ResponseWriter, r *http.Request, repo string) error {
	ctx := r.Context()
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, ok := parseDigest(m)
		if !ok {
			return errDigestInvalid("invalid digest %q", m)
		}
		can, err := s.canMount(r, repo, q.Get("from"), d)
		if err != nil {
			return err
		}
		if can {
			ok, err := s.store.mountBlob(ctx, repo, d)
			if err != nil {
				return err
			}
			if ok {
				s.blobCreated(w, r, repo, d)
				return nil
			}
		}
		// Not mountable: fall back to an ordinary upload session, as the spec asks.
	}
	var d digest.Digest
	if dq := q.Get("digest"); dq != "" {
		var ok bool
		if d, ok = parseDigest(dq); !ok {
			return errDigestInvalid("invalid digest %q", dq)
		}
	}
	u, err := s.store.uploads().start(ctx, repo)
	if err != nil {
		return err
	}
	defer u.release()
	if d != "" {
		// Monolithic: the whole blob in this request. Nothing of it outlives a failure.
		n, err := u.commit(ctx, r.Body, s.blobLimit(), chunkLength(r), d)
		s.metrics.bytesIn.Add(n)
		if err != nil {
			u.cancel(ctx)
			return err
		}
		s.metrics.pushedBlobs.Add(1)
		s.blobCreated(w, r, repo, d)
		return nil
	}
	// The session is stored (empty) before its location is given out.
	if _, err := u.write(ctx, http.NoBody, s.blobLimit(), 0); err != nil {
		u.cancel(ctx)
		return err
	}
	s.uploadLocation(w, r, repo, u)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// canMount decides whether a blob may be linked into repo without being uploaded: from names a
// repository the client may pull holding the blob; without from, only a registry with no access
// control mounts anonymously (there, every blob is readable by everyone anyway).
func (s *Server) canMount(r *http.Request, repo, from string, d digest.Digest) (bool, error) {
	if from == "" {
		if s.auth.enabled() {
			return false, nil
		}
		return s.store.blobExists(r.Context(), d)
	}
	if !ValidName(from) || !s.auth.allowed(r, from, "pull") {
		return false, nil
	}
	return s.store.repoHasBlob(r.Context(), from, d)
}

// ---- tags and catalog

// page reads the spec's n and last parameters: n < 0 when not given.
func page(r *http.Request) (last string, n int, err error) {
	q := r.URL.Query()
	n = -1
	if ns := q.Get("n"); ns != "" {
		if n, err = strconv.Atoi(ns); err != nil || n < 0 {
			return "", 0, errf(http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid n %q", ns)
		}
	}
	return q.Get("last"), n, nil
}

// paginate fetches a page of at most n entries after last (n < 0: all) with list, which is
// asked for one entry more than the page to tell whether more follow, and sets the Link header
// when they do. keep filters entries (nil: all kept); list is then asked again until the page
// is full or the list ends.
func paginate(w http.ResponseWriter, r *http.Request, base string, list func(last string, n int) ([]string, error),
	keep func(string) bool) ([]string, error) {
	last, n, err := page(r)
	if err != nil {
		return nil, err
	}
	out := []string{}
	if n == 0 {
		return out, nil
	}
	more := false
	for {
		ask := -1
		if n > 0 {
			ask = n - len(out) + 1
		}
		got, err := list(last, ask)
		if err != nil {
			return nil, err
		}
		for _, e := range got {
			if n > 0 && len(out) == n {
				more = true
				break
			}
			if keep == nil || keep(e) {
				out = append(out, e)
			}
		}
		if more || ask < 0 || len(got) < ask {
			break
		}
		last = got[len(got)-1]
	}
	if more {
		v := url.Values{"last": {out[len(out)-1]}, "n": {strconv.Itoa(n)}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, base, v.Encode()))
	}
	return out, nil
}

func (s *Server) tagsList(w http.ResponseWriter, r *http.Request, repo string) error {
	ctx := r.Context()
	if s.proxy != nil {
		if ok, err := s.store.repoExists(ctx, repo); err != nil {
			return err
		} else if !ok {
			return errNameUnknown(repo)
		}
	}
	tags, err := paginate(w, r, "/v2/"+repo+"/tags/list", func(last string, n int) ([]string, error) {
		tags, err := s.store.listTags(ctx, repo, last, n)
		if errors.Is(err, fs.ErrNotExist) {
			ok, err := s.store.repoExists(ctx, repo)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errNameUnknown(repo)
			}
			return nil, nil
		}
		return tags, err
	}, nil)
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
	var keep func(string) bool
	if s.auth.enabled() {
		keep = func(n string) bool { return s.auth.allowed(r, n, "pull") }
	}
	repos, err := paginate(w, r, "/v2/_catalog", func(last string, n int) ([]string, error) {
		return s.store.repositories(r.Context(), last, n)
	}, keep)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := writeJSON(w, r, http.StatusOK, "application/json", map[string][]string{"repositories": repos}); err != nil {
		writeError(w, r, err)
	}
}
