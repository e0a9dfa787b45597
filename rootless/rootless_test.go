package rootless

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-engine/berth/idmap"
)

func TestMaps(t *testing.T) {
	subs, err := idmap.ParseSubIDs(strings.NewReader("other:100000:65536\nalice:165536:65536\n# x\n1001:300000:1000\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Maps(1001, 1002, "alice", "alice", subs, subs)
	if err != nil {
		t.Fatal(err)
	}
	// Root inside is the user; then the ranges (by name and by number), lowest host range first.
	want := []idmap.Range{{Container: 0, Host: 1001, Size: 1}, {Container: 1, Host: 165536, Size: 65536}, {Container: 65537, Host: 300000, Size: 1000}}
	if !reflect.DeepEqual(m.UIDs, want) {
		t.Errorf("UIDs = %+v, want %+v", m.UIDs, want)
	}
	if m.GIDs[0] != (idmap.Range{Container: 0, Host: 1002, Size: 1}) || len(m.GIDs) != 2 {
		t.Errorf("GIDs = %+v, want the group first and alice's named range", m.GIDs)
	}
	if got := MapArgs(42, m.UIDs); strings.Join(got, " ") != "42 0 1001 1 1 165536 65536 65537 300000 1000" {
		t.Errorf("MapArgs = %q", got)
	}
	if _, err := Maps(7, 7, "bob", "bob", subs, subs); err == nil || !strings.Contains(err.Error(), "no subordinate user IDs for bob (uid 7) in /etc/subuid") {
		t.Errorf("no ranges: %v", err)
	}
	if _, err := Maps(1001, 9, "alice", "staff", subs, nil); err == nil || !strings.Contains(err.Error(), "no subordinate group IDs for staff") {
		t.Errorf("no group ranges: %v", err)
	}
}

func env(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestDirs(t *testing.T) {
	d, err := DataDir(env(map[string]string{"HOME": "/home/a"}))
	if err != nil || d != "/home/a/.local/share/berth" {
		t.Errorf("DataDir = %q, %v", d, err)
	}
	d, _ = DataDir(env(map[string]string{"HOME": "/home/a", "XDG_DATA_HOME": "/data"}))
	if d != "/data/berth" {
		t.Errorf("DataDir with XDG_DATA_HOME = %q", d)
	}
	// A relative XDG_DATA_HOME is ignored, as the XDG spec says.
	if d, _ = DataDir(env(map[string]string{"HOME": "/home/a", "XDG_DATA_HOME": "rel"})); d != "/home/a/.local/share/berth" {
		t.Errorf("DataDir with relative XDG_DATA_HOME = %q", d)
	}
	if _, err := DataDir(env(nil)); err == nil {
		t.Error("DataDir without HOME: no error")
	}
	run := t.TempDir()
	if d, _ := RuntimeDir(env(map[string]string{"HOME": "/home/a", "XDG_RUNTIME_DIR": run})); d != filepath.Join(run, "berth") {
		t.Errorf("RuntimeDir = %q", d)
	}
	// No login session (no runtime directory): under the home, never /tmp.
	if d, _ := RuntimeDir(env(map[string]string{"HOME": "/home/a", "XDG_RUNTIME_DIR": filepath.Join(run, "gone")})); d != "/home/a/.cache/berth/run" {
		t.Errorf("RuntimeDir fallback = %q", d)
	}
	// Another user's runtime directory (left in the environment by su) is not used.
	other := t.TempDir()
	if os.Geteuid() == 0 {
		os.Chown(other, 12345, 12345)
	} else {
		other = "/"
	}
	if d, _ := RuntimeDir(env(map[string]string{"HOME": "/home/a", "XDG_RUNTIME_DIR": other})); d != "/home/a/.cache/berth/run" {
		t.Errorf("RuntimeDir with another user's directory = %q", d)
	}
	if d, _ := RuntimeDir(env(map[string]string{"HOME": "/home/a", "XDG_CACHE_HOME": "/c"})); d != "/c/berth/run" {
		t.Errorf("RuntimeDir with XDG_CACHE_HOME = %q", d)
	}
}

func TestNsenterArgs(t *testing.T) {
	got := strings.Join(NsenterArgs("/usr/bin/nsenter", 7, "/home/a/ctx", "/usr/bin/berth", []string{"build", "."}), " ")
	if got != "/usr/bin/nsenter --user --mount --preserve-credentials --target 7 --wdns=/home/a/ctx -- /usr/bin/berth build ." {
		t.Errorf("NsenterArgs = %q", got)
	}
}

func TestMapReading(t *testing.T) {
	for _, c := range []struct {
		m    string
		uid  int
		ok   bool
		maxi uint32
	}{
		{"         0          0 4294967295\n", 0, false, 1<<31 - 1},
		{"         0       1001          1\n         1     100000      65536\n", 1001, true, 65536},
		{"0 100000 65536\n", 100000, false, 65535}, // userns-remap: root is a whole range
		{"", 0, false, 0},
	} {
		uid, ok := rootlessRoot(c.m)
		if ok != c.ok || (ok && uid != c.uid) {
			t.Errorf("rootlessRoot(%q) = %d, %v", c.m, uid, ok)
		}
		if got := maxMapped(c.m); got != c.maxi {
			t.Errorf("maxMapped(%q) = %d, want %d", c.m, got, c.maxi)
		}
	}
	if os.Geteuid() == 0 && Active() {
		t.Error("Active as the host's root")
	}
}

// FuzzMapReading: reading any uid_map text neither panics nor reports rootless mode for a map
// whose root is not a single unprivileged user.
func FuzzMapReading(f *testing.F) {
	for _, s := range []string{"0 0 4294967295\n", "0 1001 1\n1 100000 65536\n", "0 100000 65536", "", "0 x 1", "4294967295 0 4294967295\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, m string) {
		uid, ok := rootlessRoot(m)
		if ok && uid == 0 {
			t.Errorf("rootlessRoot(%q) = root", m)
		}
		if top := maxMapped(m); top > 1<<31-1 {
			t.Errorf("maxMapped(%q) = %d", m, top)
		}
	})
}
