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
	for _, bin := range []string{"iptables", "iptables-restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("network tests need %s (Debian: iptables)", bin)
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
	// system prune takes unused networks too (Docker's warning names them).
	e.ok("network", "create", web)
	if out, _, _ := e.runIn("n\n", "system", "prune"); !strings.Contains(out, "  - all stopped containers\n  - all networks not used by at least one container\n") {
		t.Errorf("system prune warning: %q", out)
	}
	if out := e.ok("system", "prune", "-f"); !strings.HasPrefix(out, "Deleted Networks:\n"+web+"\n\n") {
		t.Errorf("system prune: %q", out)
	}
}

// nslookup runs busybox's nslookup (which asks the resolver in resolv.conf, never /etc/hosts) in a
// container and returns the addresses it printed for the name, and its exit code.
func (e *netEnv) nslookup(ctr, name string) ([]string, int) {
	out, _, code := e.run("exec", ctr, "nslookup", name)
	var addrs []string
	for _, line := range strings.Split(out, "\n") {
		if a, ok := strings.CutPrefix(line, "Address: "); ok {
			addrs = append(addrs, strings.TrimSpace(a))
		}
	}
	return addrs, code
}

func TestNetworkNameResolution(t *testing.T) {
	e := newNetEnv(t)
	app, other := e.name("app"), e.name("other")
	e.ok("network", "create", app)
	e.ok("network", "create", other)
	web1, web2, db, outsider := e.name("web1"), e.name("web2"), e.name("db"), e.name("outsider")
	e.ok("run", "-d", "--name", web1, "--network", app, "--network-alias", "svc", "bb:1", "sleep", "300")
	e.ok("run", "-d", "--name", web2, "--network", app, "--network-alias", "svc", "bb:1", "sleep", "300")
	e.ok("run", "-d", "--name", outsider, "--network", other, "bb:1", "sleep", "300")
	ip1 := e.inspect(web1, "{{(index .NetworkSettings.Networks \""+app+"\").IPAddress}}")
	ip2 := e.inspect(web2, "{{(index .NetworkSettings.Networks \""+app+"\").IPAddress}}")
	if net.ParseIP(ip1) == nil || net.ParseIP(ip2) == nil || ip1 == ip2 {
		t.Fatalf("addresses %q %q", ip1, ip2)
	}
	// Docker's resolv.conf on a user-defined network.
	if rc := e.ok("exec", web1, "cat", "/etc/resolv.conf"); !strings.Contains(rc, "nameserver 127.0.0.11\n") || !strings.Contains(rc, "ndots:0") ||
		strings.Count(rc, "nameserver") != 1 {
		t.Errorf("resolv.conf:\n%s", rc)
	}
	// By name, alias, NAME.NETWORK and short ID; two containers behind one alias give two records.
	short2 := e.inspect(web2, "{{.Id}}")[:12]
	for name, want := range map[string][]string{web2: {ip2}, web2 + "." + app: {ip2}, short2: {ip2}, web1: {ip1}, "svc." + app: {ip1, ip2}} {
		got, code := e.nslookup(web1, name)
		sortStrings(got)
		sortStrings(want)
		if code != 0 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("nslookup %s: %v (exit %d), want %v", name, got, code, want)
		}
	}
	if got, _ := e.nslookup(web1, "svc"); len(got) != 2 {
		t.Errorf("svc: %v, want two A records", got)
	}
	// A container on another network resolves none of them.
	for _, name := range []string{web1, "svc", web2 + "." + app} {
		if got, code := e.nslookup(outsider, name); code == 0 || len(got) != 0 {
			t.Errorf("%s resolved from another network: %v", name, got)
		}
	}
	// Containers behind the alias are reachable by it.
	if out, errs, code := e.run("exec", web1, "ping", "-c", "1", "-W", "3", web2); code != 0 {
		t.Errorf("ping %s: %d %s %s", web2, code, out, errs)
	}
	// A container on the network that starts later is found; one that stops is no longer.
	e.ok("run", "-d", "--name", db, "--network", app, "bb:1", "sleep", "300")
	if got, code := e.nslookup(web1, db); code != 0 || len(got) != 1 {
		t.Errorf("%s after its start: %v", db, got)
	}
	e.ok("rm", "-f", db)
	if got, code := e.nslookup(web1, db); code == 0 || len(got) != 0 {
		t.Errorf("%s after rm: %v", db, got)
	}
	// A running container joins a network and leaves it: its names follow.
	e.ok("network", "connect", "--alias", "bridgehead", other, web1)
	if got, code := e.nslookup(outsider, "bridgehead"); code != 0 || len(got) != 1 {
		t.Errorf("alias after connect: %v %d", got, code)
	}
	if out := e.ok("exec", web1, "ls", "/sys/class/net"); out != "eth0\neth1\nlo\n" {
		t.Errorf("interfaces after connect: %q", out)
	}
	if _, errs, code := e.run("network", "connect", other, web1); code != 1 || errs != "Error: endpoint with name "+web1+" already exists in network "+other+"\n" {
		t.Errorf("connect twice: %d %q", code, errs)
	}
	// The network in use cannot go (Docker's error).
	otherID := strings.TrimSpace(e.ok("network", "inspect", "-f", "{{.Id}}", other))
	if _, errs, code := e.run("network", "rm", other); code != 1 ||
		errs != "Error: error while removing network: network "+other+" id "+otherID+" has active endpoints\n" {
		t.Errorf("rm in use: %d %q", code, errs)
	}
	e.ok("network", "disconnect", other, web1)
	if out := e.ok("exec", web1, "ls", "/sys/class/net"); out != "eth0\nlo\n" {
		t.Errorf("interfaces after disconnect: %q", out)
	}
	if got, code := e.nslookup(outsider, "bridgehead"); code == 0 || len(got) != 0 {
		t.Errorf("alias after disconnect: %v", got)
	}
	webID := e.inspect(web1, "{{.Id}}")
	if _, errs, code := e.run("network", "disconnect", other, web1); code != 1 || errs != "Error: container "+webID+" is not connected to network "+other+"\n" {
		t.Errorf("disconnect twice: %d %q", code, errs)
	}
	// Other names go to the host's resolvers: the answer comes from upstream, not ours.
	if out, _, _ := e.run("exec", web1, "nslookup", "localhost."); !strings.Contains(out, "127.0.0.11") {
		t.Errorf("forwarded lookup did not go through the embedded resolver: %q", out)
	}
	// inspect's NetworkSettings.Networks has Docker's keys.
	var ns struct{ Networks map[string]map[string]any }
	if err := json.Unmarshal([]byte(e.inspect(web1, "{{json .NetworkSettings}}")), &ns); err != nil {
		t.Fatal(err)
	}
	ep := ns.Networks[app]
	for _, k := range []string{"IPAMConfig", "Links", "Aliases", "NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen",
		"IPv6Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "MacAddress", "DriverOpts"} {
		if _, ok := ep[k]; !ok {
			t.Errorf("NetworkSettings.Networks[%s] has no %s: %v", app, k, ep)
		}
	}
	if al := fmt.Sprint(ep["Aliases"]); al != "[svc "+webID[:12]+"]" {
		t.Errorf("Aliases = %s", al)
	}
	if len(ns.Networks) != 1 {
		t.Errorf("networks after disconnect: %v", ns.Networks)
	}
	// Stopping the containers takes their endpoints away: the network can go.
	e.ok("rm", "-f", web1, web2, outsider)
	e.ok("network", "rm", app, other)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestNetworkRunOptions(t *testing.T) {
	e := newNetEnv(t)
	fixed, sn := e.name("fixed"), e.subnet()
	e.ok("network", "create", "--subnet", sn, fixed)
	auto := e.name("auto")
	e.ok("network", "create", auto)
	ip := strings.TrimSuffix(sn, "0/24") + "77"
	// --ip on a subnet the user chose; several networks give eth0, eth1 with the default route
	// on the first.
	out := e.ok("run", "--rm", "--network", fixed, "--ip", ip, "--network", auto, "bb:1", "sh", "-c", "ip -4 -o addr show eth0; ls /sys/class/net; ip route show default")
	if !strings.Contains(out, "inet "+ip+"/24") || !strings.Contains(out, "eth0\neth1\nlo\n") || !strings.Contains(out, "dev eth0") {
		t.Errorf("--ip and two networks:\n%s", out)
	}
	// Docker's errors, exit 125.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--network", auto, "--ip", "10.1.1.1"}, "user specified IP address is supported only when connecting to networks with user configured subnets"},
		{[]string{"--network", e.name("nosuch")}, "network " + e.name("nosuch") + " not found"},
		{[]string{"--network", "container:" + e.name("nosuch")}, "No such container: " + e.name("nosuch")},
		{[]string{"--add-host", "foo"}, `invalid argument "foo" for "--add-host" flag: bad format for add-host: "foo"`},
		{[]string{"--add-host", "foo:bar"}, `invalid argument "foo:bar" for "--add-host" flag: invalid IP address in add-host: "bar"`},
	} {
		args := append(append([]string{"run", "--rm"}, c.args...), "bb:1", "true")
		if _, errs, code := e.run(args...); code != 125 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q, want %q", c.args, code, errs, c.want)
		}
	}
	// --dns* on the default bridge write resolv.conf as Docker does; host-gateway is the default
	// bridge's gateway.
	out = e.ok("run", "--rm", "--add-host", "hgw:host-gateway", "--add-host", "bar:1.2.3.4", "--dns", "1.1.1.1", "--dns-search", "example.com",
		"--dns-option", "ndots:2", "bb:1", "cat", "/etc/resolv.conf", "/etc/hosts")
	if !strings.HasPrefix(out, "search example.com\nnameserver 1.1.1.1\noptions ndots:2\n") || !strings.Contains(out, "10.89.0.1\thgw\n1.2.3.4\tbar\n") {
		t.Errorf("--dns and --add-host:\n%s", out)
	}
	// On a user-defined network the nameserver stays the embedded one.
	out = e.ok("run", "--rm", "--network", auto, "--dns", "1.1.1.1", "--dns-search", "example.com", "--dns-option", "ndots:2", "bb:1", "cat", "/etc/resolv.conf")
	if out != "search example.com\nnameserver 127.0.0.11\noptions ndots:2\n" {
		t.Errorf("--dns on a user network:\n%s", out)
	}
	// --network container:NAME shares the other's namespace, hostname and files.
	owner := e.name("owner")
	e.ok("run", "-d", "--name", owner, "--network", auto, "bb:1", "sleep", "300")
	ownerIP := e.inspect(owner, "{{(index .NetworkSettings.Networks \""+auto+"\").IPAddress}}")
	out = e.ok("run", "--rm", "--network", "container:"+owner, "bb:1", "sh", "-c", "hostname; ip -4 -o addr show eth0; nslookup "+owner)
	if !strings.HasPrefix(out, e.inspect(owner, "{{.Id}}")[:12]+"\n") || !strings.Contains(out, "inet "+ownerIP+"/") || !strings.Contains(out, "Address: "+ownerIP) {
		t.Errorf("--network container:\n%s", out)
	}
	if _, errs, code := e.run("run", "--rm", "--network", "container:"+owner, "-p", "80", "bb:1", "true"); code != 125 ||
		!strings.Contains(errs, "conflicting options: port publishing and the container type network mode") {
		t.Errorf("container: with -p: %d %q", code, errs)
	}
	// An internal network reaches nothing but its members; user networks do not reach each other.
	inner, member := e.name("inner"), e.name("member")
	e.ok("network", "create", "--internal", inner)
	e.ok("run", "-d", "--name", member, "--network", inner, "bb:1", "sleep", "300")
	memberIP := e.inspect(member, "{{(index .NetworkSettings.Networks \""+inner+"\").IPAddress}}")
	if _, errs, code := e.run("run", "--rm", "--network", inner, "bb:1", "ping", "-c", "1", "-W", "3", memberIP); code != 0 {
		t.Errorf("ping within an internal network: %d %s", code, errs)
	}
	if _, _, code := e.run("run", "--rm", "--network", inner, "bb:1", "ping", "-c", "1", "-W", "2", "10.89.0.1"); code == 0 {
		t.Errorf("an internal network reaches the default bridge's gateway")
	}
	if _, _, code := e.run("run", "--rm", "--network", auto, "bb:1", "ping", "-c", "1", "-W", "2", memberIP); code == 0 {
		t.Errorf("one user network reaches another's container")
	}
	// ps shows and filters by network.
	if out := e.ok("ps", "--filter", "network="+auto, "--format", "{{.Names}} {{.Networks}}"); out != owner+" "+auto+"\n" {
		t.Errorf("ps network: %q", out)
	}
}

