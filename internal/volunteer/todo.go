package volunteer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/web"
)

// Todos counts what waits for the actor in 微志愿: for those who lead villages' teams, needs
// waiting to be assigned (待派单) and today's shifts; for a volunteer, the shifts they are signed
// up for from today on.
func (s *Service) Todos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	var out []web.Todo
	if self := a.Self(); self != 0 {
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM volunteer_signups su JOIN volunteer_shifts sh ON sh.id = su.shift_id
			WHERE su.resident_id = $1 AND su.status = 'confirmed' AND sh.ends_at > $2`, self, s.Now()).Scan(&n); err != nil {
			return nil, fmt.Errorf("volunteer: to-dos: %w", err)
		}
		out = append(out, web.Todo{Key: "volunteer.todo.my_shifts", Count: n, Path: "/volunteer/shifts"})
	}
	if !a.IsStaff() || a.TownID == 0 {
		return out, nil
	}
	all, ids := auth.Visible(a, PermLead, a.TownID)
	if !all && len(ids) == 0 {
		return out, nil
	}
	in := ""
	if !all {
		// The ids are the actor's grants, numbers and never input: written in the query.
		list := make([]string, len(ids))
		for i, id := range ids {
			list[i] = strconv.FormatInt(id, 10)
		}
		in = " AND village_id IN (" + strings.Join(list, ",") + ")"
	}
	town, err := s.People.Town(ctx, a.TownID)
	if err != nil {
		return nil, err
	}
	today := clock.Day(town.Clock(s.Now).Today())
	for _, c := range []struct {
		key, path, q string
		arg          any
	}{
		{"volunteer.todo.needs", "/admin/volunteer/needs", `SELECT COUNT(*) FROM volunteer_needs WHERE town_id = $1 AND status = $2` + in, NeedOpen},
		{"volunteer.todo.shifts_today", "/admin/volunteer/posts", `SELECT COUNT(*) FROM volunteer_shifts WHERE town_id = $1 AND day = $2` + in, today},
	} {
		var n int
		if err := s.DB.Read().QueryRowContext(ctx, c.q, a.TownID, c.arg).Scan(&n); err != nil {
			return nil, fmt.Errorf("volunteer: to-dos: %w", err)
		}
		out = append(out, web.Todo{Key: c.key, Count: n, Path: c.path})
	}
	return out, nil
}
