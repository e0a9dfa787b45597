package api

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/image"
)

// mergeContexts is a context done when either parent is: a request's (the client hung up) and
// the server's (it is closing).
func mergeContexts(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// flushWriter flushes after every write, so a followed stream reaches the client line by line;
// it serialises writers of two streams.
type flushWriter struct {
	mu *sync.Mutex
	w  http.ResponseWriter
}

func (f flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(p)
	flush(f.w)
	return n, err
}

// stdWriter frames each write for Docker's multiplexed stream: an 8-byte header (the stream,
// three zeros, the big-endian length) and the bytes.
type stdWriter struct {
	w      io.Writer
	stream byte
}

func (s stdWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	buf := make([]byte, 8+len(p))
	buf[0] = s.stream
	binary.BigEndian.PutUint32(buf[4:], uint32(len(p)))
	copy(buf[8:], p)
	if _, err := s.w.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// containerLogs is GET /containers/{id}/logs?stdout=&stderr=&follow=&since=&until=&tail=&timestamps=:
// `berth logs` as a stream, stdcopy-multiplexed unless the container has a TTY.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	stdout, stderr := boolValue(r, "stdout"), boolValue(r, "stderr")
	if !stdout && !stderr {
		return badRequest("Bad parameters: you must choose at least one stream")
	}
	o := container.LogsOptions{Follow: boolValue(r, "follow"), Timestamps: boolValue(r, "timestamps"), Tail: -1}
	if t := r.Form.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return badRequest("invalid value for \"tail\": %s", t)
		}
		if n >= 0 {
			o.Tail = n
		}
	}
	now := time.Now()
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"since", &o.Since}, {"until", &o.Until}} {
		v := r.Form.Get(p.key)
		if v == "" || v == "0" {
			continue
		}
		t, err := image.ParseTimestamp(v, now)
		if err != nil {
			return badRequest("%v", err)
		}
		*p.dst = t
	}
	c, _, err := s.containers.Get(r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.LogConfig().Type == logging.None {
		return badRequest("configured logging driver does not support reading")
	}
	s.streams.Add(1)
	defer s.streams.Done()
	ctx, cancel := mergeContexts(r.Context(), s.ctx)
	defer cancel()
	o.Context = ctx
	mu := &sync.Mutex{}
	fw := flushWriter{mu: mu, w: w}
	var out, errw io.Writer = io.Discard, io.Discard
	if c.Config.Tty {
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
		if stdout {
			out = fw
		}
		if stderr {
			errw = fw
		}
	} else {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		if stdout {
			out = stdWriter{fw, 1}
		}
		if stderr {
			errw = stdWriter{fw, 2}
		}
	}
	w.WriteHeader(http.StatusOK)
	flush(w)
	err = s.containers.Logs(c.ID, o, out, errw)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Docker's stats document (types.StatsJSON of 20.10), the parts berth measures.
type (
	statsJSON struct {
		Read        time.Time              `json:"read"`
		PreRead     time.Time              `json:"preread"`
		PidsStats   pidsStats              `json:"pids_stats"`
		BlkioStats  blkioStats             `json:"blkio_stats"`
		NumProcs    uint32                 `json:"num_procs"`
		Storage     struct{}               `json:"storage_stats"`
		CPUStats    cpuStats               `json:"cpu_stats"`
		PreCPUStats cpuStats               `json:"precpu_stats"`
		MemoryStats memoryStats            `json:"memory_stats"`
		Name        string                 `json:"name"`
		ID          string                 `json:"id"`
		Networks    map[string]networkStat `json:"networks,omitempty"`
	}
	pidsStats struct {
		Current uint64 `json:"current,omitempty"`
	}
	blkioEntry struct {
		Major uint64 `json:"major"`
		Minor uint64 `json:"minor"`
		Op    string `json:"op"`
		Value uint64 `json:"value"`
	}
	blkioStats struct {
		IOServiceBytesRecursive []blkioEntry `json:"io_service_bytes_recursive"`
		IOServicedRecursive     []blkioEntry `json:"io_serviced_recursive"`
		IOQueueRecursive        []blkioEntry `json:"io_queue_recursive"`
		IOServiceTimeRecursive  []blkioEntry `json:"io_service_time_recursive"`
		IOWaitTimeRecursive     []blkioEntry `json:"io_wait_time_recursive"`
		IOMergedRecursive       []blkioEntry `json:"io_merged_recursive"`
		IOTimeRecursive         []blkioEntry `json:"io_time_recursive"`
		SectorsRecursive        []blkioEntry `json:"sectors_recursive"`
	}
	cpuStats struct {
		CPUUsage struct {
			TotalUsage        uint64 `json:"total_usage"`
			UsageInKernelmode uint64 `json:"usage_in_kernelmode"`
			UsageInUsermode   uint64 `json:"usage_in_usermode"`
		} `json:"cpu_usage"`
		SystemUsage    uint64 `json:"system_cpu_usage,omitempty"`
		OnlineCPUs     uint32 `json:"online_cpus,omitempty"`
		ThrottlingData struct {
			Periods          uint64 `json:"periods"`
			ThrottledPeriods uint64 `json:"throttled_periods"`
			ThrottledTime    uint64 `json:"throttled_time"`
		} `json:"throttling_data"`
	}
	memoryStats struct {
		Usage uint64            `json:"usage,omitempty"`
		Stats map[string]uint64 `json:"stats,omitempty"`
		Limit uint64            `json:"limit,omitempty"`
	}
	networkStat struct {
		RxBytes   uint64 `json:"rx_bytes"`
		RxPackets uint64 `json:"rx_packets"`
		RxErrors  uint64 `json:"rx_errors"`
		RxDropped uint64 `json:"rx_dropped"`
		TxBytes   uint64 `json:"tx_bytes"`
		TxPackets uint64 `json:"tx_packets"`
		TxErrors  uint64 `json:"tx_errors"`
		TxDropped uint64 `json:"tx_dropped"`
	}
)

func cpuOf(st container.Stats) cpuStats {
	var c cpuStats
	c.CPUUsage.TotalUsage = st.CPUUsage
	c.SystemUsage = st.SystemUsage
	c.OnlineCPUs = uint32(st.OnlineCPUs)
	return c
}

// statsDoc is one reading as Docker's document; prev is the reading before (zero: none).
func statsDoc(c *container.Container, cur, prev container.Stats, running bool) statsJSON {
	d := statsJSON{Name: "/" + c.Name, ID: c.ID, BlkioStats: blkioStats{IOServiceBytesRecursive: []blkioEntry{}}}
	if !running {
		return d // dockerd's document for a container that does not run: all zeros
	}
	d.Read, d.PreRead = cur.Read, prev.Read
	d.PidsStats.Current = cur.Pids
	d.BlkioStats.IOServiceBytesRecursive = []blkioEntry{{Op: "read", Value: cur.BlockRead}, {Op: "write", Value: cur.BlockWrite}}
	d.CPUStats, d.PreCPUStats = cpuOf(cur), cpuOf(prev)
	// Usage is what Docker's CLI shows (the reclaimable page cache already left out), so the
	// cache keys it would subtract are absent.
	d.MemoryStats = memoryStats{Usage: cur.MemUsage, Limit: cur.MemLimit, Stats: map[string]uint64{}}
	if c.Host.NetworkMode != "host" && c.Host.NetworkMode != "none" {
		d.Networks = map[string]networkStat{"eth0": {RxBytes: cur.NetRx, TxBytes: cur.NetTx}}
	}
	return d
}

// containerStats is GET /containers/{id}/stats?stream=&one-shot=: a reading a second while the
// client listens (stream, the default), or one document, with precpu_stats from a reading a
// second before unless one-shot.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	stream := boolValueOr(r, "stream", true)
	oneShot := boolValue(r, "one-shot")
	if oneShot && stream {
		return badRequest("cannot have stream=true and one-shot=true")
	}
	c, _, err := s.containers.Get(r.PathValue("id"))
	if err != nil {
		return err
	}
	s.streams.Add(1)
	defer s.streams.Done()
	ctx, cancel := mergeContexts(r.Context(), s.ctx)
	defer cancel()
	read := func() (container.Stats, bool, error) {
		st, err := s.containers.Stats(c.ID)
		if errors.Is(err, container.ErrNotRunning) {
			return st, false, nil
		}
		return st, err == nil, err
	}
	w.Header().Set("Content-Type", "application/json")
	var prev container.Stats
	if !stream {
		cur, running, err := read()
		if err != nil {
			return err
		}
		if running && !oneShot {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			prev = cur
			if cur, running, err = read(); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, statsDoc(c, cur, prev, running))
		return nil
	}
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for {
		cur, running, err := read()
		if err != nil {
			var nf container.NotFoundError
			if errors.As(err, &nf) {
				return nil // removed meanwhile: the stream ends
			}
			return err
		}
		if err := enc.Encode(statsDoc(c, cur, prev, running)); err != nil {
			return nil
		}
		flush(w)
		prev = cur
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// archivePath reads the path parameter of the archive endpoints.
func archivePath(r *http.Request) (string, error) {
	if err := parseForm(r); err != nil {
		return "", err
	}
	p := r.Form.Get("path")
	if p == "" {
		return "", badRequest("path cannot be empty")
	}
	return p, nil
}

// archiveErr gives a copy's failures dockerd's statuses.
func archiveErr(err error) error {
	if err == nil {
		return nil
	}
	var pnf container.PathNotFoundError
	if errors.As(err, &pnf) {
		return notFound("%v", err)
	}
	if statusOf(err) != http.StatusInternalServerError {
		return err
	}
	if strings.Contains(err.Error(), "not a directory") || strings.Contains(err.Error(), "must be a directory") {
		return badRequest("%v", err)
	}
	return err
}

// statHeader sets X-Docker-Container-Path-Stat: the path's stat as base64 JSON.
func (s *Server) statHeader(w http.ResponseWriter, id, p string) error {
	st, err := s.containers.StatPath(id, p)
	if err != nil {
		return archiveErr(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(b))
	return nil
}

// containerArchiveHead is HEAD /containers/{id}/archive?path=: the stat header alone.
func (s *Server) containerArchiveHead(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	if err := s.statHeader(w, r.PathValue("id"), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// containerArchiveGet is GET /containers/{id}/archive?path=: the stat header and the path as a
// tar stream (`docker cp CONTAINER:PATH -`).
func (s *Server) containerArchiveGet(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.statHeader(w, id, p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	_, err = s.containers.ArchivePath(id, p, container.CopyOptions{}, w)
	return archiveErr(err)
}

// containerArchivePut is PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=:
// a tar stream unpacked into directory path of the container.
func (s *Server) containerArchivePut(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := s.containers.StatPath(id, p); err != nil {
		return archiveErr(err)
	}
	o := container.CopyOptions{Archive: boolValue(r, "copyUIDGID"), AllowOverwriteDirWithFile: !boolValue(r, "noOverwriteDirNonDir")}
	if err := s.containers.ExtractTo(id, p, r.Body, o); err != nil {
		return archiveErr(err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
