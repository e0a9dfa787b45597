package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// filesImage writes issue 11's 7-layer image (see the package comment) to the layout dir out.
func filesImage(out, busyboxTar string) error {
	tmp, err := os.MkdirTemp("", "bench-layers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rng := rand.New(rand.NewSource(11))
	layers := []struct {
		what  string
		write func(tw *tar.Writer) (int64, error)
	}{
		{"busybox rootfs", func(tw *tar.Writer) (int64, error) { return busyboxLayer(tw, busyboxTar) }},
		{"40 MB random file", func(tw *tar.Writer) (int64, error) { return randomFile(tw, "data/random1", 40<<20, rng) }},
		{"40 MB random file", func(tw *tar.Writer) (int64, error) { return randomFile(tw, "data/random2", 40<<20, rng) }},
		{"copy of /usr/lib/python3.11", func(tw *tar.Writer) (int64, error) { return copyTree(tw, "/usr/lib/python3.11") }},
		{"copy of /usr/share/doc", func(tw *tar.Writer) (int64, error) { return copyTree(tw, "/usr/share/doc") }},
		{"60 MB text file", func(tw *tar.Writer) (int64, error) { return textFile(tw, "data/words.txt", 60<<20) }},
		{"config files", configFiles},
	}
	img := empty.Image
	var total, compressed int64
	for i, l := range layers {
		path := filepath.Join(tmp, fmt.Sprintf("layer%d.tar.gz", i))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
		tw := tar.NewWriter(zw)
		n, err := l.write(tw)
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = zw.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, l.what, err)
		}
		st, _ := os.Stat(path)
		total += n
		compressed += st.Size()
		tl, err := tarball.LayerFromFile(path)
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, tl); err != nil {
			return err
		}
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d layers, %.0f MB unpacked, %.0f MB compressed\n", out, len(layers), float64(total)/1e6, float64(compressed)/1e6)
	return nil
}

// busyboxLayer copies the entries of a busybox rootfs tar, or makes one from /usr/bin/busybox
// (the binary and a link per applet) when there is no such tar.
func busyboxLayer(tw *tar.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return busyboxFromBinary(tw)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return 0, err
		}
		if err := tw.WriteHeader(h); err != nil {
			return 0, err
		}
		n, err := io.Copy(tw, tr)
		if err != nil {
			return 0, err
		}
		total += n
	}
}

func busyboxFromBinary(tw *tar.Writer) (int64, error) {
	b, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		return 0, err
	}
	for _, d := range []string{"bin/", "etc/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return 0, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}); err != nil {
		return 0, err
	}
	if _, err := tw.Write(b); err != nil {
		return 0, err
	}
	for _, a := range []string{"sh", "ls", "cat", "echo", "cp", "mv", "rm", "mkdir", "sleep", "true", "false"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeLink, Linkname: "bin/busybox"}); err != nil {
			return 0, err
		}
	}
	return int64(len(b)), nil
}

func randomFile(tw *tar.Writer, name string, size int, rng *rand.Rand) (int64, error) {
	if err := tw.WriteHeader(&tar.Header{Name: filepath.Dir(name) + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)}); err != nil {
		return 0, err
	}
	_, err := io.CopyN(tw, rng, int64(size))
	return int64(size), err
}

// textFile is size bytes of numbered lines of words: it compresses to a few percent.
func textFile(tw *tar.Writer, name string, size int) (int64, error) {
	var b bytes.Buffer
	words := strings.Fields("the quick brown fox jumps over the lazy dog while berth pulls seven layers from a registry on the loopback interface")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%08d %s %s %s\n", i, words[i%len(words)], words[(i/7)%len(words)], words[(i/49)%len(words)])
	}
	b.Truncate(size)
	if err := tw.WriteHeader(&tar.Header{Name: filepath.Dir(name) + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)}); err != nil {
		return 0, err
	}
	_, err := tw.Write(b.Bytes())
	return int64(size), err
}

// copyTree adds dir (directories, regular files, symlinks; anything else is left out) under its
// own path without the leading slash, owned by root.
func copyTree(tw *tar.Writer, dir string) (int64, error) {
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	for i := 1; i < len(parts); i++ {
		if err := tw.WriteHeader(&tar.Header{Name: strings.Join(parts[:i], "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return 0, err
		}
	}
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		case fi.IsDir(), fi.Mode().IsRegular():
		default:
			return nil
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = strings.TrimPrefix(path, "/")
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "root", "root"
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			n, err := io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}

func configFiles(tw *tar.Writer) (int64, error) {
	if err := tw.WriteHeader(&tar.Header{Name: "etc/bench/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return 0, err
	}
	var total int64
	for i := 0; i < 8; i++ {
		body := fmt.Sprintf("# bench config %d\nkey%d = value%d\n", i, i, i)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("etc/bench/conf%d", i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return 0, err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return 0, err
		}
		total += int64(len(body))
	}
	return total, nil
}
