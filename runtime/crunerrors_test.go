package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

// crun's failures of a container's command come out in runc's words, which Docker prints, and
// get Docker's exit codes.
func TestDockerMessage(t *testing.T) {
	for _, tc := range []struct {
		msg, arg0, want string
		code            int
	}{
		{"executable file `nosuch` not found in $PATH: No such file or directory", "nosuch",
			`unable to start container process: exec: "nosuch": executable file not found in $PATH`, 127},
		{"executable file `/nonexist` not found in $PATH: No such file or directory", "/nonexist",
			`unable to start container process: exec: "/nonexist": stat /nonexist: no such file or directory`, 127},
		{"open executable: Permission denied", "/etc/passwd",
			`unable to start container process: exec: "/etc/passwd": permission denied`, 126},
		{"open executable: Operation not permitted", "/etc",
			`unable to start container process: exec: "/etc": permission denied`, 126},
		{"exec container process `/bad`: Exec format error", "/bad",
			`unable to start container process: exec: "/bad": exec format error`, 126},
		{"exec: No such file or directory", "/proc/self/exe",
			`unable to start container process: exec: "/proc/self/exe": no such file or directory`, 127},
		{"mount `proc` to `/proc`: Operation not permitted", "sh", "mount `proc` to `/proc`: Operation not permitted", 125},
	} {
		got := DockerMessage(tc.msg, tc.arg0)
		if got != tc.want {
			t.Errorf("DockerMessage(%q) = %q, want %q", tc.msg, got, tc.want)
		}
		if code := (&CreateError{Msg: got}).ExitCode(); code != tc.code {
			t.Errorf("%q: exit code %d, want %d", got, code, tc.code)
		}
		if IsCrunFailure(tc.msg+"\n") != (got != tc.msg) {
			t.Errorf("IsCrunFailure(%q) disagrees with DockerMessage", tc.msg)
		}
	}
}

// crun is the default only where it runs: not on a hybrid cgroup host whose v2 hierarchy holds
// controllers.
func TestCrunRunsHere(t *testing.T) {
	saved := hybridControllersFile
	t.Cleanup(func() { hybridControllersFile = saved })
	dir := t.TempDir()
	for _, tc := range []struct {
		content *string
		want    bool
	}{
		{nil, true}, // pure v1 or pure v2: no unified hierarchy beside v1 ones
		{ptr(""), true},
		{ptr("\n"), true},
		{ptr("hugetlb\n"), false},
		{ptr("cpu memory pids\n"), false},
	} {
		hybridControllersFile = filepath.Join(dir, "missing")
		if tc.content != nil {
			hybridControllersFile = filepath.Join(dir, "cgroup.controllers")
			os.WriteFile(hybridControllersFile, []byte(*tc.content), 0o644)
		}
		if got := CrunRunsHere(); got != tc.want {
			t.Errorf("controllers %v: CrunRunsHere = %v, want %v", tc.content, got, tc.want)
		}
	}
}

func ptr(s string) *string { return &s }
