package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Media types the registry validates the structure of. Other JSON media types are stored as
// artifacts, with their descriptors checked the same way.
const (
	mtOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtDockerSchema1  = "application/vnd.docker.distribution.manifest.v1+json"
	mtDockerSigned   = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     json.RawMessage   `json:"platform,omitempty"`
}

// manifest is the union of the fields of image manifests and indexes the registry looks at.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

func isIndex(mt string) bool { return mt == mtOCIIndex || mt == mtDockerList }

// foreign reports a layer the registry is not expected to hold: non-distributable layers and
// Docker foreign layers live elsewhere (their urls).
func foreign(d descriptor) bool {
	return strings.Contains(d.MediaType, ".nondistributable.") || strings.Contains(d.MediaType, ".foreign.") || len(d.URLs) > 0
}

func (s *Server) manifests(w http.ResponseWriter, r *http.Request, repo, ref string) error {
	if err := s.need(w, r, repo, actionFor(r.Method), http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete); err != nil {
		return err
	}
	var d digest.Digest
	isTag := ValidTag(ref)
	if !isTag {
		var ok bool
		if d, ok = parseDigest(ref); !ok {
			if strings.Contains(ref, ":") {
				return errDigestInvalid("invalid digest %q", ref)
			}
			return errTagInvalid(ref)
		}
	}
	ctx := r.Context()
	switch r.Method {
	case http.MethodPut:
		return s.putManifest(w, r, repo, ref, isTag, d)
	case http.MethodDelete:
		var ok bool
		var err error
		if isTag {
			ok, err = s.store.deleteTag(ctx, repo, ref)
		} else {
			ok, err = s.store.deleteManifest(ctx, repo, d)
		}
		if err != nil {
			return err
		}
		if !ok {
			return errManifestUnknown(ref)
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	if s.proxy != nil {
		if err := s.proxy.fetchManifest(r.Context(), repo, ref, isTag); err != nil {
			return err
		}
	}
	if isTag {
		var ok bool
		var err error
		if d, ok, err = s.store.resolveTag(ctx, repo, ref); err != nil {
			return err
		} else if !ok {
			return errManifestUnknown(ref)
		}
	}
	mt, b, ok, err := s.store.readManifest(ctx, repo, d)
	if err != nil {
		return err
	}
	if !ok {
		return errManifestUnknown(ref)
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("ETag", `"`+d.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b)
	}
	return nil
}

func (s *Server) putManifest(w http.ResponseWriter, r *http.Request, repo, ref string, isTag bool, want digest.Digest) error {
	limit := s.cfg.MaxManifestSize
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return errManifestInvalid("reading the manifest: %v", err)
	}
	if int64(len(body)) > limit {
		return errTooLarge("manifest exceeds %d bytes", limit)
	}
	s.metrics.bytesIn.Add(int64(len(body)))
	tags := []string{}
	if isTag {
		tags = append(tags, ref)
	}
	for _, t := range r.URL.Query()["tag"] {
		if !ValidTag(t) {
			return errTagInvalid(t)
		}
		tags = append(tags, t)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return errManifestInvalid("manifest is not valid JSON: %v", err)
	}
	mt := r.Header.Get("Content-Type")
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	if mt == "" || mt == "application/json" {
		mt = m.MediaType
	}
	switch {
	case mt == "":
		return errManifestInvalid("manifest has no media type (Content-Type header or mediaType field)")
	case m.MediaType != "" && m.MediaType != mt:
		return errManifestInvalid("Content-Type %q does not match the manifest's mediaType %q", mt, m.MediaType)
	case mt == mtDockerSchema1 || mt == mtDockerSigned:
		return errManifestInvalid("Docker schema 1 manifests are not supported")
	}
	d := digest.SHA256.FromBytes(body)
	if want != "" {
		d = want.Algorithm().FromBytes(body)
		if d != want {
			return errDigestInvalid("manifest content digest %s does not match %s", d, want)
		}
	}
	ctx := r.Context()
	refs, err := s.checkReferences(ctx, repo, mt, &m)
	if err != nil {
		return err
	}
	var subject digest.Digest
	var referrer []byte
	if m.Subject != nil {
		var ok bool
		if subject, ok = parseDigest(m.Subject.Digest); !ok {
			return errManifestInvalid("invalid subject digest %q", m.Subject.Digest)
		}
		at := m.ArtifactType
		if at == "" && m.Config != nil && !isIndex(mt) {
			at = m.Config.MediaType
		}
		referrer, _ = json.Marshal(descriptor{MediaType: mt, Digest: d.String(), Size: int64(len(body)),
			ArtifactType: at, Annotations: m.Annotations})
	}
	if err := s.store.putManifest(ctx, repo, d, mt, body, refs, subject, referrer, tags); err != nil {
		return err
	}
	s.metrics.pushedManifests.Add(1)
	if len(tags) > 0 {
		// The newest tagged push describes the repository; stored with it, so every replica
		// shows the same. Search is best effort: a failure here does not fail the push.
		desc := s.search.read(ctx, d, 0)
		if old, ok, err := s.store.searchInfo(ctx, repo); err == nil && (!ok || old != desc) {
			s.store.setSearchInfo(ctx, repo, desc)
		}
	}
	h := w.Header()
	if subject != "" {
		h.Set("OCI-Subject", subject.String())
	}
	for _, t := range tags {
		h.Add("OCI-Tag", t)
	}
	h.Set("Location", s.externalBase(r)+"/v2/"+repo+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// checkReferences verifies that every descriptor the manifest names is well formed and, unless it
// is a foreign layer, already part of the repository; it returns the digests named.
func (s *Server) checkReferences(ctx context.Context, repo, mt string, m *manifest) ([]digest.Digest, error) {
	var refs []digest.Digest
	check := func(desc descriptor, manifest bool) error {
		d, ok := parseDigest(desc.Digest)
		if !ok {
			return errManifestInvalid("invalid descriptor digest %q", desc.Digest)
		}
		if desc.Size < 0 {
			return errManifestInvalid("invalid descriptor size %d", desc.Size)
		}
		if foreign(desc) {
			return nil
		}
		var err error
		if manifest {
			ok, err = s.store.hasManifest(ctx, repo, d)
		} else {
			ok, err = s.store.repoHasBlob(ctx, repo, d)
		}
		if err != nil {
			return err
		}
		if !ok {
			return errManifestBlobUnknown(d)
		}
		refs = append(refs, d)
		return nil
	}
	switch {
	case isIndex(mt):
		if m.Config != nil || m.Layers != nil {
			return nil, errManifestInvalid("an index has no config or layers")
		}
		for _, c := range m.Manifests {
			if err := check(c, true); err != nil {
				return nil, err
			}
		}
	case mt == mtOCIManifest || mt == mtDockerManifest || m.Config != nil:
		if m.Config == nil {
			return nil, errManifestInvalid("image manifest has no config")
		}
		if m.SchemaVersion != 2 {
			return nil, errManifestInvalid("unsupported schemaVersion %d", m.SchemaVersion)
		}
		if m.Manifests != nil {
			return nil, errManifestInvalid("an image manifest has no manifests list")
		}
		if err := check(*m.Config, false); err != nil {
			return nil, err
		}
		for _, l := range m.Layers {
			if err := check(l, false); err != nil {
				return nil, err
			}
		}
	}
	return refs, nil
}

// referrersList answers the v1.1 referrers API: an index of the manifests whose subject is the
// given digest, optionally filtered by artifactType.
func (s *Server) referrersList(w http.ResponseWriter, r *http.Request, repo, ref string) error {
	d, ok := parseDigest(ref)
	if !ok {
		return errDigestInvalid("invalid digest %q", ref)
	}
	entries, err := s.store.referrers(r.Context(), repo, d)
	if err != nil {
		return err
	}
	filter := r.URL.Query().Get("artifactType")
	list := []json.RawMessage{}
	for _, e := range entries {
		if filter != "" {
			var desc descriptor
			if json.Unmarshal(e, &desc) != nil || desc.ArtifactType != filter {
				continue
			}
		}
		list = append(list, e)
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, http.StatusOK, mtOCIIndex, struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Manifests     []json.RawMessage `json:"manifests"`
	}{2, mtOCIIndex, list})
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	return nil
}
