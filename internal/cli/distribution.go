package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/berth-engine/berth/build"
	"github.com/berth-engine/berth/distribution"
	"github.com/berth-engine/berth/idmap"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/network"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	registerImage("pull", "pull", newPullCommand)
	registerImage("push", "push", newPushCommand)
	register("login", newLoginCommand)
	register("logout", newLogoutCommand)
}

// DefaultConfigFile is berth's own configuration, unless $BERTH_CONFIG names another:
//
//	{
//	  "insecure-registries": ["myregistry:5000", "10.0.0.0/8"],
//	  "max-concurrent-downloads": 4,
//	  "max-concurrent-uploads": 5,
//	  "certs-dir": "/etc/docker/certs.d",
//	  "log-driver": "json-file",
//	  "log-opts": {"max-size": "10m", "max-file": "3"},
//	  "builder": {"gc": {"enabled": true, "defaultKeepStorage": "20GB"}},
//	  "default-address-pools": [{"base": "172.80.0.0/16", "size": 24}],
//	  "userns-remap": "default",
//	  "default-runtime": "runc"
//	}
//
// The keys mean what they mean in dockerd's daemon.json.
const DefaultConfigFile = "/etc/berth/config.json"

type berthConfig struct {
	InsecureRegistries     []string          `json:"insecure-registries"`
	MaxConcurrentDownloads int               `json:"max-concurrent-downloads"`
	MaxConcurrentUploads   int               `json:"max-concurrent-uploads"`
	CertsDir               string            `json:"certs-dir"`
	LogDriver              string            `json:"log-driver"`
	LogOpts                map[string]string `json:"log-opts"`
	Builder                struct {
		GC build.GCConfig `json:"gc"`
	} `json:"builder"`
	// DefaultAddressPools are where `network create` takes subnets from.
	DefaultAddressPools []network.Pool `json:"default-address-pools"`
	// UsernsRemap runs new containers in a user namespace: "default" (Docker's dockremap
	// user, created with its ranges on first use), USER[:GROUP] or UID[:GID] with ranges in
	// /etc/subuid and /etc/subgid.
	UsernsRemap string `json:"userns-remap"`
	// DefaultRuntime is the OCI runtime of containers created without --runtime: runc or
	// crun (unset: crun where it is installed, see container.Manager.DefaultRuntimeName).
	DefaultRuntime string `json:"default-runtime"`
}

// readConfig reads berth's config file; a missing file is the defaults.
func readConfig() (berthConfig, error) {
	var c berthConfig
	path := os.Getenv("BERTH_CONFIG")
	if path == "" {
		path = DefaultConfigFile
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c, nil
	case err != nil:
		return c, err
	default:
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		if err := network.ValidatePools(c.DefaultAddressPools); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		if c.UsernsRemap != "" {
			if _, _, err := idmap.ParseRemap(c.UsernsRemap); err != nil {
				return c, fmt.Errorf("%s: %w", path, err)
			}
		}
		switch c.DefaultRuntime {
		case "", "runc", "crun":
		default:
			return c, fmt.Errorf("%s: default-runtime: unknown runtime %q (berth runs runc and crun)", path, c.DefaultRuntime)
		}
	}
	return c, nil
}

// registryOptions reads berth's config file into the distribution options.
func registryOptions(tlsVerify bool) (distribution.Options, error) {
	var o distribution.Options
	c, err := readConfig()
	if err != nil {
		return o, err
	}
	o.InsecureRegistries, o.CertsDir = c.InsecureRegistries, c.CertsDir
	o.MaxConcurrentDownloads, o.MaxConcurrentUploads = c.MaxConcurrentDownloads, c.MaxConcurrentUploads
	o.SkipTLSVerify = !tlsVerify
	return o, nil
}

