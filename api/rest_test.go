package api

// Tests of the rest group (commit's config, events of exec/attach/volumes, cp into tmpfs,
// PUT archive's overwrite rules, networks checked at start): a real `berth serve` through
// github.com/moby/moby/client, with the expectations recorded from dockerd 20.10.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// POST /commit with a config: the changes apply to it and the container's config fills in what
// it leaves out. The expected config is what dockerd 20.10 made of the same container, body and
// changes (curl on its socket, `docker image inspect -f '{{json .Config}}'`).
func TestRestCommitConfig(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("create", "-e", "A=1", "-e", "B=2", "--label", "l1=x", "-w", "/tmp", "-u", "1", "--expose", "80",
		"--hostname", "hh", "busybox", "sleep", "1")
	t.Cleanup(func() { e.berthRun("rm", "-f", id) })
	res, err := e.client.ContainerCommit(e.ctx(), id, client.ContainerCommitOptions{
		Changes: []string{"ENV D=5", "LABEL l3=z"},
		Config: &container.Config{Cmd: []string{"echo", "hi"}, Env: []string{"B=3", "C=4"}, Labels: map[string]string{"l2": "y"},
			ExposedPorts: network.PortSet{network.MustParsePort("90/tcp"): {}}, WorkingDir: "/w"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Config struct {
			Hostname, User, WorkingDir string
			ExposedPorts               map[string]struct{}
			Env, Cmd, Entrypoint       []string
			Labels                     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(e.berth("image", "inspect", "-f", "{{json .}}", res.ID)), &got); err != nil {
		t.Fatal(err)
	}
	c := got.Config
	want := []any{"", "1", "/w", map[string]struct{}{"80/tcp": {}, "90/tcp": {}}, []string{"B=3", "C=4", "D=5", "A=1"},
		[]string{"echo", "hi"}, []string(nil), map[string]string{"l1": "x", "l2": "y", "l3": "z"}}
	have := []any{c.Hostname, c.User, c.WorkingDir, c.ExposedPorts, c.Env, c.Cmd, c.Entrypoint, c.Labels}
	for i := range want {
		if !reflect.DeepEqual(have[i], want[i]) {
			t.Errorf("committed config field %d: %#v, want %#v", i, have[i], want[i])
		}
	}
	// Without a config the container's own is the image's, the changes applied.
	res, err = e.client.ContainerCommit(e.ctx(), id, client.ContainerCommitOptions{Changes: []string{"ENV D=5"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.berth("image", "inspect", "-f", "{{.Config.Hostname}} {{.Config.Env}} {{.Config.Cmd}}", res.ID); got != "hh [A=1 B=2 D=5] [sleep 1]" {
		t.Errorf("commit without a config: %s", got)
	}
}

// restEvents reads the journal's events from the start until now through GET /events.
func restEvents(t *testing.T, e *execEnv) []restEvent {
	t.Helper()
	code, body := e.httpDo("GET", fmt.Sprintf("/events?since=0&until=%d", time.Now().Unix()+1), "")
	if code != 200 {
		t.Fatalf("GET /events: %d %s", code, body)
	}
	var out []restEvent
	dec := json.NewDecoder(strings.NewReader(body))
	for dec.More() {
		var m restEvent
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

type restEvent struct {
	Type, Action string
	Actor        struct {
		ID         string
		Attributes map[string]string
	}
}

// restFind returns the events of type typ whose action starts with action, about id (an actor
// ID, or the container attribute of a volume or network event).
func restFind(evs []restEvent, typ, action, id string) []restEvent {
	var out []restEvent
	for _, ev := range evs {
		if ev.Type == typ && strings.HasPrefix(ev.Action, action) && (ev.Actor.ID == id || ev.Actor.Attributes["container"] == id) {
			out = append(out, ev)
		}
	}
	return out
}

// The events dockerd 20.10 writes that berth missed (recorded with `docker events --format
// '{{json .}}'` around the same commands): exec_create when the instance is created, exec_start,
// exec_die with its exit code, attach, a volume's mount and unmount, and a die (exit code 255)
// for a container whose supervisor was killed, written once by whoever notices.
func TestRestEvents(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "-v", "restvol:/data", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", id) })

	ex, err := e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "exit 3"}, AttachStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	evs := restEvents(t, e)
	if got := restFind(evs, "container", "exec_create: sh -c exit 3", id); len(got) != 1 || got[0].Actor.Attributes["execID"] != ex.ID {
		t.Errorf("exec_create after create: %+v", got)
	}
	if got := restFind(evs, "container", "exec_start", id); len(got) != 0 {
		t.Errorf("exec_start before the start: %+v", got)
	}
	att, err := e.client.ExecAttach(e.ctx(), ex.ID, client.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, att.Reader)
	att.Close()
	for i := 0; ; i++ {
		if ins, err := e.client.ExecInspect(e.ctx(), ex.ID, client.ExecInspectOptions{}); err == nil && !ins.Running && ins.ExitCode == 3 {
			break
		} else if i > 100 {
			t.Fatalf("exec did not end: %+v %v", ins, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ca, err := e.client.ContainerAttach(e.ctx(), id, client.ContainerAttachOptions{Stream: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	ca.Close()
	e.berth("rm", "-f", id)
	evs = restEvents(t, e)
	if got := restFind(evs, "container", "exec_start: sh -c exit 3", id); len(got) != 1 || got[0].Actor.Attributes["execID"] != ex.ID {
		t.Errorf("exec_start: %+v", got)
	}
	if got := restFind(evs, "container", "exec_die", id); len(got) != 1 || got[0].Actor.Attributes["exitCode"] != "3" || got[0].Actor.Attributes["execID"] != ex.ID {
		t.Errorf("exec_die: %+v", got)
	}
	if got := restFind(evs, "container", "attach", id); len(got) != 1 {
		t.Errorf("attach: %+v", got)
	}
	for _, a := range []string{"mount", "unmount"} {
		if got := restFind(evs, "volume", a, id); len(got) != 1 || got[0].Actor.ID != "restvol" {
			t.Errorf("volume %s: %+v", a, got)
		}
	}
	var order []string
	for _, ev := range evs {
		if ev.Actor.ID == id || ev.Actor.Attributes["container"] == id {
			order = append(order, ev.Type+" "+strings.Fields(ev.Action + " ")[0])
		}
	}
	// dockerd 20.10's order (recorded for `docker run -d -v refvol:/data`, exec, attach, rm -f).
	want := []string{"container create", "network connect", "volume mount", "container start", "container exec_create:",
		"container exec_start:", "container exec_die", "container attach", "container kill", "container die",
		"network disconnect", "volume unmount", "container destroy"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order of events:\n%v\nwant\n%v", order, want)
	}

	// A supervisor killed, then its container: no one saw the exit.
	id2 := e.berth("run", "-d", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", id2) })
	pid, _ := strconv.Atoi(e.berth("inspect", "-f", "{{.State.Pid}}", id2))
	shim := restShimPid(t, id2)
	unix.Kill(shim, unix.SIGKILL)
	for unix.Kill(shim, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	unix.Kill(pid, unix.SIGKILL)
	for unix.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.client.ContainerInspect(e.ctx(), id2, client.ContainerInspectOptions{}); err != nil {
		t.Fatal(err)
	}
	e.berth("ps", "-a")
	e.execWaitExited(id2)
	evs = restEvents(t, e)
	if got := restFind(evs, "container", "die", id2); len(got) != 1 || got[0].Actor.Attributes["exitCode"] != "255" {
		t.Errorf("die of a container whose supervisor died: %+v", got)
	}
}

// restShimPid finds the shim (berth container-shim ID) of a container.
func restShimPid(t *testing.T, id string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + ent.Name() + "/cmdline")
		args := strings.Split(string(b), "\x00")
		if slices.Contains(args, "container-shim") && slices.Contains(args, id) {
			return pid
		}
	}
	t.Fatalf("no shim for %s", id)
	return 0
}

// restBlockDevice is a whole disk of this machine (blkio throttles need one), or "".
func restBlockDevice() string {
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "zram") || strings.HasPrefix(n, "ram") {
			continue
		}
		if _, err := os.Stat("/dev/" + n); err == nil {
			return "/dev/" + n
		}
	}
	return ""
}

// The cgroup settings of HostConfig reach the container's cgroup (a cgroup v1 host): the cgroup
// under CgroupParent, swappiness, the OOM killer off, a read throttle; what the host cannot
// apply is discarded with dockerd's warning.
func TestRestCgroupOptions(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("needs cgroup v1 (this host has the unified hierarchy)")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.swappiness"); err != nil {
		t.Skip("needs the v1 memory controller")
	}
	dev := restBlockDevice()
	if dev == "" {
		t.Skip("no block device to throttle")
	}
	e := newExecEnv(t)
	parent := "berthrest-cg"
	t.Cleanup(func() {
		for _, ctrl := range []string{"memory", "blkio", "cpu,cpuacct", "pids", "devices", "freezer", "cpuset", "net_cls,net_prio", "perf_event", "hugetlb", "systemd", "rdma"} {
			os.Remove(filepath.Join("/sys/fs/cgroup", ctrl, parent))
		}
	})
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	sw := int64(10)
	t10 := true
	res, err := e.client.ContainerCreate(e.ctx(), client.ContainerCreateOptions{
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "300"}},
		HostConfig: &container.HostConfig{NetworkMode: "none", Resources: container.Resources{
			CgroupParent: parent, Memory: 64 << 20, OomKillDisable: &t10, MemorySwappiness: &sw,
			BlkioDeviceReadBps: []*blkiodev.ThrottleDevice{{Path: dev, Rate: 1 << 20}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.berthRun("rm", "-f", res.ID) })
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	if _, err := e.client.ContainerStart(e.ctx(), res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	cg := func(ctrl, file string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, parent, res.ID, file))
		if err != nil {
			t.Error(err)
		}
		return string(b)
	}
	if got := strings.TrimSpace(cg("memory", "memory.swappiness")); got != "10" {
		t.Errorf("swappiness %q", got)
	}
	if got := cg("memory", "memory.oom_control"); !strings.Contains(got, "oom_kill_disable 1") {
		t.Errorf("oom_control %q", got)
	}
	if got, want := cg("blkio", "blkio.throttle.read_bps_device"), fmt.Sprintf("%d:%d 1048576", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))); !strings.Contains(got, want) {
		t.Errorf("read_bps_device %q, want %q", got, want)
	}
	if got := e.berth("inspect", "-f", "{{.HostConfig.CgroupParent}} {{.HostConfig.OomKillDisable}} {{.HostConfig.MemorySwappiness}} {{.HostConfig.BlkioDeviceReadBps}}", res.ID); got != "berthrest-cg true 10 [{"+dev+" 1048576}]" {
		t.Errorf("inspect: %s", got)
	}
	// A weight needs BFQ's blkio.weight: without it, dockerd's warning, and no weight.
	if _, err := os.Stat("/sys/fs/cgroup/blkio/blkio.weight"); err != nil {
		r2, err := e.client.ContainerCreate(e.ctx(), client.ContainerCreateOptions{
			Config:     &container.Config{Image: "busybox"},
			HostConfig: &container.HostConfig{Resources: container.Resources{BlkioWeight: 300}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.berthRun("rm", "-f", r2.ID) })
		if w := "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."; !slices.Contains(r2.Warnings, w) {
			t.Errorf("warnings %q, want %q", r2.Warnings, w)
		}
	}
}

// A network that does not exist fails the start, not the create, as in dockerd 20.10 (recorded:
// create 201, start 404 "network nosuchnet not found", the container left "created"); one
// made between the two is joined.
func TestRestUnknownNetworkFailsAtStart(t *testing.T) {
	e := newExecEnv(t)
	for _, hc := range []*container.HostConfig{{NetworkMode: "restnonet"}, nil} {
		opts := client.ContainerCreateOptions{Config: &container.Config{Image: "busybox", Cmd: []string{"true"}}, HostConfig: hc}
		if hc == nil {
			opts.NetworkingConfig = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"restnonet": {}}}
		}
		res, err := e.client.ContainerCreate(e.ctx(), opts)
		if err != nil {
			t.Fatalf("create on an unknown network: %v", err)
		}
		t.Cleanup(func() { e.berthRun("rm", "-f", res.ID) })
		_, err = e.client.ContainerStart(e.ctx(), res.ID, client.ContainerStartOptions{})
		if err == nil || err.Error() != "Error response from daemon: network restnonet not found" {
			t.Errorf("start: %v", err)
		}
		if code, body := e.httpDo("POST", "/containers/"+res.ID+"/start", ""); code != 404 {
			t.Errorf("start: %d %v", code, body)
		}
		if got := e.berth("inspect", "-f", "{{.State.Status}}", res.ID); got != "created" {
			t.Errorf("state after the failed start: %s", got)
		}
	}
	// Created meanwhile: the start joins it.
	res, err := e.client.ContainerCreate(e.ctx(), client.ContainerCreateOptions{Config: &container.Config{Image: "busybox", Cmd: []string{"true"}},
		HostConfig: &container.HostConfig{NetworkMode: "restlatenet"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.berthRun("rm", "-f", res.ID) })
	e.berth("network", "create", "restlatenet")
	t.Cleanup(func() { e.berthRun("network", "rm", "restlatenet") })
	if _, err := e.client.ContainerStart(e.ctx(), res.ID, client.ContainerStartOptions{}); err != nil {
		t.Errorf("start after the network was made: %v", err)
	}
	e.execWaitExited(res.ID)
}

// restTar is a tar of files (name → content; a name ending in "/" is a directory).
func restTar(t *testing.T, files ...string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		name, data := files[i], files[i+1]
		if strings.HasSuffix(name, "/") {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir})
			continue
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	return &buf
}

// A copy into (and out of) a tmpfs mount of a running container reaches the tmpfs, which only
// the container's mount namespace has, from both faces; PUT archive replaces a directory with
// a file and the reverse unless noOverwriteDirNonDir is set, as dockerd (recorded: 200 without
// it, 500 `Error processing tar file(exit status 1): cannot overwrite directory "/t/d" with
// non-directory "/t"` with it).
func TestRestCopyTmpfsAndOverwrite(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "--tmpfs", "/run/data", "--mount", "type=tmpfs,destination=/scratch", "busybox",
		"sh", "-c", "mkdir -p /t/d /run/data/sub && echo x > /t/file && sleep 300")
	t.Cleanup(func() { e.berthRun("rm", "-f", id) })
	for i := 0; i < 100 && e.berth("exec", id, "ls", "/t") != "d\nfile"; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := e.client.CopyToContainer(e.ctx(), id, client.CopyToContainerOptions{DestinationPath: "/run/data/sub", Content: restTar(t, "api.txt", "through the API\n")}); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(t.TempDir(), "cli.txt")
	os.WriteFile(host, []byte("through the CLI\n"), 0o644)
	e.berth("cp", host, id+":/scratch/")
	if got := e.berth("exec", id, "cat", "/run/data/sub/api.txt", "/scratch/cli.txt"); got != "through the API\nthrough the CLI" {
		t.Errorf("in the tmpfs mounts: %q", got)
	}
	res, err := e.client.CopyFromContainer(e.ctx(), id, client.CopyFromContainerOptions{SourcePath: "/scratch/cli.txt"})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	body, _ := io.ReadAll(tr)
	res.Content.Close()
	if err != nil || hdr.Name != "cli.txt" || string(body) != "through the CLI\n" {
		t.Errorf("out of the tmpfs: %v %v %q", hdr, err, body)
	}
	// Nothing of it went to the container's filesystem under the mounts.
	if _, err := os.Stat(filepath.Join(e.root, "containers", id, "upper", "scratch", "cli.txt")); err == nil {
		t.Error("the copy landed under the tmpfs, in the container's layer")
	}

	// noOverwriteDirNonDir.
	_, err = e.client.CopyToContainer(e.ctx(), id, client.CopyToContainerOptions{DestinationPath: "/t", Content: restTar(t, "d", "new\n")})
	if w := `Error response from daemon: Error processing tar file(exit status 1): cannot overwrite directory "/t/d" with non-directory "/t"`; err == nil || err.Error() != w {
		t.Errorf("a file over a directory with noOverwriteDirNonDir: %v", err)
	}
	for _, c := range []struct {
		files []string
		check string
	}{{[]string{"d", "new\n"}, "cat /t/d"}, {[]string{"file/", ""}, "test -d /t/file && echo dir"}} {
		if _, err := e.client.CopyToContainer(e.ctx(), id, client.CopyToContainerOptions{DestinationPath: "/t", Content: restTar(t, c.files...), AllowOverwriteDirWithFile: true}); err != nil {
			t.Errorf("%v without noOverwriteDirNonDir: %v", c.files, err)
		}
	}
	if got := e.berth("exec", id, "sh", "-c", "cat /t/d; test -d /t/file && echo dir"); got != "new\ndir" {
		t.Errorf("after the overwrites: %q", got)
	}
}
