// Command replicas measures berth's registry as 1, 2 and 4 replicas over one SeaweedFS bucket
// behind a round-robin balancer, next to distribution 2.8 (Debian's docker-registry) over the
// same bucket, with the same clients:
//
//   - push+pull: each of -c clients pushes distinct images (a 64 KiB layer and a config, each
//     POST then PUT as docker does, then the manifest by tag) and pulls each back (manifest,
//     config, layer); images per second and p99 latency of a push and of a pull;
//   - manifest GETs: the clients GET their manifests by tag, -gets each; GETs per second, p99.
//
// Rounds interleave the systems (round i measures berth 1, distribution 1, berth 2, ... before
// round i+1), so a slow spell of the shared machine hits both alike; medians over rounds are
// reported, with berth/distribution ratios. Each run writes under a fresh prefix of the bucket.
//
// -catalog instead fills the bucket through berth with -repos repositories of -tags tags each
// and times pages of 100 of _catalog and tags/list.
//
// Run it through bench/registry/replicas.sh, which builds SeaweedFS and berth.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
)

var (
	weedBin   = flag.String("weed", "", "SeaweedFS binary")
	berthBin  = flag.String("berth", "", "berth binary")
	distBin   = flag.String("docker-registry", "/usr/bin/docker-registry", "distribution 2.8's binary ('' to skip it)")
	clients   = flag.Int("c", 32, "concurrent clients")
	images    = flag.Int("images", 4, "images pushed and pulled per client and run")
	gets      = flag.Int("gets", 60, "manifest GETs per client and run")
	rounds    = flag.Int("rounds", 3, "rounds (medians are reported)")
	counts    = flag.String("replicas", "1,2,4", "replica counts")
	catalog   = flag.Bool("catalog", false, "measure catalog and tag list pages instead")
	nRepos    = flag.Int("repos", 5000, "repositories for -catalog")
	nTags     = flag.Int("tags", 4, "tags per repository for -catalog")
	accessKey = "bench"
	secretKey = "bench-secret"
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "replicas-bench:", err)
		os.Exit(1)
	}
}

type proc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

func (p *proc) stop() {
	p.cmd.Process.Kill()
	<-p.done
}

// peakRSS is the process's high-water resident memory in MiB.
func (p *proc) peakRSS() float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}

