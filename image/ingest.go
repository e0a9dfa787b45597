package image

import (
	"fmt"
	"io"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/content"
	"github.com/berth-engine/berth/layer"
	"github.com/berth-engine/berth/rootless"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

// LayerSource is a layer blob as it arrives (from a file, an archive or a registry).
type LayerSource struct {
	R io.Reader
	// Expected digest and size of the blob as it arrives; empty/negative when unknown.
	Digest digest.Digest
	Size   int64
	// MediaType of the blob when known; "" lets the content decide.
	MediaType string
	// Recompress stores a gzip of the plain tar instead of the blob as it arrived (import: the
	// input may be bzip2 or xz, which no registry takes).
	Recompress bool
	// DiffID, when known (from the image config), is checked before anything is committed.
	DiffID digest.Digest
	// Batch, when set, takes the verified blob instead of the store moving it into place at once:
	// it becomes durable and appears with the batch's other blobs (NewBlobBatch).
	Batch *content.Batch
}

// NewBlobBatch starts a batch of blobs made durable by the layer store's filesystem syncs: a
// pull's blobs and layers then share one durability point, the syncs its layers run as they
// finish, instead of an fsync per blob inside each download. The caller commits the batch once
// every blob and layer is verified, before recording anything, and discards it in any case.
func (s *Store) NewBlobBatch() *content.Batch { return s.Content.NewBatch(s.Layers) }

// IngestedLayer is a layer after ingest: its blob stored, its content unpacked.
type IngestedLayer struct {
	Blob    Descriptor    // the stored blob
	DiffID  digest.Digest // digest of the uncompressed tar
	ChainID digest.Digest
	Size    int64 // unpacked size
}

// IngestLayer stores a layer blob and unpacks it on top of parent (a chain ID, "" for a base
// layer) in one pass over the stream: the blob is hashed and written, decompressed, hashed again
// (diff ID) and applied as it streams. Nothing is visible until the blob is verified and the layer
// directory renamed into place; the caller must hold the store's write lock.
func (s *Store) IngestLayer(src LayerSource, parent digest.Digest) (IngestedLayer, error) {
	out, staged, err := s.IngestLayerStaged(src, parent)
	if err != nil {
		return out, err
	}
	if _, err := staged.Commit(out.ChainID); err != nil {
		return out, err
	}
	return out, nil
}

// IngestLayerStaged is IngestLayer without the last step: the layer is unpacked and verified, its
// blob committed, but its directory is left staged for the caller to move into place with
// Layers.CommitAll (with the other layers of an image: one filesystem sync for all of them) or to
// Discard. The caller must do one or the other, and still hold the store's write lock.
func (s *Store) IngestLayerStaged(src LayerSource, parent digest.Digest) (_ IngestedLayer, _ *layer.Staged, err error) {
	var out IngestedLayer
	// A layer's files keep their owners: that needs root, or rootless mode's namespace.
	if err := rootless.NeedRoot("unpacking image layers"); err != nil {
		return out, nil, err
	}
	staged, err := s.Layers.Stage()
	if err != nil {
		return out, nil, err
	}
	defer func() {
		if err != nil {
			staged.Discard()
		}
	}()
	out, err = s.ingest(src, parent, staged)
	if err != nil {
		return out, nil, err
	}
	return out, staged, nil
}

func (s *Store) ingest(src LayerSource, parent digest.Digest, staged *layer.Staged) (IngestedLayer, error) {
	var out IngestedLayer
	newWriter := s.Content.Writer
	if src.Batch != nil {
		newWriter = src.Batch.Writer
	}
	blob, err := newWriter()
	if err != nil {
		return out, err
	}
	defer blob.Close()

	in := src.R
	if !src.Recompress {
		in = io.TeeReader(src.R, blob)
	}
	plain, comp, err := archive.DecompressStream(in)
	if err != nil {
		return out, fmt.Errorf("Error processing tar file: %w", err)
	}
	defer plain.Close()
	diff := digest.SHA256.Digester()
	var tarStream io.Reader = io.TeeReader(plain, diff.Hash())
	var gz *asyncGzip
	if src.Recompress {
		gz = newAsyncGzip(blob)
		tarStream = io.TeeReader(tarStream, gz)
	}
	var sparse bool
	size, err := archive.Apply(staged.Dir(), tarStream, archive.ApplyOptions{Whiteout: archive.WhiteoutOverlay, Sparse: &sparse, UserXattr: rootless.Active()})
	if err == nil {
		// Hash what follows the tar's end-of-archive marker too: the diff ID covers the whole stream.
		_, err = io.Copy(io.Discard, tarStream)
	}
	if gz != nil {
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return out, fmt.Errorf("Error processing tar file: %w", err)
	}
	mediaType := src.MediaType
	switch {
	case src.Recompress:
		mediaType = MediaTypeOCILayerGzip
	case mediaType == "":
		mediaType = layerMediaType(comp)
	}
	// A source read only up to the tar's end may still hold compressed trailer bytes.
	if !src.Recompress {
		if _, err := io.Copy(io.Discard, in); err != nil {
			return out, err
		}
	}
	if src.DiffID != "" && diff.Digest() != src.DiffID {
		err := fmt.Errorf("diff ID mismatch: the layer content hashes to %s, but the image config says %s", diff.Digest(), src.DiffID)
		if src.Digest != "" {
			err = fmt.Errorf("layer %s: %w", src.Digest, err)
		}
		return out, err
	}
	diffID := diff.Digest()
	if sparse && src.Recompress {
		// The blob is berth's own (import, commit, build): write it again from the unpacked
		// directory, whose files are regular, instead of keeping the sparse entries.
		blob.Close()
		if blob, diffID, err = s.rewriteLayer(staged.Dir(), newWriter); err != nil {
			return out, fmt.Errorf("rewriting a layer with sparse files: %w", err)
		}
		defer blob.Close()
	}
	d, n, err := blob.Commit(src.Digest, src.Size)
	if err != nil {
		return out, fmt.Errorf("layer %s: %w", src.Digest, err)
	}
	out.Blob = Descriptor{MediaType: mediaType, Digest: d, Size: n}
	out.DiffID = diffID
	out.ChainID = ChainID(parent, out.DiffID)
	out.Size = size
	return out, nil
}

// rewriteLayer writes a gzip layer blob of the unpacked layer dir (Diff turns its whiteouts back
// into .wh. entries) and returns the uncommitted blob and the diff ID of the tar.
func (s *Store) rewriteLayer(dir string, newWriter func() (*content.Writer, error)) (*content.Writer, digest.Digest, error) {
	blob, err := newWriter()
	if err != nil {
		return nil, "", err
	}
	tarStream, err := archive.Diff(dir)
	if err != nil {
		blob.Close()
		return nil, "", err
	}
	defer tarStream.Close()
	diff := digest.SHA256.Digester()
	zw, _ := gzip.NewWriterLevel(blob, gzip.BestSpeed)
	if _, err := io.Copy(io.MultiWriter(zw, diff.Hash()), tarStream); err != nil {
		blob.Close()
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		blob.Close()
		return nil, "", err
	}
	return blob, diff.Digest(), nil
}

func layerMediaType(c archive.Compression) string {
	switch c {
	case archive.Gzip:
		return MediaTypeOCILayerGzip
	case archive.Zstd:
		return MediaTypeOCILayerZstd
	default:
		return MediaTypeOCILayer
	}
}

// asyncGzip compresses on another goroutine, so on a multi-core machine gzip runs beside the
// hashing and unpacking instead of after them.
type asyncGzip struct {
	ch   chan []byte
	done chan error
	pool chan []byte
}

func newAsyncGzip(w io.Writer) *asyncGzip {
	a := &asyncGzip{ch: make(chan []byte, 16), done: make(chan error, 1), pool: make(chan []byte, 18)}
	go func() {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		var err error
		for b := range a.ch {
			if err == nil {
				_, err = zw.Write(b)
			}
			select {
			case a.pool <- b[:0]:
			default:
			}
		}
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		a.done <- err
	}()
	return a
}

func (a *asyncGzip) Write(p []byte) (int, error) {
	var b []byte
	select {
	case b = <-a.pool:
	default:
	}
	a.ch <- append(b, p...)
	return len(p), nil
}

func (a *asyncGzip) Close() error {
	close(a.ch)
	return <-a.done
}
