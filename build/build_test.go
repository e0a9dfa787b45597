package build

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/metadata"
)

func TestMetadataInstructions(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := t.TempDir()
	r := mustBuild(t, s, Options{ContextDir: ctx, DockerfilePath: "testdata/meta/Dockerfile", Tags: []string{"meta:1"}})
	img, err := s.Get(r.res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	cc := img.Config.Config
	want := &image.ContainerConfig{
		User:         "nobody",
		ExposedPorts: map[string]struct{}{"53/udp": {}, "80/tcp": {}, "8000/tcp": {}, "8001/tcp": {}},
		Env:          []string{DefaultPathEnv, "A=1", "B=two words", "C=3-"},
		Cmd:          []string{"a", "b"},
		Healthcheck: &image.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: 5 * time.Second,
			Timeout: 3 * time.Second, StartPeriod: 2 * time.Second, StartInterval: time.Second, Retries: 4},
		ArgsEscaped: true,
		Volumes:     map[string]struct{}{"/data": {}, "[/v2]": {}},
		WorkingDir:  "/bin/rel",
		Entrypoint:  []string{"/bin/sh", "-ec", "echo ep"},
		OnBuild:     []string{"COPY onbuild.txt /onbuild.txt"},
		Labels:      map[string]string{"l1": "v1", "l 2": "v 2"},
		StopSignal:  "SIGTERM",
		Shell:       []string{"/bin/sh", "-ec"},
	}
	if !reflect.DeepEqual(cc, want) {
		g, _ := json.Marshal(cc)
		w, _ := json.Marshal(want)
		t.Errorf("config:\n got %s\nwant %s", g, w)
	}
	if img.Config.Author != "me <me@x>" {
		t.Errorf("author %q", img.Config.Author)
	}
	var got []string
	for _, h := range img.Config.History[1:] {
		e := ""
		if h.EmptyLayer {
			e = " (empty)"
		}
		if h.Comment != historyComment || h.Created == nil {
			t.Errorf("history %q: comment %q created %v", h.CreatedBy, h.Comment, h.Created)
		}
		got = append(got, h.CreatedBy+e)
	}
	wantHist := []string{
		"MAINTAINER me <me@x> (empty)",
		"ENV A=1 B=two words (empty)",
		"ARG V=3 (empty)",
		"ENV C=3- (empty)",
		"LABEL l1=v1 l 2=v 2 (empty)",
		"WORKDIR /app",
		"WORKDIR /bin",
		"WORKDIR /bin/rel",
		"EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}] (empty)",
		"VOLUME [/data [/v2]] (empty)",
		"USER nobody (empty)",
		"STOPSIGNAL SIGTERM (empty)",
		"HEALTHCHECK {Test:[CMD-SHELL wget -q localhost] Interval:5s Timeout:3s StartPeriod:2s StartInterval:1s Retries:4} (empty)",
		"SHELL [/bin/sh -ec] (empty)",
		`ENTRYPOINT ["/bin/sh" "-ec" "echo ep"] (empty)`,
		`CMD ["a" "b"] (empty)`,
	}
	if !reflect.DeepEqual(got, wantHist) {
		t.Errorf("history:\n got %q\nwant %q", got, wantHist)
	}
	if n := len(img.Config.RootFS.DiffIDs); n != 4 {
		t.Fatalf("%d layers, want 4 (base, WORKDIR /app, WORKDIR /bin, WORKDIR /bin/rel)", n)
	}
	// WORKDIR of an existing directory has a layer all the same, an empty tar (as in BuildKit).
	if d := img.Config.RootFS.DiffIDs[2]; d != emptyTarDiffID {
		t.Errorf("WORKDIR /bin layer %s, want the empty tar's %s", d, emptyTarDiffID)
	}
	files, _ := layerFiles(t, s, r.res.ImageID, 1)
	if f, ok := files["app/"]; !ok || f.hdr.Mode != 0o755 || f.hdr.Typeflag != tar.TypeDir || len(files) != 1 {
		t.Errorf("WORKDIR /app layer: %v", files)
	}
	_, order := layerFiles(t, s, r.res.ImageID, 3)
	if !reflect.DeepEqual(order, []string{"bin/", "bin/rel/"}) {
		t.Errorf("WORKDIR /bin/rel layer: %q", order)
	}
	if !strings.Contains(r.out, "[2/4] WORKDIR /app\n") || !strings.Contains(r.out, "writing image "+r.res.ImageID) {
		t.Errorf("progress:\n%s", r.out)
	}

	// ONBUILD triggers run in a build FROM the image, and are not inherited.
	ctx2 := t.TempDir()
	os.WriteFile(filepath.Join(ctx2, "onbuild.txt"), []byte("triggered"), 0o644)
	os.WriteFile(filepath.Join(ctx2, "Dockerfile"), []byte("FROM meta:1\n"), 0o644)
	r2 := mustBuild(t, s, Options{ContextDir: ctx2})
	img2, _ := s.Get(r2.res.ImageID)
	if len(img2.Config.Config.OnBuild) != 0 {
		t.Errorf("OnBuild inherited: %q", img2.Config.Config.OnBuild)
	}
	files, _ = layerFiles(t, s, r2.res.ImageID, -1)
	if files["onbuild.txt"].data != "triggered" {
		t.Errorf("trigger layer: %v", files)
	}
}

// EXPOSE expands a variable into words: each is a port (BuildKit's ProcessWords).
func TestExposeVariableWords(t *testing.T) {
	s := newStore(t)
	df := "FROM scratch\nENV P=\"80 53/udp\"\nEXPOSE $P 90\n"
	r := mustBuild(t, s, Options{ContextDir: t.TempDir(), Dockerfile: []byte(df)})
	img, _ := s.Get(r.res.ImageID)
	want := map[string]struct{}{"80/tcp": {}, "53/udp": {}, "90/tcp": {}}
	if !reflect.DeepEqual(img.Config.Config.ExposedPorts, want) {
		t.Errorf("ports %v", img.Config.Config.ExposedPorts)
	}
	if h := img.Config.History[len(img.Config.History)-1].CreatedBy; h != "EXPOSE map[53/udp:{} 80/tcp:{} 90/tcp:{}]" {
		t.Errorf("history %q", h)
	}
}

