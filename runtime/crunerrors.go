package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// crun words the failures of a container's command in its own way; Docker's users (and berth's
// tests, recorded from Docker) read runc's. DockerMessage turns crun's wording of the commonest
// ones into runc's, which Docker prints and classifies (127 not found, 126 not runnable):
//
//	executable file `x` not found in $PATH: No such file or directory
//	  -> unable to start container process: exec: "x": executable file not found in $PATH
//	executable file `/x` not found in $PATH: No such file or directory
//	  -> unable to start container process: exec: "/x": stat /x: no such file or directory
//	open executable: Permission denied   (a file without x, or a directory: Operation not permitted)
//	  -> unable to start container process: exec: "ARG0": permission denied
//	exec container process `x`: Exec format error
//	  -> unable to start container process: exec: "x": exec format error
//	exec: No such file or directory   (the kernel's error of the exec itself)
//	  -> unable to start container process: exec: "ARG0": no such file or directory
//
// arg0 is the command as the process's spec names it. Other messages are returned as they are.
func DockerMessage(msg, arg0 string) string {
	const prefix = "unable to start container process: "
	if m := crunNotFound().FindStringSubmatch(msg); m != nil {
		if strings.Contains(m[1], "/") {
			return fmt.Sprintf("%sexec: %q: stat %s: no such file or directory", prefix, m[1], m[1])
		}
		return fmt.Sprintf("%sexec: %q: executable file not found in $PATH", prefix, m[1])
	}
	if crunDenied().MatchString(msg) {
		return fmt.Sprintf("%sexec: %q: permission denied", prefix, arg0)
	}
	if m := crunFormat().FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%sexec: %q: exec format error", prefix, m[1])
	}
	if m := crunExec().FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%sexec: %q: %s", prefix, arg0, strings.ToLower(m[1]))
	}
	return msg
}

// Compiled on first use: every berth process links this package, few meet a crun failure.
var (
	crunNotFound = lazyRegexp("^executable file `(.*)` not found in \\$PATH: No such file or directory$")
	crunDenied   = lazyRegexp(`^open executable: (Permission denied|Operation not permitted)$`)
	crunFormat   = lazyRegexp("^exec container process `(.*)`: Exec format error$")
	crunExec     = lazyRegexp(`^exec: ([A-Z][a-z ]+)$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// IsCrunFailure reports whether a line is one of crun's own failures that DockerMessage rewords
// (crun prints it on the process's stderr as well as in its log).
func IsCrunFailure(line string) bool {
	line = strings.TrimSuffix(line, "\n")
	return crunNotFound().MatchString(line) || crunDenied().MatchString(line) || crunFormat().MatchString(line) ||
		crunExec().MatchString(line)
}

// IsCrun reports whether the runtime is crun.
func (r *Runtime) IsCrun() bool { return filepath.Base(r.Binary) == "crun" }

// dockerMessage is DockerMessage for crun, with the command read from the process's spec
// (bundle/config.json, or an exec's process file); runc's messages are Docker's already.
func (r *Runtime) dockerMessage(msg, specFile string, process bool) string {
	if !r.IsCrun() {
		return msg
	}
	var arg0 string
	if b, err := os.ReadFile(specFile); err == nil {
		var p struct {
			Args    []string `json:"args"`
			Process struct {
				Args []string `json:"args"`
			} `json:"process"`
		}
		if json.Unmarshal(b, &p) == nil {
			args := p.Process.Args
			if process {
				args = p.Args
			}
			if len(args) > 0 {
				arg0 = args[0]
			}
		}
	}
	return DockerMessage(msg, arg0)
}
