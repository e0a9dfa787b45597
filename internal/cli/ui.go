package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/berth-engine/berth/api"
	"github.com/berth-engine/berth/container/logging"
	"github.com/berth-engine/berth/ui"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	register("ui", newUICommand)
}

type uiFlags struct {
	enabled   bool // serve --ui
	addr      string
	noBrowser bool
	tlsCert   string
	tlsKey    string
}

// newUICommand is `berth ui`: the web UI and, on the same origin, the Engine API it uses.
func newUICommand(g *Globals) *cobra.Command {
	var f uiFlags
	c := &cobra.Command{
		Use:   "ui [OPTIONS]",
		Short: "Serve the web UI (and the Engine API it uses) and open it in the browser",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runUI(c, g, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.addr, "addr", ui.DefaultAddr, "Address to listen on (anything but loopback needs --tls-cert and --tls-key)")
	fl.BoolVar(&f.noBrowser, "no-browser", false, "Do not open the browser")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (required for a non-loopback --addr)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS key file")
	return c
}

// uiServeFlags are `berth serve`'s flags for the UI.
func uiServeFlags(fl *pflag.FlagSet, f *uiFlags) {
	fl.BoolVar(&f.enabled, "ui", false, "Also serve the web UI (as berth ui) on --ui-addr")
	fl.StringVar(&f.addr, "ui-addr", ui.DefaultAddr, "Address of the web UI (anything but loopback needs --ui-tls-cert and --ui-tls-key)")
	fl.StringVar(&f.tlsCert, "ui-tls-cert", "", "TLS certificate file of the web UI")
	fl.StringVar(&f.tlsKey, "ui-tls-key", "", "TLS key file of the web UI")
	fl.BoolVar(&f.noBrowser, "ui-no-browser", true, "Do not open the browser")
}

// newAPIServer opens the Engine API server over g's root with berth's config, as `serve` does.
func newAPIServer(g *Globals) (*api.Server, error) {
	conf, err := readConfig()
	if err != nil {
		return nil, err
	}
	reg, err := registryOptions(true)
	if err != nil {
		return nil, err
	}
	return api.New(api.Config{
		Root:                g.Root,
		BerthVersion:        Version,
		DefaultAddressPools: conf.DefaultAddressPools,
		Registry:            reg,
		LogDefaults:         logging.Config{Type: conf.LogDriver, Config: conf.LogOpts},
		BuilderGC:           conf.Builder.GC,
		DefaultRuntime:      conf.DefaultRuntime,
		Logf:                func(f string, a ...any) { fmt.Fprintf(g.Stderr, f+"\n", a...) },
	})
}

// uiMemoryLimit is the soft heap limit of `berth ui`: the Go runtime collects and returns memory to
// the system as the heap nears it, so the process stays small between bursts (a pull, a long log),
// under the 50 MB idle target. GOMEMLIMIT overrides it.
const uiMemoryLimit = 24 << 20

func runUI(c *cobra.Command, g *Globals, f uiFlags) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(uiMemoryLimit)
	}
	srv, err := newAPIServer(g)
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx, stop := signal.NotifyContext(commandContext(c), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done, err := startUI(g, srv, f)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return done()
}

// startUI listens on f.addr, prints the URL with its token as the first line of stdout, opens
// the browser unless told not to, and serves the UI over srv until the returned function is
// called (it returns the serving error, if any). `berth ui` and `berth serve --ui` share it.
func startUI(g *Globals, srv *api.Server, f uiFlags) (func() error, error) {
	l, err := ui.Listen(f.addr, f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, err
	}
	h, err := ui.New(ui.Options{API: srv, Images: srv.Images(), Hosts: l.Hosts, TLS: l.TLS,
		Logf: func(f string, a ...any) { fmt.Fprintf(g.Stderr, f+"\n", a...) }})
	if err != nil {
		l.Close()
		return nil, err
	}
	url := l.URL + "?token=" + h.Token()
	fmt.Fprintln(g.Stdout, url)
	if !f.noBrowser {
		openBrowser(url, g)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	return func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil
}

// openBrowser starts the desktop's URL opener, if there is one; the URL is printed either way.
func openBrowser(url string, g *Globals) {
	for _, opener := range []string{"xdg-open", "sensible-browser", "open"} {
		if p, err := exec.LookPath(opener); err == nil {
			cmd := exec.Command(p, url)
			if err := cmd.Start(); err == nil {
				go func() { _ = cmd.Wait() }()
				return
			}
		}
	}
	fmt.Fprintln(g.Stderr, "No browser found to open; open the URL above.")
}
