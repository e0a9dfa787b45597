package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-engine/berth/events"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/client"
)

func TestSysImageListTagHistoryDelete(t *testing.T) {
	e := sysServe(t)
	ctx := context.Background()
	id := e.sysImport(t, "first:1", "one")
	if _, err := e.client.ImageTag(ctx, client.ImageTagOptions{Source: "first:1", Target: "second:2"}); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].ID != id || strings.Join(list.Items[0].RepoTags, ",") != "first:1,second:2" {
		t.Fatalf("images: %+v", list.Items)
	}
	if list.Items[0].Containers != 0 {
		t.Errorf("Containers = %d, want 0 (API 1.51+ counts them)", list.Items[0].Containers)
	}
	f := client.Filters{}.Add("reference", "second")
	list, err = e.client.ImageList(ctx, client.ImageListOptions{Filters: f})
	if err != nil || len(list.Items) != 1 || strings.Join(list.Items[0].RepoTags, ",") != "second:2" {
		t.Fatalf("reference=second: %+v %v", list, err)
	}
	// A filter the engine does not know is the caller's mistake.
	if _, err := e.client.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("colour", "red")}); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown filter: %v", err)
	}
	h, err := e.client.ImageHistory(ctx, "second:2")
	if err != nil || len(h.Items) == 0 || h.Items[0].ID != id {
		t.Fatalf("history: %+v %v", h, err)
	}
	// Old clients see Docker 20.10's shape: VirtualSize, Containers -1.
	code, _, body := sysGet(t, e, "/v1.41/images/json")
	if code != 200 || !strings.Contains(body, `"VirtualSize":`) || !strings.Contains(body, `"Containers":-1`) {
		t.Errorf("v1.41 images/json: %d %s", code, body)
	}
	// Deleting by ID when two repositories name it needs force: Docker's 409 and message.
	_, err = e.client.ImageRemove(ctx, id, client.ImageRemoveOptions{})
	if err == nil || !strings.Contains(err.Error(), "image is referenced in multiple repositories") {
		t.Fatalf("rmi by ID without force: %v", err)
	}
	code, _, body = sysDo(t, e, "DELETE", "/images/"+id, nil)
	if code != http.StatusConflict || !strings.Contains(body, `"message":"conflict: unable to delete`) {
		t.Errorf("DELETE without force: %d %s", code, body)
	}
	res, err := e.client.ImageRemove(ctx, "second:2", client.ImageRemoveOptions{})
	if err != nil || len(res.Items) != 1 || res.Items[0].Untagged != "second:2" {
		t.Fatalf("rmi second:2: %+v %v", res, err)
	}
	res, err = e.client.ImageRemove(ctx, "first:1", client.ImageRemoveOptions{})
	if err != nil || len(res.Items) < 2 || res.Items[0].Untagged != "first:1" || res.Items[1].Deleted != id {
		t.Fatalf("rmi first:1: %+v %v", res, err)
	}
	if _, err := e.client.ImageRemove(ctx, "first:1", client.ImageRemoveOptions{}); err == nil || !strings.Contains(err.Error(), "No such image: first:1") {
		t.Errorf("rmi of a missing image: %v", err)
	}
	if code, _, body := sysDo(t, e, "POST", "/images/nosuch:1/tag?repo=x", nil); code != 404 {
		t.Errorf("tag of a missing image: %d %s", code, body)
	}
	// Every action above is in the journal, as dockerd reports them.
	var got []string
	events.Read(ctx, e.root, events.ReadOptions{Since: timeZero.Add(1)}, func(m events.Message) error {
		if m.Type == events.TypeImage {
			got = append(got, m.Action+" "+m.Actor.Attributes["name"])
		}
		return nil
	})
	want := "import " + id + ",tag second:2,untag " + id + ",untag " + id + ",delete " + id
	if strings.Join(got, ",") != want {
		t.Errorf("image events:\n got  %s\n want %s", strings.Join(got, ","), want)
	}
}

