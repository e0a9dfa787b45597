package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// noisyTar is a rootfs of about mb megabytes that gzip cannot shrink (a few big pseudo-random files)
// plus some small text files; seed makes it distinct.
func noisyTar(t testing.TB, seed uint64, mb int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var entries []entry
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j+8 <= len(b); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				b[j+k] = byte(v >> (8 * k))
			}
		}
		entries = append(entries, entry{name: fmt.Sprintf("big/%03d.bin", i), body: string(b)})
	}
	for i := 0; i < 50; i++ {
		entries = append(entries, entry{name: fmt.Sprintf("etc/file%02d.conf", i), body: fmt.Sprintf("seed=%d line=%d\n", seed, i)})
	}
	return makeTar(t, entries...)
}

// checkNoOrphans verifies that everything on disk is needed by a recorded image and that every
// recorded image is whole: ingest/ empty, no staged layer directories, layers/ exactly the images'
// chain IDs, blobs/sha256 exactly their configs, manifests and layer blobs.
func (e *env) checkNoOrphans() {
	e.t.Helper()
	ids := lines(e.ok("images", "-a", "-q", "--no-trunc"))
	images := map[string]bool{}
	layers := map[string]bool{}
	for _, id := range ids {
		if images[id] {
			continue
		}
		images[id] = true
		ls := strings.Fields(e.ok("inspect", "--format", `{{range .RootFS.Layers}}{{.}} {{end}}`, id))
		if len(ls) != 1 {
			e.t.Fatalf("image %s has %d layers; these tests make one-layer images", id, len(ls))
		}
		layers[strings.TrimPrefix(ls[0], "sha256:")] = true // one layer: chain ID = diff ID
		e.ok("history", "-q", id)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.root, "ingest")); len(ents) != 0 {
		e.t.Errorf("ingest/ holds %d leftovers", len(ents))
	}
	ents, err := os.ReadDir(filepath.Join(e.root, "layers"))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range ents {
		if !layers[en.Name()] {
			e.t.Errorf("layers/%s belongs to no image", en.Name())
		}
		delete(layers, en.Name())
	}
	for l := range layers {
		e.t.Errorf("layer %s of a recorded image is not unpacked", l)
	}
	// Blobs: configs are the image IDs; manifests are the small JSON blobs naming a config; layer
	// blobs are what those manifests list.
	dir := filepath.Join(e.root, "blobs", "sha256")
	ents, err = os.ReadDir(dir)
	if err != nil {
		e.t.Fatal(err)
	}
	blobs := map[string]bool{}
	for _, en := range ents {
		blobs["sha256:"+en.Name()] = true
	}
	needed := map[string]bool{}
	manifests := map[string]bool{}
	for b := range blobs {
		fi, err := os.Stat(filepath.Join(dir, strings.TrimPrefix(b, "sha256:")))
		if err != nil || fi.Size() > 1<<16 {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(b, "sha256:")))
		var m struct {
			Config struct{ Digest string }
			Layers []struct{ Digest string }
		}
		if json.Unmarshal(raw, &m) != nil || !images[m.Config.Digest] {
			continue
		}
		needed[b], needed[m.Config.Digest] = true, true
		manifests[m.Config.Digest] = true
		for _, l := range m.Layers {
			needed[l.Digest] = true
		}
	}
	for id := range images {
		if !manifests[id] {
			e.t.Errorf("image %s has no manifest blob", id)
		}
	}
	for b := range needed {
		if !blobs[b] {
			e.t.Errorf("blob %s needed by an image is missing", b)
		}
	}
	for b := range blobs {
		if !needed[b] {
			e.t.Errorf("blob %s is needed by no image (orphan)", b)
		}
	}
}

// TestKillDuringImport kills `berth import` with SIGKILL at random moments while a ~50 MB rootfs
// streams in through a pipe. The store must stay readable after every kill, and `system prune -f`
// must leave nothing but what the recorded images need.
func TestKillDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: -short")
	}
	e := newEnv(t)
	e.importNamed(fileTar(t, "keep", "keep\n"), "keep:1")
	data := noisyTar(t, 1, 48)
	const chunk = 256 << 10
	chunks := (len(data) + chunk - 1) / chunk
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	killed, completed := 0, 0
	for round := 0; round < 10; round++ {
		cmd := e.command(nil, "import", "-", fmt.Sprintf("killme:%d", round))
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Rounds 0-6 feed about 1.2 s of input and kill somewhere in it (mid-write); rounds 7-9
		// feed at full speed and kill within 0.6 s, so some kills land in the final blob renames
		// and the database commit.
		pause := 6 * time.Millisecond
		delay := time.Duration(rng.IntN(1500)) * time.Millisecond
		if round >= 7 {
			pause, delay = 0, time.Duration(rng.IntN(600))*time.Millisecond
		}
		go func() {
			defer in.Close()
			for i := 0; i < chunks; i++ {
				end := min((i+1)*chunk, len(data))
				if _, err := in.Write(data[i*chunk : end]); err != nil {
					return
				}
				time.Sleep(pause)
			}
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: import failed before the kill: %v\n%s", round, err, stderr.String())
			}
			completed++
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err == nil {
				completed++
			} else {
				killed++
			}
		}
		r := e.run("images")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("round %d: images after kill -9 at %v: %s", round, delay, r)
		}
	}
	t.Logf("%d imports killed, %d completed", killed, completed)
	if killed < 5 {
		t.Errorf("only %d imports were killed mid-way; the test proves little", killed)
	}
	if r := e.run("system", "prune", "-f"); r.code != 0 || r.stderr != "" {
		t.Fatalf("system prune -f: %s", r)
	}
	e.checkNoOrphans()
	if !strings.Contains(e.names(), "keep:1") {
		t.Errorf("keep:1 is gone: %s", e.names())
	}
}