// An ARG after an ENV of the same name sets what follows sees (BuildKit's state environment);
// the image's Env keeps the ENV's value. An ENV after the ARG wins again.
func TestArgAfterEnv(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	df := "FROM base:1\nENV V=env\nARG V=arg\nLABEL after-arg=$V\nARG B\nLABEL build-arg=$B\nENV V=env2\nLABEL after-env=$V\n"
	r := mustBuild(t, s, Options{ContextDir: t.TempDir(), Dockerfile: []byte(df), BuildArgs: map[string]string{"B": "cli"}})
	img, _ := s.Get(r.res.ImageID)
	want := map[string]string{"after-arg": "arg", "build-arg": "cli", "after-env": "env2"}
	if !reflect.DeepEqual(img.Config.Config.Labels, want) {
		t.Errorf("labels %v, want %v", img.Config.Config.Labels, want)
	}
	if env := strings.Join(img.Config.Config.Env, " "); strings.Contains(env, "V=arg") || !strings.Contains(env, "V=env2") {
		t.Errorf("image env %q", env)
	}
}

// A stage FROM a stage inherits its ARGs (their values; an ENV of the image wins over them), and
// so does a stage FROM that one; a stage FROM an image does not.
func TestArgInheritedFromStage(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	df := "FROM base:1 AS parent\nARG X=1\nARG Z=z\nENV Z=env-z\n" +
		"FROM parent AS child\nLABEL x=$X z=$Z\n" +
		"FROM child AS grandchild\nLABEL gx=$X\n" +
		"FROM base:1\nLABEL other=${X:-unset}\n"
	for target, want := range map[string]map[string]string{
		"child":      {"x": "1", "z": "env-z"},
		"grandchild": {"x": "1", "z": "env-z", "gx": "1"},
		"":           {"other": "unset"},
	} {
		r := mustBuild(t, s, Options{ContextDir: t.TempDir(), Dockerfile: []byte(df), Target: target})
		img, _ := s.Get(r.res.ImageID)
		if !reflect.DeepEqual(img.Config.Config.Labels, want) {
			t.Errorf("target %q: labels %v, want %v", target, img.Config.Config.Labels, want)
		}
	}
}

// ONBUILD triggers of a stage run at the start of a stage FROM it (not of one FROM that one),
// and neither ONBUILD nor its triggers leave a history entry of their own.
func TestOnbuildFromStage(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"f": "from trigger", "Dockerfile": "FROM base:1 AS parent\n" +
		"ONBUILD COPY f /f\nONBUILD ENV T=1\nLABEL p=1\n" +
		"FROM parent AS child\nLABEL c=1\n" +
		"FROM child\nLABEL g=1\n"})
	r := mustBuild(t, s, Options{ContextDir: ctx, Target: "child"})
	img, _ := s.Get(r.res.ImageID)
	if env := strings.Join(img.Config.Config.Env, " "); !strings.Contains(env, "T=1") || len(img.Config.Config.OnBuild) != 0 {
		t.Errorf("child: env %q, OnBuild %q", env, img.Config.Config.OnBuild)
	}
	var hist []string
	for _, h := range img.Config.History[1:] {
		hist = append(hist, h.CreatedBy)
	}
	want := []string{"LABEL p=1", "COPY f /f # buildkit", "ENV T=1", "LABEL c=1"}
	if !reflect.DeepEqual(hist, want) {
		t.Errorf("history %q, want %q", hist, want)
	}
	if files, _ := layerFiles(t, s, r.res.ImageID, -1); files["f"].data != "from trigger" {
		t.Errorf("trigger layer: %v", keysOf(files))
	}
	// The grandchild's base (child) has no triggers of its own: nothing runs again.
	r = mustBuild(t, s, Options{ContextDir: ctx})
	img, _ = s.Get(r.res.ImageID)
	if n := len(img.Config.RootFS.DiffIDs); n != 2 {
		t.Errorf("grandchild has %d layers, want 2 (base, the trigger's COPY)", n)
	}
}

func TestCopyAndAdd(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := copyTree(t, "testdata/copy/ctx")
	r := mustBuild(t, s, Options{ContextDir: ctx, DockerfilePath: "testdata/copy/Dockerfile"})
	img, _ := s.Get(r.res.ImageID)
	// base + 8 COPY/ADD + WORKDIR /w + COPY
	if n := len(img.Manifest.Layers); n != 11 {
		t.Fatalf("%d layers, want 11", n)
	}
	type want struct {
		typ      byte
		mode     int64
		uid, gid int
		data     string
		link     string
	}
	check := func(layer int, exp map[string]want) {
		t.Helper()
		files, order := layerFiles(t, s, r.res.ImageID, layer)
		if len(files) != len(exp) {
			t.Errorf("layer %d: entries %q, want %d", layer, order, len(exp))
		}
		for name, w := range exp {
			f, ok := files[name]
			if !ok {
				t.Errorf("layer %d: no %s (have %q)", layer, name, order)
				continue
			}
			h := f.hdr
			if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid || f.data != w.data || h.Linkname != w.link {
				t.Errorf("layer %d: %s = type %c mode %o %d:%d %q -> %q; want %+v", layer, name, h.Typeflag, h.Mode, h.Uid, h.Gid, f.data, h.Linkname, w)
			}
		}
	}
	dir := func(m int64) want { return want{typ: tar.TypeDir, mode: m} }
	file := func(m int64, d string) want { return want{typ: tar.TypeReg, mode: m, data: d} }
	check(1, map[string]want{"dst/": dir(0o755), "dst/a.txt": file(0o644, "hello\n")})
	check(2, map[string]want{
		"s/": {typ: tar.TypeDir, mode: 0o755, uid: 65534, gid: 65534}, "s/b": {typ: tar.TypeReg, mode: 0o600, uid: 65534, gid: 65534, data: "x\n"},
		"s/x.log":      {typ: tar.TypeReg, mode: 0o600, uid: 65534, gid: 65534, data: "log\n"},
		"s/deep/":      {typ: tar.TypeDir, mode: 0o600, uid: 65534, gid: 65534},
		"s/deep/d.txt": {typ: tar.TypeReg, mode: 0o600, uid: 65534, gid: 65534, data: "deep\n"},
	})
	// secret.txt is in .dockerignore, so the glob does not see it.
	check(3, map[string]want{"glob/": dir(0o755), "glob/a.txt": file(0o644, "hello\n"), "glob/b.txt": file(0o644, "world\n")})
	check(4, map[string]want{"par/": dir(0o755), "par/sub/": dir(0o755), "par/sub/deep/": dir(0o755), "par/sub/deep/d.txt": file(0o644, "deep\n")})
	check(5, map[string]want{"ex/": dir(0o755), "ex/b": file(0o644, "x\n"), "ex/deep/": dir(0o755), "ex/deep/d.txt": file(0o644, "deep\n")})
	// The source symlink is followed: the file is copied under the link's name.
	check(6, map[string]want{"lnk": file(0o644, "hello\n")})
	check(7, map[string]want{"unpacked/": dir(0o755), "unpacked/in/": dir(0o755), "unpacked/in/f": file(0o644, "inner\n")})
	// An existing directory keeps its metadata as a parent.
	check(8, map[string]want{"bin/": dir(0o755), "bin/a.txt": file(0o644, "hello\n")})
	check(10, map[string]want{"w/": dir(0o755), "w/rel.txt": file(0o644, "hello\n")})
	files, _ := layerFiles(t, s, r.res.ImageID, 1)
	if mt := files["dst/a.txt"].hdr.ModTime; mt.IsZero() {
		t.Errorf("mtime not kept")
	}
	var hist []string
	for _, h := range img.Config.History[1:] {
		hist = append(hist, h.CreatedBy)
	}
	if hist[0] != "COPY a.txt /dst/ # buildkit" || hist[1] != "COPY sub /s # buildkit" || hist[6] != "ADD files.tar.gz /unpacked/ # buildkit" {
		t.Errorf("history %q", hist)
	}
}

