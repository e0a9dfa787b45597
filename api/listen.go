package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/rootless"
)

// DefaultHost is where `berth serve` listens without -H.
const DefaultHost = "unix:///run/berth/berth.sock"

// ListenOptions are dockerd's listening flags.
type ListenOptions struct {
	Hosts     []string // -H: unix:///path, tcp://host:port, fd:// (socket activation)
	Group     string   // --group: the group owning unix sockets ("docker" by default, as dockerd)
	GroupSet  bool     // --group was given: a missing group is then an error, not a warning
	TLSVerify bool     // --tlsverify: TCP clients must present a certificate signed by TLSCACert
	TLSCACert string
	TLSCert   string
	TLSKey    string
	Warnf     func(format string, args ...any)
}

// DefaultHostFor is DefaultHost, or in rootless mode berth.sock in the user's runtime directory
// (as rootless dockerd's $XDG_RUNTIME_DIR/docker.sock): /run/berth is root's.
func DefaultHostFor() string {
	if rootless.Active() {
		if d, err := rootless.RuntimeDir(os.Getenv); err == nil {
			return "unix://" + filepath.Join(d, "berth.sock")
		}
	}
	return DefaultHost
}

// Listen opens every -H address. TCP without --tlsverify is allowed on loopback addresses only;
// anywhere else it would hand root on this host to the network, and is refused.
func Listen(o ListenOptions) ([]net.Listener, error) {
	hosts := o.Hosts
	if len(hosts) == 0 {
		hosts = []string{DefaultHostFor()}
	}
	var ls []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	for _, h := range hosts {
		proto, addr, ok := strings.Cut(h, "://")
		if !ok {
			return fail(fmt.Errorf("invalid bind address format: %s", h))
		}
		switch proto {
		case "unix":
			l, err := listenUnix(addr, o)
			if err != nil {
				return fail(err)
			}
			ls = append(ls, l)
		case "tcp":
			l, err := listenTCP(addr, o)
			if err != nil {
				return fail(err)
			}
			ls = append(ls, l)
		case "fd":
			fls, err := activationListeners(addr)
			if err != nil {
				return fail(err)
			}
			ls = append(ls, fls...)
		default:
			return fail(fmt.Errorf("invalid bind address format: %s (only unix://, tcp:// and fd:// are supported)", h))
		}
	}
	return ls, nil
}

func listenUnix(path string, o ListenOptions) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("invalid bind address format: unix:// needs a path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// A socket left by a server that died is replaced; anything else at the path is not.
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("cannot listen on %s: it exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("cannot listen on %s: another server is serving it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	gid := -1
	group := o.Group
	if group == "" {
		group = "docker"
	}
	if rootless.Active() && !o.GroupSet {
		// The user's own socket (0660, the user's group): the host's docker group means
		// nothing inside the user's namespace.
		group = ""
	}
	if group != "" {
		if g, err := user.LookupGroup(group); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		} else if o.GroupSet {
			l.Close()
			return nil, fmt.Errorf("can't find group %s: %w", group, err)
		} else if o.Warnf != nil {
			o.Warnf("could not change group %s to %s: group %s not found", path, group, group)
		}
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, err
	}
	if gid >= 0 {
		if err := os.Chown(path, 0, gid); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func listenTCP(addr string, o ListenOptions) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid bind address format: tcp://%s: %v", addr, err)
	}
	if !o.TLSVerify {
		ip := net.ParseIP(host)
		if !(host == "localhost" || (ip != nil && ip.IsLoopback())) {
			return nil, fmt.Errorf("refusing to serve the API on tcp://%s without TLS: anyone who reaches it is root on this host; "+
				"use --tlsverify --tlscacert --tlscert --tlskey, or a loopback address", addr)
		}
		return net.Listen("tcp", addr)
	}
	cfg, err := serverTLS(o)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(l, cfg), nil
}

// serverTLS is dockerd's --tlsverify: the server's pair, and client certificates required and
// checked against the CA.
func serverTLS(o ListenOptions) (*tls.Config, error) {
	if o.TLSCACert == "" || o.TLSCert == "" || o.TLSKey == "" {
		return nil, errors.New("--tlsverify needs --tlscacert, --tlscert and --tlskey")
	}
	pair, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("could not load X509 key pair (cert: %q, key: %q): %v", o.TLSCert, o.TLSKey, err)
	}
	pem, err := os.ReadFile(o.TLSCACert)
	if err != nil {
		return nil, fmt.Errorf("could not read CA certificate %q: %v", o.TLSCACert, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("failed to append certificates from PEM file: %q", o.TLSCACert)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// activationListeners are the sockets systemd passed (LISTEN_PID, LISTEN_FDS, from fd 3), as
// dockerd's fd://; fd://NAME picks the one LISTEN_FDNAMES names so.
func activationListeners(name string) ([]net.Listener, error) {
	pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID"))
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if pid != os.Getpid() || n <= 0 {
		return nil, errors.New("no sockets found via socket activation: make sure the service was started by systemd")
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	var ls []net.Listener
	for i := 0; i < n; i++ {
		if name != "" && (i >= len(names) || names[i] != name) {
			continue
		}
		f := os.NewFile(uintptr(3+i), "listener-"+strconv.Itoa(i))
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("socket activation: fd %d: %v", 3+i, err)
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("no socket named %q found via socket activation", name)
	}
	return ls, nil
}

// Serve answers on every listener until ctx ends, then stops accepting, lets requests in flight
// finish for a moment, and ends every stream.
func (s *Server) Serve(ctx context.Context, ls []net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
	}
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func(l net.Listener) {
			defer wg.Done()
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving %s: %w", l.Addr(), err)
			}
		}(l)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.cancel() // streams (logs -f, events, attach) end, so Shutdown does not wait on them
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	wg.Wait()
	return err
}

// HostURL is the DOCKER_HOST a client uses to reach listener l.
func HostURL(l net.Listener) string {
	a := l.Addr()
	if a.Network() == "unix" {
		return (&url.URL{Scheme: "unix", Path: a.String()}).String()
	}
	return "tcp://" + a.String()
}
