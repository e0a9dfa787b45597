package build

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func needRunc(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("RUN needs root (runc and overlayfs)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("RUN needs runc on PATH (Debian package runc)")
	}
}

// RUN runs in a real container over the stage's layers: its changes (a new file, a deletion as a
// whiteout, new directories) become the step's layer, its output is shown, a command that changes
// nothing makes no layer, and history and cache follow BuildKit.
func TestRun(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile": "FROM base:1\nENV GREETING=hello\nARG V=1\n" +
			"RUN echo \"$GREETING $V\" > /greeting && /bin/busybox rm /etc/group && /bin/busybox mkdir -p /d/e\n" +
			"RUN echo visible-output\n" +
			"WORKDIR /w\nRUN [\"/bin/busybox\", \"pwd\"]\n",
	})
	first := mustBuild(t, s, Options{ContextDir: ctx, Tags: []string{"ran:1"}})
	ranOutput := regexp.MustCompile(`(?m)^#\d+ \d+\.\d{3} visible-output$`)
	if !ranOutput.MatchString(first.out) || !regexp.MustCompile(`(?m)^#\d+ \d+\.\d{3} /w$`).MatchString(first.out) {
		t.Errorf("RUN output not shown:\n%s", first.out)
	}
	files, _ := layerFiles(t, s, first.res.ImageID, 1)
	if f, ok := files["greeting"]; !ok || f.data != "hello 1\n" {
		t.Errorf("greeting = %+v (files %v)", f, keysOf(files))
	}
	if _, ok := files["etc/.wh.group"]; !ok {
		t.Errorf("deleted /etc/group is no whiteout: %v", keysOf(files))
	}
	if _, ok := files["d/e/"]; !ok {
		t.Errorf("new dirs missing: %v", keysOf(files))
	}
	for name := range files {
		if strings.HasPrefix(name, "proc") || strings.HasPrefix(name, "dev") || strings.HasPrefix(name, "etc/hosts") || strings.HasPrefix(name, "etc/resolv") {
			t.Errorf("runtime mount point %s leaked into the layer", name)
		}
	}
	img, err := s.Get(first.res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, h := range img.Config.History {
		if strings.HasPrefix(h.CreatedBy, "RUN ") {
			runs = append(runs, h.CreatedBy+map[bool]string{true: " (empty)", false: ""}[h.EmptyLayer])
		}
	}
	want := []string{
		`RUN |1 V=1 /bin/sh -c echo "$GREETING $V" > /greeting && /bin/busybox rm /etc/group && /bin/busybox mkdir -p /d/e # buildkit`,
		"RUN |1 V=1 /bin/sh -c echo visible-output # buildkit (empty)",
		"RUN |1 V=1 /bin/busybox pwd # buildkit (empty)",
	}
	if strings.Join(runs, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(runs, "\n"), strings.Join(want, "\n"))
	}
	// ENV persists in the image; the build arg does not.
	if env := strings.Join(img.Config.Config.Env, " "); strings.Contains(env, "V=1") || !strings.Contains(env, "GREETING=hello") {
		t.Errorf("image env %q", env)
	}
	again := mustBuild(t, s, Options{ContextDir: ctx})
	if ranOutput.MatchString(again.out) || cachedCount(again.out) != 4 || again.res.ImageID != first.res.ImageID {
		t.Errorf("unchanged rebuild ran RUN again or changed the image:\n%s", again.out)
	}
	// A different build arg is a different RUN.
	third := mustBuild(t, s, Options{ContextDir: ctx, BuildArgs: map[string]string{"V": "2"}})
	files, _ = layerFiles(t, s, third.res.ImageID, 1)
	if files["greeting"].data != "hello 2\n" {
		t.Errorf("build arg not seen by RUN: %q", files["greeting"].data)
	}
	if ents, _ := os.ReadDir(s.Root + "/builds"); len(ents) != 0 {
		t.Errorf("RUN left %d scratch dirs", len(ents))
	}
}

func keysOf(m map[string]tarFile) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
