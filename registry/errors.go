package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is one entry of the distribution spec's error body: {"errors":[{code,message,detail}]}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The spec's error codes, with the status each is answered with.
func errBlobUnknown(d any) *apiError {
	e := errf(http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry")
	e.Detail = map[string]any{"digest": d}
	return e
}
func errUploadUnknown() *apiError {
	return errf(http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
}
func errUploadInvalid(format string, a ...any) *apiError {
	return errf(http.StatusBadRequest, "BLOB_UPLOAD_INVALID", format, a...)
}
func errDigestInvalid(format string, a ...any) *apiError {
	return errf(http.StatusBadRequest, "DIGEST_INVALID", format, a...)
}
func errManifestUnknown(ref string) *apiError {
	e := errf(http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
	e.Detail = map[string]string{"reference": ref}
	return e
}
func errManifestInvalid(format string, a ...any) *apiError {
	return errf(http.StatusBadRequest, "MANIFEST_INVALID", format, a...)
}
func errManifestBlobUnknown(d any) *apiError {
	return errf(http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "manifest references a blob unknown to the repository: %v", d)
}
func errNameInvalid(name string) *apiError {
	return errf(http.StatusBadRequest, "NAME_INVALID", "invalid repository name: %q", name)
}
func errNameUnknown(name string) *apiError {
	e := errf(http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
	e.Detail = map[string]string{"name": name}
	return e
}
func errTagInvalid(tag string) *apiError {
	return errf(http.StatusBadRequest, "TAG_INVALID", "invalid tag: %q", tag)
}
func errSizeInvalid(format string, a ...any) *apiError {
	return errf(http.StatusBadRequest, "SIZE_INVALID", format, a...)
}
func errTooLarge(format string, a ...any) *apiError {
	return errf(http.StatusRequestEntityTooLarge, "SIZE_INVALID", format, a...)
}
func errUnsupported(format string, a ...any) *apiError {
	return errf(http.StatusMethodNotAllowed, "UNSUPPORTED", format, a...)
}
func errDenied(format string, a ...any) *apiError {
	return errf(http.StatusForbidden, "DENIED", format, a...)
}
func errUnauthorized(format string, a ...any) *apiError {
	return errf(http.StatusUnauthorized, "UNAUTHORIZED", format, a...)
}
func errRangeInvalid(format string, a ...any) *apiError {
	return errf(http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", format, a...)
}

// writeError answers err in the spec's JSON form; errors that are not API errors become 500s
// whose message does not leak storage paths.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = errf(http.StatusInternalServerError, "UNKNOWN", "internal error")
		if lw, ok := w.(*logWriter); ok {
			lw.err = err
		}
	}
	// A handler may have set headers for a success (Content-Length: 0 on upload answers) before
	// failing; the error body has its own length.
	w.Header().Del("Content-Length")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.Status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(struct {
		Errors []*apiError `json:"errors"`
	}{[]*apiError{ae}})
}
