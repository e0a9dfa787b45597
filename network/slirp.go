package network

// Rootless networking: a container's namespace gets a tap device driven by slirp4netns, a
// user-mode TCP/IP stack that runs as the user in the host's namespace (so outbound connections
// are the user's own sockets), and published ports are opened by slirp4netns on the host through
// its API socket (add_hostfwd), as rootless podman does.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The addresses slirp4netns --configure gives the container (its defaults).
const (
	SlirpIP      = "10.0.2.100"
	SlirpPrefix  = 24
	SlirpGateway = "10.0.2.2"
	SlirpDNS     = "10.0.2.3"
	SlirpIfName  = "tap0"
)

// Slirp is a running slirp4netns serving one network namespace.
type Slirp struct {
	PID       int
	APISocket string
}

// TunDevice is where slirp4netns opens its tap device.
var TunDevice = "/dev/net/tun"

// CheckTun says, in one sentence, why slirp4netns cannot open the tun device (nil when it can).
func CheckTun() error {
	if err := unix.Access(TunDevice, unix.R_OK|unix.W_OK); err != nil {
		mode := ""
		if fi, serr := os.Stat(TunDevice); serr == nil {
			mode = fmt.Sprintf(" (mode %04o)", fi.Mode().Perm())
		}
		return fmt.Errorf("rootless networking needs %s readable and writable by every user%s: %v; "+
			"make it mode 0666 as udev does on most distributions (chmod 0666 %s), or use --network none or --network host",
			TunDevice, mode, err, TunDevice)
	}
	return nil
}

// SlirpArgs are slirp4netns's arguments for a namespace bound at netns.
func SlirpArgs(netns, apiSocket string, readyFD int) []string {
	return []string{"--configure", "--mtu=65520", "--disable-host-loopback",
		"--api-socket", apiSocket, "--ready-fd=" + strconv.Itoa(readyFD),
		"--netns-type=path", netns, SlirpIfName}
}

// StartSlirp starts slirp4netns for the namespace at netns, logging to logPath, and returns once
// its interface is up. It outlives the caller (a session of its own) until StopSlirp.
func StartSlirp(netns, apiSocket, logPath string) (Slirp, error) {
	bin, err := exec.LookPath("slirp4netns")
	if err != nil {
		return Slirp{}, errors.New("rootless networking needs slirp4netns (Debian: slirp4netns), or use --network none or --network host")
	}
	if err := CheckTun(); err != nil {
		return Slirp{}, err
	}
	os.Remove(apiSocket)
	r, w, err := os.Pipe()
	if err != nil {
		return Slirp{}, err
	}
	defer r.Close()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		w.Close()
		return Slirp{}, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, SlirpArgs(netns, apiSocket, 3)...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return Slirp{}, err
	}
	w.Close()
	done := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := io.ReadFull(r, b)
		done <- err
	}()
	var rerr error
	select {
	case rerr = <-done:
	case <-time.After(60 * time.Second):
		rerr = errors.New("not ready after 60s")
	}
	if rerr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		log, _ := os.ReadFile(logPath)
		return Slirp{}, fmt.Errorf("slirp4netns: %v: %s", rerr, lastLine(log))
	}
	// Reaped by whoever adopts it once this process exits; killed by StopSlirp.
	go cmd.Wait()
	return Slirp{PID: cmd.Process.Pid, APISocket: apiSocket}, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// hostfwdRequest is slirp4netns's API request that publishes one port.
func hostfwdRequest(pm PortMapping) ([]byte, error) {
	proto := pm.Protocol
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("rootless networking cannot publish %s ports", proto)
	}
	host := pm.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": proto, "host_addr": host, "host_port": pm.HostPort, "guest_addr": SlirpIP, "guest_port": pm.ContainerPort}}
	return json.Marshal(req)
}

