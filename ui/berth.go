package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-engine/berth/analysis"
	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/registry"
)

// berthRoutes are what the Engine API lacks. Image references travel as ?ref= because a name
// holds slashes and colons.
func (s *Server) berthRoutes() {
	s.mux.HandleFunc("GET /berth/images", s.wrap(s.imageList))
	s.mux.HandleFunc("GET /berth/analysis", s.wrap(s.imageAnalysis))
	s.mux.HandleFunc("GET /berth/files", s.wrap(s.layerFiles))
	s.mux.HandleFunc("GET /berth/search", s.wrap(s.search))
	s.mux.HandleFunc("GET /berth/tags", s.wrap(s.tags))
	s.mux.HandleFunc("GET /berth/exec/{id}/ws", s.terminal)
	s.mux.HandleFunc("POST /berth/compose/{project}/{action}", s.wrap(s.composeAction))
}

// httpError is an answer with a status other than 500.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

func (s *Server) wrap(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		code := http.StatusInternalServerError
		var he *httpError
		var nf image.NotFoundError
		switch {
		case errors.As(err, &he):
			code = he.code
		case errors.As(err, &nf), errors.Is(err, image.ErrNoSuchImage):
			code = http.StatusNotFound
		}
		writeJSON(w, code, map[string]string{"message": err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// ImageRow is one image of the images page.
type ImageRow struct {
	ID          string   `json:"Id"`
	RepoTags    []string `json:"RepoTags"`
	RepoDigests []string `json:"RepoDigests"`
	Created     int64    `json:"Created"`
	Size        int64    `json:"Size"`
	SharedSize  int64    `json:"SharedSize"` // bytes of layers another image also uses
	UniqueSize  int64    `json:"UniqueSize"` // what removing this image alone would free
	Containers  int64    `json:"Containers"`
	Dangling    bool     `json:"Dangling"`
}

// ImageList is the images page: every image with its shared and unique bytes, and the totals
// `system df` prints (the same computation: image.Store.DiskUsage).
type ImageList struct {
	Images      []ImageRow `json:"images"`
	Count       int        `json:"count"`
	Active      int        `json:"active"`
	Size        int64      `json:"size"`
	Reclaimable int64      `json:"reclaimable"`
}

// ImageListOf turns the store's disk usage into the page's rows and totals.
func ImageListOf(du image.DiskUsage) ImageList {
	out := ImageList{Images: make([]ImageRow, 0, len(du.Images)), Count: len(du.Images), Size: du.LayersSize}
	var used int64
	for _, i := range du.Images {
		row := ImageRow{ID: i.ID, RepoTags: i.RepoTags, RepoDigests: i.RepoDigests, Created: i.Created.Unix(),
			Size: i.Size, SharedSize: i.SharedSize, UniqueSize: i.Size - i.SharedSize, Containers: i.Containers,
			Dangling: len(i.RepoTags) == 0 || (len(i.RepoTags) == 1 && i.RepoTags[0] == "<none>:<none>")}
		if i.Containers > 0 {
			out.Active++
			used += row.UniqueSize
		}
		out.Images = append(out.Images, row)
	}
	out.Reclaimable = du.LayersSize - used
	return out
}

func (s *Server) imageList(w http.ResponseWriter, r *http.Request) error {
	du, err := s.opts.Images.DiskUsage()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ImageListOf(du))
	return nil
}

type analyzedImage struct {
	id     string
	img    analysis.Image
	report *analysis.Report
}

// analyzed reads the image's layers once and keeps the last image read.
func (s *Server) analyze(ref string) (*analyzedImage, error) {
	if ref == "" {
		return nil, badRequest("missing ref: the image to analyze")
	}
	id, err := s.opts.Images.Resolve(ref)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.analyzed != nil && s.analyzed.id == id {
		return s.analyzed, nil
	}
	s.analyzed = nil // let the previous image go before reading the next
	img, err := analysis.FromStore(s.opts.Images, id)
	if err != nil {
		return nil, err
	}
	s.analyzed = &analyzedImage{id: id, img: img, report: analysis.Analyze(img)}
	return s.analyzed, nil
}

func (s *Server) imageAnalysis(w http.ResponseWriter, r *http.Request) error {
	a, err := s.analyze(r.URL.Query().Get("ref"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.report)
	return nil
}

// layerFiles is the file tree after one layer, with what the layer added, modified and removed
// (changed=1: only those paths).
func (s *Server) layerFiles(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	idx := -1
	if v := q.Get("layer"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest("invalid layer " + strconv.Quote(v) + ": want a layer index")
		}
		idx = n
	}
	a, err := s.analyze(q.Get("ref"))
	if err != nil {
		return err
	}
	if idx >= len(a.img.Layers) || idx < -1 {
		return &httpError{http.StatusNotFound, "layer " + strconv.Itoa(idx) + " out of range: the image has " + strconv.Itoa(len(a.img.Layers)) + " layers"}
	}
	tree, err := analysis.Files(a.img, idx, q.Get("changed") == "1")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tree)
	return nil
}

// SearchAnswer is the search view's answer.
type SearchAnswer struct {
	Registry string                  `json:"registry"`
	Method   string                  `json:"method"` // "search" (/v1/search) or "catalog"
	Results  []registry.SearchResult `json:"results"`
}

// search: term is REGISTRY/TEXT, as `docker search` takes it (a registry is required: berth
// does not reach Docker Hub from here).
func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	term := r.URL.Query().Get("term")
	host, q, ok := strings.Cut(term, "/")
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return badRequest("search term " + strconv.Quote(term) + " names no registry: write REGISTRY/TEXT, e.g. 127.0.0.1:5000/busybox")
	}
	res, method, err := distribution.SearchAny(r.Context(), host, q, 100)
	if err != nil {
		return &httpError{http.StatusBadGateway, err.Error()}
	}
	for i := range res {
		if !strings.HasPrefix(res[i].Name, host+"/") {
			res[i].Name = host + "/" + res[i].Name
		}
	}
	writeJSON(w, http.StatusOK, SearchAnswer{Registry: host, Method: method, Results: res})
	return nil
}

