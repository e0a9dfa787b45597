package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/system"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	registerContainer("diff", "diff", newDiffCommand)
	registerContainer("commit", "commit", newCommitCommand)
	registerContainer("export", "export", newExportCommand)
	registerContainer("cp", "cp", newCpCommand)
	registerContainer("exec", "exec", newExecCommand)
	registerContainer("top", "top", newTopCommand)
	registerContainer("port", "port", newPortCommand)
}

func newDiffCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			changes, err := m.Diff(args[0])
			if err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Fprintln(g.Stdout, c)
			}
			return nil
		},
	}
}

func newCommitCommand(g *Globals, use string) *cobra.Command {
	var o container.CommitOptions
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				o.Ref = args[1]
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			// Interrupted, commit stops and resumes the container it paused before exiting.
			o.Context = g.interruptible(cmd)
			id, err := m.Commit(args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, id)
			return nil
		},
	}
	c.Flags().StringVarP(&o.Author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	c.Flags().StringVarP(&o.Message, "message", "m", "", "Commit message")
	c.Flags().StringArrayVarP(&o.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	c.Flags().BoolVarP(&o.Pause, "pause", "p", true, "Pause container during commit")
	return c
}

func newExportCommand(g *Globals, use string) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			toFile := output != "" && output != "-"
			if !toFile && isTerminal(g.Stdout) {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			if toFile {
				return writeFileAtomic(output, "failed to export container", func(w io.Writer) error { return m.Export(args[0], w) })
			}
			return m.Export(args[0], g.Stdout)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return c
}

// splitCpArg splits "CONTAINER:PATH"; a local path has no colon before its first slash.
func splitCpArg(arg string) (ctr, path string) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	if i := strings.Index(arg, ":"); i > 0 {
		return arg[:i], arg[i+1:]
	}
	return "", arg
}

func newCpCommand(g *Globals, use string) *cobra.Command {
	var o container.CopyOptions
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\t" + progName() + " cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin\n" +
			"and extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a\n" +
			"container source to stdout.",
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcCtr, src := splitCpArg(args[0])
			dstCtr, dst := splitCpArg(args[1])
			bare := func(err error) error { return &StatusError{Code: 1, Usage: true, Err: err} }
			switch {
			case srcCtr != "" && dstCtr != "":
				return bare(errors.New("copying between containers is not supported"))
			case srcCtr == "" && dstCtr == "":
				return bare(errors.New("must specify at least one container source"))
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			ctr, path := srcCtr, src
			switch {
			case srcCtr != "":
				err = m.CopyFrom(srcCtr, src, dst, o, g.Stdout)
			case src == "-":
				ctr, path = dstCtr, dst
				err = m.CopyTarTo(dstCtr, g.Stdin, dst, o)
			default:
				ctr, path = dstCtr, dst
				err = m.CopyTo(dstCtr, src, dst, o)
			}
			// Docker's CLI words: what is missing as CONTAINER:PATH (never a host path of the
			// container's root), and its own checks bare.
			var pnf container.PathNotFoundError
			var ce container.CheckError
			switch {
			case errors.As(err, &pnf):
				return bare(fmt.Errorf("Error: No such container:path: %s:%s", ctr, pnf.Path))
			case errors.As(err, new(container.NotFoundError)):
				return bare(fmt.Errorf("Error: No such container:path: %s:%s", ctr, path))
			case errors.As(err, &ce):
				return bare(err)
			}
			return err
		},
	}
	c.Flags().BoolVarP(&o.Archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	c.Flags().BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return c
}

