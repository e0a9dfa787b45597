package image

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// changeCommands are the Dockerfile instructions `import -c` and `commit -c` accept (Docker's list,
// HEALTHCHECK included, plus STOPSIGNAL which Docker's documentation promises).
var changeCommands = map[string]bool{
	"cmd": true, "entrypoint": true, "env": true, "expose": true, "label": true, "onbuild": true,
	"user": true, "volume": true, "workdir": true, "stopsignal": true, "healthcheck": true,
}

// ApplyChanges applies Dockerfile instructions (`--change`) to a run config, as `docker import -c`
// and `docker commit -c` do: variables expand against the config's environment, and ENTRYPOINT
// clears an inherited CMD unless a CMD is among the changes.
func ApplyChanges(cfg *ContainerConfig, changes []string) error {
	cmdSet := false
	lex := shell.NewLex(parser.DefaultEscapeToken)
	for _, change := range changes {
		res, err := parser.Parse(strings.NewReader(change))
		if err != nil {
			return err // the parser's message is Docker's ("ENV must have two arguments")
		}
		for _, node := range res.AST.Children {
			name := strings.ToLower(node.Value)
			if !changeCommands[name] {
				return fmt.Errorf("%s is not a valid change command", name)
			}
			cmd, err := instructions.ParseInstruction(node)
			if err != nil {
				return err // BuildKit's message is Docker's ("ENV must have two arguments")
			}
			if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
				env := shell.EnvsFromSlice(cfg.Env)
				err := ex.Expand(func(word string) (string, error) {
					out, _, err := lex.ProcessWord(word, env)
					return out, err
				})
				if err != nil {
					return fmt.Errorf("invalid change %q: %w", change, err)
				}
			}
			if err := applyChange(cfg, cmd, &cmdSet); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyChange(cfg *ContainerConfig, cmd any, cmdSet *bool) error {
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = commandLine(cfg, c.ShellDependantCmdLine)
		*cmdSet = true
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = commandLine(cfg, c.ShellDependantCmdLine)
		if !*cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = SetEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.ExposeCommand:
		ports, err := NormalizePorts(c.Ports)
		if err != nil {
			return err
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			v = strings.TrimSpace(v)
			if v == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = ResolveWorkdir(cfg.WorkingDir, c.Path)
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &HealthConfig{Test: append([]string(nil), h.Test...), Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	default:
		return fmt.Errorf("%T is not a valid change command", cmd)
	}
	return nil
}

// commandLine turns CMD/ENTRYPOINT into argv: the exec form as is, the shell form behind the
// image's SHELL (default /bin/sh -c).
func commandLine(cfg *ContainerConfig, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string{}, c.CmdLine...)
	}
	sh := cfg.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	out := append([]string{}, sh...)
	if len(c.CmdLine) > 0 {
		out = append(out, strings.Join(c.CmdLine, " "))
	}
	return out
}

// SetEnv sets KEY=value in an environment list, replacing an existing KEY in place.
func SetEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			out := append([]string{}, env...)
			out[i] = key + "=" + value
			return out
		}
	}
	return append(append([]string{}, env...), key+"="+value)
}

// ResolveWorkdir joins a WORKDIR with the current one the way Docker does: relative paths are
// relative to the previous working directory, and the result is clean and absolute.
func ResolveWorkdir(current, dir string) string {
	if !path.IsAbs(dir) {
		if current == "" {
			current = "/"
		}
		dir = path.Join(current, dir)
	}
	return path.Clean(dir)
}

// NormalizePorts turns EXPOSE arguments ("80", "443/udp", "8000-8002/tcp") into Docker's
// "PORT/PROTO" keys, one per port.
func NormalizePorts(specs []string) ([]string, error) {
	var out []string
	for _, spec := range specs {
		portPart, proto, _ := strings.Cut(spec, "/")
		if proto == "" {
			proto = "tcp"
		}
		proto = strings.ToLower(proto)
		switch proto {
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("Invalid proto: %s", proto)
		}
		lo, hi, isRange := strings.Cut(portPart, "-")
		start, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("Invalid containerPort: %s", portPart)
		}
		end := start
		if isRange {
			if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
				return nil, fmt.Errorf("Invalid containerPort: %s", portPart)
			}
		}
		for p := start; p <= end; p++ {
			out = append(out, fmt.Sprintf("%d/%s", p, proto))
		}
	}
	return out, nil
}
