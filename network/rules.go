package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Rule is one iptables rule: a table, a chain and the match and target.
type Rule struct {
	Table, Chain string
	Spec         []string
}

// Rules are the host-wide iptables rules a bridge network needs, in order of precedence: its
// traffic through a FORWARD chain whose policy may be DROP, masquerade for what leaves it (unless
// internal), and isolation from the other bridges, as Docker's isolation chains do.
func Rules(n Network) []Rule {
	sn := n.Subnet()
	if n.Driver != "bridge" || sn == nil {
		return nil
	}
	br := n.Bridge
	fwd := func(spec ...string) Rule { return Rule{"filter", "FORWARD", spec} }
	var rules []Rule
	if n.UserDefined() {
		rules = append(rules, fwd("-i", br, "-o", br, "-j", "ACCEPT"))
		if n.Internal {
			// No way in or out but to the network's own members.
			return append(rules, fwd("-i", br, "-j", "DROP"), fwd("-o", br, "-j", "DROP"))
		}
		rules = append(rules,
			fwd("-i", br, "-o", "br-+", "-j", "DROP"),
			fwd("-i", br, "-o", DefaultBridge, "-j", "DROP"),
			fwd("-i", DefaultBridge, "-o", br, "-j", "DROP"))
	}
	return append(rules,
		fwd("-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
		fwd("-i", br, "-j", "ACCEPT"),
		Rule{"nat", "POSTROUTING", []string{"-s", sn.String(), "!", "-o", br, "-j", "MASQUERADE"}})
}

// restoreInput is the rules as one iptables-restore --noflush input that puts them at the top
// of their chains (ahead of rules that would drop the traffic, such as Docker's), in order.
func restoreInput(rules []Rule) []byte {
	var b bytes.Buffer
	for _, table := range []string{"filter", "nat"} {
		var lines []string
		for _, r := range rules {
			if r.Table != table {
				continue
			}
			lines = append(lines, fmt.Sprintf("-I %s %d %s", r.Chain, len(lines)+1, strings.Join(r.Spec, " ")))
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s\n%s\nCOMMIT\n", table, strings.Join(lines, "\n"))
	}
	return b.Bytes()
}

// AddRules installs rules in one iptables-restore run (all or none), and turns IPv4 forwarding
// on, without which no NAT to the outside happens.
func AddRules(rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	cmd := exec.Command("iptables-restore", "--noflush", "-w")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // as the CNI plugins (cni.go)
	cmd.Stdin = bytes.NewReader(restoreInput(rules))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bridge network: iptables-restore: %v: %s", err, strings.TrimSpace(string(out)))
	}
	os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	return nil
}

// DeleteRules removes rules; missing ones are no error. berth adds a rule only where it is
// absent (a new network's bridge name is new, EnsureBridge deletes before it adds,
// EnsureDefaultRules adds the missing ones), so each is there at most once: one iptables-restore
// deletes them all (all or none), one process where a second run to find none left cost a
// process more on every network rm. When some are missing (someone deleted them, or a failed
// create), the rest are deleted one by one, each as often as it is there.
func DeleteRules(rules []Rule) {
	if len(rules) == 0 {
		return
	}
	var b bytes.Buffer
	for _, table := range []string{"filter", "nat"} {
		var lines []string
		for _, r := range rules {
			if r.Table == table {
				lines = append(lines, fmt.Sprintf("-D %s %s", r.Chain, strings.Join(r.Spec, " ")))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "*%s\n%s\nCOMMIT\n", table, strings.Join(lines, "\n"))
		}
	}
	cmd := exec.Command("iptables-restore", "--noflush", "-w")
	cmd.Stdin = bytes.NewReader(b.Bytes())
	if cmd.Run() == nil {
		return
	}
	for _, r := range rules {
		args := append([]string{"-w", "-t", r.Table, "-D", r.Chain}, r.Spec...)
		for i := 0; i < 8 && exec.Command("iptables", args...).Run() == nil; i++ {
		}
	}
}

// hasRule reports whether a rule is in place.
func hasRule(r Rule) bool {
	args := append([]string{"-w", "-t", r.Table, "-C", r.Chain}, r.Spec...)
	return exec.Command("iptables", args...).Run() == nil
}

// defaultMarker says the default bridge's rules are in place for this boot.
func (d Driver) defaultMarker() string { return filepath.Join(d.Root, "network", "host-rules") }

// EnsureDefaultRules installs the default bridge's rules once per boot: a marker file holding
// the boot ID says they are in place, so containers after the first run no iptables.
func (d Driver) EnsureDefaultRules(n Network) error {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	marker := d.defaultMarker()
	if b, err := os.ReadFile(marker); err == nil && len(boot) > 0 && bytes.Equal(b, boot) {
		return nil
	}
	// The rules are the host's, shared by every root: the first container of several roots at
	// once would each find them missing and add them (5 copies were seen on a test host).
	unlock, err := hostLock(d.Root)
	if err != nil {
		return err
	}
	defer unlock()
	var missing []Rule
	for _, r := range Rules(n) {
		if !hasRule(r) {
			missing = append(missing, r)
		}
	}
	if err := AddRules(missing); err != nil {
		return err
	}
	os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
		return err
	}
	return os.WriteFile(marker, boot, 0o600)
}

// RemoveDefaultRules undoes EnsureDefaultRules (for tests and uninstalling).
func (d Driver) RemoveDefaultRules(n Network) {
	DeleteRules(Rules(n))
	os.Remove(d.defaultMarker())
}
