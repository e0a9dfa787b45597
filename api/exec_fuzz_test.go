package api

import (
	"net/http"
	"net/url"
	"testing"
)

// The query parsers of the streams group take any input without panicking, and what they refuse
// is a 400.
func FuzzStreamParams(f *testing.F) {
	for _, seed := range []string{
		"stream=1&stdout=1&detachKeys=ctrl-p,ctrl-q", "detachKeys=ctrl-", "detachKeys=ctrl-%7B", "h=40&w=100", "h=-1&w=x",
		"h=70000&w=1", "t=a:b&t=Bad:Tag&buildargs=%7B%22A%22:null%7D", "labels=%5B%5D", "cachefrom=%5B%22x%22%5D",
		"platform=linux/amd64", "platform=a/b/c/d", "networkmode=host", "shmsize=1", "version=2", "%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		check := func(err error) {
			if err != nil && statusOf(err) != http.StatusBadRequest {
				t.Fatalf("%q: %v is a %d, not a 400", q, err, statusOf(err))
			}
		}
		req := func() *http.Request {
			return &http.Request{Method: "POST", URL: &url.URL{Path: "/x", RawQuery: q}}
		}
		_, err := readAttachParams(req())
		check(err)
		_, _, err = resizeParams(req())
		check(err)
		_, _, _, err = buildParams(req())
		check(err)
	})
}
