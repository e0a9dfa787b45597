package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-engine/berth/registry"
	"github.com/spf13/cobra"
)

func init() {
	register("registry", func(g *Globals) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "registry COMMAND",
			Short: "Run an OCI distribution registry",
		}
		cmd.AddCommand(registryServeCommand(g), registryGCCommand(g))
		return cmd
	})
}

type registryServeOptions struct {
	addr, storage, config, tlsCert, tlsKey, htpasswd, proxy string
	readOnly, token, anonymousPull, quiet                   bool
	maxBlobSize                                             int64
}

func registryServeCommand(g *Globals) *cobra.Command {
	var o registryServeOptions
	cmd := &cobra.Command{
		Use:   "serve [OPTIONS]",
		Short: "Serve a registry (OCI distribution spec, Docker registry API v2, v1 search)",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := o.resolve(g, c)
			if err != nil {
				return err
			}
			return serveRegistry(c.Context(), g, cfg, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:5000", "Address to listen on (port 0 picks a free port)")
	f.StringVar(&o.storage, "storage", "", "Storage directory (default: <root>/registry)")
	f.StringVar(&o.config, "config", "", "JSON configuration file (see the registry package's Config)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (serve HTTPS)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS key file")
	f.StringVar(&o.htpasswd, "htpasswd", "", "htpasswd file (bcrypt) enabling authentication")
	f.BoolVar(&o.token, "token-auth", false, "Use Docker token authentication with the built-in /token endpoint")
	f.BoolVar(&o.anonymousPull, "anonymous-pull", false, "Let clients without a login pull")
	f.BoolVar(&o.readOnly, "read-only", false, "Refuse pushes and deletes")
	f.StringVar(&o.proxy, "proxy", "", "Pull-through cache of the registry at this URL")
	f.Int64Var(&o.maxBlobSize, "max-blob-size", 0, "Largest blob accepted, in bytes (0: no limit)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Do not log requests")
	return cmd
}

// resolve merges the configuration file with the flags; flags given on the command line win.
func (o *registryServeOptions) resolve(g *Globals, c *cobra.Command) (registry.Config, error) {
	var cfg registry.Config
	if o.config != "" {
		var err error
		if cfg, err = registry.LoadConfig(o.config); err != nil {
			return cfg, err
		}
	}
	set := c.Flags().Changed
	if set("storage") || cfg.Storage == "" {
		cfg.Storage = o.storage
		if cfg.Storage == "" {
			cfg.Storage = filepath.Join(g.Root, "registry")
		}
	}
	if set("htpasswd") {
		cfg.Htpasswd = o.htpasswd
	}
	if set("read-only") {
		cfg.ReadOnly = o.readOnly
	}
	if set("proxy") {
		cfg.Proxy.URL = o.proxy
	}
	if set("max-blob-size") {
		cfg.MaxBlobSize = o.maxBlobSize
	}
	if set("anonymous-pull") {
		cfg.Auth.AnonymousPull = o.anonymousPull
	}
	if o.token && cfg.Auth.Token == nil {
		cfg.Auth.Token = &registry.TokenConfig{}
	}
	if !o.quiet {
		cfg.Log = g.Stderr
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return cfg, errors.New("--tls-cert and --tls-key go together")
	}
	return cfg, nil
}

func serveRegistry(ctx context.Context, g *Globals, cfg registry.Config, o registryServeOptions) error {
	srv, err := registry.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	where := cfg.Storage
	if cfg.S3 != nil {
		where = "s3://" + cfg.S3.Endpoint + "/" + cfg.S3.Bucket + "/" + cfg.S3.Prefix
	}
	fmt.Fprintf(g.Stderr, "berth registry listening on %s://%s (storage %s)\n", scheme, ln.Addr(), where)
	if o.tlsCert != "" {
		err = hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
	} else {
		err = hs.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func registryGCCommand(g *Globals) *cobra.Command {
	var (
		storage, config string
		opts            registry.GCOptions
	)
	cmd := &cobra.Command{
		Use:   "gc [OPTIONS]",
		Short: "Delete unreferenced blobs while the registry keeps serving",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			var cfg registry.Config
			if config != "" {
				var err error
				if cfg, err = registry.LoadConfig(config); err != nil {
					return err
				}
			}
			if storage != "" || cfg.Storage == "" {
				cfg.Storage = storage
			}
			if cfg.Storage == "" {
				cfg.Storage = filepath.Join(g.Root, "registry")
			}
			if cfg.S3 == nil {
				if _, err := os.Stat(filepath.Join(cfg.Storage, "blobs")); err != nil {
					return fmt.Errorf("%s is not a registry storage directory: %w", cfg.Storage, err)
				}
			}
			opts.Log = g.Stdout
			rep, err := registry.GCConfig(cfg, opts)
			if err != nil {
				return err
			}
			verb := "deleted"
			if opts.DryRun {
				verb = "would be deleted"
			}
			fmt.Fprintf(g.Stdout, "%d blobs (%d bytes), %d manifests, %d upload sessions %s; %d blobs in use\n",
				rep.Blobs, rep.BlobBytes, rep.Manifests, rep.Uploads, verb, rep.Marked)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&storage, "storage", "", "Storage directory (default: <root>/registry)")
	f.StringVar(&config, "config", "", "The registry's JSON configuration file (its s3 section selects S3 storage)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "Only report what would be deleted")
	f.BoolVar(&opts.DeleteUntagged, "delete-untagged", false, "Also delete manifests no tag reaches")
	f.DurationVar(&opts.Grace, "grace", time.Hour, "Keep blobs written or referenced within this time")
	f.DurationVar(&opts.UploadExpiry, "upload-expiry", 7*24*time.Hour, "Remove upload sessions idle longer than this")
	return cmd
}