// tags lists the tags of repo=REGISTRY/NAME.
func (s *Server) tags(w http.ResponseWriter, r *http.Request) error {
	repo := r.URL.Query().Get("repo")
	host, name, ok := strings.Cut(repo, "/")
	if !ok || name == "" {
		return badRequest("invalid repository " + strconv.Quote(repo) + ": want REGISTRY/NAME")
	}
	tags, err := distribution.Tags(r.Context(), host, name)
	if err != nil {
		return &httpError{http.StatusBadGateway, err.Error()}
	}
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"repository": repo, "tags": tags})
	return nil
}

// composeAction is POST /berth/compose/{project}/up|down: Compose's up -d (from the files the
// project's containers were made from, as their com.docker.compose.project.* labels name them)
// or down, through the compose package, answered with the steps as Compose prints them.
func (s *Server) composeAction(w http.ResponseWriter, r *http.Request) error {
	project, action := r.PathValue("project"), r.PathValue("action")
	if action != "up" && action != "down" {
		return &httpError{http.StatusNotFound, "no such compose action: " + action}
	}
	var mu sync.Mutex
	steps := []string{}
	eng := s.opts.API.Compose(func(e compose.Event) {
		mu.Lock()
		steps = append(steps, strings.TrimSpace(e.String()))
		mu.Unlock()
	})
	cs, err := eng.ProjectContainers(project, false)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return &httpError{http.StatusNotFound, "no such compose project: " + project}
	}
	labels := cs[0].Config.Labels
	var pl *compose.Plan
	if files := labels["com.docker.compose.project.config_files"]; files != "" {
		p, err := compose.Load(r.Context(), compose.LoadOptions{
			ConfigFiles: strings.Split(files, ","),
			ProjectName: project,
			ProjectDir:  labels["com.docker.compose.project.working_dir"],
		})
		if err == nil {
			pl, err = compose.NewPlan(p, compose.PlanOptions{})
		}
		if err != nil && action == "up" {
			return badRequest("reading the project's files: " + err.Error())
		}
	}
	switch action {
	case "up":
		if pl == nil {
			return badRequest("the project's containers do not name its Compose files (com.docker.compose.project.config_files)")
		}
		err = eng.Up(r.Context(), pl, compose.UpOptions{})
	case "down":
		err = eng.Down(r.Context(), project, pl, compose.DownOptions{})
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"Steps": steps})
	return nil
}
