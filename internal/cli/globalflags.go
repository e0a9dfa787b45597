package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-engine/berth/distribution"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// globalFlags are Docker's global options (before the command word), as Docker's CLI lists them.
// berth honours what it can: --config is the client configuration directory (credentials,
// detachKeys), -D and -l are accepted. What reaches a daemon (-H, a context other than the
// default, TLS to a daemon) is refused clearly: berth is daemonless.
type globalFlags struct {
	config, context, logLevel  string
	debug, tls, tlsVerify      bool
	hosts                      []string
	tlsCACert, tlsCert, tlsKey string
}

// globalValueFlags are the global options that take a value (for commandWord).
var globalValueFlags = map[string]bool{
	"--root": true, "--config": true, "-c": true, "--context": true, "-H": true, "--host": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// addGlobalFlags lists Docker's global options on root for its help; Main takes them off the
// command line before the command word (takeGlobalFlags), as Docker's CLI parses them there only
// (a command's own -c or -l means something else).
func addGlobalFlags(root *cobra.Command, gf *globalFlags) {
	dir := distribution.DockerConfigDir()
	f := root.Flags()
	f.StringVar(&gf.config, "config", dir, "Location of client config files")
	f.StringVarP(&gf.context, "context", "c", "", `Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")`)
	f.BoolVarP(&gf.debug, "debug", "D", false, "Enable debug mode")
	f.StringArrayVarP(&gf.hosts, "host", "H", nil, "Daemon socket(s) to connect to")
	f.StringVarP(&gf.logLevel, "log-level", "l", "info", `Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")`)
	f.BoolVar(&gf.tls, "tls", false, "Use TLS; implied by --tlsverify")
	f.StringVar(&gf.tlsCACert, "tlscacert", filepath.Join(dir, "ca.pem"), "Trust certs signed only by this CA")
	f.StringVar(&gf.tlsCert, "tlscert", filepath.Join(dir, "cert.pem"), "Path to TLS certificate file")
	f.StringVar(&gf.tlsKey, "tlskey", filepath.Join(dir, "key.pem"), "Path to TLS key file")
	f.BoolVar(&gf.tlsVerify, "tlsverify", false, "Use TLS and verify the remote")
}

// takeGlobalFlags parses Docker's global options among args before the command word into root's
// flags and returns args without them (--root, -v and -h stay for cobra).
func takeGlobalFlags(root *cobra.Command, args []string) ([]string, error) {
	f := root.Flags()
	var rest []string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var fl *pflag.Flag
		if strings.HasPrefix(a, "--") {
			fl = f.Lookup(name)
		} else if len(name) >= 1 {
			fl = f.ShorthandLookup(name[:1])
			if fl != nil && len(name) > 1 && !hasValue {
				value, hasValue = name[1:], true // -Hunix:///x
			}
		}
		if fl == nil || fl.Name == "root" || fl.Name == "version" || fl.Name == "help" || !globalFlagNames[fl.Name] {
			rest = append(rest, a)
			if globalValueFlags[a] && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
			continue
		}
		if fl.Value.Type() == "bool" {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			value = args[i]
		}
		if err := f.Set(fl.Name, value); err != nil {
			return nil, err
		}
	}
	return append(rest, args[i:]...), nil
}

// globalFlagNames are the options takeGlobalFlags takes.
var globalFlagNames = map[string]bool{
	"config": true, "context": true, "debug": true, "host": true, "log-level": true,
	"tls": true, "tlscacert": true, "tlscert": true, "tlskey": true, "tlsverify": true,
}

// apply acts on the global options given.
func (gf *globalFlags) apply(root *cobra.Command) error {
	f := root.Flags()
	if f.Changed("config") {
		// Every reader of the client configuration (login, detach keys) reads DOCKER_CONFIG.
		os.Setenv("DOCKER_CONFIG", gf.config)
	}
	switch gf.logLevel {
	case "panic", "fatal", "error", "warn", "warning", "info", "debug", "trace":
	default:
		return bareError(fmt.Errorf("Unable to parse logging level: %s", gf.logLevel))
	}
	if len(gf.hosts) > 0 {
		return bareError(fmt.Errorf("-H %s: berth is daemonless and connects to no daemon; to reach one use docker with DOCKER_HOST (berth serve serves the Engine API on a socket)", gf.hosts[0]))
	}
	if gf.context != "" && gf.context != "default" {
		return bareError(fmt.Errorf("context %q: berth is daemonless and has only the default context", gf.context))
	}
	for _, n := range []string{"tls", "tlsverify", "tlscacert", "tlscert", "tlskey"} {
		if f.Changed(n) {
			return bareError(errors.New("--" + n + ": berth is daemonless and connects to no daemon over TLS; to reach one use docker"))
		}
	}
	return nil
}

// bareError is a failure printed as it is (no "Error: "), exit 1, as Docker's CLI prints its
// own initialisation failures.
func bareError(err error) error { return &StatusError{Code: 1, Usage: true, Err: err} }
