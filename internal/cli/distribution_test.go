package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/distribution"
	"github.com/creack/pty"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
)

func distRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// inProcessRegistry is go-containerregistry's test registry, optionally behind basic auth.
func distRegistry(t *testing.T, user, pass string) string {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPullPushCommandOutput(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("BERTH_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	host := distRegistry(t, "", "")
	img, _ := random.Image(50<<10, 2)
	ref, _ := name.ParseReference(host + "/x:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	root := t.TempDir()

	// Docker 20.10, stdout not a terminal (recorded against a registry on 127.0.0.1):
	//   1: Pulling from parity/bb
	//   <id>: Pulling fs layer ... <id>: Pull complete
	//   Digest: sha256:...
	//   Status: Downloaded newer image for 127.0.0.1:5787/parity/bb:1
	//   127.0.0.1:5787/parity/bb:1
	// all on stdout, nothing on stderr.
	code, out, errOut := distRun(t, "", "--root", root, "pull", host+"/x:1")
	if code != 0 || errOut != "" {
		t.Fatalf("pull: %d %q %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "1: Pulling from x" || lines[len(lines)-3] != "Digest: "+md.String() ||
		lines[len(lines)-2] != "Status: Downloaded newer image for "+host+"/x:1" || lines[len(lines)-1] != host+"/x:1" {
		t.Fatalf("pull output:\n%s", out)
	}
	if strings.Contains(out, "Downloading") || strings.Count(out, ": Pull complete\n") != 2 || strings.Count(out, ": Pulling fs layer\n") != 2 {
		t.Fatalf("plain output must have no bars and one Pulling fs layer and Pull complete per layer:\n%s", out)
	}
	code, out, errOut = distRun(t, "", "--root", root, "pull", host+"/x:1")
	if code != 0 || errOut != "" || out != "1: Pulling from x\nDigest: "+md.String()+"\nStatus: Image is up to date for "+host+"/x:1\n"+host+"/x:1\n" {
		t.Fatalf("second pull: %d %q %q", code, out, errOut)
	}
	code, out, errOut = distRun(t, "", "--root", root, "pull", "-q", host+"/x:1")
	if code != 0 || out != host+"/x:1\n" || errOut != "" {
		t.Fatalf("pull -q: %d %q %q", code, out, errOut)
	}
	code, _, _ = distRun(t, "", "--root", root, "tag", host+"/x:1", host+"/y:1")
	if code != 0 {
		t.Fatal("tag failed")
	}
	// Docker 20.10: "The push refers to repository [127.0.0.1:5787/parity/bb]", "<id>: Preparing",
	// "<id>: Pushed", "1: digest: sha256:... size: 527", all on stdout.
	code, out, errOut = distRun(t, "", "--root", root, "push", host+"/y:1")
	raw, _ := img.RawManifest()
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || errOut != "" || lines[len(lines)-1] != "1: digest: "+md.String()+" size: "+distItoa(len(raw)) {
		t.Fatalf("push: %d %q %q", code, out, errOut)
	}
	if lines[0] != "The push refers to repository ["+host+"/y]" || strings.Count(out, ": Preparing\n") != 2 || strings.Count(out, ": Pushed\n")+strings.Count(out, ": Layer already exists\n") != 2 {
		t.Fatalf("push output:\n%s", out)
	}
	code, out, errOut = distRun(t, "", "--root", root, "push", "-q", host+"/y:1")
	if code != 0 || errOut != "" || out != host+"/y:1\n" {
		t.Fatalf("push -q: %d %q %q", code, out, errOut)
	}
	code, out, _ = distRun(t, "", "--root", root, "images", "--digests", "--format", "{{.Repository}} {{.Digest}}")
	if code != 0 || !strings.Contains(out, host+"/x "+md.String()) || !strings.Contains(out, host+"/y "+md.String()) {
		t.Fatalf("images --digests:\n%s", out)
	}

	code, out, errOut = distRun(t, "", "--root", root, "pull", host+"/x:nope")
	// Docker 20.10 prints nothing before the error when the tag is missing.
	if code != 1 || out != "" || errOut != "Error: manifest for "+host+"/x:nope not found: manifest unknown: manifest unknown\n" {
		t.Fatalf("unknown tag: %d %q %q", code, out, errOut)
	}
	code, _, errOut = distRun(t, "", "--root", root, "image", "pull", "-q", "127.0.0.1:1/x:1")
	if code != 1 || !strings.HasPrefix(errOut, `Error: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused`) {
		t.Fatalf("registry down: %d %q", code, errOut)
	}
}

func distItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestLoginLogoutCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("BERTH_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	host := distRegistry(t, "u", "pw")

	// Without a terminal and without stored credentials, no prompt: Docker's refusal.
	for _, args := range [][]string{{"login", host}, {"login", "-u", "u", host}} {
		if code, out, errOut := distRun(t, "u\npw\n", args...); code != 1 || out != "" ||
			errOut != "Error: Cannot perform an interactive login from a non TTY device\n" {
			t.Fatalf("%v without a terminal: %d %q %q", args, code, out, errOut)
		}
	}
	code, out, errOut := distRun(t, "bad\n", "login", "-u", "u", "--password-stdin", host)
	if code != 1 || errOut != "Error: login attempt to http://"+host+"/v2/ failed with status: 401 Unauthorized\n" {
		t.Fatalf("wrong password: %d %q %q", code, out, errOut)
	}
	code, out, errOut = distRun(t, "pw\n", "login", "-u", "u", "--password-stdin", host)
	if code != 0 || out != "Login Succeeded\n" || !strings.HasPrefix(errOut, "WARNING! Your password will be stored unencrypted in "+filepath.Join(dir, "config.json")+".\n") {
		t.Fatalf("login: %d %q %q", code, out, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var cf struct {
		Auths map[string]struct{ Auth string }
	}
	json.Unmarshal(b, &cf)
	if cf.Auths[host].Auth != base64.StdEncoding.EncodeToString([]byte("u:pw")) {
		t.Fatalf("config.json:\n%s", b)
	}
	// The stored credentials are reused by login without asking (Docker 20.10's answer).
	code, out, errOut = distRun(t, "", "login", host)
	if code != 0 || out != "Authenticating with existing credentials...\nLogin Succeeded\n" || !strings.HasPrefix(errOut, "WARNING! Your password will be stored unencrypted") {
		t.Fatalf("login with stored credentials: %d %q %q", code, out, errOut)
	}
	code, out, errOut = distRun(t, "", "login", "-u", "u", "-p", "pw", host)
	if code != 0 || out != "Login Succeeded\n" || !strings.HasPrefix(errOut, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\nWARNING! Your password") {
		t.Fatalf("login -p: %d %q %q", code, out, errOut)
	}
	code, out, errOut = distRun(t, "pw", "login", "-u", "u", "-p", "pw", "--password-stdin", host)
	if code != 1 || out != "" || errOut != "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n--password and --password-stdin are mutually exclusive\n" {
		t.Fatalf("login -p --password-stdin: %d %q %q", code, out, errOut)
	}
	// The stored credentials are used by pull.
	code, _, errOut = distRun(t, "", "--root", t.TempDir(), "pull", "-q", host+"/none:1")
	if code != 1 || !strings.Contains(errOut, "manifest unknown") {
		t.Fatalf("pull with stored credentials: %d %q", code, errOut)
	}
	code, out, _ = distRun(t, "", "logout", host)
	if code != 0 || out != "Removing login credentials for "+host+"\n" {
		t.Fatalf("logout: %d %q", code, out)
	}
	// Docker 20.10 says the same when there was nothing to remove.
	code, out, _ = distRun(t, "", "logout", host)
	if code != 0 || out != "Removing login credentials for "+host+"\n" {
		t.Fatalf("second logout: %d %q", code, out)
	}
	code, _, errOut = distRun(t, "", "--root", t.TempDir(), "pull", "-q", host+"/none:1")
	if code != 1 || errOut != "Error: unauthorized: authentication required\n" {
		t.Fatalf("pull after logout: %d %q", code, errOut)
	}
	code, _, errOut = distRun(t, "", "login", "--password-stdin", host)
	if code != 1 || errOut != "Must provide --username with --password-stdin\n" {
		t.Fatalf("--password-stdin without -u: %d %q", code, errOut)
	}
}

func TestProgressPrinterTerminal(t *testing.T) {
	var w, out bytes.Buffer
	p := &progressPrinter{w: &w, out: &out, tty: true, lines: map[string]int{}}
	p.event(distribution.Event{ID: "aaaaaaaaaaaa", Status: "Pulling fs layer"})
	p.event(distribution.Event{ID: "bbbbbbbbbbbb", Status: "Pulling fs layer"})
	p.event(distribution.Event{ID: "aaaaaaaaaaaa", Status: "Downloading", Current: 25, Total: 100})
	want := "aaaaaaaaaaaa: Pulling fs layer\nbbbbbbbbbbbb: Pulling fs layer\n" +
		"\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading [============>                                      ]      25B/100B\r\x1b[2B"
	if w.String() != want {
		t.Fatalf("terminal output\n%q\nwant\n%q", w.String(), want)
	}
	p.event(distribution.Event{Status: "1: digest: sha256:x size: 1", Result: true})
	if out.String() != "1: digest: sha256:x size: 1\n" {
		t.Fatalf("result line went to %q", out.String())
	}
}

func TestRegistryOptionsFromConfigFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(f, []byte(`{"insecure-registries":["reg:5000"],"max-concurrent-downloads":7,"certs-dir":"/x"}`), 0o600)
	t.Setenv("BERTH_CONFIG", f)
	o, err := registryOptions(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.InsecureRegistries) != 1 || o.InsecureRegistries[0] != "reg:5000" || o.MaxConcurrentDownloads != 7 || o.CertsDir != "/x" || !o.SkipTLSVerify {
		t.Fatalf("options %+v", o)
	}
	os.WriteFile(f, []byte(`{`), 0o600)
	if _, err := registryOptions(true); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("bad config file: %v", err)
	}
}

// default-runtime (dockerd's key) names the runtime of containers created without --runtime;
// anything but runc and crun is refused with the file's name.
func TestConfigDefaultRuntime(t *testing.T) {
	f := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("BERTH_CONFIG", f)
	os.WriteFile(f, []byte(`{"default-runtime":"runc"}`), 0o600)
	if c, err := readConfig(); err != nil || c.DefaultRuntime != "runc" {
		t.Fatalf("default-runtime runc: %+v %v", c, err)
	}
	os.WriteFile(f, []byte(`{"default-runtime":"kata"}`), 0o600)
	if _, err := readConfig(); err == nil || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), `unknown runtime "kata"`) {
		t.Fatalf("default-runtime kata: %v", err)
	}
}

// --disable-content-trust=false asks for Notary signing or verification (Docker 20.10 then fails
// with "error contacting notary server" here, exit 1): berth refuses it instead of going on unsigned.
func TestContentTrustRefused(t *testing.T) {
	for _, args := range [][]string{{"pull", "--disable-content-trust=false", "x"}, {"push", "--disable-content-trust=false", "x"}} {
		code, out, errOut := distRun(t, "", append([]string{"--root", t.TempDir()}, args...)...)
		if code != 1 || out != "" || !strings.Contains(errOut, "content trust (--disable-content-trust=false) is not supported by berth") {
			t.Errorf("%v: %d %q %q", args, code, out, errOut)
		}
	}
}

// On a terminal login asks for what it lacks, and the password is never echoed: the terminal's
// echo is off while it is read (checked on the terminal itself before the password is typed).
func TestLoginPromptsWithoutEcho(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("BERTH_CONFIG", filepath.Join(t.TempDir(), "none.json"))
	host := distRegistry(t, "u", "secret-pw")
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	var echoed syncBuffer
	go io.Copy(&echoed, master)
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main([]string{"login", host}, tty, &out, &errb) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: stdout %q stderr %q terminal %q", what, out.String(), errb.String(), echoed.String())
			}
		}
	}
	waitFor("the username prompt", func() bool { return out.String() == "Username: " })
	master.Write([]byte("u\n"))
	echoOff := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&unix.ECHO == 0
	}
	waitFor("the echo to go off", echoOff)
	master.Write([]byte("secret-pw\n"))
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("login did not end")
	}
	if code != 0 || out.String() != "Username: Password: \nLogin Succeeded\n" {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	waitFor("the typed username's echo", func() bool { return strings.Contains(echoed.String(), "u") })
	if strings.Contains(echoed.String(), "secret") {
		t.Errorf("the password was echoed: %q", echoed.String())
	}
	if echoOff() {
		t.Error("the terminal's echo was left off")
	}
}