// A wildcard that matches nothing copies nothing (BuildKit's AllowEmptyWildcard), one that
// matches a single file may copy it to a file destination, and more than one file still needs a
// directory destination.
func TestCopyWildcards(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"a.txt": "a", "b.dat": "b", "c.dat": "c"})
	df := "FROM base:1\nCOPY a.txt nomatch* /d/\nCOPY b.* /one\nCOPY nomatch* /none/\n"
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(df)})
	files, order := layerFiles(t, s, r.res.ImageID, 1)
	if len(files) != 2 || files["d/a.txt"].data != "a" {
		t.Errorf("COPY a.txt nomatch* /d/: %q", order)
	}
	files, order = layerFiles(t, s, r.res.ImageID, 2)
	if len(files) != 1 || files["one"].data != "b" || files["one"].hdr.Typeflag != tar.TypeReg {
		t.Errorf("COPY b.* /one: %q", order)
	}
	img, _ := s.Get(r.res.ImageID)
	for i := range img.Manifest.Layers {
		if files, _ := layerFiles(t, s, r.res.ImageID, i); len(files) > 0 {
			if _, ok := files["none/"]; ok {
				t.Errorf("COPY nomatch* /none/ made /none")
			}
		}
	}
	// Two files to a path that is no directory: each is copied there in turn, as BuildKit does
	// (the classic builder refuses); to an existing directory without the slash: into it.
	r = mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM base:1\nCOPY *.dat /x\nCOPY *.dat /bin\n")})
	files, _ = layerFiles(t, s, r.res.ImageID, 1)
	if len(files) != 1 || files["x"].hdr.Typeflag != tar.TypeReg {
		t.Errorf("two files to /x: %v", files)
	}
	files, _ = layerFiles(t, s, r.res.ImageID, 2)
	if len(files) < 3 {
		t.Errorf("two files into /bin: %v", files)
	}
}

// A cache entry without a layer for a step that has one (recorded when berth dropped empty
// layers) is a miss: the step runs again and gets its empty layer.
func TestCacheEntryWithoutLayerIsAMiss(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\nWORKDIR /tmp\n"})
	mustBuild(t, s, Options{ContextDir: ctx})
	err := s.DB.Update(func(tx *metadata.Tx) error {
		entries, err := tx.CacheEntries()
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Description == "WORKDIR /tmp" {
				e.ChainID, e.DiffID, e.Blob, e.MediaType, e.BlobSize, e.Size = "", "", "", "", 0, 0
				if err := tx.PutCache(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	again := mustBuild(t, s, Options{ContextDir: ctx})
	img, _ := s.Get(again.res.ImageID)
	if n := len(img.Config.RootFS.DiffIDs); cachedCount(again.out) != 0 || n != 2 || img.Config.RootFS.DiffIDs[1] != emptyTarDiffID {
		t.Errorf("old layerless entry used (%d cached, %d layers):\n%s", cachedCount(again.out), n, again.out)
	}
	if n := cachedCount(mustBuild(t, s, Options{ContextDir: ctx}).out); n != 1 {
		t.Errorf("the step made again is not cached (%d cached)", n)
	}
}

func TestAddURL(t *testing.T) {
	s := newStore(t)
	lm := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lm.Format(http.TimeFormat))
		fmt.Fprint(w, "remote content")
	}))
	t.Cleanup(srv.Close)
	ctx := t.TempDir()
	sum := "sha256:" + digestOf("remote content")
	df := fmt.Sprintf("FROM scratch\nADD --checksum=%s %s/dir/file.txt /dl/\n", sum, srv.URL)
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(df)})
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	f := files["dl/file.txt"]
	if f.data != "remote content" || f.hdr.Mode != 0o600 || !f.hdr.ModTime.Equal(lm) {
		t.Errorf("downloaded file: %+v %q", f.hdr, f.data)
	}
	bad := fmt.Sprintf("FROM scratch\nADD --checksum=sha256:%s %s/f /f\n", strings.Repeat("0", 64), srv.URL)
	if r := runBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(bad), Tags: []string{"bad:1"}}); r.err == nil || !strings.Contains(r.err.Error(), "digest mismatch") {
		t.Errorf("checksum mismatch: %v", r.err)
	}
	if _, err := s.Resolve("bad:1"); err == nil {
		t.Error("failed build was tagged")
	}
}

