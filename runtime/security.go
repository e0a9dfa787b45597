package runtime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SeccompUnconfined is the --security-opt seccomp= value that runs a container without a filter.
const SeccompUnconfined = "unconfined"

// SecurityOptions is a container's --security-opt, as Docker's daemon reads them.
type SecurityOptions struct {
	// Seccomp is "" for Docker's default profile, SeccompUnconfined for none, or a profile's JSON
	// (the client reads a profile file and sends its text, as Docker's CLI does).
	Seccomp         string
	NoNewPrivileges bool
	// AppArmor is the profile asked for; berth applies none, as Docker on a kernel without
	// AppArmor (the only kind berth knows) accepts it and runs without.
	AppArmor string
	// Label holds the label= options (SELinux); accepted and unused for the same reason.
	Label []string
}

// ParseSecurityOpts reads --security-opt values with Docker's grammar: KEY=VALUE or the old
// KEY:VALUE for seccomp, apparmor, label and no-new-privileges (a boolean; alone it means true).
// A value it cannot read fails with Docker's "invalid --security-opt". (systempaths=unconfined is
// the client's: Docker's CLI turns it into empty masked and read-only path lists.)
func ParseSecurityOpts(opts []string) (SecurityOptions, error) {
	var so SecurityOptions
	for _, opt := range opts {
		if opt == "no-new-privileges" {
			so.NoNewPrivileges = true
			continue
		}
		if opt == "disable" { // Docker's daemon still takes the bare label option
			so.Label = append(so.Label, opt)
			continue
		}
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			k, v, ok = strings.Cut(opt, ":")
		}
		if !ok {
			return so, fmt.Errorf("invalid --security-opt 1: %q", opt)
		}
		switch k {
		case "label":
			so.Label = append(so.Label, v)
		case "apparmor":
			so.AppArmor = v
		case "seccomp":
			so.Seccomp = v
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return so, fmt.Errorf("invalid --security-opt 2: %q", opt)
			}
			so.NoNewPrivileges = b
		default:
			return so, fmt.Errorf("invalid --security-opt 2: %q", opt)
		}
	}
	return so, nil
}

// SeccompSupported reports whether the kernel filters system calls (CONFIG_SECCOMP_FILTER), as
// Docker's daemon checks before it applies its default profile.
func SeccompSupported() bool {
	// PR_GET_SECCOMP answers EINVAL on a kernel without seccomp.
	_, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	return err == nil
}

// SeccompFilter is the seccomp filter of a container whose processes have the bounding set caps:
// none for a privileged container or seccomp=unconfined, the given profile, or Docker's default
// profile, whose rules depend on the capabilities (CAP_SYS_ADMIN lifts the rules on mount,
// unshare, setns..., CAP_NET_ADMIN none, and so on).
func SeccompFilter(so SecurityOptions, privileged bool, caps []string) (*specs.LinuxSeccomp, error) {
	if privileged || so.Seccomp == SeccompUnconfined {
		return nil, nil
	}
	if !SeccompSupported() {
		// Docker's daemon on such a kernel: no default profile, and no custom one either.
		if so.Seccomp != "" {
			return nil, errors.New("seccomp is not enabled in your kernel, cannot run a custom seccomp profile")
		}
		return nil, nil
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	if so.Seccomp != "" {
		return seccomp.LoadProfile(so.Seccomp, spec)
	}
	return defaultSeccomp(caps)
}

// defaultSeccomp is Docker's default profile for a capability set. Building it takes some 30 µs
// (BenchmarkDefaultSeccomp), so it is not cached.
func defaultSeccomp(caps []string) (*specs.LinuxSeccomp, error) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	return seccomp.GetDefaultProfile(spec)
}
