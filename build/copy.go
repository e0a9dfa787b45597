package build

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/archive"
	"github.com/moby/patternmatcher"
	chmodmode "github.com/tonistiigi/dchapes-mode"
)

// copySpec is one COPY or ADD after expansion.
type copySpec struct {
	add       bool
	srcs      []string
	rawDest   string
	dest      string // absolute
	src       *view  // the context or the --from stage/image
	isContext bool
	ignore    *patternmatcher.PatternMatcher // .dockerignore (context only)
	exclude   *patternmatcher.PatternMatcher // --exclude
	chmod     *chmodSpec
	chown     bool
	uid, gid  int
	parents   bool
	checksum  string // ADD --checksum
	tmp       string // scratch directory for downloads and extracted archives
	srcKey    string // cache key of the --from stage or image ("" for the context)
	contents  []heredoc
	ctx       context.Context
}

var errNoSources = errors.New("no source files were specified")

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// collect adds the files of the copy to w.
func (c *copySpec) collect(w *layerWriter) error {
	if len(c.srcs)+len(c.contents) == 0 {
		return errNoSources
	}
	// Sources are matched first: how many files the copy has decides whether the destination
	// must be a directory. A wildcard that matches nothing copies nothing (BuildKit's
	// AllowEmptyWildcard), and one that matches a single file may name a file destination.
	type source struct {
		written string
		url     bool
		matches []string
	}
	var sources []source
	count := len(c.contents)
	for _, s := range c.srcs {
		if isURL(s) {
			if !c.add {
				return fmt.Errorf("source can't be a URL for COPY")
			}
			sources = append(sources, source{written: s, url: true})
			count++
			continue
		}
		rel := path.Clean(s)
		if c.isContext && (rel == ".." || strings.HasPrefix(rel, "../")) {
			return fmt.Errorf("forbidden path outside the build context: %s", s)
		}
		matches, err := c.glob(s)
		if err != nil {
			return err
		}
		if len(matches) == 0 && !hasMeta(s) {
			where := "the build context"
			if !c.isContext {
				where = "the --from source"
			}
			return fmt.Errorf("%q: not found in %s (or excluded by .dockerignore)", s, where)
		}
		sources = append(sources, source{written: s, matches: matches})
		count += len(matches)
	}
	// Several sources to a destination without a trailing slash: BuildKit copies into it when it
	// is a directory, and otherwise copies each source to that path in turn, the last one
	// winning (moby/buildkit#1853; the classic builder refuses with "When using COPY with more
	// than one source file, the destination must be a directory and end with a /"). berth
	// builds what Docker's BuildKit builds (golden case copy-nodir-dest).
	destDir := strings.HasSuffix(c.rawDest, "/") || strings.HasSuffix(c.rawDest, "/.") || c.rawDest == "."
	if !destDir && w.baseIsDir(c.dest) {
		destDir = true
	}
	for _, h := range c.contents {
		f, err := os.CreateTemp(c.tmp, "heredoc-")
		if err != nil {
			return err
		}
		_, err = f.WriteString(h.data)
		f.Close()
		if err != nil {
			return err
		}
		target := c.dest
		if destDir {
			target = path.Join(c.dest, h.name)
		}
		mode := int64(0o644)
		if c.chmod != nil {
			mode = c.chmod.apply(mode, false)
		}
		w.add(target, &entry{src: f.Name(), hdr: tar.Header{Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(h.data)),
			Uid: c.uid, Gid: c.gid, ModTime: w.now}})
	}
	for _, s := range sources {
		if s.url {
			if err := c.addURL(w, s.written, destDir); err != nil {
				return err
			}
			continue
		}
		for _, m := range s.matches {
			if err := c.copyOne(w, m, s.written, destDir); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *copySpec) name() string {
	if c.add {
		return "ADD"
	}
	return "COPY"
}

func (c *copySpec) ignored(p string) bool {
	if !c.isContext || c.ignore == nil {
		return false
	}
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		return false
	}
	ok, _ := c.ignore.MatchesOrParentMatches(rel)
	return ok
}

