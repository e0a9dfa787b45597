package build

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/berth-engine/berth/container"
)

// ProgressClassic is the classic builder's output (what dockerd's POST /build streams without
// BuildKit): "Step N/M : INSTRUCTION", the commands' output, " ---> Using cache" for a step
// found in the cache. berth's internal steps (loading the context and base images) are not shown.
const ProgressClassic = "classic"

// classicDisplay writes the classic builder's lines; each Write is one line, so that a caller
// wrapping them in the Engine API's {"stream": ...} messages sends one message per line.
type classicDisplay struct {
	mu sync.Mutex
	w  io.Writer
	// shown are the vertices that are steps of the Dockerfile (the others stay quiet).
	shown map[*vertex]bool
}

var classicStep = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\[(?:\S+ )?\s*(\d+)/(\d+)\] (.*)$`) })

func newClassicDisplay(w io.Writer) *classicDisplay {
	return &classicDisplay{w: w, shown: map[*vertex]bool{}}
}

func (c *classicDisplay) write(v *vertex, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != nil && !c.shown[v] {
		return
	}
	io.WriteString(c.w, s)
}

// start shows the output of a vertex that is a step of the Dockerfile; its "Step N/M" line
// came before, from instruction.
func (c *classicDisplay) start(v *vertex, name string) {
	if !classicStep().MatchString(name) {
		return
	}
	c.mu.Lock()
	c.shown[v] = true
	c.mu.Unlock()
}

// instruction is the classic builder's "Step N/M : INSTRUCTION" for every instruction of the
// Dockerfile, metadata ones too, numbered across stages and showing the instruction as
// written; dockerd streams the line and its newline as two messages.
func (c *classicDisplay) instruction(n, total int, text string) {
	c.write(nil, fmt.Sprintf("Step %d/%d : %s", n, total, text))
	c.write(nil, "\n")
}

// baseImage is " ---> ID" after a FROM of an image (the image's short ID; nothing after the
// arrow for scratch), as the classic builder shows it.
func (c *classicDisplay) baseImage(id string) { c.write(nil, " ---> "+shortImageID(id)+"\n") }

// runningIn is " ---> Running in ID" for the container of a RUN step: berth's step container
// is "build-" and 32 hex digits (the runtime's container and the builds/ directory), shown by
// the first 12 of them as Docker shows a container's ID.
func (c *classicDisplay) runningIn(v *vertex, id string) {
	c.write(v, " ---> Running in "+shortStepID(id)+"\n")
}

// removedContainer is the classic builder's "Removing intermediate container ID" once the
// RUN step's container is gone.
func (c *classicDisplay) removedContainer(v *vertex, id string) {
	c.write(v, "Removing intermediate container "+shortStepID(id)+"\n")
}

func shortStepID(id string) string {
	id = strings.TrimPrefix(id, "build-")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// metaCached is a metadata instruction (ENV, LABEL, CMD...) found in the cache.
func (c *classicDisplay) metaCached() { c.write(nil, " ---> Using cache\n") }

func (c *classicDisplay) status(v *vertex, text string) {}

func (c *classicDisplay) message(v *vertex, text string) { c.write(nil, text+"\n") }

func (c *classicDisplay) output(v *vertex, dt time.Duration, line string) {
	c.write(v, strings.TrimSuffix(line, "\n")+"\n")
}

// errOutput is a line of a command's stderr, in red as the classic builder shows it.
func (c *classicDisplay) errOutput(v *vertex, dt time.Duration, line string) {
	c.write(v, "\x1b[91m"+strings.TrimSuffix(line, "\n")+"\n\x1b[0m")
}

func (c *classicDisplay) done(v *vertex) {}

func (c *classicDisplay) cached(v *vertex) { c.write(v, " ---> Using cache\n") }

func (c *classicDisplay) fail(v *vertex, err error) {}

func (c *classicDisplay) close() {}

// ClassicError is a failed build's error as the classic builder reports it in the Engine API's
// errorDetail: a RUN whose command failed is "The command '/bin/sh -c exit 1' returned a
// non-zero code: 1" with its code (the command as the step ran it, joined by spaces); any other
// error is its message, with no code (0).
func ClassicError(err error) (msg string, code int) {
	var se *container.StepError
	if errors.As(err, &se) {
		return fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(se.Args, " "), se.Code), se.Code
	}
	return err.Error(), 0
}
