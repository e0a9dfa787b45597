package container

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-engine/berth/image"
)

func TestMergeHealthcheck(t *testing.T) {
	img := &image.HealthConfig{Test: []string{"CMD", "true"}, Interval: 2 * time.Second, Retries: 4}
	cases := []struct {
		name      string
		img, user *image.HealthConfig
		want      *image.HealthConfig
	}{
		{"neither", nil, nil, nil},
		{"the image's", img, nil, img},
		{"--no-healthcheck keeps the image's settings", img, &image.HealthConfig{Test: []string{"NONE"}},
			&image.HealthConfig{Test: []string{"NONE"}, Interval: 2 * time.Second, Retries: 4}},
		{"--health-timeout alone", img, &image.HealthConfig{Timeout: 3 * time.Second},
			&image.HealthConfig{Test: []string{"CMD", "true"}, Interval: 2 * time.Second, Timeout: 3 * time.Second, Retries: 4}},
		{"--health-cmd and --health-interval", img, &image.HealthConfig{Test: []string{"CMD-SHELL", "exit 0"}, Interval: 5 * time.Second},
			&image.HealthConfig{Test: []string{"CMD-SHELL", "exit 0"}, Interval: 5 * time.Second, Retries: 4}},
		{"no image healthcheck", nil, &image.HealthConfig{Interval: time.Second}, &image.HealthConfig{Interval: time.Second}},
	}
	for _, c := range cases {
		if got := MergeHealthcheck(c.img, c.user); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if img.Timeout != 0 {
		t.Errorf("the image's config was changed")
	}
}

func TestHasHealthcheckAndProbeCommand(t *testing.T) {
	cfg := func(test ...string) image.ContainerConfig {
		return image.ContainerConfig{Healthcheck: &image.HealthConfig{Test: test}}
	}
	for _, c := range []struct {
		cfg  image.ContainerConfig
		want bool
	}{
		{image.ContainerConfig{}, false},
		{cfg(), false},
		{cfg("NONE"), false},
		{cfg("CMD", "true"), true},
		{cfg("CMD-SHELL", "exit 0"), true},
		{cfg("WHAT", "x"), false},
	} {
		if got := hasHealthcheck(c.cfg); got != c.want {
			t.Errorf("%v: %v, want %v", c.cfg.Healthcheck, got, c.want)
		}
	}
	if got := probeCommand(cfg("CMD", "curl", "-f", "x")); !reflect.DeepEqual(got, []string{"curl", "-f", "x"}) {
		t.Errorf("CMD: %q", got)
	}
	if got := probeCommand(cfg("CMD-SHELL", "test -f /x")); !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "test -f /x"}) {
		t.Errorf("CMD-SHELL: %q", got)
	}
	c := cfg("CMD-SHELL", "x")
	c.Shell = []string{"/bin/bash", "-ec"}
	if got := probeCommand(c); !reflect.DeepEqual(got, []string{"/bin/bash", "-ec", "x"}) {
		t.Errorf("SHELL: %q", got)
	}
}

