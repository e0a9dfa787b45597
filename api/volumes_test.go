package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// Volumes through the API: create (labels, the local driver's options mounted at first use),
// list with filters, inspect, remove (409 in use, force), prune, and dockerd's errors.
func TestVolumesAPI(t *testing.T) {
	e := newExecEnv(t)
	ctx := e.ctx()
	cr, err := e.client.VolumeCreate(ctx, client.VolumeCreateOptions{Name: "data", Labels: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Volume.Name != "data" || cr.Volume.Driver != "local" || cr.Volume.Labels["team"] != "a" || cr.Volume.Scope != "local" {
		t.Errorf("create: %+v", cr.Volume)
	}
	// The same name again: the existing volume, unchanged.
	again, err := e.client.VolumeCreate(ctx, client.VolumeCreateOptions{Name: "data"})
	if err != nil || again.Volume.Labels["team"] != "a" {
		t.Errorf("create again: %+v %v", again.Volume, err)
	}
	tmp, err := e.client.VolumeCreate(ctx, client.VolumeCreateOptions{Name: "scratch", DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000"}})
	if err != nil || tmp.Volume.Options["type"] != "tmpfs" {
		t.Fatalf("create with options: %+v %v", tmp.Volume, err)
	}
	// The options are mounted when a container uses the volume.
	out, code := e.berthRun("run", "--rm", "-v", "scratch:/s", "busybox", "sh", "-c", "stat -c %u /s; grep ' /s ' /proc/mounts")
	if code != 0 || !strings.HasPrefix(out, "1000\n") || !strings.Contains(out, "tmpfs /s tmpfs") {
		t.Errorf("the tmpfs volume in a container: %d %s", code, out)
	}
	id := e.berth("create", "-v", "data:/d", "busybox", "true")

	ls, err := e.client.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", "team=a")})
	if err != nil || len(ls.Items) != 1 || ls.Items[0].Name != "data" {
		t.Errorf("list label=team=a: %+v %v", ls.Items, err)
	}
	ls, err = e.client.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("dangling", "true")})
	if err != nil || len(ls.Items) != 1 || ls.Items[0].Name != "scratch" {
		t.Errorf("list dangling=true: %+v %v", ls.Items, err)
	}
	ins, err := e.client.VolumeInspect(ctx, "data", client.VolumeInspectOptions{})
	if err != nil || ins.Volume.Mountpoint != e.root+"/volumes/data/_data" {
		t.Errorf("inspect: %+v %v", ins.Volume, err)
	}

	for _, c := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"GET", "/volumes/nosuch", "", 404, "get nosuch: no such volume"},
		{"DELETE", "/volumes/nosuch", "", 404, "get nosuch: no such volume"},
		{"DELETE", "/volumes/nosuch?force=1", "", 204, ""},
		{"DELETE", "/volumes/data", "", 409, "remove data: volume is in use - [" + id + "]"},
		{"POST", "/volumes/create", `{"Name":"bad","Driver":"invalid.driver"}`, 404, `create bad: error looking up volume plugin invalid.driver: plugin \"invalid.driver\" not found`},
		{"POST", "/volumes/create", `{"Name":"t/v"}`, 400, `create t/v: \"t/v\" includes invalid characters for a local volume name`},
		{"POST", "/volumes/create", `{"Name":"oo","DriverOpts":{"foo":"bar"}}`, 400, `create oo: invalid option: \"foo\"`},
		{"POST", "/volumes/create", `{"Name":`, 400, "invalid JSON"},
		{"GET", "/volumes?filters=" + `%7B%22nope%22%3A%7B%22x%22%3Atrue%7D%7D`, "", 400, "nope"},
	} {
		code, body := e.httpDo(c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s %s: %d %s, want %d %q", c.method, c.path, code, body, c.code, c.msg)
		}
	}
	if _, err := e.client.VolumeInspect(ctx, "oo", client.VolumeInspectOptions{}); err == nil {
		t.Error("a refused create left a volume")
	}

	// Prune: from API 1.42 only anonymous volumes unless all; the used one stays.
	anon, err := e.client.VolumeCreate(ctx, client.VolumeCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := e.client.VolumePrune(ctx, client.VolumePruneOptions{})
	if err != nil || len(pr.Report.VolumesDeleted) != 1 || pr.Report.VolumesDeleted[0] != anon.Volume.Name {
		t.Errorf("prune (anonymous only): %+v %v", pr.Report, err)
	}
	pr, err = e.client.VolumePrune(ctx, client.VolumePruneOptions{All: true})
	if err != nil || len(pr.Report.VolumesDeleted) != 1 || pr.Report.VolumesDeleted[0] != "scratch" {
		t.Errorf("prune all: %+v %v", pr.Report, err)
	}
	// The tmpfs is gone with its volume; the root holds no mount of it.
	if code, _ := e.httpDo("GET", "/volumes/scratch", ""); code != http.StatusNotFound {
		t.Errorf("scratch after prune: %d", code)
	}
	e.berth("rm", id)
	if _, err := e.client.VolumeRemove(ctx, "data", client.VolumeRemoveOptions{}); err != nil {
		t.Errorf("remove: %v", err)
	}
}
