package container

import (
	"testing"
)

// Docker 20.10's errors, recorded with `docker run --network none FLAG reference-busybox:1 true`.
func TestValidateIsolation(t *testing.T) {
	bad := []struct {
		h    HostConfig
		want string
	}{
		{HostConfig{CgroupnsMode: "foo"}, "--cgroupns: invalid CGROUP mode"},
		{HostConfig{IpcMode: "foo"}, "Invalid IPC mode: foo"},
		{HostConfig{PidMode: "foo"}, "--pid: invalid PID mode"},
		{HostConfig{UTSMode: "foo"}, "--uts: invalid UTS mode"},
		{HostConfig{UTSMode: "container:x"}, "--uts: invalid UTS mode"},
		{HostConfig{UsernsMode: "foo"}, "--userns: invalid USER mode"},
		{HostConfig{OomScoreAdj: 2000}, "Invalid value 2000, range for oom score adj is [-1000, 1000]"},
		{HostConfig{Sysctls: map[string]string{"kernel.foo": "1"}}, "sysctl 'kernel.foo=1' is not whitelisted"},
		{HostConfig{DeviceCgroupRules: []string{"c 1:3 z"}}, "invalid device cgroup format 'c 1:3 z'"},
		{HostConfig{Devices: []DeviceMapping{{"/dev/null", "/x", "rwz"}}}, "bad mode specified: rwz"},
		{HostConfig{Devices: []DeviceMapping{{"/dev/null", "rel", "rwm"}}}, "rel is not an absolute path"},
	}
	for _, b := range bad {
		if err := ValidateIsolation(&b.h); err == nil || err.Error() != b.want {
			t.Errorf("%+v: %v, want %s", b.h, err, b.want)
		}
	}
	good := HostConfig{CgroupnsMode: "private", IpcMode: "container:db", PidMode: "host", UTSMode: "host", OomScoreAdj: -1000,
		Sysctls:           map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "20"},
		DeviceCgroupRules: []string{"c 10:200 rwm"}, Devices: []DeviceMapping{{"/dev/fuse", "/dev/myfuse", "r"}}}
	if err := ValidateIsolation(&good); err != nil {
		t.Error(err)
	}
	for _, m := range []string{"", "private", "shareable", "none", "host", "container:x"} {
		if err := ValidateIsolation(&HostConfig{IpcMode: m}); err != nil {
			t.Errorf("--ipc %s: %v", m, err)
		}
	}
}
