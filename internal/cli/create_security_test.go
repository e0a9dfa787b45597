package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/berth-engine/berth/container"
)

// Docker 20.10's CLI, recorded: `docker run --device X` and `--security-opt X`.
func TestParseDevice(t *testing.T) {
	ok := map[string]container.DeviceMapping{
		"/dev/fuse":                {PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"},
		"/dev/fuse:r":              {PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "r"},
		"/dev/fuse:/dev/myfuse":    {PathOnHost: "/dev/fuse", PathInContainer: "/dev/myfuse", CgroupPermissions: "rwm"},
		"/dev/fuse:/dev/x/../y:mw": {PathOnHost: "/dev/fuse", PathInContainer: "/dev/y", CgroupPermissions: "mw"},
	}
	for in, want := range ok {
		if got, err := parseDevice(in); err != nil || got != want {
			t.Errorf("%s: %+v %v", in, got, err)
		}
	}
	bad := map[string]string{
		"/dev/null:rel":    "rel is not an absolute path",
		"/dev/null:/x:rwz": "bad mode specified: rwz",
		"/dev/null:/x:r:w": "bad format for path: /dev/null:/x:r:w",
		":/x":              "bad format for path: :/x",
	}
	for in, want := range bad {
		if _, err := parseDevice(in); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
}

func TestSecurityOptsClientSide(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.json")
	os.WriteFile(prof, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{bad"), 0o644)
	got, err := securityOpts([]string{"seccomp=" + prof, "seccomp:unconfined", "no-new-privileges", "label:disable"})
	want := []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`, "seccomp:unconfined", "no-new-privileges", "label:disable"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q %v", got, err)
	}
	for in, want := range map[string]string{
		"foo":            `Invalid --security-opt: "foo"`,
		"seccomp=":       "opening seccomp profile () failed: open : no such file or directory",
		"seccomp=" + bad: "compacting json for seccomp profile (" + bad + ") failed: invalid character 'b' looking for beginning of object key string",
	} {
		if _, err := securityOpts([]string{in}); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
	var f securityFlags
	f.securityOpt = []string{"systempaths=unconfined", "apparmor=unconfined"}
	var h container.HostConfig
	if err := f.apply(&h); err != nil || !reflect.DeepEqual(h.SecurityOpt, []string{"apparmor=unconfined"}) ||
		h.MaskedPaths == nil || len(h.MaskedPaths) != 0 || h.ReadonlyPaths == nil {
		t.Errorf("systempaths=unconfined: %+v %v", h, err)
	}
}
