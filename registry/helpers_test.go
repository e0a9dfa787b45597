package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// newTestServer runs a registry over a fresh temporary storage on loopback.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Storage == "" {
		cfg.Storage = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func host(ts *httptest.Server) string { return strings.TrimPrefix(ts.URL, "http://") }

func ref(t *testing.T, ts *httptest.Server, r string) name.Reference {
	t.Helper()
	n, err := name.ParseReference(host(ts)+"/"+r, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// randomImage makes an image with a description label.
func randomImage(t *testing.T, size, layers int64, description string) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	if description != "" {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		c.Labels = map[string]string{descriptionLabel: description}
		if img, err = mutate.Config(img, c); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// pullAndVerify pulls ref and checks the manifest digest and every layer's content.
func pullAndVerify(t *testing.T, r name.Reference, want v1.Hash, opts ...remote.Option) {
	t.Helper()
	img, err := remote.Image(r, opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", r, err)
	}
	got, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("pull %s: digest %s, want %s", r, got, want)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		ld, _ := l.Digest()
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("layer %s: %v", ld, err)
		}
		if d := digest.FromBytes(b); d.String() != ld.String() {
			t.Fatalf("layer %s: content hashes to %s", ld, d)
		}
	}
	if _, err := img.ConfigFile(); err != nil {
		t.Fatal(err)
	}
}

type apiResp struct {
	*http.Response
	body []byte
}

func (r apiResp) errCode() string {
	var e struct{ Errors []apiError }
	if json.Unmarshal(r.body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

func do(t testing.TB, method, url string, body []byte, hdr ...string) apiResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return apiResp{resp, b}
}

func expect(t testing.TB, r apiResp, status int, code string) {
	t.Helper()
	if r.StatusCode != status || (code != "" && r.errCode() != code) {
		t.Fatalf("%s %s: got %d %s, want %d %s (body %s)", r.Request.Method, r.Request.URL, r.StatusCode, r.errCode(), status, code, r.body)
	}
}

// pushBlob uploads b monolithically into repo and returns its digest.
func pushBlob(t testing.TB, ts *httptest.Server, repo string, b []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(b)
	r := do(t, "POST", ts.URL+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), b, "Content-Type", "application/octet-stream")
	expect(t, r, http.StatusCreated, "")
	return d
}

func mutateAppend(img v1.Image, l v1.Layer) (v1.Image, error) { return mutate.AppendLayers(img, l) }

// verifyPull is pullAndVerify for goroutines: it returns the error.
func verifyPull(r name.Reference, want v1.Hash) error {
	img, err := remote.Image(r)
	if err != nil {
		return err
	}
	got, err := img.Digest()
	if err != nil || got != want {
		return fmt.Errorf("digest %s, want %s (%v)", got, want, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		ld, _ := l.Digest()
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if d := digest.FromBytes(b); d.String() != ld.String() {
			return fmt.Errorf("layer %s: content hashes to %s", ld, d)
		}
	}
	return nil
}

func newBenchServer(b *testing.B, s *Server) *httptest.Server {
	ts := httptest.NewServer(s)
	b.Cleanup(ts.Close)
	return ts
}

func newTestServerFor(t *testing.T, s *Server) *httptest.Server {
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func repoExists(t *testing.T, st backend, repo string) bool {
	t.Helper()
	ok, err := st.repoExists(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// yes reads a (bool, error) answer, failing the test on the error.
func yes(t testing.TB) func(bool, error) bool {
	return func(ok bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
}
