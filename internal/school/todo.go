package school

import (
	"context"
	"fmt"

	"siwei/internal/auth"
	"siwei/internal/db"
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
		if all, villages := auth.Visible(a, PermOrder, a.TownID); all || len(villages) > 0 {
			return s.branchTodos(ctx, a, all, villages)
		}
		if !a.Has(auth.Expert) {
			return s.attendeeTodos(ctx, a)
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
	var unclosed int
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM school_lessons l WHERE l.town_id = $1 AND `+unclosedSQL, a.TownID, LessonKind, s.Now()).Scan(&unclosed); err != nil {
		return nil, fmt.Errorf("school: to-dos: %w", err)
	}
	return []web.Todo{
		{Key: "school.todo.rolls_open", Count: unclosed, Path: "/admin/school/orders?status=accepted"},
		{Key: "school.todo.orders_overdue", Count: overdue, Path: "/admin/school/orders"},
		{Key: "school.todo.orders_waiting", Count: waiting, Path: "/admin/school/orders?status=ordered"},
		{Key: "school.todo.drafts", Count: drafts, Path: "/admin/school?status=draft"},
		{Key: "school.todo.no_teacher", Count: orphans, Path: "/admin/school?status=offered"},
	}, nil
}

// unclosedSQL picks, on school_lessons l, the lessons that have ended with their check-in still
// open ($2 the event kind, $3 now): nobody has been paid for them yet.
const unclosedSQL = `l.status = 'scheduled' AND l.ends_at < $3 AND NOT EXISTS (SELECT 1 FROM attend_events e WHERE e.kind = $2 AND e.ref_id = l.id AND e.closed_at IS NOT NULL)`

// branchTodos are a branch's: its lessons over with the check-in still open, and its orders whose
// lesson is over and waits for the branch's 评单.
func (s *Service) branchTodos(ctx context.Context, a *auth.Actor, all bool, villages []int64) ([]web.Todo, error) {
	where := ""
	if !all {
		where = ` AND l.village_id IN (` + db.IDList(villages) + `)`
	}
	var unclosed, unrated int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM school_lessons l WHERE l.town_id = $1 AND `+unclosedSQL+where+`),
		(SELECT COUNT(*) FROM school_lessons l JOIN school_orders o ON o.id = l.order_id WHERE l.town_id = $1 AND o.status = 'accepted' AND l.ends_at < $3`+where+`)`,
		a.TownID, LessonKind, s.Now()).Scan(&unclosed, &unrated)
	if err != nil {
		return nil, fmt.Errorf("school: to-dos: %w", err)
	}
	mine, err := s.attendeeTodos(ctx, a) // a secretary is a party member too
	if err != nil {
		return nil, err
	}
	return append([]web.Todo{
		{Key: "school.todo.rolls_open", Count: unclosed, Path: "/admin/school/orders?status=accepted"},
		{Key: "school.todo.to_rate_orders", Count: unrated, Path: "/admin/school/orders?status=accepted"},
	}, mine...), nil
}

// attendeeTodos are a resident's: lessons they attended in the last 30 days and have not rated.
func (s *Service) attendeeTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	self := a.Self()
	if self == 0 {
		return nil, nil
	}
	var n int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM attend_entries x JOIN attend_events e ON e.id = x.event_id
		WHERE x.resident_id = $1 AND e.kind = $2 AND x.checked_in_at IS NOT NULL AND e.cancelled_at IS NULL AND e.starts_at > $3
		AND NOT EXISTS (SELECT 1 FROM school_ratings r WHERE r.lesson_id = e.ref_id AND r.resident_id = x.resident_id)`,
		self, LessonKind, s.Now().AddDate(0, 0, -30)).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("school: to-dos: %w", err)
	}
	return []web.Todo{{Key: "school.todo.to_rate", Count: n, Path: "/school/lessons"}}, nil
}
