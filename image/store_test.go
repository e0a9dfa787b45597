package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/metadata"
	"github.com/berth-engine/berth/reference"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

// testTar builds a layer tar of regular files (name → content), plus a symlink.
func testTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	tw.Close()
	return buf.Bytes()
}

func openTest(t testing.TB) *Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: layers are unpacked with their owners")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustImport(t testing.TB, s *Store, ref string, files map[string]string, changes ...string) string {
	t.Helper()
	id, err := s.Import(bytes.NewReader(testTar(t, files)), ImportOptions{Ref: ref, Changes: changes})
	if err != nil {
		t.Fatalf("import %s: %v", ref, err)
	}
	return id
}

func TestImportRecordsImage(t *testing.T) {
	s := openTest(t)
	id := mustImport(t, s, "app:1", map[string]string{"bin/busybox": "0123456789"},
		`ENV A=1 B="two words"`, `CMD ["sh"]`, "EXPOSE 80 443/udp 8000-8001", "LABEL a=b", "USER nobody",
		"VOLUME /data", "WORKDIR /w", "WORKDIR sub", "ONBUILD RUN echo hi", "STOPSIGNAL SIGINT",
		"ENV PATH=/bin:$A")
	r, err := s.Inspect("app:1")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != id || r.Comment != "Imported from -" || len(r.RepoTags) != 1 || r.RepoTags[0] != "app:1" {
		t.Fatalf("inspect: %+v", r)
	}
	c := r.Config
	if strings.Join(c.Env, "|") != "A=1|B=two words|PATH=/bin:1" || strings.Join(c.Cmd, " ") != "sh" ||
		c.User != "nobody" || c.WorkingDir != "/w/sub" || c.StopSignal != "SIGINT" || c.Labels["a"] != "b" ||
		len(c.ExposedPorts) != 4 || c.OnBuild[0] != "RUN echo hi" {
		t.Fatalf("config: %+v", c)
	}
	for _, p := range []string{"80/tcp", "443/udp", "8000/tcp", "8001/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s missing from %v", p, c.ExposedPorts)
		}
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volume missing: %v", c.Volumes)
	}
	// Size as Docker's overlay2 counts it: file bytes plus symlink targets.
	if r.Size != 10+int64(len("busybox")) {
		t.Errorf("size = %d", r.Size)
	}
	img, _ := s.Get(id)
	if len(img.Layers) != 1 || !s.Layers.Exists(digest.Digest(img.Layers[0])) {
		t.Fatalf("layer not unpacked: %v", img.Layers)
	}
	b, err := os.ReadFile(filepath.Join(s.Layers.Dir(digest.Digest(img.Layers[0])), "bin/busybox"))
	if err != nil || string(b) != "0123456789" {
		t.Fatalf("unpacked content: %q %v", b, err)
	}
	for _, l := range img.Manifest.Layers {
		if !s.Content.Has(l.Digest) || l.MediaType != MediaTypeOCILayerGzip {
			t.Fatalf("layer blob %v", l)
		}
	}
}

