// Package compose runs Compose applications on berth's engine: a Compose project (compose-go's
// types, loaded with Docker Compose's rules for files, .env, profiles and interpolation) is turned
// into a Plan of plain values (networks, volumes and containers with their create options and
// Docker Compose's labels and config hashes), and an Engine converges the store towards a plan
// through the container, network, build and distribution packages. Nothing here prints: callers
// receive Events and values, so the command line and the Engine API show the same work.
//
// Everything is named and labelled as Docker Compose v2 does (containers project-service-N,
// networks project_default, volumes project_name, com.docker.compose.* labels), so a project
// started by berth is found by tools that look for Docker Compose's labels, and the reverse.
package compose

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Version is the Docker Compose release whose behaviour berth's compose follows; it is what the
// com.docker.compose.version label says.
const Version = "2.40.3"

// The labels Docker Compose puts on what it makes.
const (
	ProjectLabel         = "com.docker.compose.project"
	ServiceLabel         = "com.docker.compose.service"
	ConfigHashLabel      = "com.docker.compose.config-hash"
	ContainerNumberLabel = "com.docker.compose.container-number"
	VolumeLabel          = "com.docker.compose.volume"
	NetworkLabel         = "com.docker.compose.network"
	WorkingDirLabel      = "com.docker.compose.project.working_dir"
	ConfigFilesLabel     = "com.docker.compose.project.config_files"
	EnvironmentFileLabel = "com.docker.compose.project.environment_file"
	OneoffLabel          = "com.docker.compose.oneoff"
	SlugLabel            = "com.docker.compose.slug"
	ImageDigestLabel     = "com.docker.compose.image"
	DependenciesLabel    = "com.docker.compose.depends_on"
	VersionLabel         = "com.docker.compose.version"
	ReplaceLabel         = "com.docker.compose.replace"
)

// LoadOptions are the global options of `compose` that choose and read the project.
type LoadOptions struct {
	// ConfigFiles are -f's values in order; empty: COMPOSE_FILE, then compose.yaml (or its other
	// names) in the project directory or a parent, with its override file.
	ConfigFiles []string
	ProjectName string // -p; empty: COMPOSE_PROJECT_NAME, the file's name:, the directory's name
	ProjectDir  string // --project-directory; empty: the first file's directory
	Profiles    []string
	EnvFiles    []string // --env-file; empty: the project directory's .env
	// Env is the process environment (KEY=VALUE) that interpolation and COMPOSE_* read; it wins
	// over .env files.
	Env []string
	// Services, when set, are the services a command names: they are enabled even when their
	// profile is not, and the project keeps only them and what they depend on.
	Services []string
	// All keeps every network and volume, even those no selected service uses (config, down).
	All bool
	// IgnoreDependencies keeps only the named Services, not what they depend on (pull and push
	// without --include-deps).
	IgnoreDependencies bool
	// config's --no-interpolate, --no-normalize, --no-path-resolution and --no-consistency: the
	// loader steps to leave out.
	NoInterpolate, NoNormalize, NoResolvePaths, NoConsistency bool
}

// Load reads a Compose project as Docker Compose does and labels its services with Compose's
// labels (project, service, version, working dir, config files, oneoff=False).
func Load(ctx context.Context, o LoadOptions) (*types.Project, error) {
	opts, err := projectOptions(o)
	if err != nil {
		return nil, err
	}
	if len(opts.ConfigPaths) == 0 {
		return nil, errors.New("no configuration file provided: not found")
	}
	p, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, errors.New("project name can't be empty. Use `--project-name` to set a valid name")
	}
	if p, err = p.WithServicesEnabled(o.Services...); err != nil {
		return nil, err
	}
	for name, s := range p.Services {
		s.CustomLabels = map[string]string{
			ProjectLabel:     p.Name,
			ServiceLabel:     name,
			VersionLabel:     Version,
			WorkingDirLabel:  p.WorkingDir,
			ConfigFilesLabel: strings.Join(p.ComposeFiles, ","),
			OneoffLabel:      "False",
		}
		if len(o.EnvFiles) > 0 {
			s.CustomLabels[EnvironmentFileLabel] = strings.Join(o.EnvFiles, ",")
		}
		p.Services[name] = s
	}
	var deps []types.DependencyOption
	if o.IgnoreDependencies {
		deps = append(deps, types.IgnoreDependencies)
	}
	if p, err = p.WithSelectedServices(o.Services, deps...); err != nil {
		return nil, err
	}
	if !o.All {
		p = p.WithoutUnnecessaryResources()
	}
	return p, nil
}

// ProjectName is the name a command without a compose file works on (ps, down, logs of a
// project whose files are gone): -p, COMPOSE_PROJECT_NAME, else the loaded project's.
func ProjectName(ctx context.Context, o LoadOptions) (string, error) {
	if o.ProjectName != "" {
		return o.ProjectName, nil
	}
	for _, kv := range o.Env {
		if v, ok := strings.CutPrefix(kv, "COMPOSE_PROJECT_NAME="); ok && v != "" {
			return v, nil
		}
	}
	p, err := Load(ctx, o)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// projectOptions are compose-go's options in Docker Compose's order: the process environment
// first (it always wins), .env files (WithEnvFiles before WithDotEnv, or .env is not read),
// COMPOSE_FILE, the default file names, then .env again from the project directory, profiles
// (COMPOSE_PROFILES) and the name.
func projectOptions(o LoadOptions) (*cli.ProjectOptions, error) {
	env := o.Env
	if !hasKey(env, "PWD") {
		if wd, err := os.Getwd(); err == nil {
			env = append(append([]string(nil), env...), "PWD="+wd)
		}
	}
	var skip []cli.ProjectOptionsFn
	if o.NoInterpolate {
		skip = append(skip, cli.WithInterpolation(false))
	}
	if o.NoNormalize {
		skip = append(skip, cli.WithNormalization(false))
	}
	if o.NoResolvePaths {
		skip = append(skip, cli.WithResolvedPaths(false))
	}
	if o.NoConsistency {
		skip = append(skip, cli.WithConsistency(false))
	}
	return cli.NewProjectOptions(o.ConfigFiles, append([]cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(o.ProjectDir),
		cli.WithEnv(env),
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(o.EnvFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithName(o.ProjectName)}, skip...)...,
	)
}

// LoadModel is the project as compose-go's raw model, a map (config --no-interpolate and
// --variables work on it, as Compose's do).
func LoadModel(ctx context.Context, o LoadOptions) (map[string]any, error) {
	opts, err := projectOptions(o)
	if err != nil {
		return nil, err
	}
	if len(opts.ConfigPaths) == 0 {
		return nil, errors.New("no configuration file provided: not found")
	}
	return opts.LoadModel(ctx)
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}
