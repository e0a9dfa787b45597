package api

import (
	"context"

	"github.com/berth-engine/berth/compose"
	"github.com/berth-engine/berth/distribution"
)

// Compose is a Compose engine over the server's store, for the faces that drive projects (the
// web UI's up/down): the same engine `berth compose` uses, pulling with the server's registry
// settings. events receives each step (nil: none).
func (s *Server) Compose(events func(compose.Event)) *compose.Engine {
	return &compose.Engine{
		Containers: s.containers,
		Networks:   s.networks,
		Events:     events,
		Pull: func(ctx context.Context, ref string) error {
			_, err := distribution.Pull(ctx, s.images, ref, distribution.PullOptions{Options: s.cfg.Registry})
			return err
		},
	}
}