func commandContext(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// ---- pull ----

// withTransfer runs a pull or push: the registry settings, the store, and Docker's progress
// on the terminal unless quiet; the lines fn returns are printed once the progress is done.
func withTransfer(g *Globals, tlsVerify, quiet bool, fn func(*image.Store, distribution.Options) ([]string, error)) error {
	o, err := registryOptions(tlsVerify)
	if err != nil {
		return err
	}
	s, err := openStore(g)
	if err != nil {
		return err
	}
	defer s.Close()
	// Docker's pull and push write their progress on stdout (run's pull writes it on stderr).
	pr := newProgressPrinter(g.Stdout, g.Stdout)
	if !quiet {
		o.Progress = pr.event
	}
	lines, err := fn(s, o)
	pr.done()
	for _, l := range lines {
		fmt.Fprintln(g.Stdout, l)
	}
	return err
}

func newPullCommand(g *Globals, use string) *cobra.Command {
	var (
		platform  string
		all, q    bool
		tlsVerify bool
		trustOff  bool
	)
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Pull an image or a repository from a registry",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !trustOff {
				return errContentTrust
			}
			return withTransfer(g, tlsVerify, q, func(s *image.Store, o distribution.Options) ([]string, error) {
				res, err := distribution.Pull(commandContext(c), s, args[0], distribution.PullOptions{Options: o, Platform: platform, AllTags: all, AnyPlatform: true})
				if err != nil {
					return nil, err
				}
				return []string{res.Ref}, nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all-tags", "a", false, "Download all tagged images in the repository")
	f.StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable")
	f.BoolVarP(&q, "quiet", "q", false, "Suppress verbose output")
	f.BoolVar(&tlsVerify, "tls-verify", true, "Verify the registry's TLS certificate (false also allows plain HTTP)")
	f.BoolVar(&trustOff, "disable-content-trust", true, "Skip image verification")
	return cmd
}

// errContentTrust refuses --disable-content-trust=false: Docker then signs or verifies with a
// Notary server, which berth has no client for; going on without would be a silent downgrade.
var errContentTrust = errors.New("content trust (--disable-content-trust=false) is not supported by berth: it cannot verify or sign images with a Notary server")

// ---- push ----

func newPushCommand(g *Globals, use string) *cobra.Command {
	var all, q, tlsVerify, trustOff bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] NAME[:TAG]",
		Short: "Push an image or a repository to a registry",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !trustOff {
				return errContentTrust
			}
			return withTransfer(g, tlsVerify, q, func(s *image.Store, o distribution.Options) ([]string, error) {
				res, err := distribution.Push(commandContext(c), s, args[0], distribution.PushOptions{Options: o, AllTags: all})
				var refs []string
				if err == nil && q {
					for _, r := range res {
						refs = append(refs, r.Ref)
					}
				}
				return refs, err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all-tags", "a", false, "Push all tagged images in the repository")
	f.BoolVarP(&q, "quiet", "q", false, "Suppress verbose output")
	f.BoolVar(&tlsVerify, "tls-verify", true, "Verify the registry's TLS certificate (false also allows plain HTTP)")
	f.BoolVar(&trustOff, "disable-content-trust", true, "Skip image signing")
	return cmd
}

// ---- login / logout ----

func newLoginCommand(g *Globals) *cobra.Command {
	var user, pass string
	var passStdin, tlsVerify bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a Docker registry",
		Long:  "Log in to a Docker registry.\nIf no server is specified, the default is defined by the daemon.",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			if pass != "" {
				fmt.Fprintln(g.Stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
				if passStdin {
					return &StatusError{Code: 1, Usage: true, Err: errors.New("--password and --password-stdin are mutually exclusive")}
				}
			}
			if passStdin {
				if user == "" {
					return &StatusError{Code: 1, Usage: true, Err: errors.New("Must provide --username with --password-stdin")}
				}
				b, err := io.ReadAll(g.Stdin)
				if err != nil {
					return err
				}
				pass = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			}
			o, err := registryOptions(tlsVerify)
			if err != nil {
				return err
			}
			ctx := commandContext(c)
			var res *distribution.LoginResult
			if user == "" && pass == "" {
				// Docker's: the stored credentials first, without asking.
				if su, sp, err := distribution.StoredCredentials(server); err == nil && su != "" && sp != "" {
					fmt.Fprintln(g.Stdout, "Authenticating with existing credentials...")
					if res, err = distribution.Login(ctx, server, su, sp, o); err != nil {
						fmt.Fprintf(g.Stderr, "Login did not succeed, error: %s\n", err)
					}
				}
			}
			if res == nil {
				if user == "" || pass == "" {
					if user, pass, err = askCredentials(g, server, user, pass); err != nil {
						return err
					}
				}
				if res, err = distribution.Login(ctx, server, user, pass, o); err != nil {
					return err
				}
			}
			if res.PlainTextFile != "" {
				fmt.Fprintf(g.Stderr, "WARNING! Your password will be stored unencrypted in %s.\n"+
					"Configure a credential helper to remove this warning. See\n"+
					"https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n", res.PlainTextFile)
			}
			fmt.Fprintln(g.Stdout, "Login Succeeded")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&user, "username", "u", "", "Username")
	f.StringVarP(&pass, "password", "p", "", "Password")
	f.BoolVar(&passStdin, "password-stdin", false, "Take the password from stdin")
	f.BoolVar(&tlsVerify, "tls-verify", true, "Verify the registry's TLS certificate (false also allows plain HTTP)")
	return cmd
}

func newLogoutCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a Docker registry",
		Long:  "Log out from a Docker registry.\nIf no server is specified, the default is defined by the daemon.",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			// Docker 20.10 says so whether or not there were credentials to remove.
			fmt.Fprintf(g.Stdout, "Removing login credentials for %s\n", distribution.ServerKey(server))
			_, _, err := distribution.Logout(server)
			return err
		},
	}
}

