package registry

import (
	"time"

	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPullThroughCache(t *testing.T) {
	hp := writeHtpasswd(t, map[string]string{"mirror": "secret"})
	_, up := newTestServer(t, Config{Htpasswd: hp, Auth: AuthConfig{Token: &TokenConfig{}}})
	creds := remote.WithAuth(&authn.Basic{Username: "mirror", Password: "secret"})
	img := randomImage(t, 2048, 2, "")
	if err := remote.Write(ref(t, up, "lib/app:1"), img, creds); err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(t, up, "lib/multi:1"), idx, creds); err != nil {
		t.Fatal(err)
	}
	cache, ts := newTestServer(t, Config{Proxy: ProxyConfig{URL: up.URL, Username: "mirror", Password: "secret", TagTTL: Duration(time.Nanosecond)}})
	d, _ := img.Digest()
	pullAndVerify(t, ref(t, ts, "lib/app:1"), d)
	got, err := remote.Index(ref(t, ts, "lib/multi:1"))
	if err != nil {
		t.Fatal(err)
	}
	gd, _ := got.Digest()
	if wd, _ := idx.Digest(); gd != wd {
		t.Fatalf("index %s, want %s", gd, wd)
	}
	if err := remote.Write(ref(t, ts, "lib/app:2"), img); err == nil {
		t.Fatal("push to a pull-through cache succeeded")
	}
	expect(t, do(t, "GET", ts.URL+"/v2/lib/none/manifests/1", nil), 404, "MANIFEST_UNKNOWN")
	// With the upstream gone, what was pulled is still served from the cache.
	up.Close()
	pullAndVerify(t, ref(t, ts, "lib/app:1"), d)
	pullAndVerify(t, ref(t, ts, "lib/app@"+d.String()), d)
	if !repoExists(t, cache.store, "lib/app") {
		t.Fatal("nothing cached")
	}
}
