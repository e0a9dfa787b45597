package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
)

// imageRows makes Docker's rows: one per repository tag (crossed with the repository's digests
// under --digests), digest-only repositories as <none> tags, dangling images as <none>:<none>.
// The one-tag case takes a shortcut that must make the same row as the general grouping.
func TestImageRows(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	images := []image.Summary{
		{ID: "sha256:a", RepoTags: []string{"busybox:latest"}},
		{ID: "sha256:b", RepoTags: []string{"localhost:5000/x/y:1"}, RepoDigests: []string{"localhost:5000/x/y@" + d1}},
		{ID: "sha256:c", RepoTags: []string{"z:2", "a:1", "a:0"}},
		{ID: "sha256:d", RepoDigests: []string{"only@" + d2}},
		{ID: "sha256:e", RepoTags: []string{"<none>:<none>"}, RepoDigests: []string{"<none>@<none>"}},
		{ID: "sha256:f", RepoTags: []string{"a:1"}, RepoDigests: []string{"a@" + d1, "b@" + d2}},
	}
	show := func(digests bool) string {
		var b strings.Builder
		for _, r := range imageRows(images, true, digests, time.Now()) {
			fmt.Fprintf(&b, "%s %s %s %s\n", r.i.ID, r.Repository(), r.Tag(), r.Digest())
		}
		return b.String()
	}
	want := `sha256:a busybox latest <none>
sha256:b localhost:5000/x/y 1 <none>
sha256:c a 1 <none>
sha256:c a 0 <none>
sha256:c z 2 <none>
sha256:d only <none> 
sha256:e <none> <none> <none>
sha256:f a 1 <none>
sha256:f b <none> 
`
	if got := show(false); got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	want = `sha256:a busybox latest <none>
sha256:b localhost:5000/x/y 1 ` + d1 + `
sha256:c a 1 <none>
sha256:c a 0 <none>
sha256:c z 2 <none>
sha256:d only <none> ` + d2 + `
sha256:e <none> <none> <none>
sha256:f a 1 ` + d1 + `
sha256:f b <none> ` + d2 + `
`
	if got := show(true); got != want {
		t.Errorf("rows with digests:\n%s\nwant:\n%s", got, want)
	}
}
