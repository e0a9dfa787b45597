// Command berth is a daemonless, Docker-compatible container image engine.
package main

import (
	"os"
	"runtime/debug"

	"github.com/berth-engine/berth/internal/cli"
)

func main() {
	// berth lives for milliseconds and allocates little: collecting garbage less often makes
	// listings of thousands of images measurably faster (see bench/images). GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
