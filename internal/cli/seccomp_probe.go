package cli

import (
	"time"

	"github.com/spf13/cobra"
)

func init() { register("seccomp-probe", newSeccompProbeCommand) }

// newSeccompProbeCommand is the hidden `berth seccomp-probe`: the program of the probe container
// in which crun compiles a seccomp profile once, for berth to read the filter back and cache it
// (runtime.SeccompCache). It only waits to be killed.
func newSeccompProbeCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:    "seccomp-probe",
		Hidden: true,
		Args:   noArgs,
		RunE: func(*cobra.Command, []string) error {
			time.Sleep(time.Minute)
			return nil
		},
	}
}