func TestSysImageSaveLoadPrune(t *testing.T) {
	e := sysServe(t)
	ctx := context.Background()
	id := e.sysImport(t, "keep:1", "keep")
	dangling := e.sysImport(t, "", "dangling")
	rc, err := e.client.ImageSave(ctx, []string{"keep:1"})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || len(archive) == 0 {
		t.Fatalf("save: %d bytes, %v", len(archive), err)
	}
	if code, _, body := sysGet(t, e, "/images/nosuch:1/get"); code != 404 || !strings.Contains(body, "No such image") {
		t.Errorf("save of a missing image: %d %s", code, body)
	}
	// Prune takes the dangling image only.
	pr, err := e.client.ImagePrune(ctx, client.ImagePruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Report.ImagesDeleted) == 0 || pr.Report.ImagesDeleted[0].Deleted != dangling {
		t.Fatalf("prune: %+v", pr.Report)
	}
	if _, err := e.client.ImageRemove(ctx, "keep:1", client.ImageRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	lr, err := e.client.ImageLoad(ctx, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(lr)
	lr.Close()
	if !strings.Contains(string(out), `"stream":"Loaded image: keep:1\n"`) {
		t.Errorf("load answered %s", out)
	}
	if ins, err := e.client.ImageInspect(ctx, "keep:1"); err != nil || ins.ID != id {
		t.Errorf("after load: %+v %v", ins.ID, err)
	}
	// A bad archive is a 200 stream ending in Docker's error message, as dockerd answers.
	code, _, body := sysDo(t, e, "POST", "/images/load", strings.NewReader("not a tar"))
	if code != 200 || !strings.Contains(body, `"errorDetail":{"message":`) || !strings.Contains(body, `"error":`) {
		t.Errorf("load of garbage: %d %s", code, body)
	}
}

func TestSysImagePushPull(t *testing.T) {
	e := sysServe(t)
	ctx := context.Background()
	reg := httptest.NewServer(registry.New())
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	id := e.sysImport(t, host+"/team/app:1", "pushed")
	resp, err := e.client.ImagePush(ctx, host+"/team/app:1", client.ImagePushOptions{RegistryAuth: "e30="}) // {}
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	var aux map[string]any
	for m, err := range resp.JSONMessages(ctx) {
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		statuses = append(statuses, m.Status)
		if m.Aux != nil {
			json.Unmarshal(*m.Aux, &aux)
		}
	}
	resp.Close()
	all := strings.Join(statuses, "|")
	if !strings.Contains(all, "The push refers to repository ["+host+"/team/app]") || !strings.Contains(all, "Pushed") {
		t.Errorf("push statuses: %s", all)
	}
	if aux["Tag"] != "1" || !strings.HasPrefix(aux["Digest"].(string), "sha256:") {
		t.Errorf("push aux: %v", aux)
	}
	if _, err := e.client.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	pull, err := e.client.ImagePull(ctx, host+"/team/app:1", client.ImagePullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	statuses = nil
	for m, err := range pull.JSONMessages(ctx) {
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		statuses = append(statuses, m.Status)
	}
	pull.Close()
	all = strings.Join(statuses, "|")
	if !strings.Contains(all, "Status: Downloaded newer image for "+host+"/team/app:1") {
		t.Errorf("pull statuses: %s", all)
	}
	if ins, err := e.client.ImageInspect(ctx, host+"/team/app:1"); err != nil || ins.ID != id {
		t.Errorf("pulled image: %v %v", ins.ID, err)
	}
	// A missing repository fails before any output: a plain HTTP error.
	code, _, body := sysDo(t, e, "POST", "/images/create?fromImage="+host+"/team/none&tag=1", nil)
	if code < 400 || !strings.Contains(body, `"message"`) {
		t.Errorf("pull of a missing repository: %d %s", code, body)
	}
	// A malformed X-Registry-Auth is a 400.
	req, _ := http.NewRequest("POST", "http://berth/images/"+host+"/team/app/push?tag=1", nil)
	req.Header.Set("X-Registry-Auth", "%%%")
	if code, body := sysRequest(t, e, req); code != 400 {
		t.Errorf("bad X-Registry-Auth: %d %s", code, body)
	}
}

func TestSysCommitNeedsAContainer(t *testing.T) {
	e := sysServe(t)
	if code, _, body := sysDo(t, e, "POST", "/commit?container=nosuch", nil); code != 404 || !strings.Contains(body, "No such container: nosuch") {
		t.Errorf("commit of a missing container: %d %s", code, body)
	}
	if code, _, body := sysDo(t, e, "POST", "/commit?container=x", strings.NewReader("{bad")); code != 400 {
		t.Errorf("commit with malformed JSON: %d %s", code, body)
	}
}
