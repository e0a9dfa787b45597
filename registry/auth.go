package registry

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// authorizer decides who may do what. Identity comes from HTTP Basic credentials checked against
// an htpasswd file (bcrypt only) or, in token mode, from a bearer token signed by this registry's
// token endpoint (Docker's token protocol: a 401 carries
// `WWW-Authenticate: Bearer realm=...,service=...,scope=repository:NAME:pull,push`; the client
// fetches a token for that scope from the realm, with Basic credentials or anonymously, and
// retries). What an identity may do on a repository comes from Config.Auth.
type authorizer struct {
	cfg   AuthConfig
	users map[string][]byte // user -> bcrypt hash

	// bcrypt costs tens of milliseconds per check; successful checks are remembered by a hash of
	// the credentials so a push of many blobs does not pay it per request.
	mu   sync.Mutex
	good map[[32]byte]bool

	tokenKey []byte
	service  string
	expiry   time.Duration
	// base returns the scheme://host a trusted proxy says clients reach the registry at, or "".
	base func(*http.Request) string
}

const anonymous = "anonymous"

var allActions = []string{"pull", "push", "delete"}

func newAuthorizer(cfg Config) (*authorizer, error) {
	a := &authorizer{cfg: cfg.Auth, good: map[[32]byte]bool{}}
	if cfg.Htpasswd != "" {
		users, err := loadHtpasswd(cfg.Htpasswd)
		if err != nil {
			return nil, err
		}
		a.users = users
	}
	if t := cfg.Auth.Token; t != nil {
		if a.users == nil {
			return nil, fmt.Errorf("registry: token auth needs an htpasswd file")
		}
		a.service = t.Service
		if a.service == "" {
			a.service = "berth-registry"
		}
		a.expiry = time.Duration(t.Expiry)
		if a.expiry <= 0 {
			a.expiry = 5 * time.Minute
		}
		a.tokenKey = []byte(t.Key)
		if len(a.tokenKey) == 0 {
			a.tokenKey = make([]byte, 32)
			_, _ = rand.Read(a.tokenKey)
		}
	}
	return a, nil
}

func loadHtpasswd(file string) (map[string][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, h, ok := strings.Cut(line, ":")
		if !ok || u == "" {
			return nil, fmt.Errorf("%s:%d: not a user:hash line", file, n)
		}
		if !strings.HasPrefix(h, "$2") {
			return nil, fmt.Errorf("%s:%d: user %s: only bcrypt hashes are supported (htpasswd -B)", file, n, u)
		}
		users[u] = []byte(h)
	}
	return users, sc.Err()
}

func (a *authorizer) enabled() bool { return a.users != nil }

func (a *authorizer) verify(user, pass string) bool {
	h, ok := a.users[user]
	if !ok {
		return false
	}
	key := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + string(h)))
	a.mu.Lock()
	good := a.good[key]
	a.mu.Unlock()
	if good {
		return true
	}
	if bcrypt.CompareHashAndPassword(h, []byte(pass)) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.good) > 10000 {
		clear(a.good)
	}
	a.good[key] = true
	a.mu.Unlock()
	return true
}

// identity is who sent a request.
type identity struct {
	user  string // anonymous if none
	token bool   // authenticated by a bearer token
}

// identify reads the request's credentials; bad credentials are an error, none is anonymous.
func (a *authorizer) identify(r *http.Request) (identity, error) {
	id := identity{user: anonymous}
	h := r.Header.Get("Authorization")
	if h == "" {
		return id, nil
	}
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic") && a.tokenKey == nil:
		u, p, ok := r.BasicAuth()
		if !ok || !a.verify(u, p) {
			return id, errUnauthorized("invalid username or password")
		}
		id.user = u
	case strings.EqualFold(scheme, "Bearer") && a.tokenKey != nil:
		c, err := a.parseToken(strings.TrimSpace(cred))
		if err != nil {
			return id, errUnauthorized("invalid token: %v", err)
		}
		id.user, id.token = c.Subject, true
	default:
		return id, errUnauthorized("unsupported authorization scheme %q", scheme)
	}
	return id, nil
}

