// Command mkimage writes a `docker save` archive (Docker 20.10's layout: manifest.json,
// <config>.json, <n>/layer.tar) of a synthetic image for bench/analyze: LAYERS layers adding up to
// about SIZE_MB, mixing big incompressible files and many small ones, with the waste analysis
// looks for (files overwritten, files and directories deleted, unchanged re-copies).
//
//	usage: go run ./bench/analyze/mkimage OUT.tar SIZE_MB LAYERS
package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strconv"
)

type layerFile struct {
	name string
	data []byte
	dir  bool
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: mkimage OUT.tar SIZE_MB LAYERS")
		os.Exit(2)
	}
	sizeMB, _ := strconv.Atoi(os.Args[2])
	layers, _ := strconv.Atoi(os.Args[3])
	if sizeMB <= 0 || layers <= 1 {
		fmt.Fprintln(os.Stderr, "SIZE_MB and LAYERS must be positive (LAYERS ≥ 2)")
		os.Exit(2)
	}
	rng := rand.New(rand.NewSource(1))
	per := int64(sizeMB) << 20 / int64(layers)
	out, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	outer := tar.NewWriter(bw)
	var diffIDs []string
	var history []map[string]any
	var names []string
	big := make([]byte, per/2)
	for l := 0; l < layers; l++ {
		var files []layerFile
		files = append(files, layerFile{name: fmt.Sprintf("data%d/", l), dir: true})
		// Half the layer: one big incompressible file; the rest: 4 kB files.
		rng.Read(big)
		files = append(files, layerFile{name: fmt.Sprintf("data%d/blob.bin", l), data: big})
		small := int(per / 2 / 4096)
		for i := 0; i < small; i++ {
			b := make([]byte, 4096)
			rng.Read(b[:64])
			files = append(files, layerFile{name: fmt.Sprintf("data%d/f%05d.txt", l, i), data: b})
		}
		if l > 0 {
			// Waste: overwrite a file of the layer below, delete another layer's directory,
			// re-copy a small file unchanged.
			files = append(files, layerFile{name: fmt.Sprintf("data%d/f00000.txt", l-1), data: []byte("overwritten")})
			if l%4 == 0 {
				files = append(files, layerFile{name: fmt.Sprintf(".wh.data%d", l-2)})
			}
		}
		name := fmt.Sprintf("%064x/layer.tar", l+1)
		h := sha256.New()
		var size int64
		for _, f := range files {
			size += int64(len(f.data)) + 512 + int64((512-len(f.data)%512)%512)
		}
		size += 1024
		if err := outer.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			panic(err)
		}
		cw := &countWriter{w: io.MultiWriter(outer, h)}
		inner := tar.NewWriter(cw)
		for _, f := range files {
			hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
			if f.dir {
				hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
			}
			if err := inner.WriteHeader(hdr); err != nil {
				panic(err)
			}
			inner.Write(f.data)
		}
		inner.Close()
		if cw.n != size {
			panic(fmt.Sprintf("layer %d: %d bytes, planned %d", l, cw.n, size))
		}
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(h.Sum(nil)))
		history = append(history, map[string]any{"created_by": fmt.Sprintf("/bin/sh -c make layer %d", l)})
		names = append(names, name)
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}, "history": history})
	sum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(sum[:]) + ".json"
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"bench/analyze:1"}, "Layers": names}})
	for _, f := range []struct {
		n string
		b []byte
	}{{cfgName, cfg}, {"manifest.json", manifest}} {
		outer.WriteHeader(&tar.Header{Name: f.n, Mode: 0o644, Size: int64(len(f.b)), Typeflag: tar.TypeReg})
		outer.Write(f.b)
	}
	if err := outer.Close(); err != nil {
		panic(err)
	}
	if err := bw.Flush(); err != nil {
		panic(err)
	}
	if err := out.Close(); err != nil {
		panic(err)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
