package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The help and usage-error cases of the parity suite need no containers: run them in-process,
// without root, so a change to a description or to the layout fails here first.
func TestHelpParityCases(t *testing.T) {
	n := 0
	for _, pc := range loadParityCases(t) {
		base := filepath.Base(pc.file)
		if !strings.HasPrefix(base, "help-") && !strings.HasPrefix(base, "usage-") {
			continue
		}
		n++
		t.Run(base, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(append([]string{"--root", t.TempDir()}, pc.cmd...), strings.NewReader(""), &out, &errb)
			got := parityResult{normalizeParity(out.String(), ""), normalizeParity(errb.String(), ""), code}
			want := parityResult{normalizeParity(pc.want.stdout, ""), normalizeParity(pc.want.stderr, ""), pc.want.exit}
			if !pc.matches(want, got) {
				t.Errorf("berth %s differs from Docker 20.10:\n%s\nundeclared: %q", strings.Join(pc.cmd, " "),
					parityDiff(want, got), pc.undeclared(want, got))
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d help cases found", n)
	}
}

func TestHelpFlagTypes(t *testing.T) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.StringArray("env", nil, "Set environment variables")
	fs.StringArray("sysctl", nil, "Sysctl options")
	fs.String("memory", "", "Memory limit")
	fs.Duration("health-interval", 0, "Time between running the check (ms|s|m|h)")
	fs.String("stop-signal", "", "Signal to stop a container")
	fs.Bool("rm", false, "Automatically remove the container when it exits")
	out := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.VisitAll(func(f *pflag.Flag) { out.AddFlag(helpFlag("run", f)) })
	got := out.FlagUsagesWrapped(79)
	for _, want := range []string{
		"--env list ", "--sysctl map ", "(default map[])", "--memory bytes ", "(ms|s|m|h) (default 0s)",
		`"SIGTERM")`, "--rm ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "(default [])") {
		t.Errorf("an empty list prints a default:\n%s", got)
	}
	// The help view leaves the flags themselves alone.
	if fs.Lookup("env").Value.Type() != "stringArray" || fs.Lookup("stop-signal").DefValue != "" {
		t.Error("helpFlag changed the command's own flag")
	}
}

func TestParityLineDiffAndDeclared(t *testing.T) {
	d := lineDiff("a\nb\nc\n", "a\nx\nc\ny\n")
	if strings.Join(d, "|") != "+ x|- b|+ y" && strings.Join(d, "|") != "- b|+ x|+ y" {
		t.Errorf("lineDiff: %q", d)
	}
	pc := parityCase{allowed: []string{"- b", "+ x", "+ y"}}
	docker := parityResult{"a\nb\nc\n", "", 0}
	if !pc.matches(docker, parityResult{"a\nx\nc\ny\n", "", 0}) {
		t.Error("declared differences refused")
	}
	if pc.matches(docker, parityResult{"a\nz\nc\n", "", 0}) {
		t.Error("an undeclared difference passed")
	}
	if pc.matches(docker, parityResult{"a\nx\nc\ny\n", "", 1}) {
		t.Error("a different exit code passed")
	}
	if (parityCase{}).matches(docker, parityResult{"a\n", "", 0}) {
		t.Error("a case without declarations must match exactly")
	}
}

// berth compose's help and usage errors are Docker Compose v2.40.3's, as a docker CLI plugin
// prints them (recorded with `docker compose` 28.x): the docker CLI's layout without its leading
// empty line, pflag's type names, --dry-run on every command, and bare flag errors with exit 1.
func TestComposeHelpAndErrors(t *testing.T) {
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(append([]string{"--root", t.TempDir(), "compose"}, args...), strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	const pushHelp = `Usage:  berth compose push [OPTIONS] [SERVICE...]

Push service images

Options:
      --dry-run                Execute command in dry run mode
      --ignore-push-failures   Push what it can and ignores images with
                               push failures
      --include-deps           Also push images of services declared as
                               dependencies
  -q, --quiet                  Push without printing progress information
`
	if out, errs, code := run("push", "--help"); out != pushHelp || errs != "" || code != 0 {
		t.Errorf("push --help: %d %q\n%s", code, errs, out)
	}
	out, errs, code := run()
	if !strings.HasPrefix(out, "Usage:  berth compose [OPTIONS] COMMAND\n\n") || !strings.Contains(out, "\n      --env-file stringArray ") ||
		!strings.HasSuffix(out, "\nRun 'berth compose COMMAND --help' for more information on a command.\n") || errs != "" || code != 0 {
		t.Errorf("compose: %d %q\n%s", code, errs, out)
	}
	if out2, errs, code := run("bogus"); out2 != out || errs != "unknown berth command: \"compose bogus\"\n" || code != 1 {
		t.Errorf("compose bogus: %d %q", code, errs)
	}
	for _, args := range [][]string{{"--bogus"}, {"ls", "--bogus"}} {
		if out, errs, code := run(args...); out != "" || errs != "unknown flag: --bogus\n" || code != 1 {
			t.Errorf("%q: %d %q %q", args, code, out, errs)
		}
	}
}
