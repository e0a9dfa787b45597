package build

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/berth-engine/berth/archive"
	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

// runStep runs a RUN in a throw-away container over the stage's layers; what the command changed
// (the container's overlay upper dir) becomes the step's layer. The cache key is the parent state,
// the command line as history shows it (with the build args in scope, as BuildKit writes them),
// and what else the process sees: environment, user, working directory and network.
func (b *builder) runStep(st *state, c *instructions.RunCommand, label string) error {
	cc := st.cfg.Config
	args := c.CmdLine
	if c.PrependShell {
		args = withShell(cc, args)
	}
	v := b.prog.start(label + " " + text(c))
	unsupported := func(what string) error {
		err := b.stageErr(c, "%s: %s is not supported yet", text(c), what)
		v.fail(err)
		return err
	}
	if len(c.Files) > 0 {
		return unsupported("RUN with a heredoc")
	}
	if len(instructions.GetMounts(c)) > 0 {
		return unsupported("RUN --mount")
	}
	network := string(instructions.GetNetwork(c))
	switch network {
	case "", "default", "host", "none":
	default:
		return unsupported("RUN --network=" + network)
	}

	// History: "RUN |2 A=1 B=2 /bin/sh -c make # buildkit", the build args of the stage first.
	keys := make([]string, 0, len(st.args))
	for k := range st.args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	createdBy := "RUN "
	if len(keys) > 0 {
		createdBy += fmt.Sprintf("|%d ", len(keys))
		for _, k := range keys {
			createdBy += k + "=" + st.args[k] + " "
		}
	}
	createdBy += strings.Join(args, " ") + " # buildkit"

	epoch := ""
	if b.o.SourceDateEpoch != nil {
		epoch = fmt.Sprint(b.o.SourceDateEpoch.Unix())
	}
	key := digestOf(st.key + "\x00" + epoch + "\x00run\x00" + createdBy + "\x00" + strings.Join(st.env, "\x00") +
		"\x00" + cc.User + "\x00" + cc.WorkingDir + "\x00" + network)
	if !b.o.NoCache {
		if e, ok := b.lookup(key); ok {
			b.apply(st, e, createdBy)
			st.key = key
			v.cached()
			return nil
		}
	}
	e, err := b.runAndCommit(st, v, key, text(c), container.StepOptions{
		Layers: st.chains(), Args: args, Env: st.env, User: cc.User, WorkDir: cc.WorkingDir, Network: network,
	})
	if err != nil {
		err = b.stageErr(c, "%s: %v", text(c), err)
		v.fail(err)
		return err
	}
	b.apply(st, e, createdBy)
	st.key = key
	v.done()
	return nil
}

func (st *state) chains() []digest.Digest {
	out := make([]digest.Digest, len(st.layers))
	for i, l := range st.layers {
		out[i] = l.chain
	}
	return out
}

// runAndCommit runs the step and records its upper dir as a layer in the cache. A command that
// changed nothing makes no layer (history says empty_layer), as BuildKit does.
func (b *builder) runAndCommit(st *state, v *vertex, key, desc string, o container.StepOptions) (metadata.CacheEntry, error) {
	out := &lineLog{v: v, start: time.Now()}
	o.Stdout, o.Stderr = out, out
	upper, cleanup, err := container.New(b.s).RunStep(o)
	out.flush()
	if err != nil {
		return metadata.CacheEntry{}, err
	}
	defer cleanup()
	created := b.now
	if b.o.SourceDateEpoch != nil {
		created = *b.o.SourceDateEpoch
		// Reproducible layers: nothing in them is newer than the epoch.
		clampTimes(upper, created)
	}
	e := metadata.CacheEntry{Key: key, ParentChain: st.chain().String(), Created: created, LastUsed: time.Now(), Description: desc}
	if ents, err := os.ReadDir(upper); err != nil {
		return e, err
	} else if len(ents) > 0 {
		rc, err := archive.Diff(upper)
		if err != nil {
			return e, err
		}
		l, err := b.s.IngestLayer(image.LayerSource{R: rc, Size: -1, Recompress: true}, st.chain())
		rc.Close()
		if err != nil {
			return e, err
		}
		e.ChainID, e.DiffID, e.Blob, e.MediaType, e.BlobSize, e.Size = l.ChainID.String(), l.DiffID.String(),
			l.Blob.Digest.String(), l.Blob.MediaType, l.Blob.Size, l.Size
	}
	err = b.s.DB.Update(func(tx *metadata.Tx) error {
		if e.ChainID != "" {
			if err := tx.PutLayer(metadata.Layer{ChainID: e.ChainID, DiffID: e.DiffID, Parent: e.ParentChain, Size: e.Size}); err != nil {
				return err
			}
		}
		return tx.PutCache(e)
	})
	return e, err
}

// lineLog shows a RUN's output the way BuildKit's plain progress does: "#N 0.123 line".
type lineLog struct {
	mu    sync.Mutex
	v     *vertex
	start time.Time
	buf   bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err == io.EOF {
			l.buf.WriteString(line) // an unfinished line waits for the rest
			return len(p), nil
		}
		l.v.log("%.3f %s", time.Since(l.start).Seconds(), strings.TrimSuffix(line, "\n"))
	}
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.v.log("%.3f %s", time.Since(l.start).Seconds(), l.buf.String())
		l.buf.Reset()
	}
}

// clampTimes sets every time in dir later than epoch to epoch (SOURCE_DATE_EPOCH).
func clampTimes(dir string, epoch time.Time) {
	ts := []unix.Timespec{unix.NsecToTimespec(epoch.UnixNano()), unix.NsecToTimespec(epoch.UnixNano())}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.ModTime().After(epoch) {
			unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
}
