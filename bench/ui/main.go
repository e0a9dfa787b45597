// Command ui measures the web UI's speed targets (issue 17): the images page with N images
// (1,000 by default) is interactive within 300 ms of navigation, and the process serving the UI
// stays under 50 MB RSS idle. It makes a store of N distinct small images (one docker-archive,
// one `berth load`), starts `berth ui`, and drives Debian's chromium through chromedp.
//
//	usage: go run ./bench/ui -berth BIN [-n 1000] [-runs 10]
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	bin := flag.String("berth", "", "the berth binary")
	n := flag.Int("n", 1000, "images in the store")
	runs := flag.Int("runs", 10, "page loads measured")
	chromium := flag.String("chromium", "chromium", "the browser")
	flag.Parse()
	if *bin == "" {
		log.Fatal("-berth is required")
	}
	work, err := os.MkdirTemp("", "berth-bench-ui-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")
	arch := filepath.Join(work, "images.tar")
	if err := os.WriteFile(arch, archive(*n), 0o644); err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	if out, err := exec.Command(*bin, "--root", root, "load", "-q", "-i", arch).CombinedOutput(); err != nil {
		log.Fatalf("load: %v\n%s", err, out)
	}
	fmt.Printf("store: %d images loaded in %s\n", *n, time.Since(t0).Round(time.Millisecond))

	cmd := exec.Command(*bin, "--root", root, "ui", "--addr", "127.0.0.1:0", "--no-browser")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	url = strings.TrimSpace(url)
	base, _, _ := strings.Cut(url, "?")
	time.Sleep(2 * time.Second)
	fmt.Printf("RSS idle after start: %.1f MB\n", rssMB(cmd.Process.Pid))

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(*chromium), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		log.Fatal(err)
	}
	var loads, filters, dataStart, dataDur, moduleEnd []float64
	for i := 0; i < *runs; i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"?run="+fmt.Sprint(i)+"#/images")); err != nil {
			log.Fatal(err)
		}
		v, err := chromedp.Run(ctx, chromedp.Poll[float64](`document.body.dataset.view === 'images' && document.getElementById('itotals').dataset.rows === '`+fmt.Sprint(*n)+`' && Number(document.body.dataset.readyMs)`,
			chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			log.Fatal(err)
		}
		loads = append(loads, v)
		// Where the time went: the data request, and the module.
		bd, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const e = performance.getEntriesByType('resource');
			const d = e.find(x => x.name.endsWith('/berth/images')); const m = e.find(x => x.name.endsWith('/static/app.js'));
			return [d ? d.startTime : -1, d ? d.duration : -1, m ? m.responseEnd : -1]; })()`))
		if err == nil && len(bd) == 3 {
			dataStart = append(dataStart, bd[0])
			dataDur = append(dataDur, bd[1])
			moduleEnd = append(moduleEnd, bd[2])
		}
		// A keystroke in the filter re-renders the table: time it in the page.
		f, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => { const t = document.getElementById('itext'); const s = performance.now();
			t.value = 'bench/r7'; t.dispatchEvent(new Event('input')); document.body.offsetHeight; const d = performance.now() - s;
			t.value = ''; t.dispatchEvent(new Event('input')); return d; })()`))
		if err != nil {
			log.Fatal(err)
		}
		filters = append(filters, f)
	}
	fmt.Printf("images page with %d images, navigation to rendered table (ms, %d loads): %s\n", *n, *runs, stats(loads))
	fmt.Printf("filter keystroke re-render (ms): %s\n", stats(filters))
	if len(dataDur) > 0 {
		fmt.Printf("  of which: app.js loaded at %s; GET /berth/images started at %s and took %s\n", stats(moduleEnd), stats(dataStart), stats(dataDur))
	}
	fmt.Printf("RSS after the page loads: %.1f MB\n", rssMB(cmd.Process.Pid))
	cancel()
	time.Sleep(3 * time.Second)
	fmt.Printf("RSS idle after the browser left: %.1f MB\n", rssMB(cmd.Process.Pid))
}

func stats(v []float64) string {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("median %.0f, min %.0f, max %.0f", s[len(s)/2], s[0], s[len(s)-1])
}

func rssMB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

// archive is a docker-archive of n images over 50 repositories, each with its own small layer.
func archive(n int) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
	}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []entry
	for i := 0; i < n; i++ {
		var lb bytes.Buffer
		lw := tar.NewWriter(&lb)
		body := []byte(strings.Repeat(fmt.Sprintf("image %d\n", i), 1+i%50))
		lw.WriteHeader(&tar.Header{Name: fmt.Sprintf("file%d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		lw.Write(body)
		lw.Close()
		layer := lb.Bytes()
		diff := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
		cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
			"created": time.Unix(1700000000+int64(i)*60, 0).UTC().Format(time.RFC3339),
			"config":  map[string]any{"Cmd": []string{"sh"}},
			"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{diff}},
			"history": []map[string]any{{"created_by": fmt.Sprintf("ADD file%d /", i)}}})
		cfgName := fmt.Sprintf("%x.json", sha256.Sum256(cfg))
		layerName := fmt.Sprintf("%x/layer.tar", sha256.Sum256(layer))
		add(cfgName, cfg)
		add(layerName, layer)
		manifest = append(manifest, entry{cfgName, []string{fmt.Sprintf("bench/r%d:t%d", i%50, i)}, []string{layerName}})
	}
	m, _ := json.Marshal(manifest)
	add("manifest.json", m)
	tw.Close()
	return b.Bytes()
}
