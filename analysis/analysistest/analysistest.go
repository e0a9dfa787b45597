// Package analysistest builds layer tars and image archives for the tests of the analysis
// package and of the commands over it.
package analysistest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/berth-engine/berth/image"
	"github.com/opencontainers/go-digest"
)

// Entry is one entry of a test layer.
type Entry struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func Dir(n string) Entry              { return Entry{name: n, typ: tar.TypeDir, mode: 0o755} }
func File(n, body string) Entry       { return Entry{name: n, typ: tar.TypeReg, body: body, mode: 0o644} }
func Hardlink(n, target string) Entry { return Entry{name: n, typ: tar.TypeLink, link: target} }
func Symlink(n, target string) Entry {
	return Entry{name: n, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func Whiteout(n string) Entry                { return File(n, "") }
func Sized(n string, size int, c byte) Entry { return File(n, strings.Repeat(string(c), size)) }

func LayerTar(t testing.TB, ents ...Entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// dockerArchive lays out a docker-archive (`docker save` of Docker 20.10: manifest.json,
// <config>.json, <n>/layer.tar) of one image named tag.
func DockerArchive(t testing.TB, tag string, steps []string, layers ...[]byte) []byte {
	t.Helper()
	cfg := image.Config{OS: "linux", Architecture: "amd64", RootFS: image.RootFS{Type: "layers"}}
	var names []string
	files := map[string][]byte{}
	for i, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l))
		cfg.History = append(cfg.History, image.History{CreatedBy: steps[i]})
		if i == 1 {
			cfg.History = append(cfg.History, image.History{CreatedBy: "/bin/sh -c #(nop)  ENV A=b", EmptyLayer: true})
		}
		n := fmt.Sprintf("%064x/layer.tar", i)
		names = append(names, n)
		files[n] = l
	}
	raw, _ := json.Marshal(cfg)
	cfgName := digest.FromBytes(raw).Encoded() + ".json"
	files[cfgName] = raw
	m, _ := json.Marshal([]struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{{Config: cfgName, RepoTags: []string{tag}, Layers: names}})
	files["manifest.json"] = m
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range append([]string{"manifest.json", cfgName}, names...) {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	tw.Close()
	return b.Bytes()
}

// goldenImage has, over a base layer: a file overwritten in a later layer (/etc/config), a file
// deleted later (/tmp/big), a deleted directory (/data), a hard link (/bin/link) and an unchanged
// re-copy (/bin/sh).
func Golden(t testing.TB) []byte {
	l0 := LayerTar(t, Dir("bin/"), Sized("bin/sh", 100, 's'), Hardlink("bin/link", "bin/sh"), Dir("etc/"),
		Sized("etc/config", 50, 'a'), Dir("data/"), Sized("data/a", 200, 'x'), Sized("data/b", 300, 'y'), Sized("keep", 10, 'k'))
	l1 := LayerTar(t, Dir("etc/"), Sized("etc/config", 60, 'b'), Dir("tmp/"), Sized("tmp/big", 1000, 'z'))
	l2 := LayerTar(t, Dir("tmp/"), Whiteout("tmp/.wh.big"), Whiteout(".wh.data"))
	l3 := LayerTar(t, Dir("bin/"), Sized("bin/sh", 100, 's'))
	return DockerArchive(t, "golden:1", []string{
		"/bin/sh -c #(nop) ADD file:abc in / ",
		"/bin/sh -c echo b > /etc/config && fetch /tmp/big",
		"/bin/sh -c rm -rf /tmp/big /data",
		"COPY sh /bin/sh # buildkit",
	}, l0, l1, l2, l3)
}

// OCIArchive lays out an OCI image layout archive (oci-layout, index.json, blobs/sha256/...,
// no manifest.json) of one image named ref, its layers gzip-compressed.
func OCIArchive(t testing.TB, ref string, steps []string, layers ...[]byte) []byte {
	t.Helper()
	blobs := map[string][]byte{}
	put := func(b []byte) digest.Digest {
		d := digest.FromBytes(b)
		blobs["blobs/sha256/"+d.Encoded()] = b
		return d
	}
	cfg := image.Config{OS: "linux", Architecture: "amd64", RootFS: image.RootFS{Type: "layers"}}
	m := image.Manifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json"}
	for i, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l))
		cfg.History = append(cfg.History, image.History{CreatedBy: steps[i]})
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(l)
		zw.Close()
		m.Layers = append(m.Layers, image.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: put(gz.Bytes()), Size: int64(gz.Len())})
	}
	raw, _ := json.Marshal(cfg)
	m.Config = image.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: put(raw), Size: int64(len(raw))}
	mraw, _ := json.Marshal(m)
	md := put(mraw)
	idx, _ := json.Marshal(image.Index{SchemaVersion: 2, Manifests: []image.Descriptor{{MediaType: m.MediaType, Digest: md, Size: int64(len(mraw)),
		Annotations: map[string]string{"org.opencontainers.image.ref.name": ref}}}})
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": idx}
	for k, v := range blobs {
		files[k] = v
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))})
		tw.Write(files[n])
	}
	tw.Close()
	return b.Bytes()
}
