package cli

// End-to-end tests of userns-remap: containers in a user namespace of their own, their root an
// unprivileged host uid, the image's layers seen through idmapped mounts.

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-engine/berth/idmap"
)

// remapUser creates a system user and group for the test with a free 65536-ID range in
// /etc/subuid and /etc/subgid, all removed when the test ends. It returns the name and the
// first host ID of the range.
func remapUser(t *testing.T) (string, int) {
	t.Helper()
	for _, tool := range []string{"useradd", "usermod", "userdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("userns tests need %s (Debian: passwd)", tool)
		}
	}
	b := make([]byte, 3)
	rand.Read(b)
	name := "bt-remap-" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "-r", "-U", "-M", "-s", "/bin/false", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { deleteUser(t, name) })
	var start uint32
	for _, f := range []struct{ file, flag string }{{idmap.SubUIDFile, "-v"}, {idmap.SubGIDFile, "-w"}} {
		data, _ := os.ReadFile(f.file)
		all, err := idmap.ParseSubIDs(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		if start, err = idmap.NextFreeRange(all, idmap.DefaultRangeSize); err != nil {
			t.Fatal(err)
		}
		span := fmt.Sprintf("%d-%d", start, start+idmap.DefaultRangeSize-1)
		if out, err := exec.Command("usermod", f.flag, span, name).CombinedOutput(); err != nil {
			t.Fatalf("usermod %s %s: %v: %s", f.flag, span, err, out)
		}
	}
	return name, int(start)
}

// deleteUser removes a user, its group and its subordinate ranges, and checks they are gone.
func deleteUser(t *testing.T, name string) {
	if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
		t.Errorf("userdel %s: %v: %s", name, err, out)
	}
	exec.Command("groupdel", name).Run() // userdel removed it already where USERGROUPS_ENAB is set
	for _, f := range []string{idmap.SubUIDFile, idmap.SubGIDFile} {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, name+":") {
				t.Errorf("%s still holds %q after userdel", f, line)
			}
		}
	}
}

// remapConfig points berth at a config file with userns-remap set.
func remapConfig(t *testing.T, value string) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`{"userns-remap": %q}`, value)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_CONFIG", conf)
}

