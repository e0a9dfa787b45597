package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/berth-engine/berth/format"
)

// maxBody bounds a JSON request body; a bigger one is refused with 400 rather than read whole.
const maxBody = 8 << 20

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeBody reads the request's JSON body into v. An empty body leaves v as it is (Docker's
// endpoints treat a missing body as an empty document). Malformed JSON and bodies over maxBody
// are a 400 naming what was wrong. Unknown fields are ignored, as dockerd ignores them: clients
// of newer API versions send fields an older server does not know.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &mbe):
			return badRequest("request body is larger than %d bytes", maxBody)
		default:
			return badRequest("invalid JSON: %v", err)
		}
	}
	if dec.More() {
		return badRequest("invalid JSON: more than one document in the request body")
	}
	return nil
}

// boolValue is Docker's httputils.BoolValue: "", "0", "no", "false" and "none" are false.
func boolValue(r *http.Request, key string) bool {
	s := strings.ToLower(strings.TrimSpace(r.Form.Get(key)))
	return !(s == "" || s == "0" || s == "no" || s == "false" || s == "none")
}

// boolValueOr is boolValue with a default when the parameter is absent.
func boolValueOr(r *http.Request, key string, d bool) bool {
	if _, ok := r.Form[key]; !ok {
		return d
	}
	return boolValue(r, key)
}

// intValue reads an integer parameter; absent is d, malformed is a 400.
func intValue(r *http.Request, key string, d int64) (int64, error) {
	s := r.Form.Get(key)
	if s == "" {
		return d, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badRequest("invalid value for %s: %q: %v", key, s, err)
	}
	return n, nil
}

// parseForm parses the query (and a form body); a malformed query is a 400.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return badRequest("%v", err)
	}
	return nil
}

// filterArgs reads the "filters" parameter in both of Docker's encodings ({"k":{"v":true}} and
// the pre-1.22 {"k":["v"]}).
func filterArgs(r *http.Request) (format.Args, error) {
	f, err := format.FromJSON(r.Form.Get("filters"))
	if err != nil {
		return format.NewArgs(), badRequest("%v", err)
	}
	return f, nil
}

// hijack takes over the connection for a raw stream (attach, exec start): when the client asked
// to upgrade (Upgrade: tcp) it answers 101 Switching Protocols as dockerd does, otherwise
// 200 OK with contentType; the caller then owns conn and writes the stream to it (and to buf,
// which holds what the client sent beyond its request).
func hijack(w http.ResponseWriter, r *http.Request, contentType string) (net.Conn, *bufio.ReadWriter, error) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	_ = conn.SetDeadline(timeZero)
	if r.Header.Get("Upgrade") != "" {
		_, err = io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: "+contentType+
			"\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	} else {
		_, err = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: "+contentType+"\r\n\r\n")
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, buf, nil
}

// trackingWriter remembers whether the handler began its response, so a late error is logged
// instead of written into a body already sent. Unwrap keeps http.ResponseController (Flush,
// Hijack) working through it.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// flush sends what is buffered of a streaming response now.
func flush(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }

// splitLast splits "a/b/c" into "a/b" and "c": the object and the action of a path whose object
// name may hold slashes (images, plugins).
func splitLast(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}