func TestMultiStageTarget(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := copyTree(t, "testdata/multistage/ctx")
	// The unused stage refers to something that exists nowhere: it must not run.
	r := mustBuild(t, s, Options{ContextDir: ctx, DockerfilePath: "testdata/multistage/Dockerfile", BuildArgs: map[string]string{"TAG": "1"}})
	img, _ := s.Get(r.res.ImageID)
	if n := len(img.Manifest.Layers); n != 2 {
		t.Fatalf("%d layers", n)
	}
	arch := img.Config.Architecture
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if files["final/a-"+arch+".txt"].data != "multi\n" {
		t.Errorf("COPY --from=build: %v", files)
	}
	files, _ = layerFiles(t, s, r.res.ImageID, 1)
	if f := files["bb"]; f.hdr.Mode != 0o755 || f.hdr.Size == 0 {
		t.Errorf("COPY --from=0: %+v", f.hdr)
	}
	if !strings.Contains(r.out, "[build 2/3] COPY a.txt /out/a-${TARGETARCH}.txt") && !strings.Contains(r.out, "[build 2/3] COPY a.txt /out/a-"+arch+".txt") {
		t.Errorf("progress names the stage:\n%s", r.out)
	}
	// --target builds only what the target needs.
	r = mustBuild(t, s, Options{ContextDir: ctx, DockerfilePath: "testdata/multistage/Dockerfile", Target: "build"})
	img, _ = s.Get(r.res.ImageID)
	// base, COPY, and WORKDIR /out, an empty layer: the COPY made /out.
	if img.Config.Config.WorkingDir != "/out" || len(img.Manifest.Layers) != 3 {
		t.Errorf("target build: %+v", img.Config.Config)
	}
	if r := runBuild(t, s, Options{ContextDir: ctx, DockerfilePath: "testdata/multistage/Dockerfile", Target: "unused"}); r.err == nil ||
		!strings.Contains(r.err.Error(), "Dockerfile:8:") || !strings.Contains(r.err.Error(), "nosuchstage-or-image") {
		t.Errorf("unknown --from: %v", r.err)
	}
	if r := runBuild(t, s, Options{ContextDir: ctx, DockerfilePath: "testdata/multistage/Dockerfile", Target: "nope"}); r.err == nil {
		t.Error("unknown target accepted")
	}
}

func writeCtx(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for n, d := range files {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCache(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile": "FROM base:1\nARG V=1\nCOPY a /a\nWORKDIR /w-$V\nCOPY b /b\nCOPY c /c\nCMD [\"x\"]\n",
		"a":          "a", "b": "b", "c": "c",
	})
	first := mustBuild(t, s, Options{ContextDir: ctx})
	if n := cachedCount(first.out); n != 0 {
		t.Fatalf("first build: %d CACHED", n)
	}
	again := mustBuild(t, s, Options{ContextDir: ctx})
	if n := cachedCount(again.out); n != 4 || again.res.ImageID != first.res.ImageID {
		t.Errorf("unchanged rebuild: %d CACHED, id %s vs %s\n%s", n, again.res.ImageID, first.res.ImageID, again.out)
	}
	// mtime alone keeps the cache.
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(ctx, "b"), future, future)
	if r := mustBuild(t, s, Options{ContextDir: ctx}); cachedCount(r.out) != 4 {
		t.Errorf("touched file missed the cache:\n%s", r.out)
	}
	// A content change misses from that COPY on.
	os.WriteFile(filepath.Join(ctx, "b"), []byte("B"), 0o644)
	r := mustBuild(t, s, Options{ContextDir: ctx})
	if !strings.Contains(r.out, "COPY a /a\n#") || cachedCount(r.out) != 2 || strings.Contains(after(r.out, "COPY b /b"), "CACHED") {
		t.Errorf("content change:\n%s", r.out)
	}
	// A build arg change misses from its first use (WORKDIR) on.
	r = mustBuild(t, s, Options{ContextDir: ctx, BuildArgs: map[string]string{"V": "2"}})
	if cachedCount(r.out) != 1 || !strings.Contains(r.out, "WORKDIR /w-2") {
		t.Errorf("build arg change:\n%s", r.out)
	}
	// --no-cache rebuilds everything, and gives the same layers back.
	r = mustBuild(t, s, Options{ContextDir: ctx, NoCache: true})
	if cachedCount(r.out) != 0 {
		t.Errorf("--no-cache:\n%s", r.out)
	}
	// Cached states are not images.
	list, err := s.List(image.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) > 5 {
		t.Errorf("%d images listed: intermediate states leaked", len(list))
	}
	recs, err := CacheUsage(s)
	if err != nil || len(recs) == 0 {
		t.Fatalf("du: %v %d", err, len(recs))
	}
	// The cache survives the image store's GC when its layers are gone: a miss, never a broken image.
	if _, _, err := PruneCache(s); err != nil {
		t.Fatal(err)
	}
	if recs, _ := CacheUsage(s); len(recs) != 0 {
		t.Errorf("prune left %d entries", len(recs))
	}
	r = mustBuild(t, s, Options{ContextDir: ctx})
	if cachedCount(r.out) != 0 {
		t.Errorf("after prune:\n%s", r.out)
	}
}

func after(s, sub string) string {
	if i := strings.Index(s, sub); i >= 0 {
		return s[i:]
	}
	return ""
}

// The cache must notice when GC removed a layer it points at.
func TestCacheEntryWithMissingLayerIsAMiss(t *testing.T) {
	s := newStore(t)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a"})
	mustBuild(t, s, Options{ContextDir: ctx})
	var es []metadata.CacheEntry
	s.DB.View(func(tx *metadata.Tx) error { es, _ = tx.CacheEntries(); return nil })
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	os.Remove(s.Content.Path(digestFrom(es[0].Blob)))
	r := mustBuild(t, s, Options{ContextDir: ctx})
	if cachedCount(r.out) != 0 {
		t.Errorf("entry with a missing blob was used:\n%s", r.out)
	}
}

