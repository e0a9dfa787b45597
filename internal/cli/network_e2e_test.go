package cli

// End-to-end tests of networks: the real berth binary, real bridges, iptables rules and CNI
// plugins. Every network a test makes has a name unique to the test and a subnet the host does
// not route yet, so parallel runs never collide; bridges, rules and resolvers are removed in
// t.Cleanup even when the test fails.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-engine/berth/network"
)

// netEnv is a ctrEnv whose networks are cleaned up.
type netEnv struct {
	*ctrEnv
	prefix string // of every network name the test makes
}

func newNetEnv(t *testing.T) *netEnv {
	t.Helper()
	for _, p := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local"} {
		if _, err := os.Stat(p); err != nil {
			t.Skip("network tests need containernetworking-plugins in /usr/lib/cni")
		}
	}
	for _, bin := range []string{"iptables", "iptables-restore", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("network tests need %s (Debian: iptables, iproute2)", bin)
		}
	}
	e := &netEnv{ctrEnv: newCtrEnv(t), prefix: fmt.Sprintf("t%d%04d", os.Getpid()%100000, rand.Intn(10000))}
	// Subnets from a pool of their own, away from Docker's 172.x (the pool skips whatever the host
	// already routes, so parallel runs take different ones).
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"default-address-pools": [{"base": "10.200.0.0/14", "size": 24}]}`), 0o644)
	t.Setenv("BERTH_CONFIG", cfg)
	t.Cleanup(e.cleanupNetworks)
	return e
}

// name is a network or container name unique to this test run.
func (e *netEnv) name(s string) string { return e.prefix + "-" + s }

// cleanupNetworks removes the test's containers and then its networks; what `network rm` could not
// remove (a failing berth) goes through the network package directly.
func (e *netEnv) cleanupNetworks() {
	out, _, _ := e.run("ps", "-aq", "--no-trunc")
	for _, id := range strings.Fields(out) {
		e.run("rm", "-f", id)
	}
	out, _, _ = e.run("network", "ls", "-q", "--no-trunc", "--filter", "type=custom")
	for _, id := range strings.Fields(out) {
		raw, _, _ := e.run("network", "inspect", id)
		e.run("network", "rm", id)
		var res []network.Resource
		if json.Unmarshal([]byte(raw), &res) != nil || len(res) != 1 {
			continue
		}
		n := network.Network{ID: res[0].ID, Name: res[0].Name, Driver: "bridge", Internal: res[0].Internal,
			IPAM: res[0].IPAM.Config, Bridge: network.BridgeFor(res[0].ID, res[0].Options)}
		if _, err := net.InterfaceByName(n.Bridge); err == nil {
			e.t.Errorf("bridge %s left after network rm", n.Bridge)
			network.DeleteRules(network.Rules(n))
			network.DeleteBridge(n)
		}
	}
}

// subnet returns a /24 the host does not route, for tests that name their subnet.
func (e *netEnv) subnet() string {
	routes := network.HostRoutes()
	for i := 0; i < 1000; i++ {
		_, sn, _ := net.ParseCIDR(fmt.Sprintf("10.%d.%d.0/24", 210+rand.Intn(20), rand.Intn(256)))
		free := true
		for _, r := range routes {
			if network.Overlaps(sn, r) {
				free = false
			}
		}
		if free {
			return sn.String()
		}
	}
	e.t.Fatal("no free subnet")
	return ""
}

func TestNetworkCommands(t *testing.T) {
	e := newNetEnv(t)
	out := e.ok("network", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[0] != "NETWORK ID     NAME      DRIVER    SCOPE" ||
		!strings.HasSuffix(lines[1], "   bridge    bridge    local") || !strings.HasSuffix(lines[2], "   host      host      local") ||
		!strings.HasSuffix(lines[3], "   none      null      local") {
		t.Errorf("network ls:\n%s", out)
	}
	web, other := e.name("web"), e.name("other")
	id := strings.TrimSpace(e.ok("network", "create", web))
	if len(id) != 64 {
		t.Fatalf("create printed %q", id)
	}
	br := "br-" + id[:12]
	if _, err := net.InterfaceByName(br); err != nil {
		t.Errorf("bridge %s: %v", br, err)
	}
	// The pool's first free /24, with its first address as the gateway.
	sn := e.ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", web)
	var subnet, gw string
	fmt.Sscan(sn, &subnet, &gw)
	if _, n, err := net.ParseCIDR(subnet); err != nil || !strings.HasPrefix(subnet, "10.20") || !n.Contains(net.ParseIP(gw)) {
		t.Errorf("subnet from the pool: %q", sn)
	}
	// Docker's errors (docker 20.10, recorded), exit 1.
	mine := e.subnet()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", web}, "Error: network with name " + web + " already exists\n"},
		{[]string{"network", "create", "--subnet", subnet, other}, "Error: Pool overlaps with other one on this address space\n"},
		{[]string{"network", "create", "--subnet", "foo", other}, "Error: Invalid subnet foo : invalid CIDR address: foo\n"},
		{[]string{"network", "create", "--subnet", mine, "--gateway", "10.252.0.1", other}, "Error: no matching subnet for gateway 10.252.0.1\n"},
		{[]string{"network", "create", "--gateway", "10.252.0.1", other}, "Error: every ip-range or gateway must have a corresponding subnet\n"},
		{[]string{"network", "create", "--driver", "foo", other}, "Error: plugin \"foo\" not found\n"},
		{[]string{"network", "create", "host"}, "Error: operation is not permitted on predefined host network\n"},
		{[]string{"network", "rm", "bridge"}, "Error: bridge is a pre-defined network and cannot be removed\n"},
		{[]string{"network", "rm", other + "x", other + "y"}, "Error: No such network: " + other + "x\nError: No such network: " + other + "y\n"},
		{[]string{"network", "inspect", other}, "Error: No such network: " + other + "\n"},
		{[]string{"network", "ls", "-f", "foo=bar"}, "Error: Invalid filter 'foo'\n"},
	} {
		if _, errs, code := e.run(c.args...); code != 1 || errs != c.want {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
	if _, err := net.InterfaceByName("br-" + other); err == nil {
		t.Errorf("a failed create left a bridge")
	}
	// Every option, as inspect shows it.
	gw2 := strings.TrimSuffix(mine, "0/24") + "1"
	rng := strings.TrimSuffix(mine, "0/24") + "128/25"
	e.ok("network", "create", "--subnet", mine, "--gateway", gw2, "--ip-range", rng, "--internal", "--label", "a=b", "--attachable", other)
	got := e.ok("network", "inspect", "-f", "{{json .IPAM}} {{.Internal}} {{.Attachable}} {{json .Labels}} {{.Scope}} {{.Driver}}", other)
	want := fmt.Sprintf(`{"Driver":"default","Options":{},"Config":[{"Subnet":"%s","IPRange":"%s","Gateway":"%s"}]} true true {"a":"b"} local bridge`+"\n", mine, rng, gw2)
	if got != want {
		t.Errorf("inspect:\n%s\nwant:\n%s", got, want)
	}
	// Filters and formats.
	if out := e.ok("network", "ls", "-f", "type=custom", "-f", "name="+e.prefix, "--format", "{{.Name}} {{.Internal}} {{.Labels}}"); out != other+" true a=b\n"+web+" false \n" {
		t.Errorf("ls custom: %q", out)
	}
	if out := e.ok("network", "ls", "-f", "type=builtin", "--format", "{{.Name}}"); out != "bridge\nhost\nnone\n" {
		t.Errorf("ls builtin: %q", out)
	}
	if out := e.ok("network", "ls", "-f", "driver=null", "-q"); len(strings.TrimSpace(out)) != 12 {
		t.Errorf("ls -q driver=null: %q", out)
	}
	if out := e.ok("network", "ls", "-f", "label=a", "--format", "{{.Name}}"); out != other+"\n" {
		t.Errorf("ls label=a: %q", out)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(e.ok("network", "ls", "-f", "name="+web, "--format", "{{json .}}")), &row); err != nil ||
		row["Name"] != web || row["ID"] != id[:12] || row["Driver"] != "bridge" || row["IPv6"] != "false" || row["CreatedAt"] == "" {
		t.Errorf("ls json: %v %v", row, err)
	}
	// By ID prefix.
	if out := e.ok("network", "inspect", "-f", "{{.Name}}", id[:10]); out != web+"\n" {
		t.Errorf("inspect by prefix: %q", out)
	}
	// rm prints nothing; prune names what it removed.
	if out := e.ok("network", "rm", web); out != "" {
		t.Errorf("rm printed %q", out)
	}
	if _, err := net.InterfaceByName(br); err == nil {
		t.Errorf("bridge %s left after rm", br)
	}
	if out, _ := exec.Command("iptables", "-S", "FORWARD").Output(); strings.Contains(string(out), br) {
		t.Errorf("iptables rules of %s left after rm", br)
	}
	if out := e.ok("network", "prune", "-f"); out != "Deleted Networks:\n"+other+"\n\n" {
		t.Errorf("prune: %q", out)
	}
	if out := e.ok("network", "prune", "-f"); out != "" {
		t.Errorf("prune of nothing: %q", out)
	}
}
