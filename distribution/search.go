package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// SearchOptions are `search`'s flags (and GET /images/search's parameters).
type SearchOptions struct {
	Limit   int         // 1..100; 0 is Docker's 25
	Filters format.Args // stars, is-automated, is-official
}

// Search asks the registry named by term's first component (Docker Hub otherwise) for
// repositories matching the rest, through the v1 search API `docker search` uses, and keeps the
// results the filters accept.
func Search(ctx context.Context, term string, o SearchOptions) ([]registry.SearchResult, error) {
	if err := o.Filters.Validate(map[string]bool{"stars": true, "is-automated": true, "is-official": true}); err != nil {
		return nil, err
	}
	automated, err := o.Filters.GetBoolOrDefault("is-automated", false)
	if err != nil {
		return nil, err
	}
	official, err := o.Filters.GetBoolOrDefault("is-official", false)
	if err != nil {
		return nil, err
	}
	minStars := 0
	for _, v := range o.Filters.Get("stars") {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'stars=%s'", v)
		}
		minStars = max(minStars, n)
	}
	limit := o.Limit
	if limit == 0 {
		limit = 25
	}
	if limit < 1 || limit > 100 {
		return nil, fmt.Errorf("limit %d is outside the range of [1, 100]", limit)
	}
	host, q := splitSearchTerm(term)
	res, err := searchRegistry(ctx, host, q, limit)
	if err != nil {
		return nil, err
	}
	out := []registry.SearchResult{}
	for _, r := range res.Results {
		if o.Filters.Contains("is-automated") && r.IsAutomated != automated {
			continue
		}
		if o.Filters.Contains("is-official") && r.IsOfficial != official {
			continue
		}
		if o.Filters.Contains("stars") && r.StarCount < minStars {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// splitSearchTerm separates a registry host from the term the way Docker does: the first path
// component is a host when it has a dot or a port, or is localhost.
func splitSearchTerm(term string) (host, q string) {
	if first, rest, ok := strings.Cut(term, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return "index.docker.io", term
}

// loopback reports a registry host reached over plain HTTP, as Docker does for local registries.
func loopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func searchRegistry(ctx context.Context, host, term string, limit int) (*registry.SearchResponse, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	scheme := "https"
	if loopback(host) {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: host, Path: "/v1/search",
		RawQuery: url.Values{"q": {term}, "n": {strconv.Itoa(limit)}}.Encode()}
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(auth *authn.AuthConfig) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if auth != nil {
			req.SetBasicAuth(auth.Username, auth.Password)
		}
		return client.Do(req)
	}
	resp, err := do(nil)
	if err != nil {
		return nil, fmt.Errorf("searching registry %s: %w", host, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		// Retry with the login `docker login` (or berth's) stored for this registry.
		if reg, err := name.NewRegistry(host); err == nil {
			if a, err := authn.DefaultKeychain.Resolve(reg); err == nil {
				if cfg, err := a.Authorization(); err == nil && cfg.Username != "" {
					resp, err = do(cfg)
					if err != nil {
						return nil, fmt.Errorf("searching registry %s: %w", host, err)
					}
				}
			}
		}
		if resp.StatusCode == http.StatusUnauthorized {
			resp.Body.Close()
			return nil, fmt.Errorf("unauthorized: authentication required (registry %s)", host)
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("Unexpected status code %d (registry %s does not offer search?): %s", resp.StatusCode, host, strings.TrimSpace(string(b)))
	}
	var out registry.SearchResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("registry %s: invalid search response: %w", host, err)
	}
	return &out, nil
}
