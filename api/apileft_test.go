package api

// Tests of issue 15's last gaps (detached exec events, pull of one platform, a network removed
// before start, link names, the classic build stream's IDs): a real `berth serve` and the CLI on
// the same root, with the expectations recorded from dockerd 20.10 here.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
)

// apileftEvent waits (up to a minute: the machine is shared) for an event of container id whose
// action starts with action and whose execID is execID (any with ""), and returns it.
func apileftEvent(t *testing.T, e *execEnv, id, action, execID string) (restEvent, bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, ev := range restFind(restEvents(t, e), "container", action, id) {
			if execID == "" || ev.Actor.Attributes["execID"] == execID {
				return ev, true
			}
		}
	}
	return restEvent{}, false
}

// A detached exec has its exec_die with the exit code, from both faces, as dockerd 20.10 writes
// it (recorded with `docker exec -d` and POST /exec/ID/start {"Detach":true}): exec_create and
// exec_start name the command as entrypoint + " " + arguments ("true " alone), and a command
// the runtime cannot start has exec_create and exec_start but no exec_die.
func TestApileftExecDetachedEvents(t *testing.T) {
	e := newExecEnv(t)
	id := e.berth("run", "-d", "--network", "none", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", id) })

	// The CLI: berth exec -d returns at once; the process ends later with 3.
	e.berth("exec", "-d", id, "sh", "-c", "sleep 0.3; exit 3")
	start, ok := apileftEvent(t, e, id, "exec_start: sh -c sleep 0.3; exit 3", "")
	if !ok {
		t.Fatal("no exec_start for exec -d")
	}
	xid := start.Actor.Attributes["execID"]
	if die, ok := apileftEvent(t, e, id, "exec_die", xid); !ok || die.Actor.Attributes["exitCode"] != "3" {
		t.Errorf("exec_die of exec -d: %+v %v", die, ok)
	}
	// With a terminal too.
	e.berth("exec", "-d", "-t", id, "sh", "-c", "exit 4")
	start, ok = apileftEvent(t, e, id, "exec_start: sh -c exit 4", "")
	if !ok {
		t.Fatal("no exec_start for exec -d -t")
	}
	if die, ok := apileftEvent(t, e, id, "exec_die", start.Actor.Attributes["execID"]); !ok || die.Actor.Attributes["exitCode"] != "4" {
		t.Errorf("exec_die of exec -d -t: %+v %v", die, ok)
	}
	// A command without arguments: "true " (dockerd's entrypoint + " " + args).
	e.berth("exec", "-d", id, "true")
	start, ok = apileftEvent(t, e, id, "exec_start: true ", "")
	if !ok || start.Action != "exec_start: true " {
		t.Fatalf("exec_start of true: %+v", start)
	}
	if die, ok := apileftEvent(t, e, id, "exec_die", start.Actor.Attributes["execID"]); !ok || die.Actor.Attributes["exitCode"] != "0" {
		t.Errorf("exec_die of true: %+v %v", die, ok)
	}

	// The API: a detached start.
	cr, err := e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{Cmd: []string{"sh", "-c", "exit 5"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ExecStart(e.ctx(), cr.ID, client.ExecStartOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	if die, ok := apileftEvent(t, e, id, "exec_die", cr.ID); !ok || die.Actor.Attributes["exitCode"] != "5" {
		t.Errorf("exec_die of a detached API exec: %+v %v", die, ok)
	}

	// A command the runtime cannot start: 126 and runc's words (non-detached) and no exec_die
	// for either; the detached one's exec_start is there.
	if out, code := e.berthRun("exec", id, "nosuchcmd"); code != 126 {
		t.Errorf("exec nosuchcmd: %d %s", code, out)
	}
	if out, code := e.berthRun("exec", "-d", id, "nosuchcmd2"); code == 0 {
		t.Errorf("exec -d nosuchcmd2: %d %s", code, out)
	}
	if _, ok := apileftEvent(t, e, id, "exec_start: nosuchcmd2 ", ""); !ok {
		t.Error("no exec_start for exec -d nosuchcmd2")
	}
	// Through the API, a detached start of it is refused as dockerd 20.10 refuses it (recorded:
	// 400 {"message":"OCI runtime exec failed: exec failed: unable to start container process:
	// exec: \"nosuchcmd3\": executable file not found in $PATH: unknown"}), exit code 126.
	cr3, err := e.client.ExecCreate(e.ctx(), id, client.ExecCreateOptions{Cmd: []string{"nosuchcmd3"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ExecStart(e.ctx(), cr3.ID, client.ExecStartOptions{Detach: true})
	if want := `OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd3": executable file not found in $PATH: unknown`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("detached API start of a missing command: %v, want %q", err, want)
	}
	if code, body := e.httpDo("POST", "/exec/"+cr3.ID+"/start", `{"Detach":true}`); code != 409 {
		t.Errorf("a second start: %d %s", code, body)
	}
	if ins, err := e.client.ExecInspect(e.ctx(), cr3.ID, client.ExecInspectOptions{}); err != nil || ins.ExitCode != 126 || ins.Running {
		t.Errorf("exec inspect after the refused start: %+v %v", ins, err)
	}
	// Every exec_die seen so far belongs to one of the four that ran.
	if dies := restFind(restEvents(t, e), "container", "exec_die", id); len(dies) != 4 {
		t.Errorf("exec_die events: %d, want 4 (none for a command that could not start): %+v", len(dies), dies)
	}
}

// apileftIndex pushes to a registry on 127.0.0.1 an index of linux/amd64, linux/arm/v7 and
// linux/arm64/v8 images (random layers) as ref, and a single-platform linux/amd64 image as
// single; it returns the index's digest.
func apileftIndex(t *testing.T, ref, single string) string {
	t.Helper()
	var adds []mutate.IndexAddendum
	for i, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img, err := random.Image(2<<10, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			r, _ := name.ParseReference(single)
			if err := remote.Write(r, img); err != nil {
				t.Fatal(err)
			}
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	r, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d.String()
}

// POST /images/create?platform= and `berth pull --platform` (the same distribution.Pull) take
// the one platform asked for from an index, as dockerd 20.10 did against an index of amd64,
// arm/v7 and arm64/v8 pushed to a registry on 127.0.0.1 (curl on its socket):
//   - linux/arm/v7, linux/arm64, Linux/AMD64: that image; linux/arm/v6: arm/v7 (20.10's older
//     arm matching when no variant matches);
//   - linux/s390x: 200, {"status":"Pulling from multi/bb","id":"1"}, then
//     {"errorDetail":{"message":"no matching manifest for linux/s390x in the manifest list entries"},"error":…};
//   - foo: 400 {"message":"\"foo\": unknown operating system or architecture: invalid argument"};
//   - a single-platform linux/amd64 image with platform=linux/arm64: pulled as it is.
func TestApileftPullPlatform(t *testing.T) {
	e := sysServe(t)
	ctx := context.Background()
	reg := httptest.NewServer(registry.New())
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	ref, single := host+"/multi/bb:1", host+"/single/bb:1"
	idxDigest := apileftIndex(t, ref, single)

	platformOf := func(ref string) string {
		t.Helper()
		ins, err := e.client.ImageInspect(ctx, ref)
		if err != nil {
			t.Fatalf("inspect %s: %v", ref, err)
		}
		return strings.TrimSuffix(ins.Os+"/"+ins.Architecture+"/"+ins.Variant, "/")
	}
	for _, tc := range []struct{ platform, want string }{
		{"linux/arm/v7", "linux/arm/v7"}, {"linux/arm64", "linux/arm64/v8"}, {"Linux/AMD64", "linux/amd64"},
		{"linux/arm/v6", "linux/arm/v7"},
	} {
		code, _, body := sysDo(t, e, "POST", "/images/create?fromImage="+host+"/multi/bb&tag=1&platform="+tc.platform, nil)
		if code != 200 || !strings.Contains(body, `"status":"Digest: `+idxDigest+`"`) || strings.Contains(body, "error") {
			t.Fatalf("pull for %s: %d %s", tc.platform, code, body)
		}
		if got := platformOf(ref); got != tc.want {
			t.Errorf("pull for %s: got %s, want %s", tc.platform, got, tc.want)
		}
		if _, err := e.client.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}

	code, _, body := sysDo(t, e, "POST", "/images/create?fromImage="+host+"/multi/bb&tag=1&platform=linux/s390x", nil)
	want := `{"status":"Pulling from multi/bb","id":"1"}` + "\n" +
		`{"errorDetail":{"message":"no matching manifest for linux/s390x in the manifest list entries"},"error":"no matching manifest for linux/s390x in the manifest list entries"}` + "\n"
	if code != 200 || body != want {
		t.Errorf("pull for linux/s390x: %d %q\nwant 200 %q", code, body, want)
	}
	if _, err := e.client.ImageInspect(ctx, ref); err == nil {
		t.Error("an image was recorded for linux/s390x")
	}
	code, _, body = sysDo(t, e, "POST", "/images/create?fromImage="+host+"/multi/bb&tag=1&platform=foo", nil)
	if want := `{"message":"\"foo\": unknown operating system or architecture: invalid argument"}` + "\n"; code != 400 || body != want {
		t.Errorf("pull for foo: %d %q, want 400 %q", code, body, want)
	}
	code, _, body = sysDo(t, e, "POST", "/images/create?fromImage="+host+"/single/bb&tag=1&platform=linux/arm64", nil)
	if code != 200 || strings.Contains(body, "error") || platformOf(single) != "linux/amd64" {
		t.Errorf("single-platform image for linux/arm64: %d %s", code, body)
	}

	// The CLI: the same choice and the same error.
	bin := testBerth(t)
	berth := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"--root", e.root}, args...)...)
		var out, errs strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errs.String(), code
	}
	if out, errs, code := berth("pull", "-q", "--platform", "linux/arm/v6", ref); code != 0 || out != ref+"\n" {
		t.Fatalf("berth pull --platform linux/arm/v6: %d %q %q", code, out, errs)
	}
	if got := platformOf(ref); got != "linux/arm/v7" {
		t.Errorf("berth pull --platform linux/arm/v6: %s", got)
	}
	// docker pull --platform linux/s390x (20.10 CLI and daemon): "1: Pulling from multi/bb" on
	// stdout, the error on stderr.
	out, errs, code := berth("pull", "--platform", "linux/s390x", host+"/multi/bb:1")
	if code == 0 || out != "1: Pulling from multi/bb\n" || !strings.Contains(errs, "no matching manifest for linux/s390x in the manifest list entries") {
		t.Errorf("berth pull --platform linux/s390x: %d %q %q", code, out, errs)
	}
}

// A network removed between create and start: dockerd 20.10 (recorded with `docker network rm`
// between `docker create --network` and the start) answers the start 404 {"message":"network
// apln not found"}, the CLI prints "Error response from daemon: network apln not found" and
// "Error: failed to start containers: apl3" (exit 1), and the container stays "created" with
// State.Error "network apln not found" and ExitCode 128; the same for a network unknown at create.
func TestApileftRemovedNetworkFailsAtStart(t *testing.T) {
	e := newExecEnv(t)
	e.berth("network", "create", "apilnet")
	t.Cleanup(func() { e.berthRun("network", "rm", "apilnet") })
	viaAPI := e.berth("create", "--network", "apilnet", "busybox", "true")
	t.Cleanup(func() { e.berthRun("rm", "-f", viaAPI) })
	viaCLI := e.berth("create", "--network", "apilnet", "busybox", "true")
	t.Cleanup(func() { e.berthRun("rm", "-f", viaCLI) })
	unknown := e.berth("create", "--network", "apilnonet", "busybox", "true")
	t.Cleanup(func() { e.berthRun("rm", "-f", unknown) })
	e.berth("network", "rm", "apilnet")

	if code, body := e.httpDo("POST", "/containers/"+viaAPI+"/start", ""); code != 404 || body != `{"message":"network apilnet not found"}`+"\n" {
		t.Errorf("API start: %d %q", code, body)
	}
	out, code := e.berthRun("start", viaCLI)
	if want := "Error: network apilnet not found\nError: failed to start containers: " + viaCLI + "\n"; code != 1 || !strings.HasSuffix(out, want) {
		t.Errorf("berth start: %d %q, want 1 and ending %q", code, out, want)
	}
	for id, net := range map[string]string{viaAPI: "apilnet", viaCLI: "apilnet", unknown: "apilnonet"} {
		if id == unknown {
			e.berthRun("start", id)
		}
		if got := e.berth("inspect", "-f", "{{.State.Status}}|{{.State.Error}}|{{.State.ExitCode}}", id); got != "created|network "+net+" not found|128" {
			t.Errorf("state after the failed start of %s: %s", id, got)
		}
	}
}

// A legacy link's target is listed under its link names too, and its linkers' /etc/hosts follow
// it when it starts again on another address, as dockerd 20.10 (recorded: apt1, apme --link
// apt1:al, apme2 --link apt1 --link apme:x; GET /containers/json's Names ['/apme/al',
// '/apme2/apt1', '/apt1'] and ['/apme', '/apme2/x'], `docker ps --no-trunc` "apme/al,apme2/apt1,apt1",
// `docker ps` "apt1"; apt1 stopped, another container started, apt1 started at a new address:
// apme's line "NEWIP\tal ID12 apt1", apme2's "NEWIP\tapt1 ID12").
func TestApileftLinkNamesAndLinkersHosts(t *testing.T) {
	e := newExecEnv(t)
	t1 := e.berth("run", "-d", "--name", "apt1", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", t1) })
	me := e.berth("run", "-d", "--name", "apme", "--link", "apt1:al", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", me) })
	me2 := e.berth("run", "-d", "--name", "apme2", "--link", "apt1", "--link", "apme:x", "busybox", "sleep", "300")
	t.Cleanup(func() { e.berthRun("rm", "-f", me2) })

	list, err := e.client.ContainerList(e.ctx(), client.ContainerListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, c := range list.Items {
		names[c.ID] = strings.Join(c.Names, " ")
	}
	for id, want := range map[string]string{t1: "/apme/al /apme2/apt1 /apt1", me: "/apme /apme2/x", me2: "/apme2"} {
		if names[id] != want {
			t.Errorf("Names of %s: %q, want %q", id[:12], names[id], want)
		}
	}
	if got := e.berth("ps", "--no-trunc", "--format", "{{.Names}}"); got != "apme2\napme,apme2/x\napme/al,apme2/apt1,apt1" {
		t.Errorf("ps --no-trunc: %q", got)
	}
	if got := e.berth("ps", "--format", "{{.Names}}"); got != "apme2\napme\napt1" {
		t.Errorf("ps: %q", got)
	}

	// The target starts again on another address (the one it had is taken meanwhile).
	old := e.berth("inspect", "-f", "{{.NetworkSettings.IPAddress}}", t1)
	ip := old
	for i := 0; i < 3 && ip == old; i++ {
		e.berth("stop", "-t", "0", t1)
		fill := e.berth("run", "-d", "busybox", "sleep", "300")
		t.Cleanup(func() { e.berthRun("rm", "-f", fill) })
		e.berth("start", t1)
		ip = e.berth("inspect", "-f", "{{.NetworkSettings.IPAddress}}", t1)
	}
	if ip == old {
		t.Fatalf("the target kept its address %s through three restarts", ip)
	}
	hostsLine := func(id, name string) string {
		for _, l := range strings.Split(e.berth("exec", id, "cat", "/etc/hosts"), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[1] == name {
				return l
			}
		}
		return ""
	}
	if got, want := hostsLine(me, "al"), ip+"\tal "+t1[:12]+" apt1"; got != want {
		t.Errorf("apme's /etc/hosts line for al: %q, want %q", got, want)
	}
	if got, want := hostsLine(me2, "apt1"), ip+"\tapt1 "+t1[:12]; got != want {
		t.Errorf("apme2's /etc/hosts line for apt1: %q, want %q", got, want)
	}
	// A link the linker removed is not written back.
	e.berth("rm", "--link", "/apme/al")
	e.berth("restart", "-t", "0", t1)
	if got := hostsLine(me, "al"); got != "" {
		t.Errorf("apme's /etc/hosts after rm --link and the target's restart: %q", got)
	}
}

// The classic stream's IDs, where berth has real ones. dockerd 20.10 (recorded with curl on its
// socket, nocache) sends for FROM reference-busybox:1 / RUN echo hi > /f / ENV A=1 / RUN cat /f /
// CMD ["sh"]: after each "Step N/M : …" and its "\n", " ---> BASEID" for FROM; " ---> Running in
// CID", the output, "Removing intermediate container CID" and " ---> IMAGEID" for every other
// step (metadata ones too: a container and an image each); then aux, "Successfully built ID".
// berth shows the base image's ID (" ---> " alone for scratch, nothing for a stage FROM an
// earlier one, whose image berth never records), a RUN's own container (the first 12 hex
// digits of its "build-…" runtime ID) and its removal, and " ---> ID" of the built image
// after the last step; no intermediate image IDs (berth makes none) and no containers for
// metadata steps (berth runs none).
func TestApileftBuildClassicIDs(t *testing.T) {
	e := newExecEnv(t)
	base := strings.TrimPrefix(e.berth("image", "inspect", "-f", "{{.Id}}", "busybox"), "sha256:")[:12]
	hex12 := regexp.MustCompile(`^[0-9a-f]{12}$`)
	// lines are the stream messages with the IDs given names: BASE, FINAL, C1, C2...
	lines := func(msgs []map[string]any) []string {
		var out []string
		final := ""
		for _, m := range msgs {
			if aux, ok := m["aux"].(map[string]any); ok {
				id, _ := aux["ID"].(string)
				final = strings.TrimPrefix(id, "sha256:")[:12]
			}
		}
		containers := map[string]string{}
		for _, m := range msgs {
			s, ok := m["stream"].(string)
			if !ok {
				continue
			}
			for _, prefix := range []string{" ---> Running in ", "Removing intermediate container "} {
				if id, ok := strings.CutPrefix(strings.TrimSuffix(s, "\n"), prefix); ok && hex12.MatchString(id) {
					if containers[id] == "" {
						containers[id] = fmt.Sprintf("C%d", len(containers)+1)
					}
					s = prefix + containers[id] + "\n"
				}
			}
			s = strings.ReplaceAll(s, base, "BASE")
			if final != "" {
				s = strings.ReplaceAll(s, final, "FINAL")
			}
			out = append(out, s)
		}
		return out
	}
	df := "FROM busybox\nRUN echo hi > /f\nENV A=1\nRUN cat /f\nCMD [\"sh\"]\n"
	want := []string{"Step 1/5 : FROM busybox", "\n", " ---> BASE\n", "Step 2/5 : RUN echo hi > /f", "\n",
		" ---> Running in C1\n", "Removing intermediate container C1\n", "Step 3/5 : ENV A=1", "\n", "Step 4/5 : RUN cat /f", "\n",
		" ---> Running in C2\n", "hi\n", "Removing intermediate container C2\n", "Step 5/5 : CMD [\"sh\"]", "\n", " ---> FINAL\n",
		"Successfully built FINAL\n", "Successfully tagged classic:1\n"}
	msgs := execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": df}), client.ImageBuildOptions{Tags: []string{"classic:1"}, NoCache: true})
	if got := lines(msgs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("classic stream:\n%q\nwant\n%q", got, want)
	}
	// From the cache: no containers.
	want = []string{"Step 1/5 : FROM busybox", "\n", " ---> BASE\n", "Step 2/5 : RUN echo hi > /f", "\n", " ---> Using cache\n",
		"Step 3/5 : ENV A=1", "\n", " ---> Using cache\n", "Step 4/5 : RUN cat /f", "\n", " ---> Using cache\n",
		"Step 5/5 : CMD [\"sh\"]", "\n", " ---> Using cache\n", " ---> FINAL\n", "Successfully built FINAL\n", "Successfully tagged classic:1\n"}
	msgs = execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": df}), client.ImageBuildOptions{Tags: []string{"classic:1"}})
	if got := lines(msgs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("cached classic stream:\n%q\nwant\n%q", got, want)
	}
	// scratch and a stage FROM a stage (dockerd: " ---> " for scratch, the stage's image ID for
	// FROM s, which berth does not record).
	df = "FROM scratch AS s\nCOPY Dockerfile /\nFROM s\nLABEL x=1\n"
	want = []string{"Step 1/4 : FROM scratch AS s", "\n", " ---> \n", "Step 2/4 : COPY Dockerfile /", "\n",
		"Step 3/4 : FROM s", "\n", "Step 4/4 : LABEL x=1", "\n", " ---> FINAL\n", "Successfully built FINAL\n"}
	msgs = execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": df}), client.ImageBuildOptions{NoCache: true})
	if got := lines(msgs); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("scratch and stages:\n%q\nwant\n%q", got, want)
	}
	// -q: the ID alone.
	msgs = execBuildMessages(t, e, execContextTar(t, map[string]string{"Dockerfile": df}), client.ImageBuildOptions{SuppressOutput: true})
	if got := lines(msgs); len(got) != 1 || !strings.HasPrefix(got[0], "sha256:") {
		t.Errorf("quiet build: %q", got)
	}
}
