package distribution

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	units "github.com/docker/go-units"
)

// Event is one progress message of a pull or push, in Docker's words. A renderer prints
// "ID: Status" (or just Status when ID is empty) and, for progress statuses, a bar from Current
// and Total; a line with the same ID replaces the previous one on a terminal.
type Event struct {
	// ID is the short (12 hex) ID of a layer, the tag or reference a pull starts with, or "" for
	// lines about the whole operation ("Digest: ...", "Status: ...").
	ID     string
	Status string
	// Current and Total are bytes done and expected for Downloading, Extracting and Pushing.
	Current, Total int64
	// Result marks a line that reports an outcome scripts read ("1: digest: sha256:... size: 946").
	Result bool
}

// IsProgress reports whether the event is a progress update (drawn as a bar on a terminal and
// left out of plain output, as Docker does).
func (e Event) IsProgress() bool {
	return e.Status == StatusDownloading || e.Status == StatusExtracting || e.Status == StatusPushing
}

// Bar is Docker's progress text for a progress event: a 50-column bar and "current/total" in
// decimal units (the "progress" field of the Engine API's JSON messages, and a terminal's bar).
func (e Event) Bar() string {
	cur, total := e.Current, e.Total
	if total <= 0 {
		return fmt.Sprintf("%8v", units.HumanSize(float64(cur)))
	}
	pct := int(float64(cur) / float64(total) * 50)
	pct = max(0, min(pct, 50))
	bar := "[" + strings.Repeat("=", pct) + ">" + strings.Repeat(" ", 50-pct)
	return fmt.Sprintf("%s] %8v/%v", bar, units.HumanSize(float64(cur)), units.HumanSize(float64(total)))
}

// Docker's status texts.
const (
	StatusPullingFSLayer   = "Pulling fs layer"
	StatusWaiting          = "Waiting"
	StatusDownloading      = "Downloading"
	StatusVerifying        = "Verifying Checksum"
	StatusDownloadComplete = "Download complete"
	StatusExtracting       = "Extracting"
	StatusPullComplete     = "Pull complete"
	StatusAlreadyExists    = "Already exists"
	StatusRetrying         = "Retrying in " // followed by "N second(s)"

	StatusPreparing     = "Preparing"
	StatusPushing       = "Pushing"
	StatusPushed        = "Pushed"
	StatusLayerExists   = "Layer already exists"
	StatusMountedFrom   = "Mounted from "
	StatusPullingFrom   = "Pulling from "
	StatusPushRefersTo  = "The push refers to repository "
	StatusUsingDefault  = "Using default tag: latest"
	StatusDownloadedFor = "Status: Downloaded newer image for "
	StatusUpToDateFor   = "Status: Image is up to date for "
)

// shortID is the 12 hex digits Docker shows for a digest.
func shortID(d interface{ Encoded() string }) string {
	e := d.Encoded()
	if len(e) > 12 {
		return e[:12]
	}
	return e
}

// progressReader reports bytes read as Downloading/Pushing events, at most every 100ms.
type progressReader struct {
	r      io.Reader
	emit   func(Event)
	id     string
	status string
	total  int64
	n      int64
	last   time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); n > 0 && (now.Sub(p.last) >= 100*time.Millisecond || p.n == p.total) {
		p.last = now
		p.emit(Event{ID: p.id, Status: p.status, Current: p.n, Total: p.total})
	}
	return n, err
}

// serialize makes a progress callback safe for the parallel layer workers.
func serialize(f func(Event)) func(Event) {
	var mu sync.Mutex
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		f(e)
	}
}

// retrying is Docker's line for a transfer that waits before its next attempt.
func retrying(wait time.Duration) string {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	if secs == 1 {
		return StatusRetrying + "1 second"
	}
	return fmt.Sprintf("%s%d seconds", StatusRetrying, secs)
}