// TestConcurrentImports runs two imports at once, several rounds, with `berth images` and `berth
// tag` looping beside them: nobody sees an error and every import is recorded.
func TestConcurrentImports(t *testing.T) {
	e := newEnv(t)
	const rounds = 5
	inputs := make([][]byte, 2*rounds)
	for i := range inputs {
		inputs[i] = noisyTar(t, uint64(100+i), 2)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(r result) {
		mu.Lock()
		failures = append(failures, r.String())
		mu.Unlock()
	}
	listings := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, args := range [][]string{{"images"}, {"images", "-a", "--format", "json"}, {"system", "df"}} {
				if r := e.run(args...); r.code != 0 || r.stderr != "" {
					fail(r)
				}
			}
			listings++
		}
	}()
	for round := 0; round < rounds; round++ {
		var iw sync.WaitGroup
		for j := 0; j < 2; j++ {
			iw.Add(1)
			go func(n int) {
				defer iw.Done()
				ref := fmt.Sprintf("conc-%d:%d", n%2, n)
				if r := e.runIn(bytes.NewReader(inputs[n]), "import", "-", ref); r.code != 0 || r.stderr != "" {
					fail(r)
					return
				}
				if r := e.run("tag", ref, fmt.Sprintf("alias:%d", n)); r.code != 0 || r.stderr != "" {
					fail(r)
				}
			}(2*round + j)
		}
		iw.Wait()
	}
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Errorf("a concurrent command failed: %s", f)
	}
	got := lines(e.ok("images", "--format", "{{.Repository}}:{{.Tag}}"))
	if len(got) != 4*rounds {
		t.Errorf("%d names recorded, want %d: %v", len(got), 4*rounds, got)
	}
	t.Logf("%d listing rounds ran beside the imports", listings)
	e.checkNoOrphans()
}

// TestPruneBesideImports: `system prune -f` (garbage collection) running beside imports must not
// delete the blobs and layers an import has written but not yet recorded.
func TestPruneBesideImports(t *testing.T) {
	e := newEnv(t)
	const n = 6
	inputs := make([][]byte, n)
	for i := range inputs {
		inputs[i] = noisyTar(t, uint64(200+i), 3)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := e.run("system", "prune", "-f"); r.code != 0 || r.stderr != "" {
				mu.Lock()
				failures = append(failures, r.String())
				mu.Unlock()
			}
		}
	}()
	for i := 0; i < n; i++ {
		if r := e.runIn(bytes.NewReader(inputs[i]), "import", "-", fmt.Sprintf("gc:%d", i)); r.code != 0 || r.stderr != "" {
			failures = append(failures, r.String())
		}
	}
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Errorf("failed: %s", f)
	}
	if got := len(lines(e.ok("images", "-q"))); got != n {
		t.Errorf("%d images, want %d", got, n)
	}
	e.checkNoOrphans()
}

// TestNoLockDuringLongImport: an import streaming a big input holds no database transaction or lock
// that other commands wait for (DESIGN.md: only the final record is one short transaction). Listing,
// inspecting, tagging, removing and a second import all finish while the slow import still runs.
func TestNoLockDuringLongImport(t *testing.T) {
	e := newEnv(t)
	e.importNamed(fileTar(t, "a", "a"), "base:1")
	e.importNamed(fileTar(t, "b", "b"), "victim:1")
	data := noisyTar(t, 42, 8)
	cmd := e.command(nil, "import", "-", "slow:1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() }) // never leave it waiting for input
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Half the input, then hold the rest back until the other commands are done.
	if _, err := in.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	for _, args := range [][]string{
		{"images"}, {"inspect", "base:1"}, {"tag", "base:1", "base:2"}, {"rmi", "victim:1"},
		{"history", "base:2"}, {"system", "df"},
	} {
		start := time.Now()
		if r := e.run(args...); r.code != 0 || r.stderr != "" {
			t.Errorf("beside a running import: %s", r)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("berth %v took %v beside a running import", args, d)
		}
	}
	e.importNamed(fileTar(t, "c", "c"), "second:1")
	select {
	case err := <-done:
		t.Fatalf("the slow import ended early (%v): %s", err, stderr.String())
	default:
	}
	in.Write(data[len(data)/2:])
	in.Close()
	if err := <-done; err != nil {
		t.Fatalf("slow import: %v\n%s", err, stderr.String())
	}
	if got, want := strings.Join(sortedCopy(strings.Fields(e.names())), " "), "base:1 base:2 second:1 slow:1"; got != want {
		t.Errorf("names: %s, want %s", got, want)
	}
	// The rmi ran beside a writer, so it left its files for the next collection (Store.release).
	e.ok("system", "prune", "-f")
	e.checkNoOrphans()
}
