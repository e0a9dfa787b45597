package registry

import (
	"regexp"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
)

// The distribution spec's grammar for repository names and tags. Every storage path is built from
// names and tags that matched these, and from digests that passed digest.Validate (hex only), so no
// request can name a path outside the storage directory: no component can be empty, ".", ".." or
// start with "_" (which keeps a repository's own _blobs/_manifests/_tags directories apart from the
// names of nested repositories).
// They are compiled on first use: every berth command links this package, few serve a registry.
var (
	nameRE = lazyRegexp(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = lazyRegexp(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	// upload session ids are ours: 32 hex digits.
	uploadIDRE = lazyRegexp(`^[0-9a-f]{32}$`)
)

// lazyRegexp returns a function compiling expr once, when first called.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// maxNameLength bounds a repository name; clients commonly cap host+name at 255 characters.
const maxNameLength = 255

// ValidName reports whether name is a valid repository name.
func ValidName(name string) bool {
	return len(name) <= maxNameLength && nameRE().MatchString(name)
}

// ValidTag reports whether tag is a valid tag.
func ValidTag(tag string) bool { return tagRE().MatchString(tag) }

// parseDigest accepts only digests of algorithms the registry can verify (sha256, sha512) whose
// encoded part has the algorithm's exact length and alphabet.
func parseDigest(s string) (digest.Digest, bool) {
	d := digest.Digest(s)
	if !strings.HasPrefix(s, "sha256:") && !strings.HasPrefix(s, "sha512:") {
		return "", false
	}
	if d.Validate() != nil {
		return "", false
	}
	return d, true
}
