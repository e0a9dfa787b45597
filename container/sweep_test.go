package container

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
	"golang.org/x/sys/unix"
)

// A build step's directory is swept only once the berth that claimed it is gone: its owner lock
// is what says so, not its age or a PID.
func TestSweepInterruptedOnlyTakesOwnerlessSteps(t *testing.T) {
	root := t.TempDir()
	m := &Manager{Images: &image.Store{Root: root}}
	live := filepath.Join(root, "builds", "build-live")
	owner, err := claimStepDir(live)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	dead := filepath.Join(root, "builds", "build-dead")
	deadOwner, err := claimStepDir(dead)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dead, "upper", "x"), 0o700)
	deadOwner.Close() // its berth died: the lock went with it
	// A step killed between making its directory aside and claiming it: debris once old.
	young := filepath.Join(root, "builds", ".build-young.new")
	old := filepath.Join(root, "builds", ".build-old.new")
	for _, d := range []string{young, old} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * staleAge)
	os.Chtimes(old, past, past)
	// The network state a step keeps beside the containers' goes with it.
	os.MkdirAll(m.dir("build-dead"), 0o700)

	if err := m.SweepInterrupted(); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	if !exists(filepath.Join(live, stepOwnerFile)) {
		t.Error("a step whose owner lives was swept")
	}
	if exists(dead) || exists(m.dir("build-dead")) {
		t.Error("a step whose owner is gone was left")
	}
	if !exists(young) {
		t.Error("a step directory being claimed right now was swept")
	}
	if exists(old) {
		t.Error("an old unclaimed step directory was left")
	}
	// Once its owner is done, the live one goes too.
	owner.Close()
	if err := m.SweepInterrupted(); err != nil {
		t.Fatal(err)
	}
	if exists(live) {
		t.Error("a step whose owner closed its record was left")
	}
}

// claimStepDir never shows a step directory under its name before its owner holds the lock.
func TestClaimStepDirIsLockedWhenItAppears(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "builds", "build-x")
	f, err := claimStepDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := claimStepDir(dir); err == nil {
		t.Error("a step directory was claimed twice")
	}
	other, err := os.OpenFile(filepath.Join(dir, stepOwnerFile), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if tryLock(other) {
		t.Error("the owner record of a live step could be locked by someone else")
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b`:              "/a/b",
		`/a\040b/c`:         "/a b/c",
		`/tab\011x\134y`:    "/tab\tx\\y",
		`/trailing\04`:      `/trailing\04`,
		`/not\09octal\0400`: "/not\\09octal 0",
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func tryLock(f *os.File) bool {
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}

// A killed berth's overlay probe (a mount under the root) is debris the sweep removes; a probe
// under way is not.
func TestSweepInterruptedTakesDeadOverlayProbes(t *testing.T) {
	root := t.TempDir()
	m := &Manager{Images: &image.Store{Root: root}}
	live, err := claimStepDir(filepath.Join(root, overlayProbePrefix+"live"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead, err := claimStepDir(filepath.Join(root, overlayProbePrefix+"dead"))
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	if err := m.SweepInterrupted(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, overlayProbePrefix+"live")); err != nil {
		t.Error("a probe under way was swept")
	}
	if _, err := os.Lstat(filepath.Join(root, overlayProbePrefix+"dead")); err == nil {
		t.Error("a dead berth's probe was left")
	}
}
