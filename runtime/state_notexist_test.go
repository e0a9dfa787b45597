package runtime

import (
	"errors"
	"os/exec"
	"testing"
)

// State says ErrNotExist for a container the runtime does not have, in runc's and crun's words
// (a commit's pause of a container that just exited relies on it).
func TestStateNotExist(t *testing.T) {
	for _, name := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Logf("%s not on PATH: skipped", name)
			continue
		}
		r, err := New(name, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.State("nosuchcontainer"); !errors.Is(err, ErrNotExist) {
			t.Errorf("%s state of a missing container: %v", name, err)
		}
	}
}
