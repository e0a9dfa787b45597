package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
)

// containerRoutes registers the container endpoints.
func (s *Server) containerRoutes() {
	s.handle("POST /containers/create", s.containerCreate)
	s.handle("GET /containers/json", s.containerList)
	s.handle("POST /containers/prune", s.containerPrune)
	s.handle("GET /containers/{id}/json", s.containerInspect)
	s.handle("POST /containers/{id}/start", s.containerStart)
	s.handle("POST /containers/{id}/stop", s.containerStop)
	s.handle("POST /containers/{id}/restart", s.containerRestart)
	s.handle("POST /containers/{id}/kill", s.containerKill)
	s.handle("POST /containers/{id}/wait", s.containerWait)
	s.handle("DELETE /containers/{id...}", s.containerDelete) // {id...}: a link's name is NAME/ALIAS
	s.handle("GET /containers/{id}/top", s.containerTop)
	s.handle("GET /containers/{id}/changes", s.containerChanges)
	s.handle("GET /containers/{id}/export", s.containerExport)
	s.handle("POST /containers/{id}/rename", s.containerRename)
	s.handle("POST /containers/{id}/update", s.containerUpdate)
	s.handle("POST /containers/{id}/pause", s.containerPause)
	s.handle("POST /containers/{id}/unpause", s.containerUnpause)
	s.handle("GET /containers/{id}/logs", s.containerLogs)
	s.handle("GET /containers/{id}/stats", s.containerStats)
	s.handle("GET /containers/{id}/archive", s.containerArchiveGet)
	s.handle("HEAD /containers/{id}/archive", s.containerArchiveHead)
	s.handle("PUT /containers/{id}/archive", s.containerArchivePut)
}

// RestartContainers starts the containers whose restart policy dockerd would apply when it
// starts (container.Manager.RestartOnServiceStart), logging what it did.
func (s *Server) RestartContainers() {
	started, errs := s.containers.RestartOnServiceStart()
	for _, id := range started {
		s.logf("restarted container %s (its restart policy)", id)
	}
	for _, err := range errs {
		s.logf("%v", err)
	}
}

// engineErr gives the container engine's refusals of bad input their 400.
func engineErr(err error) error {
	var ipe container.InvalidParameterError
	var ife *format.InvalidFilterError
	if errors.As(err, &ipe) || errors.As(err, &ife) {
		return badRequest("%v", err)
	}
	return err
}

// summaryHead and summaryTail are one entry of GET /containers/json in Docker 20.10's shape,
// the fields before its Status and those after: the entry is the two objects joined around
// "Status", byte for byte what encoding/json writes for one struct of all three (listcache.go).
type summaryHead struct {
	ID         string `json:"Id"`
	Names      []string
	Image      string
	ImageID    string
	Command    string
	Created    int64
	Ports      []container.Port
	SizeRw     int64 `json:",omitempty"`
	SizeRootFs int64 `json:",omitempty"`
	Labels     map[string]string
	State      string
}

type summaryTail struct {
	HostConfig      struct{ NetworkMode string }
	NetworkSettings struct {
		Networks map[string]container.InspectEndpoint
	}
	Mounts []container.InspectMount
}

