package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
)

// imageRoutes registers the image endpoints.
func (s *Server) imageRoutes() {
	s.handle("GET /images/json", s.imageList)
	s.handle("GET /images/get", s.imageSaveMany)
	s.handle("GET /images/search", s.imageSearch)
	s.handle("GET /images/{name...}", s.imageGet)
	s.handle("POST /images/create", s.imageCreate)
	s.handle("POST /images/load", s.imageLoad)
	s.handle("POST /images/prune", s.imagePrune)
	s.handle("POST /images/{name...}", s.imagePost)
	s.handle("DELETE /images/{name...}", s.imageDelete)
	s.handle("POST /commit", s.imageCommit)
}

// imageGet routes GET /images/NAME/json, /history and /get: an image name may hold slashes, so
// the name is everything before the last path element.
func (s *Server) imageGet(w http.ResponseWriter, r *http.Request) error {
	name, what := splitLast(r.PathValue("name"))
	if name == "" {
		return notFound("page not found")
	}
	switch what {
	case "json":
		resp, err := s.images.Inspect(name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	case "history":
		return s.imageHistory(w, r, name)
	case "get":
		return s.imageSave(w, r, []string{name})
	}
	return notFound("page not found")
}

// imagePost routes POST /images/NAME/tag and /push.
func (s *Server) imagePost(w http.ResponseWriter, r *http.Request) error {
	name, what := splitLast(r.PathValue("name"))
	if name == "" {
		return notFound("page not found")
	}
	switch what {
	case "tag":
		return s.imageTag(w, r, name)
	case "push":
		return s.imagePush(w, r, name)
	}
	return notFound("page not found")
}

// imageSummaryJSON is GET /images/json's element with the fields older API versions have.
type imageSummaryJSON struct {
	Containers  int64             `json:"Containers"`
	Created     int64             `json:"Created"`
	ID          string            `json:"Id"`
	Labels      map[string]string `json:"Labels"`
	ParentID    string            `json:"ParentId"`
	RepoDigests []string          `json:"RepoDigests"`
	RepoTags    []string          `json:"RepoTags"`
	SharedSize  int64             `json:"SharedSize"`
	Size        int64             `json:"Size"`
	VirtualSize *int64            `json:"VirtualSize,omitempty"`
}

// imageList is GET /images/json: the listing `berth images` shows, in the client's version's shape
// (<none> placeholders before 1.43, VirtualSize before 1.44, container counts from 1.51). The
// listing is a function of the database alone (but for the "until" filter, which compares with
// the time of the request): while nobody has committed since the last one, the same request
// gets the same answer without reading or encoding anything (listCaches).
func (s *Server) imageList(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	key := apiVersion(ctx) + "?" + r.URL.RawQuery
	var version metadata.Version
	cacheable := !f.Contains("until")
	if cacheable {
		var err error
		// Taken before the listing reads: a commit after it changes it (metadata.Version).
		if version, err = s.images.DB.Version(); err != nil {
			cacheable = false
		}
	}
	c := &s.lists
	if cacheable {
		c.imagesMu.Lock()
		hit := c.images
		c.imagesMu.Unlock()
		if hit.version == version && hit.key == key && hit.body != nil {
			writeBody(w, http.StatusOK, hit.body)
			return nil
		}
	}
	if v := r.Form.Get("filter"); v != "" && versionBefore(ctx, "1.41") {
		f.Add("reference", v) // the pre-1.41 "filter" parameter
	}
	before151, before143, before144 := versionBefore(ctx, "1.51"), versionBefore(ctx, "1.43"), versionBefore(ctx, "1.44")
	opts := image.ListOptions{All: boolValue(r, "all"), Filters: f, Containers: !before151}
	var list []image.Summary
	if boolValue(r, "shared-size") {
		du, err := s.images.DiskUsage()
		if err != nil {
			return err
		}
		// DiskUsage lists everything; the filters come from a second listing.
		want, err := s.images.List(opts)
		if err != nil {
			return filterError(err)
		}
		byID := map[string]image.Summary{}
		for _, d := range du.Images {
			byID[d.ID] = d
		}
		for _, sum := range want {
			sum.SharedSize = byID[sum.ID].SharedSize
			list = append(list, sum)
		}
	} else if list, err = s.images.List(opts); err != nil {
		return filterError(err)
	}
	out := make([]imageSummaryJSON, 0, len(list))
	for _, sum := range list {
		j := imageSummaryJSON{Containers: sum.Containers, Created: sum.Created.Unix(), ID: sum.ID,
			Labels: sum.Labels, ParentID: sum.ParentID, RepoDigests: sum.RepoDigests, RepoTags: sum.RepoTags,
			SharedSize: sum.SharedSize, Size: sum.Size}
		if !before151 {
			j.Containers = sum.Containers
		} else {
			j.Containers = -1
		}
		if sum.IsDangling() && !before143 {
			j.RepoTags, j.RepoDigests = nil, nil
		}
		if j.RepoTags == nil {
			j.RepoTags = []string{}
		}
		if j.RepoDigests == nil {
			j.RepoDigests = []string{}
		}
		if before144 {
			size := sum.Size
			j.VirtualSize = &size
		}
		out = append(out, j)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := appendJSON(buf, out); err != nil {
		return err
	}
	buf.WriteByte('\n')
	body := buf.Bytes()
	if cacheable {
		body = bytes.Clone(body)
		c.imagesMu.Lock()
		c.images = cachedImages{version: version, key: key, body: body}
		c.imagesMu.Unlock()
	}
	writeBody(w, http.StatusOK, body)
	return nil
}

// filterError: a bad filter (an unknown key or value, a time that does not parse) is the
// caller's mistake, a 400 as dockerd answers; other errors keep their status.
func filterError(err error) error {
	var ife *format.InvalidFilterError
	if errors.As(err, &ife) || strings.Contains(err.Error(), "failed to parse value as time") {
		return badRequest("%v", err)
	}
	return err
}

// imageHistoryItem is Docker's HistoryResponseItem.
type imageHistoryItem struct {
	ID        string   `json:"Id"`
	Created   int64    `json:"Created"`
	CreatedBy string   `json:"CreatedBy"`
	Tags      []string `json:"Tags"`
	Size      int64    `json:"Size"`
	Comment   string   `json:"Comment"`
}

func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	items, err := s.images.History(name)
	if err != nil {
		return err
	}
	out := make([]imageHistoryItem, 0, len(items))
	for _, h := range items {
		out = append(out, imageHistoryItem{ID: h.ID, Created: h.Created.Unix(), CreatedBy: h.CreatedBy,
			Tags: h.Tags, Size: h.Size, Comment: h.Comment})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// imageTag is POST /images/NAME/tag?repo=&tag=: 201 and no body, as dockerd.
func (s *Server) imageTag(w http.ResponseWriter, r *http.Request, name string) error {
	if err := parseForm(r); err != nil {
		return err
	}
	repo, tag := r.Form.Get("repo"), r.Form.Get("tag")
	if repo == "" {
		return badRequest("repository name must have at least one component")
	}
	target := repo
	if tag != "" {
		target += ":" + tag
	}
	if _, err := reference.ParseTagged(target); err != nil {
		return badRequest("%v", err)
	}
	if err := s.images.Tag(name, target); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// imageDeleteItem is Docker's ImageDeleteResponseItem.
type imageDeleteItem struct {
	Untagged string `json:"Untagged,omitempty"`
	Deleted  string `json:"Deleted,omitempty"`
}

func deleteItems(res []image.DeleteResponse) []imageDeleteItem {
	out := make([]imageDeleteItem, 0, len(res))
	for _, d := range res {
		out = append(out, imageDeleteItem{Untagged: d.Untagged, Deleted: d.Deleted})
	}
	return out
}

// imageDelete is DELETE /images/NAME?force=&noprune=: what `berth rmi` does, as Docker's list of
// untagged names and deleted images. noprune is accepted and has no effect: berth keeps no
// untagged parent images of its own to keep (a build's intermediate images are not recorded).
func (s *Server) imageDelete(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	res, err := s.images.Remove(r.PathValue("name"), boolValue(r, "force"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deleteItems(res))
	return nil
}

// imagePrune is POST /images/prune?filters=: `berth image prune` (dangling=false is -a).
func (s *Server) imagePrune(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	opts := image.PruneOptions{}
	if f.Contains("dangling") {
		dangling, err := f.GetBoolOrDefault("dangling", true)
		if err != nil {
			return badRequest("%v", err)
		}
		opts.All = !dangling
		for _, v := range f.Get("dangling") {
			f.Del("dangling", v)
		}
	}
	opts.Filters = f
	res, reclaimed, err := s.images.Prune(opts)
	if err != nil {
		return filterError(err)
	}
	var deleted []imageDeleteItem
	if len(res) > 0 {
		deleted = deleteItems(res)
	}
	writeJSON(w, http.StatusOK, struct {
		ImagesDeleted  []imageDeleteItem
		SpaceReclaimed int64
	}{deleted, reclaimed})
	return nil
}

// imageCreate is POST /images/create: a pull (fromImage, tag, platform) or an import (fromSrc,
// a URL or "-" for the body; repo, tag, message, changes), both answered as a JSON stream.
func (s *Server) imageCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if src := r.Form.Get("fromSrc"); src != "" {
		return s.imageImport(w, r, src)
	}
	from := r.Form.Get("fromImage")
	if from == "" {
		return badRequest("either fromImage or fromSrc must be given")
	}
	kc, err := registryAuthKeychain(r)
	if err != nil {
		return err
	}
	ref := from
	allTags := false
	if tag := r.Form.Get("tag"); tag != "" {
		if strings.HasPrefix(tag, "sha256:") {
			ref += "@" + tag
		} else {
			ref += ":" + tag
		}
	} else if n, err := reference.Parse(from); err == nil {
		allTags = reference.IsNameOnly(n) // dockerd pulls every tag of a bare repository
	}
	if _, err := reference.Parse(ref); err != nil {
		return badRequest("%v", err)
	}
	if p := r.Form.Get("platform"); p != "" {
		if _, err := image.ParsePlatform(p); err != nil {
			return badRequest("%v", err) // dockerd's 400 before it pulls
		}
	}
	st := newImgStream(w)
	// AnyPlatform: as `berth pull --platform`, a single-platform image is taken as it is (dockerd
	// 20.10 checks the platform at create, not at pull).
	o := distribution.PullOptions{Options: s.cfg.Registry, Platform: r.Form.Get("platform"), AllTags: allTags, AnyPlatform: true}
	o.Keychain = kc
	o.Progress = st.progress
	ctx, cancel := s.requestContext(r)
	defer cancel()
	if _, err := distribution.Pull(ctx, s.images, ref, o); err != nil {
		return st.fail(err)
	}
	return nil
}

// requestContext ends when the client hangs up or the server closes.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// imageImport is the fromSrc half of POST /images/create: `berth import`.
func (s *Server) imageImport(w http.ResponseWriter, r *http.Request, src string) error {
	opts := image.ImportOptions{Changes: r.Form["changes"], Message: r.Form.Get("message"), Source: "-"}
	if repo := r.Form.Get("repo"); repo != "" {
		opts.Ref = repo
		if tag := r.Form.Get("tag"); tag != "" {
			opts.Ref += ":" + tag
		}
		if _, err := reference.ParseTagged(opts.Ref); err != nil {
			return badRequest("%v", err)
		}
	}
	var in io.Reader = r.Body
	if src != "-" {
		if !strings.Contains(src, "://") {
			src = "http://" + src // dockerd's default scheme for fromSrc
		}
		if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
			return badRequest("unsupported scheme in fromSrc %q: only http and https URLs are fetched", src)
		}
		ctx, cancel := s.requestContext(r)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return badRequest("%v", err)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("error downloading %s: %s", src, resp.Status)
		}
		in, opts.Source = resp.Body, src
	}
	st := newImgStream(w)
	id, err := s.images.Import(in, opts)
	if err != nil {
		if statusOf(err) == http.StatusInternalServerError {
			return st.fail(badRequest("%v", err))
		}
		return st.fail(err)
	}
	st.send(imgStreamMessage{Status: id})
	return nil
}

// imagePush is POST /images/NAME/push?tag=: `berth push`, with X-Registry-Auth's credentials and
// Docker's progress stream, ending with the aux message {Tag, Digest, Size} of each tag.
func (s *Server) imagePush(w http.ResponseWriter, r *http.Request, name string) error {
	if err := parseForm(r); err != nil {
		return err
	}
	kc, err := registryAuthKeychain(r)
	if err != nil {
		return err
	}
	ref := name
	allTags := false
	if tag := r.Form.Get("tag"); tag != "" {
		ref += ":" + tag
	} else if n, err := reference.Parse(name); err == nil {
		allTags = reference.IsNameOnly(n)
	} else {
		return badRequest("%v", err)
	}
	st := newImgStream(w)
	o := distribution.PushOptions{Options: s.cfg.Registry, AllTags: allTags}
	o.Keychain = kc
	o.Progress = st.progress
	ctx, cancel := s.requestContext(r)
	defer cancel()
	res, err := distribution.Push(ctx, s.images, ref, o)
	if err != nil {
		return st.fail(err)
	}
	for _, p := range res {
		st.send(imgStreamMessage{ProgressDetail: &imgStreamProgress{}, Aux: pushAux{p.Tag, p.Digest.String(), p.Size}})
	}
	return nil
}

// pushAux is the aux message of a pushed tag, in dockerd's key order.
type pushAux struct {
	Tag    string
	Digest string
	Size   int64
}

// imageSaveMany is GET /images/get?names=A&names=B.
func (s *Server) imageSaveMany(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	return s.imageSave(w, r, r.Form["names"])
}

// imageSave streams `berth save` of refs as application/x-tar. Save checks every name before its
// first byte, so an unknown one is still a plain 404.
func (s *Server) imageSave(w http.ResponseWriter, r *http.Request, refs []string) error {
	if len(refs) == 0 {
		return badRequest("no image names given")
	}
	w.Header().Set("Content-Type", "application/x-tar")
	return s.images.Save(w, refs)
}

// imageLoad is POST /images/load?quiet=: `berth load`. As dockerd, the answer is a 200 JSON
// stream even when the archive is bad; the failure is its error message.
func (s *Server) imageLoad(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	st := newImgStream(w)
	var opts image.LoadOptions
	if !boolValue(r, "quiet") {
		opts.Progress = loadProgress{st}
	}
	loaded, err := s.images.Load(r.Body, opts)
	for _, li := range loaded {
		for _, n := range li.Names {
			if n.Previous != "" {
				st.send(imgStreamMessage{Stream: fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string\n", n.Name, n.Previous)})
			}
			st.send(imgStreamMessage{Stream: "Loaded image: " + n.Name + "\n"})
		}
		if len(li.Names) == 0 {
			st.send(imgStreamMessage{Stream: "Loaded image ID: " + li.ID + "\n"})
		}
	}
	if err != nil {
		st.send(imgStreamMessage{ErrorDetail: &imgStreamErrorValue{Message: err.Error()}, Error: err.Error()})
	} else if !st.started {
		st.send(imgStreamMessage{})
	}
	return nil
}

// loadProgress sends Load's progress lines ("ID: Loading layer ...") as stream messages.
type loadProgress struct{ st *imgStream }

func (p loadProgress) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		id, status, ok := strings.Cut(line, ": ")
		if !ok {
			p.st.send(imgStreamMessage{Status: line})
			continue
		}
		p.st.send(imgStreamMessage{ID: id, Status: status})
	}
	return len(b), nil
}
