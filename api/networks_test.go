package api

import (
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// Networks through the API: create with IPAM and labels, list with filters, inspect with its
// Containers, connect (aliases, a fixed address) / disconnect, remove, prune, dockerd's errors.
func TestNetworksAPI(t *testing.T) {
	e := newExecEnv(t)
	code, body := e.httpDo("POST", "/networks/create", `{"Name":"apinet","CheckDuplicate":true,"Labels":{"k":"v"},
		"IPAM":{"Driver":"default","Config":[{"Subnet":"10.213.7.0/29","Gateway":"10.213.7.1","AuxiliaryAddresses":{"a":"10.213.7.2","b":"10.213.7.3"}}]}}`)
	if code != 201 || !strings.Contains(body, `"Warning":""`) {
		t.Fatalf("create: %d %s", code, body)
	}
	ctx := e.ctx()
	ins, err := e.client.NetworkInspect(ctx, "apinet", client.NetworkInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ins.Network.Labels["k"] != "v" || len(ins.Network.IPAM.Config) != 1 || ins.Network.IPAM.Config[0].Subnet.String() != "10.213.7.0/29" || ins.Network.IPAM.Options != nil ||
		len(ins.Network.IPAM.Config[0].AuxAddress) != 2 {
		t.Errorf("inspect: %+v", ins.Network)
	}
	ls, err := e.client.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("label", "k=v")})
	if err != nil || len(ls.Items) != 1 || ls.Items[0].Name != "apinet" {
		t.Errorf("list label=k=v: %+v %v", ls.Items, err)
	}
	ls, err = e.client.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("type", "builtin")})
	if err != nil || len(ls.Items) != 3 {
		t.Errorf("list type=builtin: %+v %v", ls.Items, err)
	}

	id := e.berth("run", "-d", "--name", "web", "busybox", "sleep", "300")
	if _, err := e.client.NetworkConnect(ctx, "apinet", client.NetworkConnectOptions{Container: "web",
		EndpointConfig: nil}); err != nil {
		t.Fatal(err)
	}
	// The auxiliary addresses are never given out: the first address after them is.
	if ins, _ := e.client.NetworkInspect(ctx, "apinet", client.NetworkInspectOptions{}); ins.Network.Containers[id].IPv4Address.String() != "10.213.7.4/29" {
		t.Errorf("first address given out: %+v", ins.Network.Containers)
	}
	code, body = e.httpDo("POST", "/networks/apinet/disconnect", `{"Container":"web"}`)
	if code != 200 {
		t.Fatalf("disconnect: %d %s", code, body)
	}
	code, body = e.httpDo("POST", "/networks/apinet/connect", `{"Container":"web","EndpointConfig":{"Aliases":["www"],"IPAMConfig":{"IPv4Address":"10.213.7.5"}}}`)
	if code != 200 {
		t.Fatalf("connect with alias and address: %d %s", code, body)
	}
	ins, err = e.client.NetworkInspect(ctx, "apinet", client.NetworkInspectOptions{})
	if err != nil || ins.Network.Containers[id].IPv4Address.String() != "10.213.7.5/29" || ins.Network.Containers[id].Name != "web" {
		t.Errorf("inspect's Containers: %+v %v", ins.Network.Containers, err)
	}
	// The alias resolves from another container on the network.
	out, code2 := e.berthRun("run", "--rm", "--network", "apinet", "busybox", "nslookup", "www")
	if code2 != 0 || !strings.Contains(out, "10.213.7.5") {
		t.Errorf("the alias: %d %s", code2, out)
	}

	// Off its last network a container may be connected again; one created with --network none
	// may not.
	only := e.berth("create", "--network", "apinet", "busybox", "true")
	if code, body := e.httpDo("POST", "/networks/apinet/disconnect", `{"Container":"`+only+`"}`); code != 200 {
		t.Errorf("disconnect from the last network: %d %s", code, body)
	}
	if code, body := e.httpDo("POST", "/networks/apinet/connect", `{"Container":"`+only+`"}`); code != 200 {
		t.Errorf("connect after leaving the last network: %d %s", code, body)
	}
	if mode := e.berth("inspect", "-f", "{{.HostConfig.NetworkMode}}", only); mode != "apinet" {
		t.Errorf("NetworkMode after connecting again: %s", mode)
	}
	none := e.berth("create", "--network", "none", "busybox", "true")
	if code, body := e.httpDo("POST", "/networks/apinet/connect", `{"Container":"`+none+`"}`); code != 409 || !strings.Contains(body, "private (none) mode") {
		t.Errorf("connect of a --network none container: %d %s", code, body)
	}
	e.berth("rm", only, none)

	for _, c := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/networks/create", `{"Name":"apinet","CheckDuplicate":true}`, 409, "network with name apinet already exists"},
		{"POST", "/networks/create", `{"Name":"h","Driver":"host"}`, 403, `only one instance of \"host\" network is allowed`},
		{"POST", "/networks/create", `{"Name":"p","Driver":"nope"}`, 404, `plugin \"nope\" not found`},
		{"POST", "/networks/create", `{"Name":"s","IPAM":{"Config":[{"Subnet":"10.213.7.0/33"}]}}`, 400, ""},
		{"POST", "/networks/create", `{"Name":`, 400, "invalid JSON"},
		{"GET", "/networks/nosuch", "", 404, "network nosuch not found"},
		{"DELETE", "/networks/bridge", "", 403, "bridge is a pre-defined network and cannot be removed"},
		{"DELETE", "/networks/apinet", "", 403, "has active endpoints"},
		{"POST", "/networks/apinet/connect", `{"Container":"nosuch"}`, 404, "No such container: nosuch"},
		{"POST", "/networks/apinet/connect", `{"Container":"web"}`, 409, "already exists in network apinet"},
		{"GET", "/networks?filters=" + `%7B%22type%22%3A%7B%22x%22%3Atrue%7D%7D`, "", 400, "Invalid filter: 'type'='x'"},
	} {
		code, body := e.httpDo(c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s %s: %d %s, want %d %q", c.method, c.path, code, body, c.code, c.msg)
		}
	}
	// Force disconnect, then the network is unused: prune (by label) removes it.
	if _, err := e.client.NetworkDisconnect(ctx, "apinet", client.NetworkDisconnectOptions{Container: "web", Force: true}); err != nil {
		t.Fatal(err)
	}
	pr, err := e.client.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: make(client.Filters).Add("label", "k=other")})
	if err != nil || len(pr.Report.NetworksDeleted) != 0 {
		t.Errorf("prune label=k=other: %+v %v", pr.Report, err)
	}
	pr, err = e.client.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: make(client.Filters).Add("label", "k=v")})
	if err != nil || len(pr.Report.NetworksDeleted) != 1 || pr.Report.NetworksDeleted[0] != "apinet" {
		t.Errorf("prune label=k=v: %+v %v", pr.Report, err)
	}
}