// cpu is the CPU time the process used so far, in seconds.
func (p *proc) cpu() float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	// Fields after the command name (in parentheses): utime and stime are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // USER_HZ
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs cmd and waits until addr accepts connections.
func start(cmd *exec.Cmd, addr string, logf io.Writer) (*proc, error) {
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, addr: addr, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited", filepath.Base(cmd.Path))
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen on %s", filepath.Base(cmd.Path), addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "replicas-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	logf, err := os.Create(filepath.Join(tmp, "log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	ports := make([]string, 8)
	for i := range ports {
		ports[i] = strconv.Itoa(freePort())
	}
	weed := exec.Command(*weedBin, "server", "-dir="+filepath.Join(tmp, "weed"), "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+ports[0], "-master.port.grpc="+ports[1], "-volume.port="+ports[2], "-volume.port.grpc="+ports[3],
		"-filer", "-filer.port="+ports[4], "-filer.port.grpc="+ports[5], "-s3", "-s3.port="+ports[6], "-s3.port.grpc="+ports[7],
		"-volume.max=16", "-master.volumeSizeLimitMB=256")
	os.MkdirAll(filepath.Join(tmp, "weed"), 0o755)
	weed.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secretKey)
	endpoint := "127.0.0.1:" + ports[6]
	w, err := start(weed, endpoint, logf)
	if err != nil {
		return err
	}
	defer w.stop()
	// Create the bucket through berth (createBucket), retrying while the filer comes up.
	cfgPath := func(prefix string) string {
		p := filepath.Join(tmp, "berth-"+prefix+".json")
		os.WriteFile(p, []byte(fmt.Sprintf(`{"s3": {"endpoint": %q, "bucket": "bench", "insecure": true, "createBucket": true,
			"accessKey": %q, "secretKey": %q, "region": "us-east-1", "prefix": %q}}`, endpoint, accessKey, secretKey, prefix)), 0o644)
		return p
	}
	startBerth := func(prefix string) (*proc, error) {
		var lastErr error
		for range 60 {
			addr := "127.0.0.1:" + strconv.Itoa(freePort())
			p, err := start(exec.Command(*berthBin, "registry", "serve", "-q", "--addr", addr, "--config", cfgPath(prefix)), addr, logf)
			if err == nil {
				return p, nil
			}
			lastErr = err
			time.Sleep(time.Second)
		}
		return nil, lastErr
	}
	startDist := func(prefix string) (*proc, error) {
		addr := "127.0.0.1:" + strconv.Itoa(freePort())
		// http.secret signs upload state in Location: shared by the replicas, as
		// distribution's docs ask for a load-balanced deployment.
		cfg := filepath.Join(tmp, "dist-"+prefix+".yml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: %s
    secretkey: %s
    region: us-east-1
    regionendpoint: http://%s
    bucket: bench
    rootdirectory: /%s
    secure: false
    v4auth: true
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: %s
  secret: bench-shared-secret
`, accessKey, secretKey, endpoint, prefix, addr)), 0o644)
		cmd := exec.Command(*distBin, "serve", cfg)
		// The AWS SDK in distribution refuses to start with a custom CA bundle in the
		// environment and its own transport; the endpoint is plain HTTP anyway.
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "AWS_CA_BUNDLE=") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		return start(cmd, addr, logf)
	}
	// Warm SeaweedFS up (its first writes allocate volumes) and create the bucket.
	p, err := startBerth("warmup")
	if err != nil {
		return err
	}
	if _, err := pushImage(http.DefaultClient, "http://"+p.addr, "warm/up", 0); err != nil {
		p.stop()
		return err
	}
	p.stop()

	if *catalog {
		return catalogBench(startBerth)
	}

	type key struct {
		sys string
		n   int
	}
	results := map[key][]stats{}
	var ns []int
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("bad -replicas %q", *counts)
		}
		ns = append(ns, n)
	}
	systems := []string{"berth"}
	if *distBin != "" {
		systems = append(systems, "distribution")
	}
	for round := range *rounds {
		for _, n := range ns {
			for _, sys := range systems {
				prefix := fmt.Sprintf("%s-%d-%d", sys[:1], n, round)
				var procs []*proc
				for range n {
					var p *proc
					var err error
					if sys == "berth" {
						p, err = startBerth(prefix)
					} else {
						p, err = startDist(prefix)
					}
					if err != nil {
						return fmt.Errorf("%s: %w (log %s)", sys, err, logf.Name())
					}
					procs = append(procs, p)
				}
				weedCPU := w.cpu()
				st, err := measure(procs)
				st.storeCPU = w.cpu() - weedCPU
				for _, p := range procs {
					st.rss = max(st.rss, p.peakRSS())
					st.regCPU += p.cpu()
					p.stop()
				}
				if err != nil {
					return fmt.Errorf("%s × %d: %w", sys, n, err)
				}
				fmt.Fprintf(os.Stderr, "round %d %-12s × %d: %s\n", round+1, sys, n, st)
				results[key{sys, n}] = append(results[key{sys, n}], st)
			}
		}
	}
	fmt.Printf("\n%d clients; medians of %d interleaved rounds; SeaweedFS on the same machine (%d CPUs)\n", *clients, *rounds, runtime.NumCPU())
	fmt.Printf("%-22s %9s %9s %9s %9s %10s %9s %8s %8s %8s\n", "", "images/s", "push p99", "pull p99", "GETs/s", "GET p99", "GET ×1", "RSS MiB", "CPU reg", "CPU S3")
	base := map[string]float64{}
	for _, n := range ns {
		for _, sys := range systems {
			m := median(results[key{sys, n}])
			if n == ns[0] {
				base[sys] = m.getRPS
			}
			fmt.Printf("%-22s %9.1f %8.0fms %8.0fms %9.0f %8.1fms %8.2fx %8.0f %7.1fs %7.1fs\n", fmt.Sprintf("%s × %d", sys, n),
				m.imgRPS, m.pushP99, m.pullP99, m.getRPS, m.getP99, m.getRPS/base[sys], m.rss, m.regCPU, m.storeCPU)
		}
		if len(systems) == 2 {
			b, d := median(results[key{"berth", n}]), median(results[key{"distribution", n}])
			fmt.Printf("%-22s %8.2fx %9s %9s %8.2fx\n", fmt.Sprintf("berth/distribution × %d", n), b.imgRPS/d.imgRPS, "", "", b.getRPS/d.getRPS)
		}
	}
	return nil
}

type stats struct {
	imgRPS, pushP99, pullP99, getRPS, getP99, rss float64
	// CPU seconds used during the run by the replicas together and by SeaweedFS.
	regCPU, storeCPU float64
}

func (s stats) String() string {
	return fmt.Sprintf("%.1f images/s (push p99 %.0f ms, pull p99 %.0f ms), %.0f manifest GETs/s (p99 %.1f ms), CPU registry %.1f s, SeaweedFS %.1f s",
		s.imgRPS, s.pushP99, s.pullP99, s.getRPS, s.getP99, s.regCPU, s.storeCPU)
}

func median(v []stats) stats {
	pick := func(f func(stats) float64) float64 {
		x := make([]float64, len(v))
		for i := range v {
			x[i] = f(v[i])
		}
		sort.Float64s(x)
		return x[len(x)/2]
	}
	return stats{
		imgRPS: pick(func(s stats) float64 { return s.imgRPS }), pushP99: pick(func(s stats) float64 { return s.pushP99 }),
		pullP99: pick(func(s stats) float64 { return s.pullP99 }), getRPS: pick(func(s stats) float64 { return s.getRPS }),
		getP99: pick(func(s stats) float64 { return s.getP99 }), rss: pick(func(s stats) float64 { return s.rss }),
		regCPU: pick(func(s stats) float64 { return s.regCPU }), storeCPU: pick(func(s stats) float64 { return s.storeCPU }),
	}
}

func p99(ms []float64) float64 {
	if len(ms) == 0 {
		return math.NaN()
	}
	sort.Float64s(ms)
	return ms[min(len(ms)-1, int(math.Ceil(0.99*float64(len(ms))))-1)]
}

// balancer is the round-robin load balancer in front of the replicas.
func balancer(procs []*proc) *httptest.Server {
	var next atomic.Int64
	var urls []*url.URL
	for _, p := range procs {
		u, _ := url.Parse("http://" + p.addr)
		urls = append(urls, u)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024}
	return httptest.NewServer(&httputil.ReverseProxy{Transport: tr, Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(urls[int(next.Add(1)-1)%len(urls)])
		r.Out.Host = r.In.Host
	}})
}

func measure(procs []*proc) (stats, error) {
	lb := balancer(procs)
	defer lb.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients * 2}}
	var mu sync.Mutex
	var pushMS, pullMS, getMS []float64
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range *images {
				repo := fmt.Sprintf("bench/c%d", c)
				s := time.Now()
				m, err := pushImage(hc, lb.URL, repo, i)
				if err != nil {
					fail(err)
					return
				}
				p := time.Since(s)
				s = time.Now()
				if err := pullImage(hc, lb.URL, repo, m); err != nil {
					fail(err)
					return
				}
				mu.Lock()
				pushMS = append(pushMS, ms(p))
				pullMS = append(pullMS, ms(time.Since(s)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	imgElapsed := time.Since(t0)
	if firstErr != nil {
		return stats{}, firstErr
	}
	t0 = time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("%s/v2/bench/c%d/manifests/t0", lb.URL, c)
			var local []float64
			for range *gets {
				s := time.Now()
				if _, err := get(hc, u, "application/vnd.oci.image.manifest.v1+json"); err != nil {
					fail(err)
					return
				}
				local = append(local, ms(time.Since(s)))
			}
			mu.Lock()
			getMS = append(getMS, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	getElapsed := time.Since(t0)
	if firstErr != nil {
		return stats{}, firstErr
	}
	return stats{
		imgRPS: float64(*clients**images) / imgElapsed.Seconds(), pushP99: p99(pushMS), pullP99: p99(pullMS),
		getRPS: float64(len(getMS)) / getElapsed.Seconds(), getP99: p99(getMS),
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type pushed struct {
	manifest []byte
	blobs    []digest.Digest
}

// pushImage pushes a distinct image (a 64 KiB random layer, a config) tagged t<i>: each blob
// by POST then PUT, as docker does, then the manifest.
func pushImage(hc *http.Client, base, repo string, i int) (pushed, error) {
	layer := make([]byte, 64<<10)
	rand.Read(layer)
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{"Labels":{"n":"%s"}}}`,
		digest.FromBytes(layer), digest.FromBytes(layer).Encoded()[:12]))
	var out pushed
	for _, b := range [][]byte{config, layer} {
		d := digest.FromBytes(b)
		resp, err := do(hc, "POST", base+"/v2/"+repo+"/blobs/uploads/", nil, "")
		if err != nil {
			return out, err
		}
		if resp.StatusCode != 202 {
			return out, fmt.Errorf("POST upload: %s", resp.Status)
		}
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "http") {
			loc = base + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		resp, err = do(hc, "PUT", loc+sep+"digest="+d.String(), b, "application/octet-stream")
		if err != nil {
			return out, err
		}
		if resp.StatusCode != 201 {
			return out, fmt.Errorf("PUT blob: %s", resp.Status)
		}
		out.blobs = append(out.blobs, d)
	}
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": out.blobs[0], "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": out.blobs[1], "size": len(layer)}},
	})
	resp, err := do(hc, "PUT", fmt.Sprintf("%s/v2/%s/manifests/t%d", base, repo, i), m, "application/vnd.oci.image.manifest.v1+json")
	if err != nil {
		return out, err
	}
	if resp.StatusCode != 201 {
		return out, fmt.Errorf("PUT manifest: %s", resp.Status)
	}
	out.manifest = m
	return out, nil
}