func owner(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

func TestUsernsRemap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("userns-remap needs root")
	}
	name, start := remapUser(t)
	remapConfig(t, name)
	e := newCtrEnv(t)

	info := e.ok("info", "--format", "{{json .SecurityOptions}} {{.UsernsLayers}}")
	if !strings.Contains(info, `"name=userns"`) || !strings.Contains(info, "idmapped mounts") {
		t.Errorf("info = %q, want name=userns and idmapped mounts (kernel 6.13+)", info)
	}

	// Root inside is the first ID of the range outside.
	id := strings.TrimSpace(e.ok("run", "-d", "-v", "uvol:/data", "bb:1", "sleep", "1000"))
	pid := e.inspect(id, "{{.State.Pid}}")
	uidMap, err := os.ReadFile("/proc/" + pid + "/uid_map")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(uidMap)); len(f) != 3 || f[0] != "0" || f[1] != fmt.Sprint(start) || f[2] != "65536" {
		t.Errorf("uid_map = %q, want 0 %d 65536", uidMap, start)
	}
	if u, _ := owner(t, "/proc/"+pid); u != start {
		t.Errorf("container's init runs as host uid %d, want %d", u, start)
	}
	if got := strings.TrimSpace(e.ok("exec", id, "id", "-u")); got != "0" {
		t.Errorf("exec id -u = %q, want 0", got)
	}

	// A file made in a volume belongs to the mapped root on the host, and to root inside.
	e.ok("exec", id, "sh", "-c", "echo hi > /data/f && mkdir /data/d && chown 1000:1000 /data/d")
	vol := filepath.Join(e.root, "volumes", "uvol", "_data")
	if u, g := owner(t, filepath.Join(vol, "f")); u != start || g != start {
		t.Errorf("volume file owned by %d:%d on the host, want %d:%d", u, g, start, start)
	}
	if u, _ := owner(t, filepath.Join(vol, "d")); u != start+1000 {
		t.Errorf("volume dir chowned to 1000 inside is %d on the host, want %d", u, start+1000)
	}
	if got := e.ok("exec", id, "stat", "-c", "%u:%g", "/data/f"); strings.TrimSpace(got) != "0:0" {
		t.Errorf("inside, the volume file is owned by %q, want 0:0", got)
	}

	// The image's layers are mounted, not copied: the rootfs is an overlay, the layer files
	// on disk are still root's, and the container's directory holds no copy of busybox.
	rootfs := filepath.Join(e.root, "containers", id, "rootfs")
	if !mounted(t, rootfs) {
		t.Errorf("%s is not a mount", rootfs)
	}
	layers, _ := filepath.Glob(filepath.Join(e.root, "layers", "*", "diff", "bin", "busybox"))
	if len(layers) != 1 {
		t.Fatalf("layers holding bin/busybox: %v", layers)
	}
	if u, _ := owner(t, layers[0]); u != 0 {
		t.Errorf("the layer's bin/busybox is owned by %d on disk, want 0 (unchanged)", u)
	}
	if u, _ := owner(t, filepath.Join(rootfs, "bin", "busybox")); u != start {
		t.Errorf("bin/busybox through the container's rootfs is owned by %d, want %d (idmapped)", u, start)
	}
	filepath.WalkDir(filepath.Join(e.root, "containers", id), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p == rootfs {
			return filepath.SkipDir
		}
		if err == nil && d.Name() == "busybox" {
			t.Errorf("the container's directory holds a copy of the image: %s", p)
		}
		return nil
	})

	// The container's own files: owned by the mapped root on the host, by root in an image.
	e.ok("exec", id, "sh", "-c", "echo x > /etc/made")
	if u, _ := owner(t, filepath.Join(e.root, "containers", id, "upper", "etc", "made")); u != start {
		t.Errorf("upper/etc/made owned by %d on the host, want %d", u, start)
	}
	e.ok("commit", id, "ucommit:1")
	if got := e.ok("run", "--rm", "--userns=host", "ucommit:1", "stat", "-c", "%u:%g", "/etc/made"); strings.TrimSpace(got) != "0:0" {
		t.Errorf("committed /etc/made owned by %q, want 0:0", got)
	}
	e.ok("stop", "-t", "1", id)
	// cp and export hand out the container's IDs, not the host's.
	for _, args := range [][]string{{"cp", id + ":/etc/made", "-"}, {"export", id}} {
		tr := tar.NewReader(strings.NewReader(e.ok(args...)))
		found := false
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			if strings.TrimPrefix(hdr.Name, "etc/") == "made" {
				found = true
				if hdr.Uid != 0 || hdr.Gid != 0 {
					t.Errorf("%s: %s owned by %d:%d, want 0:0", args[0], hdr.Name, hdr.Uid, hdr.Gid)
				}
			}
		}
		if !found {
			t.Errorf("%s: no made in the stream", args[0])
		}
	}
	// cp in: the stream's owner 0 lands as the mapped root.
	in := filepath.Join(t.TempDir(), "in")
	os.WriteFile(in, []byte("x"), 0o644)
	e.ok("cp", in, id+":/etc/in")
	if u, _ := owner(t, filepath.Join(e.root, "containers", id, "upper", "etc", "in")); u != start {
		t.Errorf("a file copied in is owned by %d on the host, want %d", u, start)
	}

	// --userns=host: the host's IDs, as without remapping.
	if got := e.ok("run", "--rm", "--userns=host", "bb:1", "cat", "/proc/self/uid_map"); strings.Join(strings.Fields(got), " ") != "0 0 4294967295" {
		t.Errorf("--userns=host uid_map = %q", got)
	}
	// Docker refuses --privileged in a remapped namespace.
	_, errs, code := e.run("run", "--rm", "--privileged", "bb:1", "true")
	if code != 125 || !strings.Contains(errs, "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode") {
		t.Errorf("--privileged: exit %d, %q", code, errs)
	}
	// Joining another remapped container's network: its user namespace too, so exec works.
	first := strings.TrimSpace(e.ok("run", "-d", "bb:1", "sleep", "1000"))
	second := strings.TrimSpace(e.ok("run", "-d", "--network", "container:"+first, "bb:1", "sleep", "1000"))
	if got := e.ok("exec", second, "sh", "-c", "ls /sys/class/net | tr '\\n' ' '"); !strings.Contains(got, "eth0") {
		t.Errorf("exec in a container on another's network: /sys/class/net = %q", got)
	}
	a, _ := os.Readlink("/proc/" + e.inspect(first, "{{.State.Pid}}") + "/ns/user")
	b, _ := os.Readlink("/proc/" + e.inspect(second, "{{.State.Pid}}") + "/ns/user")
	if a == "" || a != b {
		t.Errorf("user namespaces of container:X = %q and X = %q, want the same", b, a)
	}
	// --pid container:X joins X's user namespace too; with a network of its own it cannot.
	third := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--pid", "container:"+first, "bb:1", "sleep", "1000"))
	if got := e.ok("exec", third, "ps"); !strings.Contains(got, "sleep 1000") {
		t.Errorf("exec ps in a container on X's PID namespace = %q", got)
	}
	_, errs, code = e.run("run", "--rm", "--pid", "container:"+first, "bb:1", "true")
	if code != 125 || !strings.Contains(errs, "need --network container:X or --network none") {
		t.Errorf("--pid container:X with a network of its own: exit %d, %q", code, errs)
	}
	// The host's network: no sysfs of its own to mount, the host's /sys read-only instead.
	if got := e.ok("run", "--rm", "--network", "host", "bb:1", "cat", "/proc/self/uid_map"); !strings.Contains(got, fmt.Sprint(start)) {
		t.Errorf("--network host uid_map = %q", got)
	}
	// With no network namespace of berth's, and in one berth made: sysfs and the sysctl.
	for _, net := range []string{"none", "bridge"} {
		got := e.ok("run", "--rm", "--network", net, "bb:1", "sh", "-c", "ls /sys/class/net | tr '\\n' ' '; cat /proc/sys/net/ipv4/ip_unprivileged_port_start")
		if !strings.Contains(got, "lo") || !strings.HasSuffix(strings.TrimSpace(got), "0") || strings.Contains(got, "berth0") {
			t.Errorf("--network %s: /sys/class/net and ip_unprivileged_port_start = %q", net, got)
		}
	}
}

