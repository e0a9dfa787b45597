package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// DeleteExited removes what a runtime keeps of an exited container, as `delete --force` would:
// its cgroup in every hierarchy (killing a process left in it: a container sharing the host's
// PID namespace leaves its other processes when its init exits) and its state directory.
func TestDeleteExited(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (cgroups)")
	}
	mounts := cgroupMounts()
	if len(mounts) == 0 {
		t.Skip("no cgroup hierarchy mounted")
	}
	parent := fmt.Sprintf("/berth-test-deleteexited-%d", os.Getpid())
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cgPath := parent + "/" + id
	t.Cleanup(func() {
		RemoveCgroup(cgPath)
		RemoveCgroup(parent)
	})
	var made []string
	for _, mnt := range mounts {
		dir := filepath.Join(mnt, cgPath)
		if err := os.MkdirAll(dir, 0o755); err == nil {
			made = append(made, dir)
		}
	}
	if len(made) == 0 {
		t.Skip("cannot make cgroups here")
	}
	// A process left in the cgroup (in the first hierarchy that takes it).
	sleep := exec.Command("sleep", "300")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	waited := make(chan error, 1)
	go func() { waited <- sleep.Wait() }()
	moved := false
	for _, dir := range made {
		if os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644) == nil {
			moved = true
			break
		}
	}
	state := t.TempDir()
	r := &Runtime{Binary: "/nonexistent-runtime", StateDir: state} // the runtime is not run
	if err := os.MkdirAll(filepath.Join(state, id), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(state, id, "status"), []byte("{}"), 0o600)
	os.WriteFile(filepath.Join(state, "other"), []byte("kept"), 0o600)

	if err := r.DeleteExited(id, cgPath); err != nil {
		t.Fatalf("DeleteExited: %v", err)
	}
	for _, dir := range made {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("cgroup %s left", dir)
		}
	}
	if _, err := os.Stat(filepath.Join(state, id)); err == nil {
		t.Error("state directory left")
	}
	if _, err := os.Stat(filepath.Join(state, "other")); err != nil {
		t.Errorf("another entry of the state directory went: %v", err)
	}
	if moved {
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			t.Error("the process left in the cgroup was not killed")
		}
	}
	for _, bad := range []string{"", "..", "a/b", "."} {
		if err := r.DeleteExited(bad, cgPath); err == nil {
			t.Errorf("DeleteExited(%q) accepted", bad)
		}
	}
}
