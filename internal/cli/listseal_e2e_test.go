package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// `berth images` reads a sealed listing without opening the database (metadata/listcache.go);
// it must never show a listing older than a write that has finished. Tag and rmi processes
// run beside listing processes; every listing must hold each name whose tag had ended before
// the listing began, and none whose rmi had.
func TestSealedListingNeverLagsAWrite(t *testing.T) {
	e := newCtrEnv(t)
	const names, writers, listers = 24, 2, 2
	var mu sync.Mutex
	// removing: its rmi has begun (a listing may rightly lack it from then on); removed: ended.
	tagged, removing, removed := map[string]bool{}, map[string]bool{}, map[string]bool{}
	snapshot := func() (map[string]bool, map[string]bool) {
		mu.Lock()
		defer mu.Unlock()
		a, b := map[string]bool{}, map[string]bool{}
		for k := range tagged {
			a[k] = true
		}
		for k := range removed {
			b[k] = true
		}
		return a, b
	}
	var wg, lw sync.WaitGroup
	done := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < names; i += writers {
				name := fmt.Sprintf("seal:%d", i)
				if _, errs, code := e.run("tag", "bb:1", name); code != 0 {
					t.Errorf("tag %s: %d %s", name, code, errs)
					return
				}
				mu.Lock()
				tagged[name] = true
				mu.Unlock()
				if i%3 == 0 {
					mu.Lock()
					removing[name] = true
					mu.Unlock()
					if _, errs, code := e.run("rmi", name); code != 0 {
						t.Errorf("rmi %s: %d %s", name, code, errs)
						return
					}
					mu.Lock()
					removed[name] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	lists := 0
	for l := 0; l < listers; l++ {
		lw.Add(1)
		go func() {
			defer lw.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				mustHave, mustNot := snapshot()
				out, errs, code := e.run("images", "--format", "{{.Repository}}:{{.Tag}}")
				if code != 0 {
					t.Errorf("images: %d %s", code, errs)
					return
				}
				seen := map[string]bool{}
				for _, l := range strings.Fields(out) {
					seen[l] = true
				}
				for n := range mustHave {
					if !seen[n] && !mustNot[n] && !removedSince(&mu, removing, n) {
						t.Errorf("a listing begun after `tag %s` had ended lacks it:\n%s", n, out)
					}
				}
				for n := range mustNot {
					if seen[n] {
						t.Errorf("a listing begun after `rmi %s` had ended shows it:\n%s", n, out)
					}
				}
				mu.Lock()
				lists++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(done)
	lw.Wait()
	if lists == 0 {
		t.Fatal("no listing ran beside the writers")
	}
	// And once all is written: the sealed listing, then what the rows say (the cache removed).
	final := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
	cache := filepath.Join(e.root, "state.db.listcache")
	if err := os.Remove(cache); err != nil {
		t.Errorf("no listing cache after listings: %v", err)
	}
	if rows := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}"); rows != final {
		t.Errorf("sealed listing:\n%s\nthe rows:\n%s", final, rows)
	}
	var want []string
	for i := names - 1; i >= 0; i-- {
		if i%3 != 0 {
			want = append(want, fmt.Sprintf("seal:%d", i))
		}
	}
	got := strings.Fields(final)
	if len(got) != len(want)+1 {
		t.Errorf("final listing:\n%s\nwant %d seal names and bb:1", final, len(want))
	}
	for _, n := range want {
		if !strings.Contains("\n"+final, "\n"+n+"\n") {
			t.Errorf("final listing lacks %s:\n%s", n, final)
		}
	}
}

// removedSince says whether n's rmi has begun by now (a listing may rightly lack a name whose
// rmi ran while it listed).
func removedSince(mu *sync.Mutex, removed map[string]bool, n string) bool {
	mu.Lock()
	defer mu.Unlock()
	return removed[n]
}