func TestUsernsRemapCopyFallback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("userns-remap needs root")
	}
	name, start := remapUser(t)
	remapConfig(t, name)
	t.Setenv("BERTH_STORAGE_DRIVER", "copy")
	e := newCtrEnv(t)
	e.ok("run", "--name", "cf", "bb:1", "sh", "-c", "touch /new")
	id := e.inspect("cf", "{{.Id}}")
	if u, _ := owner(t, filepath.Join(e.root, "containers", id, "rootfs", "bin", "busybox")); u != start {
		t.Errorf("the copied bin/busybox is owned by %d, want %d", u, start)
	}
	if got := strings.TrimSpace(e.ok("diff", "cf")); got != "A /new" {
		t.Errorf("diff = %q, want only A /new (the chowned copy is not a change)", got)
	}
	e.ok("commit", "cf", "cf:1")
	if got := e.ok("run", "--rm", "--userns=host", "cf:1", "stat", "-c", "%u:%g", "/new"); strings.TrimSpace(got) != "0:0" {
		t.Errorf("committed /new owned by %q, want 0:0", got)
	}
}

// TestUsernsRemapDefault checks that "default" makes Docker's dockremap user with a range, as
// dockerd does; it runs only where dockremap does not exist yet, and removes it again.
func TestUsernsRemapDefault(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("userns-remap needs root")
	}
	if _, err := user.Lookup(idmap.DefaultUser); err == nil {
		t.Skip("dockremap exists already on this host: the test would not know what to remove")
	}
	if _, err := exec.LookPath("userdel"); err != nil {
		t.Skip("userns tests need userdel (Debian: passwd)")
	}
	remapConfig(t, "default")
	t.Cleanup(func() {
		if _, err := user.Lookup(idmap.DefaultUser); err == nil {
			deleteUser(t, idmap.DefaultUser)
		}
	})
	e := newCtrEnv(t)
	got := e.ok("run", "--rm", "bb:1", "cat", "/proc/self/uid_map")
	mp, err := idmap.Lookup(idmap.DefaultUser, idmap.DefaultUser)
	if err != nil {
		t.Fatalf("after a run under userns-remap=default: %v", err)
	}
	if mp.UIDs[0].Size != 65536 || mp.UIDs[0].Host < 100000 {
		t.Errorf("dockremap's range = %+v, want 65536 IDs from 100000 up", mp.UIDs)
	}
	if want := fmt.Sprintf("0 %d 65536", mp.UIDs[0].Host); strings.Join(strings.Fields(got), " ") != want {
		t.Errorf("uid_map = %q, want %q", got, want)
	}
}

