package container

import (
	"reflect"
	"testing"
)

// --mount as Docker 20.10's CLI reads it; the errors were recorded from `docker create --mount`.
func TestParseMount(t *testing.T) {
	good := map[string]Mount{
		"type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770":            {Type: "tmpfs", Target: "/t", Spec: true, TmpfsSize: 1 << 20, TmpfsMode: 0o1770},
		"type=volume,src=v,dst=/v,volume-nocopy":                     {Type: "volume", Source: "v", Target: "/v", Spec: true, NoCopy: true},
		"type=bind,src=/tmp,dst=/b,readonly,bind-propagation=RSLAVE": {Type: "bind", Source: "/tmp", Target: "/b", Spec: true, ReadOnly: true, Propagation: "rslave"},
		"target=/x": {Type: "volume", Target: "/x", Spec: true},
		"type=bind,src=/tmp,dst=/b,ro=false,consistency=cached": {Type: "bind", Source: "/tmp", Target: "/b", Spec: true},
	}
	for in, want := range good {
		got, err := ParseMount(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseMount(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"type=tmpfs,dst=/t,tmpfs-size=abc":         "invalid value for tmpfs-size: abc",
		"type=tmpfs,dst=/t,tmpfs-mode=99":          "invalid value for tmpfs-mode: 99",
		"type=volume,dst=/v,volume-nocopy=maybe":   "invalid value for volume-nocopy: maybe",
		"type=bind,src=/tmp,dst=/b,foo=bar":        "unexpected key 'foo' in 'foo=bar'",
		"type=bind,src=/tmp,dst=/b,tmpfs-size=1m":  "cannot mix 'tmpfs-*' options with mount type 'bind'",
		"type=tmpfs,dst=/t,volume-nocopy":          "cannot mix 'volume-*' options with mount type 'tmpfs'",
		"type=bind,src=/tmp,dst=/b,readonly=maybe": "invalid value for readonly: maybe",
		"type=bind,src=/tmp,dst=/b,bogus":          "invalid field 'bogus' must be a key=value pair",
		"type=bind,src=/tmp":                       "target is required",
		"type=volume,dst=/v,volume-driver=x":       "mount option 'volume-driver' is not supported by berth",
		"type=volume,dst=/v,volume-opt=a=b":        "mount option 'volume-opt' is not supported by berth",
	}
	for in, want := range bad {
		if _, err := ParseMount(in); err == nil || err.Error() != want {
			t.Errorf("ParseMount(%q) = %v; want %q", in, err, want)
		}
	}
	daemon := map[string]string{
		"type=bind,src=/tmp,dst=/b,bind-propagation=weird": `invalid mount config for type "bind": invalid propagation mode: weird`,
		"type=volume,dst=/v,ro":                            `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`,
		"type=bind,src=/nonexist,dst=/b":                   `invalid mount config for type "bind": bind source path does not exist: /nonexist`,
		"type=foo,dst=/b":                                  `invalid mount config for type "foo": mount type unknown`,
	}
	for in, want := range daemon {
		mt, err := ParseMount(in)
		if err != nil {
			t.Fatalf("ParseMount(%q): %v", in, err)
		}
		if err := CheckMount(mt); err == nil || err.Error() != want {
			t.Errorf("CheckMount(%q) = %v; want %q", in, err, want)
		}
	}
}

func TestMountOptionsInSpecAndInspect(t *testing.T) {
	mt, _ := ParseMount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770,ro")
	if got, want := tmpfsOptions(mt), []string{"nosuid", "nodev", "noexec", "ro", "size=1024k", "mode=1770"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tmpfs options %v, want %v", got, want)
	}
	v, _ := ParseVolume("/tmp:/x:ro,rshared,nocopy")
	if v.Propagation != "rshared" || !v.NoCopy || !v.ReadOnly || v.Spec {
		t.Errorf("-v modes: %+v", v)
	}
	// Only --mount's mounts are HostConfig.Mounts; -v's are Binds.
	if hm := hostMounts([]Mount{v, mt}); len(hm) != 1 || hm[0].TmpfsOptions == nil || hm[0].TmpfsOptions.SizeBytes != 1<<20 {
		t.Errorf("hostMounts = %+v", hm)
	}
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"type=tmpfs,dst=/t,tmpfs-size=1m", "type=bind,src=/a,dst=/b,ro", `"type=volume,dst=/v"`, "a,b=c,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mt, err := ParseMount(s)
		if err == nil && mt.Target == "" {
			t.Errorf("%q parsed without a target", s)
		}
	})
}