// grants is what the rules give user on repo.
func (a *authorizer) grants(user, repo string) []string {
	authed := user != anonymous
	for _, rule := range a.cfg.Rules {
		if !matchRepo(rule.Repository, repo) {
			continue
		}
		for _, u := range rule.Users {
			if u == user || u == "all" || (u == "*" && authed) {
				return rule.Actions
			}
		}
	}
	switch {
	case authed && len(a.cfg.Rules) == 0:
		return allActions
	case a.cfg.AnonymousPull:
		return []string{"pull"}
	}
	return nil
}

func matchRepo(pattern, repo string) bool {
	if pattern == "**" {
		return true
	}
	if p, ok := strings.CutSuffix(pattern, "/**"); ok {
		if ok, _ := path.Match(p, repo); ok {
			return true
		}
		parts := strings.Split(repo, "/")
		for i := 1; i < len(parts); i++ {
			if ok, _ := path.Match(p, strings.Join(parts[:i], "/")); ok {
				return true
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, repo)
	return ok
}

// may evaluates the rules for the sender. A token is taken as proof of who its subject is; the
// rules, not the scopes written in the token, decide, so a rule change applies at once.
func (id identity) may(a *authorizer, repo, action string) bool {
	return slices.Contains(a.grants(id.user, repo), action)
}

// allowed reports whether the request's sender may do action on repo, without answering.
func (a *authorizer) allowed(r *http.Request, repo, action string) bool {
	if !a.enabled() {
		return true
	}
	id, err := a.identify(r)
	return err == nil && id.may(a, repo, action)
}

// check authorizes a request for actions on repo (repo "" is the API root and the catalog, which
// need only a valid login, or nothing when anonymous pull is on). On refusal it sets the
// challenge header and returns the error to answer with.
func (a *authorizer) check(w http.ResponseWriter, r *http.Request, repo string, actions []string) (identity, error) {
	if !a.enabled() {
		return identity{user: anonymous}, nil
	}
	id, err := a.identify(r)
	if err == nil {
		ok := true
		if repo == "" {
			ok = id.token || id.user != anonymous || (a.cfg.AnonymousPull && r.URL.Path != "/v2/" && r.URL.Path != "/v2")
		}
		for _, act := range actions {
			ok = ok && id.may(a, repo, act)
		}
		if ok {
			return id, nil
		}
		if id.user != anonymous && !id.token {
			return id, errDenied("requested access to the resource is denied")
		}
		if id.token {
			// A valid token without the rights: RFC 6750's insufficient_scope, which Docker
			// reports as "denied" at once instead of retrying.
			a.challenge(w, r, repo, actions)
			h := w.Header()
			h.Set("WWW-Authenticate", h.Get("WWW-Authenticate")+`,error="insufficient_scope"`)
			return id, errf(http.StatusUnauthorized, "DENIED", "requested access to the resource is denied")
		}
		err = errUnauthorized("authentication required")
	}
	a.challenge(w, r, repo, actions)
	return id, err
}

func (a *authorizer) challenge(w http.ResponseWriter, r *http.Request, repo string, actions []string) {
	if a.tokenKey == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="berth-registry"`)
		return
	}
	realm := a.cfg.Token.Realm
	if realm == "" {
		base := ""
		if a.base != nil {
			base = a.base(r)
		}
		if base == "" {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			base = scheme + "://" + r.Host
		}
		realm = base + "/token"
	}
	v := fmt.Sprintf(`Bearer realm=%q,service=%q`, realm, a.service)
	if repo != "" && len(actions) > 0 {
		// Docker asks for pull with push; keep that pairing so one token serves a whole push.
		acts := slices.Clone(actions)
		if slices.Contains(acts, "push") && !slices.Contains(acts, "pull") {
			acts = append([]string{"pull"}, acts...)
		}
		v += fmt.Sprintf(`,scope="repository:%s:%s"`, repo, strings.Join(acts, ","))
	} else if repo == "" && r.URL.Path == "/v2/_catalog" {
		v += `,scope="registry:catalog:*"`
	}
	w.Header().Set("WWW-Authenticate", v)
}

// ---- tokens

type accessEntry struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

type tokenClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  string        `json:"aud"`
	ExpiresAt int64         `json:"exp"`
	NotBefore int64         `json:"nbf"`
	IssuedAt  int64         `json:"iat"`
	ID        string        `json:"jti"`
	Access    []accessEntry `json:"access"`
}

var b64 = base64.RawURLEncoding

// signToken makes a JWT (HS256): clients treat it as opaque, only this registry reads it.
func (a *authorizer) signToken(c tokenClaims) string {
	head := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body, _ := json.Marshal(c)
	msg := head + "." + b64.EncodeToString(body)
	mac := hmac.New(sha256.New, a.tokenKey)
	mac.Write([]byte(msg))
	return msg + "." + b64.EncodeToString(mac.Sum(nil))
}

func (a *authorizer) parseToken(tok string) (*tokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed")
	}
	mac := hmac.New(sha256.New, a.tokenKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := b64.DecodeString(parts[2])
	if err != nil || subtle.ConstantTimeCompare(sig, mac.Sum(nil)) != 1 {
		return nil, fmt.Errorf("bad signature")
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c tokenClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	if now >= c.ExpiresAt || now < c.NotBefore-60 {
		return nil, fmt.Errorf("expired")
	}
	if c.Audience != a.service {
		return nil, fmt.Errorf("issued for service %q", c.Audience)
	}
	return &c, nil
}

// serveToken is the token endpoint: GET with optional Basic credentials and scope parameters
// (Docker), or POST with an OAuth2 password grant form (containerd).
func (a *authorizer) serveToken(w http.ResponseWriter, r *http.Request) {
	if a.tokenKey == nil {
		http.NotFound(w, r)
		return
	}
	user, pass, hasCreds := r.BasicAuth()
	var scopes []string
	var service string
	switch r.Method {
	case http.MethodGet:
		scopes, service = r.URL.Query()["scope"], r.URL.Query().Get("service")
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("grant_type") == "password" {
			user, pass, hasCreds = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		}
		scopes, service = strings.Fields(r.PostForm.Get("scope")), r.PostForm.Get("service")
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if service != "" && service != a.service {
		writeError(w, r, errf(http.StatusBadRequest, "UNSUPPORTED", "unknown service %q", service))
		return
	}
	if hasCreds && !a.verify(user, pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="berth-registry"`)
		writeError(w, r, errUnauthorized("invalid username or password"))
		return
	}
	if !hasCreds {
		user = anonymous
	}
	var access []accessEntry
	for _, sc := range scopes {
		for _, one := range strings.Fields(sc) {
			typ, rest, _ := strings.Cut(one, ":")
			i := strings.LastIndexByte(rest, ':')
			if typ != "repository" || i < 0 {
				continue
			}
			name, acts := rest[:i], strings.Split(rest[i+1:], ",")
			if !ValidName(name) {
				continue
			}
			g := a.grants(user, name)
			var ok []string
			for _, act := range acts {
				if act == "*" {
					ok = append(ok, g...)
				} else if slices.Contains(g, act) {
					ok = append(ok, act)
				}
			}
			access = append(access, accessEntry{Type: "repository", Name: name, Actions: ok})
		}
	}
	now := time.Now()
	tok := a.signToken(tokenClaims{Issuer: "berth-registry", Subject: user, Audience: a.service,
		ExpiresAt: now.Add(a.expiry).Unix(), NotBefore: now.Unix(), IssuedAt: now.Unix(), ID: newUploadID(), Access: access})
	_ = writeJSON(w, r, http.StatusOK, "application/json", map[string]any{
		"token": tok, "access_token": tok, "expires_in": int(a.expiry.Seconds()), "issued_at": now.UTC().Format(time.RFC3339),
	})
}
