package cli

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// The state database's WAL stays bounded however many berth processes write (issue 11): each
// process's first connection recovers the WAL with nothing marked as checkpointed, so without
// berth's own TRUNCATE checkpoint it grew by every write (72 MB after 1,000 imports). 10,000
// write processes, four at a time: 100 imports, 20 `run --rm`, and tag/rmi pairs for the rest
// (cheap processes, so the test takes minutes, not tens of them, on two cores).
func TestStateWALBoundedOverManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 berth processes; skipped with -short")
	}
	e := newCtrEnv(t)
	const total, imports, runs, workers = 10000, 100, 20, 4
	const limit = 8 << 20
	wal := filepath.Join(e.root, "state.db-wal")
	var maxWAL atomic.Int64
	sample := func() {
		if st, err := os.Stat(wal); err == nil {
			for {
				m := maxWAL.Load()
				if st.Size() <= m || maxWAL.CompareAndSwap(m, st.Size()) {
					break
				}
			}
		}
	}
	// A unit of work is one process (an import, a run) or a pair (tag a name, then rmi it).
	type job struct {
		stdin string
		args  []string
	}
	units := imports + runs + (total-imports-runs)/2
	unit := func(u int) []job {
		switch {
		case u < imports:
			return []job{{tinyRootfs(t, u), []string{"import", "-", fmt.Sprintf("imp:%d", u)}}}
		case u < imports+runs:
			return []job{{"", []string{"run", "--rm", "--network", "none", "bb:1", "true"}}}
		}
		name := fmt.Sprintf("churn:%d", u)
		return []job{{"", []string{"tag", "bb:1", name}}, {"", []string{"rmi", name}}}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Bool
	var mu sync.Mutex
	var firstErr string
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				u := int(next.Add(1)) - 1
				if u >= units {
					return
				}
				for _, j := range unit(u) {
					out, errs, code := e.runIn(j.stdin, j.args...)
					if code != 0 {
						mu.Lock()
						if firstErr == "" {
							firstErr = fmt.Sprintf("berth %s: exit %d: %s%s", strings.Join(j.args, " "), code, out, errs)
						}
						mu.Unlock()
						failed.Store(true)
						return
					}
				}
				if u%25 == 0 {
					sample()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != "" {
		t.Fatal(firstErr)
	}
	sample()
	t.Logf("largest WAL seen over %d write processes: %d bytes", total, maxWAL.Load())
	if m := maxWAL.Load(); m >= limit {
		t.Errorf("WAL reached %d bytes over %d write processes, want under %d", m, total, limit)
	}
	// Everything written is there: the imports, no churn names, no containers.
	if out := e.ok("images", "--format", "{{.Repository}}", "--filter", "reference=imp"); strings.Count(out, "imp\n") != imports {
		t.Errorf("%d imp images listed, want %d", strings.Count(out, "imp\n"), imports)
	}
	if out := e.ok("images", "--format", "{{.Repository}}", "--filter", "reference=churn"); out != "" {
		t.Errorf("churn names left: %q", out)
	}
	if out := e.ok("ps", "-aq"); out != "" {
		t.Errorf("containers left after run --rm: %q", out)
	}
}

// tinyRootfs is a one-file rootfs tarball whose content is unique to i.
func tinyRootfs(t *testing.T, i int) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := fmt.Sprintf("image %d\n", i)
	if err := tw.WriteHeader(&tar.Header{Name: "id", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	return buf.String()
}
