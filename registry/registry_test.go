package registry

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

func TestPushPullImageAndIndex(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	img := randomImage(t, 1024, 3, "")
	r := ref(t, ts, "team/app:v1")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	pullAndVerify(t, r, d)
	pullAndVerify(t, ref(t, ts, "team/app@"+d.String()), d)

	idx, err := random.Index(512, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	ir := ref(t, ts, "team/multi:latest")
	if err := remote.WriteIndex(ir, idx); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(ir)
	if err != nil {
		t.Fatal(err)
	}
	gd, _ := got.Digest()
	wd, _ := idx.Digest()
	if gd != wd {
		t.Fatalf("index digest %s, want %s", gd, wd)
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		pullAndVerify(t, ref(t, ts, "team/multi@"+m.Digest.String()), m.Digest)
	}
}

func TestHeadersAndPing(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	r := do(t, "GET", ts.URL+"/v2/", nil)
	expect(t, r, 200, "")
	if v := r.Header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
		t.Fatalf("Docker-Distribution-API-Version %q", v)
	}
	d := pushBlob(t, ts, "a/b", []byte("hello"))
	r = do(t, "HEAD", ts.URL+"/v2/a/b/blobs/"+d.String(), nil)
	expect(t, r, 200, "")
	if r.Header.Get("Docker-Content-Digest") != d.String() || r.ContentLength != 5 {
		t.Fatalf("HEAD headers: %v", r.Header)
	}
	r = do(t, "GET", ts.URL+"/v2/a/b/blobs/"+d.String(), nil, "Range", "bytes=1-3")
	if r.StatusCode != 206 || string(r.body) != "ell" {
		t.Fatalf("range: %d %q", r.StatusCode, r.body)
	}
	// The blob is part of a/b only.
	expect(t, do(t, "HEAD", ts.URL+"/v2/other/blobs/"+d.String(), nil), 404, "")
}

func TestErrorsAreClientErrors(t *testing.T) {
	s, ts := newTestServer(t, Config{MaxBlobSize: 100})
	u := ts.URL
	expect(t, do(t, "GET", u+"/v2/UPPER/tags/list", nil), 400, "NAME_INVALID")
	expect(t, do(t, "GET", u+"/v2/a/b/blobs/sha256:xyz", nil), 400, "DIGEST_INVALID")
	expect(t, do(t, "GET", u+"/v2/a/b/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", nil), 400, "DIGEST_INVALID")
	expect(t, do(t, "GET", u+"/v2/a/b/blobs/sha256:"+strings.Repeat("0", 64), nil), 404, "BLOB_UNKNOWN")
	expect(t, do(t, "GET", u+"/v2/a/b/manifests/latest", nil), 404, "MANIFEST_UNKNOWN")
	expect(t, do(t, "GET", u+"/v2/nothing/tags/list", nil), 404, "NAME_UNKNOWN")
	expect(t, do(t, "PUT", u+"/v2/a/b/manifests/v1", []byte("{not json"), "Content-Type", mtOCIManifest), 400, "MANIFEST_INVALID")
	missing := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":2},"layers":[]}`,
		mtOCIManifest, strings.Repeat("a", 64))
	expect(t, do(t, "PUT", u+"/v2/a/b/manifests/v1", []byte(missing), "Content-Type", mtOCIManifest), 400, "MANIFEST_BLOB_UNKNOWN")
	expect(t, do(t, "PUT", u+"/v2/a/b/manifests/v1", []byte(missing), "Content-Type", mtOCIIndex), 400, "MANIFEST_INVALID")
	big := bytes.Repeat([]byte(" "), defaultMaxManifestSize+1)
	expect(t, do(t, "PUT", u+"/v2/a/b/manifests/v1", big, "Content-Type", mtOCIManifest), 413, "SIZE_INVALID")
	// Blob limit and digest mismatch: nothing is stored.
	expect(t, do(t, "POST", u+"/v2/a/b/blobs/uploads/?digest="+digest.FromBytes(make([]byte, 101)).String(), make([]byte, 101)), 413, "SIZE_INVALID")
	wrong := digest.FromString("something else")
	expect(t, do(t, "POST", u+"/v2/a/b/blobs/uploads/?digest="+wrong.String(), []byte("content")), 400, "DIGEST_INVALID")
	if exists(s.store.(*store).blobPath(digest.FromString("content"))) || exists(s.store.(*store).blobPath(wrong)) {
		t.Fatal("a blob that failed verification was stored")
	}
	ents, _ := os.ReadDir(filepath.Join(s.cfg.Storage, "uploads"))
	if len(ents) != 0 {
		t.Fatalf("failed uploads left sessions behind: %v", ents)
	}
	expect(t, do(t, "PATCH", u+"/v2/a/b/blobs/uploads/"+strings.Repeat("0", 32), []byte("x")), 404, "BLOB_UPLOAD_UNKNOWN")
}