func TestReproducibleWithSourceDateEpoch(t *testing.T) {
	epoch := time.Unix(1700000000, 0).UTC()
	var ids []string
	for i := 0; i < 2; i++ {
		s := newStore(t)
		ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /x/a\nWORKDIR /w\nENV A=1\n", "a": "a"})
		if i == 1 {
			now := time.Now()
			os.Chtimes(filepath.Join(ctx, "a"), now, now)
		}
		r := mustBuild(t, s, Options{ContextDir: ctx, SourceDateEpoch: &epoch})
		ids = append(ids, r.res.ImageID)
		img, _ := s.Get(r.res.ImageID)
		if !img.Config.Created.Equal(epoch) {
			t.Errorf("created %v", img.Config.Created)
		}
		files, _ := layerFiles(t, s, r.res.ImageID, 0)
		for n, f := range files {
			if f.hdr.ModTime.After(epoch) {
				t.Errorf("%s mtime %v after the epoch", n, f.hdr.ModTime)
			}
		}
	}
	if ids[0] != ids[1] {
		t.Errorf("two builds gave %s and %s", ids[0], ids[1])
	}
}

func TestBadInput(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"a": "a", "sub/b": "b"})
	cases := []struct{ name, df, want string }{
		{"unknown instruction", "FROM base:1\nCOPY a /a\nFOO bar\n", "Dockerfile:3: unknown instruction: FOO"},
		{"syntax", "FROM base:1\nENV\n", "Dockerfile:2:"},
		{"bad flag", "FROM base:1\nCOPY --nope=1 a /a\n", "Dockerfile:2:"},
		{"missing source", "FROM base:1\nCOPY a /a\nCOPY nosuch /x\n", `Dockerfile:3: COPY nosuch /x: "nosuch": not found`},
		{"outside context", "FROM base:1\nCOPY ../etc/passwd /x\n", "Dockerfile:2: COPY ../etc/passwd /x: forbidden path outside the build context"},
		{"unknown from", "FROM base:1\nCOPY --from=nostage /a /a\n", "Dockerfile:2: COPY --from=nostage /a /a: --from=nostage is neither a stage"},
		{"from index", "FROM base:1\nCOPY --from=3 /a /a\n", "Dockerfile:2:"},
		{"no such base", "FROM nosuchimage:9\n", "Dockerfile:1: FROM nosuchimage:9: No such image: nosuchimage:9"},
		{"chown user", "FROM base:1\nCOPY --chown=nosuchuser a /a\n", "unable to find user nosuchuser"},
		{"run fails", "FROM base:1\nRUN echo hi && exit 3\n", `Dockerfile:2: RUN echo hi && exit 3: process "/bin/sh -c echo hi && exit 3" did not complete successfully: exit code: 3`},
		{"missing secret", "FROM base:1\nRUN --mount=type=secret,id=nope,required true\n", "Dockerfile:2: RUN --mount=type=secret,id=nope,required true: secret nope: not found"},
		{"missing bind source", "FROM base:1\nRUN --mount=source=nope,target=/x true\n", `bind source "nope": not found in the build context`},
		{"bind from unknown stage", "FROM base:1 AS a\nFROM base:1\nRUN --mount=from=nosuch:9,target=/x true\n", "No such image: nosuch:9"},
		{"mount type", "FROM base:1\nRUN --mount=type=nfs,target=/x true\n", `unsupported mount type "nfs"`},
		{"empty", "# nothing\n", "file with no instructions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(c.df), Tags: []string{"bad:" + strings.ReplaceAll(c.name, " ", "-")}})
			if r.err == nil || !strings.Contains(r.err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", r.err, c.want)
			}
			if strings.Contains(r.err.Error(), "\n") {
				t.Errorf("error is not one line: %q", r.err)
			}
			if _, err := s.Resolve("bad:" + strings.ReplaceAll(c.name, " ", "-")); !errors.Is(err, image.ErrNoSuchImage) {
				t.Errorf("failed build left a tagged image: %v", err)
			}
		})
	}
	list, _ := s.List(image.ListOptions{All: true})
	if len(list) != 1 {
		t.Errorf("%d images after failed builds, want only the base", len(list))
	}
}

func TestLabelsTagsAndContextFromScratch(t *testing.T) {
	s := newStore(t)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM scratch\nLABEL a=1\n"})
	r := mustBuild(t, s, Options{ContextDir: ctx, Tags: []string{"x:1", "y"}, Labels: map[string]string{"b": "2"}})
	img, _ := s.Get(r.res.ImageID)
	if !reflect.DeepEqual(img.Config.Config.Labels, map[string]string{"a": "1", "b": "2"}) {
		t.Errorf("labels %v", img.Config.Config.Labels)
	}
	for _, n := range []string{"x:1", "y:latest"} {
		if id, err := s.Resolve(n); err != nil || id != r.res.ImageID {
			t.Errorf("%s: %v", n, err)
		}
	}
	if len(img.Config.RootFS.DiffIDs) != 0 || img.Config.Config.Env[0] != DefaultPathEnv {
		t.Errorf("scratch image: %+v", img.Config)
	}
}

