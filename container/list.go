package container

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berth-engine/berth/format"
	"github.com/berth-engine/berth/image"
)

// ListFilters are the filters `ps --filter` and GET /containers/json accept.
var ListFilters = map[string]bool{
	"id": true, "name": true, "label": true, "status": true, "exited": true, "ancestor": true,
	"before": true, "since": true, "volume": true, "network": true, "health": true, "isolation": true,
	"is-task": true, "publish": true, "expose": true,
}

// ListOptions select containers as `ps` and GET /containers/json do.
type ListOptions struct {
	All     bool // stopped containers too
	Limit   int  // the newest Limit containers, whatever their state (<= 0: no limit)
	Filters format.Args
	// Shared lets the summaries of containers that do not run point at the records a Manager
	// with CacheRecords keeps (the same ones from one listing to the next) rather than at
	// copies: for a caller that only reads them, as the Engine API's listing, which then
	// allocates nothing per container.
	Shared bool
}

// ListFiltered returns the containers a listing shows, newest first: running ones (all with
// All, a Limit, or a status/exited filter) that match every filter. Bad filters are a
// *format.InvalidFilterError (an unknown key) or an InvalidParameterError (a bad value), in the
// Docker daemon's words.
func (m *Manager) ListFiltered(o ListOptions) ([]Summary, error) {
	f := o.Filters
	if err := f.Validate(ListFilters); err != nil {
		return nil, err
	}
	all := o.All || o.Limit > 0 || f.Contains("status") || f.Contains("exited")
	var exited []int
	for _, e := range f.Get("exited") {
		n, err := strconv.Atoi(e)
		if err != nil {
			return nil, InvalidParameterError{err}
		}
		exited = append(exited, n)
	}
	for _, s := range f.Get("status") {
		switch s {
		case "created", "restarting", "running", "removing", "paused", "exited", "dead":
		default:
			return nil, InvalidParameterError{fmt.Errorf("Invalid filter 'status=%s'", s)}
		}
	}
	for _, h := range f.Get("health") {
		switch h {
		case HealthStarting, HealthHealthy, HealthUnhealthy, HealthNone:
		default:
			return nil, InvalidParameterError{fmt.Errorf("Unrecognised filter value for health: %s", h)}
		}
	}
	expose, err := portFilterSet("expose", f.Get("expose"))
	if err != nil {
		return nil, err
	}
	publish, err := portFilterSet("publish", f.Get("publish"))
	if err != nil {
		return nil, err
	}
	list, err := m.list(o.Shared)
	if err != nil {
		return nil, err
	}
	// before/since name containers; they cut the (newest first) list.
	var beforeT, sinceT time.Time
	for _, key := range []string{"before", "since"} {
		for _, ref := range f.Get(key) {
			c, _, err := m.Get(ref)
			if err != nil {
				return nil, err
			}
			if key == "before" {
				beforeT = c.Created
			} else {
				sinceT = c.Created
			}
		}
	}
	ancestors := map[string]bool{}
	for _, a := range f.Get("ancestor") {
		if id, err := m.Images.Resolve(a); err == nil {
			ancestors[id] = true
		}
	}
	var out []Summary
	for _, s := range list {
		if !all && !s.State.Running() {
			continue
		}
		if !s.matches(f, exited, ancestors) {
			continue
		}
		if len(expose) > 0 || len(publish) > 0 {
			if !portsMatch(m.Ports(s.ID, s.Config.ExposedPorts, s.State.Running()), expose, publish) {
				continue
			}
		}
		if !beforeT.IsZero() && !s.Created.Before(beforeT) {
			continue
		}
		if !sinceT.IsZero() && !s.Created.After(sinceT) {
			continue
		}
		out = append(out, s)
		if o.Limit > 0 && len(out) == o.Limit {
			break
		}
	}
	setLinkNames(list, out)
	return out, nil
}

// setLinkNames gives each of out the names its linkers in list (every container, stopped ones
// too, as Docker keeps their links) know it by: "/PARENT/ALIAS".
func setLinkNames(list, out []Summary) {
	var names map[string][]string
	for _, s := range list {
		for _, l := range s.Host.Links {
			if names == nil {
				names = map[string][]string{}
			}
			names[l.Target] = append(names[l.Target], "/"+s.Name+"/"+l.Alias)
		}
	}
	if names == nil {
		return
	}
	for i := range out {
		out[i].LinkNames = names[out[i].ID]
	}
}

