package network

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlirpArgs(t *testing.T) {
	got := strings.Join(SlirpArgs("/r/netns/abc", "/r/netns/abc.slirp", 3), " ")
	want := "--configure --mtu=65520 --disable-host-loopback --api-socket /r/netns/abc.slirp --ready-fd=3 --netns-type=path /r/netns/abc tap0"
	if got != want {
		t.Errorf("SlirpArgs = %q\nwant %q", got, want)
	}
}

func TestHostfwdRequest(t *testing.T) {
	b, err := hostfwdRequest(PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"})
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Execute   string
		Arguments map[string]any
	}
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	if req.Execute != "add_hostfwd" || req.Arguments["proto"] != "tcp" || req.Arguments["host_addr"] != "0.0.0.0" ||
		req.Arguments["host_port"] != 8080.0 || req.Arguments["guest_port"] != 80.0 || req.Arguments["guest_addr"] != SlirpIP {
		t.Errorf("request = %s", b)
	}
	b, _ = hostfwdRequest(PortMapping{HostPort: 5353, ContainerPort: 53, Protocol: "udp", HostIP: "127.0.0.1"})
	if !strings.Contains(string(b), `"host_addr":"127.0.0.1"`) || !strings.Contains(string(b), `"proto":"udp"`) {
		t.Errorf("udp request = %s", b)
	}
	if _, err := hostfwdRequest(PortMapping{HostPort: 9, ContainerPort: 9, Protocol: "sctp"}); err == nil {
		t.Error("sctp: no error")
	}
}

func TestHostfwdResult(t *testing.T) {
	pm := PortMapping{HostPort: 8080}
	if err := hostfwdResult([]byte(`{"return": {"id": 1}}`), pm); err != nil {
		t.Errorf("success: %v", err)
	}
	err := hostfwdResult([]byte(`{"error": {"desc": "bad request: add_hostfwd: slirp_add_hostfwd failed"}}`), pm)
	if err == nil || !strings.Contains(err.Error(), "publishing host port 8080: slirp4netns: bad request") {
		t.Errorf("error answer: %v", err)
	}
	for _, bad := range []string{"", "{}", "garbage"} {
		if hostfwdResult([]byte(bad), pm) == nil {
			t.Errorf("answer %q: no error", bad)
		}
	}
}

func TestCheckRootlessPort(t *testing.T) {
	if err := CheckRootlessPort(PortMapping{HostPort: 65000}); err != nil {
		t.Errorf("port 65000: %v", err)
	}
	if b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); strings.TrimSpace(string(b)) == "0" {
		t.Skip("this host lets anyone bind any port")
	}
	err := CheckRootlessPort(PortMapping{HostPort: 0})
	if err == nil || !strings.Contains(err.Error(), "rootless mode cannot publish host port 0: ports below") {
		t.Errorf("port 0: %v", err)
	}
}

// FuzzHostfwdResult: any answer from slirp4netns's socket gives an error or success, never a
// panic, and success only for an answer with "return" and no "error".
func FuzzHostfwdResult(f *testing.F) {
	for _, s := range []string{`{"return": {"id": 1}}`, `{"error": {"desc": "x"}}`, `{}`, ``, `{"return": null}`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if hostfwdResult([]byte(s), PortMapping{HostPort: 1}) == nil && !strings.Contains(s, "return") {
			t.Errorf("answer %q accepted", s)
		}
	})
}

// TestSlirpPortIDs: the forwarding's ID is read from add_hostfwd's answer and sent back in
// remove_hostfwd, each request on a connection of its own as slirp4netns's API wants.
func TestSlirpPortIDs(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reqs := make(chan map[string]any, 2)
	go func() {
		for _, answer := range []string{`{"return": {"id": 7}}`, `{"return": {}}`} {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var req map[string]any
			b, _ := io.ReadAll(c)
			json.Unmarshal(b, &req)
			reqs <- req
			c.Write([]byte(answer))
			c.Close()
		}
	}()
	s := Slirp{APISocket: sock}
	id, err := s.AddPortID(PortMapping{HostIP: "127.0.0.1", HostPort: 18080, ContainerPort: 18080, Protocol: "tcp"})
	if err != nil || id != 7 {
		t.Fatalf("AddPortID = %d, %v; want 7", id, err)
	}
	if r := <-reqs; r["execute"] != "add_hostfwd" {
		t.Errorf("first request %v", r)
	}
	if err := s.RemovePort(id); err != nil {
		t.Fatal(err)
	}
	r := <-reqs
	args, _ := r["arguments"].(map[string]any)
	if r["execute"] != "remove_hostfwd" || args["id"] != float64(7) {
		t.Errorf("remove request %v", r)
	}
}
