package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	dref "github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// PushOptions are the choices of one push.
type PushOptions struct {
	Options
	// AllTags pushes every local tag of the repository (the reference must not name a tag).
	AllTags bool
}

// PushResult is one tag pushed: the manifest digest and size the registry now serves it under.
type PushResult struct {
	Ref    string // full reference ("127.0.0.1:5000/x:1")
	Tag    string
	Digest digest.Digest
	Size   int64
}

// Push uploads images to a registry, the way `docker push` does: blobs the registry has are
// skipped (HEAD), blobs another repository of the same registry holds are mounted, the others
// are uploaded from the content store as stored (no recompression, so digests never change), and
// the manifest is put with its stored bytes. The repo digest is recorded on the image.
func Push(ctx context.Context, s *image.Store, ref string, o PushOptions) ([]PushResult, error) {
	o.defaults()
	o.Progress = serialize(o.Progress)
	n, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	if _, ok := n.(dref.Digested); ok {
		return nil, errors.New("cannot push a digest reference")
	}
	_, tagged := n.(dref.Tagged)
	if o.AllTags && tagged {
		return nil, errors.New("tag can't be used with --all-tags/-a")
	}
	var tags []reference.Named
	if o.AllTags {
		err := s.DB.View(func(tx *metadata.Tx) error {
			names, err := tx.NamesWithPrefix(n.Name() + ":")
			for _, nm := range names {
				if t, err := reference.ParseStored(nm.Name); err == nil && nm.Kind == metadata.KindTag && t.Name() == n.Name() {
					tags = append(tags, t)
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		if !tagged {
			o.Progress(Event{Status: StatusUsingDefault})
			n = reference.WithDefaultTag(n)
		}
		tags = []reference.Named{n}
	}
	ids := make([]string, len(tags))
	for i, t := range tags {
		id, err := s.Resolve(t.String())
		if err != nil {
			if errors.Is(err, image.ErrNoSuchImage) {
				return nil, fmt.Errorf("An image does not exist locally with the tag: %s", reference.Familiar(t))
			}
			return nil, err
		}
		ids[i] = id
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	repo, err := o.repository(n)
	if err != nil {
		return nil, err
	}
	imgs := make([]*image.Image, len(ids))
	scopes := []string{repo.Scope(transport.PushScope)}
	mounts := map[digest.Digest][]name.Repository{}
	for i, id := range ids {
		if imgs[i], err = s.Get(id); err != nil {
			return nil, err
		}
		for _, l := range imgs[i].Manifest.Layers {
			if _, done := mounts[l.Digest]; done {
				continue
			}
			mounts[l.Digest] = nil
			repos, err := s.RepositoriesWithBlob(l.Digest)
			if err != nil {
				return nil, err
			}
			for _, r := range repos {
				rn, err := reference.WithName(r)
				if err != nil || r == n.Name() || reference.Domain(rn) != reference.Domain(n) {
					continue
				}
				from, err := name.NewRepository(r, name.WithDefaultRegistry(repo.RegistryStr()))
				if err != nil {
					continue
				}
				mounts[l.Digest] = append(mounts[l.Digest], from)
				scopes = append(scopes, from.Scope(transport.PullScope))
			}
		}
	}

	o.Progress(Event{Status: StatusPushRefersTo + "[" + n.Name() + "]"})
	c, err := o.newClient(ctx, repo, scopes...)
	if err != nil {
		return nil, err
	}
	p := &pusher{s: s, c: c, o: &o, mounts: mounts}
	var out []PushResult
	for i, t := range tags {
		r, err := p.push(ctx, t.(reference.Tagged), imgs[i])
		if err != nil {
			return out, err
		}
		out = append(out, *r)
	}
	return out, nil
}

type pusher struct {
	s      *image.Store
	c      *client
	o      *PushOptions
	mounts map[digest.Digest][]name.Repository
}

func (p *pusher) push(ctx context.Context, t reference.Tagged, img *image.Image) (*PushResult, error) {
	res, err := p.pushOne(ctx, t, img)
	if err == nil {
		p.s.Event("push", reference.Familiar(t), reference.FamiliarName(t))
	}
	return res, err
}

func (p *pusher) pushOne(ctx context.Context, t reference.Tagged, img *image.Image) (*PushResult, error) {
	emit := p.o.Progress
	m := img.Manifest
	diffIDs := img.Config.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image %s: config lists %d layers, manifest %d", img.ID, len(diffIDs), len(m.Layers))
	}
	// Docker lists the layers top first.
	order := make([]int, 0, len(m.Layers))
	for i := len(m.Layers) - 1; i >= 0; i-- {
		order = append(order, i)
		emit(Event{ID: shortID(diffIDs[i]), Status: StatusPreparing})
	}
	for k, i := range order {
		if k >= p.o.MaxConcurrentUploads {
			emit(Event{ID: shortID(diffIDs[i]), Status: StatusWaiting})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.o.MaxConcurrentUploads)
	for _, i := range order {
		g.Go(func() error {
			return p.blob(gctx, m.Layers[i], shortID(diffIDs[i]))
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := p.blob(ctx, m.Config, ""); err != nil {
		return nil, err
	}
	mt := img.Image.MediaType
	if mt == "" {
		mt = m.MediaType
	}
	if err := remote.Put(p.c.repo.Tag(t.Tag()), rawManifest{img.ManifestRaw, mt}, p.c.remote(ctx)...); err != nil {
		return nil, registryError(p.c.repo.Registry, err)
	}
	d := digest.FromBytes(img.ManifestRaw)
	res := &PushResult{Ref: t.String(), Tag: t.Tag(), Digest: d, Size: int64(len(img.ManifestRaw))}
	emit(Event{Status: fmt.Sprintf("%s: digest: %s size: %d", t.Tag(), d, res.Size), Result: true})
	canon, err := reference.Parse(t.Name() + "@" + d.String())
	if err != nil {
		return nil, err
	}
	if err := p.s.AddNames(img.ID, nil, []reference.Canonical{canon.(reference.Canonical)}); err != nil {
		return nil, err
	}
	return res, nil
}

// blob makes sure the registry holds one blob: already there, mounted, or uploaded. id is the
// short ID its progress lines carry ("" for none: the config).
func (p *pusher) blob(ctx context.Context, desc image.Descriptor, id string) error {
	emit := func(e Event) {
		if id != "" {
			e.ID = id
			p.o.Progress(e)
		}
	}
	size, err := p.s.Content.Info(desc.Digest)
	if err != nil {
		return fmt.Errorf("blob %s is not in the store: %w", desc.Digest, err)
	}
	if ok, err := p.c.hasBlob(ctx, desc.Digest); err != nil {
		return err
	} else if ok {
		emit(Event{Status: StatusLayerExists})
		return nil
	}
	for _, from := range p.mounts[desc.Digest] {
		ok, err := p.c.mount(ctx, desc.Digest, from)
		if err != nil {
			return err
		}
		if ok {
			emit(Event{Status: StatusMountedFrom + from.RepositoryStr()})
			return nil
		}
	}
	for attempt := 0; ; attempt++ {
		err = p.c.upload(ctx, desc.Digest, size, func() (io.ReadCloser, error) {
			return p.s.Content.Open(desc.Digest)
		}, func(n int64) {
			emit(Event{Status: StatusPushing, Current: n, Total: size})
		})
		var perm errPermanent
		if err == nil || errors.As(err, &perm) || ctx.Err() != nil || attempt >= p.o.Retries {
			break
		}
		wait := p.o.RetryDelay << attempt
		emit(Event{Status: retrying(wait)})
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return fmt.Errorf("pushing %s: %w", desc.Digest, registryError(p.c.repo.Registry, err))
	}
	emit(Event{Status: StatusPushed})
	return nil
}

type rawManifest struct {
	b  []byte
	mt string
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(r.mt), nil }

func (c *client) do(ctx context.Context, method, u string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, errPermanent{err}
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	return c.http.Do(req)
}

// hasBlob asks the registry whether the repository holds a blob (HEAD).
func (c *client) hasBlob(ctx context.Context, d digest.Digest) (bool, error) {
	resp, err := c.do(ctx, http.MethodHead, c.url("blobs/"+d.String()), nil, 0)
	if err != nil {
		return false, registryError(c.repo.Registry, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, registryError(c.repo.Registry, transport.CheckError(resp, http.StatusOK))
}

// mount asks the registry to link a blob of repository from into this one; false when it would
// rather have an upload (the session it opened instead is cancelled).
func (c *client) mount(ctx context.Context, d digest.Digest, from name.Repository) (bool, error) {
	u := c.url("blobs/uploads/") + "?mount=" + url.QueryEscape(d.String()) + "&from=" + url.QueryEscape(from.RepositoryStr())
	resp, err := c.do(ctx, http.MethodPost, u, nil, 0)
	if err != nil {
		return false, registryError(c.repo.Registry, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusAccepted:
		if loc, err := c.location(resp); err == nil {
			if r, err := c.do(ctx, http.MethodDelete, loc.String(), nil, 0); err == nil {
				r.Body.Close()
			}
		}
		return false, nil
	}
	return false, nil
}

func (c *client) location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("registry sent no upload location")
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// upload sends a blob in one request (POST for a session, PUT with the content and digest).
func (c *client) upload(ctx context.Context, d digest.Digest, size int64, open func() (io.ReadCloser, error), progress func(int64)) error {
	resp, err := c.do(ctx, http.MethodPost, c.url("blobs/uploads/"), nil, 0)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return permanentUnlessServer(resp, transport.CheckError(resp, http.StatusAccepted))
	}
	u, err := c.location(resp)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	f, err := open()
	if err != nil {
		return errPermanent{err}
	}
	defer f.Close()
	pr := &progressReader{r: f, emit: func(e Event) { progress(e.Current) }, total: size}
	resp, err = c.do(ctx, http.MethodPut, u.String(), io.NopCloser(pr), size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return permanentUnlessServer(resp, transport.CheckError(resp, http.StatusCreated))
	}
	return nil
}

func permanentUnlessServer(resp *http.Response, err error) error {
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return err
	}
	return errPermanent{err}
}
