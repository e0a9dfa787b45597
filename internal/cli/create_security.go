package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/berth-engine/berth/container"
	"github.com/berth-engine/berth/runtime"
	"github.com/spf13/pflag"
)

// securityFlags are create/run's flags about confinement: --security-opt and the namespace,
// device, sysctl and limit flags.
type securityFlags struct {
	securityOpt []string
}

func (f *securityFlags) bind(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.securityOpt, "security-opt", nil, "Security Options")
}

// apply puts the flags into the host config, doing what Docker's CLI does on the client side.
func (f *securityFlags) apply(h *container.HostConfig) error {
	opts, err := securityOpts(f.securityOpt)
	if err != nil {
		return err
	}
	h.SecurityOpt = nil
	for _, o := range opts {
		if o == "systempaths=unconfined" {
			// Docker's CLI keeps it to itself: nothing masked, nothing read-only.
			h.MaskedPaths, h.ReadonlyPaths = []string{}, []string{}
			continue
		}
		h.SecurityOpt = append(h.SecurityOpt, o)
	}
	_, err = runtime.ParseSecurityOpts(h.SecurityOpt)
	return err
}

// securityOpts checks --security-opt's shape as Docker's CLI does and replaces a seccomp profile
// file by its compacted JSON text (the engine, like Docker's daemon, never reads the client's
// files).
func securityOpts(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, opt := range in {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			if k, v, ok = strings.Cut(opt, ":"); !ok {
				return nil, fmt.Errorf("Invalid --security-opt: %q", opt)
			}
		}
		if k == "seccomp" && v != runtime.SeccompUnconfined {
			b, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("opening seccomp profile (%s) failed: %v", v, err)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, b); err != nil {
				return nil, fmt.Errorf("compacting json for seccomp profile (%s) failed: %v", v, err)
			}
			opt = "seccomp=" + c.String()
		}
		out = append(out, opt)
	}
	return out, nil
}
