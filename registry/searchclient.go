package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// This file is the client side of search, shared by `berth search` and the web UI: Docker's v1
// search (what `docker search` sends, which berth's registry answers) and, for a registry that
// does not answer it (CNCF distribution), the catalog.

// Loopback reports a registry host reached over plain HTTP, as Docker does for local registries.
func Loopback(host string) bool {
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

func registryURL(host, path string, q url.Values) string {
	scheme := "https"
	if Loopback(host) {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: host, Path: path, RawQuery: q.Encode()}
	return u.String()
}

// get sends GET, and again with the login stored for the registry (docker login's config) when
// it answers 401.
func get(ctx context.Context, host, u string) (*http.Response, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	do := func(auth *authn.AuthConfig) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
	return resp, nil
}

// ErrNoSearch is SearchV1's error for a registry that does not answer /v1/search.
var ErrNoSearch = errors.New("registry does not offer search")

type noSearch string

func (e noSearch) Error() string        { return string(e) }
func (e noSearch) Is(target error) bool { return target == ErrNoSearch }

// SearchV1 asks host's /v1/search for term, as `docker search HOST/TERM` does.
func SearchV1(ctx context.Context, host, term string, limit int) (*SearchResponse, error) {
	resp, err := get(ctx, host, registryURL(host, "/v1/search", url.Values{"q": {term}, "n": {strconv.Itoa(limit)}}))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, noSearch(fmt.Sprintf("Unexpected status code %d (registry %s does not offer search?): %s", resp.StatusCode, host, strings.TrimSpace(string(b))))
	}
	var out SearchResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("registry %s: invalid search response: %w", host, err)
	}
	return &out, nil
}

// Catalog lists up to n repositories of host (the distribution spec's /v2/_catalog).
func Catalog(ctx context.Context, host string, n int) ([]string, error) {
	resp, err := get(ctx, host, registryURL(host, "/v2/_catalog", url.Values{"n": {strconv.Itoa(n)}}))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("registry %s: listing its catalog: status %d", host, resp.StatusCode)
	}
	var c struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&c); err != nil {
		return nil, fmt.Errorf("registry %s: invalid catalog: %w", host, err)
	}
	return c.Repositories, nil
}

// Tags lists the tags of repo on host (/v2/REPO/tags/list).
func Tags(ctx context.Context, host, repo string) ([]string, error) {
	resp, err := get(ctx, host, registryURL(host, "/v2/"+repo+"/tags/list", nil))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("registry %s: listing the tags of %s: status %d", host, repo, resp.StatusCode)
	}
	var t struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&t); err != nil {
		return nil, fmt.Errorf("registry %s: invalid tag list of %s: %w", host, repo, err)
	}
	return t.Tags, nil
}

// SearchAny searches host by /v1/search, or by its catalog (repositories whose name holds term)
// when it does not answer search. Method says which answered ("search" or "catalog").
func SearchAny(ctx context.Context, host, term string, limit int) (results []SearchResult, method string, err error) {
	res, err := SearchV1(ctx, host, term, limit)
	if err == nil {
		return res.Results, "search", nil
	}
	if !errors.Is(err, ErrNoSearch) {
		return nil, "", err
	}
	repos, cerr := Catalog(ctx, host, 10000)
	if cerr != nil {
		return nil, "", fmt.Errorf("%v; and %v", err, cerr)
	}
	results = []SearchResult{}
	for _, r := range repos {
		if strings.Contains(r, term) {
			results = append(results, SearchResult{Name: r})
			if len(results) == limit {
				break
			}
		}
	}
	return results, "catalog", nil
}