func newExecCommand(g *Globals, use string) *cobra.Command {
	var o container.ExecOptions
	var interactive, tty, detach bool
	var env, envFiles []string
	var detachKeysFlag string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Args:  minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tty = tty
			if tty && interactive && !detach {
				if err := stdinIsTTY(g); err != nil {
					return err
				}
			}
			if tty && interactive {
				if in, ok := g.Stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
					if old, err := term.MakeRaw(int(in.Fd())); err == nil {
						defer term.Restore(int(in.Fd()), old)
					}
				}
			}
			for _, ef := range envFiles {
				vs, err := readKVFile(ef, true)
				if err != nil {
					return err
				}
				o.Env = append(o.Env, vs...)
			}
			for _, e := range env {
				v, err := envVar(e)
				if err != nil {
					return err
				}
				o.Env = append(o.Env, v)
			}
			o.Cmd, o.Detach, o.Stdout, o.Stderr = args[1:], detach, g.Stdout, g.Stderr
			if interactive {
				o.Stdin = g.Stdin
			}
			// The detach keys cut this client off, as Docker's: "read escape sequence", exit 1.
			detached := make(chan struct{})
			keys, err := detachKeys(detachKeysFlag, invalidEscapeKeys)
			if err != nil {
				return err // Docker's daemon refuses a bad spec whatever the exec's streams
			}
			if tty && interactive && !detach {
				if keys == nil {
					keys = container.DefaultDetachKeys
				}
				o.DetachKeys, o.Detached = keys, func() { close(detached) }
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			type result struct {
				code int
				err  error
			}
			done := make(chan result, 1)
			go func() {
				var code int
				var err error
				if tty && interactive && !detach {
					// The process's terminal is held by an exec-shim that outlives this
					// client, so detaching leaves the process running, as Docker's.
					code, err = m.ExecHeld(args[0], o)
				} else if detach {
					// An exec-shim waits for the process, to record its exit (exec_die).
					code, err = m.ExecDetached(args[0], o)
				} else {
					code, err = m.Exec(args[0], o)
				}
				done <- result{code, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-detached:
				// The exec-shim holds the process's terminal: the process runs on.
				return &StatusError{Code: 1, Usage: true, Err: container.ErrDetached}
			}
			code, err := r.code, r.err
			if errors.Is(err, container.ErrDetached) {
				return &StatusError{Code: 1, Usage: true, Err: container.ErrDetached}
			}
			if err != nil {
				var se *container.StartError
				if errors.As(err, &se) {
					return &StatusError{Code: se.Code, Err: err}
				}
				return err
			}
			if code != 0 {
				return &StatusError{Code: code, Err: errors.New("")}
			}
			return nil
		},
	}
	c.Flags().SetInterspersed(false)
	c.Flags().BoolVarP(&interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	c.Flags().BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY")
	c.Flags().BoolVarP(&detach, "detach", "d", false, "Detached mode: run command in the background")
	c.Flags().StringVar(&detachKeysFlag, "detach-keys", "", "Override the key sequence for detaching a container")
	c.Flags().StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	c.Flags().StringArrayVar(&envFiles, "env-file", nil, "Read in a file of environment variables")
	c.Flags().StringVarP(&o.User, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	c.Flags().StringVarP(&o.WorkingDir, "workdir", "w", "", "Working directory inside the container")
	c.Flags().BoolVar(&o.Privileged, "privileged", false, "Give extended privileges to the command")
	return c
}

func newTopCommand(g *Globals, use string) *cobra.Command {
	c := &cobra.Command{
		Use:   use + " CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			titles, procs, err := m.Top(args[0], args[1:])
			if err != nil {
				return err
			}
			// Docker's top prints through a tabwriter of minwidth 20, padding 3.
			w := tabwriter.NewWriter(g.Stdout, 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(titles, "\t"))
			for _, p := range procs {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
	}
	// Everything after the container is ps's (`top CTR -o pid,comm`, `top CTR aux`), as Docker's.
	c.Flags().SetInterspersed(false)
	return c
}

func newPortCommand(g *Globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			if len(args) == 1 || args[1] == "" {
				ports, err := m.PublishedPorts(args[0])
				if err != nil {
					return err
				}
				for _, p := range ports {
					fmt.Fprintln(g.Stdout, p)
				}
				return nil
			}
			bindings, err := m.Port(args[0], args[1])
			var ie *container.InvalidPortError
			if errors.As(err, &ie) {
				return &StatusError{Code: 1, Usage: true, Err: err} // Docker prints it bare
			}
			if err != nil {
				return err
			}
			for _, b := range bindings {
				fmt.Fprintln(g.Stdout, b.HostIP+":"+b.HostPort)
			}
			return nil
		},
	}
}

// containerDiskUsage is the containers' and volumes' rows of `system df -v`.
type containerDiskUsage struct {
	ctrRows []*psRow
	volRows []*volumeDfRow
}

// volumeDfRow is one line of the volumes table of `system df -v`.
type volumeDfRow struct {
	name  string
	links int
	size  int64
}

func (r *volumeDfRow) MarshalJSON() ([]byte, error) { return format.MarshalContext(r) }
func (r *volumeDfRow) Name() string                 { return r.name }
func (r *volumeDfRow) Links() string                { return fmt.Sprint(r.links) }
func (r *volumeDfRow) Size() string                 { return units.HumanSize(float64(r.size)) }

// diskUsageRows makes the containers' and volumes' rows of `system df -v` from what it measured.
func diskUsageRows(sdu system.DiskUsage) containerDiskUsage {
	var du containerDiskUsage
	now := time.Now()
	for _, s := range sdu.Containers {
		du.ctrRows = append(du.ctrRows, &psRow{trunc: true, now: now, s: s, image: s.Image, dfSize: true})
	}
	for _, v := range sdu.Volumes {
		du.volRows = append(du.volRows, &volumeDfRow{name: v.Name, links: v.Links, size: v.Size})
	}
	return du
}
