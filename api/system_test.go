package api

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/registry"
	"github.com/berth-engine/berth/system"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/bcrypt"
)

func TestSysVersionInfoDiskUsage(t *testing.T) {
	e := sysServe(t)
	ctx := context.Background()
	e.sysImport(t, "df:1", "df")
	v, err := e.client.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "test" || v.APIVersion != MaxVersion || v.MinAPIVersion != MinVersion || v.Os != "linux" {
		t.Errorf("version: %+v", v)
	}
	info, err := e.client.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.srv.containers.Info("test")
	if err != nil {
		t.Fatal(err)
	}
	i := info.Info
	if i.Images != want.Images || i.Images != 1 || i.Containers != want.Containers || i.Driver != want.Driver ||
		i.DockerRootDir != e.root || i.NCPU != want.NCPU || i.KernelVersion != want.KernelVersion || i.OSType != "linux" {
		t.Errorf("info: %+v\nwant %+v", i, want)
	}
	du, err := e.client.DiskUsage(ctx, client.DiskUsageOptions{Images: true, Containers: true, Volumes: true, BuildCache: true, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	sdu, err := system.CollectDiskUsage(e.srv.images)
	if err != nil {
		t.Fatal(err)
	}
	iu := sdu.ImageUsage()
	if du.Images.TotalCount != iu.TotalCount || du.Images.TotalSize != iu.TotalSize || du.Images.Reclaimable != iu.Reclaimable ||
		du.Images.TotalCount != 1 || len(du.Images.Items) != 1 {
		t.Errorf("df images: %+v, want %+v", du.Images, iu)
	}
	// Docker 20.10's clients read the legacy document.
	code, _, body := sysGet(t, e, "/v1.41/system/df")
	if code != 200 || !strings.Contains(body, `"LayersSize":`) || !strings.Contains(body, `"Images":[{`) {
		t.Errorf("v1.41 system/df: %d %s", code, body)
	}
	if code, _, _ := sysGet(t, e, "/system/df?type=nonsense"); code != 400 {
		t.Errorf("df of an unknown type: %d", code)
	}
	// POST /auth: bad bodies are 400s; a registry that refuses is 401.
	if code, _, _ := sysDo(t, e, "POST", "/auth", strings.NewReader("{")); code != 400 {
		t.Errorf("auth with malformed JSON: %d", code)
	}
	if code, _, _ := sysDo(t, e, "POST", "/auth", strings.NewReader(`{"username":"u"}`)); code != 400 {
		t.Errorf("auth without a password: %d", code)
	}
	if code, _, body := sysDo(t, e, "POST", "/auth", strings.NewReader(`{"username":"u","password":"p","serveraddress":"127.0.0.1:1"}`)); code != 401 {
		t.Errorf("auth against nothing: %d %s", code, body)
	}
}

func TestSysEventsStreamFollowsAndFilters(t *testing.T) {
	e := sysServe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.sysImport(t, "ev:1", "ev")
	// Past events with since/until: a finite stream.
	past := e.client.Events(ctx, client.EventsListOptions{Since: "0", Until: time.Now().Add(time.Second).Format(time.RFC3339Nano),
		Filters: client.Filters{}.Add("type", "image")})
	var actions []string
	for done := false; !done; {
		select {
		case m := <-past.Messages:
			actions = append(actions, string(m.Action))
		case err := <-past.Err:
			if err != nil && !strings.Contains(err.Error(), "EOF") {
				t.Fatal(err)
			}
			done = true
		}
	}
	if strings.Join(actions, ",") != "import" {
		t.Errorf("past image events: %v", actions)
	}
	// A live stream: only what happens after it started, and only what the filter wants.
	live := e.client.Events(ctx, client.EventsListOptions{Filters: client.Filters{}.Add("event", "tag")})
	deadline := time.After(time.Minute)
	for i := 0; ; i++ {
		// Tag until the stream (which may not be reading yet) reports one.
		if _, err := e.client.ImageTag(ctx, client.ImageTagOptions{Source: "ev:1", Target: "ev:" + string(rune('a'+i%26))}); err != nil {
			t.Fatal(err)
		}
		e.client.ImageRemove(ctx, "ev:"+string(rune('a'+i%26)), client.ImageRemoveOptions{})
		select {
		case m := <-live.Messages:
			if m.Action != "tag" || m.Type != "image" || !strings.HasPrefix(m.Actor.Attributes["name"], "ev:") {
				t.Fatalf("live event: %+v", m)
			}
			return
		case err := <-live.Err:
			t.Fatal(err)
		case <-deadline:
			t.Fatal("no live event")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestSysEventsBadParameters(t *testing.T) {
	e := sysServe(t)
	for _, q := range []string{"filters=%7Bbad", "since=yesterday", `filters={"colour":{"red":true}}`, "since=20&until=10"} {
		if code, _, body := sysGet(t, e, "/events?"+q); code != 400 {
			t.Errorf("GET /events?%s: %d %s", q, code, body)
		}
	}
}

// A container the CLI runs (another process, no server involved) shows up in GET /events.
func TestSysEventsSeeTheCLIsContainers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a container needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("running a container needs runc on PATH (Debian: apt-get install runc)")
	}
	e := sysServe(t)
	bin := testBerth(t)
	e.sysImport(t, "cli:1", "cli")
	start := time.Now()
	out, err := exec.Command(bin, "--root", e.root, "run", "--rm", "--name", "from-cli", "--network", "none", "cli:1", "true").CombinedOutput()
	if err != nil {
		t.Fatalf("berth run: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := e.client.Events(ctx, client.EventsListOptions{Since: start.Format(time.RFC3339Nano), Until: time.Now().Format(time.RFC3339Nano),
		Filters: client.Filters{}.Add("container", "from-cli")})
	var actions []string
	for done := false; !done; {
		select {
		case m := <-res.Messages:
			actions = append(actions, string(m.Action))
			if m.Actor.Attributes["image"] != "cli:1" || m.Actor.Attributes["name"] != "from-cli" {
				t.Errorf("attributes: %v", m.Actor.Attributes)
			}
		case <-res.Err:
			done = true
		}
	}
	// As dockerd 20.10 for `docker run --rm --network none busybox true`.
	if got := strings.Join(actions, ","); got != "create,attach,start,die,destroy" {
		t.Errorf("events of the CLI's container: %s, want create,attach,start,die,destroy", got)
	}
}

// Clients that hang up on GET /events leave nothing running behind them; Close ends the ones
// still open.
func TestSysEventsHangUpLeavesNoGoroutine(t *testing.T) {
	e := sysServe(t)
	base := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		res := e.client.Events(ctx, client.EventsListOptions{})
		cancel()
		<-res.Err
	}
	deadline := time.Now().Add(time.Minute)
	for runtime.NumGoroutine() > base+5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the clients left, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// POST /auth checks a login against a registry that needs one (Docker's answer), and a push
// through the API uses the X-Registry-Auth credentials, never the server's own.
func TestSysAuthAndAuthenticatedPush(t *testing.T) {
	e := sysServe(t)
	ctx := context.Background()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hp := filepath.Join(e.root, "htpasswd")
	if err := os.WriteFile(hp, []byte("alice:"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Storage: filepath.Join(e.root, "registry"), Htpasswd: hp})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(reg)
	t.Cleanup(hs.Close)
	host := strings.TrimPrefix(hs.URL, "http://")
	res, err := e.client.RegistryLogin(ctx, client.RegistryLoginOptions{Username: "alice", Password: "s3cret", ServerAddress: host})
	if err != nil || res.Auth.Status != "Login Succeeded" {
		t.Fatalf("login: %+v %v", res, err)
	}
	code, _, body := sysDo(t, e, "POST", "/auth", strings.NewReader(`{"username":"alice","password":"wrong","serveraddress":"`+host+`"}`))
	if code != 401 || !strings.Contains(body, "failed with status: 401 Unauthorized") { // Docker's words
		t.Errorf("a wrong password: %d %s", code, body)
	}
	e.sysImport(t, host+"/priv/app:1", "priv")
	push := func(auth string) string {
		resp, err := e.client.ImagePush(ctx, host+"/priv/app:1", client.ImagePushOptions{RegistryAuth: auth})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Close()
		var all []string
		for m, err := range resp.JSONMessages(ctx) {
			if err != nil {
				return "error: " + err.Error()
			}
			if m.Error != nil {
				return "error: " + m.Error.Message
			}
			if m.Status != "" {
				all = append(all, m.Status)
			}
		}
		return all[len(all)-1]
	}
	if got := push("e30="); !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "authentication required") {
		t.Errorf("push without credentials: %s", got)
	}
	auth := base64.URLEncoding.EncodeToString([]byte(`{"username":"alice","password":"s3cret","serveraddress":"` + host + `"}`))
	if got := push(auth); !strings.HasPrefix(got, "1: digest: sha256:") {
		t.Errorf("push with credentials ended with %q", got)
	}
}