func TestImportRejectsBadInputWritingNothing(t *testing.T) {
	s := openTest(t)
	cases := []struct {
		opts ImportOptions
		in   []byte
		want string
	}{
		{ImportOptions{Changes: []string{"RUN x"}}, testTar(t, nil), "run is not a valid change command"},
		{ImportOptions{Changes: []string{"FOO x"}}, testTar(t, nil), "foo is not a valid change command"},
		{ImportOptions{Ref: "BAD"}, testTar(t, nil), "invalid reference format: repository name must be lowercase"},
		{ImportOptions{}, []byte("this is not a tar archive at all, not even close........"), "Error processing tar file"},
		{ImportOptions{}, gzipTruncated(t), "Error processing tar file"},
	}
	for _, c := range cases {
		_, err := s.Import(bytes.NewReader(c.in), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
	assertEmptyStore(t, s)
}

func gzipTruncated(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := newGzipWriter(&buf)
	zw.Write(testTar(t, map[string]string{"big": strings.Repeat("x", 100000)}))
	zw.Close()
	return buf.Bytes()[:buf.Len()/2]
}

func assertEmptyStore(t *testing.T, s *Store) {
	t.Helper()
	images, err := s.List(ListOptions{All: true})
	if err != nil || len(images) != 0 {
		t.Fatalf("images after failures: %v %v", images, err)
	}
	for _, dir := range []string{"blobs/sha256", "layers", "ingest"} {
		ents, _ := os.ReadDir(filepath.Join(s.Root, dir))
		if len(ents) != 0 {
			t.Errorf("%s not empty: %v", dir, ents)
		}
	}
}

func filters(t *testing.T, kv ...string) format.Args {
	a, err := format.ParseFilters(kv)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func refs(list []Summary) string {
	var out []string
	for _, s := range list {
		out = append(out, strings.Join(s.RepoTags, ","))
	}
	return strings.Join(out, " ")
}

func TestListFilters(t *testing.T) {
	s := openTest(t)
	mustImport(t, s, "busybox:1", map[string]string{"a": "1"}, "LABEL tier=base")
	time.Sleep(10 * time.Millisecond)
	mustImport(t, s, "localhost:5000/team/app:v2", map[string]string{"a": "2"}, "LABEL tier=app", "LABEL extra=x")
	time.Sleep(10 * time.Millisecond)
	dangling := mustImport(t, s, "", map[string]string{"a": "3"})
	cases := []struct {
		f    []string
		want string
	}{
		{nil, "<none>:<none> localhost:5000/team/app:v2 busybox:1"},
		{[]string{"dangling=true"}, "<none>:<none>"},
		{[]string{"dangling=false"}, "localhost:5000/team/app:v2 busybox:1"},
		{[]string{"label=tier"}, "localhost:5000/team/app:v2 busybox:1"},
		{[]string{"label=tier=app"}, "localhost:5000/team/app:v2"},
		{[]string{"label=tier", "label=extra"}, "localhost:5000/team/app:v2"},
		{[]string{"reference=busybox"}, "busybox:1"},
		{[]string{"reference=docker.io/library/busybox"}, ""},
		{[]string{"reference=busy*:1"}, "busybox:1"},
		{[]string{"reference=*/team/*"}, "localhost:5000/team/app:v2"},
		{[]string{"reference=team/*"}, ""},
		{[]string{"reference=localhost:5000/*/*"}, "localhost:5000/team/app:v2"},
		{[]string{"reference=busybox", "reference=localhost:5000/team/app"}, "localhost:5000/team/app:v2 busybox:1"},
		{[]string{"before=localhost:5000/team/app:v2"}, "busybox:1"},
		{[]string{"since=busybox:1"}, "<none>:<none> localhost:5000/team/app:v2"},
		{[]string{"since=busybox:1", "dangling=false"}, "localhost:5000/team/app:v2"},
		{[]string{"until=1h"}, ""},
	}
	for _, c := range cases {
		got, err := s.List(ListOptions{Filters: filters(t, c.f...)})
		if err != nil {
			t.Fatalf("%v: %v", c.f, err)
		}
		if refs(got) != c.want {
			t.Errorf("filter %v = %q, want %q", c.f, refs(got), c.want)
		}
	}
	if _, err := s.List(ListOptions{Filters: filters(t, "foo=bar")}); err == nil || err.Error() != "Invalid filter 'foo'" {
		t.Errorf("unknown filter: %v", err)
	}
	if _, err := s.List(ListOptions{Filters: filters(t, "dangling=maybe")}); err == nil || err.Error() != "Invalid filter 'dangling=[maybe]'" {
		t.Errorf("bad bool: %v", err)
	}
	if _, err := s.List(ListOptions{Filters: filters(t, "before=nosuch")}); err == nil || err.Error() != "No such image: nosuch:latest" {
		t.Errorf("before unknown: %v", err)
	}
	if id, err := s.Resolve(dangling[7:19]); err != nil || id != dangling {
		t.Errorf("short ID resolve: %v %v", id, err)
	}
}

func TestTagAndRemoveSemantics(t *testing.T) {
	s := openTest(t)
	id := mustImport(t, s, "aaa:1", map[string]string{"f": "x"})
	for _, n := range []string{"aaa:2", "bbb:2"} {
		if err := s.Tag("aaa:1", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Tag("nosuch", "x:1"); err == nil || err.Error() != "No such image: nosuch:latest" {
		t.Fatalf("tag of missing image: %v", err)
	}
	short := id[7:19]
	_, err := s.Remove(short, false)
	var ce ConflictError
	if !errors.As(err, &ce) || err.Error() != "conflict: unable to delete "+short+" (must be forced) - image is referenced in multiple repositories" {
		t.Fatalf("conflict: %v", err)
	}
	res, err := s.Remove("aaa:1", false)
	if err != nil || len(res) != 1 || res[0].Untagged != "aaa:1" {
		t.Fatalf("untag: %+v %v", res, err)
	}
	if _, err := s.Remove("nosuch", false); err == nil || err.Error() != "No such image: nosuch" {
		t.Fatalf("missing: %v", err)
	}
	res, err = s.Remove(short, true)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range res {
		if r.Untagged != "" {
			lines = append(lines, "Untagged: "+r.Untagged)
		} else {
			lines = append(lines, "Deleted: "+r.Deleted)
		}
	}
	img := lines[len(lines)-2]
	if strings.Join(lines[:2], "|") != "Untagged: aaa:2|Untagged: bbb:2" || img != "Deleted: "+id ||
		!strings.HasPrefix(lines[len(lines)-1], "Deleted: sha256:") {
		t.Fatalf("rmi -f lines: %v", lines)
	}
	assertEmptyStore(t, s)
}

// TestRemoveTagTakesItsRepositoryDigests: the last tag of a repository takes the repository's
// digest names with it, even while other repositories name the image (dockerd 20.10 does so).
func TestRemoveTagTakesItsRepositoryDigests(t *testing.T) {
	s := openTest(t)
	id := mustImport(t, s, "127.0.0.1:5055/uia:1", map[string]string{"f": "x"})
	dgst := "sha256:47f559dafab75cdace576ba812431ed7c2ad9ccd2e27fb3ad8c87320562a2eeb"
	var tags []reference.Tagged
	var digests []reference.Canonical
	for _, n := range []string{"127.0.0.1:5055/uib:2"} {
		r, _ := reference.Parse(n)
		tags = append(tags, r.(reference.Tagged))
	}
	for _, n := range []string{"127.0.0.1:5055/uia@" + dgst, "127.0.0.1:5055/uib@" + dgst} {
		r, _ := reference.Parse(n)
		digests = append(digests, r.(reference.Canonical))
	}
	if err := s.AddNames(id, tags, digests); err != nil {
		t.Fatal(err)
	}
	res, err := s.Remove("127.0.0.1:5055/uia:1", false)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range res {
		lines = append(lines, "Untagged: "+r.Untagged)
	}
	if want := "Untagged: 127.0.0.1:5055/uia:1|Untagged: 127.0.0.1:5055/uia@" + dgst; strings.Join(lines, "|") != want {
		t.Fatalf("rmi lines %q, want %q", lines, want)
	}
	res, err = s.Remove("127.0.0.1:5055/uib:2", false)
	if err != nil || len(res) < 3 || res[1].Untagged != "127.0.0.1:5055/uib@"+dgst || res[2].Deleted != id {
		t.Fatalf("last tag: %+v %v", res, err)
	}
	assertEmptyStore(t, s)
}

func TestRemoveKeepsSharedLayers(t *testing.T) {
	s := openTest(t)
	files := map[string]string{"same": "content"}
	a := mustImport(t, s, "a:1", files)
	b := mustImport(t, s, "b:1", files, "LABEL other=1")
	if a == b {
		t.Fatal("distinct configs must give distinct IDs")
	}
	du, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	one := du.Images[0].Size
	if du.LayersSize != one || du.Images[0].SharedSize != one {
		t.Fatalf("shared layer counted twice: %+v", du)
	}
	if _, err := s.Remove("a:1", false); err != nil {
		t.Fatal(err)
	}
	imgB, _ := s.Get(b)
	if !s.Layers.Exists(digest.Digest(imgB.Layers[0])) {
		t.Fatal("layer shared with b:1 was deleted")
	}
	for _, l := range imgB.Manifest.Layers {
		if !s.Content.Has(l.Digest) {
			t.Fatal("blob shared with b:1 was deleted")
		}
	}
}

func TestPrune(t *testing.T) {
	s := openTest(t)
	mustImport(t, s, "keep:1", map[string]string{"a": "1"}, "LABEL keep=yes")
	d := mustImport(t, s, "", map[string]string{"b": "22"})
	res, reclaimed, err := s.Prune(PruneOptions{})
	if err != nil || len(res) < 2 || res[0].Deleted != d || reclaimed != 2+int64(len("busybox")) {
		t.Fatalf("prune dangling: %+v %d %v", res, reclaimed, err)
	}
	res, _, err = s.Prune(PruneOptions{All: true, Filters: filters(t, "label!=keep=yes")})
	if err != nil || len(res) != 0 {
		t.Fatalf("label! kept image pruned: %+v %v", res, err)
	}
	res, _, err = s.Prune(PruneOptions{All: true})
	if err != nil || len(res) == 0 || res[0].Untagged != "keep:1" {
		t.Fatalf("prune -a: %+v %v", res, err)
	}
	assertEmptyStore(t, s)
}

func TestHistory(t *testing.T) {
	s := openTest(t)
	id, err := s.Import(bytes.NewReader(testTar(t, map[string]string{"x": "12345"})), ImportOptions{Ref: "h:1", Message: "my msg"})
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.History("h:1")
	if err != nil || len(items) != 1 {
		t.Fatalf("history: %v %v", items, err)
	}
	if items[0].ID != id || items[0].Comment != "my msg" || items[0].Size != 5+int64(len("busybox")) || items[0].Tags[0] != "h:1" {
		t.Fatalf("history item: %+v", items[0])
	}
}

// A writer killed mid-way leaves ingest files, staged layers and unreferenced blobs; the next
// writer's startup sweep and GC remove them, and the records stay readable throughout.
func TestCrashLeftoversAreSwept(t *testing.T) {
	s := openTest(t)
	mustImport(t, s, "ok:1", map[string]string{"a": "1"})
	w, _ := s.Content.Writer()
	w.Write([]byte("partial blob")) // never committed: a crash
	st, _ := s.Layers.Stage()
	os.WriteFile(filepath.Join(st.Dir(), "half"), []byte("x"), 0o644)
	orphan, _ := s.Content.Put([]byte("blob written, image never recorded"))
	if _, err := s.List(ListOptions{}); err != nil {
		t.Fatal(err)
	}
	blobs, layers, err := s.GC()
	if err != nil || blobs != 1 || layers != 0 {
		t.Fatalf("GC = %d %d %v", blobs, layers, err)
	}
	if s.Content.Has(orphan) {
		t.Fatal("orphan blob survived GC")
	}
	for _, dir := range []string{"ingest"} {
		if ents, _ := os.ReadDir(filepath.Join(s.Root, dir)); len(ents) != 0 {
			t.Fatalf("%s not swept: %v", dir, ents)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root, "layers"))
	if len(ents) != 1 {
		t.Fatalf("layers after GC: %v", ents)
	}
	if _, err := s.Inspect("ok:1"); err != nil {
		t.Fatal(err)
	}
}

func newGzipWriter(w *bytes.Buffer) *gzip.Writer { return gzip.NewWriter(w) }

// TestRemoveRefusesRunningContainersImage: an image a running container uses cannot be deleted
// by ID even with force, and no name is lost trying (Docker 20.10's hard conflict, recorded:
// "unable to delete 857a0326997d (cannot be forced) - image is being used by running container
// 8761fbfefefd"); a name of it can still be untagged while other names remain.
func TestRemoveRefusesRunningContainersImage(t *testing.T) {
	s := openTest(t)
	id := mustImport(t, s, "run:1", map[string]string{"f": "x"})
	if err := s.Tag("run:1", "other:1"); err != nil {
		t.Fatal(err)
	}
	const ctr = "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"
	if err := s.DB.Update(func(tx *metadata.Tx) error {
		return tx.PutContainer(metadata.Container{ID: ctr, Name: "web", ImageID: id, Created: time.Now(), Config: "{}"})
	}); err != nil {
		t.Fatal(err)
	}
	put := func(status string) {
		t.Helper()
		if err := s.DB.Update(func(tx *metadata.Tx) error {
			_, err := tx.SetContainerState(ctr, `{"Status":"`+status+`"}`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	short := id[7:19]
	for _, status := range []string{"running", "paused", "restarting"} {
		put(status)
		for _, force := range []bool{false, true} {
			_, err := s.Remove(short, force)
			want := "conflict: unable to delete " + short + " (cannot be forced) - image is being used by running container 0123456789ab"
			if err == nil || err.Error() != want {
				t.Fatalf("%s, force %v: %v, want %q", status, force, err, want)
			}
		}
	}
	if _, err := s.Resolve("other:1"); err != nil {
		t.Fatalf("a refused rmi lost a name: %v", err)
	}
	put("exited")
	if _, err := s.Remove(short, false); err == nil || !strings.Contains(err.Error(), "(must be forced) - image is") {
		t.Fatalf("stopped container, no force: %v", err)
	}
}

// An unforced rmi of an image's last tag takes the tag and its repository's digests, but a
// stopped container keeps the image, nameless (Docker's quiet conflict): only -f deletes it.
func TestRemoveLastTagKeepsStoppedContainersImage(t *testing.T) {
	s := openTest(t)
	id := mustImport(t, s, "127.0.0.1:5055/ctr:1", map[string]string{"f": "x"})
	r, _ := reference.Parse("127.0.0.1:5055/ctr@sha256:47f559dafab75cdace576ba812431ed7c2ad9ccd2e27fb3ad8c87320562a2eeb")
	if err := s.AddNames(id, nil, []reference.Canonical{r.(reference.Canonical)}); err != nil {
		t.Fatal(err)
	}
	const ctr = "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"
	if err := s.DB.Update(func(tx *metadata.Tx) error {
		if err := tx.PutContainer(metadata.Container{ID: ctr, Name: "web", ImageID: id, Created: time.Now(),
			Config: `{"ImageLayers":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}`}); err != nil {
			return err
		}
		_, err := tx.SetContainerState(ctr, `{"Status":"exited"}`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Remove("127.0.0.1:5055/ctr:1", false)
	if err != nil || len(res) != 2 || res[0].Untagged == "" || res[1].Untagged == "" {
		t.Fatalf("unforced rmi of the last tag: %+v %v, want two Untagged lines", res, err)
	}
	if _, err := s.Resolve(id); err != nil {
		t.Fatalf("the stopped container's image went: %v", err)
	}
}
