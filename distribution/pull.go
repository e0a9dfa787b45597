package distribution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/berth-engine/berth/content"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/layer"
	"github.com/berth-engine/berth/reference"
	dref "github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// PullOptions are the choices of one pull.
type PullOptions struct {
	Options
	// Platform is "os/arch[/variant]" to pick from an index; "" is this machine's.
	Platform string
	// AllTags pulls every tag of the repository (the reference must not name a tag).
	AllTags bool
	// AnyPlatform pulls a single-platform image (a manifest, not an index) whatever its
	// platform, as `docker pull --platform` does (Docker 20.10's daemon does not check it).
	// Without it, one that is not Platform is refused: what run, create and build need, as they
	// go on to use the image on Platform.
	AnyPlatform bool
}

// PullResult says what a pull did.
type PullResult struct {
	// Ref is the reference pulled, in full ("127.0.0.1:5000/x:1", "docker.io/library/busybox:latest");
	// with AllTags the repository name.
	Ref string
	// ImageID is the (last) image pulled; Digest the manifest or index digest the registry serves
	// it under (the repo digest).
	ImageID string
	Digest  digest.Digest
	// UpToDate is true when nothing changed: the image was there and the name pointed at it.
	UpToDate bool
}

// Schema 1 media types, refused.
const (
	mediaTypeSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// Pull downloads an image (or every tag of a repository) into the store and names it, the way
// `docker pull` does. Layers download in parallel and each is verified and unpacked while it
// streams; a layer already in the store is not downloaded again. The image is recorded only once
// every blob is verified and every layer unpacked, so a failed or killed pull records nothing and
// the next pull reuses whatever whole blobs and layers it left.
func Pull(ctx context.Context, s *image.Store, ref string, o PullOptions) (*PullResult, error) {
	o.defaults()
	o.Progress = serialize(o.Progress)
	n, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	plat, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	_, tagged := n.(dref.Tagged)
	_, digested := n.(dref.Digested)
	if o.AllTags && (tagged || digested) {
		return nil, errors.New("tag can't be used with --all-tags/-a")
	}
	if !o.AllTags && !tagged && !digested {
		o.Progress(Event{Status: StatusUsingDefault})
		n = reference.WithDefaultTag(n)
	}
	repo, err := o.repository(n)
	if err != nil {
		return nil, err
	}
	c, err := o.newClient(ctx, repo, repo.Scope(transport.PullScope))
	if err != nil {
		return nil, err
	}
	release, err := s.BeginWrite()
	if err != nil {
		return nil, err
	}
	defer release()

	p := &puller{s: s, c: c, o: &o, plat: plat, explicitPlatform: o.Platform != ""}
	if !o.AllTags {
		res, err := p.pull(ctx, n)
		if err != nil {
			return nil, err
		}
		status := StatusDownloadedFor
		if res.UpToDate {
			status = StatusUpToDateFor
		}
		o.Progress(Event{Status: status + reference.Familiar(n)})
		return res, nil
	}

	tags, err := remote.List(repo, c.remote(ctx)...)
	if err != nil {
		return nil, manifestError(reference.Familiar(n), repo.Registry, err)
	}
	all := &PullResult{Ref: n.Name(), UpToDate: true}
	for _, t := range tags {
		tn, err := reference.Parse(n.Name() + ":" + t)
		if err != nil {
			return nil, err
		}
		res, err := p.pull(ctx, tn)
		if err != nil {
			return nil, err
		}
		all.ImageID, all.Digest = res.ImageID, res.Digest
		all.UpToDate = all.UpToDate && res.UpToDate
	}
	status := StatusDownloadedFor
	if all.UpToDate {
		status = StatusUpToDateFor
	}
	o.Progress(Event{Status: status + reference.FamiliarName(n)})
	return all, nil
}

type puller struct {
	s                *image.Store
	c                *client
	o                *PullOptions
	plat             image.Platform
	explicitPlatform bool
}

// pull fetches one tagged or digested reference.
func (p *puller) pull(ctx context.Context, n reference.Named) (*PullResult, error) {
	res, err := p.pullOne(ctx, n)
	if err == nil {
		p.s.Event("pull", reference.Familiar(n), reference.FamiliarName(n))
	}
	return res, err
}

func (p *puller) pullOne(ctx context.Context, n reference.Named) (*PullResult, error) {
	emit := p.o.Progress
	familiar := reference.Familiar(n)
	var ref string
	firstID := familiar
	if t, ok := n.(dref.Tagged); ok {
		ref, firstID = t.Tag(), t.Tag()
	}
	if d, ok := n.(dref.Digested); ok {
		ref = d.Digest().String()
	}
	// Docker names the repository once the manifest is found: a missing tag prints nothing before its error.
	desc, err := p.c.getManifest(ctx, ref)
	if err != nil {
		return nil, manifestError(familiar, p.c.repo.Registry, err)
	}
	emit(Event{ID: firstID, Status: StatusPullingFrom + reference.Path(n)})
	repoDigest := desc.digest
	raw, mediaType := desc.raw, desc.mediaType
	if err := refuseSchema1(familiar, mediaType, raw); err != nil {
		return nil, err
	}
	var indexRaw []byte
	if isIndex(mediaType, raw) {
		indexRaw = raw
		var idx image.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, fmt.Errorf("manifest list %s: %w", repoDigest, err)
		}
		child, err := choosePlatform(idx, p.plat)
		if err != nil {
			return nil, err
		}
		cd, err := p.c.getManifest(ctx, child.Digest.String())
		if err != nil {
			return nil, manifestError(familiar+"@"+child.Digest.String(), p.c.repo.Registry, err)
		}
		raw, mediaType = cd.raw, cd.mediaType
		if err := refuseSchema1(familiar, mediaType, raw); err != nil {
			return nil, err
		}
		if isIndex(mediaType, raw) {
			return nil, fmt.Errorf("%s: nested manifest lists are not supported", familiar)
		}
	}
	var m image.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", digest.FromBytes(raw), err)
	}
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if err := validateManifest(&m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", digest.FromBytes(raw), err)
	}
	res, err := p.pullManifest(ctx, n, raw, mediaType, &m, repoDigest, indexRaw)
	if err != nil {
		return nil, err
	}
	emit(Event{Status: "Digest: " + repoDigest.String()})
	return res, nil
}

