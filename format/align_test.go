package format

import (
	"bytes"
	"math"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
)

// tabwriterAlign is what align stands in for.
func tabwriterAlign(text []byte) []byte {
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, alignMinWidth, 1, alignPadding, ' ', 0)
	tw.Write(text)
	tw.Flush()
	return out.Bytes()
}

var alignSeeds = []string{
	"",
	"\n",
	"REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\nbusybox\tlatest\tabc\t2 days ago\t1.2MB\n",
	"a\tb\t",
	"a\tb\t\n",
	"a\tb",
	"a\n\tb\tc\nlonger cell here\tx\ny\n",
	"a\tb\tc\nd\te\nf\tg\th\ti\n\nj\tk\n",
	"é\tü\tß\nxxxxxxxxxxxx\ty\tz\n",
	"\t\t\n\t\t\n",
	"one\ntwo\tcolumns\nthree\tcol\tumns\n",
	"x\vy\fz\t\xffq\xff\n", // bytes tabwriter treats specially: handed to it
	"bad \xc3 utf8\tcell\n",
}

func TestAlignMatchesTabwriter(t *testing.T) {
	for _, s := range alignSeeds {
		var got bytes.Buffer
		align(&got, []byte(s))
		if want := tabwriterAlign([]byte(s)); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("align(%q)\n got %q\nwant %q", s, got.Bytes(), want)
		}
	}
}

func FuzzAlign(f *testing.F) {
	for _, s := range alignSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		var got bytes.Buffer
		align(&got, text)
		if want := tabwriterAlign(text); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("align(%q)\n got %q\nwant %q", text, got.Bytes(), want)
		}
	})
}

func TestHumanSizeMatchesUnits(t *testing.T) {
	vals := []int64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1023, 1024, 1499, 1500, 1501, 9994, 9995,
		9999, 99949, 99950, 999499, 999500, 999999, 1e6, 1234567, 7812500, 1e9 - 1, 1e9, 1e12, 1e15,
		1e18, math.MaxInt64, -1, -999, -1000, -1234567}
	for v := int64(1); v < 1e17; v = v*3 + v/7 + 1 {
		vals = append(vals, v, v-1, v+1)
	}
	for _, v := range vals {
		for _, p := range []int{1, 2, 3, 4, 5} {
			if got, want := HumanSizeWithPrecision(v, p), units.HumanSizeWithPrecision(float64(v), p); got != want {
				t.Errorf("HumanSizeWithPrecision(%d, %d) = %q, go-units says %q", v, p, got, want)
			}
		}
	}
}

func TestHumanDurationMatchesUnits(t *testing.T) {
	var ds []time.Duration
	for d := time.Duration(0); d < 30*365*24*time.Hour; d = d*5/4 + 397*time.Millisecond {
		ds = append(ds, d, d-time.Nanosecond, -d)
	}
	for _, b := range []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour} {
		for i := time.Duration(0); i < 800; i++ {
			ds = append(ds, i*b, i*b-time.Nanosecond, i*b+b/2, i*b+b/2-time.Nanosecond)
		}
	}
	for _, d := range ds {
		if got, want := humanDuration(d), units.HumanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, go-units says %q", d, got, want)
		}
	}
}