func TestNoPathTraversal(t *testing.T) {
	s, ts := newTestServer(t, Config{})
	outside := filepath.Dir(s.cfg.Storage)
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("x"), 0o644)
	for _, p := range []string{
		"/v2/../secret/tags/list",
		"/v2/a/..%2f..%2fsecret/tags/list",
		"/v2/a/manifests/..%2f..%2f..%2fsecret",
		"/v2/a/blobs/sha256:..%2f..%2fsecret",
		"/v2/a/blobs/uploads/..%2f..%2fsecret",
		"/v2/a/_tags/manifests/x",
		"/v2/a/manifests/.hidden",
	} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			r := do(t, m, ts.URL+p, []byte("{}"))
			if r.StatusCode < 400 || r.StatusCode >= 500 {
				t.Errorf("%s %s: %d, want a 4xx", m, p, r.StatusCode)
			}
		}
	}
	if _, err := os.Stat(secret); err != nil {
		t.Fatal("file outside the storage was touched")
	}
	// Nothing but the storage layout appeared at the storage root.
	ents, _ := os.ReadDir(s.cfg.Storage)
	for _, e := range ents {
		switch e.Name() {
		case "blobs", "uploads", "repos", "gc.lock":
		default:
			t.Errorf("unexpected %s in storage", e.Name())
		}
	}
}

func TestChunkedUploadInOrderOnly(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	data := make([]byte, 3000)
	rand.Read(data)
	r := do(t, "POST", ts.URL+"/v2/c/blobs/uploads/", nil)
	expect(t, r, 202, "")
	loc := ts.URL + r.Header.Get("Location")
	r = do(t, "PATCH", loc, data[:1000], "Content-Range", "0-999", "Content-Type", "application/octet-stream")
	expect(t, r, 202, "")
	if r.Header.Get("Range") != "0-999" {
		t.Fatalf("Range %q", r.Header.Get("Range"))
	}
	// A gap and a rewind are both refused, with the current range.
	r = do(t, "PATCH", loc, data[2000:], "Content-Range", "2000-2999")
	expect(t, r, 416, "BLOB_UPLOAD_INVALID")
	if r.Header.Get("Range") != "0-999" {
		t.Fatalf("416 Range %q", r.Header.Get("Range"))
	}
	expect(t, do(t, "PATCH", loc, data[:1000], "Content-Range", "0-999"), 416, "BLOB_UPLOAD_INVALID")
	r = do(t, "GET", loc, nil)
	expect(t, r, 204, "")
	if r.Header.Get("Range") != "0-999" {
		t.Fatalf("status Range %q", r.Header.Get("Range"))
	}
	expect(t, do(t, "PATCH", loc, data[1000:2000], "Content-Range", "1000-1999"), 202, "")
	d := digest.FromBytes(data)
	r = do(t, "PUT", loc+"?digest="+d.String(), data[2000:], "Content-Range", "2000-2999")
	expect(t, r, 201, "")
	if r.Header.Get("Docker-Content-Digest") != d.String() {
		t.Fatal("no Docker-Content-Digest")
	}
	r = do(t, "GET", ts.URL+"/v2/c/blobs/"+d.String(), nil)
	if !bytes.Equal(r.body, data) {
		t.Fatal("chunked blob differs")
	}
	// sha512 works for a streamed upload too.
	r = do(t, "POST", ts.URL+"/v2/c/blobs/uploads/", nil)
	loc = ts.URL + r.Header.Get("Location")
	expect(t, do(t, "PATCH", loc, data), 202, "")
	d512 := digest.SHA512.FromBytes(data)
	expect(t, do(t, "PUT", loc+"?digest="+d512.String(), nil), 201, "")
	expect(t, do(t, "HEAD", ts.URL+"/v2/c/blobs/"+d512.String(), nil), 200, "")
}

