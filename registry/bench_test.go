package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkManifestPut measures small manifest PUTs through HTTP on loopback.
func BenchmarkManifestPut(b *testing.B) {
	s, err := New(Config{Storage: b.TempDir(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	ts := newBenchServer(b, s)
	cfg := pushBlob(b, ts, "bench/small", []byte(`{}`))
	layer := pushBlob(b, ts, "bench/small", []byte("layer"))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":5}],"annotations":{"n":"%p-%d"}}`, cfg, layer, pb, i)
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v2/bench/small/manifests/t%p-%d", ts.URL, pb, i), strings.NewReader(m))
			req.Header.Set("Content-Type", mtOCIManifest)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Fatal(resp.Status)
			}
		}
	})
}
