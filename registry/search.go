package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
)

// SearchResult is one entry of Docker Hub's v1 search answer.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
}

// SearchResponse is Docker Hub's v1 search answer, which `docker search` reads.
type SearchResponse struct {
	NumResults int            `json:"num_results"`
	NumPages   int            `json:"num_pages"`
	Page       int            `json:"page"`
	PageSize   int            `json:"page_size"`
	Query      string         `json:"query"`
	Results    []SearchResult `json:"results"`
}

// descriptionLabel is the image config label a repository's description is read from.
const descriptionLabel = "org.opencontainers.image.description"

// searchIndex finds repository descriptions: the label of the newest tagged manifest's config.
// The description is stored with the repository at each tagged push (backend.setSearchInfo), so
// that replicas over one bucket agree; repositories pushed by an older berth fall back to
// finding their newest tag. Descriptions of manifests are cached by digest: content addressing
// makes that cache right in every process.
type searchIndex struct {
	s    *Server
	mu   sync.Mutex
	desc map[digest.Digest]string // manifest -> description
}

// maxCachedDescriptions bounds the per-digest cache.
const maxCachedDescriptions = 10000

func (x *searchIndex) description(ctx context.Context, repo string) (string, error) {
	st := x.s.store
	if desc, ok, err := st.searchInfo(ctx, repo); ok || err != nil {
		return desc, err
	}
	tags, _ := st.listTags(ctx, repo, "", -1)
	var d digest.Digest
	var best int64
	for _, t := range tags {
		mt, ok := st.tagTime(ctx, repo, t)
		if !ok {
			continue
		}
		if td, ok, _ := st.resolveTag(ctx, repo, t); ok && (d == "" || mt.UnixNano() > best) {
			d, best = td, mt.UnixNano()
		}
	}
	if d == "" {
		return "", nil
	}
	return x.read(ctx, d, 0), nil
}

// read follows an index to its first image (linux/amd64 when listed) and returns the label.
func (x *searchIndex) read(ctx context.Context, d digest.Digest, depth int) string {
	x.mu.Lock()
	desc, ok := x.desc[d]
	x.mu.Unlock()
	if ok {
		return desc
	}
	desc = x.readUncached(ctx, d, depth)
	x.mu.Lock()
	if len(x.desc) >= maxCachedDescriptions {
		clear(x.desc)
	}
	x.desc[d] = desc
	x.mu.Unlock()
	return desc
}

func (x *searchIndex) readUncached(ctx context.Context, d digest.Digest, depth int) string {
	b, err := x.s.store.readBlob(ctx, d)
	if err != nil || depth > 3 {
		return ""
	}
	var m struct {
		manifest
		Manifests []struct {
			descriptor
			Platform *struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	if len(m.Manifests) > 0 {
		pick := m.Manifests[0]
		for _, c := range m.Manifests {
			if c.Platform != nil && c.Platform.OS == "linux" && c.Platform.Architecture == "amd64" {
				pick = c
				break
			}
		}
		if cd, ok := parseDigest(pick.Digest); ok {
			return x.readUncached(ctx, cd, depth+1)
		}
		return ""
	}
	if m.Config == nil {
		return m.Annotations["org.opencontainers.image.description"]
	}
	cd, ok := parseDigest(m.Config.Digest)
	if !ok || m.Config.Size > 1<<20 {
		return ""
	}
	cb, err := x.s.store.readBlob(ctx, cd)
	if err != nil {
		return ""
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if json.Unmarshal(cb, &cfg) != nil {
		return ""
	}
	if v := cfg.Config.Labels[descriptionLabel]; v != "" {
		return v
	}
	return m.Annotations[descriptionLabel]
}

// serveV1Ping answers Docker's v1 ping, which `docker search` sends before searching.
func (s *Server) serveV1Ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Docker-Registry-Version", "0.6.0")
	w.Header().Set("X-Docker-Registry-Standalone", "true")
	_ = writeJSON(w, r, http.StatusOK, "application/json", true)
}

// serveSearch answers GET /v1/search?q=TERM&n=N[&page=P] like Docker Hub: repositories whose
// name or description contains the term (case-insensitively), among those the client may pull.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, errUnsupported("method %s not allowed", r.Method))
		return
	}
	q := r.URL.Query()
	term := strings.ToLower(strings.TrimSpace(q.Get("q")))
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n <= 0 {
		n = 25
	}
	n = min(n, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	if s.auth.enabled() {
		if _, err := s.auth.identify(r); err != nil {
			s.auth.challenge(w, r, "", nil)
			writeError(w, r, err)
			return
		}
	}
	repos, err := s.store.repositories(r.Context(), "", -1)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var all []SearchResult
	for _, repo := range repos {
		if !s.auth.allowed(r, repo, "pull") {
			continue
		}
		desc, err := s.search.description(r.Context(), repo)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if term != "" && !strings.Contains(repo, term) && !strings.Contains(strings.ToLower(desc), term) {
			continue
		}
		all = append(all, SearchResult{Name: repo, Description: desc})
	}
	resp := SearchResponse{NumResults: len(all), NumPages: (len(all) + n - 1) / n, Page: page, PageSize: n,
		Query: q.Get("q"), Results: []SearchResult{}}
	if from := (page - 1) * n; from < len(all) {
		resp.Results = all[from:min(from+n, len(all))]
	}
	_ = writeJSON(w, r, http.StatusOK, "application/json", resp)
}