// build --shm-size sizes the RUN steps' /dev/shm, and --network NAME puts them on a
// user-defined network, resolving its containers by name (the classic builder's options, the
// Engine API's shmsize and networkmode); a network that does not exist fails the step.
func TestNetworkBuildShmSizeAndUserNetwork(t *testing.T) {
	e := newNetEnv(t)
	netName := e.name("build")
	e.ok("network", "create", netName)
	e.ok("run", "-d", "--name", e.name("target"), "--network", netName, "--network-alias", "target.test", "bb:1", "sleep", "300")
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:1\n"+
		"RUN test \"$(df -k /dev/shm | tail -1 | awk '{print $2}')\" = 131072 && ping -c1 -W5 target.test\n"), 0o644)
	e.ok("build", "-q", "--shm-size", "128m", "--network", netName, ctx)
	if _, errs, code := e.run("build", "-q", "--no-cache", "--network", e.name("nosuch"), ctx); code == 0 || !strings.Contains(errs, "network "+e.name("nosuch")+" not found") {
		t.Errorf("build on a missing network: %d %s", code, errs)
	}
}

// TestStopThenAtOnce: stop returns once the exit is recorded while the shim still unmounts the
// rootfs and releases the network (with a published port, the slowest teardown); a start, rm or
// network rm straight after it must wait for that teardown rather than race with it.
func TestStopThenAtOnce(t *testing.T) {
	e := newNetEnv(t)
	app, c := e.name("app"), e.name("c")
	e.ok("network", "create", app)
	e.ok("run", "-d", "--name", c, "--network", app, "-p", "127.0.0.1::80", "bb:1", "sleep", "300")
	for i := 0; i < 3; i++ {
		e.ok("stop", "-t", "0", c)
		if got := e.ok("inspect", "-f", "{{.State.Status}}", c); strings.TrimSpace(got) != "exited" {
			t.Fatalf("after stop: %s", got)
		}
		e.ok("start", c)
		got := e.ok("inspect", "-f", "{{.State.Status}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}}{{end}}{{end}}", c)
		if f := strings.Fields(got); len(f) != 3 || f[0] != "running" || net.ParseIP(f[1]) == nil {
			t.Fatalf("start right after stop, round %d: %q", i, got)
		}
	}
	id := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", c))
	e.ok("stop", "-t", "0", c)
	e.ok("rm", c)
	for _, p := range []string{filepath.Join(e.root, "containers", id), filepath.Join(e.root, "netns", id)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left after rm right after stop", p)
		}
	}
	e.ok("run", "-d", "--name", c, "--network", app, "bb:1", "sleep", "300")
	e.ok("stop", "-t", "0", c)
	// Docker removes a network whose containers are all stopped.
	e.ok("network", "rm", app)
	e.ok("rm", c)
}
