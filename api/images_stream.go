package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/berth-engine/berth/distribution"
	"github.com/google/go-containerregistry/pkg/authn"
)

// imgStreamMessage is one line of Docker's JSON progress stream (pull, push, import, load): the
// fields of moby's jsonstream.Message plus the two legacy ones clients still read, "progress"
// (the rendered bar) and "error" (docker-py raises on it).
type imgStreamMessage struct {
	Stream         string               `json:"stream,omitempty"`
	Status         string               `json:"status,omitempty"`
	ProgressDetail *imgStreamProgress   `json:"progressDetail,omitempty"`
	Progress       string               `json:"progress,omitempty"`
	ID             string               `json:"id,omitempty"`
	ErrorDetail    *imgStreamErrorValue `json:"errorDetail,omitempty"`
	Error          string               `json:"error,omitempty"`
	Aux            any                  `json:"aux,omitempty"`
}

type imgStreamProgress struct {
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
}

type imgStreamErrorValue struct {
	Message string `json:"message"`
}

// imgStream writes a streamed JSON answer. The status line goes out with the first message, so
// an error before anything was sent can still be a plain HTTP error (as dockerd's WriteFlusher
// does); after that an error is one more message in the stream.
type imgStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
	// held is a pull's "Pulling from" line, sent only with the next one: dockerd finds the
	// manifest before it writes anything, so a missing image is still a plain 404.
	held *imgStreamMessage
}

func newImgStream(w http.ResponseWriter) *imgStream {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &imgStream{w: w, enc: enc}
}

func (s *imgStream) send(m imgStreamMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started && s.held == nil && strings.HasPrefix(m.Status, distribution.StatusPullingFrom) {
		s.held = &m
		return
	}
	if !s.started {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if s.held != nil {
		_ = s.enc.Encode(*s.held)
		s.held = nil
	}
	_ = s.enc.Encode(m)
	flush(s.w)
}

// fail ends the stream with err: an HTTP error when nothing was sent yet, else an error message.
func (s *imgStream) fail(err error) error {
	s.mu.Lock()
	started := s.started || s.held != nil // after "Pulling from" dockerd's answer has begun
	s.mu.Unlock()
	if !started {
		var nf distribution.NotFoundError
		if errors.As(err, &nf) {
			return notFound("%v", err)
		}
		return err
	}
	s.send(imgStreamMessage{ErrorDetail: &imgStreamErrorValue{Message: err.Error()}, Error: err.Error()})
	return nil
}

// progress turns a pull or push event into Docker's message.
func (s *imgStream) progress(e distribution.Event) {
	m := imgStreamMessage{ID: e.ID, Status: e.Status}
	if e.IsProgress() {
		m.ProgressDetail = &imgStreamProgress{Current: e.Current, Total: e.Total}
		m.Progress = e.Bar()
	} else if e.ID != "" && e.Status != "" && !strings.HasPrefix(e.Status, distribution.StatusPullingFrom) {
		m.ProgressDetail = &imgStreamProgress{}
	}
	s.send(m)
}

// registryAuthKeychain reads X-Registry-Auth (base64url JSON of an AuthConfig): the only
// credentials a pull or push through the API uses, as with dockerd, which never reads the
// client's config file. Without the header the registry is reached anonymously.
func registryAuthKeychain(r *http.Request) (authn.Keychain, error) {
	h := r.Header.Get("X-Registry-Auth")
	if h == "" {
		return staticKeychain{authn.Anonymous}, nil
	}
	ac, err := decodeAuthConfig(h)
	if err != nil {
		return nil, err
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return staticKeychain{authn.Anonymous}, nil
	}
	return staticKeychain{authn.FromConfig(authn.AuthConfig{Username: ac.Username, Password: ac.Password,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken})}, nil
}

// decodeAuthConfig decodes X-Registry-Auth as dockerd does: base64url, with or without padding
// (older clients send standard base64), then JSON. Anything else is a 400.
func decodeAuthConfig(h string) (registryAuth, error) {
	var ac registryAuth
	raw, err := base64.URLEncoding.DecodeString(h)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "=")); err != nil {
			if raw, err = base64.StdEncoding.DecodeString(h); err != nil {
				return ac, badRequest("invalid X-Registry-Auth header: %v", err)
			}
		}
	}
	if err := json.Unmarshal(raw, &ac); err != nil {
		return ac, badRequest("invalid X-Registry-Auth header: %v", err)
	}
	return ac, nil
}

// registryAuth is Docker's registry.AuthConfig as X-Registry-Auth and POST /auth carry it.
type registryAuth struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	Email         string `json:"email,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
