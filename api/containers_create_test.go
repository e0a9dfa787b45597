package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/image"
	"github.com/docker/go-units"
)

// createReq decodes a create body as the handler does (the JSON a client sends).
func createReq(t *testing.T, body string) createBody {
	t.Helper()
	var req createBody
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return req
}

func intp(n int) *int { return &n }

func TestCreateOptionsTranslation(t *testing.T) {
	cases := []struct {
		name string
		body string
		want func(o *container.CreateOptions)
		warn []string
	}{
		{"minimal", `{"Image":"busybox"}`, func(o *container.CreateOptions) {}, nil},
		// docker-py's create_container(runtime=...) sends Runtime beside HostConfig.
		{"top-level runtime", `{"Image":"busybox","Runtime":"runc"}`, func(o *container.CreateOptions) {
			o.Host.Runtime = "runc"
		}, nil},
		{"HostConfig's runtime first", `{"Image":"busybox","Runtime":"runc","HostConfig":{"Runtime":"crun"}}`, func(o *container.CreateOptions) {
			o.Host.Runtime = "crun"
		}, nil},
		{"config", `{"Image":"busybox","Cmd":["sh","-c","true"],"Env":["A=1","B"],"WorkingDir":"/w","User":"1:2",
			"Hostname":"h","Domainname":"d","Tty":true,"OpenStdin":true,"AttachStdin":true,"StopSignal":"SIGINT",
			"StopTimeout":3,"Labels":{"k":"v"},"ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}}}`,
			func(o *container.CreateOptions) {
				o.Cmd, o.Env, o.WorkingDir, o.User = []string{"sh", "-c", "true"}, []string{"A=1", "B"}, "/w", "1:2"
				o.Hostname, o.Domainname, o.Tty, o.OpenStdin, o.Detach, o.Attach = "h", "d", true, true, false, []string{"stdin"}
				o.StopSignal, o.StopTimeout, o.Labels = "SIGINT", intp(3), map[string]string{"k": "v"}
				o.Expose, o.Volumes = []string{"53/udp", "80/tcp"}, []string{"/data"}
			}, nil},
		{"entrypoint of several words", `{"Image":"busybox","Entrypoint":["sh","-c"],"Cmd":["echo hi"]}`,
			func(o *container.CreateOptions) {
				o.EntrypointArgs, o.Cmd = []string{"sh", "-c"}, []string{"echo hi"}
			}, nil},
		{"empty entrypoint resets", `{"Image":"busybox","Entrypoint":[]}`, func(o *container.CreateOptions) {
			o.EntrypointArgs = []string{}
		}, nil},
		{"entrypoint of one empty word resets", `{"Image":"busybox","Entrypoint":[""]}`, func(o *container.CreateOptions) {
			o.EntrypointArgs = []string{}
		}, nil},
		{"host config", `{"Image":"busybox","HostConfig":{"AutoRemove":true,"ReadonlyRootfs":true,"Privileged":true,
			"Init":true,"Runtime":"crun","CapAdd":["NET_ADMIN"],"CapDrop":["MKNOD"],"ExtraHosts":["h:1.2.3.4"],
			"Memory":67108864,"MemorySwap":-1,"NanoCpus":500000000,"PidsLimit":20,
			"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},
			"LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}},
			"Dns":["8.8.8.8"],"DnsSearch":["example.com"],"DnsOptions":["ndots:2"],
			"ShmSize":1048576,"OomScoreAdj":100,"PidMode":"host","UTSMode":"host","IpcMode":"private",
			"CgroupnsMode":"private","GroupAdd":["audio"],"Sysctls":{"net.ipv4.ip_forward":"1"},
			"Ulimits":[{"Name":"nofile","Soft":100,"Hard":200}],
			"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/x"}],
			"DeviceCgroupRules":["c 1:3 rwm"],"SecurityOpt":["no-new-privileges","systempaths=unconfined"]}}`,
			func(o *container.CreateOptions) {
				h := &o.Host
				h.AutoRemove, h.ReadonlyRootfs, h.Privileged, h.Init, h.Runtime = true, true, true, true, "crun"
				h.CapAdd, h.CapDrop, h.ExtraHosts = []string{"NET_ADMIN"}, []string{"MKNOD"}, []string{"h:1.2.3.4"}
				h.Memory, h.MemorySwap, h.NanoCPUs, h.PidsLimit = 64<<20, -1, 5e8, 20
				h.RestartPolicy = container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}
				h.LogConfig = logging.Config{Type: "json-file", Config: map[string]string{"max-size": "1m"}}
				h.DNS, h.DNSSearch, h.DNSOptions = []string{"8.8.8.8"}, []string{"example.com"}, []string{"ndots:2"}
				h.ShmSize, h.OomScoreAdj, h.PidMode, h.UTSMode, h.IpcMode, h.CgroupnsMode = 1<<20, 100, "host", "host", "private", "private"
				h.GroupAdd, h.Sysctls = []string{"audio"}, map[string]string{"net.ipv4.ip_forward": "1"}
				h.Ulimits = []*units.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}}
				h.Devices = []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "rwm"}}
				h.DeviceCgroupRules = []string{"c 1:3 rwm"}
				h.SecurityOpt = []string{"no-new-privileges"}
				h.MaskedPaths, h.ReadonlyPaths = []string{}, []string{}
			}, nil},
		{"mounts", `{"Image":"busybox","HostConfig":{"Binds":["/tmp:/host:ro","vol:/v","/anon"],
			"Mounts":[{"Type":"volume","Source":"named","Target":"/n","ReadOnly":true,"VolumeOptions":{"NoCopy":true}},{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576}}],
			"Tmpfs":{"/run":"size=1m"}}}`,
			func(o *container.CreateOptions) {
				h := &o.Host
				h.Binds = []string{"/tmp:/host:ro", "vol:/v"}
				h.Mounts = []container.Mount{
					{Type: "bind", Source: "/tmp", Target: "/host", ReadOnly: true},
					{Type: "volume", Source: "vol", Target: "/v"},
					{Type: "volume", Target: "/anon"},
					{Type: "volume", Source: "named", Target: "/n", ReadOnly: true, Spec: true, NoCopy: true},
					{Type: "tmpfs", Target: "/t", Spec: true, TmpfsSize: 1 << 20},
				}
				h.Tmpfs = map[string]string{"/run": "size=1m"}
			}, nil},
		{"ports are published and exposed", `{"Image":"busybox","ExposedPorts":{"80/tcp":{}},"HostConfig":{
			"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"53/udp":[{"HostPort":""}],"22/tcp":[]},
			"PublishAllPorts":true}}`,
			func(o *container.CreateOptions) {
				o.Expose = []string{"22/tcp", "53/udp", "80/tcp"}
				o.Host.PublishAllPorts = true
				o.Host.PortBindings = map[string][]container.PortBinding{
					"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}},
					"53/udp": {{}},
					"22/tcp": {{}},
				}
			}, nil},
		{"networks", `{"Image":"busybox","HostConfig":{"NetworkMode":"front"},"NetworkingConfig":{"EndpointsConfig":{
			"front":{"Aliases":["web"],"IPAMConfig":{"IPv4Address":"10.1.0.5"}},"back":{},"admin":null}}}`,
			func(o *container.CreateOptions) {
				o.Host.NetworkMode = "front"
				o.Networks, o.Aliases, o.IP = []string{"front", "admin", "back"}, []string{"web"}, "10.1.0.5"
			}, nil},
		{"mac address in Config (API < 1.44)", `{"Image":"busybox","MacAddress":"02:42:ac:11:00:0a"}`,
			func(o *container.CreateOptions) { o.MacAddress = "02:42:ac:11:00:0a" }, nil},
		{"mac address of the endpoint", `{"Image":"busybox","HostConfig":{"NetworkMode":"front"},"NetworkingConfig":{"EndpointsConfig":{"front":{"MacAddress":"02:42:ac:11:00:0b"}}}}`,
			func(o *container.CreateOptions) {
				o.Host.NetworkMode, o.Networks, o.MacAddress = "front", []string{"front"}, "02:42:ac:11:00:0b"
			}, nil},
		{"bridge endpoint of the default mode", `{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["a"]}}}}`,
			func(o *container.CreateOptions) { o.Aliases = []string{"a"} }, nil},
		{"host network", `{"Image":"busybox","HostConfig":{"NetworkMode":"host"}}`,
			func(o *container.CreateOptions) { o.Host.NetworkMode, o.Networks = "host", nil }, nil},
		{"network disabled", `{"Image":"busybox","NetworkDisabled":true}`,
			func(o *container.CreateOptions) { o.Host.NetworkMode, o.Networks = "none", nil }, nil},
		{"healthcheck", `{"Image":"busybox","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":2}}`,
			func(o *container.CreateOptions) {
				o.Healthcheck = &image.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: time.Second, Retries: 2}
			}, nil},
		{"what berth ignores is said", `{"Image":"busybox","HostConfig":{"StorageOpt":{"size":"1G"}}}`,
			func(o *container.CreateOptions) {}, []string{"berth does not support StorageOpt; it was ignored"}},
		{"links and endpoint settings", `{"Image":"busybox","HostConfig":{"Links":["a:b"],"NetworkMode":"n"},
			"NetworkingConfig":{"EndpointsConfig":{"n":{"Links":["c:d"],"DriverOpts":{"k":"v"},
			"IPAMConfig":{"IPv6Address":"2001:db8::5","LinkLocalIPs":["169.254.8.8"]}}}}}`,
			func(o *container.CreateOptions) {
				o.Links, o.EndpointLinks, o.DriverOpts = []string{"a:b"}, []string{"c:d"}, map[string]string{"k": "v"}
				o.IP6, o.LinkLocalIPs = "2001:db8::5", []string{"169.254.8.8"}
				o.Host.NetworkMode, o.Networks = "n", []string{"n"}
			}, nil},
		{"cgroup settings", `{"Image":"busybox","HostConfig":{"CgroupParent":"mygroup","OomKillDisable":true,"MemorySwappiness":10,
			"BlkioWeight":300,"BlkioWeightDevice":[{"Path":"/dev/null","Weight":200}],"BlkioDeviceReadBps":[{"Path":"/dev/null","Rate":1048576}],
			"BlkioDeviceWriteIOps":[{"Path":"/dev/zero","Rate":100}]}}`,
			func(o *container.CreateOptions) {
				h := &o.Host
				sw := int64(10)
				h.CgroupParent, h.OomKillDisable, h.MemorySwappiness, h.BlkioWeight = "mygroup", true, &sw, 300
				h.BlkioWeightDevice = []container.WeightDevice{{Path: "/dev/null", Weight: 200}}
				h.BlkioDeviceReadBps = []container.ThrottleDevice{{Path: "/dev/null", Rate: 1 << 20}}
				h.BlkioDeviceWriteIOps = []container.ThrottleDevice{{Path: "/dev/zero", Rate: 100}}
			}, nil},
		{"cpu and memory reservation", `{"Image":"busybox","HostConfig":{"CpuShares":512,"CpuPeriod":50000,"CpuQuota":25000,
			"CpusetCpus":"0","CpusetMems":"0","MemoryReservation":33554432}}`,
			func(o *container.CreateOptions) {
				h := &o.Host
				h.CPUShares, h.CPUPeriod, h.CPUQuota, h.CpusetCpus, h.CpusetMems = 512, 50000, 25000, "0", "0"
				h.MemoryReservation = 32 << 20
			}, nil},
		{"volumes from, isolation, volume driver", `{"Image":"busybox","HostConfig":{"VolumesFrom":["a:ro","b"],"Isolation":"default","VolumeDriver":"foo"}}`,
			func(o *container.CreateOptions) {
				o.Host.VolumesFrom, o.Host.Isolation, o.Host.VolumeDriver = []string{"a:ro", "b"}, "default", "foo"
			}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, warnings, err := createOptions("web", createReq(t, c.body))
			if err != nil {
				t.Fatal(err)
			}
			want := container.CreateOptions{Name: "web", Image: "busybox", Detach: true}
			want.Host.NetworkMode = "default"
			want.Networks = []string{"default"}
			want.Host.RestartPolicy.Name = "no"
			c.want(&want)
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
			if !reflect.DeepEqual(warnings, c.warn) {
				t.Errorf("warnings %q, want %q", warnings, c.warn)
			}
		})
	}
}

