package cli

// End-to-end tests of `cp`: Docker 20.10's rules and errors (recorded with the reference daemon on
// the same cases), and the CVE-2018-15664 race: a container keeps exchanging a directory with a
// symlink to a host path while `cp` copies in and out of that directory. Every copy must stay
// inside the container's filesystem whichever of the two it finds at any moment.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	cpRaceCopies   = 300               // per direction
	cpRaceDeadline = 150 * time.Second // per direction, whatever the machine's load
	cpRaceSecret   = "HOST SECRET\n"
)

// buildCpSwap builds testdata/cpswap static, for a busybox container to run.
func buildCpSwap(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "cpswap"), "./testdata/cpswap")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building cpswap: %v\n%s", err, out)
	}
	return dir
}

func TestCpSymlinkExchangeRace(t *testing.T) {
	e := newCtrEnv(t)
	helper := buildCpSwap(t)
	work := t.TempDir()
	// The host directory the container's symlink names: an escape reads its secret or writes
	// into it.
	canary := filepath.Join(work, "canary", "dir")
	if err := os.MkdirAll(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(canary, "secret.txt"), []byte(cpRaceSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	// A name only the host's directory has, for diff and export to give away.
	if err := os.WriteFile(filepath.Join(canary, "host-only.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("run", "-d", "--name", "race", "-v", helper+":/h:ro", "bb:1", "sh", "-c",
		"mkdir -p /w/d && echo container > /w/d/secret.txt && ln -s "+canary+" /w/s && exec /h/cpswap /w/d /w/s")
	e.until(30*time.Second, "cpswap started", func() (bool, string) {
		out, errs, _ := e.run("logs", "race")
		return strings.Contains(out, "swapping"), out + errs
	})

	out := t.TempDir()
	payload := filepath.Join(work, "payload.txt")
	os.WriteFile(payload, []byte("payload\n"), 0o644)
	payloadDir := filepath.Join(work, "payloaddir")
	os.MkdirAll(payloadDir, 0o755)
	os.WriteFile(filepath.Join(payloadDir, "payload.txt"), []byte("payload\n"), 0o644)
	var tarIn bytes.Buffer
	tw := tar.NewWriter(&tarIn)
	tw.WriteHeader(&tar.Header{Name: "payload-tar.txt", Mode: 0o644, Size: 8, Typeflag: tar.TypeReg})
	tw.Write([]byte("payload\n"))
	tw.Close()

	// isHostSecret: a regular file (not a copied symlink, which is what cp makes of /w/s)
	// holding the host's secret.
	isHostSecret := func(p string) bool {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
		b, _ := os.ReadFile(p)
		return string(b) == cpRaceSecret
	}
	tarHasSecret := func(s string) bool {
		tr := tar.NewReader(strings.NewReader(s))
		for {
			h, err := tr.Next()
			if err != nil {
				return false
			}
			if h.Typeflag == tar.TypeReg {
				if b, _ := io.ReadAll(tr); string(b) == cpRaceSecret {
					return true
				}
			}
		}
	}

	var outEsc, outOK, outN int
	var outByMode, inByMode [4]int
	deadline := time.Now().Add(cpRaceDeadline)
	for i := 0; i < cpRaceCopies && time.Now().Before(deadline); i++ {
		outN++
		var escaped bool
		var code int
		switch i % 4 {
		case 0:
			dst := filepath.Join(out, fmt.Sprint("f-", i))
			_, _, code = e.run("cp", "race:/w/d/secret.txt", dst)
			escaped = isHostSecret(dst)
		case 1:
			var s string
			s, _, code = e.run("cp", "race:/w/d/secret.txt", "-")
			escaped = tarHasSecret(s)
		case 2:
			dst := filepath.Join(out, fmt.Sprint("d-", i))
			_, _, code = e.run("cp", "race:/w/d", dst)
			// /w/d found as the symlink is copied as a symlink, which is no escape: only a
			// real directory holding the host's file is.
			if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
				escaped = isHostSecret(filepath.Join(dst, "secret.txt"))
			}
		case 3:
			dst := filepath.Join(out, fmt.Sprint("l-", i))
			_, _, code = e.run("cp", "-L", "race:/w/d/secret.txt", dst)
			escaped = isHostSecret(dst)
		}
		if code == 0 {
			outOK++
		}
		if escaped {
			outEsc++
			outByMode[i%4]++
		}
	}

	var inEsc, inOK, inN int
	deadline = time.Now().Add(cpRaceDeadline)
	for i := 0; i < cpRaceCopies && time.Now().Before(deadline); i++ {
		inN++
		var code int
		switch i % 4 {
		case 0:
			_, _, code = e.run("cp", payload, "race:/w/d/")
		case 1:
			_, _, code = e.runIn(tarIn.String(), "cp", "-", "race:/w/d")
		case 2:
			_, _, code = e.run("cp", payloadDir, "race:/w/d/")
		case 3:
			_, _, code = e.run("cp", "-a", payload, "race:/w/d/payload-a.txt")
		}
		if code == 0 {
			inOK++
		}
		ents, err := os.ReadDir(canary)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ents {
			if d.Name() != "secret.txt" && d.Name() != "host-only.txt" {
				inEsc++
				inByMode[i%4]++
				os.RemoveAll(filepath.Join(canary, d.Name()))
			}
		}
		if b, _ := os.ReadFile(filepath.Join(canary, "secret.txt")); string(b) != cpRaceSecret {
			inEsc++
			os.WriteFile(filepath.Join(canary, "secret.txt"), []byte(cpRaceSecret), 0o644)
		}
	}
	// export and diff walk the same layer while it churns: neither may show the host's directory.
	var exportEsc, diffEsc int
	for i := 0; i < 20; i++ {
		if out, _, code := e.run("export", "race"); code == 0 && (tarHasSecret(out) || strings.Contains(out, "host-only.txt")) {
			exportEsc++
		}
		if out, _, _ := e.run("diff", "race"); strings.Contains(out, "host-only.txt") {
			diffEsc++
		}
	}
	if exportEsc != 0 || diffEsc != 0 {
		t.Errorf("export read the host's file %d times, diff listed the host's directory %d times (of 20)", exportEsc, diffEsc)
	}
	t.Logf("out of the container: %d escapes in %d copies (%d succeeded); by mode file/tar/dir/-L: %v", outEsc, outN, outOK, outByMode)
	t.Logf("into the container: %d escapes in %d copies (%d succeeded); by mode file/tar/dir/-a: %v", inEsc, inN, inOK, inByMode)
	if st := e.inspect("race", "{{.State.Status}}"); st != "running" {
		t.Fatalf("the swapping container is %s: the race did not run", st)
	}
	if outEsc != 0 || inEsc != 0 {
		t.Errorf("cp escaped the container: %d of %d copies out read the host's file, %d of %d copies in wrote to the host",
			outEsc, outN, inEsc, inN)
	}
	// The race must not make every copy fail: each direction has to succeed some of the time.
	if outOK == 0 || inOK == 0 {
		t.Errorf("no copy succeeded (out %d/%d, in %d/%d): the test proves nothing", outOK, outN, inOK, inN)
	}
}

// TestCpDockerRules runs the cases recorded with `docker cp` (Docker 20.10) against a running
// container: where a copy lands, and Docker's one-line errors (exit 1), none naming a host path
// of the container's root.
func TestCpDockerRules(t *testing.T) {
	e := newCtrEnv(t)
	e.ok("run", "-d", "--name", "cpref", "bb:1", "sh", "-c",
		"mkdir -p /w/d /w/e; echo c > /w/d/f; ln -s /etc /w/l; ln -s /nonexist /w/dl; touch /w/ready; sleep 600")
	e.until(30*time.Second, "container set up", func() (bool, string) {
		_, errs, code := e.run("exec", "cpref", "test", "-e", "/w/ready")
		return code == 0, errs
	})
	host := t.TempDir()
	h := func(p string) string { return filepath.Join(host, p) }
	os.WriteFile(h("afile"), []byte("a\n"), 0o640)
	os.Mkdir(h("adir"), 0o755)
	os.WriteFile(h("adir/in"), []byte("in\n"), 0o644)

	for _, c := range []struct{ args, errs string }{
		{"cpref:/nope " + h("out1"), "Error: No such container:path: cpref:/nope\n"},
		{"cpref:/w/d/f /nonexistdir/x", "invalid output path: directory \"/nonexistdir\" does not exist\n"},
		{"cpref:/w/d/f " + h("out3") + "/", "no such directory\n"},
		{"cpref:/w/d/f/ " + h("out6"), "Error: lstat /w/d/f/: not a directory\n"},
		{"cpref:/w/d/f/x " + h("out6"), "Error: lstat /w/d/f/x: not a directory\n"},
		{"cpref:/w/d " + h("afile"), "cannot copy directory\n"},
		{"-L cpref:/w/dl " + h("out11"), "Error: No such container:path: cpref:/nonexist\n"},
		{h("afile") + " cpref:/nope/x", "Error: No such container:path: cpref:/nope\n"},
		{h("afile") + " cpref:/w/dl/x", "Error: No such container:path: cpref:/w/dl\n"},
		{h("afile") + " cpref:/w/d/f/", "no such directory\n"},
		{h("afile") + " cpref:/w/newdir/", "no such directory\n"},
		{h("afile") + " cpref:/w/d/f/x", "Error: extraction point is not a directory\n"},
		{h("adir") + " cpref:/w/d/f", "cannot copy directory\n"},
		{h("nosuch") + " cpref:/w/", "lstat " + h("nosuch") + ": no such file or directory\n"},
		{"- cpref:/nope", "destination \"cpref:/nope\" must be a directory\n"},
		{"- cpref:/w/d/f", "destination \"cpref:/w/d/f\" must be a directory\n"},
		{"nosuchctr:/x " + h("out9"), "Error: No such container:path: nosuchctr:/x\n"},
		{h("afile") + " nosuchctr:/x", "Error: No such container:path: nosuchctr:/x\n"},
		{"cpref:/w/d cpref:/w/e", "copying between containers is not supported\n"},
		{"a b", "must specify at least one container source\n"},
	} {
		_, errs, code := e.runIn("", append([]string{"cp"}, strings.Fields(c.args)...)...)
		if code != 1 || errs != c.errs {
			t.Errorf("cp %s: exit %d, stderr %q; want 1, %q", c.args, code, errs, c.errs)
		}
		if strings.Contains(errs, e.root) {
			t.Errorf("cp %s names a host path of the container: %q", c.args, errs)
		}
	}

	// Out of the container.
	e.ok("cp", "cpref:/w/d", h("out2"))       // a new directory
	e.ok("cp", "cpref:/w/d/", h("out4"))      // the same
	e.ok("cp", "cpref:/w/d/.", h("out5"))     // the content: the same for a new directory
	e.ok("cp", "cpref:/w/d/f", h("adir"))     // into a directory
	e.ok("cp", "cpref:/w/d", h("adir"))       // a directory into a directory
	e.ok("cp", "cpref:/w/l", h("out7"))       // a symlink as a symlink
	e.ok("cp", "-L", "cpref:/w/l", h("out8")) // what it points to
	for p, want := range map[string]string{
		"out2/f": "c\n", "out4/f": "c\n", "out5/f": "c\n", "adir/f": "c\n", "adir/d/f": "c\n", "adir/in": "in\n",
	} {
		if b, err := os.ReadFile(h(p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if target, err := os.Readlink(h("out7")); err != nil || target != "/etc" {
		t.Errorf("cp of a symlink: %q %v", target, err)
	}
	if fi, err := os.Lstat(h("out8/passwd")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("cp -L of a symlink to a directory: %v", err)
	}
	if out := e.ok("cp", "cpref:/w/d", "-"); !strings.Contains(out, "d/f") {
		t.Errorf("cp to -: %q", out)
	}
	// Docker's stream: the file type in the mode, owners named as the container's /etc/passwd
	// and /etc/group name them (an ID they do not name has no name; the host's names never
	// count); files copied out land owned by the caller (Docker never chowns on extract).
	e.ok("exec", "cpref", "sh", "-c", "mkdir /w/own && touch /w/own/a /w/own/b && chown 1234:5678 /w/own/a && chown 42:43 /w/own/b")
	tr := tar.NewReader(strings.NewReader(e.ok("cp", "cpref:/w/own", "-")))
	var got []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%s %o %d:%d %q:%q", hdr.Name, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname))
	}
	if want := `own/ 40755 0:0 "root":"root"|own/a 100644 1234:5678 "":""|own/b 100644 42:43 "":""`; strings.Join(got, "|") != want {
		t.Errorf("cp to - headers:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	e.ok("cp", "cpref:/w/own", h("own"))
	for _, p := range []string{"own", "own/a", "own/b"} {
		if fi, err := os.Lstat(h(p)); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) || fi.Sys().(*syscall.Stat_t).Gid != uint32(os.Getgid()) {
			t.Errorf("%s copied out is not the caller's: %v", p, err)
		}
	}
	// Over existing files, both ways.
	os.WriteFile(h("over"), []byte("old host file\n"), 0o644)
	e.ok("cp", "cpref:/w/d/f", h("over"))
	if b, _ := os.ReadFile(h("over")); string(b) != "c\n" {
		t.Errorf("cp over a host file: %q", b)
	}
	e.ok("cp", h("adir/in"), "cpref:/w/d/f")
	if out := e.ok("exec", "cpref", "cat", "/w/d/f"); out != "in\n" {
		t.Errorf("cp over a file of the container: %q", out)
	}

	// Into the container: the stream's owner is kept (-a changes nothing for a container run as
	// root); a dangling symlink's target is created; "DIR/." is the directory's content.
	os.Chown(h("afile"), 1234, 1234)
	e.ok("cp", h("afile"), "cpref:/w/newname")
	e.ok("cp", "-a", h("afile"), "cpref:/w/kept")
	e.ok("cp", h("afile"), "cpref:/w/dl")
	e.ok("cp", h("adir")+"/.", "cpref:/w/e")
	if out := e.ok("exec", "cpref", "sh", "-c", "stat -c '%u:%g %a %n' /w/newname /w/kept /nonexist /w/e/in; readlink /w/dl"); out !=
		"1234:1234 640 /w/newname\n1234:1234 640 /w/kept\n1234:1234 640 /nonexist\n0:0 644 /w/e/in\n/nonexist\n" {
		t.Errorf("after cp in:\n%s", out)
	}
	// -a into a container run as a user: that user owns everything copied.
	e.ok("run", "-d", "--name", "cpuser", "-u", "nobody", "bb:1", "sleep", "600")
	e.ok("cp", "-a", h("afile"), "cpuser:/tmp/y")
	e.ok("cp", "-a", h("adir"), "cpuser:/tmp/")
	if out := e.ok("exec", "cpuser", "sh", "-c", "stat -c '%u:%g %a %n' /tmp/y /tmp/adir /tmp/adir/in"); out !=
		"65534:65534 640 /tmp/y\n65534:65534 755 /tmp/adir\n65534:65534 644 /tmp/adir/in\n" {
		t.Errorf("after cp -a into a user's container:\n%s", out)
	}
}
