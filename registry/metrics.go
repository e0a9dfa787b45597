package registry

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// logWriter records what a handler answered, for the request log and the metrics.
type logWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	err         error // the cause of a 500, logged but never sent
}

func (w *logWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the sendfile path of http.ServeContent for blob downloads.
func (w *logWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wroteHeader = true
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metrics are exported at /metrics in the Prometheus text exposition format.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // method, status code
	buckets  []float64            // seconds
	counts   []uint64             // cumulative per bucket, by index; last is +Inf
	sum      float64
	total    uint64

	inflight        atomic.Int64
	bytesIn         atomic.Int64
	bytesOut        atomic.Int64
	pushedBlobs     atomic.Int64
	pushedManifests atomic.Int64
}

func newMetrics() *metrics {
	b := []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30}
	return &metrics{requests: map[[2]string]uint64{}, buckets: b, counts: make([]uint64, len(b)+1)}
}

func (m *metrics) observe(method string, status int, bytes int64, d time.Duration) {
	sec := d.Seconds()
	m.bytesOut.Add(bytes)
	m.mu.Lock()
	m.requests[[2]string{method, fmt.Sprint(status)}]++
	for i, b := range m.buckets {
		if sec <= b {
			m.counts[i]++
		}
	}
	m.counts[len(m.buckets)]++
	m.sum += sec
	m.total++
	m.mu.Unlock()
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	b.WriteString("# HELP berth_registry_http_requests_total HTTP requests answered, by method and status code.\n")
	b.WriteString("# TYPE berth_registry_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "berth_registry_http_requests_total{method=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	b.WriteString("# HELP berth_registry_http_request_duration_seconds Time to answer a request.\n")
	b.WriteString("# TYPE berth_registry_http_request_duration_seconds histogram\n")
	for i, le := range m.buckets {
		fmt.Fprintf(&b, "berth_registry_http_request_duration_seconds_bucket{le=\"%g\"} %d\n", le, m.counts[i])
	}
	fmt.Fprintf(&b, "berth_registry_http_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.counts[len(m.buckets)])
	fmt.Fprintf(&b, "berth_registry_http_request_duration_seconds_sum %g\n", m.sum)
	fmt.Fprintf(&b, "berth_registry_http_request_duration_seconds_count %d\n", m.total)
	m.mu.Unlock()
	gauge := func(name, help, typ string, v int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
	}
	gauge("berth_registry_http_requests_in_flight", "Requests being answered.", "gauge", m.inflight.Load())
	gauge("berth_registry_received_bytes_total", "Blob and manifest bytes received.", "counter", m.bytesIn.Load())
	gauge("berth_registry_sent_bytes_total", "Response body bytes sent.", "counter", m.bytesOut.Load())
	gauge("berth_registry_blobs_pushed_total", "Blob uploads completed.", "counter", m.pushedBlobs.Load())
	gauge("berth_registry_manifests_pushed_total", "Manifests stored.", "counter", m.pushedManifests.Load())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(b.String()))
}
