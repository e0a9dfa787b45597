package cli

import (
	"os"
	"strings"
	"testing"
)

// Docker's global options before the command word: what berth honours, what it refuses, and that
// a command's own -c/-l/-H are left to it.
func TestGlobalFlags(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", "")
	root := newRoot(&Globals{}, "ps")
	args, err := takeGlobalFlags(root, []string{"-D", "--config=/cfg", "-l", "debug", "--root", "/r", "ps", "-l", "-c", "x"})
	if err != nil || strings.Join(args, " ") != "--root /r ps -l -c x" {
		t.Fatalf("takeGlobalFlags: %q %v", args, err)
	}
	if v, _ := root.Flags().GetString("log-level"); v != "debug" {
		t.Errorf("log-level %q", v)
	}
	if err := (&globalFlags{config: "/cfg", logLevel: "info"}).apply(root); err != nil || os.Getenv("DOCKER_CONFIG") != "/cfg" {
		t.Errorf("--config: DOCKER_CONFIG %q %v", os.Getenv("DOCKER_CONFIG"), err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-l", "foo", "ps"}, "Unable to parse logging level: foo\n"},
		{[]string{"-Hunix:///x.sock", "ps"}, "-H unix:///x.sock: berth is daemonless"},
		{[]string{"--host", "tcp://1.2.3.4:2375", "ps"}, "-H tcp://1.2.3.4:2375: berth is daemonless"},
		{[]string{"-c", "other", "ps"}, `context "other": berth is daemonless and has only the default context`},
		{[]string{"--tlsverify", "ps"}, "--tlsverify: berth is daemonless"},
	} {
		var out, errb strings.Builder
		code := Main(c.args, strings.NewReader(""), &out, &errb)
		if code != 1 || !strings.HasPrefix(errb.String(), c.want) || out.Len() != 0 {
			t.Errorf("%q: exit %d %q %q", c.args, code, out.String(), errb.String())
		}
	}
	// Docker's layout of the root's options (recorded from Docker 20.10's --help).
	var out strings.Builder
	Main([]string{"--help"}, strings.NewReader(""), &out, &out)
	for _, l := range []string{
		"  -c, --context string     Name of the context to use to connect to the\n",
		"  -H, --host list          Daemon socket(s) to connect to\n",
		"  -l, --log-level string   Set the logging level\n                           (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\")\n                           (default \"info\")\n",
		"      --tlsverify          Use TLS and verify the remote\n  -v, --version            Print version information and quit\n",
	} {
		if !strings.Contains(out.String(), l) {
			t.Errorf("--help lacks %q:\n%s", l, out.String())
		}
	}
}
