package registry

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

// conformanceVersion is the OCI distribution-spec conformance suite this registry is checked
// against; BERTH_CONFORMANCE_VERSION overrides it (e.g. "latest").
const conformanceVersion = "v0.0.0-20260831232431-97274622c111"

// TestConformance builds the OCI distribution-spec conformance suite from the Go module proxy and
// runs every test of it, with all optional APIs switched on, against a real
// `berth registry serve` process on a free loopback port. It fails on any failed test.
//
// It downloads the suite, so it runs only when asked: BERTH_CONFORMANCE=1 (see conformance.sh).
func TestConformance(t *testing.T) {
	if os.Getenv("BERTH_CONFORMANCE") != "1" {
		t.Skip("set BERTH_CONFORMANCE=1 to run the OCI conformance suite")
	}
	version := conformanceVersion
	if v := os.Getenv("BERTH_CONFORMANCE_VERSION"); v != "" {
		version = v
	}
	suite := buildConformance(t)
	t.Run("open", func(t *testing.T) {
		p := startServe(t, "--storage", t.TempDir(), "-q")
		runConformance(t, suite, p, version, 0)
	})
	// The same suite through Docker token auth, logged in; anonymous mounts are refused by design
	// when access control is on, which the suite reports as two skips.
	t.Run("token-auth", func(t *testing.T) {
		hp := writeHtpasswd(t, map[string]string{"oci": "conformance"})
		p := startServe(t, "--storage", t.TempDir(), "-q", "--htpasswd", hp, "--token-auth")
		runConformance(t, suite, p, version, 2, "OCI_USERNAME=oci", "OCI_PASSWORD=conformance")
	})
}

var (
	confOnce  sync.Once
	confSuite string
	confErr   error
)

// buildConformance builds the suite once per test binary from the Go module proxy.
func buildConformance(t *testing.T) string {
	t.Helper()
	confOnce.Do(func() {
		version := conformanceVersion
		if v := os.Getenv("BERTH_CONFORMANCE_VERSION"); v != "" {
			version = v
		}
		bin, err := os.MkdirTemp("", "berth-oci-conformance-")
		if err != nil {
			confErr = err
			return
		}
		cleanupDirs = append(cleanupDirs, bin)
		install := exec.Command("go", "install", "github.com/opencontainers/distribution-spec/conformance@"+version)
		install.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
		install.Dir = bin // outside berth's module: the suite's own go.mod decides its dependencies
		if out, err := install.CombinedOutput(); err != nil {
			confErr = fmt.Errorf("building the conformance suite: %v\n%s", err, out)
			return
		}
		confSuite = filepath.Join(bin, "conformance")
	})
	if confErr != nil {
		t.Fatal(confErr)
	}
	return confSuite
}

func runConformance(t *testing.T, suite string, p *serveProc, version string, maxSkip int, env ...string) {
	runConformanceAt(t, suite, p.addr, p.logText, version, maxSkip, env...)
}

// runConformanceAt runs the suite against the registry at addr; logs returns its log.
func runConformanceAt(t *testing.T, suite, addr string, logs func() string, version string, maxSkip int, env ...string) {
	results := t.TempDir()
	if dir := os.Getenv("BERTH_CONFORMANCE_RESULTS"); dir != "" {
		results = filepath.Join(dir, filepath.Base(t.Name()))
	}
	cmd := exec.Command(suite)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"OCI_REGISTRY="+addr,
		"OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_RESULTS_DIR="+results,
		"OCI_VERSION=1.1",
		// Optional APIs berth implements: test them too.
		"OCI_API_BLOBS_DIGEST_HEADER=true",
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_MANIFESTS_DIGEST_HEADER=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true",
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(Disabled|Skip|Pass|FAIL|Error|Total)\.+:\s+(\d+)$`).FindAllStringSubmatch(string(out), -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	t.Logf("conformance %s: pass %d, fail %d, error %d, skip %d, disabled %d (results in %s)",
		version, counts["Pass"], counts["FAIL"], counts["Error"], counts["Skip"], counts["Disabled"], results)
	if err != nil || counts["FAIL"] != 0 || counts["Error"] != 0 || counts["Pass"] == 0 || counts["Skip"] > maxSkip {
		t.Fatalf("conformance suite failed (%v):\n%s\nserver log:\n%s", err, out, logs())
	}
	if !regexp.MustCompile(`OCI Conformance Result: Pass`).Match(out) {
		t.Fatalf("no passing result line:\n%s", out)
	}
}
