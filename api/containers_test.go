package api

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	berthnet "github.com/berth-engine/berth/network"
	"github.com/moby/moby/api/pkg/stdcopy"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// raw sends one request to the env's socket and returns its status and body: for the statuses
// moby's client folds away (304) and for bodies it would not send.
func (e *containersEnv) raw(method, path, body string) (int, string) {
	e.t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
	}}}
	req, err := http.NewRequest(method, "http://berth/v1.41"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *containersEnv) create(name string, cfg *ctypes.Config, hc *ctypes.HostConfig) string {
	e.t.Helper()
	if cfg.Image == "" {
		cfg.Image = "bb:1"
	}
	r, err := e.client.ContainerCreate(e.ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	if len(r.Warnings) != 0 {
		e.t.Errorf("create %s: warnings %q", name, r.Warnings)
	}
	return r.ID
}

func (e *containersEnv) start(id string) {
	e.t.Helper()
	if _, err := e.client.ContainerStart(e.ctx, id, client.ContainerStartOptions{}); err != nil {
		e.t.Fatalf("start: %v", err)
	}
}

func (e *containersEnv) inspect(id string) ctypes.InspectResponse {
	e.t.Helper()
	r, err := e.client.ContainerInspect(e.ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		e.t.Fatalf("inspect: %v", err)
	}
	return r.Container
}

func TestContainersLifecycle(t *testing.T) {
	e := newContainersEnv(t)
	id := e.create("web", &ctypes.Config{
		Cmd: []string{"sh", "-c", "echo out; echo err >&2; exec sleep 1000"}, Labels: map[string]string{"app": "web"},
		Env: []string{"A=1"},
	}, &ctypes.HostConfig{PortBindings: network.PortMap{network.MustParsePort("80/tcp"): {{HostPort: "0"}}}})

	// Docker's refusals: a name in use 409, an unknown image 404, malformed JSON 400.
	if code, body := e.raw("POST", "/containers/create?name=web", `{"Image":"bb:1"}`); code != 409 || !strings.Contains(body, `is already in use by container`) {
		t.Errorf("duplicate name: %d %s", code, body)
	}
	if code, body := e.raw("POST", "/containers/create", `{"Image":"nosuch:1"}`); code != 404 || !strings.Contains(body, "No such image: nosuch:1") {
		t.Errorf("unknown image: %d %s", code, body)
	}
	if code, _ := e.raw("POST", "/containers/create", `{"Image":`); code != 400 {
		t.Errorf("malformed JSON: %d", code)
	}
	if code, body := e.raw("POST", "/containers/create", `{"Image":"bb:1","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}`); code != 400 || !strings.Contains(body, "invalid restart policy") {
		t.Errorf("bad restart policy: %d %s", code, body)
	}

	e.start(id)
	if code, _ := e.raw("POST", "/containers/web/start", ""); code != 304 {
		t.Errorf("start of a running container: %d, want 304", code)
	}
	ins := e.inspect(id)
	if !ins.State.Running || ins.Name != "/web" && ins.Name != "web" {
		t.Errorf("inspect: %+v %q", ins.State, ins.Name)
	}

	// Both faces see the same store: the CLI lists what the API created.
	if out := e.berth("ps", "-q", "--no-trunc", "--filter", "label=app=web"); strings.TrimSpace(out) != id {
		t.Errorf("berth ps: %q", out)
	}
	list, err := e.client.ContainerList(e.ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", "app=web")})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].Names[0] != "/web" || list.Items[0].State != "running" {
		t.Fatalf("list: %v %+v", err, list)
	}
	// On a host with IPv6, Docker 20.10 lists the port on 0.0.0.0 and on :: (same host port).
	wantPorts := 1
	if berthnet.HostHasIPv6() {
		wantPorts = 2
	}
	if ps := list.Items[0].Ports; len(ps) != wantPorts || ps[0].PrivatePort != 80 || ps[0].PublicPort == 0 || ps[len(ps)-1].PublicPort != ps[0].PublicPort {
		t.Errorf("list ports: %+v", list.Items[0].Ports)
	}
	if code, body := e.raw("GET", `/containers/json?filters={"bogus":{"1":true}}`, ""); code != 400 || !strings.Contains(body, "Invalid filter 'bogus'") {
		t.Errorf("bad filter: %d %s", code, body)
	}

	// Logs: multiplexed, by stream.
	var stdout, stderr bytes.Buffer
	for i := 0; i < 50 && (stdout.Len() == 0 || stderr.Len() == 0); i++ {
		stdout.Reset()
		stderr.Reset()
		lr, err := e.client.ContainerLogs(e.ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			t.Fatal(err)
		}
		stdcopy.StdCopy(&stdout, &stderr, lr)
		lr.Close()
		time.Sleep(100 * time.Millisecond)
	}
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("logs: stdout %q stderr %q", stdout.String(), stderr.String())
	}
	// A follow ends when the client hangs up.
	ctx, cancel := context.WithCancel(e.ctx)
	lr, err := e.client.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, lr); close(done) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("logs -f did not end when the client went away")
	}
	lr.Close()

	// top, stats, pause.
	top, err := e.client.ContainerTop(e.ctx, id, client.ContainerTopOptions{Arguments: []string{"-o", "pid,comm"}})
	if err != nil || len(top.Titles) != 2 || len(top.Processes) == 0 {
		t.Errorf("top: %v %+v", err, top)
	}
	sr, err := e.client.ContainerStats(e.ctx, id, client.ContainerStatsOptions{Stream: false, IncludePreviousSample: true})
	if err != nil {
		t.Fatal(err)
	}
	var stats ctypes.StatsResponse
	if err := json.NewDecoder(sr.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	sr.Body.Close()
	if stats.ID != id || stats.MemoryStats.Usage == 0 || stats.CPUStats.SystemUsage == 0 || stats.PreCPUStats.SystemUsage == 0 || stats.PidsStats.Current == 0 {
		t.Errorf("stats: %+v", stats)
	}
	if _, err := e.client.ContainerPause(e.ctx, id, client.ContainerPauseOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := e.inspect(id).State; !st.Paused {
		t.Errorf("paused: %+v", st)
	}
	if _, err := e.client.ContainerUnpause(e.ctx, id, client.ContainerUnpauseOptions{}); err != nil {
		t.Fatal(err)
	}

	// Removing a running container needs force.
	if code, body := e.raw("DELETE", "/containers/"+id, ""); code != 409 || !strings.Contains(body, "You cannot remove a running container") {
		t.Errorf("rm of a running container: %d %s", code, body)
	}

	// wait, then kill: the wait answers with the exit code.
	wr := e.client.ContainerWait(e.ctx, id, client.ContainerWaitOptions{Condition: ctypes.WaitConditionNotRunning})
	if _, err := e.client.ContainerKill(e.ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-wr.Result:
		if r.StatusCode != 137 {
			t.Errorf("wait: %+v", r)
		}
	case err := <-wr.Error:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not return")
	}
	if code, _ := e.raw("POST", "/containers/"+id+"/stop", ""); code != 304 {
		t.Errorf("stop of a stopped container: %d, want 304", code)
	}
	if code, body := e.raw("POST", "/containers/"+id+"/kill", ""); code != 409 || !strings.Contains(body, "is not running") {
		t.Errorf("kill of a stopped container: %d %s", code, body)
	}
	if _, err := e.client.ContainerRename(e.ctx, id, client.ContainerRenameOptions{NewName: "web2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ContainerRemove(e.ctx, "web2", client.ContainerRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := e.raw("GET", "/containers/"+id+"/json", ""); code != 404 || !strings.Contains(body, "No such container: "+id) {
		t.Errorf("inspect of a removed container: %d %s", code, body)
	}
}

func TestContainersArchiveAndChanges(t *testing.T) {
	e := newContainersEnv(t)
	id := e.create("files", &ctypes.Config{Cmd: []string{"sh", "-c", "echo hi > /root/f; echo v > /vol/g"}, Volumes: map[string]struct{}{"/vol": {}}}, nil)
	e.start(id)
	wr := e.client.ContainerWait(e.ctx, id, client.ContainerWaitOptions{})
	select {
	case r := <-wr.Result:
		if r.StatusCode != 0 {
			t.Fatalf("wait: %+v", r)
		}
	case err := <-wr.Error:
		t.Fatal(err)
	}
	// A stopped container's files, its volume's too.
	for p, want := range map[string]string{"/root/f": "hi\n", "/vol/g": "v\n"} {
		cr, err := e.client.CopyFromContainer(e.ctx, id, client.CopyFromContainerOptions{SourcePath: p})
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		tr := tar.NewReader(cr.Content)
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		cr.Content.Close()
		if hdr.Name != filepath.Base(p) || string(b) != want || cr.Stat.Name != filepath.Base(p) || cr.Stat.Size != int64(len(want)) {
			t.Errorf("get %s: %q %q %+v", p, hdr.Name, b, cr.Stat)
		}
	}
	if code, body := e.raw("HEAD", "/containers/"+id+"/archive?path=/nope", ""); code != 404 {
		t.Errorf("stat of a missing path: %d %s", code, body)
	}
	if code, body := e.raw("GET", "/containers/"+id+"/archive?path=/nope", ""); code != 404 || !strings.Contains(body, "Could not find the file /nope in container") {
		t.Errorf("get of a missing path: %d %s", code, body)
	}
	// PUT a tar stream into a directory.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "new.txt", Mode: 0o640, Size: 3, Typeflag: tar.TypeReg})
	tw.Write([]byte("abc"))
	tw.Close()
	if _, err := e.client.CopyToContainer(e.ctx, id, client.CopyToContainerOptions{DestinationPath: "/tmp", Content: &buf}); err != nil {
		t.Fatal(err)
	}
	st, err := e.client.ContainerStatPath(e.ctx, id, client.ContainerStatPathOptions{Path: "/tmp/new.txt"})
	if err != nil || st.Stat.Size != 3 || st.Stat.Mode.Perm() != 0o640 {
		t.Errorf("stat after put: %v %+v", err, st)
	}
	// changes: what the container wrote, as Docker's kinds.
	ch, err := e.client.ContainerDiff(e.ctx, id, client.ContainerDiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]ctypes.ChangeType{}
	for _, c := range ch.Changes {
		found[c.Path] = c.Kind
	}
	if found["/root/f"] != ctypes.ChangeAdd || found["/tmp/new.txt"] != ctypes.ChangeAdd || found["/root"] != ctypes.ChangeModify {
		t.Errorf("changes: %+v", ch.Changes)
	}
	// export: the whole file system as a tar stream.
	ex, err := e.client.ContainerExport(e.ctx, id, client.ContainerExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(ex)
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[strings.TrimPrefix(h.Name, "./")] = true
	}
	ex.Close()
	if !names["bin/busybox"] || !names["root/f"] {
		t.Errorf("export lacks files: %d entries", len(names))
	}
	// --volumes-from: another container sees the volume, read-only with :ro.
	from := e.create("from", &ctypes.Config{Cmd: []string{"sh", "-c", "cat /vol/g; touch /vol/x || echo ro"}},
		&ctypes.HostConfig{VolumesFrom: []string{"files:ro"}, Isolation: "default"})
	e.start(from)
	fr := e.client.ContainerWait(e.ctx, from, client.ContainerWaitOptions{})
	select {
	case <-fr.Result:
	case err := <-fr.Error:
		t.Fatal(err)
	}
	lr, err := e.client.ContainerLogs(e.ctx, from, client.ContainerLogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	stdcopy.StdCopy(&out, io.Discard, lr)
	lr.Close()
	if out.String() != "v\nro\n" {
		t.Errorf("volumes-from: %q", out.String())
	}
	if hc := e.inspect(from).HostConfig; len(hc.VolumesFrom) != 1 || hc.Isolation != "default" {
		t.Errorf("inspect: VolumesFrom %q Isolation %q", hc.VolumesFrom, hc.Isolation)
	}
	if code, body := e.raw("POST", "/containers/create", `{"Image":"bb:1","HostConfig":{"VolumesFrom":["nosuch"]}}`); code != 404 || !strings.Contains(body, "No such container: nosuch") {
		t.Errorf("volumes-from an unknown container: %d %s", code, body)
	}
	if code, body := e.raw("POST", "/containers/create", `{"Image":"bb:1","HostConfig":{"Isolation":"hyperv"}}`); code != 400 || !strings.Contains(body, "Invalid isolation") {
		t.Errorf("isolation hyperv: %d %s", code, body)
	}
	// prune removes the stopped containers.
	pr, err := e.client.ContainerPrune(e.ctx, client.ContainerPruneOptions{})
	if err != nil || len(pr.Report.ContainersDeleted) != 2 {
		t.Errorf("prune: %v %+v", err, pr)
	}
}

// A container whose restart policy is "always" comes back when berth serve starts after its
// supervisor and process were lost (as after a reboot); one stopped by the user does not.
func TestContainersRestartPolicyAtServiceStart(t *testing.T) {
	e := newContainersEnv(t)
	always := e.create("always", &ctypes.Config{Cmd: []string{"sleep", "1000"}}, &ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "always"}})
	stopped := e.create("stopped", &ctypes.Config{Cmd: []string{"sleep", "1000"}}, &ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "unless-stopped"}})
	e.start(always)
	e.start(stopped)
	if _, err := e.client.ContainerStop(e.ctx, stopped, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	e.stopServe()
	// The "reboot": the shim and the container's processes are killed.
	pid := containersShimPid(t, always)
	syscall.Kill(pid, syscall.SIGKILL)
	var cpid string
	for i := 0; i < 100; i++ {
		cpid = strings.TrimSpace(e.berth("inspect", "-f", "{{.State.Pid}}", always))
		if cpid != "0" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, err := strconv.Atoi(cpid); err == nil && n > 0 {
		syscall.Kill(n, syscall.SIGKILL)
	}
	for i := 0; i < 100; i++ {
		if st := strings.TrimSpace(e.berth("inspect", "-f", "{{.State.Status}}", always)); st == "exited" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := strings.TrimSpace(e.berth("inspect", "-f", "{{.State.Status}}", always)); st != "exited" {
		t.Fatalf("after the reboot: %s", st)
	}
	e.startServe()
	var st string
	for i := 0; i < 100; i++ {
		if st = string(e.inspect(always).State.Status); st == "running" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st != "running" {
		t.Errorf("the always container after serve started: %s", st)
	}
	if s := e.inspect(stopped).State.Status; s != "exited" {
		t.Errorf("the stopped unless-stopped container: %s", s)
	}
}

// containersShimPid finds the shim supervising container id.
func containersShimPid(t *testing.T, id string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i, a := range args {
			if a == "container-shim" && i+1 < len(args) && slicesContains(args[i+1:], id) {
				return pid
			}
		}
	}
	t.Fatal(errors.New("no shim found for " + id))
	return 0
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Streams end with their client: a wait for a next exit that never comes, a followed stats
// stream and a followed log all return when the client hangs up, so the server's Close (which
// waits for every stream) returns.
func TestContainersStreamsEndWithTheirClient(t *testing.T) {
	bin := testBerth(t)
	root := t.TempDir()
	tarPath := filepath.Join(root, "busybox.tar")
	if err := os.WriteFile(tarPath, testBusyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--root", root, "import", "-c", `CMD ["sh"]`, tarPath, "bb:1").CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	srv, err := New(Config{Root: root, BerthVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := client.New(client.WithHost("tcp://"+strings.TrimPrefix(hs.URL, "http://")), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: "idle", Config: &ctypes.Config{Image: "bb:1"}})
	if err != nil {
		t.Fatal(err)
	}
	streams := []func(context.Context) error{
		func(ctx context.Context) error {
			res := c.ContainerWait(ctx, r.ID, client.ContainerWaitOptions{Condition: ctypes.WaitConditionNextExit})
			select {
			case <-res.Result:
				return errors.New("the wait returned a result")
			case err := <-res.Error:
				return err
			}
		},
		func(ctx context.Context) error {
			sr, err := c.ContainerStats(ctx, r.ID, client.ContainerStatsOptions{Stream: true})
			if err != nil {
				return err
			}
			defer sr.Body.Close()
			_, err = io.Copy(io.Discard, sr.Body)
			return err
		},
	}
	for i, stream := range streams {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- stream(sctx) }()
		time.Sleep(300 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			// The client's own cancellation: context.Canceled, or, when net/http closed the
			// connection before it recorded why, the closed connection's error. A stream the
			// server ended itself would read to its end (nil) instead.
			if !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				t.Errorf("stream %d: %v, want context.Canceled", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("stream %d did not end with its client", i)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits for a stream whose client left")
	}
}

// A wait for the removal of a --rm container, as `docker run --rm` makes it, answers the exit
// code the container had, although its record is gone by the time the wait looks.
func TestContainersWaitRemovedAutoRemove(t *testing.T) {
	e := newContainersEnv(t)
	id := e.create("", &ctypes.Config{Cmd: []string{"sh", "-c", "exit 3"}}, &ctypes.HostConfig{AutoRemove: true})
	wr := e.client.ContainerWait(e.ctx, id, client.ContainerWaitOptions{Condition: ctypes.WaitConditionRemoved})
	time.Sleep(200 * time.Millisecond) // the wait is registered before the start, as the CLI does it
	e.start(id)
	select {
	case r := <-wr.Result:
		if r.StatusCode != 3 {
			t.Errorf("wait removed: %+v", r)
		}
	case err := <-wr.Error:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not return")
	}
	if code, _ := e.raw("GET", "/containers/"+id+"/json", ""); code != 404 {
		t.Errorf("the --rm container is still there: %d", code)
	}
}

// CPU shares and sets reach the container's cgroup at create and through update, and inspect
// shows them.
func TestContainersCPUSharesAndUpdate(t *testing.T) {
	e := newContainersEnv(t)
	id := e.create("cpu", &ctypes.Config{Cmd: []string{"sleep", "1000"}},
		&ctypes.HostConfig{Resources: ctypes.Resources{CPUShares: 512, CpusetCpus: "0"}})
	e.start(id)
	read := func(v1, v2 string) string {
		for _, p := range []string{"/sys/fs/cgroup/cpu/berth/" + id + "/" + v1, "/sys/fs/cgroup/cpuset/berth/" + id + "/" + v1, "/sys/fs/cgroup/berth/" + id + "/" + v2} {
			if b, err := os.ReadFile(p); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
		return "?"
	}
	unified := false
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		unified = true
	}
	shares := func() string {
		if unified {
			return read("", "cpu.weight")
		}
		return read("cpu.shares", "")
	}
	want512, want256 := "512", "256"
	if unified { // runc's conversion of shares to a weight
		want512, want256 = "20", "10"
	}
	if got := shares(); got != want512 {
		t.Errorf("cpu shares in the cgroup: %s, want %s", got, want512)
	}
	if got := read("cpuset.cpus", "cpuset.cpus"); got != "0" {
		t.Errorf("cpuset.cpus: %s", got)
	}
	if _, err := e.client.ContainerUpdate(e.ctx, id, client.ContainerUpdateOptions{Resources: &ctypes.Resources{CPUShares: 256}}); err != nil {
		t.Fatal(err)
	}
	if got := shares(); got != want256 {
		t.Errorf("cpu shares after update: %s, want %s", got, want256)
	}
	if hc := e.inspect(id).HostConfig; hc.CPUShares != 256 || hc.CpusetCpus != "0" {
		t.Errorf("inspect: CpuShares %d CpusetCpus %q", hc.CPUShares, hc.CpusetCpus)
	}
	if code, body := e.raw("POST", "/containers/create", `{"Image":"bb:1","HostConfig":{"CpusetCpus":"0,4096"}}`); code != 400 || !strings.Contains(body, "Requested CPUs are not available") {
		t.Errorf("cpuset beyond the host: %d %s", code, body)
	}
	// A fixed MAC address, as API < 1.44 sends it (in Config).
	if code, body := e.raw("POST", "/containers/create?name=mac", `{"Image":"bb:1","Cmd":["sleep","100"],"MacAddress":"02:42:ac:11:00:0a"}`); code != 201 {
		t.Fatalf("create with a MAC address: %d %s", code, body)
	}
	e.start("mac")
	if got := e.inspect("mac").NetworkSettings.Networks["bridge"].MacAddress.String(); got != "02:42:ac:11:00:0a" {
		t.Errorf("MAC address: %q", got)
	}
	if code, body := e.raw("POST", "/containers/create", `{"Image":"bb:1","MacAddress":"zz"}`); code != 400 || !strings.Contains(body, "zz is not a valid mac address") {
		t.Errorf("bad MAC address: %d %s", code, body)
	}
}
