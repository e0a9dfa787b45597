package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/berth-engine/berth/events"
	"github.com/berth-engine/berth/format"
)

// events is GET /events?since=&until=&filters=: the journal every berth process appends to
// (package events), replayed from since and followed until until, or until the client leaves.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	f, err := filterArgs(r)
	if err != nil {
		return err
	}
	filter, err := events.NewFilter(f)
	if err != nil {
		return badRequest("%v", err)
	}
	now := time.Now()
	var since, until time.Time
	if v := r.Form.Get("since"); v != "" {
		if since, err = format.ParseTimestamp(v, now); err != nil {
			return badRequest("%v", err)
		}
	}
	if v := r.Form.Get("until"); v != "" {
		if until, err = format.ParseTimestamp(v, now); err != nil {
			return badRequest("%v", err)
		}
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return badRequest("`since` time (%s) cannot be after `until` time (%s)", r.Form.Get("since"), r.Form.Get("until"))
	}
	legacy := versionBefore(r.Context(), "1.52")
	s.streams.Add(1)
	defer s.streams.Done()
	ctx, cancel := s.requestContext(r)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush(w)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return events.Read(ctx, s.cfg.Root, events.ReadOptions{Since: since, Until: until, Filter: filter, Follow: true},
		func(m events.Message) error {
			e := m.Docker(legacy)
			if err := enc.Encode(e); err != nil {
				return err
			}
			flush(w)
			return nil
		})
}
