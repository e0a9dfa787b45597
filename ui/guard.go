package ui

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// CookieName holds the token after the first visit.
const CookieName = "berth_ui_token"

// refuse answers as the Engine API answers errors, so a Docker client shows the reason.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.logf("ui: refused %s %s from %s: %s", r.Method, r.URL.Path, r.RemoteAddr, msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// guard lets a request through, or answers the refusal and returns false.
func (s *Server) guard(w http.ResponseWriter, r *http.Request) bool {
	if !s.hostAllowed(r.Host) {
		// DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends its
		// own name as Host.
		s.refuse(w, r, http.StatusMisdirectedRequest, "refused: Host "+quote(r.Host)+" is not this server's address (DNS rebinding?)")
		return false
	}
	if changesState(r) && !s.sameOrigin(r) {
		s.refuse(w, r, http.StatusForbidden, "refused: cross-origin request from "+quote(r.Header.Get("Origin")))
		return false
	}
	fromQuery := false
	tok := ""
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		tok = strings.TrimSpace(t)
	} else if c, err := r.Cookie(CookieName); err == nil {
		tok = c.Value
	}
	if tok == "" && r.Method == http.MethodGet && r.URL.Path == "/" {
		tok, fromQuery = r.URL.Query().Get("token"), true
	}
	if tok == "" {
		s.refuse(w, r, http.StatusUnauthorized, "refused: no token (open the URL `berth ui` printed, or send Authorization: Bearer TOKEN)")
		return false
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) != 1 {
		s.refuse(w, r, http.StatusUnauthorized, "refused: wrong token")
		return false
	}
	if fromQuery {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: s.opts.TLS})
	}
	return true
}

// changesState: anything but a plain read. A WebSocket upgrade is a GET that runs commands.
func changesState(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return r.Header.Get("Upgrade") != ""
	}
	return true
}

// sameOrigin: a browser names the page that sent a request in Origin; it must be this server.
// A request without Origin is not from a browser's cross-origin script (browsers send it on every
// POST and WebSocket), such as a Docker client, and still needs the token.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	scheme := "http://"
	if s.opts.TLS {
		scheme = "https://"
	}
	return strings.EqualFold(o, scheme+r.Host)
}

// hostAllowed: localhost, the bound address and the names Listen found for it.
func (s *Server) hostAllowed(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if h == "" {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	for _, a := range s.opts.Hosts {
		if strings.EqualFold(a, h) {
			return true
		}
	}
	return false
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
