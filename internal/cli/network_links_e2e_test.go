package cli

// End-to-end tests of Docker's links, IPv6 networks and link-local addresses, with the real
// berth binary, runc and bridges. Docker 20.10's answers were recorded with the reference
// daemon on this machine (see each test); newNetEnv removes containers and bridges in t.Cleanup.

import (
	"fmt"
	"math/rand"
	"net"
	"strings"
	"testing"
)

func TestNetworkLegacyLinks(t *testing.T) {
	e := newNetEnv(t)
	tgt, me := e.name("tgt"), e.name("me")
	e.ok("run", "-d", "--name", tgt, "-e", "X=1", "-e", "Y=a=b", "--expose", "80", "--expose", "8000-8002", "--expose", "53/udp", "bb:1", "sleep", "300")
	ip := e.inspect(tgt, "{{.NetworkSettings.IPAddress}}")
	short := e.inspect(tgt, "{{.Id}}")[:12]
	if net.ParseIP(ip) == nil {
		t.Fatalf("target address %q", ip)
	}
	out := e.ok("run", "--rm", "--name", me, "--link", tgt+":al", "--link", tgt, "bb:1", "sh", "-c", "env; echo ---; cat /etc/hosts")
	env, hosts, _ := strings.Cut(out, "---\n")
	// Docker 20.10's variables for `--link tgt:al` (and its hosts lines for both links).
	tgtVar := strings.ToUpper(strings.ReplaceAll(tgt, "-", "_"))
	for _, kv := range []string{
		"AL_PORT=udp://" + ip + ":53", "AL_PORT_53_UDP=udp://" + ip + ":53", "AL_PORT_80_TCP=tcp://" + ip + ":80",
		"AL_PORT_80_TCP_ADDR=" + ip, "AL_PORT_80_TCP_PORT=80", "AL_PORT_80_TCP_PROTO=tcp",
		"AL_PORT_8000_TCP_START=tcp://" + ip + ":8000", "AL_PORT_8000_TCP_END=tcp://" + ip + ":8002", "AL_PORT_8000_TCP_PORT_END=8002",
		"AL_NAME=/" + me + "/al", "AL_ENV_X=1", "AL_ENV_Y=a=b", tgtVar + "_NAME=/" + me + "/" + tgt,
	} {
		if !strings.Contains("\n"+env, "\n"+kv+"\n") {
			t.Errorf("missing %s in the linking container's environment:\n%s", kv, env)
		}
	}
	if strings.Contains(env, "AL_ENV_PATH") || strings.Contains(env, "AL_ENV_HOME") {
		t.Errorf("PATH and HOME are not passed on:\n%s", env)
	}
	for _, line := range []string{ip + "\tal " + short + " " + tgt + "\n", ip + "\t" + tgt + " " + short + "\n"} {
		if !strings.Contains(hosts, line) {
			t.Errorf("/etc/hosts lacks %q:\n%s", line, hosts)
		}
	}

	// inspect as Docker's, exec sees the link too, rm --link takes it away (the hosts line as well).
	linker := e.name("linker")
	e.ok("run", "-d", "--name", linker, "--link", tgt+":al", "bb:1", "sleep", "300")
	if got := e.inspect(linker, "{{json .HostConfig.Links}}"); got != `["/`+tgt+`:/`+linker+`/al"]` {
		t.Errorf("HostConfig.Links %s", got)
	}
	if got := e.ok("exec", linker, "sh", "-c", "echo $AL_NAME"); got != "/"+linker+"/al\n" {
		t.Errorf("exec's AL_NAME %q", got)
	}
	if got := e.ok("rm", "--link", linker+"/al"); got != linker+"/al\n" {
		t.Errorf("rm --link printed %q", got)
	}
	if got := e.inspect(linker, "{{json .HostConfig.Links}}"); got != "null" {
		t.Errorf("HostConfig.Links after rm --link: %s", got)
	}
	if h := e.ok("exec", linker, "cat", "/etc/hosts"); strings.Contains(h, "\tal ") {
		t.Errorf("the link's hosts line stayed:\n%s", h)
	}
	// Docker 20.10's errors.
	if _, errs, code := e.run("rm", "--link", linker+"/zz"); code != 1 || !strings.Contains(errs, "No such container: "+linker+"/zz") {
		t.Errorf("rm --link of a missing link: %d %q", code, errs)
	}
	if _, errs, code := e.run("rm", "--link", tgt); code != 1 || !strings.Contains(errs, "Conflict, cannot remove the default link name of the container") {
		t.Errorf("rm --link of a container: %d %q", code, errs)
	}
	if _, errs, code := e.run("create", "--link", e.name("nope")+":al", "bb:1", "true"); code == 0 ||
		!strings.Contains(errs, "could not get container for "+e.name("nope")+": No such container: "+e.name("nope")) {
		t.Errorf("link to a missing container: %d %q", code, errs)
	}
	stopped := e.name("stopped")
	e.ok("create", "--name", stopped, "bb:1", "true")
	e.ok("create", "--name", e.name("later"), "--link", stopped+":s", "bb:1", "true")
	if _, errs, code := e.run("start", e.name("later")); code == 0 ||
		!strings.Contains(errs, "Cannot link to a non running container: /"+stopped+" AS /"+e.name("later")+"/s") {
		t.Errorf("link to a stopped container: %d %q", code, errs)
	}
	if _, errs, code := e.run("create", "--network", "host", "--link", tgt, "bb:1", "true"); code == 0 ||
		!strings.Contains(errs, "conflicting options: host type networking can't be used with links. This would result in undefined behavior") {
		t.Errorf("host network with links: %d %q", code, errs)
	}
}

