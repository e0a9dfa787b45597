// Command registry-bench measures push and pull throughput of berth's registry against Debian's
// docker-registry (CNCF distribution) on the same machine, with the same HTTP client:
//
//   - one large blob (default 100 MB): monolithic push (POST + PUT) and pull, in MB/s;
//   - many small manifests (default 1,000, each naming the same config and layer): PUT by tag
//     and GET by tag, in requests per second, with -c concurrent clients.
//
// Both registries run as processes on 127.0.0.1 with filesystem storage in fresh temporary
// directories. Run from the repository root:
//
//	GOTOOLCHAIN=local CGO_ENABLED=0 go run ./bench/registry
//
// berth fsyncs every acknowledged write (distribution does not); -nosync measures berth without.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
)

var (
	blobMB      = flag.Int("blob-mb", 100, "size of the large blob in MB")
	rounds      = flag.Int("rounds", 3, "large-blob rounds (the best is reported)")
	nManifests  = flag.Int("manifests", 1000, "number of small manifests")
	concurrency = flag.Int("c", 8, "concurrent clients for the small-manifest test")
	berthBin    = flag.String("berth", "", "berth binary (default: go build ./cmd/berth)")
	distBin     = flag.String("docker-registry", "/usr/bin/docker-registry", "distribution's registry binary")
	noSync      = flag.Bool("nosync", false, "run berth without fsync (like distribution)")
	distFirst   = flag.Bool("dist-first", false, "measure docker-registry before berth")
)

type result struct {
	pushMBs, pullMBs, putRPS, getRPS float64
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "registry-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "registry-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := *berthBin
	if bin == "" {
		bin = filepath.Join(tmp, "berth")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/berth")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building berth: %v\n%s", err, out)
		}
	}
	blob := make([]byte, *blobMB<<20)
	rand.Read(blob)

	berthCfg := `{"noSync": ` + fmt.Sprint(*noSync) + `}`
	os.WriteFile(filepath.Join(tmp, "berth.json"), []byte(berthCfg), 0o644)
	berthAddr, stopBerth, err := start(exec.Command(bin, "registry", "serve", "-q", "--addr", "127.0.0.1:0",
		"--storage", filepath.Join(tmp, "berth-storage"), "--config", filepath.Join(tmp, "berth.json")), "")
	if err != nil {
		return fmt.Errorf("berth: %w", err)
	}
	defer stopBerth()
	port, err := freePort()
	if err != nil {
		return err
	}
	distAddr := fmt.Sprintf("127.0.0.1:%d", port)
	distCfg := filepath.Join(tmp, "distribution.yml")
	os.WriteFile(distCfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(tmp, "dist-storage"), distAddr)), 0o644)
	_, stopDist, err := start(exec.Command(*distBin, "serve", distCfg), distAddr)
	if err != nil {
		return fmt.Errorf("docker-registry: %w", err)
	}
	defer stopDist()

	fmt.Printf("blob %d MB x %d rounds (best), %d manifests with %d clients, berth fsync=%v\n",
		*blobMB, *rounds, *nManifests, *concurrency, !*noSync)
	var rb, rd result
	order := []func() error{
		func() (err error) { rb, err = measure("http://"+berthAddr, blob); return wrap("berth", err) },
		func() (err error) { rd, err = measure("http://"+distAddr, blob); return wrap("docker-registry", err) },
	}
	if *distFirst {
		order[0], order[1] = order[1], order[0]
	}
	for _, f := range order {
		if err := f(); err != nil {
			return err
		}
	}
	fmt.Printf("%-28s %14s %16s %8s\n", "", "berth", "docker-registry", "ratio")
	row := func(name, unit string, b, d float64) {
		fmt.Printf("%-28s %10.1f %-3s %12.1f %-3s %7.2fx\n", name, b, unit, d, unit, b/d)
	}
	row("blob push", "MB/s", rb.pushMBs, rd.pushMBs)
	row("blob pull", "MB/s", rb.pullMBs, rd.pullMBs)
	row("manifest put", "r/s", rb.putRPS, rd.putRPS)
	row("manifest get", "r/s", rb.getRPS, rd.getRPS)
	return nil
}

