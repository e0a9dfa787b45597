package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/network"
)

// TestRootlessNetworks: user-defined networks for an unprivileged user, whose bridges live in the
// store's shared rootless network namespace (network/rootlessns.go): create, name resolution
// between two containers, outbound through that namespace's slirp4netns, a Compose project up and
// down, and nothing left on the host's own network namespace.
func TestRootlessNetworks(t *testing.T) {
	root := newCtrEnv(t) // builds berth and checks runc, busybox and overlayfs
	e := newRootlessUser(t, root.bin)
	fi, err := os.Stat("/dev/net/tun")
	if err != nil {
		t.Skip("no /dev/net/tun")
	}
	// What udev does on most distributions, restored afterwards.
	mode := fi.Mode().Perm()
	if err := os.Chmod("/dev/net/tun", 0o666); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod("/dev/net/tun", mode) })
	bbTar := filepath.Join(e.home, "busybox.tar")
	if err := os.WriteFile(bbTar, busyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("import", bbTar, "bb:1")

	e.ok("network", "create", "--subnet", "172.31.240.0/24", "rn1")
	if got := e.ok("network", "inspect", "-f", "{{.Name}} {{(index .IPAM.Config 0).Subnet}}", "rn1"); got != "rn1 172.31.240.0/24\n" {
		t.Errorf("network inspect: %q", got)
	}
	// The bridge is in the user's rootless namespace, not the host's.
	br := network.BridgeFor(strings.TrimSpace(e.ok("network", "inspect", "-f", "{{.Id}}", "rn1")), nil)
	if _, err := os.Stat("/sys/class/net/" + br); err == nil {
		t.Errorf("bridge %s of a rootless network is in the host's namespace", br)
	}
	if _, errs, code := e.run("network", "create", "rn1"); code != 1 || errs != "Error: network with name rn1 already exists\n" {
		t.Errorf("network create of a taken name: exit %d %q", code, errs) // Docker's exit 1 and wording
	}
	e.ok("run", "-d", "--name", "srv", "--network", "rn1", "--network-alias", "web", "bb:1", "sleep", "1000")
	out := e.ok("run", "--rm", "--network", "rn1", "bb:1", "sh", "-c",
		"ip -4 -o addr show eth0 | grep -o '172.31.240.[0-9]*/24'; nslookup srv 127.0.0.11 | grep -c 172.31.240.2; ping -c1 -W5 web >/dev/null && echo ping-ok")
	if !strings.HasPrefix(out, "172.31.240.3/24\n") || !strings.Contains(out, "\n1\nping-ok\n") {
		t.Errorf("second container on rn1: %q; want its address, srv resolved to 172.31.240.2 and the alias web answering", out)
	}
	// The way out: the bridge's NAT in the shared namespace, then its slirp4netns, whose gateway
	// answers.
	if out := e.ok("run", "--rm", "--network", "rn1", "bb:1", "sh", "-c", "ping -c1 -W5 10.0.2.2 >/dev/null && echo out-ok"); out != "out-ok\n" {
		t.Errorf("outbound from rn1: %q", out)
	}
	// -p on a user-defined network: slirp4netns forwards the host port into the shared namespace,
	// whose DNAT sends it to the container; rm gives the port back.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	web := strings.TrimSpace(e.ok("run", "-d", "--network", "rn1", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "bb:1", "sh", "-c",
		"mkdir /www && echo hello-rn1 > /www/index.html && exec httpd -f -p 80 -h /www"))
	if got := e.ok("port", web); got != fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n", port) {
		t.Errorf("port = %q", got)
	}
	if body := getUntil(fmt.Sprintf("http://127.0.0.1:%d/", port), "hello-rn1\n", 30*time.Second); body != "hello-rn1\n" {
		t.Errorf("GET 127.0.0.1:%d = %q", port, body)
	}
	// One container cannot have both kinds of network.
	if _, errs, code := e.run("network", "connect", "bridge", "srv"); code == 0 || !strings.Contains(errs, "rootless mode cannot connect a container to both") {
		t.Errorf("network connect bridge: exit %d %q", code, errs)
	}
	dflt := strings.TrimSpace(e.ok("run", "-d", "bb:1", "sleep", "1000"))
	if _, errs, code := e.run("network", "connect", "rn1", dflt); code == 0 || !strings.Contains(errs, "rootless mode cannot connect a container to both") {
		t.Errorf("network connect of a container on the default network: exit %d %q", code, errs)
	}
	e.ok("rm", "-f", dflt)
	e.fails("rootless mode cannot publish host port 80", "run", "--rm", "--network", "rn1", "-p", "80:80", "bb:1", "true")
	e.ok("rm", "-f", web)
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Errorf("host port %d still held after rm: %v", port, err)
	} else {
		l.Close()
	}
	if _, errs, code := e.run("network", "rm", "rn1"); code != 1 || !strings.Contains(errs, "has active endpoints") {
		t.Errorf("network rm of a network in use: exit %d %q", code, errs)
	}
	e.ok("rm", "-f", "srv")
	e.ok("network", "rm", "rn1")
	if got := e.ok("network", "ls", "--format", "{{.Name}}"); strings.Contains(got, "rn1") {
		t.Errorf("network ls after rm: %q", got)
	}

	// A Compose project: its network, DNS between its services.
	dir := filepath.Join(e.home, "proj")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(`services:
  db:
    image: bb:1
    command: ["sleep", "1000"]
  app:
    image: bb:1
    command: ["sh", "-c", "until nslookup db 127.0.0.11 >/dev/null 2>&1; do sleep 0.2; done; ping -c1 -W5 db >/dev/null && echo db-reached > /tmp/r; sleep 1000"]
`), 0o644)
	os.Chown(dir, e.uid, e.gid)
	os.Chown(filepath.Join(dir, "compose.yaml"), e.uid, e.gid)
	e.ok("compose", "-p", "rlp", "--project-directory", dir, "up", "-d")
	if got := e.ok("network", "ls", "--format", "{{.Name}}", "--filter", "name=rlp_default"); got != "rlp_default\n" {
		t.Errorf("compose network: %q", got)
	}
	got := e.ok("compose", "-p", "rlp", "--project-directory", dir, "exec", "-T", "app", "sh", "-c",
		"for i in $(seq 100); do [ -s /tmp/r ] && break; sleep 0.2; done; cat /tmp/r")
	if got != "db-reached\n" {
		t.Errorf("app reaching db by name: %q", got)
	}
	e.ok("compose", "-p", "rlp", "--project-directory", dir, "down", "-t", "1")
	if got := e.ok("network", "ls", "-q", "--filter", "name=rlp_default"); got != "" {
		t.Errorf("network left after compose down: %q", got)
	}
	// The last network gone, its namespace's slirp4netns stops: only the pause process is left.
	if ps := e.processes(); len(ps) != 1 {
		var cmds []string
		for _, p := range ps {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			cmds = append(cmds, fmt.Sprintf("%d %q", p, b))
		}
		t.Errorf("after compose down, the user runs %v; want the pause process alone", cmds)
	}
	if f := e.strayFiles(); len(f) > 0 {
		t.Errorf("rootless networks wrote outside the user's home: %v", f)
	}
}
