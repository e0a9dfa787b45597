package cli

// Version is set at build time with -ldflags "-X github.com/berth-engine/berth/internal/cli.Version=...".
var Version = "0.1.0-dev"
