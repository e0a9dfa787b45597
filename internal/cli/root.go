// Package cli is berth's command line: one file per command group. Commands only parse flags, call
// the engine's Go API and print through the format package; no capability lives here.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
	"github.com/berth-engine/berth/rootless"
	"github.com/spf13/cobra"
)

// DefaultRoot is where berth keeps its state unless --root or BERTH_ROOT say otherwise.
const DefaultRoot = "/var/lib/berth"

// Globals carries what every command needs: the resolved flags and the process's streams.
type Globals struct {
	Root   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	intr   *interrupter // set by a command that cleans up when interrupted (interruptible)
	global globalFlags  // Docker's global options (globalflags.go)
}

// StatusError makes berth exit with a given code; Docker's CLI uses 1 for most failures and 125
// for its own failures in `run` and for bad flags.
type StatusError struct {
	Code int
	Err  error
	// Usage errors print as they are, without "Error: ", like Docker's.
	Usage bool
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// commands is filled by each command group's init, so a new group never edits this file. Each is
// built on demand: a command line naming one builds only that one (flags and all), which spares
// every short-lived berth process (run, ps, images) building the whole tree.
var commands []namedCommand

type namedCommand struct {
	name string
	ctor func(*Globals) *cobra.Command
}

func register(name string, f func(*Globals) *cobra.Command) {
	commands = append(commands, namedCommand{name, f})
}

// NewRootCommand builds the berth command tree.
func NewRootCommand(g *Globals) *cobra.Command { return newRoot(g, "") }

// newRoot builds the tree with only the top-level command named only, when it is one ("" or an
// unknown name, such as help, completion or a typo, builds them all; versionOnly builds none).
func newRoot(g *Globals, only string) *cobra.Command {
	root := &cobra.Command{
		Use:           progName() + " [OPTIONS] COMMAND",
		Short:         "A daemonless, Docker-compatible container image engine",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetVersionTemplate("berth version {{.Version}}\n")
	def := DefaultRoot
	if os.Geteuid() != 0 || rootless.Active() {
		if d, err := rootless.DataDir(os.Getenv); err == nil {
			def = d
		}
	}
	if env := os.Getenv("BERTH_ROOT"); env != "" {
		def = env
	}
	root.PersistentFlags().StringVar(&g.Root, "root", def, "Root directory of berth's state (env BERTH_ROOT)")
	addGlobalFlags(root, &g.global)
	root.SetIn(g.Stdin)
	root.SetOut(g.Stdout)
	root.SetErr(g.Stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// Docker adds a group's usage (the root's too) after a flag error.
		usage := ""
		if c.HasSubCommands() {
			usage = "\n\n" + usageText(c)
		}
		return &StatusError{Code: 125, Usage: true, Err: fmt.Errorf("%s\nSee '%s --help'.%s", err, c.CommandPath(), usage)}
	})
	known := only == versionOnly
	for _, c := range commands {
		known = known || c.name == only
	}
	for _, c := range commands {
		if !known || c.name == only {
			root.AddCommand(c.ctor(g))
		}
	}
	installHelp(root)
	return root
}

// progName is the name berth was invoked by ("docker" through a symlink named so), which its
// usage lines and error hints use, as Docker's CLI names itself.
func progName() string {
	if len(os.Args) > 0 {
		if n := filepath.Base(os.Args[0]); n == "docker" || n == "berth" {
			return n
		}
	}
	return "berth"
}

// versionOnly names no command: newRoot then builds none, for a command line that only asks for
// the version (isVersionOnly), which cobra answers from the root before looking at any command.
const versionOnly = "\x00version"

// fastVersion lets a test compare the version fast path with the whole tree's answer.
var fastVersion = true

// isVersionOnly reports whether args are only -v or --version, and --root: a command line whose
// output (the version, or --root's flag error) the root alone gives, as with the whole tree. Any
// other flag or word, -h among them, gets the whole tree (help and flag errors list commands).
func isVersionOnly(args []string) bool {
	version := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-v" || a == "--version":
			version = true
		case a == "--root" && i+1 < len(args):
			i++
		case strings.HasPrefix(a, "--root="):
		default:
			return false
		}
	}
	return version && fastVersion
}

// commandWord is the first word of args that is not a global flag: the command's name.
func commandWord(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case globalValueFlags[a]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// Main runs berth with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &Globals{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	only := commandWord(args)
	if only == "" && isVersionOnly(args) {
		only = versionOnly
	}
	root := newRoot(g, only)
	args, err := takeGlobalFlags(root, args)
	if err == nil {
		err = g.global.apply(root)
	}
	if err == nil {
		root.SetArgs(args)
		err = root.Execute()
	}
	if g.intr.finish() {
		// Interrupted, and cleaned up: berth dies by the signal (finish does not return
		// unless the signal could not be raised).
		return g.intr.interruptedCode()
	}
	if err == nil {
		return 0
	}
	code, prefix := 1, "Error: "
	var te *format.TemplateError
	if errors.As(err, &te) {
		prefix = "" // Docker prints template errors bare
	}
	var damaged *image.DamagedError
	if errors.As(err, &damaged) {
		code = 125
	}
	var se *StatusError
	if errors.As(err, &se) {
		code = se.Code
		if se.Usage {
			prefix = ""
		}
	}
	msg := err.Error()
	if first, _, _ := strings.Cut(msg, "\n"); strings.HasPrefix(msg, "unknown command") && strings.HasSuffix(first, ` for "`+root.Name()+`"`) {
		// Docker's words and exit code for a command it does not have.
		if word := commandWord(args); word != "" {
			fmt.Fprintf(stderr, "%s: '%s' is not a %s command.\nSee '%s --help'\n", root.Name(), word, root.Name(), root.Name())
			return 1
		}
	}
	if se == nil && (strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")) {
		code = 125
	}
	if msg != "" {
		fmt.Fprintf(stderr, "%s%s\n", prefix, msg)
	}
	return code
}

// eachArg runs fn for every argument the way Docker's commands over several objects do: a failure
// does not stop the others, each failure is one "Error: ..." line of its own, and the command then
// exits 1.
func eachArg(args []string, fn func(string) error) error {
	var errs []string
	for _, a := range args {
		if err := fn(a); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return argErrors(errs)
}

// argErrors joins failures so that Main's "Error: " prefix starts every line.
func argErrors(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "\nError: "))
}

// exactArgs and friends give Docker's wording for a wrong number of arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return argsError(c, fmt.Sprintf("exactly %d argument%s", n, plural(n)))
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return argsError(c, fmt.Sprintf("at least %d argument%s", n, plural(n)))
	}
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return argsError(c, fmt.Sprintf("at most %d argument%s", n, plural(n)))
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return argsError(c, fmt.Sprintf("at least %d and at most %d arguments", lo, hi))
	}
}

func argsError(c *cobra.Command, want string) error {
	return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("%q requires %s.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
		c.CommandPath(), want, c.CommandPath(), usageLine(c), c.Short)}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// usageLine is the command's synopsis as Docker prints it (cobra's UseLine adds "[flags]").
func usageLine(c *cobra.Command) string {
	if c.HasParent() {
		return c.Parent().CommandPath() + " " + c.Use
	}
	return c.Use
}
