package cli

// Docker's help and usage layout for the whole command tree (issue 18): one usage function and
// one help function set on the root, so every command prints as `docker CMD --help` does:
//
//	Usage:  docker ps [OPTIONS]
//
//	List containers
//
//	Aliases: / Options: / Management Commands: / Commands:
//
// Options are pflag's wrapped columns at the terminal's width less one (80 less one when stdin is
// not a terminal), with the value type names Docker's flag types print ("list", "bytes",
// "decimal"...). berth's own commands and flags (those Docker lacks) come after Docker's, in a
// section of their own, so Docker's lines stay as Docker prints them.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// berthOnlyCommands are the commands Docker 20.10 does not have (by path below the root).
var berthOnlyCommands = map[string]bool{
	"analyze": true, "compose": true, "fsck": true, "registry": true, "serve": true, "ui": true,
	"image analyze": true, "system check": true, "system service": true,
}

// berthOnlyFlags are flags of Docker's commands that Docker does not have.
var berthOnlyFlags = map[string]bool{"tls-verify": true, "root": true}

// dockerFlagTypes is the value name Docker prints for a flag, where berth's flag type prints
// another (pflag names a repeatable string flag "stringArray"; Docker's list type is "list").
// A key "COMMAND FLAG" holds for that command alone.
var dockerFlagTypes = map[string]string{
	"create subnet": "strings", "create gateway": "strings", "create ip-range": "strings",
	"create aux-address": "map", "connect alias": "strings", "connect driver-opt": "strings",
	"connect link-local-ip": "strings", "build cache-from": "strings", "build security-opt": "strings",
	"cpus": "decimal", "memory": "bytes", "memory-reservation": "bytes", "memory-swap": "bytes",
	"kernel-memory": "bytes", "shm-size": "bytes", "network": "network", "sysctl": "map",
	"opt": "map", "storage-opt": "list", "gpus": "gpu-request", "blkio-weight": "uint16",
}

// dockerFlagDefaults is the default Docker shows for a flag whose berth zero value pflag hides.
var dockerFlagDefaults = map[string]string{
	"create aux-address": "map[]", "create ipam-opt": "map[]",
	"sysctl": "map[]", "opt": "map[]", "blkio-weight": "0", "stop-signal": "SIGTERM",
	"blkio-weight-device": "[]", "device-read-bps": "[]", "device-read-iops": "[]",
	"device-write-bps": "[]", "device-write-iops": "[]",
}

