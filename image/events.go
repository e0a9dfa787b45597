package image

import "github.com/berth-engine/berth/events"

// Event appends an image event to the store's journal: id is the image ID (or, for pull and
// push, the reference), name Docker's "name" attribute.
func (s *Store) Event(action, id, name string) {
	events.Log(s.Root, events.TypeImage, action, id, map[string]string{"name": name})
}

// deleteEvents appends the untag and delete events of what Remove or Prune did.
func (s *Store) deleteEvents(res []DeleteResponse, id string) {
	for _, d := range res {
		switch {
		case d.Untagged != "":
			s.Event("untag", id, id)
		case d.Deleted == id:
			s.Event("delete", id, id)
		}
	}
}
