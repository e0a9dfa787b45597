package api

import "testing"

// X-Registry-Auth comes from any client: decoding it never panics, and what it accepts is a
// JSON object.
func FuzzDecodeAuthConfig(f *testing.F) {
	for _, s := range []string{"", "e30=", "e30", "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ==", "%%%", "bnVsbA==", "W10="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		_, _ = decodeAuthConfig(h)
	})
}
