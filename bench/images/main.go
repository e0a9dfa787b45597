// Command images is the helper of bench/images/run.sh.
//
//	images gen -root DIR -n N [-repos 50] [-workers 4]
//	    fills a store with N small distinct one-layer images named repoNN:tI, through the image
//	    library directly (no process per image), as fast as the store takes them.
//	images run -root DIR [-n 20] -- ARGS...
//	    runs the berth command line in this process n times (output discarded); with
//	    BERTH_CPUPROFILE=FILE it writes a CPU profile of those runs, for `go tool pprof`.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/internal/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: images gen|run ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

// tinyTar is a rootfs with one small file whose content is unique to i.
func tinyTar(i int) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := fmt.Sprintf("image %d\n", i)
	tw.WriteHeader(&tar.Header{Name: "id", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
	io.WriteString(tw, body)
	tw.Close()
	return buf.Bytes()
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	root := fs.String("root", "", "store root")
	n := fs.Int("n", 1000, "images to create")
	repos := fs.Int("repos", 50, "repository names")
	workers := fs.Int("workers", 4, "concurrent imports")
	fs.Parse(args)
	if *root == "" {
		return fmt.Errorf("gen: -root is required")
	}
	s, err := image.Open(*root)
	if err != nil {
		return err
	}
	defer s.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *workers)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				ref := fmt.Sprintf("repo%02d:t%d", i%*repos, i)
				if _, err := s.Import(bytes.NewReader(tinyTar(i)), image.ImportOptions{Ref: ref}); err != nil {
					errs <- fmt.Errorf("import %s: %w", ref, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	root := fs.String("root", "", "store root")
	n := fs.Int("n", 20, "repetitions")
	fs.Parse(args)
	if *root == "" || fs.NArg() == 0 {
		return fmt.Errorf("run: -root and a berth command are required")
	}
	argv := append([]string{"--root", *root}, fs.Args()...)
	if p := os.Getenv("BERTH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		var errBuf bytes.Buffer
		if code := cli.Main(argv, nil, io.Discard, &errBuf); code != 0 {
			return fmt.Errorf("berth %v: exit %d: %s", fs.Args(), code, errBuf.String())
		}
	}
	fmt.Printf("in-process: %.1f ms per run\n", float64(time.Since(start).Microseconds())/1000/float64(*n))
	return nil
}