// askCredentials prompts for what login lacks, as Docker's CLI does: only on a terminal (else
// Docker's refusal, and no prompt printed), the stored username offered as the default, the
// password read with the terminal's echo off.
func askCredentials(g *Globals, server, user, pass string) (string, string, error) {
	in, ok := g.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", "", &StatusError{Code: 1, Usage: true, Err: errors.New("Error: Cannot perform an interactive login from a non TTY device")}
	}
	r := bufio.NewReader(in)
	if user == "" {
		stored, _, _ := distribution.StoredCredentials(server)
		if stored != "" {
			fmt.Fprintf(g.Stdout, "Username (%s): ", stored)
		} else {
			fmt.Fprint(g.Stdout, "Username: ")
		}
		line, _ := r.ReadString('\n')
		if user = strings.TrimSpace(line); user == "" {
			user = stored
		}
		if user == "" {
			return "", "", &StatusError{Code: 1, Usage: true, Err: errors.New("Error: Non-null Username Required")}
		}
	}
	if pass == "" {
		fmt.Fprint(g.Stdout, "Password: ")
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(g.Stdout)
		if err != nil {
			return "", "", err
		}
		if pass = string(b); pass == "" {
			return "", "", &StatusError{Code: 1, Usage: true, Err: errors.New("Error: Password Required")}
		}
	}
	return user, pass, nil
}

// ---- progress ----

// progressPrinter renders pull and push events as Docker does: on a terminal one live line per
// layer (redrawn in place, with a bar), otherwise one plain line per status change and no bars.
// Result lines ("1: digest: sha256:... size: 946") go to out; everything else to w.
type progressPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	out   io.Writer
	tty   bool
	lines map[string]int // ID -> line index among the live lines
	n     int
}

func newProgressPrinter(w, out io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, out: out, lines: map[string]int{}}
	if f, ok := w.(*os.File); ok {
		p.tty = isatty.IsTerminal(f.Fd())
	}
	return p
}

func (p *progressPrinter) event(e distribution.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Result {
		fmt.Fprintln(p.out, e.Status)
		p.lines, p.n = map[string]int{}, 0
		return
	}
	if !p.tty {
		if e.IsProgress() {
			return
		}
		if e.ID != "" {
			fmt.Fprintf(p.w, "%s: %s\n", e.ID, e.Status)
		} else {
			fmt.Fprintln(p.w, e.Status)
		}
		return
	}
	text := e.Status
	if e.IsProgress() {
		text += " " + e.Bar()
	}
	if e.ID == "" {
		fmt.Fprintln(p.w, text)
		p.lines, p.n = map[string]int{}, 0
		return
	}
	line, ok := p.lines[e.ID]
	if !ok {
		line = p.n
		p.lines[e.ID] = line
		p.n++
		fmt.Fprintf(p.w, "%s: %s\n", e.ID, text)
		return
	}
	up := p.n - line
	// Up to the layer's line, clear it, rewrite it, back down.
	fmt.Fprintf(p.w, "\x1b[%dA\r\x1b[2K%s: %s\r\x1b[%dB", up, e.ID, text, up)
}

func (p *progressPrinter) done() {}
