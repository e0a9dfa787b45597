// Command berth is a daemonless, Docker-compatible container image engine.
package main

import (
	"os"

	"github.com/berth-engine/berth/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
