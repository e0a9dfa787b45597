package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
)

// proxy makes the registry a pull-through cache: a manifest or blob missing here is fetched from
// the upstream registry, verified against its digest, stored like a push, then served. Tags are
// asked upstream again after TagTTL; when the upstream cannot answer, the cached tag is served.
type proxy struct {
	st     backend
	base   *url.URL
	reg    name.Registry
	auth   authn.Authenticator
	tagTTL time.Duration

	mu      sync.Mutex
	rts     map[string]http.RoundTripper // per repository: authenticated for its pull scope
	fetched map[string]time.Time         // repo:tag -> when it was last resolved upstream
	busy    map[string]*sync.Mutex       // one fetch per object at a time
}

var manifestAccept = strings.Join([]string{mtOCIIndex, mtOCIManifest, mtDockerList, mtDockerManifest}, ",")

func newProxy(cfg ProxyConfig, st backend) (*proxy, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry: proxy URL %q must be http(s)://host[:port]", cfg.URL)
	}
	var opts []name.Option
	if u.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	host := u.Host
	if host == "registry-1.docker.io" {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return nil, err
	}
	var auth authn.Authenticator = authn.Anonymous
	if cfg.Username != "" {
		auth = &authn.Basic{Username: cfg.Username, Password: cfg.Password}
	}
	ttl := time.Duration(cfg.TagTTL)
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &proxy{st: st, base: u, reg: reg, auth: auth, tagTTL: ttl,
		rts: map[string]http.RoundTripper{}, fetched: map[string]time.Time{}, busy: map[string]*sync.Mutex{}}, nil
}

func (p *proxy) lock(key string) func() {
	p.mu.Lock()
	m := p.busy[key]
	if m == nil {
		m = &sync.Mutex{}
		p.busy[key] = m
	}
	p.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (p *proxy) transport(ctx context.Context, repo string) (http.RoundTripper, error) {
	p.mu.Lock()
	rt := p.rts[repo]
	p.mu.Unlock()
	if rt != nil {
		return rt, nil
	}
	scope := p.reg.Repo(repo).Scope(transport.PullScope)
	rt, err := transport.NewWithContext(ctx, p.reg, p.auth, http.DefaultTransport, []string{scope})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.rts[repo] = rt
	p.mu.Unlock()
	return rt, nil
}

func (p *proxy) get(ctx context.Context, repo, path, accept string) (*http.Response, error) {
	rt, err := p.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	u := *p.base
	u.Path = "/v2/" + repo + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return (&http.Client{Transport: rt}).Do(req)
}

// fetchManifest makes sure the manifest ref of repo is cached, asking upstream when needed.
func (p *proxy) fetchManifest(ctx context.Context, repo, ref string, isTag bool) error {
	defer p.lock("m:" + repo + ":" + ref)()
	var cached bool
	if isTag {
		var err error
		if _, cached, err = p.st.resolveTag(ctx, repo, ref); err != nil {
			return err
		}
		p.mu.Lock()
		fresh := time.Since(p.fetched[repo+":"+ref]) < p.tagTTL
		p.mu.Unlock()
		if cached && fresh {
			return nil
		}
	} else if ok, err := p.st.hasManifest(ctx, repo, digest.Digest(ref)); ok || err != nil {
		return err
	}
	resp, err := p.get(ctx, repo, "/manifests/"+ref, manifestAccept)
	if err != nil {
		if cached {
			return nil
		}
		return errf(http.StatusBadGateway, "UNKNOWN", "upstream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errManifestUnknown(ref)
	}
	if resp.StatusCode != http.StatusOK {
		if cached {
			return nil
		}
		return errf(http.StatusBadGateway, "UNKNOWN", "upstream answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, defaultMaxManifestSize+1))
	if err != nil || len(body) > defaultMaxManifestSize {
		return errf(http.StatusBadGateway, "UNKNOWN", "upstream manifest unreadable or too large")
	}
	alg := digest.SHA256
	if !isTag {
		alg = digest.Digest(ref).Algorithm()
	} else if hd, ok := parseDigest(resp.Header.Get("Docker-Content-Digest")); ok {
		alg = hd.Algorithm()
	}
	d := alg.FromBytes(body)
	if !isTag && d.String() != ref {
		return errf(http.StatusBadGateway, "DIGEST_INVALID", "upstream sent a manifest hashing to %s for %s", d, ref)
	}
	mt := resp.Header.Get("Content-Type")
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	var tags []string
	if isTag {
		tags = []string{ref}
	}
	if err := p.st.putManifest(ctx, repo, d, mt, body, nil, "", nil, tags); err != nil {
		return err
	}
	if isTag {
		p.mu.Lock()
		p.fetched[repo+":"+ref] = time.Now()
		p.mu.Unlock()
	}
	return nil
}

// serveBlob fetches a blob from upstream into the cache, verified, then answers from the cache.
func (p *proxy) serveBlob(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest) error {
	if err := p.fetchBlob(r.Context(), repo, d); err != nil {
		return err
	}
	f, err := p.st.openBlob(r.Context(), d)
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

func (p *proxy) fetchBlob(ctx context.Context, repo string, d digest.Digest) error {
	defer p.lock("b:" + repo + ":" + d.String())()
	if ok, err := p.st.repoHasBlob(ctx, repo, d); ok || err != nil {
		return err
	}
	resp, err := p.get(ctx, repo, "/blobs/"+d.String(), "")
	if err != nil {
		return errf(http.StatusBadGateway, "UNKNOWN", "upstream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errBlobUnknown(d)
	}
	if resp.StatusCode != http.StatusOK {
		return errf(http.StatusBadGateway, "UNKNOWN", "upstream answered %s", resp.Status)
	}
	u, err := p.st.uploads().start(ctx, repo)
	if err != nil {
		return err
	}
	defer u.release()
	if _, err := u.commit(ctx, resp.Body, -1, -1, d); err != nil {
		u.cancel(ctx)
		if ae, ok := err.(*apiError); ok {
			if ae.Code == "BLOB_UPLOAD_INVALID" {
				return errf(http.StatusBadGateway, "UNKNOWN", "reading from upstream: %s", ae.Message)
			}
			ae.Status = http.StatusBadGateway
		}
		return err
	}
	return nil
}
