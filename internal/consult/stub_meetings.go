package consult

import (
	"context"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// registerMeetings is a placeholder until the part is built; the file goes when it is.
func (h *Handlers) registerMeetings() {}

// meetingTodos is a placeholder until the part is built.
func (s *Service) meetingTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	return nil, nil
}
