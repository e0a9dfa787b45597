package container

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/berth-engine/berth/container/logging"
)

// LogConfig is the container's log driver and options (records from before drivers existed
// have none: json-file, Docker's default).
func (c *Container) LogConfig() logging.Config {
	lc := c.Host.LogConfig
	if lc.Type == "" {
		lc.Type = logging.JSONFile
	}
	if lc.Config == nil {
		lc.Config = map[string]string{}
	}
	return lc
}

// LogPath is the log file inspect shows: the json-file driver's (Docker shows none for the
// others, whose files are its own business).
func (m *Manager) LogPath(c *Container) string {
	if lc := c.LogConfig(); lc.Type == logging.JSONFile {
		return logging.Path(lc, m.dir(c.ID), c.ID)
	}
	return ""
}

// rfc3339NanoFixed is how `logs -t` prints a time (Docker's jsonmessage.RFC3339NanoFixed: nine
// digits always, where the json-file log trims trailing zeros).
const rfc3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"

// maxLogLine is where Docker splits a line without a newline into partial entries.
const maxLogLine = 16 * 1024

// copyStream copies a container stream to the log, one entry per line (as Docker does), and to
// the attached client when there is one. It returns at EOF.
func copyStream(stream string, r io.Reader, log logging.Writer, attach io.Writer) {
	buf := make([]byte, 32*1024)
	var pending []byte
	write := func(line []byte) { log.Write(logging.Entry{Stream: stream, Line: line, Time: time.Now()}) }
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if attach != nil {
				attach.Write(chunk)
			}
			pending = append(pending, chunk...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				write(pending[:i+1])
				pending = pending[i+1:]
			}
			for len(pending) >= maxLogLine {
				write(pending[:maxLogLine])
				pending = pending[maxLogLine:]
			}
			pending = append([]byte(nil), pending...)
		}
		if err != nil {
			if len(pending) > 0 {
				write(pending)
			}
			return
		}
	}
}

// LogsOptions are `logs`' flags.
type LogsOptions struct {
	Follow     bool
	Timestamps bool
	Tail       int // -1 for all
	Since      time.Time
	Until      time.Time
	// Context, when done, ends a follow (the Engine API's client hung up); nil never does.
	Context context.Context
	// Details puts each entry's extra attributes (Docker's --log-opt labels/env/tag) before its
	// line, then a space. berth records no such attributes yet, so the line gets Docker's bare
	// leading space.
	Details bool
}

// Logs writes a container's log to stdout and stderr by stream, across its rotated files. With
// Follow it keeps reading until the container is no longer running. A container whose driver
// keeps nothing (none) fails with Docker's logging.ErrNotReadable.
func (m *Manager) Logs(ref string, o LogsOptions, stdout, stderr io.Writer) error {
	c, _, err := m.Get(ref)
	if err != nil {
		return err
	}
	alive := func() bool {
		if o.Context != nil && o.Context.Err() != nil || !o.Until.IsZero() && time.Now().After(o.Until) {
			return false
		}
		_, st, err := m.Get(c.ID)
		return err == nil && (st.Running() || st.SupervisorPid != 0)
	}
	ro := logging.ReadOptions{Follow: o.Follow, Tail: o.Tail, Since: o.Since, Until: o.Until}
	return logging.Read(c.LogConfig(), m.dir(c.ID), c.ID, ro, alive, func(e logging.Entry) {
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if o.Timestamps {
			io.WriteString(w, e.Time.UTC().Format(rfc3339NanoFixed)+" ")
		}
		if o.Details {
			io.WriteString(w, " ")
		}
		w.Write(e.Line)
	})
}