func TestIgnoreFromImageLinkAndWorkdirOwner(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		".dockerignore": "secret\n", "secret": "s", "keep": "k", "other": "o",
		"sub/Dockerfile.dockerignore": "keep\n",
	})
	// .dockerignore hides an explicitly named source.
	r := runBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM base:1\nCOPY secret /s\n")})
	if r.err == nil || !strings.Contains(r.err.Error(), `"secret": not found`) {
		t.Errorf("ignored source: %v", r.err)
	}
	// Dockerfile.dockerignore beside the Dockerfile wins over .dockerignore.
	os.WriteFile(filepath.Join(ctx, "sub/Dockerfile"), []byte("FROM base:1\nCOPY secret /s\n"), 0o644)
	if r := runBuild(t, s, Options{ContextDir: ctx, DockerfilePath: filepath.Join(ctx, "sub/Dockerfile")}); r.err != nil {
		t.Errorf("Dockerfile.dockerignore: %v", r.err)
	}
	os.WriteFile(filepath.Join(ctx, "sub/Dockerfile"), []byte("FROM base:1\nCOPY keep /k\n"), 0o644)
	if r := runBuild(t, s, Options{ContextDir: ctx, DockerfilePath: filepath.Join(ctx, "sub/Dockerfile")}); r.err == nil {
		t.Error("Dockerfile.dockerignore not applied")
	}

	df := "FROM scratch\nCOPY --from=base:1 /etc/passwd /etc/\nCOPY --link other /deep/dir/o\nUSER nobody\nWORKDIR /home/me\n"
	r = mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(df)})
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if !strings.HasPrefix(files["etc/passwd"].data, "root:x:0:0") {
		t.Errorf("COPY --from=image: %v", files)
	}
	files, order := layerFiles(t, s, r.res.ImageID, 1)
	if len(order) != 3 || files["deep/dir/o"].data != "o" {
		t.Errorf("COPY --link: %q", order)
	}
	files, _ = layerFiles(t, s, r.res.ImageID, 2)
	if h := files["home/me/"].hdr; h.Uid != 65534 || h.Gid != 65534 {
		t.Errorf("WORKDIR under USER nobody: owner %d:%d", h.Uid, h.Gid)
	}
	if h := files["home/"].hdr; h.Uid != 65534 {
		t.Errorf("created parent of WORKDIR: owner %d", h.Uid)
	}
}

func TestArgScoping(t *testing.T) {
	s := newStore(t)
	ctx := t.TempDir()
	df := "ARG G=global\nARG ONLYGLOBAL=x\nFROM scratch\nARG G\nARG TARGETOS\nARG D=def\nENV OUT=$G-$TARGETOS-$D-$ONLYGLOBAL-$HTTP_PROXY\n"
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(df), BuildArgs: map[string]string{"D": "set", "HTTP_PROXY": "http://p"}})
	img, _ := s.Get(r.res.ImageID)
	want := "OUT=global-linux-set--"
	if got := img.Config.Config.Env[len(img.Config.Config.Env)-1]; got != want {
		t.Errorf("env %q, want %q", got, want)
	}
	for _, h := range img.Config.History {
		if strings.Contains(h.CreatedBy, "http://p") {
			t.Errorf("proxy arg in history: %q", h.CreatedBy)
		}
	}
	if got := img.Config.History[2].CreatedBy; got != "ARG D=set" {
		t.Errorf("ARG history %q", got)
	}
}

func TestCopyHeredoc(t *testing.T) {
	s := newStore(t)
	df := "FROM scratch\nARG WHO=world\nCOPY <<EOF /greeting\nhello $WHO\nEOF\nCOPY <<one <<'two' /multi/\n1 $WHO\none\n2 $WHO\ntwo\n"
	r := mustBuild(t, s, Options{ContextDir: t.TempDir(), Dockerfile: []byte(df)})
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if f := files["greeting"]; f.data != "hello world\n" || f.hdr.Mode != 0o644 {
		t.Errorf("heredoc: %+v %q", f.hdr, f.data)
	}
	files, _ = layerFiles(t, s, r.res.ImageID, 1)
	if files["multi/one"].data != "1 world\n" || files["multi/two"].data != "2 $WHO\n" {
		t.Errorf("heredocs: %q %q", files["multi/one"].data, files["multi/two"].data)
	}
}

// A layer cached without SOURCE_DATE_EPOCH must not be reused for a build with it.
func TestSourceDateEpochIsPartOfTheCacheKey(t *testing.T) {
	s := newStore(t)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a"})
	mustBuild(t, s, Options{ContextDir: ctx})
	epoch := time.Unix(1000, 0).UTC()
	r := mustBuild(t, s, Options{ContextDir: ctx, SourceDateEpoch: &epoch})
	if cachedCount(r.out) != 0 {
		t.Fatalf("cache reused across SOURCE_DATE_EPOCH:\n%s", r.out)
	}
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if mt := files["a"].hdr.ModTime; !mt.Equal(epoch) {
		t.Errorf("mtime %v, want clamped to %v", mt, epoch)
	}
}

func TestFromPullsMissingImage(t *testing.T) {
	s := newStore(t)
	var pulled []string
	pull := func(_ context.Context, ref, _ string) (string, error) {
		pulled = append(pulled, ref)
		if ref != "remote/base:1" {
			return "", errors.New("manifest unknown")
		}
		id := importBase(t, s)
		return id, s.Tag(id, ref)
	}
	ctx := t.TempDir()
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM remote/base:1\nCOPY --from=remote/base:1 /etc/group /g\n"), Pull: pull})
	if len(pulled) != 1 {
		t.Errorf("pulled %q, want once", pulled)
	}
	files, _ := layerFiles(t, s, r.res.ImageID, -1)
	if _, ok := files["g"]; !ok {
		t.Errorf("COPY --from pulled image: %v", files)
	}
	r = runBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM nosuch/thing:2\n"), Pull: pull})
	if r.err == nil || !strings.Contains(r.err.Error(), "No such image: nosuch/thing:2, and pulling it failed: manifest unknown") {
		t.Errorf("failed pull: %v", r.err)
	}
}

// Independent stages run concurrently; the result must not depend on which finishes first.
func TestIndependentStages(t *testing.T) {
	s := newStore(t)
	files := map[string]string{}
	df := "FROM scratch AS s0\nCOPY f0 /f\n"
	for i := 1; i < 6; i++ {
		df += fmt.Sprintf("FROM scratch AS s%d\nCOPY f%d /f\n", i, i)
	}
	df += "FROM scratch\n"
	for i := 0; i < 6; i++ {
		files[fmt.Sprintf("f%d", i)] = fmt.Sprint(i)
		df += fmt.Sprintf("COPY --from=s%d /f /out/%d\n", i, i)
	}
	files["Dockerfile"] = df
	ctx := writeCtx(t, files)
	first := mustBuild(t, s, Options{ContextDir: ctx, NoCache: true})
	for i := 0; i < 6; i++ {
		got, _ := layerFiles(t, s, first.res.ImageID, i)
		if f := got[fmt.Sprintf("out/%d", i)]; f.data != fmt.Sprint(i) {
			t.Errorf("layer %d: %v", i, got)
		}
	}
	if r := mustBuild(t, s, Options{ContextDir: ctx}); r.res.ImageID != first.res.ImageID || cachedCount(r.out) != 12 {
		t.Errorf("rebuild: %s vs %s, %d cached", r.res.ImageID, first.res.ImageID, cachedCount(r.out))
	}
}

