// Command images is the helper of bench/images/run.sh.
//
//	images gen -berth BIN -root DIR -n N [-from 0] [-repos 50] [-workers 4] [-prefix berthbench]
//	    fills a store with N small distinct one-layer images named PREFIX/repoNN:tI, each
//	    through its own `berth import -` process (the way users fill a store: every import is a
//	    separate process opening the database afresh), -workers at a time.
//	images churn -berth BIN -root DIR -n N [-workers 2] [-prefix berthbench]
//	    N (even) more write processes that leave the listing as it was: `tag` of the first image to a
//	    new name, then `rmi` of that name, alternately.
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
	"os/exec"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

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
	case "churn":
		err = churn(os.Args[2:])
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
	bin := fs.String("berth", "", "berth binary")
	root := fs.String("root", "", "store root")
	n := fs.Int("n", 1000, "images to create")
	from := fs.Int("from", 0, "index of the first image")
	repos := fs.Int("repos", 50, "repository names")
	workers := fs.Int("workers", 4, "concurrent import processes")
	prefix := fs.String("prefix", "berthbench", "repository prefix")
	fs.Parse(args)
	if *root == "" || *bin == "" {
		return fmt.Errorf("gen: -berth and -root are required")
	}
	return parallel(*n, *workers, func(k int) error {
		i := *from + k
		ref := fmt.Sprintf("%s/repo%02d:t%d", *prefix, i%*repos, i)
		return berth(*bin, *root, bytes.NewReader(tinyTar(i)), "import", "-", ref)
	})
}

func churn(args []string) error {
	fs := flag.NewFlagSet("churn", flag.ExitOnError)
	bin := fs.String("berth", "", "berth binary")
	root := fs.String("root", "", "store root")
	n := fs.Int("n", 1000, "write processes")
	workers := fs.Int("workers", 2, "concurrent processes")
	prefix := fs.String("prefix", "berthbench", "repository prefix")
	fs.Parse(args)
	if *root == "" || *bin == "" {
		return fmt.Errorf("churn: -berth and -root are required")
	}
	// n/2 pairs of processes: tag a new name, then rmi it (only untags), so the listing ends
	// as it began.
	return parallel(*n/2, *workers, func(p int) error {
		name := fmt.Sprintf("%s/churn:p%d", *prefix, p)
		if err := berth(*bin, *root, nil, "tag", *prefix+"/repo00:t0", name); err != nil {
			return err
		}
		return berth(*bin, *root, nil, "rmi", name)
	})
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, fn func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func berth(bin, root string, stdin io.Reader, args ...string) error {
	cmd := exec.Command(bin, append([]string{"--root", root}, args...)...)
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("berth %v: %v: %s", args, err, out)
	}
	return nil
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
