package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/reference"
	securejoin "github.com/cyphar/filepath-securejoin"
)

// buildRoutes registers the build endpoints.
func (s *Server) buildRoutes() {
	s.handle("POST /build", s.build)
	s.handle("POST /build/prune", s.buildPrune)
}

// buildParams reads POST /build's query into the build package's options (what the CLI's
// `berth build` flags become), refusing what berth's builder does not do.
func buildParams(r *http.Request) (build.Options, []string, bool, error) {
	o := build.Options{BuildArgs: map[string]string{}, Labels: map[string]string{}}
	if err := parseForm(r); err != nil {
		return o, nil, false, err
	}
	q := r.Form
	if v := q.Get("version"); v == "2" {
		return o, nil, false, badRequest("BuildKit (builder version 2) is not served: berth serves the classic build endpoint; set DOCKER_BUILDKIT=0")
	}
	for _, t := range q["t"] {
		if t == "" {
			continue
		}
		if _, err := reference.Parse(t); err != nil {
			return o, nil, false, badRequest("invalid reference format: %s", t)
		}
		o.Tags = append(o.Tags, t)
	}
	jsonParam := func(key string, v any) error {
		if s := q.Get(key); s != "" {
			if err := json.Unmarshal([]byte(s), v); err != nil {
				return badRequest("invalid %s: %v", key, err)
			}
		}
		return nil
	}
	var args map[string]*string
	if err := jsonParam("buildargs", &args); err != nil {
		return o, nil, false, err
	}
	for k, v := range args {
		if v != nil { // null: the client's environment has it not (dockerd leaves it unset)
			o.BuildArgs[k] = *v
		}
	}
	if err := jsonParam("labels", &o.Labels); err != nil {
		return o, nil, false, err
	}
	var cacheFrom []string
	if err := jsonParam("cachefrom", &cacheFrom); err != nil {
		return o, nil, false, err
	}
	o.Target = q.Get("target")
	o.NoCache = boolValue(r, "nocache")
	o.AlwaysPull = boolValue(r, "pull")
	o.Platform = q.Get("platform")
	if err := build.ValidatePlatform(o.Platform); err != nil {
		return o, nil, false, badRequest("%v", err)
	}
	// A user-defined network is looked up when a RUN step needs it, as dockerd does.
	o.Network = q.Get("networkmode")
	if v := q.Get("shmsize"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return o, nil, false, badRequest("invalid shmsize: %s", v)
		}
		o.ShmSize = n
	}
	// Resource limits and hosts of the classic builder's RUN containers: berth's build steps
	// do not take them, and a build that silently ignored them would not be what was asked.
	for _, k := range []string{"memory", "memswap", "cpushares", "cpuquota", "cpuperiod"} {
		if v := q.Get(k); v != "" && v != "0" && !(k == "memswap" && v == "-1") {
			return o, nil, false, badRequest("%s is not supported by berth's builder", k)
		}
	}
	for _, h := range q["extrahosts"] {
		for _, e := range strings.Split(h, ",") {
			if host, ip, ok := strings.Cut(e, ":"); !ok || host == "" || net.ParseIP(ip) == nil {
				return o, nil, false, badRequest("invalid IP address in add-host: %q", e)
			}
			o.ExtraHosts = append(o.ExtraHosts, e)
		}
	}
	for _, k := range []string{"cpusetcpus", "cpusetmems", "cgroupparent", "squash", "outputs"} {
		if v := q.Get(k); v != "" && v != "0" && v != "false" && v != "[]" {
			return o, nil, false, badRequest("%s is not supported by berth's builder", k)
		}
	}
	if iso := q.Get("isolation"); iso != "" && iso != "default" {
		return o, nil, false, badRequest("invalid isolation: %s on linux", iso)
	}
	return o, cacheFrom, boolValue(r, "q"), nil
}

