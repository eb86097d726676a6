package consult

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/web"
)

// registerCare is a placeholder until the part is built; the file goes when it is.
func (h *Handlers) registerCare() {}

// careTodos is a placeholder until the part is built.
func (s *Service) careTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) { return nil, nil }

// visitVisible and memberVisible are placeholders until the part is built.
func (s *Service) visitVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	return notFound
}
func (s *Service) memberVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	return notFound
}