func validateManifest(m *image.Manifest) error {
	if err := m.Config.Digest.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		if strings.Contains(l.MediaType, "encrypted") {
			return fmt.Errorf("layer %s: encrypted layers (%s) are not supported", l.Digest, l.MediaType)
		}
	}
	return nil
}

func refuseSchema1(ref, mediaType string, raw []byte) error {
	if mediaType == mediaTypeSchema1 || mediaType == mediaTypeSchema1Signed {
		return fmt.Errorf("%s: image manifest schema 1 (%s) is not supported: push the image again with a current client (Docker v2 schema 2 or OCI)", ref, mediaType)
	}
	if mediaType == "" {
		var v struct {
			SchemaVersion int `json:"schemaVersion"`
		}
		if json.Unmarshal(raw, &v) == nil && v.SchemaVersion == 1 {
			return fmt.Errorf("%s: image manifest schema 1 is not supported: push the image again with a current client (Docker v2 schema 2 or OCI)", ref)
		}
	}
	return nil
}

func isIndex(mediaType string, raw []byte) bool {
	switch mediaType {
	case image.MediaTypeOCIIndex, image.MediaTypeDockerList:
		return true
	case "":
		var v struct {
			Manifests []json.RawMessage `json:"manifests"`
		}
		return json.Unmarshal(raw, &v) == nil && v.Manifests != nil
	}
	return false
}

