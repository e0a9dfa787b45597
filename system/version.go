// Package system builds the documents that describe the engine as a whole: the Server part of
// `version` (GET /version) and `system df` (GET /system/df), and whether a `berth serve` runs
// over a root (`info`, whose document is container.Manager.Info). The command line and the
// Engine API both call it, so `berth version` and a Docker client talking to `berth serve` read
// the same values.
package system

import (
	"runtime"
	"runtime/debug"
	"time"

	berthruntime "github.com/berth-engine/berth/runtime"
	"golang.org/x/sys/unix"
)

// Platform is Docker's {"Name": ...} of the engine's product name.
type Platform struct{ Name string }

// Component is one part of the engine: "Engine" itself, then each OCI runtime.
type Component struct {
	Name    string
	Version string
	Details map[string]string `json:",omitempty"`
}

// ServerVersion is Docker's types.Version: `version`'s Server section and GET /version.
type ServerVersion struct {
	Platform      Platform
	Components    []Component
	Version       string
	ApiVersion    string //nolint:revive // Docker's key
	MinAPIVersion string
	GitCommit     string
	GoVersion     string
	Os            string
	Arch          string
	KernelVersion string `json:",omitempty"`
	Experimental  bool   `json:",omitempty"`
	BuildTime     string `json:",omitempty"`
}

// VersionOptions name what the caller serves: berth's version and the Engine API versions.
type VersionOptions struct {
	Version       string
	APIVersion    string
	MinAPIVersion string
}

// Version describes the engine (this binary) and the OCI runtimes on PATH.
func Version(o VersionOptions) (ServerVersion, error) {
	commit, built := BuildVCS()
	builtANSIC := ""
	if !built.IsZero() {
		builtANSIC = built.Format(time.ANSIC)
	}
	kernel := KernelVersion()
	sv := ServerVersion{Version: o.Version, ApiVersion: o.APIVersion, MinAPIVersion: o.MinAPIVersion, GitCommit: commit,
		GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH, KernelVersion: kernel}
	if !built.IsZero() {
		sv.BuildTime = built.Format("2006-01-02T15:04:05.000000000-07:00")
	}
	sv.Components = append(sv.Components, Component{Name: "Engine", Version: o.Version, Details: map[string]string{
		"ApiVersion": o.APIVersion, "MinAPIVersion": o.MinAPIVersion, "GitCommit": commit, "GoVersion": sv.GoVersion,
		"Os": sv.Os, "Arch": sv.Arch, "KernelVersion": kernel, "BuildTime": builtANSIC, "Experimental": "false",
	}})
	rts, err := berthruntime.InstalledVersions("runc", "crun")
	if err != nil {
		return ServerVersion{}, err
	}
	for _, rt := range rts {
		sv.Components = append(sv.Components, Component{Name: rt.Name, Version: rt.Version,
			Details: map[string]string{"GitCommit": rt.Commit}})
	}
	return sv, nil
}

// BuildVCS is the commit (Docker's 7-character short form) and commit time the Go toolchain
// stamped into the binary; both are zero when it was built outside a git checkout.
func BuildVCS() (commit string, when time.Time) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", time.Time{}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 7 {
				commit = commit[:7]
			}
		case "vcs.time":
			when, _ = time.Parse(time.RFC3339, s.Value)
		}
	}
	return commit, when
}

// KernelVersion is uname's release.
func KernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
