package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/network"
)

// errorBody is Docker's error document.
type errorBody struct {
	Message string `json:"message"`
}

// httpError is an error with the status it answers; handlers make them with badRequest,
// notFound, conflict and notModified when no engine error says it already.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func statusErr(code int, format string, args ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, args...)}
}

// badRequest is Docker's 400 "invalid parameter".
func badRequest(format string, args ...any) error {
	return statusErr(http.StatusBadRequest, format, args...)
}
func notFound(format string, args ...any) error {
	return statusErr(http.StatusNotFound, format, args...)
}
func conflict(format string, args ...any) error {
	return statusErr(http.StatusConflict, format, args...)
}

// errNotModified is Docker's 304: start of a started container, stop of a stopped one.
var errNotModified = &httpError{code: http.StatusNotModified, err: errors.New("not modified")}

// statusOf maps an engine error to the status dockerd gives the same condition.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	var (
		cNotFound  container.NotFoundError
		iNotFound  image.NotFoundError
		nNotFound  network.NotFoundError
		cConflict  container.ConflictError
		nConflict  network.ConflictError
		iConflictV image.ConflictError
	)
	switch {
	case errors.As(err, &cNotFound), errors.As(err, &iNotFound), errors.As(err, &nNotFound),
		errors.Is(err, image.ErrNoSuchImage), errors.Is(err, metadata.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &cConflict), errors.As(err, &iConflictV),
		errors.As(err, &nConflict), errors.Is(err, metadata.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// writeError answers err as dockerd does: its status and {"message": ...}. A 304 has no body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	if code >= 500 {
		s.logf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	writeJSON(w, code, errorBody{Message: err.Error()})
}