// containerList is GET /containers/json?all=&limit=&size=&filters=: the same selection as
// `berth ps` (container.Manager.ListFiltered). An entry whose container has not changed since
// the last listing is not encoded again (listCaches): only its Status, which tells the time.
func (s *Server) containerList(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	limit, err := intValue(r, "limit", -1)
	if err != nil {
		return err
	}
	all := boolValue(r, "all")
	list, err := s.containers.ListFiltered(container.ListOptions{All: all, Limit: int(limit), Filters: f, Shared: true})
	if err != nil {
		return engineErr(err)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	whole := all && limit <= 0 && f.Len() == 0
	if err := s.encodeList(buf, list, boolValue(r, "size"), whole); err != nil {
		return err
	}
	// Written once the cache is let go: a client slow to read holds up no other listing.
	writeBody(w, http.StatusOK, buf.Bytes())
	return nil
}

// encodeList writes the listing's JSON array to buf, reusing the entries of containers
// unchanged since they were encoded. whole: the listing has every container, and the cache
// keeps only those (the removed ones' entries go).
func (s *Server) encodeList(buf *bytes.Buffer, list []container.Summary, size, whole bool) error {
	now := time.Now()
	c := &s.lists
	c.containersMu.Lock()
	defer c.containersMu.Unlock()
	// Image names resolved to IDs hold while nobody commits (metadata.Version, taken before).
	resolved := map[string]string{}
	if v, err := s.images.DB.Version(); err != nil {
		c.resolved = nil // unknown: this listing resolves afresh, and so does the next
	} else if v == c.resolvedAt && c.resolved != nil {
		resolved = c.resolved
	} else {
		c.resolved, c.resolvedAt = resolved, v
	}
	old, cache := c.containers, c.containers
	if cache == nil || whole {
		cache = make(map[string]cachedContainer, len(list))
	}
	c.containers = cache
	buf.WriteByte('[')
	for i, sum := range list {
		if i > 0 {
			buf.WriteByte(',')
		}
		image := s.listedImage(sum, resolved)
		e, ok := old[sum.ID]
		if !ok || size || sum.Revision == 0 || e.rev != sum.Revision || e.image != image || !slices.Equal(e.links, sum.LinkNames) {
			var err error
			if e, err = s.encodeSummary(sum, image, size); err != nil {
				return err
			}
		}
		if !size && sum.Revision != 0 {
			cache[sum.ID] = e // never changed once kept: a new encoding is a new entry
		}
		buf.Write(e.head)
		appendJSONString(buf, container.StatusString(sum.State, now))
		buf.Write(e.tail)
	}
	buf.WriteString("]\n")
	return nil
}

// listedImage is a listed container's Image: the name it was created from while that name
// still means its image, else its image's ID, as dockerd shows it. resolved caches names to IDs.
func (s *Server) listedImage(c container.Summary, resolved map[string]string) string {
	id, ok := resolved[c.Image]
	if !ok {
		id, _ = s.images.Resolve(c.Image)
		resolved[c.Image] = id
	}
	if id != c.ImageID {
		return c.ImageID
	}
	return c.Image
}

// encodeSummary encodes one listed container's entry but for its Status.
func (s *Server) encodeSummary(c container.Summary, image string, size bool) (cachedContainer, error) {
	h := summaryHead{
		ID: c.ID, Names: c.Names(), Image: image, ImageID: c.ImageID,
		Created: c.Created.Unix(), Labels: c.Config.Labels, State: c.State.Status,
	}
	if h.Labels == nil {
		h.Labels = map[string]string{}
	}
	h.Command = c.Command()
	h.Ports = s.containers.Ports(c.ID, c.Config.ExposedPorts, c.State.Running())
	if h.Ports == nil {
		h.Ports = []container.Port{}
	}
	if size {
		h.SizeRw, _ = s.containers.SizeRw(c.ID)
		h.SizeRootFs = h.SizeRw + s.containers.ImageSize(c.ImageID)
	}
	var t summaryTail
	t.HostConfig.NetworkMode = c.Host.NetworkMode
	if t.HostConfig.NetworkMode == "" {
		t.HostConfig.NetworkMode = "default"
	}
	// Networks and mounts as inspect shows them: one document, one engine function.
	t.NetworkSettings.Networks, t.Mounts = s.containers.Listed(c)
	var b bytes.Buffer
	if err := appendJSON(&b, h); err != nil {
		return cachedContainer{}, err
	}
	b.Truncate(b.Len() - 1) // "}"
	b.WriteString(`,"Status":`)
	head := bytes.Clone(b.Bytes())
	b.Reset()
	if err := appendJSON(&b, t); err != nil {
		return cachedContainer{}, err
	}
	tail := b.Bytes()
	tail[0] = ',' // "{"
	return cachedContainer{rev: c.Revision, image: image, links: c.LinkNames, head: head, tail: tail}, nil
}

// containerInspect is GET /containers/{id}/json?size=: the document `berth inspect` prints.
func (s *Server) containerInspect(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	resp, err := s.containers.Inspect(r.PathValue("id"), boolValue(r, "size"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// containerStart is POST /containers/{id}/start: 304 when it runs already.
func (s *Server) containerStart(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	// API < 1.24 let start carry a HostConfig; every version this server speaks refuses one.
	if r.ContentLength > 0 {
		var body map[string]any
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if len(body) > 0 {
			return badRequest("starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24")
		}
	}
	started, err := s.containers.Start(r.PathValue("id"))
	if err != nil {
		if errors.As(err, new(container.NetworkNotFoundError)) {
			return notFound("%v", err) // a network removed or never made since the create
		}
		var se *container.StartError
		if errors.As(err, &se) {
			// dockerd answers a command that cannot run 400 ("OCI runtime create failed").
			return badRequest("%v", err)
		}
		return err
	}
	if !started {
		return errNotModified
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stopTimeout reads stop/restart's t: absent is the container's own timeout.
func stopTimeout(r *http.Request) (*int, error) {
	if r.Form.Get("t") == "" {
		return nil, nil
	}
	t, err := strconv.Atoi(r.Form.Get("t"))
	if err != nil {
		return nil, badRequest("invalid value for t: %q", r.Form.Get("t"))
	}
	return &t, nil
}

// containerStop is POST /containers/{id}/stop?t=&signal=: 304 when it does not run.
func (s *Server) containerStop(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	t, err := stopTimeout(r)
	if err != nil {
		return err
	}
	stopped, err := s.containers.StopWith(r.PathValue("id"), container.StopOptions{Timeout: t, Signal: r.Form.Get("signal")})
	if err != nil {
		return engineErr(err)
	}
	if !stopped {
		return errNotModified
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerRestart is POST /containers/{id}/restart?t=&signal=.
func (s *Server) containerRestart(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	t, err := stopTimeout(r)
	if err != nil {
		return err
	}
	if err := s.containers.RestartWith(r.PathValue("id"), container.StopOptions{Timeout: t, Signal: r.Form.Get("signal")}); err != nil {
		return engineErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerKill is POST /containers/{id}/kill?signal=.
func (s *Server) containerKill(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	sig := r.Form.Get("signal")
	if sig != "" {
		if _, err := container.ParseSignal(sig); err != nil {
			return badRequest("%v", err)
		}
	}
	if err := s.containers.Kill(r.PathValue("id"), sig); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerWait is POST /containers/{id}/wait?condition=. Like dockerd it sends the status line
// at once (a client may wait for it before starting the container) and the result when the
// condition is met.
func (s *Server) containerWait(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	cond, err := container.ParseWaitCondition(r.Form.Get("condition"))
	if err != nil {
		return badRequest("%v", err)
	}
	id := r.PathValue("id")
	if _, _, err := s.containers.Get(id); err != nil {
		return err
	}
	s.streams.Add(1)
	defer s.streams.Done()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	ctx, cancel := mergeContexts(r.Context(), s.ctx)
	defer cancel()
	st, err := s.containers.WaitFor(ctx, id, cond)
	if ctx.Err() != nil {
		return nil
	}
	resp := struct {
		StatusCode int
		Error      *struct{ Message string } `json:",omitempty"`
	}{StatusCode: st.ExitCode}
	if err != nil {
		resp.Error = &struct{ Message string }{err.Error()}
	} else if st.Error != "" {
		resp.Error = &struct{ Message string }{st.Error}
	}
	return writeJSONBody(w, resp)
}

// containerDelete is DELETE /containers/{id}?v=&force=&link=.
func (s *Server) containerDelete(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if boolValue(r, "link") {
		if err := s.containers.RemoveLink(r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	err := s.containers.Remove(r.PathValue("id"), container.RemoveOptions{Force: boolValue(r, "force"), Volumes: boolValue(r, "v")})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerTop is GET /containers/{id}/top?ps_args=.
func (s *Server) containerTop(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	var args []string
	if a := r.Form.Get("ps_args"); a != "" {
		args = strings.Fields(a)
	}
	titles, procs, err := s.containers.Top(r.PathValue("id"), args)
	if err != nil {
		return err
	}
	if procs == nil {
		procs = [][]string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"Titles": titles, "Processes": procs})
	return nil
}

// containerChanges is GET /containers/{id}/changes: `berth diff` as Docker's kinds (0 changed,
// 1 added, 2 deleted).
func (s *Server) containerChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := s.containers.Diff(r.PathValue("id"))
	if err != nil {
		return err
	}
	type change struct {
		Path string
		Kind int
	}
	out := make([]change, 0, len(changes))
	for _, c := range changes {
		k := 0
		switch c.Kind {
		case 'A':
			k = 1
		case 'D':
			k = 2
		}
		out = append(out, change{c.Path, k})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// containerExport is GET /containers/{id}/export: the container's filesystem as a tar stream.
func (s *Server) containerExport(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := s.containers.Get(r.PathValue("id")); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	return s.containers.Export(r.PathValue("id"), w)
}

// containerRename is POST /containers/{id}/rename?name=.
func (s *Server) containerRename(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	name := r.Form.Get("name")
	if name == "" {
		return badRequest("Neither old nor new names may be empty")
	}
	if err := s.containers.Rename(r.PathValue("id"), name); err != nil {
		var ce container.ConflictError
		var nf container.NotFoundError
		if errors.As(err, &ce) || errors.As(err, &nf) {
			return err
		}
		return badRequest("%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// updateRequest is the part of Docker's UpdateConfig berth applies.
type updateRequest struct {
	Memory        *int64
	MemorySwap    *int64
	NanoCpus      *int64
	PidsLimit     *int64
	CpuShares     *int64
	CpusetCpus    *string
	CpusetMems    *string
	RestartPolicy *container.RestartPolicy
}

// containerUpdate is POST /containers/{id}/update.
func (s *Server) containerUpdate(w http.ResponseWriter, r *http.Request) error {
	var req updateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	o := container.UpdateOptions{MemorySwap: req.MemorySwap, PidsLimit: req.PidsLimit}
	// Docker's update treats a zero as "leave it": only a value changes a limit.
	if req.Memory != nil && *req.Memory != 0 {
		o.Memory = req.Memory
	}
	if req.NanoCpus != nil && *req.NanoCpus != 0 {
		o.NanoCPUs = req.NanoCpus
	}
	if req.MemorySwap != nil && *req.MemorySwap == 0 {
		o.MemorySwap = nil
	}
	if req.PidsLimit != nil && *req.PidsLimit == 0 {
		o.PidsLimit = nil
	}
	if req.RestartPolicy != nil && req.RestartPolicy.Name != "" {
		o.RestartPolicy = req.RestartPolicy
	}
	if req.CpuShares != nil && *req.CpuShares != 0 {
		o.CPUShares = req.CpuShares
	}
	if req.CpusetCpus != nil && *req.CpusetCpus != "" {
		o.CpusetCpus = req.CpusetCpus
	}
	if req.CpusetMems != nil && *req.CpusetMems != "" {
		o.CpusetMems = req.CpusetMems
	}
	var warnings []string
	if !o.Empty() {
		if err := s.containers.Update(r.PathValue("id"), o); err != nil {
			var nf container.NotFoundError
			if errors.As(err, &nf) {
				return err
			}
			return badRequest("%v", err)
		}
	} else if _, _, err := s.containers.Get(r.PathValue("id")); err != nil {
		return err
	}
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"Warnings": warnings})
	return nil
}

// containerPause is POST /containers/{id}/pause.
func (s *Server) containerPause(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.Pause(r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerUnpause is POST /containers/{id}/unpause.
func (s *Server) containerUnpause(w http.ResponseWriter, r *http.Request) error {
	if err := s.containers.Unpause(r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerPrune is POST /containers/prune?filters=: `berth container prune`.
func (s *Server) containerPrune(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	deleted, reclaimed, warning, err := s.containers.Prune(f)
	if warning != nil {
		s.logf("container prune: %v", warning)
	}
	if err != nil {
		return engineErr(err)
	}
	if deleted == nil {
		deleted = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed})
	return nil
}

// writeJSONBody writes v as JSON to a response whose header is already sent.
func writeJSONBody(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