func TestCmdEntrypointHealthcheckForms(t *testing.T) {
	s := newStore(t)
	ctx := t.TempDir()
	cases := []struct {
		df         string
		cmd, ep    []string
		healthTest []string
	}{
		{df: "FROM scratch\nCMD echo hi\n", cmd: []string{"/bin/sh", "-c", "echo hi"}},
		{df: "FROM scratch\nCMD [\"a\"]\nENTRYPOINT [\"e\"]\n", cmd: []string{"a"}, ep: []string{"e"}},
		{df: "FROM scratch AS p\nCMD [\"a\"]\nFROM p\nENTRYPOINT e x\n", ep: []string{"/bin/sh", "-c", "e x"}},
		{df: "FROM scratch\nSHELL [\"/bin/bash\", \"-xc\"]\nCMD ls -l\n", cmd: []string{"/bin/bash", "-xc", "ls -l"}},
		{df: "FROM scratch\nHEALTHCHECK CMD [\"/bin/check\", \"x\"]\n", healthTest: []string{"CMD", "/bin/check", "x"}},
		{df: "FROM scratch\nHEALTHCHECK CMD true\nHEALTHCHECK NONE\n", healthTest: []string{"NONE"}},
	}
	for _, c := range cases {
		r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(c.df)})
		img, _ := s.Get(r.res.ImageID)
		cc := img.Config.Config
		if !reflect.DeepEqual(cc.Cmd, c.cmd) || !reflect.DeepEqual(cc.Entrypoint, c.ep) {
			t.Errorf("%q: cmd %q entrypoint %q", c.df, cc.Cmd, cc.Entrypoint)
		}
		var ht []string
		if cc.Healthcheck != nil {
			ht = cc.Healthcheck.Test
		}
		if !reflect.DeepEqual(ht, c.healthTest) {
			t.Errorf("%q: healthcheck %q", c.df, ht)
		}
	}
}

// Symlinks resolve inside the tree they belong to: a context link never reaches the host, and an
// image's /lib -> usr/lib link is followed for sources and destinations alike.
func TestSymlinksStayInside(t *testing.T) {
	s := newStore(t)
	ctx := writeCtx(t, map[string]string{"real/f": "f", "usr/lib/x": "libx", "etc/passwd": "ctx passwd"})
	os.Symlink("/etc", filepath.Join(ctx, "hostetc"))
	os.Symlink("real", filepath.Join(ctx, "linkdir"))
	os.Symlink("usr/lib", filepath.Join(ctx, "lib"))
	df := "FROM scratch\nCOPY hostetc/passwd /p\nCOPY linkdir/f /f\nCOPY usr /usr\nCOPY lib /lib\nCOPY real/f /lib/y\nWORKDIR /lib/w\n"
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte(df)})
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if files["p"].data != "ctx passwd" {
		t.Errorf("context symlink left the context: %q", files["p"].data)
	}
	if files, _ := layerFiles(t, s, r.res.ImageID, 1); files["f"].data != "f" {
		t.Errorf("intermediate symlink not followed: %v", files)
	}
	// COPY lib /lib copies the directory the link points to.
	if files, _ := layerFiles(t, s, r.res.ImageID, 3); files["lib/x"].data != "libx" {
		t.Errorf("COPY of a symlinked dir: %v", files)
	}
	img, _ := s.Get(r.res.ImageID)
	if img.Config.Config.WorkingDir != "/lib/w" {
		t.Errorf("workdir %q", img.Config.Config.WorkingDir)
	}
}

func TestDestinationThroughImageSymlink(t *testing.T) {
	s := newStore(t)
	ctx := writeCtx(t, map[string]string{"usr/lib/x": "libx", "y": "y"})
	// Build a base whose /lib is a symlink to usr/lib, then COPY and WORKDIR through it.
	base := writeCtx(t, map[string]string{})
	os.MkdirAll(filepath.Join(base, "usr/lib"), 0o755)
	os.Symlink("usr/lib", filepath.Join(base, "lib"))
	r0 := mustBuild(t, s, Options{ContextDir: base, Dockerfile: []byte("FROM scratch\nCOPY . /\n"), Tags: []string{"linkbase:1"}})
	files, _ := layerFiles(t, s, r0.res.ImageID, 0)
	if files["lib"].hdr.Typeflag != tar.TypeSymlink {
		t.Fatalf("base: %v", files)
	}
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM linkbase:1\nCOPY y /lib/y\nWORKDIR /lib/w\nCOPY --from=linkbase:1 /lib/ /copied/\n")})
	files, order := layerFiles(t, s, r.res.ImageID, 1)
	if files["usr/lib/y"].data != "y" || files["lib/"].hdr.Name != "" {
		t.Errorf("COPY through /lib: %q", order)
	}
	_, order = layerFiles(t, s, r.res.ImageID, 2)
	if !reflect.DeepEqual(order, []string{"usr/", "usr/lib/", "usr/lib/w/"}) {
		t.Errorf("WORKDIR through /lib: %q", order)
	}
}

