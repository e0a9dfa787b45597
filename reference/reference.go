// Package reference parses and normalises image references exactly as Docker does: "busybox" is
// docker.io/library/busybox:latest, "localhost:5000/a/b:t" keeps its registry, "name@sha256:..." is a
// digest reference. It wraps github.com/distribution/reference (Docker's own grammar) and adds the
// rules Docker's CLI and daemon apply on top: the default tag, the wording of errors, and how a string
// that may be an image ID is told apart from a name.
package reference

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	dref "github.com/distribution/reference"
)

// Named is a normalised reference (always with a domain, "docker.io/library/busybox").
type Named = dref.Named

// Tagged, Digested and Canonical are the reference kinds a Named may also be.
type (
	Tagged    = dref.NamedTagged
	Canonical = dref.Canonical
)

// DefaultTag is the tag a name without tag or digest gets.
const DefaultTag = "latest"

// Parse parses s as Docker does for a name the user typed ("busybox", "busybox:1", "a/b@sha256:...").
// The result is normalised but keeps what was given: no default tag is added.
func Parse(s string) (Named, error) {
	if s == "" {
		return nil, fmt.Errorf("invalid reference format")
	}
	if ok := anchoredID().MatchString(s); ok {
		// A 64-hex string is an image ID, never a repository name (Docker's rule).
		return nil, fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	if first, _, ok := strings.Cut(s, "/"); ok && !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) != first {
		// Newer distribution/reference takes an uppercase first component for a registry
		// host ("Foo/bar" on host "Foo"); Docker 20.10 takes it for part of the repository
		// name, and refuses it: a host needs a dot, a port, or to be localhost.
		return nil, fmt.Errorf("invalid reference format: repository name must be lowercase")
	}
	n, err := dref.ParseNormalizedNamed(s)
	if err != nil {
		return nil, wrap(err)
	}
	return n, nil
}

// ParseTagged parses s as a name to store an image under (tag, import, build -t, load): a missing
// tag becomes "latest"; a name with a digest is refused, like `docker tag`.
func ParseTagged(s string) (Tagged, error) {
	n, err := Parse(s)
	if err != nil {
		return nil, err
	}
	if _, ok := n.(dref.Digested); ok {
		return nil, fmt.Errorf("refusing to create a tag with a digest reference")
	}
	t, ok := dref.TagNameOnly(n).(Tagged)
	if !ok {
		return nil, fmt.Errorf("invalid reference format")
	}
	return t, nil
}

// WithDefaultTag adds ":latest" to a name that has neither tag nor digest.
func WithDefaultTag(n Named) Named { return dref.TagNameOnly(n) }

// Familiar is the short form Docker prints: "busybox:latest", "localhost:5000/a/b:t".
func Familiar(r dref.Reference) string { return dref.FamiliarString(r) }

// FamiliarName is the repository part in short form: "busybox", "localhost:5000/a/b".
func FamiliarName(n Named) string { return dref.FamiliarName(n) }

// FamiliarMatch reports whether the short form of r matches the glob pattern, as
// `docker images --filter reference=PATTERN` and `docker images REPO[:TAG]` do.
func FamiliarMatch(pattern string, r dref.Reference) (bool, error) {
	return dref.FamiliarMatch(pattern, r)
}

// Domain is the registry host of a name ("docker.io", "localhost:5000").
func Domain(n Named) string { return dref.Domain(n) }

// Path is the repository path inside its registry ("library/busybox").
func Path(n Named) string { return dref.Path(n) }

// WithName parses a full, already normalised repository name ("docker.io/library/busybox").
func WithName(name string) (Named, error) { return dref.WithName(name) }

// ParseStored parses a name as it is stored (normalised, with tag or digest).
func ParseStored(s string) (Named, error) { return dref.ParseNamed(s) }

// Compiled on first use, not as every berth command starts.
var (
	anchoredID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{64}$`) })
	shortID    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(sha256:)?[a-f0-9]{1,64}$`) })
)

// LooksLikeID reports whether s could be a full or short image ID ("84a2d8c5e9ff",
// "sha256:84a2..."), the other thing a user may type where a name is expected.
func LooksLikeID(s string) bool { return shortID().MatchString(s) }

// wrap gives distribution's parse errors Docker's wording.
func wrap(err error) error {
	if strings.Contains(err.Error(), "must be lowercase") {
		return fmt.Errorf("invalid reference format: repository name must be lowercase")
	}
	return err
}

// SplitStored splits a stored (normalised, valid) name without re-parsing it: the familiar
// repository ("busybox", "localhost:5000/a/b"), and its tag or digest (one of them is set). It is
// the hot path of listings, which turn thousands of stored names into familiar ones; names that
// were never validated must go through Parse instead.
func SplitStored(name string) (repo, tag, digest string) {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		repo, digest = name[:i], name[i+1:]
	} else if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		repo, tag = name[:i], name[i+1:]
	} else {
		repo = name
	}
	return familiarRepo(repo), tag, digest
}

// familiarRepo shortens a normalised repository the way Docker prints it.
func familiarRepo(repo string) string {
	const hub = "docker.io/"
	if !strings.HasPrefix(repo, hub) {
		return repo
	}
	repo = repo[len(hub):]
	if rest, ok := strings.CutPrefix(repo, "library/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return repo
}

// FamiliarStored is the familiar string of a stored name ("busybox:latest").
func FamiliarStored(name string) string {
	repo, tag, digest := SplitStored(name)
	switch {
	case digest != "":
		return repo + "@" + digest
	case tag != "":
		return repo + ":" + tag
	}
	return repo
}

// MatchStored is FamiliarMatch for a stored name: the glob is matched against the familiar
// string, then against the familiar repository.
func MatchStored(pattern, name string) (bool, error) {
	repo, _, _ := SplitStored(name)
	ok, err := path.Match(pattern, FamiliarStored(name))
	if err != nil || ok {
		return ok, err
	}
	return path.Match(pattern, repo)
}

// IsNameOnly reports whether n names a repository without a tag or digest (a pull or push of
// every tag, as dockerd does for a bare repository).
func IsNameOnly(n Named) bool { return dref.IsNameOnly(n) }
