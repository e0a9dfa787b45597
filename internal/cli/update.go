package cli

import (
	"errors"
	"fmt"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/container"
)

func init() {
	registerContainer("update", "update", newUpdateCommand)
}

// parseMemorySwap reads --memory-swap: a size, or -1 for unlimited swap.
func parseMemorySwap(v string) (int64, error) {
	if v == "-1" {
		return -1, nil
	}
	n, err := units.RAMInBytes(v)
	if err != nil {
		return 0, fmt.Errorf("invalid argument %q for \"--memory-swap\" flag: %v", v, err)
	}
	return n, nil
}

func newUpdateCommand(g *Globals, use string) *cobra.Command {
	var memory, memorySwap, restart string
	var cpus float64
	var pids, cpuShares int64
	var cpusetCpus, cpusetMems string
	c := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o container.UpdateOptions
			fl := cmd.Flags()
			if fl.Changed("memory") {
				n, err := units.RAMInBytes(memory)
				if err != nil {
					return fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", memory, err)
				}
				o.Memory = &n
			}
			if fl.Changed("memory-swap") {
				n, err := parseMemorySwap(memorySwap)
				if err != nil {
					return err
				}
				o.MemorySwap = &n
			}
			if fl.Changed("cpus") {
				n := int64(cpus * 1e9)
				o.NanoCPUs = &n
			}
			if fl.Changed("pids-limit") {
				o.PidsLimit = &pids
			}
			if fl.Changed("cpu-shares") {
				o.CPUShares = &cpuShares
			}
			if fl.Changed("cpuset-cpus") {
				o.CpusetCpus = &cpusetCpus
			}
			if fl.Changed("cpuset-mems") {
				o.CpusetMems = &cpusetMems
			}
			if fl.Changed("restart") {
				p, err := container.ParseRestartPolicy(restart)
				if err != nil {
					return err
				}
				o.RestartPolicy = &p
			}
			if o.Empty() {
				return &StatusError{Code: 1, Usage: true, Err: errors.New("you must provide one or more flags when using this command")}
			}
			m, closeFn, err := openManager(g)
			if err != nil {
				return err
			}
			defer closeFn()
			return eachArg(args, func(ref string) error {
				if err := m.Update(ref, o); err != nil {
					return err
				}
				fmt.Fprintln(g.Stdout, ref)
				return nil
			})
		},
	}
	fl := c.Flags()
	fl.VarP(sizeString{p: &memory}, "memory", "m", "Memory limit")
	fl.Var(sizeString{p: &memorySwap, allowMinusOne: true}, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fl.Var(decimalCPUs{&cpus}, "cpus", "Number of CPUs")
	fl.Int64Var(&pids, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fl.Int64VarP(&cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.StringVar(&cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fl.StringVar(&cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	fl.StringVar(&restart, "restart", "", "Restart policy to apply when a container exits")
	return c
}