// build is POST /build: the body is the context (a tar, maybe compressed), or remote= names a
// tar by URL; the answer streams the classic builder's JSON messages ({"stream"}, {"aux":
// {"ID"}}, {"errorDetail"}), as dockerd does without BuildKit.
func (s *Server) build(w http.ResponseWriter, r *http.Request) error {
	o, cacheFrom, quiet, err := buildParams(r)
	if err != nil {
		return err
	}
	remote := r.Form.Get("remote")
	if remote != "" && !strings.HasPrefix(remote, "http://") && !strings.HasPrefix(remote, "https://") {
		return badRequest("remote context %q: berth fetches tars over http(s) only (no git)", remote)
	}
	// cachefrom: with the classic builder only the named images are cache sources. berth's
	// cache is its own and content-addressed; when none of the images exists here, there is
	// nothing to reuse, as dockerd would find.
	if len(cacheFrom) > 0 {
		found := false
		for _, ref := range cacheFrom {
			if _, err := s.images.Inspect(ref); err == nil {
				found = true
			}
		}
		o.NoCache = o.NoCache || !found
	}
	tmp, err := os.MkdirTemp("", "berth-context-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if remote != "" {
		err = build.FetchContext(r.Context(), remote, tmp)
	} else {
		err = build.ExtractContext(http.MaxBytesReader(nil, r.Body, 8<<30), tmp)
	}
	if err != nil {
		return badRequest("%v", err)
	}
	o.ContextDir = tmp
	if df := r.Form.Get("dockerfile"); df != "" {
		p, err := securejoin.SecureJoin(tmp, df)
		if err != nil {
			return badRequest("dockerfile %q: %v", df, err)
		}
		o.DockerfilePath = p
	}

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	out := &jsonStream{w: w}
	if !quiet {
		o.Progress, o.ProgressMode = out.streamWriter(), build.ProgressClassic
	}
	o.Pull = func(ctx context.Context, ref, platform string) (string, error) {
		res, err := distribution.Pull(ctx, s.images, ref, distribution.PullOptions{Options: s.cfg.Registry, Platform: platform})
		if err != nil {
			return "", err
		}
		return res.ImageID, nil
	}
	res, err := build.Build(r.Context(), s.images, o)
	if err != nil {
		// dockerd's errorDetail has a code only for a command that failed.
		msg, code := build.ClassicError(err)
		detail := map[string]any{"message": msg}
		if code != 0 {
			detail["code"] = code
		}
		out.message(map[string]any{"errorDetail": detail, "error": msg})
		return nil
	}
	// The build cache's automatic limit (builder.gc), applied after every build as the CLI does.
	if rules, err := s.cfg.BuilderGC.Rules(s.images.Root); err == nil {
		if _, err := build.CollectCache(s.images, rules); err != nil {
			s.logf("build cache not collected: %v", err)
		}
	}
	if !quiet {
		// The last step's " ---> ID": the built image (berth records no image for the steps
		// before, so only this one is shown).
		out.message(map[string]string{"stream": " ---> " + shortID(res.ImageID) + "\n"})
	}
	out.message(map[string]any{"aux": map[string]string{"ID": res.ImageID}})
	if quiet {
		out.message(map[string]string{"stream": res.ImageID + "\n"})
		return nil
	}
	out.message(map[string]string{"stream": "Successfully built " + shortID(res.ImageID) + "\n"})
	for _, t := range res.Tags {
		out.message(map[string]string{"stream": "Successfully tagged " + t + "\n"})
	}
	return nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// jsonStream writes dockerd's JSON message stream, one message per line, flushed as it goes.
type jsonStream struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (j *jsonStream) message(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	j.w.Write(append(b, '\r', '\n'))
	flush(j.w)
}

// streamWriter is an io.Writer each of whose writes is one {"stream": ...} message.
func (j *jsonStream) streamWriter() io.Writer {
	return writerTo(func(p []byte) (int, error) {
		j.message(map[string]string{"stream": string(p)})
		return len(p), nil
	})
}

type writerTo func([]byte) (int, error)

func (f writerTo) Write(p []byte) (int, error) { return f(p) }

// buildPrune is POST /build/prune?all=&keep-storage=&filters=: {"CachesDeleted", "SpaceReclaimed"}.
func (s *Server) buildPrune(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	unusedFor, err := build.ParsePruneFilters(f)
	if err != nil {
		var ife *format.InvalidFilterError
		if errors.As(err, &ife) {
			return badRequest("%v", err)
		}
		return badRequest("%v", err)
	}
	keep, err := intValue(r, "keep-storage", 0)
	if err != nil {
		return err
	}
	recs, freed, err := build.PruneCacheWith(s.images, build.PruneOptions{All: boolValue(r, "all"), KeepStorage: keep, UnusedFor: unusedFor})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(recs))
	for _, rec := range recs {
		ids = append(ids, rec.Key)
	}
	writeJSON(w, http.StatusOK, struct {
		CachesDeleted  []string
		SpaceReclaimed int64
	}{ids, freed})
	return nil
}