// The build cache is a GC root: removing every image built from it and collecting garbage keeps
// the cached layers and blobs, so the next build is all CACHED (Docker's builder cache outlives
// `image prune` the same way).
func TestCacheSurvivesImageRemovalAndGC(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile": "FROM base:1\nCOPY a /a\nCOPY b /b\n",
		"a":          "a", "b": "b",
	})
	first := mustBuild(t, s, Options{ContextDir: ctx, Tags: []string{"built:1"}})
	if _, err := s.Remove("built:1", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Prune(image.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GC(); err != nil {
		t.Fatal(err)
	}
	again := mustBuild(t, s, Options{ContextDir: ctx})
	if n := cachedCount(again.out); n != 2 || again.res.ImageID != first.res.ImageID {
		t.Errorf("after rmi+GC: %d CACHED, id %s vs %s\n%s", n, again.res.ImageID, first.res.ImageID, again.out)
	}
}

// Hard links among the copied files stay hard links in the layer, as BuildKit and the classic
// builder keep them (checked against Docker 20.10: "x/b link to x/a"), and apply as such.
func TestCopyKeepsHardLinks(t *testing.T) {
	s := newStore(t)
	ctx := t.TempDir()
	os.MkdirAll(filepath.Join(ctx, "d"), 0o755)
	os.WriteFile(filepath.Join(ctx, "a"), []byte("hello\n"), 0o644)
	for _, l := range []string{"b", "d/c"} {
		if err := os.Link(filepath.Join(ctx, "a"), filepath.Join(ctx, l)); err != nil {
			t.Skipf("no hard links here: %v", err)
		}
	}
	os.WriteFile(filepath.Join(ctx, "lone"), []byte("x"), 0o644)
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM scratch\nCOPY . /x/\n")})
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	if f := files["x/a"]; f.hdr.Typeflag != tar.TypeReg || f.data != "hello\n" {
		t.Errorf("x/a: %+v %q", f.hdr, f.data)
	}
	for _, l := range []string{"x/b", "x/d/c"} {
		if f := files[l]; f.hdr.Typeflag != tar.TypeLink || f.hdr.Linkname != "x/a" || f.hdr.Size != 0 {
			t.Errorf("%s: type %c link %q size %d, want a hard link to x/a", l, f.hdr.Typeflag, f.hdr.Linkname, f.hdr.Size)
		}
	}
	if f := files["x/lone"]; f.hdr.Typeflag != tar.TypeReg {
		t.Errorf("x/lone: type %c", f.hdr.Typeflag)
	}
	// With --chmod every copy gets the same mode: still one file.
	r = mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM scratch\nCOPY --chmod=600 a b /y/\n")})
	files, _ = layerFiles(t, s, r.res.ImageID, 0)
	if f := files["y/b"]; f.hdr.Typeflag != tar.TypeLink || f.hdr.Linkname != "y/a" {
		t.Errorf("y/b: type %c link %q", f.hdr.Typeflag, f.hdr.Linkname)
	}
}

// COPY --chmod takes octal modes and, as BuildKit's Dockerfile frontend does since 1.14, chmod(1)'s
// symbolic ones applied to each file's own mode: u=rwX,go=rX gives directories and executables
// 0755 and other files 0644. Bad modes get BuildKit's error.
func TestCopyChmodSymbolic(t *testing.T) {
	s := newStore(t)
	ctx := t.TempDir()
	os.MkdirAll(filepath.Join(ctx, "d", "sub"), 0o700)
	os.WriteFile(filepath.Join(ctx, "d", "run.sh"), []byte("x"), 0o700)
	os.WriteFile(filepath.Join(ctx, "d", "sub", "data"), []byte("y"), 0o600)
	os.Chmod(filepath.Join(ctx, "d", "run.sh"), 0o700)
	os.Chmod(filepath.Join(ctx, "d", "sub", "data"), 0o600)
	os.Chmod(filepath.Join(ctx, "d", "sub"), 0o700)
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM scratch\nCOPY --chmod=u=rwX,go=rX d /x/\nCOPY --chmod=g+w,+t d/sub/data /y\n")})
	files, _ := layerFiles(t, s, r.res.ImageID, 0)
	for name, want := range map[string]int64{"x/run.sh": 0o755, "x/sub/": 0o755, "x/sub/data": 0o644} {
		if got := files[name].hdr.Mode; got != want {
			t.Errorf("%s: mode %o, want %o", name, got, want)
		}
	}
	files, _ = layerFiles(t, s, r.res.ImageID, 1)
	if got := files["y"].hdr.Mode; got != 0o1620 {
		t.Errorf("y: mode %o, want 1620", got)
	}
	for chmod, want := range map[string]string{
		"99999": "invalid chmod parameter: '99999'. it should be octal string and between 0 and 07777",
		"u+q":   "",
	} {
		r := runBuild(t, s, Options{ContextDir: ctx, Dockerfile: []byte("FROM scratch\nCOPY --chmod=" + chmod + " d /x\n")})
		if r.err == nil || want != "" && !strings.Contains(r.err.Error(), want) {
			t.Errorf("--chmod=%s: %v", chmod, r.err)
		}
	}
}

// --output exports the target's files instead of an image: into a directory (type=local, or a
// path alone) or as a tar, stage whiteouts applied, and no image is recorded; bad values get a
// one-line error.
func TestBuildOutput(t *testing.T) {
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"a": "from context"})
	df := []byte("FROM base:1 AS b\nCOPY a /out/a\nFROM scratch\nCOPY --from=b /out /\nCOPY a /x\n")
	dir := filepath.Join(t.TempDir(), "out")
	before, _ := s.List(image.ListOptions{All: true})
	r := mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: df, Output: &Output{Type: "local", Dest: dir}, Tags: []string{"not:made"}})
	if r.res.ImageID != "" {
		t.Errorf("an image was made: %s", r.res.ImageID)
	}
	if after, _ := s.List(image.ListOptions{All: true}); len(after) != len(before) {
		t.Errorf("%d images before, %d after", len(before), len(after))
	}
	for name, want := range map[string]string{"a": "from context", "x": "from context"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	var buf bytes.Buffer
	mustBuild(t, s, Options{ContextDir: ctx, Dockerfile: df, Output: &Output{Type: "tar", Dest: "-", Writer: &buf}})
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "a x" {
		t.Errorf("tar entries %q", names)
	}
	for _, bad := range []string{"type=image", "type=tar", "type=local,dest=-", "dest=x", "type=local,dest=x,foo=1"} {
		if _, err := ParseOutput(bad); err == nil {
			t.Errorf("ParseOutput(%q): no error", bad)
		}
	}
	if o, err := ParseOutput("out"); err != nil || o.Type != "local" || o.Dest != "out" {
		t.Errorf("ParseOutput(out) = %+v %v", o, err)
	}
}