func TestApplyProbeResult(t *testing.T) {
	started := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int, code int) HealthcheckResult {
		return HealthcheckResult{Start: started.Add(time.Duration(sec) * time.Second), End: started.Add(time.Duration(sec) * time.Second), ExitCode: code}
	}
	hc := &image.HealthConfig{Retries: 2}
	c := &Container{Config: image.ContainerConfig{Healthcheck: &image.HealthConfig{Test: []string{"CMD", "true"}}}}
	var st State
	startHealth(c, &st)
	h := st.Health
	if h.Status != HealthStarting || h.Log == nil {
		t.Fatalf("after start: %+v", h)
	}
	steps := []struct {
		r      HealthcheckResult
		status string
		streak int
	}{
		{at(1, 1), HealthStarting, 1},
		{at(2, 1), HealthUnhealthy, 2},
		{at(3, 0), HealthHealthy, 0},
		{at(4, 1), HealthHealthy, 1},
		{at(5, -1), HealthUnhealthy, 2},
		{at(6, 1), HealthUnhealthy, 3},
	}
	for i, s := range steps {
		applyProbeResult(h, s.r, hc, started)
		if h.Status != s.status || h.FailingStreak != s.streak {
			t.Fatalf("step %d: %s/%d, want %s/%d", i, h.Status, h.FailingStreak, s.status, s.streak)
		}
	}
	if len(h.Log) != 5 || !h.Log[0].Start.Equal(at(2, 0).Start) || !h.Log[4].Start.Equal(at(6, 0).Start) {
		t.Errorf("the log keeps the last 5 results: %+v", h.Log)
	}
	// A new start: starting again, the streak reset, the log kept.
	startHealth(c, &st)
	if h.Status != HealthStarting || h.FailingStreak != 0 || len(h.Log) != 5 {
		t.Errorf("restarted: %+v", h)
	}

	// Within the start period failures do not count while it is starting; the default retries
	// are 3.
	h = &Health{Status: HealthStarting, Log: []HealthcheckResult{}}
	sp := &image.HealthConfig{StartPeriod: 5 * time.Second}
	for sec := 1; sec <= 4; sec++ {
		applyProbeResult(h, at(sec, 1), sp, started)
	}
	if h.Status != HealthStarting || h.FailingStreak != 0 {
		t.Fatalf("within the start period: %+v", h)
	}
	for sec := 5; sec <= 7; sec++ {
		applyProbeResult(h, at(sec, 1), sp, started)
	}
	if h.Status != HealthUnhealthy || h.FailingStreak != 3 {
		t.Fatalf("after the start period, 3 failures: %s/%d", h.Status, h.FailingStreak)
	}
}

// The inspect shape is Docker's: Status, FailingStreak, Log with Start, End, ExitCode, Output,
// and an empty log as [].
func TestHealthJSON(t *testing.T) {
	var st State
	startHealth(&Container{Config: image.ContainerConfig{Healthcheck: &image.HealthConfig{Test: []string{"CMD-SHELL", "x"}}}}, &st)
	b, _ := json.Marshal(st.Health)
	if string(b) != `{"Status":"starting","FailingStreak":0,"Log":[]}` {
		t.Errorf("%s", b)
	}
	// Stored and read back (the state database), the empty log stays [].
	var back State
	sb, _ := json.Marshal(st)
	json.Unmarshal(sb, &back)
	if b2, _ := json.Marshal(back.Health); string(b2) != string(b) {
		t.Errorf("round trip: %s", b2)
	}
	r := HealthcheckResult{Start: time.Date(2026, 11, 27, 5, 21, 7, 72023382, time.UTC), End: time.Date(2026, 11, 27, 5, 21, 7, 134993637, time.UTC), ExitCode: 1, Output: "no\n"}
	b, _ = json.Marshal(r)
	if want := `{"Start":"2026-11-27T05:21:07.072023382Z","End":"2026-11-27T05:21:07.134993637Z","ExitCode":1,"Output":"no\n"}`; string(b) != want {
		t.Errorf("%s\nwant %s", b, want)
	}
}

func TestLimitedBuffer(t *testing.T) {
	var b limitedBuffer
	b.Write([]byte("hello "))
	b.Write([]byte("world"))
	if b.String() != "hello world" {
		t.Errorf("%q", b.String())
	}
	var big limitedBuffer
	big.Write([]byte(strings.Repeat("y\n", 2500)))
	if s := big.String(); len(s) != 4099 || !strings.HasSuffix(s, "y\n...") {
		t.Errorf("len %d, tail %q", len(s), s[len(s)-10:])
	}
}

func TestValidateHealthcheck(t *testing.T) {
	for _, c := range []struct {
		h   *image.HealthConfig
		err string
	}{
		{nil, ""},
		{&image.HealthConfig{Interval: time.Millisecond}, ""},
		{&image.HealthConfig{Interval: time.Microsecond}, "Interval in Healthcheck cannot be less than 1ms"},
		{&image.HealthConfig{Timeout: time.Microsecond}, "Timeout in Healthcheck cannot be less than 1ms"},
		{&image.HealthConfig{StartPeriod: time.Microsecond}, "StartPeriod in Healthcheck cannot be less than 1ms"},
		{&image.HealthConfig{Retries: -1}, "Retries in Healthcheck cannot be negative"},
	} {
		err := ValidateHealthcheck(c.h)
		if (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("%+v: %v, want %q", c.h, err, c.err)
		}
	}
}
