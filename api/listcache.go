package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/berth-engine/berth/metadata"
)

// listCaches keep what the listings (GET /containers/json, GET /images/json) encoded, so a
// listing of 1,000 objects encodes only what changed since the last one. Encoding each entry by
// reflection was a third of a listing's CPU. Nothing here is ever served stale: a container's
// entry is reused only while the engine says its record and state are the very ones it was
// encoded from (container.Summary.Revision) and its image name and link names (which other
// records give it) are the same, with its Status (which depends on the time) written afresh; an image listing only while the database's Version says nobody has committed since it
// was made.
type listCaches struct {
	containersMu sync.Mutex // held through a container listing: two at once take turns
	containers   map[string]cachedContainer
	resolved     map[string]string // image names to IDs, as of resolvedAt
	resolvedAt   metadata.Version
	imagesMu     sync.Mutex
	images       cachedImages
}

// cachedContainer is a container's encoded entry, in two halves around its Status.
type cachedContainer struct {
	rev        uint64   // container.Summary.Revision it was encoded from
	image      string   // its Image field (the name it was run by, or its image's ID once the name moved)
	links      []string // its names as a legacy link's target (container.Summary.LinkNames), others' records
	head, tail []byte
}

// cachedImages is one image listing's answer.
type cachedImages struct {
	version metadata.Version // the database's Version taken before the listing was read
	key     string           // the request's API version and parameters
	body    []byte
}

// bufPool holds the buffers listings are encoded into, so a listing of 600 KB does not grow a
// new one through a dozen copies each time.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// appendJSON appends v as encoding/json with HTML escaping off writes it, without the newline.
func appendJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}

// appendJSONString appends s as a JSON string, byte for byte as appendJSON would.
func appendJSONString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			_ = appendJSON(b, s) // Status strings are plain ASCII; anything else the long way
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// writeBody answers a JSON document already encoded (with encoding/json's final newline), in one
// write with its length.
func writeBody(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
