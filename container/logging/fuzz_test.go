package logging

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// The decoders read files a container's output shaped (and, for local, files Docker wrote): they
// must never panic or loop, and what the encoder wrote must read back whole.
func FuzzLocalSplit(f *testing.F) {
	if b, err := os.ReadFile("testdata/docker-local.log"); err == nil {
		f.Add(b)
	}
	f.Add(localCodec{}.encode(nil, Entry{Stream: "stdout", Line: []byte("piece"), Time: time.Unix(1, 2)}))
	f.Add([]byte("\x00\x00\x00\x02\x08\xff\x00\x00\x00\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &decoder{r: bytes.NewReader(b), c: localCodec{}}
		for i := 0; i <= len(b); i++ {
			e, err := d.next()
			if err != nil {
				return
			}
			again := localCodec{}.encode(nil, e)
			if _, e2, err := (localCodec{}).split(again); err != nil || e2.Stream != e.Stream || !bytes.Equal(e2.Line, e.Line) || !e2.Time.Equal(e.Time) {
				t.Fatalf("entry %+v does not survive a round trip: %+v %v", e, e2, err)
			}
		}
		t.Fatal("decoder returned more entries than input bytes")
	})
}

func FuzzJSONSplit(f *testing.F) {
	f.Add([]byte(`{"log":"1\n","stream":"stdout","time":"2026-12-03T04:49:14.395611059Z"}` + "\n"))
	f.Add([]byte("not json\n{\"log\":\"x\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &decoder{r: bytes.NewReader(b), c: jsonCodec{}}
		for i := 0; i <= len(b); i++ {
			if _, err := d.next(); err != nil {
				return
			}
		}
		t.Fatal("decoder returned more entries than input bytes")
	})
}
