package consult

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/web"
)

// registerReferrals is a placeholder until the part is built; the file goes when it is.
func (h *Handlers) registerReferrals() {}

// referralTodos is a placeholder until the part is built.
func (s *Service) referralTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	return nil, nil
}

// replyVisible is a placeholder until the part is built: whether the actor may see a referral's
// reply (and so its photos).
func (s *Service) replyVisible(ctx context.Context, q db.Querier, a *auth.Actor, id int64) error {
	return notFound
}