// On a user-defined network --link is an endpoint link: the alias resolves through the
// container's resolver only, to the target, even one started after the linking container.
func TestNetworkEndpointLinks(t *testing.T) {
	e := newNetEnv(t)
	app := e.name("app")
	e.ok("network", "create", app)
	me, up := e.name("me"), e.name("up")
	e.ok("run", "-d", "--name", me, "--network", app, "--link", up+":bar", "bb:1", "sleep", "300")
	if got := e.inspect(me, "{{json (index .NetworkSettings.Networks \""+app+"\").Links}} {{json .HostConfig.Links}}"); got != `["`+up+`:bar"] null` {
		t.Errorf("links in inspect: %s", got)
	}
	e.ok("run", "-d", "--name", up, "--network", app, "bb:1", "sleep", "300")
	upIP := e.inspect(up, "{{(index .NetworkSettings.Networks \""+app+"\").IPAddress}}")
	if got, code := e.nslookup(me, "bar"); code != 0 || len(got) != 1 || got[0] != upIP {
		t.Errorf("nslookup bar from the linking container: %v (exit %d), want %s", got, code, upIP)
	}
	// Only the linking container knows the alias; `network connect --link` gives one to another.
	other := e.name("other")
	e.ok("run", "-d", "--name", other, "--network", app, "bb:1", "sleep", "300")
	if got, code := e.nslookup(other, "bar"); code == 0 && len(got) > 0 {
		t.Errorf("another container resolved the link alias: %v", got)
	}
	e.ok("network", "disconnect", app, other)
	e.ok("network", "connect", "--link", up+":baz", app, other)
	if got, code := e.nslookup(other, "baz"); code != 0 || len(got) != 1 || got[0] != upIP {
		t.Errorf("nslookup baz after connect --link: %v (exit %d)", got, code)
	}
	if _, errs, code := e.run("network", "connect", "--link", up+":x", "bridge", e.name("me")); code == 0 || !strings.Contains(errs, "links are only supported for user-defined networks") {
		t.Errorf("connect --link to the default bridge: %d %q", code, errs)
	}
}

// v6subnet is an IPv6 /64 of the unique local range no other test uses.
func v6subnet() string { return fmt.Sprintf("fd42:%x:%x::/64", rand.Intn(0xffff), rand.Intn(0xffff)) }

