package api

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/moby/moby/client"
)

// An entry written as its two cached halves around Status is byte for byte what encoding/json
// writes for the whole entry (HTML escaping off), whatever the labels and status hold.
func TestListEntryHalvesAreOneDocument(t *testing.T) {
	type whole struct {
		summaryHead
		Status string
		summaryTail
	}
	for _, status := range []string{"Created", "Up 5 seconds (healthy)", `odd "quoted" \ <&> é` + "\x01"} {
		h := summaryHead{ID: "abc", Names: []string{"/n"}, Image: "bb:1", ImageID: "sha256:1", Command: `sh -c "x<y"`,
			Created: 7, Ports: []container.Port{{PrivatePort: 80, Type: "tcp"}}, SizeRw: 3,
			Labels: map[string]string{"Status": `"Status":`, "b": "<&>", "a": "ü"}, State: "exited"}
		var tl summaryTail
		tl.HostConfig.NetworkMode = "default"
		tl.NetworkSettings.Networks = map[string]container.InspectEndpoint{"bridge": {NetworkID: "n1"}}
		tl.Mounts = []container.InspectMount{{Type: "bind", Source: "/a&b", Destination: "/c"}}
		var want bytes.Buffer
		if err := appendJSON(&want, whole{h, status, tl}); err != nil {
			t.Fatal(err)
		}
		var hb, tb, got bytes.Buffer
		appendJSON(&hb, h)
		appendJSON(&tb, tl)
		got.Write(hb.Bytes()[:hb.Len()-1])
		got.WriteString(`,"Status":`)
		appendJSONString(&got, status)
		got.WriteString(",")
		got.Write(tb.Bytes()[1:])
		if got.String() != want.String() {
			t.Errorf("halves\n%s\nwhole\n%s", got.String(), want.String())
		}
	}
}

// What a CLI process writes shows in the very next API listing (serve's listing caches never
// answer stale), and the Status of an unchanged container still tells the time of the request.
func TestListSeesCLIWritesAtOnce(t *testing.T) {
	e := newContainersEnv(t)
	ids := func(all bool) map[string]string {
		t.Helper()
		list, err := e.client.ContainerList(e.ctx, client.ContainerListOptions{All: all})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range list.Items {
			out[c.ID] = strings.Join(c.Names, ",") + " " + string(c.State) + " " + c.Status
		}
		return out
	}
	tags := func() []string {
		t.Helper()
		list, err := e.client.ImageList(e.ctx, client.ImageListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, img := range list.Items {
			out = append(out, img.RepoTags...)
		}
		return out
	}
	if got := ids(true); len(got) != 0 {
		t.Fatalf("a fresh root lists %v", got)
	}
	tags() // the image listing is cached now
	for i := 0; i < 3; i++ {
		id := strings.TrimSpace(e.berth("create", "--network", "none", "bb:1", "true"))
		if got := ids(true); len(got) != i+1 || got[id] == "" {
			t.Fatalf("created %s; the next listing has %v", id, got)
		}
	}
	e.berth("tag", "bb:1", "other:2")
	if got := tags(); !slices.Contains(got, "other:2") {
		t.Fatalf("tagged other:2; the next listing has %v", got)
	}
	// A listed container renamed by the CLI; one whose image name went elsewhere (Image is
	// then the image's ID, as dockerd lists it).
	byName := strings.TrimSpace(e.berth("create", "--network", "none", "--name", "first", "other:2", "true"))
	if got := ids(true)[byName]; !strings.HasPrefix(got, "/first created") {
		t.Fatalf("the listing has %q", got)
	}
	e.berth("rename", "first", "second")
	if got := ids(true)[byName]; !strings.HasPrefix(got, "/second created") {
		t.Fatalf("renamed first to second; the next listing has %q", got)
	}
	image := func() string {
		t.Helper()
		list, err := e.client.ContainerList(e.ctx, client.ContainerListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list.Items {
			if c.ID == byName {
				return c.Image
			}
		}
		return ""
	}
	if got := image(); got != "other:2" {
		t.Fatalf("Image %q, want other:2", got)
	}
	e.berth("rmi", "other:2")
	if got := tags(); slices.Contains(got, "other:2") {
		t.Fatalf("untagged other:2; the next listing has %v", got)
	}
	if got := image(); !strings.HasPrefix(got, "sha256:") {
		t.Fatalf("untagged other:2; the next listing's Image is %q, want the image's ID", got)
	}
	e.berth("rm", "second")
	id := strings.TrimSpace(e.berth("run", "-d", "--network", "none", "--name", "sleeper", "bb:1", "sleep", "60"))
	if got := ids(false); !strings.HasPrefix(got[id], "/sleeper running Up") {
		t.Fatalf("ran %s; the next listing of running containers has %v", id, got)
	}
	e.berth("rename", "sleeper", "dozer")
	e.berth("kill", "dozer")
	got := ids(true)
	if !strings.HasPrefix(got[id], "/dozer exited Exited (137) ") {
		t.Fatalf("renamed and killed %s; the next listing has %q", id, got[id])
	}
	// Unchanged since, its entry is reused; its Status is not.
	time.Sleep(2100 * time.Millisecond)
	if again := ids(true)[id]; again == got[id] || !strings.HasSuffix(again, "seconds ago") {
		t.Errorf("two seconds later the listing says %q, as before (%q)", again, got[id])
	}
	// Another container's record gives it a name: a link to it.
	linker := strings.TrimSpace(e.berth("create", "--name", "linker", "--link", "dozer:al", "bb:1", "true"))
	if got := ids(true)[id]; !strings.HasPrefix(got, "/dozer,/linker/al exited") {
		t.Fatalf("linked to dozer as al; the next listing has %q", got)
	}
	e.berth("rm", linker)
	if got := ids(true)[id]; !strings.HasPrefix(got, "/dozer exited") {
		t.Fatalf("removed its linker; the next listing has %q", got)
	}
	e.berth("rm", "dozer")
	if got := ids(true); got[id] != "" || len(got) != 3 {
		t.Errorf("removed %s; the next listing has %v", id, got)
	}
}
