// Package distribution moves images between berth's store and registries that speak the OCI
// distribution / Docker Registry v2 API: pull, push, login and logout.
//
// The registry protocol, the authentication handshake (basic and bearer challenges) and
// credentials (~/.docker/config.json with its credential helpers) come from go-containerregistry;
// this package adds what Docker users expect on top: plain HTTP for loopback registries, TLS with
// /etc/docker/certs.d and insecure-registries, parallel layers that are unpacked while they stream,
// retries that resume a cut download with a Range request, Docker's progress texts as events, and
// Docker's one-line errors.
package distribution

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-engine/berth/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DefaultCertsDir is where Docker (and berth) look for per-registry CAs and client certificates:
// DIR/HOST[:PORT]/*.crt are trusted CAs, DIR/HOST/*.cert with a matching *.key a client certificate.
const DefaultCertsDir = "/etc/docker/certs.d"

// Options say how to reach registries. The zero value is Docker's defaults.
type Options struct {
	// InsecureRegistries lists hosts ("host", "host:port") or CIDRs ("10.0.0.0/8") whose TLS
	// certificate is not verified and which may be reached over plain HTTP, like dockerd's
	// insecure-registries. Loopback registries are always allowed plain HTTP.
	InsecureRegistries []string
	// SkipTLSVerify treats every registry as insecure (--tls-verify=false).
	SkipTLSVerify bool
	// CertsDir replaces DefaultCertsDir.
	CertsDir string
	// Keychain finds credentials; nil means the Docker config file and its credential helpers.
	Keychain authn.Keychain
	// MaxConcurrentDownloads (default 4) and MaxConcurrentUploads (default 5) bound parallel layers.
	MaxConcurrentDownloads int
	MaxConcurrentUploads   int
	// Retries is how many times a failed blob transfer is retried (default 5); RetryDelay is the
	// first wait (default 1s), doubled after each attempt.
	Retries    int
	RetryDelay time.Duration
	// Progress receives Docker's progress messages; nil discards them.
	Progress func(Event)
}

func (o *Options) defaults() {
	if o.CertsDir == "" {
		o.CertsDir = DefaultCertsDir
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.MaxConcurrentDownloads <= 0 {
		o.MaxConcurrentDownloads = 4
	}
	if o.MaxConcurrentUploads <= 0 {
		o.MaxConcurrentUploads = 5
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Progress == nil {
		o.Progress = func(Event) {}
	}
}

// insecure reports whether host (host[:port]) may skip TLS verification and fall back to HTTP.
func (o *Options) insecure(host string) bool {
	if o.SkipTLSVerify {
		return true
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	ip := net.ParseIP(strings.Trim(hostname, "[]"))
	for _, e := range o.InsecureRegistries {
		e = strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "https://")
		if e == host || e == hostname {
			return true
		}
		if _, cidr, err := net.ParseCIDR(e); err == nil && ip != nil && cidr.Contains(ip) {
			return true
		}
	}
	return false
}

// tlsConfig is the client TLS configuration for host: the system roots plus certs.d's CAs, a client
// certificate from certs.d if there is one, and no verification for insecure registries.
func (o *Options) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.insecure(host)}
	dir := filepath.Join(o.CertsDir, host)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".crt"):
			if cfg.RootCAs == nil {
				if cfg.RootCAs, err = x509.SystemCertPool(); err != nil || cfg.RootCAs == nil {
					cfg.RootCAs = x509.NewCertPool()
				}
			}
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no certificate found", p)
			}
		case strings.HasSuffix(e.Name(), ".cert"):
			key := strings.TrimSuffix(p, ".cert") + ".key"
			cert, err := tls.LoadX509KeyPair(p, key)
			if err != nil {
				return nil, fmt.Errorf("client certificate %s: %w", p, err)
			}
			cfg.Certificates = append(cfg.Certificates, cert)
		}
	}
	return cfg, nil
}

// registry turns a berth reference into go-containerregistry's, marking insecure registries.
func (o *Options) repository(n reference.Named) (name.Repository, error) {
	var opts []name.Option
	if o.insecure(reference.Domain(n)) {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(n.Name(), opts...)
}

// client is an authenticated connection to one repository of a registry.
type client struct {
	repo name.Repository
	rt   http.RoundTripper
	http *http.Client
	o    *Options
}

// newClient pings the registry, answers its auth challenge with the keychain's credentials for
// the given scopes, and returns a client whose requests carry the token or basic auth.
func (o *Options) newClient(ctx context.Context, repo name.Repository, scopes ...string) (*client, error) {
	tlsCfg, err := o.tlsConfig(repo.RegistryStr())
	if err != nil {
		return nil, err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	base.MaxIdleConnsPerHost = 16
	base.DisableCompression = true
	auth, err := o.Keychain.Resolve(repo.Registry)
	if err != nil {
		return nil, err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, transport.NewUserAgent(o.guard(base, repo.RegistryStr()), "berth"), scopes)
	if err != nil {
		return nil, registryError(repo.Registry, err)
	}
	return &client{repo: repo, rt: rt, http: &http.Client{Transport: rt}, o: o}, nil
}

func (c *client) remote(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithTransport(c.rt), remote.WithContext(ctx)}
}

// url is the registry API URL of path under the repository ("blobs/sha256:...").
func (c *client) url(path string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", c.repo.Registry.Scheme(), c.repo.RegistryStr(), c.repo.RepositoryStr(), path)
}

// guard keeps plain HTTP to the loopback and insecure registries, as Docker does:
// go-containerregistry would also fall back to HTTP for private (RFC 1918) addresses.
func (o *Options) guard(rt http.RoundTripper, host string) http.RoundTripper {
	if isLoopback(host) || o.insecure(host) {
		return rt
	}
	return httpGuard{rt, host}
}

type httpGuard struct {
	inner http.RoundTripper
	host  string
}

func (g httpGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && req.URL.Host == g.host {
		return nil, fmt.Errorf("refusing plain HTTP to registry %s: list it in insecure-registries or use --tls-verify=false", g.host)
	}
	return g.inner.RoundTrip(req)
}

// isLoopback reports whether a registry host is on this machine (plain HTTP allowed).
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
