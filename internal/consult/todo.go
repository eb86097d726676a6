package consult

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Todos counts what waits for the actor in 微协商, part by part: topics waiting for their hosts,
// meetings over and not closed, referrals waiting for a department or overdue, care visits due.
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil {
		return nil, nil
	}
	var out []web.Todo
	for _, part := range []func(context.Context, *auth.Actor) ([]web.Todo, error){s.topicTodos, s.meetingTodos, s.referralTodos, s.careTodos} {
		t, err := part(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, t...)
	}
	return out, nil
}
