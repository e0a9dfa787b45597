package build

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// ProgressClassic is the classic builder's output (what dockerd's POST /build streams without
// BuildKit): "Step N/M : INSTRUCTION", the commands' output, " ---> Using cache" for a step
// found in the cache. berth's internal steps (loading the context, metadata) are not shown.
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

func (c *classicDisplay) start(v *vertex, name string) {
	m := classicStep().FindStringSubmatch(name)
	if m == nil {
		return
	}
	c.mu.Lock()
	c.shown[v] = true
	c.mu.Unlock()
	c.write(v, fmt.Sprintf("Step %s/%s : %s\n", m[1], m[2], m[3]))
}

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
