package api

import (
	"testing"

	"github.com/berth-engine/berth/internal/testenv"
)

// The end-to-end tests of every endpoint group share these: a skip where containers cannot run,
// one berth binary per test process, and a busybox rootfs to import (package testenv).

// testNeedsContainers skips a test that runs containers on a machine that cannot.
func testNeedsContainers(t *testing.T) {
	t.Helper()
	testenv.NeedContainers(t, "container API tests")
}

// testBerth is the berth binary, built once per test process.
func testBerth(t *testing.T) string { return testenv.Berth(t, "api") }

// testBusyboxTar is a busybox-static rootfs as a tarball.
func testBusyboxTar(t *testing.T) []byte { return testenv.BusyboxRootfs(t) }
