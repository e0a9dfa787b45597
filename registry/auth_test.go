package registry

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

func writeHtpasswd(t *testing.T, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	for u, p := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(u + ":" + string(h) + "\n")
	}
	f := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

var testRules = []Rule{
	{Repository: "private/**", Users: []string{"alice"}, Actions: []string{"pull", "push", "delete"}},
	{Repository: "private/**", Users: []string{"all"}, Actions: nil},
	{Repository: "**", Users: []string{"alice", "bob"}, Actions: []string{"pull", "push"}},
}

func TestBasicAuth(t *testing.T) {
	hp := writeHtpasswd(t, map[string]string{"alice": "wonder", "bob": "builder"})
	_, ts := newTestServer(t, Config{Htpasswd: hp, Auth: AuthConfig{AnonymousPull: true, Rules: testRules}})
	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: "wonder"})
	bob := remote.WithAuth(&authn.Basic{Username: "bob", Password: "builder"})

	// The API root asks anonymous clients to log in (that is how `docker login` checks).
	r := do(t, "GET", ts.URL+"/v2/", nil)
	expect(t, r, 401, "UNAUTHORIZED")
	if r.Header.Get("WWW-Authenticate") != `Basic realm="berth-registry"` {
		t.Fatalf("challenge %q", r.Header.Get("WWW-Authenticate"))
	}
	img := randomImage(t, 256, 1, "")
	d, _ := img.Digest()
	if err := remote.Write(ref(t, ts, "pub/app:1"), img); err == nil {
		t.Fatal("anonymous push succeeded")
	}
	if err := remote.Write(ref(t, ts, "pub/app:1"), img, remote.WithAuth(&authn.Basic{Username: "alice", Password: "wrong"})); err == nil {
		t.Fatal("push with a wrong password succeeded")
	}
	if err := remote.Write(ref(t, ts, "pub/app:1"), img, bob); err != nil {
		t.Fatal(err)
	}
	pullAndVerify(t, ref(t, ts, "pub/app:1"), d) // anonymous pull is on

	if err := remote.Write(ref(t, ts, "private/x:1"), img, bob); err == nil {
		t.Fatal("bob pushed to private/")
	}
	if err := remote.Write(ref(t, ts, "private/x:1"), img, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref(t, ts, "private/x:1")); err == nil {
		t.Fatal("anonymous pull of private/ succeeded")
	}
	pullAndVerify(t, ref(t, ts, "private/x:1"), d, alice)
	// bob is logged in but denied: 403, not a new login prompt.
	req, _ := http.NewRequest("GET", ts.URL+"/v2/private/x/manifests/1", nil)
	req.SetBasicAuth("bob", "builder")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("bob on private: %d", resp.StatusCode)
	}
	// The catalog shows only what the client may pull.
	var cat struct{ Repositories []string }
	r = do(t, "GET", ts.URL+"/v2/_catalog", nil)
	json.Unmarshal(r.body, &cat)
	if strings.Join(cat.Repositories, ",") != "pub/app" {
		t.Fatalf("anonymous catalog %v", cat.Repositories)
	}
	// Only alice may delete.
	req, _ = http.NewRequest("DELETE", ts.URL+"/v2/pub/app/manifests/1", nil)
	req.SetBasicAuth("bob", "builder")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("bob delete: %d", resp.StatusCode)
	}
}

func TestTokenAuth(t *testing.T) {
	hp := writeHtpasswd(t, map[string]string{"alice": "wonder", "bob": "builder"})
	_, ts := newTestServer(t, Config{Htpasswd: hp, Auth: AuthConfig{AnonymousPull: true, Rules: testRules,
		Token: &TokenConfig{Service: "test-registry"}}})
	r := do(t, "POST", ts.URL+"/v2/pub/app/blobs/uploads/", nil)
	expect(t, r, 401, "UNAUTHORIZED")
	want := `Bearer realm="` + ts.URL + `/token",service="test-registry",scope="repository:pub/app:pull,push"`
	if r.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("challenge %q, want %q", r.Header.Get("WWW-Authenticate"), want)
	}
	img := randomImage(t, 256, 2, "")
	d, _ := img.Digest()
	if err := remote.Write(ref(t, ts, "pub/app:1"), img); err == nil {
		t.Fatal("anonymous push succeeded")
	}
	if err := remote.Write(ref(t, ts, "pub/app:1"), img, remote.WithAuth(&authn.Basic{Username: "bob", Password: "nope"})); err == nil {
		t.Fatal("push with a wrong password succeeded")
	}
	if err := remote.Write(ref(t, ts, "pub/app:1"), img, remote.WithAuth(&authn.Basic{Username: "bob", Password: "builder"})); err != nil {
		t.Fatal(err)
	}
	pullAndVerify(t, ref(t, ts, "pub/app:1"), d)
	if err := remote.Write(ref(t, ts, "private/a:1"), img, remote.WithAuth(&authn.Basic{Username: "bob", Password: "builder"})); err == nil {
		t.Fatal("bob pushed to private/ with a token")
	}
	// The token endpoint grants only what the rules allow.
	req, _ := http.NewRequest("GET", ts.URL+"/token?service=test-registry&scope=repository:private/a:pull,push", nil)
	req.SetBasicAuth("bob", "builder")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ = http.NewRequest("POST", ts.URL+"/v2/private/a/blobs/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("upload with a pull-less token: %d", resp.StatusCode)
	}
	// Forged tokens are refused.
	parts := strings.Split(tok.Token, ".")
	forged := parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"alice","aud":"test-registry","exp":99999999999}`)) + "." + parts[2]
	req, _ = http.NewRequest("GET", ts.URL+"/v2/private/a/tags/list", nil)
	req.Header.Set("Authorization", "Bearer "+forged)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("forged token: %d", resp.StatusCode)
	}
}

func TestMatchRepo(t *testing.T) {
	for _, c := range []struct {
		pat, repo string
		want      bool
	}{
		{"**", "a/b/c", true}, {"*", "a", true}, {"*", "a/b", false}, {"lib/*", "lib/x", true},
		{"lib/*", "lib/x/y", false}, {"lib/**", "lib/x/y", true}, {"lib/**", "libx/y", false}, {"a/*/c/**", "a/b/c/d", true},
	} {
		if got := matchRepo(c.pat, c.repo); got != c.want {
			t.Errorf("matchRepo(%q, %q) = %v", c.pat, c.repo, got)
		}
	}
}
