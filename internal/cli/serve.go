package cli

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/berth-engine/berth/api"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/system"
	"github.com/spf13/cobra"
)

func init() {
	register("serve", func(g *Globals) *cobra.Command { return newServeCommand(g, "serve") })
}

// newServeCommand is `berth serve` (and `berth system service`, podman's name): the Docker Engine
// API on dockerd's sockets, over the same store the CLI uses.
func newServeCommand(g *Globals, use string) *cobra.Command {
	var o api.ListenOptions
	var uf uiFlags // --ui: the web UI too, over the same server (ui.go)
	c := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "Serve the Docker Engine API (DOCKER_HOST=unix:///run/berth/berth.sock)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if os.Getenv("GOGC") == "" {
				// berth's GC setting is for processes that live milliseconds (cmd/berth); a
				// server lives on, and keeps container records (container.Manager.CacheRecords):
				// Go's default keeps its heap near what it holds. At 1,000 containers, 20
				// listings: RSS 54 MB against 82 MB, the listing's time unchanged (31 vs 34 ms).
				debug.SetGCPercent(100)
			}
			o.GroupSet = c.Flags().Changed("group")
			o.Warnf = func(f string, a ...any) { fmt.Fprintf(g.Stderr, "WARNING: "+f+"\n", a...) }
			conf, err := readConfig()
			if err != nil {
				return err
			}
			reg, err := registryOptions(true)
			if err != nil {
				return err
			}
			srv, err := api.New(api.Config{
				Root:                g.Root,
				BerthVersion:        Version,
				DefaultAddressPools: conf.DefaultAddressPools,
				Registry:            reg,
				LogDefaults:         logging.Config{Type: conf.LogDriver, Config: conf.LogOpts},
				UsernsRemap:         conf.UsernsRemap,
				DefaultRuntime:      conf.DefaultRuntime,
				BuilderGC:           conf.Builder.GC,
				Logf:                func(f string, a ...any) { fmt.Fprintf(g.Stderr, f+"\n", a...) },
				SpareShim:           true,
			})
			if err != nil {
				return err
			}
			ls, err := api.Listen(o)
			if err != nil {
				srv.Close()
				return err
			}
			var hosts []string
			for _, l := range ls {
				fmt.Fprintf(g.Stderr, "API listening on %s\n", api.HostURL(l))
				hosts = append(hosts, api.HostURL(l))
			}
			// `berth info` says whether a service runs over this root.
			if remove, err := system.RecordService(g.Root, hosts); err == nil {
				defer remove()
			}
			if uf.enabled {
				stopUI, err := startUI(g, srv, uf)
				if err != nil {
					srv.Close()
					return err
				}
				defer stopUI()
			}
			go srv.RestartContainers()
			ctx, stop := signal.NotifyContext(commandContext(c), os.Interrupt, syscall.SIGTERM)
			defer stop()
			serr := srv.Serve(ctx, ls)
			if err := srv.Close(); err != nil && serr == nil {
				serr = err
			}
			return serr
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&o.Hosts, "host", "H", nil, "Daemon socket(s) to listen on (unix:///path, tcp://127.0.0.1:2375, fd://)")
	fl.StringVarP(&o.Group, "group", "G", "docker", "Group for the unix socket")
	fl.BoolVar(&o.TLSVerify, "tlsverify", false, "Use TLS and verify the remote client")
	fl.StringVar(&o.TLSCACert, "tlscacert", "", "Trust certs signed only by this CA")
	fl.StringVar(&o.TLSCert, "tlscert", "", "Path to TLS certificate file")
	fl.StringVar(&o.TLSKey, "tlskey", "", "Path to TLS key file")
	uiServeFlags(fl, &uf)
	return c
}
