package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/registry"
)

// This file is search for a registry that does not answer Docker's /v1/search (CNCF
// distribution): its catalog, filtered by the term, and a repository's tags. The web UI's search
// uses it; `berth search` keeps Docker's behaviour (v1 search only).

// SearchAny searches host for term by /v1/search, or by the catalog when search is not
// answered. Method says which answered: "search" or "catalog".
func SearchAny(ctx context.Context, host, term string, limit int) (results []registry.SearchResult, method string, err error) {
	res, serr := searchRegistry(ctx, host, term, limit)
	if serr == nil {
		return res.Results, "search", nil
	}
	if strings.HasPrefix(serr.Error(), "unauthorized") {
		return nil, "", serr
	}
	repos, cerr := Catalog(ctx, host, 10000)
	if cerr != nil {
		return nil, "", fmt.Errorf("%v; %v", serr, cerr)
	}
	results = []registry.SearchResult{}
	for _, r := range repos {
		if strings.Contains(r, term) {
			results = append(results, registry.SearchResult{Name: r})
			if len(results) == limit {
				break
			}
		}
	}
	return results, "catalog", nil
}

// Catalog lists up to n repositories of host (/v2/_catalog).
func Catalog(ctx context.Context, host string, n int) ([]string, error) {
	var c struct {
		Repositories []string `json:"repositories"`
	}
	err := getRegistryJSON(ctx, host, "/v2/_catalog", url.Values{"n": {strconv.Itoa(n)}}, &c)
	if err != nil {
		return nil, fmt.Errorf("listing the catalog of registry %s: %w", host, err)
	}
	return c.Repositories, nil
}

// Tags lists the tags of repo on host (/v2/REPO/tags/list).
func Tags(ctx context.Context, host, repo string) ([]string, error) {
	var t struct {
		Tags []string `json:"tags"`
	}
	if err := getRegistryJSON(ctx, host, "/v2/"+repo+"/tags/list", nil, &t); err != nil {
		return nil, fmt.Errorf("listing the tags of %s/%s: %w", host, repo, err)
	}
	return t.Tags, nil
}

// getRegistryJSON GETs a registry document anonymously (plain HTTP on loopback, as pulls do).
func getRegistryJSON(ctx context.Context, host, path string, q url.Values, v any) error {
	scheme := "https"
	if isLoopback(host) {
		scheme = "http"
	}
	u := url.URL{Scheme: scheme, Host: host, Path: path, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v)
}