// CheckRootlessPort refuses a host port an unprivileged user cannot bind (below the host's
// net.ipv4.ip_unprivileged_port_start, 1024 by default).
func CheckRootlessPort(pm PortMapping) error {
	start := 1024
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			start = v
		}
	}
	if pm.HostPort < start {
		return fmt.Errorf("rootless mode cannot publish host port %d: ports below %d need root (net.ipv4.ip_unprivileged_port_start); publish a port from %d up", pm.HostPort, start, start)
	}
	return nil
}

// AddPort publishes a port through slirp4netns's API socket.
func (s Slirp) AddPort(pm PortMapping) error {
	_, err := s.AddPortID(pm)
	return err
}

// AddPortID is AddPort returning the forwarding's ID in slirp4netns (for RemovePort).
func (s Slirp) AddPortID(pm PortMapping) (int, error) {
	req, err := hostfwdRequest(pm)
	if err != nil {
		return 0, err
	}
	resp, err := s.call(req)
	if err != nil {
		return 0, err
	}
	if err := hostfwdResult(resp, pm); err != nil {
		return 0, err
	}
	var r struct {
		Return struct {
			ID int `json:"id"`
		} `json:"return"`
	}
	json.Unmarshal(bytes.TrimSpace(resp), &r)
	return r.Return.ID, nil
}

// RemovePort ends a forwarding AddPortID made.
func (s Slirp) RemovePort(id int) error {
	req, _ := json.Marshal(map[string]any{"execute": "remove_hostfwd", "arguments": map[string]any{"id": id}})
	resp, err := s.call(req)
	if err != nil {
		return err
	}
	var r struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if json.Unmarshal(bytes.TrimSpace(resp), &r) == nil && r.Error != nil {
		return fmt.Errorf("slirp4netns: %s", r.Error.Desc)
	}
	return nil
}

// call sends one request to slirp4netns's API socket and returns its answer.
func (s Slirp) call(req []byte) ([]byte, error) {
	conn, err := net.Dial("unix", s.APISocket)
	if err != nil {
		return nil, fmt.Errorf("slirp4netns API: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("slirp4netns API: %w", err)
	}
	conn.(*net.UnixConn).CloseWrite()
	resp, err := io.ReadAll(conn)
	if err != nil {
		return nil, fmt.Errorf("slirp4netns API: %w", err)
	}
	return resp, nil
}

// hostfwdResult reads slirp4netns's answer to add_hostfwd.
func hostfwdResult(resp []byte, pm PortMapping) error {
	var r struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(resp), &r); err != nil {
		return fmt.Errorf("slirp4netns API: bad answer %q", resp)
	}
	if r.Error != nil {
		return fmt.Errorf("publishing host port %d: slirp4netns: %s", pm.HostPort, r.Error.Desc)
	}
	if r.Return == nil {
		return fmt.Errorf("slirp4netns API: bad answer %q", resp)
	}
	return nil
}

// StopSlirp ends a slirp4netns StartSlirp started (if it still runs: a pid now someone
// else's is left alone) and removes its API socket.
func StopSlirp(s Slirp) {
	if s.PID > 0 && isSlirp(s.PID) {
		// Gone before this returns, so the host ports it held are free for the next container
		// (it is not this process's child: watched through /proc, killed if it lingers).
		unix.Kill(s.PID, unix.SIGTERM)
		for i := 0; running(s.PID); i++ {
			if i == 200 {
				unix.Kill(s.PID, unix.SIGKILL)
			}
			if i == 400 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if s.APISocket != "" {
		os.Remove(s.APISocket)
	}
}

// isSlirp reports whether pid is a live slirp4netns (not a zombie, not a reused pid).
func isSlirp(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	// A zombie's cmdline is empty.
	return err == nil && filepath.Base(strings.SplitN(string(b), "\x00", 2)[0]) == "slirp4netns"
}

// running reports whether pid has not finished exiting: a process drops its memory (and so its
// cmdline) before it closes its files, and is done only once it is a zombie or gone.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && rest != "" && rest[0] != 'Z' && rest[0] != 'X'
}
