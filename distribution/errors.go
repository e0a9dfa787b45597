package distribution

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrorCode is a registry API error code ("MANIFEST_UNKNOWN") in Docker's spelling ("manifest unknown").
func errorCode(code transport.ErrorCode) string {
	return strings.ToLower(strings.ReplaceAll(string(code), "_", " "))
}

// apiErrors formats a registry's error response as Docker does: "code: message", joined.
func apiErrors(e *transport.Error) string {
	if len(e.Errors) == 0 {
		switch e.StatusCode {
		case http.StatusUnauthorized:
			return "unauthorized: authentication required"
		case http.StatusForbidden:
			return "denied: requested access to the resource is denied"
		case http.StatusNotFound:
			return "not found"
		}
		return fmt.Sprintf("unexpected status code %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	parts := make([]string, len(e.Errors))
	for i, d := range e.Errors {
		parts[i] = errorCode(d.Code) + ": " + d.Message
		if d.Message == "" {
			parts[i] = errorCode(d.Code)
		}
	}
	return strings.Join(parts, ", ")
}

// hasCode reports whether err is a registry error response carrying code.
func hasCode(err error, codes ...transport.ErrorCode) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// registryError rewrites what the registry client returned into Docker's one-line wording:
// network failures as `Get "http://HOST/v2/": dial tcp ...: connection refused`, API errors as
// `unauthorized: authentication required`.
func registryError(reg name.Registry, err error) error {
	if err == nil {
		return nil
	}
	// The ping races https against http for loopback registries: a TLS registry whose
	// certificate fails also answers the http attempt (400); the certificate is the news.
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return fmt.Errorf("Get %q: %v", "https://"+reg.RegistryStr()+"/v2/", cv)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return errors.New(apiErrors(te))
	}
	var op *net.OpError
	if errors.As(err, &op) {
		// The ping races https against http for loopback registries; report the scheme berth uses.
		return fmt.Errorf("Get %q: %v", reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", op)
	}
	return err
}

// NotFoundError is a manifest the registry does not have (dockerd's 404 for a pull).
type NotFoundError struct{ Ref string }

func (e NotFoundError) Error() string {
	return fmt.Sprintf("manifest for %s not found: manifest unknown: manifest unknown", e.Ref)
}

// manifestError is registryError for a manifest request, in Docker's words for a missing one.
func manifestError(ref string, reg name.Registry, err error) error {
	if hasCode(err, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode) {
		return NotFoundError{ref}
	}
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound && len(te.Errors) == 0 {
		return NotFoundError{ref}
	}
	return registryError(reg, err)
}