func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var listenRE = regexp.MustCompile(`listening on https?://(\S+)`)

// start runs a registry process and waits until it answers /v2/. With addr "", the address is
// read from berth's "listening on" line.
func start(cmd *exec.Cmd, addr string) (string, func(), error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	found := make(chan string, 1)
	var logs bytes.Buffer
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if addr == "" {
			select {
			case addr = <-found:
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	return "", nil, fmt.Errorf("did not start:\n%s", logs.String())
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

func request(method, url string, body []byte, hdr ...string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return client.Do(req)
}

// pushBlob uploads b with POST then one PUT carrying the content (what most clients do for
// blobs they hold whole).
func pushBlob(base, repo string, b []byte) (digest.Digest, error) {
	d := digest.FromBytes(b)
	resp, err := request("POST", base+"/v2/"+repo+"/blobs/uploads/", nil)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	resp, err = request("PUT", loc+sep+"digest="+d.String(), b, "Content-Type", "application/octet-stream")
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("PUT upload: %s", resp.Status)
	}
	return d, nil
}

func measure(base string, blob []byte) (result, error) {
	var r result
	mb := float64(len(blob)) / (1 << 20)
	for i := range *rounds {
		b := blob
		b[0], b[1] = byte(i), byte(i>>8) // a new digest each round: no dedup shortcut
		t0 := time.Now()
		d, err := pushBlob(base, "bench/big", b)
		if err != nil {
			return r, err
		}
		r.pushMBs = max(r.pushMBs, mb/time.Since(t0).Seconds())
		t0 = time.Now()
		resp, err := request("GET", base+"/v2/bench/big/blobs/"+d.String(), nil)
		if err != nil {
			return r, err
		}
		n, err := io.Copy(io.Discard, resp.Body) // timed: the registry's speed, not the client's hashing
		resp.Body.Close()
		el := time.Since(t0)
		if err != nil || resp.StatusCode != http.StatusOK || n != int64(len(b)) {
			return r, fmt.Errorf("blob pull: %s, %d bytes, %v", resp.Status, n, err)
		}
		if i == 0 { // untimed: the content is right
			resp, err := request("GET", base+"/v2/bench/big/blobs/"+d.String(), nil)
			if err != nil {
				return r, err
			}
			h := digest.Canonical.Digester()
			io.Copy(h.Hash(), resp.Body)
			resp.Body.Close()
			if h.Digest() != d {
				return r, fmt.Errorf("blob pull: content hashes to %s, want %s", h.Digest(), d)
			}
		}
		r.pullMBs = max(r.pullMBs, mb/el.Seconds())
	}

	cfg, err := pushBlob(base, "bench/small", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	if err != nil {
		return r, err
	}
	layer, err := pushBlob(base, "bench/small", []byte("layer"))
	if err != nil {
		return r, err
	}
	manifest := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":79},`+
			`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":5}],`+
			`"annotations":{"n":"%d"}}`, cfg, layer, i))
	}
	parallel := func(method string, do func(i int) error) (float64, error) {
		var next atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		t0 := time.Now()
		for range *concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= *nManifests {
						return
					}
					if err := do(i); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, fmt.Errorf("manifest %s: %w", method, err)
		}
		return float64(*nManifests) / time.Since(t0).Seconds(), nil
	}
	r.putRPS, err = parallel("PUT", func(i int) error {
		resp, err := request("PUT", fmt.Sprintf("%s/v2/bench/small/manifests/t%d", base, i), manifest(i),
			"Content-Type", "application/vnd.oci.image.manifest.v1+json")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return errors.New(resp.Status)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.getRPS, err = parallel("GET", func(i int) error {
		resp, err := request("GET", fmt.Sprintf("%s/v2/bench/small/manifests/t%d", base, i), nil,
			"Accept", "application/vnd.oci.image.manifest.v1+json")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, manifest(i)) {
			return fmt.Errorf("%s: wrong manifest", resp.Status)
		}
		return nil
	})
	return r, err
}
