package network

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The default bridge's rules are the host's: the first containers of several roots at once add
// each rule once, not once per root (EnsureDefaultRules holds the host lock while it checks and
// adds). A bridge name of the test's own keeps the host's real rules out of it.
func TestEnsureDefaultRulesOncePerHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (iptables)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables (Debian: iptables)")
	}
	n := Network{Name: BridgeName, Driver: "bridge", Bridge: "bttestdef0", IPAM: []IPAMConfig{{Subnet: "10.251.77.0/24"}}}
	rules := Rules(n)
	if len(rules) == 0 {
		t.Fatal("no rules for the test network")
	}
	t.Cleanup(func() {
		// Every copy, should the test fail with more than one.
		for _, r := range rules {
			args := append([]string{"-w", "-t", r.Table, "-D", r.Chain}, r.Spec...)
			for i := 0; i < 20 && exec.Command("iptables", args...).Run() == nil; i++ {
			}
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		d := Driver{Root: t.TempDir()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.EnsureDefaultRules(n)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	count := 0
	for _, table := range []string{"filter", "nat"} {
		out, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			t.Fatal(err)
		}
		count += strings.Count(string(out), "bttestdef0")
	}
	if count != len(rules) {
		t.Errorf("%d rules name the bridge after 6 roots' first containers, want %d (each once)", count, len(rules))
	}
}
