package container

import (
	"reflect"
	"strings"
	"testing"
)

func TestPortFilterSet(t *testing.T) {
	set, err := portFilterSet("publish", []string{"80", "53/udp", "8000-8002/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"80/tcp": true, "53/udp": true, "8000/tcp": true, "8001/tcp": true, "8002/tcp": true}
	if !reflect.DeepEqual(set, want) {
		t.Errorf("got %v", set)
	}
	// Docker's words for the values it refuses.
	for v, msg := range map[string]string{
		"1.2.3.4:80": "filter for 'publish' should not contain ':': 1.2.3.4:80",
		"90-80":      "error while looking up for publish 90-80: invalid range specified for port: 90-80",
		"http":       `error while looking up for publish http: strconv.ParseUint: parsing "http": invalid syntax`,
	} {
		if _, err := portFilterSet("publish", []string{v}); err == nil || err.Error() != msg {
			t.Errorf("%s: %v, want %s", v, err, msg)
		} else if _, ok := err.(InvalidParameterError); !ok {
			t.Errorf("%s: %T is not an InvalidParameterError", v, err)
		}
	}
}

func TestPortsMatch(t *testing.T) {
	ports := []Port{{PrivatePort: 80, Type: "tcp", IP: "0.0.0.0", PublicPort: 8080}, {PrivatePort: 53, Type: "udp"}}
	cases := []struct {
		expose, publish map[string]bool
		want            bool
	}{
		{map[string]bool{"80/tcp": true}, nil, true},
		{map[string]bool{"53/udp": true}, nil, true},
		{map[string]bool{"53/tcp": true}, nil, false},
		{nil, map[string]bool{"8080/tcp": true}, true},
		{nil, map[string]bool{"80/tcp": true}, false}, // publish names the host's port
	}
	for i, c := range cases {
		if got := portsMatch(ports, c.expose, c.publish); got != c.want {
			t.Errorf("case %d: %v", i, got)
		}
	}
}

func TestMatchAnyLabel(t *testing.T) {
	labels := map[string]string{"a": "1", "b": ""}
	for want, ok := range map[string]bool{"a": true, "a=1": true, "a=2": false, "b": true, "c": false} {
		if matchAnyLabel([]string{want}, labels) != ok {
			t.Errorf("%s: want %v", want, ok)
		}
	}
}

func TestParseWaitCondition(t *testing.T) {
	for in, want := range map[string]WaitCondition{"": WaitNotRunning, "not-running": WaitNotRunning, "next-exit": WaitNextExit, "removed": WaitRemoved} {
		if got, err := ParseWaitCondition(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseWaitCondition("soon"); err == nil || err.Error() != `invalid condition: "soon"` {
		t.Errorf("soon: %v", err)
	}
}

// Recorded from Docker 20.10 (`docker run --cpuset-cpus a`, `--cpuset-mems 1`, ...).
func TestCheckCPUs(t *testing.T) {
	if err := CheckCPUs(&HostConfig{CPUShares: 512, CpusetCpus: "0"}); err != nil {
		t.Error(err)
	}
	for h, want := range map[*HostConfig]string{
		{CPUShares: -1}:         "invalid CPU shares (-1): value must be a positive integer",
		{CpusetCpus: "a"}:       "Invalid value a for cpuset cpus: invalid format: a",
		{CpusetCpus: "3-1"}:     "Invalid value 3-1 for cpuset cpus: invalid format: 3-1",
		{CpusetCpus: "0,99999"}: "Requested CPUs are not available - requested 0,99999, available: ",
		{CpusetCpus: "0-4096"}:  "Requested CPUs are not available - requested 0-4096, available: 0-",
		{CpusetMems: "a-b"}:     "Invalid value a-b for cpuset mems: invalid format: a-b",
		// Docker parses the whole list before comparing it with the host's.
		{CpusetCpus: "0-4096,x"}: "Invalid value 0-4096,x for cpuset cpus: invalid format: 0-4096,x",
	} {
		if err := CheckCPUs(h); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: %v, want %s", *h, err, want)
		}
	}
}