func pullImage(hc *http.Client, base, repo string, p pushed) error {
	// By digest: another client's push of the same tag cannot interfere.
	b, err := get(hc, base+"/v2/"+repo+"/manifests/"+digest.FromBytes(p.manifest).String(), "application/vnd.oci.image.manifest.v1+json")
	if err != nil {
		return err
	}
	if !bytes.Equal(b, p.manifest) {
		return fmt.Errorf("manifest of %s differs", repo)
	}
	for _, d := range p.blobs {
		b, err := get(hc, base+"/v2/"+repo+"/blobs/"+d.String(), "")
		if err != nil {
			return err
		}
		if digest.FromBytes(b) != d {
			return fmt.Errorf("blob %s of %s differs", d, repo)
		}
	}
	return nil
}

func do(hc *http.Client, method, u string, body []byte, ct string) (*http.Response, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func get(hc *http.Client, u, accept string) ([]byte, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return b, err
}

// catalogBench fills the bucket with -repos repositories of -tags tags through one berth
// replica, then times pages of 100 of the catalog (at several starting points) and of tag lists.
func catalogBench(startBerth func(string) (*proc, error)) error {
	p, err := startBerth("catalog")
	if err != nil {
		return err
	}
	defer p.stop()
	base := "http://" + p.addr
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	first, err := pushImage(hc, base, "cat/base", 0)
	if err != nil {
		return err
	}
	names := make([]string, *nRepos)
	for i := range names {
		names[i] = fmt.Sprintf("team%02d/app-%05d", i%50, i)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	t0 := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) || firstErr.Load() != nil {
					return
				}
				repo := names[i]
				for _, d := range first.blobs {
					resp, err := do(hc, "POST", base+"/v2/"+repo+"/blobs/uploads/?mount="+d.String()+"&from=cat/base", nil, "")
					if err == nil && resp.StatusCode != 201 {
						err = fmt.Errorf("mount into %s: %s", repo, resp.Status)
					}
					if err != nil {
						firstErr.Store(err)
						return
					}
				}
				for t := range *nTags {
					resp, err := do(hc, "PUT", fmt.Sprintf("%s/v2/%s/manifests/v%d", base, repo, t), first.manifest, "application/vnd.oci.image.manifest.v1+json")
					if err == nil && resp.StatusCode != 201 {
						err = fmt.Errorf("tag %s: %s", repo, resp.Status)
					}
					if err != nil {
						firstErr.Store(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return e.(error)
	}
	fmt.Fprintf(os.Stderr, "filled %d repositories × %d tags in %s\n", *nRepos, *nTags, time.Since(t0).Round(time.Second))
	slices.Sort(names)
	timeIt := func(what string, urls []string) error {
		var v []float64
		for range 3 {
			for _, u := range urls {
				s := time.Now()
				b, err := get(hc, u, "")
				if err != nil {
					return err
				}
				v = append(v, ms(time.Since(s)))
				if !bytes.Contains(b, []byte(`"`)) {
					return fmt.Errorf("%s: %s", u, b)
				}
			}
		}
		sort.Float64s(v)
		fmt.Printf("%-44s median %6.1f ms   p99 %6.1f ms   max %6.1f ms   (%d requests)\n", what, v[len(v)/2], p99(slices.Clone(v)), v[len(v)-1], len(v))
		return nil
	}
	var cat, tags []string
	for i := 0; i < len(names); i += len(names) / 20 {
		last := ""
		if i > 0 {
			last = "&last=" + url.QueryEscape(names[i])
		}
		cat = append(cat, base+"/v2/_catalog?n=100"+last)
		tags = append(tags, base+"/v2/"+names[i]+"/tags/list?n=100")
	}
	fmt.Printf("\n%d repositories, %d tags, one berth replica over SeaweedFS\n", *nRepos+1, *nRepos**nTags+1)
	if err := timeIt("GET /v2/_catalog?n=100&last=… (a page of 100)", cat); err != nil {
		return err
	}
	return timeIt("GET /v2/<repo>/tags/list?n=100", tags)
}