// glob expands a source with wildcards against the source tree; a plain source is returned as
// it is when it exists.
func (c *copySpec) glob(pattern string) ([]string, error) {
	comps := splitPath(pattern)
	cur := []string{"/"}
	for _, comp := range comps {
		var next []string
		for _, dir := range cur {
			if !hasMeta(comp) {
				next = append(next, path.Join(dir, comp))
				continue
			}
			names, err := c.src.readDir(dir)
			if err != nil {
				continue
			}
			for _, n := range names {
				ok, err := path.Match(comp, n)
				if err != nil {
					return nil, fmt.Errorf("%q: %v", pattern, err)
				}
				if ok {
					next = append(next, path.Join(dir, n))
				}
			}
		}
		cur = next
	}
	var out []string
	for _, p := range cur {
		if c.ignored(p) {
			continue
		}
		if _, _, _, err := c.src.stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// parentsTarget is where --parents puts source m: its path under the context, or the part after
// a "/./" pivot in the source as written.
func parentsTarget(m, written string) string {
	if i := strings.Index(written, "/./"); i >= 0 {
		prefix := path.Clean("/" + written[:i])
		return strings.TrimPrefix(strings.TrimPrefix(m, prefix), "/")
	}
	return strings.TrimPrefix(m, "/")
}

func (c *copySpec) copyOne(w *layerWriter, m, written string, destDir bool) error {
	fi, host, rp, err := c.src.stat(m)
	if err != nil {
		return fmt.Errorf("%q: not found", m)
	}
	if fi.IsDir() {
		m = rp // a directory's content is walked where its symlinks lead
	}
	target := c.dest
	if c.parents {
		target = path.Join(c.dest, parentsTarget(m, written))
		if fi.IsDir() {
			return c.copyDir(w, m, target)
		}
		return c.copyFile(w, host, fi, target)
	}
	if fi.IsDir() {
		return c.copyDir(w, m, target)
	}
	if c.add {
		if ok, err := c.extractArchive(w, host, target); ok || err != nil {
			return err
		}
	}
	if destDir {
		target = path.Join(c.dest, path.Base(m))
	}
	return c.copyFile(w, host, fi, target)
}

func (c *copySpec) entryFor(host string, fi fs.FileInfo) (*entry, error) {
	e, err := fileEntry(host, fi, !c.isContext && !c.chown, c.uid, c.gid)
	if err != nil || e == nil {
		return e, err
	}
	if c.chmod != nil {
		e.hdr.Mode = c.chmod.apply(e.hdr.Mode, e.hdr.Typeflag == tar.TypeDir)
	}
	return e, nil
}

func (c *copySpec) copyFile(w *layerWriter, host string, fi fs.FileInfo, target string) error {
	e, err := c.entryFor(host, fi)
	if err != nil || e == nil {
		return err
	}
	w.add(target, e)
	return nil
}

// copyDir copies the content of directory m (not m itself) into target.
func (c *copySpec) copyDir(w *layerWriter, m, target string) error {
	w.mkdirAll(target)
	var walk func(srcDir, rel string) error
	walk = func(srcDir, rel string) error {
		names, err := c.src.readDir(srcDir)
		if err != nil {
			return err
		}
		for _, n := range names {
			sp := path.Join(srcDir, n)
			r := path.Join(rel, n)
			if c.ignored(sp) {
				if c.ignore != nil && c.ignore.Exclusions() {
					if fi, _, _, err := c.src.lstat(sp); err == nil && fi.IsDir() {
						if err := walk(sp, r); err != nil {
							return err
						}
					}
				}
				continue
			}
			if c.exclude != nil {
				if ok, _ := c.exclude.MatchesOrParentMatches(r); ok {
					continue
				}
			}
			var fi fs.FileInfo
			var host string
			if len(c.src.dirs) == 1 {
				// One directory (the context): sp's parents are real directories the walk
				// came through, so the host path is reached without following symlinks.
				host = filepath.Join(c.src.dirs[0], filepath.FromSlash(sp))
				fi, err = os.Lstat(host)
			} else {
				fi, host, _, err = c.src.lstat(sp)
			}
			if err != nil {
				return err
			}
			e, err := c.entryFor(host, fi)
			if err != nil {
				return err
			}
			if e == nil {
				continue
			}
			w.add(path.Join(target, r), e)
			if fi.IsDir() {
				if err := walk(sp, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(m, "")
}

// extractArchive unpacks a local tar (plain or compressed, detected by content) into target, as
// ADD does; ok is false when the file is not an archive.
func (c *copySpec) extractArchive(w *layerWriter, host, target string) (ok bool, err error) {
	f, err := os.Open(host)
	if err != nil {
		return false, err
	}
	defer f.Close()
	plain, _, err := archive.DecompressStream(f)
	if err != nil {
		return false, nil
	}
	tr := tar.NewReader(plain)
	_, terr := tr.Next()
	plain.Close()
	if terr != nil {
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	plain, _, err = archive.DecompressStream(f)
	if err != nil {
		return true, err
	}
	defer plain.Close()
	dir, err := os.MkdirTemp(c.tmp, "add-")
	if err != nil {
		return true, err
	}
	if _, err := archive.Apply(dir, plain, archive.ApplyOptions{Whiteout: archive.WhiteoutApply, BestEffortXattrs: true}); err != nil {
		return true, fmt.Errorf("extracting %s: %w", path.Base(host), err)
	}
	sub := &copySpec{src: &view{dirs: []string{dir}}, chmod: c.chmod, chown: c.chown, uid: c.uid, gid: c.gid}
	return true, sub.copyDir(w, "/", target)
}

// addURL downloads a remote file as ADD does: mode 0600, mtime from Last-Modified, --checksum
// verified.
func (c *copySpec) addURL(w *layerWriter, raw string, destDir bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, raw, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ADD %s: %w", raw, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ADD %s: %s", raw, resp.Status)
	}
	f, err := os.CreateTemp(c.tmp, "url-")
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err != nil {
		return fmt.Errorf("ADD %s: %w", raw, err)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if c.checksum != "" && c.checksum != got {
		return fmt.Errorf("ADD %s: digest mismatch %s: %s", raw, got, c.checksum)
	}
	mtime := time.Unix(0, 0).UTC()
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			mtime = t
		}
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "__unnamed__"
	}
	target := c.dest
	if destDir {
		target = path.Join(c.dest, name)
	}
	mode := int64(0o600)
	if c.chmod != nil {
		mode = c.chmod.apply(mode, false)
	}
	w.add(target, &entry{src: f.Name(), hdr: tar.Header{Typeflag: tar.TypeReg, Mode: mode, Size: n, Uid: c.uid, Gid: c.gid, ModTime: mtime}})
	return nil
}

// chmodSpec is COPY/ADD --chmod: an octal mode every copied file gets, or a symbolic one
// (u+x, go=rX, as chmod(1) takes it) applied to each file's own mode, as BuildKit does through
// the same parser (dchapes-mode, umask 0).
type chmodSpec struct {
	octal int64
	set   *chmodmode.Set
}

func parseChmod(s string) (*chmodSpec, error) {
	if s == "" {
		return nil, nil
	}
	nonOctal := fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", s)
	if m, err := strconv.ParseUint(s, 8, 32); err == nil {
		if m > 0o7777 {
			return nil, nonOctal
		}
		return &chmodSpec{octal: int64(m)}, nil
	}
	set, err := chmodmode.ParseWithUmask(s, 0)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			return nil, nonOctal // BuildKit's answer to what looks numeric
		}
		return nil, err
	}
	return &chmodSpec{set: &set}, nil
}

// apply gives the mode (permission and setuid/setgid/sticky bits, as in a tar header) a file of
// mode cur gets.
func (c *chmodSpec) apply(cur int64, dir bool) int64 {
	if c.set == nil {
		return c.octal
	}
	fm := fs.FileMode(cur & 0o777)
	for _, b := range []struct {
		unix int64
		mode fs.FileMode
	}{{0o4000, fs.ModeSetuid}, {0o2000, fs.ModeSetgid}, {0o1000, fs.ModeSticky}} {
		if cur&b.unix != 0 {
			fm |= b.mode
		}
	}
	if dir {
		fm |= fs.ModeDir
	}
	fm = c.set.Apply(fm)
	out := int64(fm.Perm())
	for _, b := range []struct {
		unix int64
		mode fs.FileMode
	}{{0o4000, fs.ModeSetuid}, {0o2000, fs.ModeSetgid}, {0o1000, fs.ModeSticky}} {
		if fm&b.mode != 0 {
			out |= b.unix
		}
	}
	return out
}

// loadIgnore reads Dockerfile.dockerignore (beside the Dockerfile) or .dockerignore.
func loadIgnore(contextDir, dockerfilePath string) (*patternmatcher.PatternMatcher, string, error) {
	var candidates []string
	if dockerfilePath != "" {
		candidates = append(candidates, dockerfilePath+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(contextDir, ".dockerignore"))
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		pats, err := readIgnore(b)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", p, err)
		}
		pm, err := patternmatcher.New(pats)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", p, err)
		}
		return pm, p, nil
	}
	return nil, "", nil
}

// heredoc is a file written inline in the Dockerfile (COPY <<EOF /dest).
type heredoc struct{ name, data string }
