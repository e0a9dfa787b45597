package registry

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestSearchAPI(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	push := func(r, desc string) {
		t.Helper()
		if err := remote.Write(ref(t, ts, r), randomImage(t, 128, 1, desc)); err != nil {
			t.Fatal(err)
		}
	}
	push("team/web:1", "old web server")
	time.Sleep(20 * time.Millisecond) // tag files need distinct mtimes
	push("team/web:2", "A web server")
	push("team/db:1", "Database with a WEB console")
	push("other/cache:1", "")

	r := do(t, "GET", ts.URL+"/v1/_ping", nil)
	expect(t, r, 200, "")
	var sr SearchResponse
	r = do(t, "GET", ts.URL+"/v1/search?q=web&n=25", nil)
	expect(t, r, 200, "")
	if err := json.Unmarshal(r.body, &sr); err != nil {
		t.Fatal(err)
	}
	if sr.Query != "web" || sr.NumResults != 2 || len(sr.Results) != 2 {
		t.Fatalf("search: %s", r.body)
	}
	// Sorted by name; descriptions come from the newest tag's config label.
	if sr.Results[0].Name != "team/db" || sr.Results[1].Name != "team/web" || sr.Results[1].Description != "A web server" {
		t.Fatalf("results: %+v", sr.Results)
	}
	var raw map[string]any
	json.Unmarshal(r.body, &raw)
	res := raw["results"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "description", "star_count", "is_official", "is_automated"} {
		if _, ok := res[k]; !ok {
			t.Fatalf("result lacks %q: %v", k, res)
		}
	}
	r = do(t, "GET", ts.URL+"/v1/search?q=&n=1", nil)
	json.Unmarshal(r.body, &sr)
	if sr.NumResults != 3 || len(sr.Results) != 1 {
		t.Fatalf("n=1: %s", r.body)
	}
	// A new push changes the description.
	push("team/web:3", "newest")
	r = do(t, "GET", ts.URL+"/v1/search?q=team/web", nil)
	json.Unmarshal(r.body, &sr)
	if len(sr.Results) != 1 || sr.Results[0].Description != "newest" {
		t.Fatalf("after push: %s", r.body)
	}
}
