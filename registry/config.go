package registry

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Config configures a registry server. The zero value of every field is a usable default; the
// file form (LoadConfig) is JSON with the field names given in the tags, for example:
//
//	{
//	  "storage": "/var/lib/berth-registry",
//	  "maxBlobSize": 10737418240,
//	  "htpasswd": "/etc/berth/htpasswd",
//	  "auth": {
//	    "token": {"service": "registry.example.com", "expiry": "15m"},
//	    "anonymousPull": true,
//	    "rules": [
//	      {"repository": "library/*", "users": ["alice"], "actions": ["pull", "push", "delete"]},
//	      {"repository": "*", "users": ["*"], "actions": ["pull"]}
//	    ]
//	  },
//	  "proxy": {"url": "https://registry-1.docker.io"}
//	}
//
// and, for S3-compatible storage instead of the filesystem (any number of replicas may serve
// one bucket; see the README's "running several replicas"):
//
//	{"s3": {"endpoint": "s3.example.com", "bucket": "registry", "region": "us-east-1"},
//	 "auth": {"token": {"key": "…the same secret on every replica…"}},
//	 "trustedProxies": ["10.0.0.0/8"]}
type Config struct {
	// Storage is the directory holding blobs, manifests, tags and upload sessions; unused
	// with S3.
	Storage string `json:"storage"`
	// ReadOnly refuses every write (push, delete) with 405 UNSUPPORTED.
	ReadOnly bool `json:"readOnly,omitempty"`
	// MaxBlobSize bounds one blob upload in bytes; 0 means no limit.
	MaxBlobSize int64 `json:"maxBlobSize,omitempty"`
	// MaxManifestSize bounds a manifest in bytes; 0 means 4 MiB.
	MaxManifestSize int64 `json:"maxManifestSize,omitempty"`
	// NoSync skips fsync. Only for tests and throw-away registries: an acknowledged push may be lost
	// in a machine crash.
	NoSync bool `json:"noSync,omitempty"`
	// Htpasswd is an htpasswd file of bcrypt entries; when set, the registry requires a login for
	// everything the Auth rules do not grant to anonymous users.
	Htpasswd string `json:"htpasswd,omitempty"`
	// Auth holds the access rules and the token service.
	Auth AuthConfig `json:"auth,omitempty"`
	// Proxy makes the registry a read-only pull-through cache of another registry.
	Proxy ProxyConfig `json:"proxy,omitempty"`
	// S3 keeps everything (blobs, manifests, tags, upload sessions, search descriptions) in an
	// S3-compatible bucket instead of Storage: the registry process then holds no state, and
	// any number of them behind a load balancer serve one registry, any replica any request.
	S3 *S3Config `json:"s3,omitempty"`
	// TrustedProxies are the addresses (or CIDR prefixes) of load balancers whose
	// X-Forwarded-Proto and X-Forwarded-Host headers say how clients reach the registry (TLS
	// ending at the load balancer): upload and blob locations and the token realm then use
	// them. Headers from anyone else are ignored.
	TrustedProxies []string `json:"trustedProxies,omitempty"`

	// Log receives one line per request; nil discards them.
	Log io.Writer `json:"-"`
}

// AuthConfig describes who may do what.
type AuthConfig struct {
	// Token switches from Basic authentication to Docker's token authentication, with the token
	// endpoint served by this registry at /token.
	Token *TokenConfig `json:"token,omitempty"`
	// AnonymousPull lets everyone pull repositories for which no rule matched the client.
	AnonymousPull bool `json:"anonymousPull,omitempty"`
	// Rules are tried in order; the first whose repository pattern and user list match decides the
	// actions granted. Without rules, a logged-in user may pull, push and delete everywhere.
	Rules []Rule `json:"rules,omitempty"`
}

// Rule grants actions ("pull", "push", "delete") on repositories matching a path.Match pattern
// ("*" matches one path component, "**" at the end matches any suffix) to users: names from the
// htpasswd file, "*" for any logged-in user, "anonymous" for clients without a login, "all" for
// everyone. An empty action list denies: {"repository": "private/**", "users": ["all"]} after the
// rules granting private/ to its owners keeps everyone else, and anonymous pull, out.
type Rule struct {
	Repository string   `json:"repository"`
	Users      []string `json:"users"`
	Actions    []string `json:"actions"`
}

// TokenConfig configures the built-in token service.
type TokenConfig struct {
	// Realm is the token endpoint's URL announced to clients; default: this server's /token.
	Realm string `json:"realm,omitempty"`
	// Service is the service name clients must ask tokens for; default "berth-registry".
	Service string `json:"service,omitempty"`
	// Key signs tokens (HMAC-SHA256). Default: a random key made at start, so tokens die with the
	// process; set it when several processes serve the same storage (required with S3).
	Key string `json:"key,omitempty"`
	// Expiry is a token's lifetime; default 5m.
	Expiry Duration `json:"expiry,omitempty"`
}

// ProxyConfig points a pull-through cache at its upstream.
type ProxyConfig struct {
	URL      string `json:"url,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// TagTTL is how long a tag resolved upstream is served from cache before it is asked again
	// (default 5m; the cached answer is still used when the upstream is unreachable).
	TagTTL Duration `json:"tagTTL,omitempty"`
}

// S3Config locates an S3-compatible bucket.
type S3Config struct {
	// Endpoint is host:port of the S3 API.
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Region   string `json:"region,omitempty"`
	// AccessKey and SecretKey default to $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY.
	AccessKey string `json:"accessKey,omitempty"`
	SecretKey string `json:"secretKey,omitempty"`
	// Prefix is prepended to every object key, so several registries can share a bucket.
	Prefix string `json:"prefix,omitempty"`
	// Insecure speaks plain HTTP to the endpoint.
	Insecure bool `json:"insecure,omitempty"`
	// CreateBucket creates the bucket when it does not exist.
	CreateBucket bool `json:"createBucket,omitempty"`
}

// Duration is a time.Duration written as "5m" in configuration files.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadConfig reads a JSON configuration file; unknown fields are an error so typos do not go
// unnoticed.
func LoadConfig(path string) (Config, error) {
	var c Config
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}