// Recorded with Docker 20.10: `network create --ipv6 --subnet 2001:389::/64 v6`, then `run
// --network v6 --ip6 2001:389::f00d`: the interface has the address (/64, no DAD), the default
// IPv6 route goes through the network's first address, inspect shows GlobalIPv6Address,
// GlobalIPv6PrefixLen, IPv6Gateway and IPAMConfig.IPv6Address, /etc/hosts lists the address
// after the IPv4 one, and the resolver answers AAAA.
func TestNetworkIPv6(t *testing.T) {
	e := newNetEnv(t)
	v6 := e.name("v6")
	sn := v6subnet()
	_, pfx, _ := net.ParseCIDR(sn)
	base := strings.TrimSuffix(pfx.IP.String(), "::")
	e.ok("network", "create", "--ipv6", "--subnet", sn, v6)
	if got := e.ok("network", "inspect", "-f", "{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}}", v6); got != "true "+sn+"\n" {
		t.Errorf("network inspect: %q", got)
	}
	if got := e.ok("network", "ls", "--filter", "name="+v6, "--format", "{{.IPv6}}"); got != "true\n" {
		t.Errorf("network ls IPv6 column: %q", got)
	}
	up, me := e.name("up"), e.name("me")
	e.ok("run", "-d", "--name", up, "--network", v6, "bb:1", "sleep", "300")
	e.ok("run", "-d", "--name", me, "--network", v6, "--ip6", base+"::f00d", "bb:1", "sleep", "300")
	addr := e.ok("exec", me, "ip", "-6", "addr", "show", "eth0")
	if !strings.Contains(addr, "inet6 "+base+"::f00d/64 scope global") {
		t.Errorf("eth0 lacks the IPv6 address:\n%s", addr)
	}
	if r := e.ok("exec", me, "ip", "-6", "route"); !strings.Contains(r, "default via "+base+"::1 dev eth0") {
		t.Errorf("IPv6 routes:\n%s", r)
	}
	f := "{{with index .NetworkSettings.Networks \"" + v6 + "\"}}{{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{.IPAMConfig.IPv6Address}}{{end}}"
	if got := e.inspect(me, f); got != base+"::f00d 64 "+base+"::1 "+base+"::f00d" {
		t.Errorf("inspect: %q", got)
	}
	if got := e.inspect(up, "{{(index .NetworkSettings.Networks \""+v6+"\").GlobalIPv6Address}}"); got != base+"::2" {
		t.Errorf("the first container's IPv6 address %q, want %s::2", got, base)
	}
	id := e.inspect(me, "{{.Id}}")
	if got := e.ok("network", "inspect", "-f", "{{(index .Containers \""+id+"\").IPv6Address}}", v6); got != base+"::f00d/64\n" {
		t.Errorf("network inspect's IPv6Address: %q", got)
	}
	hostname := e.inspect(me, "{{.Config.Hostname}}")
	if h := e.ok("exec", me, "cat", "/etc/hosts"); !strings.HasSuffix(h, "\t"+hostname+"\n"+base+"::f00d\t"+hostname+"\n") {
		t.Errorf("/etc/hosts:\n%s", h)
	}
	// The bridge answers on the gateway address, and the containers reach each other.
	e.ok("exec", me, "ping", "-6", "-c", "1", "-W", "5", base+"::1")
	e.ok("exec", me, "ping", "-6", "-c", "1", "-W", "5", base+"::2")
	if got, code := e.nslookup(me, up); code != 0 || !linksHas(got, base+"::2") {
		t.Errorf("nslookup %s: %v (exit %d)", up, got, code)
	}
	// Docker's refusals.
	if _, errs, code := e.run("create", "--network", v6, "--ip6", "fd99::1", "bb:1", "true"); code == 0 ||
		!strings.Contains(errs, "Invalid address fd99::1: It does not belong to any of this network's subnets") {
		t.Errorf("--ip6 outside the subnet: %d %q", code, errs)
	}
	if _, errs, code := e.run("network", "create", "--ipv6", e.name("nosub")); code == 0 ||
		!strings.Contains(errs, "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network") {
		t.Errorf("--ipv6 without a subnet: %d %q", code, errs)
	}
	// An IPv6 range without --ipv6 is kept, as Docker keeps it, and gives no addresses.
	keep := e.name("keep")
	e.ok("network", "create", "--subnet", v6subnet(), keep)
	e.ok("run", "-d", "--name", e.name("k"), "--network", keep, "bb:1", "sleep", "300")
	if got := e.inspect(e.name("k"), "{{(index .NetworkSettings.Networks \""+keep+"\").GlobalIPv6Address}}"); got != "" {
		t.Errorf("an IPv6 address without --ipv6: %q", got)
	}
}

func linksHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Recorded with Docker 20.10: --link-local-ip on a user-defined network puts the address on
// the interface (/16, scope global) and inspect shows it; on the default bridge Docker's CLI
// drops the flag (the Engine API's EndpointsConfig applies it there too: docker-py's test).
func TestNetworkLinkLocalIP(t *testing.T) {
	e := newNetEnv(t)
	lln, c := e.name("lln"), e.name("ll")
	e.ok("network", "create", lln)
	e.ok("run", "-d", "--name", c, "--network", lln, "--link-local-ip", "169.254.8.8", "bb:1", "sleep", "300")
	if a := e.ok("exec", c, "ip", "addr", "show", "eth0"); !strings.Contains(a, "inet 169.254.8.8/16 brd 169.254.255.255 scope global eth0") {
		t.Errorf("eth0:\n%s", a)
	}
	if got := e.inspect(c, "{{json (index .NetworkSettings.Networks \""+lln+"\").IPAMConfig}}"); got != `{"LinkLocalIPs":["169.254.8.8"]}` {
		t.Errorf("IPAMConfig %s", got)
	}
	b := e.name("onbridge")
	e.ok("run", "-d", "--name", b, "--link-local-ip", "169.254.8.8", "bb:1", "sleep", "300")
	if got := e.inspect(b, "{{json .NetworkSettings.Networks.bridge.IPAMConfig}}"); got != "null" {
		t.Errorf("IPAMConfig on the default bridge %s", got)
	}
}