func TestPagination(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	img := randomImage(t, 64, 1, "")
	for _, tag := range []string{"b", "a", "d", "c", "e"} {
		if err := remote.Write(ref(t, ts, "pg/x:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}
	for _, repo := range []string{"pg/y", "pg/z", "aa"} {
		if err := remote.Write(ref(t, ts, repo+":1"), img); err != nil {
			t.Fatal(err)
		}
	}
	var tl struct {
		Name string
		Tags []string
	}
	r := do(t, "GET", ts.URL+"/v2/pg/x/tags/list?n=2", nil)
	expect(t, r, 200, "")
	json.Unmarshal(r.body, &tl)
	if strings.Join(tl.Tags, ",") != "a,b" || r.Header.Get("Link") != `</v2/pg/x/tags/list?last=b&n=2>; rel="next"` {
		t.Fatalf("page 1: %v, Link %q", tl.Tags, r.Header.Get("Link"))
	}
	r = do(t, "GET", ts.URL+"/v2/pg/x/tags/list?n=2&last=d", nil)
	json.Unmarshal(r.body, &tl)
	if strings.Join(tl.Tags, ",") != "e" || r.Header.Get("Link") != "" {
		t.Fatalf("last page: %v, Link %q", tl.Tags, r.Header.Get("Link"))
	}
	r = do(t, "GET", ts.URL+"/v2/pg/x/tags/list?n=0", nil)
	json.Unmarshal(r.body, &tl)
	if len(tl.Tags) != 0 {
		t.Fatalf("n=0: %v", tl.Tags)
	}
	var cat struct{ Repositories []string }
	r = do(t, "GET", ts.URL+"/v2/_catalog?n=2&last=aa", nil)
	json.Unmarshal(r.body, &cat)
	if strings.Join(cat.Repositories, ",") != "pg/x,pg/y" || !strings.Contains(r.Header.Get("Link"), "last=pg%2Fy") {
		t.Fatalf("catalog: %v, Link %q", cat.Repositories, r.Header.Get("Link"))
	}
}

func TestDeleteAndReferrers(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	img := randomImage(t, 64, 1, "")
	if err := remote.Write(ref(t, ts, "del/x:v1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	cfg := pushBlob(t, ts, "del/x", []byte("{}"))
	sig := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/example.sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},"layers":[],"subject":{"mediaType":%q,"digest":%q,"size":1}}`,
		mtOCIManifest, cfg, mtOCIManifest, d)
	r := do(t, "PUT", ts.URL+"/v2/del/x/manifests/sha256:"+digest.FromString(sig).Encoded(), []byte(sig), "Content-Type", mtOCIManifest)
	expect(t, r, 201, "")
	if r.Header.Get("OCI-Subject") != d.String() {
		t.Fatalf("OCI-Subject %q", r.Header.Get("OCI-Subject"))
	}
	var idx struct {
		MediaType string
		Manifests []descriptor
	}
	r = do(t, "GET", ts.URL+"/v2/del/x/referrers/"+d.String()+"?artifactType=application/example.sig", nil)
	json.Unmarshal(r.body, &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digest.FromString(sig).String() || r.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("referrers: %s", r.body)
	}
	r = do(t, "GET", ts.URL+"/v2/del/x/referrers/"+d.String()+"?artifactType=other", nil)
	json.Unmarshal(r.body, &idx)
	if len(idx.Manifests) != 0 {
		t.Fatalf("filtered referrers: %s", r.body)
	}
	// Deleting the referrer removes it from the list; deleting the tag keeps the manifest.
	expect(t, do(t, "DELETE", ts.URL+"/v2/del/x/manifests/"+digest.FromString(sig).String(), nil), 202, "")
	r = do(t, "GET", ts.URL+"/v2/del/x/referrers/"+d.String(), nil)
	json.Unmarshal(r.body, &idx)
	if len(idx.Manifests) != 0 {
		t.Fatalf("referrer survived its deletion: %s", r.body)
	}
	expect(t, do(t, "DELETE", ts.URL+"/v2/del/x/manifests/v1", nil), 202, "")
	expect(t, do(t, "GET", ts.URL+"/v2/del/x/manifests/v1", nil), 404, "MANIFEST_UNKNOWN")
	expect(t, do(t, "GET", ts.URL+"/v2/del/x/manifests/"+d.String(), nil), 200, "")
	expect(t, do(t, "DELETE", ts.URL+"/v2/del/x/manifests/"+d.String(), nil), 202, "")
	expect(t, do(t, "GET", ts.URL+"/v2/del/x/manifests/"+d.String(), nil), 404, "MANIFEST_UNKNOWN")
	expect(t, do(t, "DELETE", ts.URL+"/v2/del/x/blobs/"+cfg.String(), nil), 202, "")
	expect(t, do(t, "HEAD", ts.URL+"/v2/del/x/blobs/"+cfg.String(), nil), 404, "")
}

func TestReadOnly(t *testing.T) {
	_, ts := newTestServer(t, Config{ReadOnly: true})
	expect(t, do(t, "POST", ts.URL+"/v2/a/blobs/uploads/", nil), 405, "UNSUPPORTED")
	expect(t, do(t, "DELETE", ts.URL+"/v2/a/manifests/latest", nil), 405, "UNSUPPORTED")
	expect(t, do(t, "GET", ts.URL+"/v2/a/manifests/latest", nil), 404, "MANIFEST_UNKNOWN")
}

// TestConcurrentPushPull pushes and pulls 50 images at once into a few shared repositories and
// their own ones, with shared layers, and checks every byte.
func TestConcurrentPushPull(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	shared, err := random.Layer(64<<10, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	imgs := make([]v1.Image, n)
	refs := make([]name.Reference, n)
	for i := range n {
		img, err := mutateAppend(randomImage(t, 32<<10, 2, fmt.Sprintf("image %d", i)), shared)
		if err != nil {
			t.Fatal(err)
		}
		repo := fmt.Sprintf("conc/own%d", i)
		if i%2 == 0 {
			repo = fmt.Sprintf("conc/shared%d", i%3)
		}
		imgs[i], refs[i] = img, ref(t, ts, fmt.Sprintf("%s:t%d", repo, i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img2, r := imgs[i], refs[i]
			if err := remote.Write(r, img2); err != nil {
				errs <- fmt.Errorf("push %d: %w", i, err)
				return
			}
			d, _ := img2.Digest()
			for range 2 {
				if err := verifyPull(r, d); err != nil {
					errs <- fmt.Errorf("pull %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