// matches applies the filters that look at the container alone.
func (s Summary) matches(f format.Args, exited []int, ancestors map[string]bool) bool {
	if f.Contains("id") && !anyPrefix(f.Get("id"), s.ID) {
		return false
	}
	if f.Contains("name") && !anyRegexp(f.Get("name"), s.Name) {
		return false
	}
	if !f.MatchKVList("label", s.Config.Labels) {
		return false
	}
	if f.Contains("status") && !f.ExactMatch("status", s.State.Status) {
		return false
	}
	if f.Contains("health") {
		h := HealthNone
		if s.State.Health != nil {
			h = s.State.Health.Status
		}
		if !f.ExactMatch("health", h) {
			return false
		}
	}
	if len(exited) > 0 {
		ok := false
		for _, n := range exited {
			ok = ok || (s.State.Status == "exited" && s.State.ExitCode == n)
		}
		if !ok {
			return false
		}
	}
	if f.Contains("ancestor") && !ancestors[s.ImageID] && !anyEqual(f.Get("ancestor"), s.Image) {
		return false
	}
	if f.Contains("volume") {
		ok := false
		for _, mt := range s.Host.Mounts {
			ok = ok || f.ExactMatch("volume", mt.Source) || f.ExactMatch("volume", mt.Target)
		}
		if !ok {
			return false
		}
	}
	if f.Contains("network") {
		match := false
		for _, n := range s.NetworkNames() {
			match = match || f.ExactMatch("network", n)
		}
		if !match {
			return false
		}
	}
	return true
}

func anyPrefix(prefixes []string, s string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func anyEqual(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func anyRegexp(patterns []string, s string) bool {
	for _, p := range patterns {
		if re, err := regexp.Compile(p); err == nil && re.MatchString(s) {
			return true
		}
	}
	return false
}

// portFilterSet reads the values of `ps --filter expose=|publish=` as Docker does:
// PORT[-PORT][/PROTO], tcp unless named, as the set of "PORT/PROTO" they cover.
func portFilterSet(key string, values []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, v := range values {
		if strings.Contains(v, ":") {
			return nil, InvalidParameterError{fmt.Errorf("filter for '%s' should not contain ':': %s", key, v)}
		}
		rng, proto, _ := strings.Cut(v, "/")
		if proto == "" {
			proto = "tcp"
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		if !isRange {
			hi = lo
		}
		l, err := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if err == nil {
			err = err2
		}
		if err == nil && h < l {
			err = fmt.Errorf("invalid range specified for port: %s", rng)
		}
		if err != nil {
			// Docker's words, with strconv's reason as its nat package gives it.
			return nil, InvalidParameterError{fmt.Errorf("error while looking up for %s %s: %v", key, v, err)}
		}
		for p := l; p <= h; p++ {
			set[fmt.Sprintf("%d/%s", p, proto)] = true
		}
	}
	return set, nil
}

// portsMatch is Docker's publish/expose filter: expose=PORT[/PROTO] (tcp unless named)
// matches a container port, publish= a host port bound while the container runs.
func portsMatch(ports []Port, expose, publish map[string]bool) bool {
	for _, p := range ports {
		if expose[fmt.Sprintf("%d/%s", p.PrivatePort, p.Type)] {
			return true
		}
		if p.PublicPort != 0 && publish[fmt.Sprintf("%d/%s", p.PublicPort, p.Type)] {
			return true
		}
	}
	return false
}

// PruneFilters are the filters `container prune` and POST /containers/prune accept.
var PruneFilters = map[string]bool{"label": true, "label!": true, "until": true}

// Prune removes the stopped containers that match filters (label, label!, until) and returns
// their IDs and the bytes their writable layers held. What interrupted builds left on the host
// goes with them; a failure to sweep that is returned as warning, not as an error.
func (m *Manager) Prune(filters format.Args) (deleted []string, reclaimed int64, warning error, err error) {
	if err := filters.Validate(PruneFilters); err != nil {
		return nil, 0, nil, err
	}
	var until time.Time
	if u := filters.Get("until"); len(u) > 0 {
		if until, err = image.ParseTimestamp(u[0], time.Now()); err != nil {
			return nil, 0, nil, InvalidParameterError{err}
		}
	}
	warning = m.SweepInterrupted()
	list, err := m.List()
	if err != nil {
		return nil, 0, warning, err
	}
	for _, s := range list {
		if s.State.Running() || !filters.MatchKVList("label", s.Config.Labels) {
			continue
		}
		if filters.Contains("label!") && matchAnyLabel(filters.Get("label!"), s.Config.Labels) {
			continue
		}
		if !until.IsZero() && !s.Created.Before(until) {
			continue
		}
		size, _ := m.SizeRw(s.ID)
		// Only if nobody is creating or starting it meanwhile (it is then not stopped).
		if removed, err := m.PruneContainer(s.ID); err != nil {
			return deleted, reclaimed, warning, err
		} else if !removed {
			continue
		}
		deleted = append(deleted, s.ID)
		reclaimed += size
	}
	return deleted, reclaimed, warning, nil
}

// matchAnyLabel reports whether labels has any of "key" or "key=value".
func matchAnyLabel(want []string, labels map[string]string) bool {
	for _, w := range want {
		k, v, hasV := strings.Cut(w, "=")
		if lv, ok := labels[k]; ok && (!hasV || lv == v) {
			return true
		}
	}
	return false
}

// InvalidParameterError is a request the engine refuses as malformed (Docker's 400).
type InvalidParameterError struct{ Err error }

func (e InvalidParameterError) Error() string { return e.Err.Error() }
func (e InvalidParameterError) Unwrap() error { return e.Err }