func TestCreateOptionsRefusals(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{}`, "No image specified"},
		{`{"Image":"b","Env":["=x"]}`, "invalid environment variable: =x"},
		{`{"Image":"b","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}`, "invalid restart policy"},
		{`{"Image":"b","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":2}}}`, "maximum retry count cannot be used with restart policy"},
		{`{"Image":"b","HostConfig":{"ExtraHosts":["nocolon"]}}`, "invalid extra host"},
		{`{"Image":"b","HostConfig":{"LogConfig":{"Type":"none","Config":{"a":"b"}}}}`, "invalid logging opts for driver none"},
		{`{"Image":"b","HostConfig":{"Binds":["/a:rel"]}}`, "mount path must be absolute"},
		{`{"Image":"b","HostConfig":{"Mounts":[{"Type":"bind","Source":"/does/not/exist","Target":"/x"}]}}`, "bind source path does not exist: /does/not/exist"},
		{`{"Image":"b","HostConfig":{"Mounts":[{"Type":"nfs","Target":"/x"}]}}`, `mount type unknown`},
		{`{"Image":"b","HostConfig":{"DeviceCgroupRules":["z 1:3 rwm"]}}`, "invalid device cgroup format"},
		{`{"Image":"b","HostConfig":{"Devices":[{"PathOnHost":"/dev/null","CgroupPermissions":"xyz"}]}}`, "invalid device mode: xyz"},
		{`{"Image":"b","HostConfig":{"NanoCpus":1000,"CpuPeriod":100}}`, "Nano CPUs and CPU Period cannot both be set"},
		{`{"Image":"b","Healthcheck":{"Retries":-1}}`, "Retries in Healthcheck cannot be negative"},
		{`{"Image":"b","HostConfig":{"SecurityOpt":["bogus"]}}`, "security"},
		{`{"Image":"b","HostConfig":{"Mounts":[{"Type":"volume","Target":"/x","TmpfsOptions":{"SizeBytes":1}}]}}`, "cannot mix 'tmpfs' options with mount type 'volume'"},
		{`{"Image":"b","HostConfig":{"Mounts":[{"Type":"bind","Source":"/tmp","Target":"/x","BindOptions":{"Propagation":"sideways"}}]}}`, "invalid propagation mode: sideways"},
	}
	for _, c := range cases {
		_, _, err := createOptions("", createReq(t, c.body))
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%s: got %v, want an error with %q", c.body, err, c.want)
		}
	}
}
