package build

import (
	"os"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"path/filepath"
	"strings"
	"testing"
)

// noLeaks checks that a layer holds exactly the allowed files, besides the bare mount points
// dev/, proc/ and sys/ a first RUN over base:1 has (TestRunMountPoints).
func noLeaks(t *testing.T, what string, files map[string]tarFile, allowed ...string) {
	t.Helper()
	ok := map[string]bool{"dev/": true, "proc/": true, "sys/": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for name := range files {
		if !ok[name] {
			t.Errorf("%s: unexpected %s in the layer (mount point or parent leaked?); layer: %v", what, name, keysOf(files))
		}
	}
	for _, a := range allowed {
		if _, found := files[a]; !found {
			t.Errorf("%s: %s missing from the layer %v", what, a, keysOf(files))
		}
	}
}

// RUN --mount: cache mounts persist across builds (and are not in the layer), bind mounts show
// the context or another stage read-only (rw writes are thrown away), secrets are mounted at
// /run/secrets/ID with mode 0400 or given as env, tmpfs is empty and gone; no mount point or
// parent the mount needed reaches the layer; the cache key follows the bind source's content
// but neither a secret's nor a cache's.
func TestRunMounts(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile": `FROM base:1 AS src
RUN /bin/busybox mkdir -p /data && echo from-stage > /data/f
FROM base:1
ARG ZED=z
ARG ALPHA=a
ARG UNSET
RUN --mount=type=cache,target=/root/.cache/x echo run >> /root/.cache/x/log && /bin/busybox wc -l < /root/.cache/x/log > /count
RUN --mount=type=bind,source=sub,target=/mnt/ctx cat /mnt/ctx/a.txt > /out2
RUN --mount=type=bind,from=src,source=/data,target=/mnt/stage,rw cat /mnt/stage/f > /out-stage && echo scribble > /mnt/stage/f
RUN --mount=from=src,source=/data/f,target=/mnt/file cat /mnt/file > /out-stage2
RUN --mount=type=secret,id=mysecret cat /run/secrets/mysecret > /out3 && /bin/busybox stat -c '%a %u' /run/secrets/mysecret >> /out3
RUN --mount=type=secret,id=mysecret,env=TOKEN,target=/tmp/tok echo "$TOKEN" > /out5 && cat /tmp/tok >> /out5
RUN --mount=type=tmpfs,target=/var/tmpfs /bin/busybox ls -A /var/tmpfs > /out4 && echo x > /var/tmpfs/y
RUN --mount=type=secret,id=absent cat /run/secrets/absent 2>/dev/null || echo none > /out6
`,
		"sub/a.txt": "ctxfile\n",
		"other":     "x",
	})
	secret := map[string][]byte{"mysecret": []byte("s3cret\n")}
	o := Options{ContextDir: ctx, Secrets: secret}
	first := mustBuild(t, s, o)
	img, err := s.Get(first.res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	base := len(img.Manifest.Layers) - 8
	want := []struct {
		file, data string
	}{
		{"count", "1\n"}, {"out2", "ctxfile\n"}, {"out-stage", "from-stage\n"}, {"out-stage2", "from-stage\n"},
		{"out3", "s3cret\n400 0\n"}, {"out5", "s3cret\n\ns3cret\n"}, {"out4", ""}, {"out6", "none\n"},
	}
	for i, w := range want {
		files, _ := layerFiles(t, s, first.res.ImageID, base+i)
		noLeaks(t, "RUN "+w.file, files, w.file)
		if got := files[w.file].data; got != w.data {
			t.Errorf("/%s = %q, want %q", w.file, got, w.data)
		}
	}
	var runs []string
	for _, h := range img.Config.History {
		if strings.HasPrefix(h.CreatedBy, "RUN ") {
			runs = append(runs, h.CreatedBy)
		}
	}
	// As Docker 20.10's BuildKit writes it: the stage's ARGs in declaration order, unset ones as "K=".
	if w := "RUN |3 ZED=z ALPHA=a UNSET= /bin/sh -c cat /mnt/ctx/a.txt > /out2 # buildkit"; len(runs) < 2 || runs[1] != w {
		t.Errorf("history %q, want %q", runs, w)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root, "builds")); len(ents) != 0 {
		t.Errorf("RUN left %d scratch dirs", len(ents))
	}

	// A different secret is the same step (its content is no part of the key); all cached.
	again := mustBuild(t, s, Options{ContextDir: ctx, Secrets: map[string][]byte{"mysecret": []byte("other")}})
	if again.res.ImageID != first.res.ImageID {
		t.Errorf("a different secret value missed the cache:\n%s", again.out)
	}
	// The cache mount keeps its content across builds.
	third := mustBuild(t, s, Options{ContextDir: ctx, Secrets: secret, NoCache: true})
	files, _ := layerFiles(t, s, third.res.ImageID, base)
	if got := files["count"].data; got != "2\n" {
		t.Errorf("cache mount did not persist: count %q", got)
	}
	// The bind-mounted context's content is in the key; a file outside the source is not.
	os.WriteFile(filepath.Join(ctx, "other"), []byte("y"), 0o644)
	if r := mustBuild(t, s, o); r.res.ImageID != third.res.ImageID {
		t.Errorf("a context file outside the bind source missed the cache:\n%s", r.out)
	}
	os.WriteFile(filepath.Join(ctx, "sub/a.txt"), []byte("changed\n"), 0o644)
	fourth := mustBuild(t, s, o)
	files, _ = layerFiles(t, s, fourth.res.ImageID, base+1)
	if got := files["out2"].data; got != "changed\n" {
		t.Errorf("bind source change not seen: %q\n%s", got, fourth.out)
	}
	if n := cachedCount(fourth.out); n != 2 { // src's RUN and the cache-mount RUN
		t.Errorf("cached steps after a bind source change: %d\n%s", n, fourth.out)
	}
	// builder du lists the cache mount; prune removes it.
	recs, err := CacheUsage(s)
	if err != nil {
		t.Fatal(err)
	}
	var mounts []CacheRecord
	for _, r := range recs {
		if r.Mount != "" {
			mounts = append(mounts, r)
		}
	}
	if len(mounts) != 1 || !strings.HasSuffix(mounts[0].Description, " /root/.cache/x") || mounts[0].Size != 8 {
		t.Errorf("cache mounts in du: %+v", mounts)
	}
	if _, _, err := PruneCache(s); err != nil {
		t.Fatal(err)
	}
	if len(mounts) > 0 {
		if _, err := os.Stat(mounts[0].Mount); err == nil {
			t.Errorf("prune left the cache mount %s", mounts[0].Mount)
		}
	}
}

// Cache mount sharing: a private cache in use gives another step a fresh instance; shared and
// locked use the one directory.
func TestCacheMountSharing(t *testing.T) {
	s := newStore(t)
	b := &builder{s: s}
	m := mountOf(t, "type=cache,target=/c")
	d1, rel1, err := b.cacheMount("id", "id", "private", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	d2, rel2, err := b.cacheMount("id", "id", "private", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d1 == d2 {
		t.Errorf("private cache in use handed out twice: %s", d1)
	}
	rel2()
	d3, rel3, _ := b.cacheMount("id", "id", "shared", m, nil)
	if d3 == d1 {
		t.Errorf("shared cache got the private instance in use %s", d3)
	}
	rel3()
	rel1()
	d4, rel4, _ := b.cacheMount("id", "id", "shared", m, nil)
	d5, rel5, _ := b.cacheMount("id", "id", "shared", m, nil)
	if d4 != d1 || d5 != d1 {
		t.Errorf("shared cache: %s %s, want %s", d4, d5, d1)
	}
	rel4()
	rel5()
	done := make(chan string)
	_, relL, _ := b.cacheMount("id", "id", "locked", m, nil)
	go func() {
		d, rel, _ := b.cacheMount("id", "id", "locked", m, nil)
		rel()
		done <- d
	}()
	select {
	case <-done:
		t.Fatal("a locked cache was handed out while in use")
	default:
	}
	relL()
	if d := <-done; d != d1 {
		t.Errorf("locked cache %s, want %s", d, d1)
	}
}

func mountOf(t *testing.T, spec string) *instructions.Mount {
	t.Helper()
	res, err := parser.Parse(strings.NewReader("FROM x\nRUN --mount=" + spec + " true\n"))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := stages[0].Commands[0].(*instructions.RunCommand)
	if err := rc.Expand(func(w string) (string, error) { return w, nil }); err != nil {
		t.Fatal(err)
	}
	return instructions.GetMounts(rc)[0]
}

// A mount under a directory of the image: the directory's copy in the step's init layer has the
// image's mode and owner, so a step writing into it records them unchanged.
func TestRunMountPointKeepsParent(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": `FROM base:1
RUN /bin/busybox mkdir -m 0710 /priv && /bin/busybox chown 5:6 /priv
RUN --mount=type=tmpfs,target=/priv/t /bin/busybox touch /priv/new
`})
	r := mustBuild(t, s, Options{ContextDir: ctx})
	files, _ := layerFiles(t, s, r.res.ImageID, -1)
	noLeaks(t, "RUN touch", files, "priv/", "priv/new")
	if h := files["priv/"].hdr; h.Mode&0o7777 != 0o710 || h.Uid != 5 || h.Gid != 6 {
		t.Errorf("priv/ is %o %d:%d, want 710 5:6", h.Mode, h.Uid, h.Gid)
	}
}

// RUN heredocs as BuildKit runs them: a lone heredoc is shell text, one starting with #! runs as
// a script from /dev/pipes, others ("<<EOF sh", "cat <<EOF > f") go to the shell whole; <<- strips
// leading tabs. History holds the command the shell got.
func TestRunHeredoc(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": "FROM base:1\n" +
		"RUN <<EOF\necho heredoc1 > /hd1\necho two >> /hd1\nEOF\n" +
		"RUN <<EOF sh\necho heredoc2 > /hd2\nEOF\n" +
		"RUN <<EOT\n#!/bin/sh\necho \"shebang $0\" > /hd3\nEOT\n" +
		"ENV E=1\n" +
		"RUN cat <<EOF > /hd4\ncontent $E\nEOF\n" +
		"RUN <<-EOF\n\techo chomped > /hd5\nEOF\n",
	})
	r := mustBuild(t, s, Options{ContextDir: ctx})
	want := map[string]string{"hd1": "heredoc1\ntwo\n", "hd2": "heredoc2\n", "hd3": "shebang /dev/pipes/EOT\n",
		"hd4": "content 1\n", "hd5": "chomped\n"}
	for i, name := range []string{"hd1", "hd2", "hd3", "hd4", "hd5"} {
		files, _ := layerFiles(t, s, r.res.ImageID, 1+i)
		noLeaks(t, name, files, name)
		if got := files[name].data; got != want[name] {
			t.Errorf("/%s = %q, want %q", name, got, want[name])
		}
	}
	img, _ := s.Get(r.res.ImageID)
	var runs []string
	for _, h := range img.Config.History {
		if strings.HasPrefix(h.CreatedBy, "RUN ") {
			runs = append(runs, h.CreatedBy)
		}
	}
	wantHist := []string{
		"RUN /bin/sh -c echo heredoc1 > /hd1\necho two >> /hd1\n # buildkit",
		"RUN /bin/sh -c <<EOF sh\necho heredoc2 > /hd2\nEOF # buildkit",
		"RUN /bin/sh -c /dev/pipes/EOT # buildkit",
		"RUN /bin/sh -c cat <<EOF > /hd4\ncontent $E\nEOF # buildkit",
		"RUN /bin/sh -c echo chomped > /hd5\n # buildkit",
	}
	if strings.Join(runs, "|") != strings.Join(wantHist, "|") {
		t.Errorf("history\n%q\nwant\n%q", runs, wantHist)
	}
	if !strings.Contains(r.out, "RUN <<EOF (echo heredoc1 > /hd1...)\n") || !strings.Contains(r.out, "RUN <<EOT (#!/bin/sh...)\n") {
		t.Errorf("progress does not summarise heredocs:\n%s", r.out)
	}
	// The script's text is in the cache key.
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM base:1\nRUN <<EOT\n#!/bin/sh\necho changed > /hd3\nEOT\n"), 0o644)
	r2 := mustBuild(t, s, Options{ContextDir: ctx})
	files, _ := layerFiles(t, s, r2.res.ImageID, 1)
	if files["hd3"].data != "changed\n" {
		t.Errorf("changed script not run: %q\n%s", files["hd3"].data, r2.out)
	}
}

// A bind mount of the context shows what the context holds after .dockerignore, and a
// relative target is under the working directory; rw writes never reach the context.
func TestRunBindContextIgnore(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{
		"Dockerfile":    "FROM base:1\nWORKDIR /w\nRUN --mount=target=src,rw /bin/busybox ls -A src > /ls && echo x > src/kept\n",
		".dockerignore": "secret.txt\n",
		"secret.txt":    "no",
		"kept":          "yes",
	})
	r := mustBuild(t, s, Options{ContextDir: ctx})
	files, _ := layerFiles(t, s, r.res.ImageID, -1)
	noLeaks(t, "RUN ls", files, "ls")
	if got := files["ls"].data; got != ".dockerignore\nDockerfile\nkept\n" {
		t.Errorf("bound context lists %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(ctx, "kept")); string(b) != "yes" {
		t.Errorf("a rw bind mount wrote to the context: %q", b)
	}
}

// A cache mount with from= starts as a copy of that stage's path (never a link into its layer)
// and then keeps what steps add to it.
func TestRunCacheMountFrom(t *testing.T) {
	needRunc(t)
	s := newStore(t)
	importBase(t, s)
	ctx := writeCtx(t, map[string]string{"Dockerfile": `FROM base:1 AS seed
RUN /bin/busybox mkdir -p /s/sub && echo seeded > /s/sub/f
FROM base:1
RUN --mount=type=cache,target=/c,from=seed,source=/s cat /c/sub/f > /out1 && echo more >> /c/sub/f
RUN --mount=type=cache,target=/c,from=seed,source=/s cat /c/sub/f > /out2
COPY --from=seed /s/sub/f /copied
`})
	r := mustBuild(t, s, Options{ContextDir: ctx})
	for i, w := range []struct{ name, data string }{{"out1", "seeded\n"}, {"out2", "seeded\nmore\n"}, {"copied", "seeded\n"}} {
		files, _ := layerFiles(t, s, r.res.ImageID, 1+i)
		if got := files[w.name].data; got != w.data {
			t.Errorf("/%s = %q, want %q", w.name, got, w.data)
		}
	}
}
