package api

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Links, IPv6 and endpoint options through the API, as docker-py and the docker CLI send them:
// HostConfig.Links (and the link variables the container sees), DELETE ?link=1 on NAME/ALIAS,
// EnableIPv6 with an IPv6 IPAM config, and connect with MacAddress, DriverOpts and Links.
func TestNetworksLinksAPI(t *testing.T) {
	e := newExecEnv(t)
	e.berth("run", "-d", "--name", "tgt", "-e", "FOO=1", "busybox", "sleep", "300")
	code, body := e.httpDo("POST", "/containers/create?name=me", `{"Image":"busybox","Cmd":["sleep","300"],"HostConfig":{"Links":["tgt:al"],"NetworkMode":"bridge"}}`)
	if code != 201 {
		t.Fatalf("create with links: %d %s", code, body)
	}
	if code, body := e.httpDo("POST", "/containers/me/start", ""); code != 204 {
		t.Fatalf("start: %d %s", code, body)
	}
	if got := e.berth("inspect", "-f", "{{json .HostConfig.Links}}", "me"); got != `["/tgt:/me/al"]` {
		t.Errorf("HostConfig.Links %s", got)
	}
	if env := e.berth("exec", "me", "env"); !strings.Contains(env, "AL_ENV_FOO=1\n") || !strings.Contains(env, "AL_NAME=/me/al\n") {
		t.Errorf("link variables:\n%s", env)
	}
	// Docker's answers: a container's own name is no link (409), a missing link is 404.
	if code, body := e.httpDo("DELETE", "/containers/tgt?link=1", ""); code != 409 || !strings.Contains(body, "cannot remove the default link name") {
		t.Errorf("DELETE ?link of a container: %d %s", code, body)
	}
	if code, body := e.httpDo("DELETE", "/containers/me/zz?link=1", ""); code != 404 || !strings.Contains(body, "No such container: me/zz") {
		t.Errorf("DELETE ?link of a missing link: %d %s", code, body)
	}
	if code, body := e.httpDo("DELETE", "/containers/me/al?link=1", ""); code != 204 {
		t.Errorf("DELETE ?link: %d %s", code, body)
	}
	if got := e.berth("inspect", "-f", "{{json .HostConfig.Links}}", "me"); got != "null" {
		t.Errorf("HostConfig.Links after removing the link: %s", got)
	}
	if code, body := e.httpDo("POST", "/containers/create", `{"Image":"busybox","HostConfig":{"Links":["nope:x"]}}`); code != 404 || !strings.Contains(body, "could not get container for nope") {
		t.Errorf("a link to a missing container: %d %s", code, body)
	}

	sn := fmt.Sprintf("fd42:%x:%x::/64", rand.Intn(0xffff), rand.Intn(0xffff))
	base := strings.TrimSuffix(sn, "/64")
	code, body = e.httpDo("POST", "/networks/create", `{"Name":"v6api","EnableIPv6":true,"IPAM":{"Config":[{"Subnet":"`+sn+`","Gateway":"`+base+`ffff"}]}}`)
	if code != 201 {
		t.Fatalf("create an IPv6 network: %d %s", code, body)
	}
	if got := e.berth("network", "inspect", "-f", "{{.EnableIPv6}} {{len .IPAM.Config}}", "v6api"); got != "true 2" {
		t.Errorf("network inspect: %s", got)
	}
	e.berth("create", "--name", "cc", "busybox", "sleep", "300")
	code, body = e.httpDo("POST", "/networks/v6api/connect", `{"Container":"cc","EndpointConfig":{"MacAddress":"02:42:ac:11:00:99",
		"DriverOpts":{"com.example.x":"on"},"Links":["tgt:up"],"IPAMConfig":{"IPv6Address":"`+base+`f00d"}}}`)
	if code != 200 {
		t.Fatalf("connect: %d %s", code, body)
	}
	f := `{{with index .NetworkSettings.Networks "v6api"}}{{.MacAddress}} {{json .DriverOpts}} {{json .Links}} {{.IPAMConfig.IPv6Address}}{{end}}`
	if got := e.berth("inspect", "-f", f, "cc"); got != `02:42:ac:11:00:99 {"com.example.x":"on"} ["tgt:up"] `+base+`f00d` {
		t.Errorf("the endpoint before start: %s", got)
	}
	e.berth("start", "cc")
	f = `{{with index .NetworkSettings.Networks "v6api"}}{{.MacAddress}} {{.GlobalIPv6Address}} {{.IPv6Gateway}}{{end}}`
	if got := e.berth("inspect", "-f", f, "cc"); got != "02:42:ac:11:00:99 "+base+"f00d "+base+"ffff" {
		t.Errorf("the endpoint running: %s", got)
	}
	e.berth("create", "--name", "dd", "--network", "v6api", "busybox", "true")
	if code, body := e.httpDo("POST", "/networks/bridge/connect", `{"Container":"dd","EndpointConfig":{"Links":["tgt:x"]}}`); code != 400 || !strings.Contains(body, "links are only supported for user-defined networks") {
		t.Errorf("links on the default bridge: %d %s", code, body)
	}
}
