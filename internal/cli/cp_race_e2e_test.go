package cli

// The CVE-2018-15664 race: a container keeps exchanging a directory with a symlink to a host
// path while `cp` copies in and out of that directory. Every copy must stay inside the
// container's filesystem whichever of the two it finds at any moment.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
			if d.Name() != "secret.txt" {
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
