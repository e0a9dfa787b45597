package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// LogPath is where a container's json-file log lives.
func (m *Manager) LogPath(id string) string { return filepath.Join(m.dir(id), id+"-json.log") }

// logEntry is one line of Docker's json-file log driver.
type logEntry struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
	Time   string `json:"time"`
}

// logWriter appends entries to a json-file log; both streams share it.
type logWriter struct {
	mu sync.Mutex
	f  *os.File
}

func openLog(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &logWriter{f: f}, nil
}

func (w *logWriter) write(stream string, line []byte) {
	b, err := json.Marshal(logEntry{Log: string(line), Stream: stream, Time: time.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return
	}
	b = append(b, '\n')
	w.mu.Lock()
	w.f.Write(b)
	w.mu.Unlock()
}

func (w *logWriter) Close() error { return w.f.Close() }

// maxLogLine is where Docker splits a line without a newline into partial entries.
const maxLogLine = 16 * 1024

// copyStream copies a container stream to the log, one entry per line (as Docker does), and to
// the attached client when there is one. It returns at EOF.
func copyStream(stream string, r io.Reader, log *logWriter, attach io.Writer) {
	buf := make([]byte, 32*1024)
	var pending []byte
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
				log.write(stream, pending[:i+1])
				pending = pending[i+1:]
			}
			for len(pending) >= maxLogLine {
				log.write(stream, pending[:maxLogLine])
				pending = pending[maxLogLine:]
			}
			pending = append([]byte(nil), pending...)
		}
		if err != nil {
			if len(pending) > 0 {
				log.write(stream, pending)
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
}

// Logs writes a container's log to stdout and stderr by stream. With Follow it keeps reading
// until the container is no longer running.
func (m *Manager) Logs(ref string, o LogsOptions, stdout, stderr io.Writer) error {
	c, _, err := m.Get(ref)
	if err != nil {
		return err
	}
	f, err := os.Open(m.LogPath(c.ID))
	if os.IsNotExist(err) {
		if !o.Follow {
			return nil
		}
		for {
			if f, err = os.Open(m.LogPath(c.ID)); err == nil {
				break
			}
			if _, st, err := m.Get(c.ID); err != nil || (!st.Running() && st.SupervisorPid == 0) {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
	} else if err != nil {
		return err
	}
	defer f.Close()
	emit := func(line []byte) {
		var e logEntry
		if json.Unmarshal(line, &e) != nil {
			return
		}
		t, _ := time.Parse(time.RFC3339Nano, e.Time)
		if !o.Since.IsZero() && t.Before(o.Since) || !o.Until.IsZero() && t.After(o.Until) {
			return
		}
		w := stdout
		if e.Stream == "stderr" {
			w = stderr
		}
		if o.Timestamps {
			io.WriteString(w, e.Time+" ")
		}
		io.WriteString(w, e.Log)
	}
	rd := bufio.NewReaderSize(f, 64*1024)
	if o.Tail >= 0 {
		var lines [][]byte
		for {
			line, err := rd.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				lines = append(lines, line)
				if len(lines) > o.Tail {
					lines = lines[1:]
				}
			}
			if err != nil {
				break
			}
		}
		for _, l := range lines {
			emit(l)
		}
	} else {
		for {
			line, err := rd.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				emit(line)
			} else if len(line) > 0 {
				rd = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(line), f), 64*1024)
			}
			if err != nil {
				break
			}
		}
	}
	if !o.Follow {
		return nil
	}
	var partial []byte
	for {
		line, err := rd.ReadBytes('\n')
		partial = append(partial, line...)
		if len(partial) > 0 && partial[len(partial)-1] == '\n' {
			emit(partial)
			partial = nil
		}
		if err == nil {
			continue
		}
		if err != io.EOF {
			return err
		}
		_, st, gerr := m.Get(c.ID)
		if gerr != nil || (!st.Running() && st.SupervisorPid == 0) {
			// One last read: the supervisor writes its final lines before recording the exit.
			rest, _ := io.ReadAll(rd)
			partial = append(partial, rest...)
			for _, l := range bytes.SplitAfter(partial, []byte("\n")) {
				if len(l) > 0 && l[len(l)-1] == '\n' {
					emit(l)
				}
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
