package format

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTimestamp reads a filter time the way Docker does: a Go duration before now ("10m",
// "24h"), Unix seconds with optional fraction, or an RFC 3339 date/time (local time when it has
// no zone).
func ParseTimestamp(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); err == nil && value != "0" {
		return now.Add(-d), nil
	}
	if secs, frac, ok := strings.Cut(value, "."); len(secs) > 0 && isDigits(secs) && (!ok || isDigits(frac)) {
		s, err := strconv.ParseInt(secs, 10, 64)
		if err == nil {
			ns := int64(0)
			if ok {
				f := (frac + "000000000")[:9]
				ns, _ = strconv.ParseInt(f, 10, 64)
			}
			return time.Unix(s, ns), nil
		}
	}
	layouts := []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05",
		"2006-01-02T15:04", "2006-01-02T15", "2006-01-02", "2006-01-02 15:04:05"}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, value, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", value)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