// TestRootlessRefusedClearly: run by an unprivileged user without subordinate IDs (nobody), so
// without rootless mode, a container command says why first thing and fails instead of failing on
// some mount.
func TestRootlessRefusedClearly(t *testing.T) {
	e := newCtrEnv(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	root, err := os.MkdirTemp("", "bt-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chown(root, 65534, 65534)
	tarPath := filepath.Join(root, "bb.tar")
	if err := os.WriteFile(tarPath, busyboxTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	// import unpacks a layer, whose owners only root (or rootless mode) can keep.
	for _, args := range [][]string{{"run", "--rm", "bb:1", "true"}, {"create", "bb:1"}, {"import", tarPath, "x:1"}} {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", e.bin, "--root", root}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+root, "BERTH_ROOT=")
		out, err := cmd.CombinedOutput()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		// The first line says it (run adds Docker's "See 'berth run --help'." after it); the exit
		// code is the command's own for an engine error (125 for run, as Docker's).
		first, _, _ := strings.Cut(string(out), "\n")
		if code <= 0 || (args[0] == "run" && code != 125) || !strings.Contains(first, "rootless mode") || !strings.Contains(first, "no subordinate user IDs for nobody") {
			t.Errorf("%v as nobody: exit %d, %q; want a failure whose first line is about rootless mode", args, code, out)
		}
	}
}

// TestUsernsRemapBuild: RUN steps run remapped too, as under dockerd, and their layers hold the
// step's own IDs (set-uid bits kept); RUN --mount sources keep theirs.
func TestUsernsRemapBuild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("userns-remap needs root")
	}
	name, start := remapUser(t)
	remapConfig(t, name)
	e := newCtrEnv(t)
	ctx := t.TempDir()
	df := "FROM bb:1\n" +
		"RUN cat /proc/self/uid_map > /map && mkdir /d && chown 1000:1000 /d && touch /s && chmod 4755 /s\n" +
		"RUN <<EOT\necho heredoc > /h\nEOT\n" +
		"RUN --network=none touch /n\n"
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644)
	e.ok("build", "-q", "-t", "ub:1", ctx)
	got := e.ok("run", "--rm", "--userns=host", "ub:1", "sh", "-c", "cat /map; stat -c '%n %u:%g %a' /d /s /h /n")
	want := fmt.Sprintf("0 %d 65536\n/d 1000:1000 755\n/s 0:0 4755\n/h 0:0 644\n/n 0:0 644\n", start)
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
		t.Errorf("built image:\n%s\nwant:\n%s", got, want)
	}
	// RUN --mount sources are seen through idmapped mounts: a cache, the context and another
	// stage keep their own IDs, and what the step writes to a cache is stored as root's.
	os.WriteFile(filepath.Join(ctx, "ctxfile"), []byte("hello"), 0o644)
	os.Chown(filepath.Join(ctx, "ctxfile"), 7, 8)
	df = "FROM bb:1 AS stage\n" +
		"RUN mkdir /sd && touch /sd/f && chown 5:6 /sd/f\n" +
		"FROM bb:1\n" +
		"RUN --mount=type=cache,target=/c touch /c/x && stat -c '%u:%g' /c/x > /res\n" +
		"RUN --mount=type=bind,target=/ctx stat -c '%u:%g' /ctx/ctxfile >> /res\n" +
		"RUN --mount=type=bind,from=stage,source=/sd,target=/sd stat -c '%u:%g' /sd/f >> /res\n" +
		"RUN --mount=type=bind,target=/rw,rw touch /rw/new && cat /rw/ctxfile >> /res\n"
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644)
	e.ok("build", "-q", "-t", "ub:2", ctx)
	if got := e.ok("run", "--rm", "--userns=host", "ub:2", "cat", "/res"); got != "0:0\n7:8\n5:6\nhello" {
		t.Errorf("RUN --mount owners under userns-remap = %q, want 0:0, 7:8, 5:6 and the file", got)
	}
	caches, _ := filepath.Glob(filepath.Join(e.root, "build-mounts", "*", "x"))
	if len(caches) != 1 {
		t.Fatalf("cache files: %v", caches)
	}
	if u, _ := owner(t, caches[0]); u != 0 {
		t.Errorf("the cache's file is owned by %d on disk, want 0 (shared with builds that are not remapped)", u)
	}
	if _, err := os.Stat(filepath.Join(ctx, "new")); err == nil {
		t.Error("a rw bind of the context wrote to the context")
	}
	for _, d := range []string{"builds", "containers"} {
		if ents, _ := os.ReadDir(filepath.Join(e.root, d)); len(ents) > 0 {
			t.Errorf("%s/ holds %d entries after the builds", d, len(ents))
		}
	}
}
