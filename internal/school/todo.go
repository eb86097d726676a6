package school

import (
	"context"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Todos counts what waits for the town's staff who manage 微党校: courses still drafts, and
// offered courses that no expert of the pool can teach (theirs have all retired).
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || roleIn(a, a.TownID) != manager {
		return nil, nil
	}
	var drafts, orphans int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN c.status = $2 THEN 1 END),
		COUNT(CASE WHEN c.status = $3 AND NOT EXISTS (SELECT 1 FROM school_course_experts ce JOIN school_experts e ON e.id = ce.expert_id
			WHERE ce.course_id = c.id AND e.retired_at IS NULL) THEN 1 END)
		FROM school_courses c WHERE c.town_id = $1`, a.TownID, string(Draft), string(Offered)).Scan(&drafts, &orphans)
	if err != nil {
		return nil, fmt.Errorf("school: to-dos: %w", err)
	}
	return []web.Todo{
		{Key: "school.todo.drafts", Count: drafts, Path: "/admin/school?status=draft"},
		{Key: "school.todo.no_teacher", Count: orphans, Path: "/admin/school?status=offered"},
	}, nil
}
