package registry

import (
	"context"
	"encoding/json"
	"errors"
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

// errUnavailable is the answer when the storage behind the registry failed (after retries):
// 503, so that clients retry later and caches never take an outage for deleted content.
func errUnavailable(cause string) *apiError {
	return errf(http.StatusServiceUnavailable, "UNAVAILABLE", "storage backend unavailable (%s), try again later", cause)
}

// apiErrorOf turns err into the answer to send: API errors as they are, storage failures as
// 503 UNAVAILABLE naming the kind of failure, anything else as a 500 whose message does not
// leak storage paths.
func apiErrorOf(err error) (ae *apiError, internal bool) {
	if errors.As(err, &ae) {
		return ae, false
	}
	var se *s3Error
	var ne *s3NetError
	switch {
	case errors.As(err, &se):
		cause := se.Code
		if cause == "" {
			cause = http.StatusText(se.Status)
		}
		return errUnavailable(fmt.Sprintf("S3 answered %d %s", se.Status, cause)), true
	case errors.As(err, &ne):
		if errors.Is(err, context.Canceled) {
			return errUnavailable("request canceled"), true
		}
		return errUnavailable("no answer from S3"), true
	case errors.Is(err, context.DeadlineExceeded):
		return errUnavailable("timed out"), true
	}
	return errf(http.StatusInternalServerError, "UNKNOWN", "internal error"), true
}

// writeError answers err in the spec's JSON form (see apiErrorOf); the cause of a 5xx goes to
// the request log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, internal := apiErrorOf(err)
	if internal {
		if lw, ok := w.(*logWriter); ok {
			lw.err = err
		}
	}
	if ae.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
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
