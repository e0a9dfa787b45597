package api

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// sysEnv is a Server over a fresh root, on a unix socket, with a moby client talking to it.
type sysEnv struct {
	srv    *Server
	root   string
	sock   string
	client *client.Client
}

// sysServe starts the Server in-process on a unix socket (a short path: socket paths are
// limited to 108 bytes) and returns a client that negotiates the API version as docker does.
func sysServe(t *testing.T) *sysEnv {
	t.Helper()
	root, err := os.MkdirTemp("", "bs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	srv, err := New(Config{Root: root, BerthVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(root, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(l)
	c, err := client.New(client.WithHost("unix://"+sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		hs.Close()
		srv.Close()
	})
	return &sysEnv{srv: srv, root: root, sock: sock, client: c}
}

// sysRootfsTar is a small rootfs: busybox-static as /bin/sh and /bin/true, and a marker file.
func sysRootfsTar(t *testing.T, marker string) []byte {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("these tests need busybox-static at /bin/busybox")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	for _, l := range []string{"sh", "true", "touch", "echo"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + l, Linkname: "busybox", Mode: 0o777})
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "marker", Mode: 0o644, Size: int64(len(marker))})
	tw.Write([]byte(marker))
	tw.Close()
	return buf.Bytes()
}

// sysImport imports a rootfs as ref through POST /images/create?fromSrc=- and returns its ID.
func (e *sysEnv) sysImport(t *testing.T, ref, marker string) string {
	t.Helper()
	ctx := context.Background()
	rc, err := e.client.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(sysRootfsTar(t, marker)), SourceName: "-"},
		ref, client.ImageImportOptions{Changes: []string{`CMD ["sh"]`}})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	out.ReadFrom(rc)
	id := ""
	for _, line := range strings.Split(out.String(), "\n") {
		if _, v, ok := strings.Cut(line, `"status":"`); ok {
			id, _, _ = strings.Cut(v, `"`)
		}
	}
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("import answered %q", out.String())
	}
	return id
}

// sysRequest sends req over the env's socket and returns the status and body.
func sysRequest(t *testing.T, e *sysEnv, req *http.Request) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// sysDo sends method path (with an optional body) and returns the status, headers and body.
func sysDo(t *testing.T, e *sysEnv, method, path string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://berth"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	code, b := sysRequest(t, e, req)
	return code, nil, b
}

func sysGet(t *testing.T, e *sysEnv, path string) (int, http.Header, string) {
	t.Helper()
	return sysDo(t, e, "GET", path, nil)
}