// pullManifest downloads and unpacks what the store lacks of one image manifest and records it.
func (p *puller) pullManifest(ctx context.Context, n reference.Named, raw []byte, mediaType string, m *image.Manifest, repoDigest digest.Digest, indexRaw []byte) (*PullResult, error) {
	s, emit := p.s, p.o.Progress
	id := m.Config.Digest.String()
	res := &PullResult{Ref: n.String(), ImageID: id, Digest: repoDigest}
	var tags []reference.Tagged
	if t, ok := n.(reference.Tagged); ok {
		tags = append(tags, t)
	}
	canon, err := reference.Parse(n.Name() + "@" + repoDigest.String())
	if err != nil {
		return nil, err
	}
	digests := []reference.Canonical{canon.(reference.Canonical)}
	prev, _ := s.Resolve(n.String())

	if p.complete(id, m) {
		// Docker's shortcut: the image is here, only its names may be new.
		if err := p.putBlob(raw); err != nil {
			return nil, err
		}
		if indexRaw != nil {
			if err := p.putBlob(indexRaw); err != nil {
				return nil, err
			}
		}
		// dockerd lists no layer when the image's config is here, under whatever name
		// (recorded: a pull of the reference image under a new repository and tag prints
		// "Pulling from", "Digest:" and "Status: Downloaded newer image" only).
		res.UpToDate = prev == id
		return res, s.AddNames(id, tags, digests)
	}

	cfgRaw, err := p.c.fetchSmall(ctx, m.Config.Digest, m.Config.Size)
	if err != nil {
		return nil, err
	}
	cfg, err := image.ParseConfig(cfgRaw)
	if err != nil {
		return nil, fmt.Errorf("image config %s: %w", m.Config.Digest, err)
	}
	if have := image.PlatformOf(cfg); p.explicitPlatform && !p.o.AnyPlatform && (have.OS != p.plat.OS || have.Architecture != p.plat.Architecture) {
		return nil, fmt.Errorf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s/%s",
			reference.Familiar(n), platformString(p.plat), cfg.OS, cfg.Architecture)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image config %s lists %d layers, its manifest %d", m.Config.Digest, len(diffIDs), len(m.Layers))
	}
	chains := image.ChainIDs(diffIDs)
	layers := make([]image.LayerRecord, len(m.Layers))
	// Every blob of the pull joins one batch: written now or as its layer streams, made durable
	// by the syncs the layers run (no fsync per blob inside a download slot), moved into place
	// after the layers, before the image is recorded.
	blobBatch := s.NewBlobBatch()
	defer blobBatch.Discard()
	for _, b := range [][]byte{cfgRaw, raw, indexRaw} {
		if b != nil {
			if _, err := blobBatch.Put(b); err != nil {
				return nil, err
			}
		}
	}

	// Announce every layer first (Docker's order), then fetch the missing ones in parallel.
	var todo []int
	for i, l := range m.Layers {
		if size, ok := s.RecordedLayer(chains[i]); ok && s.Content.Has(l.Digest) {
			layers[i] = image.LayerRecord{DiffID: diffIDs[i], Size: size}
			emit(Event{ID: shortID(l.Digest), Status: StatusAlreadyExists})
			continue
		}
		todo = append(todo, i)
	}
	for _, i := range todo {
		emit(Event{ID: shortID(m.Layers[i].Digest), Status: StatusPullingFSLayer})
	}
	for k, i := range todo {
		if k >= p.o.MaxConcurrentDownloads {
			emit(Event{ID: shortID(m.Layers[i].Digest), Status: StatusWaiting})
		}
	}
	// Each layer unpacks into a staged directory; as it finishes, a filesystem sync starts in the
	// background (shared by layers finishing together) so its writes reach the disk while the next
	// layers unpack, without holding a download slot. All of them move into place together once
	// every one is verified and durable, and are recorded after that.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.o.MaxConcurrentDownloads)
	var syncs errgroup.Group
	staged := make([]*layer.Staged, len(todo))
	defer func() {
		for _, st := range staged {
			if st != nil {
				st.Discard()
			}
		}
	}()
	for k, i := range todo {
		var parent digest.Digest
		if i > 0 {
			parent = chains[i-1]
		}
		g.Go(func() error {
			l, st, err := p.layer(gctx, m.Layers[i], parent, blobBatch)
			if err != nil {
				return err
			}
			staged[k] = st
			if l.DiffID != diffIDs[i] {
				return fmt.Errorf("layer %s: unpacked content has diff ID %s, the image config says %s", m.Layers[i].Digest, l.DiffID, diffIDs[i])
			}
			layers[i] = image.LayerRecord{DiffID: l.DiffID, Size: l.Size}
			syncs.Go(st.Sync)
			return nil
		})
	}
	err = g.Wait()
	if serr := syncs.Wait(); err == nil {
		err = serr
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	todoChains := make([]digest.Digest, len(todo))
	for k, i := range todo {
		todoChains[k] = chains[i]
	}
	_, err = s.Layers.CommitAll(staged, todoChains)
	staged = nil // CommitAll discarded what it did not move into place
	if err != nil {
		return nil, err
	}
	// The blobs (the config and manifest as the registry served them, whose digests are the
	// image ID and repo digest, and the layers') were made durable by the same syncs.
	if err := blobBatch.Commit(); err != nil {
		return nil, err
	}

	// Everything is verified and in place: record the image.
	manifestDigest := digest.FromBytes(raw)
	blobs := make([]digest.Digest, 0, len(m.Layers)+1)
	for _, l := range m.Layers {
		blobs = append(blobs, l.Digest)
	}
	if indexRaw != nil {
		blobs = append(blobs, repoDigest)
	}
	if _, err := s.Put(image.Record{
		ManifestDigest: manifestDigest, MediaType: mediaType, ConfigDigest: m.Config.Digest, Config: cfg,
		Layers: layers, Blobs: blobs, Tags: tags, Digests: digests,
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// complete reports whether image id is recorded with every blob of manifest m in the store.
func (p *puller) complete(id string, m *image.Manifest) bool {
	if got, err := p.s.Resolve(id); err != nil || got != id {
		return false
	}
	for _, l := range m.Layers {
		if !p.s.Content.Has(l.Digest) {
			return false
		}
	}
	return p.s.Content.Has(m.Config.Digest)
}

func (p *puller) putBlob(b []byte) error {
	_, err := p.s.Content.Put(b)
	return err
}

// layer downloads one layer blob and unpacks it as it streams; a blob already in the content store
// (a layer known under another parent) is unpacked from there.
func (p *puller) layer(ctx context.Context, desc image.Descriptor, parent digest.Digest, batch *content.Batch) (image.IngestedLayer, *layer.Staged, error) {
	emit := p.o.Progress
	id := shortID(desc.Digest)
	if f, err := p.s.Content.Open(desc.Digest); err == nil {
		defer f.Close()
		emit(Event{ID: id, Status: StatusExtracting, Current: 0, Total: desc.Size})
		l, st, err := p.s.IngestLayerStaged(image.LayerSource{R: f, Digest: desc.Digest, Size: desc.Size, MediaType: desc.MediaType, Batch: batch}, parent)
		if err != nil {
			return l, nil, fmt.Errorf("failed to register layer %s: %w", desc.Digest, err)
		}
		emit(Event{ID: id, Status: StatusPullComplete})
		return l, st, nil
	}
	br := p.c.openBlob(ctx, desc.Digest, desc.Size, func(attempt int, err error) {
		emit(Event{ID: id, Status: retrying(p.o.RetryDelay << (attempt - 1))})
	})
	defer br.Close()
	src := &eofReader{r: &progressReader{r: br, emit: emit, id: id, status: StatusDownloading, total: desc.Size}, onEOF: func() {
		emit(Event{ID: id, Status: StatusVerifying})
		emit(Event{ID: id, Status: StatusDownloadComplete})
	}}
	l, st, err := p.s.IngestLayerStaged(image.LayerSource{R: src, Digest: desc.Digest, Size: desc.Size, MediaType: desc.MediaType, Batch: batch}, parent)
	if err != nil {
		switch {
		case br.err != nil:
			return l, nil, br.err
		case ctx.Err() != nil:
			return l, nil, ctx.Err()
		}
		// Tell a corrupt blob from a genuine but unusable layer: fetch it again and hash it (only
		// on this failure path, so the stream is not hashed once more while it unpacks).
		if d, herr := p.c.blobDigest(ctx, desc.Digest, desc.Size); herr != nil || d != desc.Digest {
			return l, nil, fmt.Errorf("filesystem layer verification failed for digest %s", desc.Digest)
		}
		return l, nil, fmt.Errorf("failed to register layer %s: %w", desc.Digest, err)
	}
	emit(Event{ID: id, Status: StatusExtracting, Current: desc.Size, Total: desc.Size})
	emit(Event{ID: id, Status: StatusPullComplete})
	return l, st, nil
}

// eofReader calls onEOF once, when the stream ends (the download is complete).
type eofReader struct {
	r     io.Reader
	onEOF func()
	eof   bool
}

func (e *eofReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err == io.EOF && !e.eof {
		e.eof = true
		e.onEOF()
	}
	return n, err
}

// parsePlatform reads a platform specifier ("" is this machine's platform), normalized as
// containerd does it; a bad one fails with Docker's words ("foo": unknown operating system or
// architecture: invalid argument).
func parsePlatform(s string) (image.Platform, error) {
	if s == "" {
		return image.DefaultPlatform(), nil
	}
	return image.ParsePlatform(s)
}

func platformString(p image.Platform) string { return p.String() }

// choosePlatform picks the manifest for want from an index: same OS and architecture, and the same
// variant when one is asked for, both sides normalized (arm64's "v8" is arm64, arm is arm/v7).
func choosePlatform(idx image.Index, want image.Platform) (image.Descriptor, error) {
	want = image.NormalizePlatform(want)
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		pl := image.NormalizePlatform(*d.Platform)
		if pl.OS != want.OS || pl.Architecture != want.Architecture {
			continue
		}
		if want.Variant != "" && pl.Variant != want.Variant {
			continue
		}
		if err := d.Digest.Validate(); err != nil {
			return d, err
		}
		return d, nil
	}
	// Docker 20.10 kept its older matching for arm when nothing matches the variant: the first
	// arm entry for the OS, whatever its variant (recorded: linux/arm/v6 from an index of
	// amd64, arm/v7 and arm64/v8 pulls arm/v7).
	if want.Architecture == "arm" {
		for _, d := range idx.Manifests {
			if d.Platform == nil {
				continue
			}
			if pl := image.NormalizePlatform(*d.Platform); pl.OS == want.OS && pl.Architecture == want.Architecture {
				return d, d.Digest.Validate()
			}
		}
	}
	return image.Descriptor{}, fmt.Errorf("no matching manifest for %s in the manifest list entries", platformString(want))
}

// fetchedManifest is a manifest as the registry served it.
type fetchedManifest struct {
	raw       []byte
	mediaType string
	digest    digest.Digest // of raw
}

var manifestAccept = strings.Join([]string{
	image.MediaTypeOCIIndex, image.MediaTypeDockerList, image.MediaTypeOCIManifest, image.MediaTypeDockerManifest,
	mediaTypeSchema1Signed, mediaTypeSchema1,
}, ", ")

// getManifest fetches a manifest by tag or digest and checks its bytes against the digest asked
// for, or against the Docker-Content-Digest the registry announces for a tag. What a registry or
// network may get right next time (5xx, 429, a cut connection) is retried with backoff.
func (c *client) getManifest(ctx context.Context, tagOrDigest string) (*fetchedManifest, error) {
	for attempt := 0; ; attempt++ {
		m, err := c.getManifestOnce(ctx, tagOrDigest)
		if err == nil || attempt >= c.o.Retries || !transient(err) || ctx.Err() != nil {
			return m, err
		}
		t := time.NewTimer(c.o.RetryDelay << attempt)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

func (c *client) getManifestOnce(ctx context.Context, tagOrDigest string) (*fetchedManifest, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("manifests/"+tagOrDigest), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, err
	}
	const limit = 4 << 20
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("manifest %s is larger than %d bytes", tagOrDigest, limit)
	}
	got := digest.FromBytes(raw)
	want := digest.Digest(tagOrDigest)
	if want.Validate() != nil {
		want = digest.Digest(resp.Header.Get("Docker-Content-Digest"))
	}
	if want != "" && want.Validate() == nil && want.Algorithm() == digest.SHA256 && want != got {
		return nil, fmt.Errorf("manifest verification failed for digest %s: content hashes to %s", want, got)
	}
	mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return &fetchedManifest{raw: raw, mediaType: strings.TrimSpace(mt), digest: got}, nil
}

func transient(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}
