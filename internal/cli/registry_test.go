package cli

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/registry"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func runBerth(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// testRegistry starts berth's registry on 127.0.0.1 for one test and returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	s, err := registry.New(registry.Config{Storage: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// searchRegistry starts a registry holding images with the given descriptions.
func searchTestRegistry(t *testing.T, images map[string]string) string {
	t.Helper()
	host := testRegistry(t)
	for r, desc := range images {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		c := cf.Config
		c.Labels = map[string]string{"org.opencontainers.image.description": desc}
		if img, err = mutate.Config(img, c); err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(host+"/"+r, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

func TestSearchCommand(t *testing.T) {
	host := searchTestRegistry(t, map[string]string{
		"tools/web:1":   "A web server with a rather long description that Docker cuts at 45 columns",
		"tools/webui:1": "UI\nfor the web",
		"tools/db:1":    "no match here",
	})
	out, stderr, code := runBerth(t, "search", host+"/web")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "NAME          DESCRIPTION                                     STARS     OFFICIAL   AUTOMATED\n" +
		"tools/web     A web server with a rather long description …   0                    \n" +
		"tools/webui   UI for the web                                  0                    \n"
	if out != want {
		t.Fatalf("table:\n%q\nwant\n%q", out, want)
	}
	out, _, _ = runBerth(t, "search", "--no-trunc", "--format", "{{.Name}}: {{.Description}}", host+"/web")
	if !strings.Contains(out, "tools/web: A web server with a rather long description that Docker cuts at 45 columns\n") {
		t.Fatalf("--no-trunc --format: %q", out)
	}
	out, _, _ = runBerth(t, "search", "--limit", "1", "--format", "{{.Name}}", host+"/tools")
	if out != "tools/db\n" {
		t.Fatalf("--limit 1: %q", out)
	}
	out, _, _ = runBerth(t, "search", "--filter", "stars=1", host+"/web")
	if out != "NAME      DESCRIPTION   STARS     OFFICIAL   AUTOMATED\n" {
		t.Fatalf("stars filter: %q", out)
	}
	out, _, _ = runBerth(t, "search", "--filter", "is-official=false", "--format", "{{.Name}}", host+"/webui")
	if out != "tools/webui\n" {
		t.Fatalf("is-official=false: %q", out)
	}
	out, _, _ = runBerth(t, "search", "--format", "json", host+"/webui")
	if out != `{"Description":"UI for the web","IsAutomated":"","IsOfficial":"","Name":"tools/webui","StarCount":"0"}`+"\n" {
		t.Fatalf("json: %q", out)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"search", "--limit", "101", host + "/web"}, "Error: limit 101 is outside the range of [1, 100]\n"},
		{[]string{"search", "--filter", "color=red", host + "/web"}, "Error: Invalid filter 'color'\n"},
		{[]string{"search", "--filter", "stars=many", host + "/web"}, "Error: invalid filter 'stars=many'\n"},
	} {
		_, stderr, code := runBerth(t, c.args...)
		if code != 1 || stderr != c.msg {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.msg)
		}
	}
}

func TestRegistryGCCommand(t *testing.T) {
	storage := t.TempDir()
	s, err := registry.New(registry.Config{Storage: storage})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	layer, _ := random.Layer(100, "application/vnd.oci.image.layer.v1.tar+gzip")
	repo, _ := name.NewRepository(strings.TrimPrefix(ts.URL, "http://")+"/gc/x", name.Insecure)
	if err := remote.WriteLayer(repo, layer); err != nil {
		t.Fatal(err)
	}
	d, _ := layer.Digest()
	blob := filepath.Join(storage, "blobs", "sha256", d.Hex)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(blob, old, old)
	out, stderr, code := runBerth(t, "registry", "gc", "--dry-run", "--storage", storage)
	if code != 0 || !strings.Contains(out, "blob "+d.String()+" deleted") || !strings.Contains(out, "1 blobs (") || !strings.Contains(out, "would be deleted") {
		t.Fatalf("dry run: %d %q %q", code, out, stderr)
	}
	if _, err := os.Stat(blob); err != nil {
		t.Fatal("dry run deleted the blob")
	}
	out, stderr, code = runBerth(t, "registry", "gc", "--storage", storage)
	if code != 0 || !strings.Contains(out, "1 blobs (") {
		t.Fatalf("gc: %d %q %q", code, out, stderr)
	}
	if _, err := os.Stat(blob); err == nil {
		t.Fatal("gc kept an unreferenced old blob")
	}
	_, stderr, code = runBerth(t, "registry", "gc", "--storage", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "is not a registry storage directory") {
		t.Fatalf("gc of a non-registry: %d %q", code, stderr)
	}
}
