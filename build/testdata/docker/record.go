//go:build ignore

// record.go records the golden files TestSameAsDocker compares berth's builds with: it builds
// every case of this directory (or those named) with Docker's BuildKit and writes
// <case>/docker.json, the projection of the image that build/docker_compat_test.go defines.
//
// It needs the reference Docker 20.10 (/work/shared/tools/docker-reference.sh starts it) and its
// client; run it from anywhere inside the repository:
//
//	go run ./build/testdata/docker/record.go [-docker /usr/bin/docker] [-classic] [case ...]
//
// -classic builds with the classic builder (DOCKER_BUILDKIT=0) instead and prints how its
// projection differs from the golden file (BuildKit's), writing no golden file: a note on what
// berth would differ in if it followed the classic builder.
//
// Both sides start from the same bytes: the test package writes base.tar (baseTar, what
// importBase imports) and each case's context (compatContext) into a work directory; this
// program imports base.tar into Docker as base:1, builds each case from that context with
// --no-cache and the case's build args and target (case.json), saves the image, and has the test
// package project the saved tars into docker.json. The projection and its normalisations live
// in one place, docker_compat_test.go.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	docker := flag.String("docker", "/usr/bin/docker", "the Docker 20.10 client (a newer one on PATH may lack BuildKit without buildx)")
	classic := flag.Bool("classic", false, "build with the classic builder and print how it differs from the golden files")
	flag.Parse()
	if err := record(*docker, *classic, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "record:", err)
		os.Exit(1)
	}
}

type caseFile struct {
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	Target    string            `json:"target,omitempty"`
}

func record(docker string, classic bool, only []string) error {
	buildDir, err := findBuildPackage()
	if err != nil {
		return err
	}
	casesDir := filepath.Join(buildDir, "testdata", "docker")
	version, err := output(exec.Command(docker, "version", "--format", "{{.Server.Version}}"))
	if err != nil {
		return fmt.Errorf("docker is not reachable (start it with docker-reference.sh): %w", err)
	}
	work, err := os.MkdirTemp("", "berth-docker-record-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	if err := goTest(buildDir, "^TestDockerRecordPrepare$", work, "", ""); err != nil {
		return err
	}
	if err := run(exec.Command(docker, "import", filepath.Join(work, "base.tar"), "base:1")); err != nil {
		return err
	}

	cases := only
	if len(cases) == 0 {
		dfs, _ := filepath.Glob(filepath.Join(casesDir, "*", "Dockerfile"))
		for _, df := range dfs {
			cases = append(cases, filepath.Base(filepath.Dir(df)))
		}
	}
	for _, name := range cases {
		dir := filepath.Join(casesDir, name)
		var c caseFile
		if b, err := os.ReadFile(filepath.Join(dir, "case.json")); err == nil {
			if err := json.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("%s/case.json: %w", name, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		iid := filepath.Join(work, name+".iid")
		args := []string{"build", "--no-cache", "--progress=plain", "--iidfile", iid, "-f", filepath.Join(dir, "Dockerfile")}
		for k, v := range c.BuildArgs {
			args = append(args, "--build-arg", k+"="+v)
		}
		if c.Target != "" {
			args = append(args, "--target", c.Target)
		}
		args = append(args, filepath.Join(work, name, "ctx"))
		cmd := exec.Command(docker, args...)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
		if classic {
			cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			if classic {
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				fmt.Printf("%s: the classic builder fails: %s\n", name, lines[len(lines)-1])
				continue
			}
			return fmt.Errorf("%s: docker build: %v\n%s", name, err, out)
		}
		id, err := os.ReadFile(iid)
		if err != nil {
			return err
		}
		if err := run(exec.Command(docker, "save", "-o", filepath.Join(work, name+".tar"), string(id))); err != nil {
			return err
		}
		exec.Command(docker, "rmi", string(id)).Run()
		fmt.Printf("%s: built %s\n", name, id)
	}
	if !classic {
		return goTest(buildDir, "^TestDockerRecordProject$", work, "Docker "+version+" BuildKit (DOCKER_BUILDKIT=1)", "")
	}
	out := filepath.Join(work, "classic")
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	if err := goTest(buildDir, "^TestDockerRecordProject$", work, "Docker "+version+" classic builder (DOCKER_BUILDKIT=0)", out); err != nil {
		return err
	}
	for _, name := range cases {
		if _, err := os.Stat(filepath.Join(out, name+".json")); err != nil {
			continue
		}
		cmd := exec.Command("diff", "-u", "--label", name+"/docker.json (BuildKit)", "--label", name+" (classic builder)",
			filepath.Join(casesDir, name, "docker.json"), filepath.Join(out, name+".json"))
		cmd.Stdout = os.Stdout
		cmd.Run() // diff exits 1 when the files differ
	}
	return nil
}

// findBuildPackage is the build package's directory: the repository root (where go.mod is,
// found upwards from here) joined with "build".
func findBuildPackage() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "build"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the berth repository (no go.mod above here)")
		}
		dir = parent
	}
}

func goTest(buildDir, test, work, recordedWith, out string) error {
	cmd := exec.Command("go", "test", "-count=1", "-v", "-run", test, ".")
	cmd.Dir = buildDir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "BERTH_DOCKER_RECORD="+work,
		"BERTH_DOCKER_RECORDED_WITH="+recordedWith, "BERTH_DOCKER_RECORD_OUT="+out)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func run(cmd *exec.Cmd) error {
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

func output(cmd *exec.Cmd) (string, error) {
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}
