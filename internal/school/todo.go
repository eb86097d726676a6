package school

import (
	"context"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/web"
)

// Todos counts what waits in 微党校: for the town's staff who manage it, orders past their
// deadline (to assign, or waiting too long for the expert's answer), orders waiting to be
// assigned, courses still drafts, and offered courses that no expert of the pool can teach (theirs
// have all retired); for an expert, the orders waiting for their answer.
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil {
		return nil, nil
	}
	if roleIn(a, a.TownID) != manager {
		if !a.Has(auth.Expert) {
			return nil, nil
		}
		me, err := s.Me(ctx, a)
		if err != nil {
			return nil, nil // a login not linked to an expert has nothing waiting
		}
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM school_orders WHERE expert_id = $1 AND status = $2`, me.ID, OrderAssigned).Scan(&n); err != nil {
			return nil, fmt.Errorf("school: to-dos: %w", err)
		}
		return []web.Todo{{Key: "school.todo.to_answer", Count: n, Path: "/admin/school/orders?status=assigned"}}, nil
	}
	var drafts, orphans, waiting int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN c.status = $2 THEN 1 END),
		COUNT(CASE WHEN c.status = $3 AND NOT EXISTS (SELECT 1 FROM school_course_experts ce JOIN school_experts e ON e.id = ce.expert_id
			WHERE ce.course_id = c.id AND e.retired_at IS NULL) THEN 1 END),
		(SELECT COUNT(*) FROM school_orders o WHERE o.town_id = $1 AND o.status = $4)
		FROM school_courses c WHERE c.town_id = $1`, a.TownID, string(Draft), string(Offered), OrderOrdered).Scan(&drafts, &orphans, &waiting)
	if err != nil {
		return nil, fmt.Errorf("school: to-dos: %w", err)
	}
	overdue, err := s.OverdueOrders(ctx, a.TownID)
	if err != nil {
		return nil, err
	}
	return []web.Todo{
		{Key: "school.todo.orders_overdue", Count: overdue, Path: "/admin/school/orders"},
		{Key: "school.todo.orders_waiting", Count: waiting, Path: "/admin/school/orders?status=ordered"},
		{Key: "school.todo.drafts", Count: drafts, Path: "/admin/school?status=draft"},
		{Key: "school.todo.no_teacher", Count: orphans, Path: "/admin/school?status=offered"},
	}, nil
}