// installHelp gives the tree Docker's help: the layout, the hidden --help/-h flag, `help CMD`,
// and group commands (network, volume...) that answer as Docker's do when run without or with
// a wrong subcommand.
func installHelp(root *cobra.Command) {
	root.PersistentFlags().BoolP("help", "h", false, "Print usage")
	root.PersistentFlags().Lookup("help").Hidden = true
	if root.Flags().Lookup("version") == nil {
		root.Flags().BoolP("version", "v", false, "Print version information and quit")
	}
	root.SetUsageFunc(func(c *cobra.Command) error {
		fmt.Fprint(c.OutOrStderr(), usageText(c))
		return nil
	})
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		fmt.Fprint(c.OutOrStdout(), "\n"+usageText(c))
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about the command",
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 || target == nil {
				return &StatusError{Code: 1, Usage: true, Err: fmt.Errorf("unknown help topic: %s", strings.Join(args, " "))}
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		if c.HasSubCommands() && !c.Runnable() && c.HasParent() {
			c.Args = groupArgs
			c.RunE = func(c *cobra.Command, _ []string) error {
				// Docker shows a group's help on stderr and exits 0.
				fmt.Fprint(c.ErrOrStderr(), "\n"+usageText(c))
				return nil
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// groupArgs refuses a word that names no subcommand of a group: Docker prints the group's usage
// as the error, and exits 1.
func groupArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return &StatusError{Code: 1, Usage: true, Err: errors.New("\n" + strings.TrimRight(usageText(c), "\n"))}
}

// usageText is a command's usage in Docker's layout.
func usageText(c *cobra.Command) string {
	var b strings.Builder
	b.WriteString("Usage:  " + dockerUseLine(c) + "\n\n")
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	b.WriteString(strings.TrimSpace(desc) + "\n")
	if len(c.Aliases) > 0 {
		b.WriteString("\nAliases:\n  " + c.NameAndAliases() + "\n")
	}
	if c.HasExample() {
		b.WriteString("\nExamples:\n" + c.Example + "\n")
	}
	if flags := helpFlags(c); flags != "" {
		b.WriteString("\nOptions:\n" + flags + "\n")
	}
	var mgmt, ops, own []*cobra.Command
	for _, s := range c.Commands() {
		switch {
		case !s.IsAvailableCommand():
		case berthOnlyCommands[strings.TrimPrefix(s.CommandPath(), s.Root().Name()+" ")]:
			own = append(own, s)
		case s.HasSubCommands():
			mgmt = append(mgmt, s)
		default:
			ops = append(ops, s)
		}
	}
	// Names are padded to the longest listed one, at least 11 wide, as cobra does.
	pad := 11
	for _, s := range append(append(mgmt[:len(mgmt):len(mgmt)], ops...), own...) {
		pad = max(pad, len(s.Name()))
	}
	if len(mgmt) > 0 {
		b.WriteString("\nManagement Commands:\n")
		for _, s := range mgmt {
			fmt.Fprintf(&b, "  %-*s%s\n", pad+1, s.Name(), s.Short)
		}
	}
	if len(ops) > 0 {
		b.WriteString("\nCommands:\n")
		for _, s := range ops {
			fmt.Fprintf(&b, "  %-*s %s\n", pad, s.Name(), s.Short)
		}
	}
	if len(own) > 0 {
		fmt.Fprintf(&b, "\n%s Commands:\n", titleName(c.Root().Name()))
		for _, s := range own {
			fmt.Fprintf(&b, "  %-*s %s\n", pad, s.Name(), s.Short)
		}
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\nRun '%s COMMAND --help' for more information on a command.\n", c.CommandPath())
	}
	return b.String()
}

func titleName(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// dockerUseLine is the synopsis: the command's Use under its parent's path, or for a group
// "PATH [OPTIONS] COMMAND".
func dockerUseLine(c *cobra.Command) string {
	if !c.HasSubCommands() {
		return usageLine(c)
	}
	if !c.HasParent() {
		return c.Use
	}
	s := c.CommandPath()
	if c.HasAvailableLocalFlags() {
		s += " [OPTIONS]"
	}
	return s + " COMMAND"
}

// helpFlags lists the command's visible flags (not the root's globals, as Docker's subcommands
// do not list them) in Docker's columns, berth's own flags after Docker's.
func helpFlags(c *cobra.Command) string {
	width := 80
	if w, _, err := term.GetSize(0); err == nil && w > 0 {
		width = w
	}
	docker := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
	own := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
	rootGlobals := c.Root().PersistentFlags()
	add := func(f *pflag.Flag) {
		if f.Hidden || (c.HasParent() && rootGlobals.Lookup(f.Name) == f) || docker.Lookup(f.Name) != nil || own.Lookup(f.Name) != nil {
			return
		}
		hf := f
		if !inCompose(c) {
			hf = helpFlag(c.Name(), f)
		}
		if berthOnlyFlags[f.Name] {
			own.AddFlag(hf)
		} else {
			docker.AddFlag(hf)
		}
	}
	c.LocalFlags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	return strings.TrimRight(docker.FlagUsagesWrapped(width-1)+own.FlagUsagesWrapped(width-1), " \n")
}

// inCompose says whether c is berth compose or one of its commands: Docker Compose prints its
// flags' types as pflag names them ("stringArray"), with none of the docker CLI's own types.
func inCompose(c *cobra.Command) bool {
	return c.CommandPath() == "berth compose" || strings.HasPrefix(c.CommandPath(), "berth compose ")
}

// helpFlag is f as Docker's help shows it: Docker's type name and default.
func helpFlag(cmd string, f *pflag.Flag) *pflag.Flag {
	typ, def := f.Value.Type(), f.DefValue
	changed := false
	switch typ {
	case "stringArray", "stringSlice":
		typ, changed = "list", true
		if def == "[]" {
			def = ""
		}
	case "list":
		// Docker's lists print no empty default.
		if def == "[]" {
			def, changed = "", true
		}
	case "stringToString":
		typ, changed = "map", true
	case "duration":
		// Docker's duration options print their zero value.
		if def == "0" || def == "0s" {
			def, changed = "0s", true
		}
	}
	if typ == "bytes" && (def == "0" || def == "0B") {
		def, changed = "", true // Docker's byte sizes print no zero default
	}
	if t, ok := lookupByCommand(dockerFlagTypes, cmd, f.Name); ok && t != typ {
		typ, changed = t, true
	}
	if d, ok := lookupByCommand(dockerFlagDefaults, cmd, f.Name); ok && (def == "" || def == "[]" || def == "0") {
		def, changed = d, true
	}
	if !changed {
		return f
	}
	hf := *f
	hf.Value = helpValue{typ: typ, val: def}
	hf.DefValue = def
	return &hf
}

func lookupByCommand(m map[string]string, cmd, flag string) (string, bool) {
	if v, ok := m[cmd+" "+flag]; ok {
		return v, true
	}
	v, ok := m[flag]
	return v, ok
}

// helpValue stands for a flag's value in a help listing only.
type helpValue struct{ typ, val string }

func (v helpValue) String() string   { return v.val }
func (v helpValue) Set(string) error { return errors.New("help only") }
func (v helpValue) Type() string     { return v.typ }
