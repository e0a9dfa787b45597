// GOMAXPROCS is the machine's CPU count, as before Go 1.25: berth is a host command, and reading
// the cgroup's CPU limit at start-up (and watching it) cost 1.3% of `berth images` (issue 11).
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command berth is a daemonless, Docker-compatible container image engine.
package main

import (
	"os"
	"runtime/debug"

	"github.com/berth-engine/berth/internal/cli"
	"github.com/berth-engine/berth/metadata"
)

func main() {
	// berth lives for milliseconds and allocates little: collecting garbage less often makes
	// listings of thousands of images measurably faster (see bench/images). GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// This process exits right after its command: the state database needs no closing (no
	// checkpoint, no fsync on the way out).
	metadata.LeaveOpenAtExit = true
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
