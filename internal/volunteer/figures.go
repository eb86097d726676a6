package volunteer

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"siwei/internal/auth"
)

// Figure is one row of the pillar's figures: a village and a team kind (both zero for the town's
// total row).
type Figure struct {
	VillageID   int64    `json:"village_id"`
	VillageName string   `json:"village_name"`
	Kind        TeamKind `json:"kind"`
	Volunteers  int      `json:"volunteers"`
	Minutes     int      `json:"minutes"`
	Shifts      int      `json:"shifts_served"`
	NeedsOpened int      `json:"needs_opened"`
	NeedsClosed int      `json:"needs_closed"`
	// MedianDaysToClose is over the needs done (or rated), -1 when none.
	MedianDaysToClose float64 `json:"median_days_to_close"`
	closeDays         []float64
}

// Hours is the figure's service time in hours, to one decimal.
func (f Figure) Hours() string { return fmt.Sprintf("%.1f", float64(f.Minutes)/60) }

// Figures are the pillar's figures for a town by village and team kind, with the town's total
// last. A need counts under its team's kind, or the kind its category usually goes to.
func (s *Service) Figures(ctx context.Context, a *auth.Actor, townID int64) ([]Figure, error) {
	// Village staff see their villages' rows, and a total over those.
	all, ids := auth.Visible(a, PermLead, townID)
	if !all && len(ids) == 0 {
		return nil, auth.Hide(lead(a, townID, 0))
	}
	rows := map[[2]any]*Figure{}
	names := map[int64]string{}
	row := func(v int64, k TeamKind) *Figure {
		key := [2]any{v, k}
		if f, ok := rows[key]; ok {
			return f
		}
		f := &Figure{VillageID: v, VillageName: names[v], Kind: k}
		rows[key] = f
		return f
	}
	r := s.DB.Read()
	vs, err := r.QueryContext(ctx, `SELECT id, name FROM villages WHERE town_id = $1`, townID)
	if err != nil {
		return nil, err
	}
	for vs.Next() {
		var id int64
		var n string
		if err := vs.Scan(&id, &n); err != nil {
			vs.Close()
			return nil, err
		}
		names[id] = n
	}
	vs.Close()
	scan := func(q string, fn func(f *Figure, n int)) error {
		rs, err := r.QueryContext(ctx, q, townID)
		if err != nil {
			return fmt.Errorf("volunteer: figures: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var v int64
			var k string
			var n int
			if err := rs.Scan(&v, &k, &n); err != nil {
				return err
			}
			fn(row(v, TeamKind(k)), n)
		}
		return rs.Err()
	}
	if err := scan(`SELECT t.village_id, t.kind, COUNT(*) FROM volunteer_members m JOIN volunteer_teams t ON t.id = m.team_id WHERE t.town_id = $1 GROUP BY t.village_id, t.kind`,
		func(f *Figure, n int) { f.Volunteers = n }); err != nil {
		return nil, err
	}
	if err := scan(`SELECT sh.village_id, t.kind, COALESCE(SUM(su.minutes), 0) FROM volunteer_signups su JOIN volunteer_shifts sh ON sh.id = su.shift_id
		JOIN volunteer_posts p ON p.id = sh.post_id JOIN volunteer_teams t ON t.id = p.team_id WHERE sh.town_id = $1 AND su.status = 'attended' GROUP BY sh.village_id, t.kind`,
		func(f *Figure, n int) { f.Minutes = n }); err != nil {
		return nil, err
	}
	if err := scan(`SELECT sh.village_id, t.kind, COUNT(*) FROM volunteer_signups su JOIN volunteer_shifts sh ON sh.id = su.shift_id
		JOIN volunteer_posts p ON p.id = sh.post_id JOIN volunteer_teams t ON t.id = p.team_id WHERE sh.town_id = $1 AND su.status = 'attended' GROUP BY sh.village_id, t.kind`,
		func(f *Figure, n int) { f.Shifts = n }); err != nil {
		return nil, err
	}
	ns, err := r.QueryContext(ctx, `SELECT n.village_id, COALESCE(t.kind, ''), n.category, n.status, n.created_at, n.closed_at FROM volunteer_needs n
		LEFT JOIN volunteer_teams t ON t.id = n.team_id WHERE n.town_id = $1`, townID)
	if err != nil {
		return nil, fmt.Errorf("volunteer: figures: %w", err)
	}
	defer ns.Close()
	for ns.Next() {
		var v int64
		var kind, cat, status string
		var created time.Time
		var closed sql.Null[time.Time]
		if err := ns.Scan(&v, &kind, &cat, &status, &created, &closed); err != nil {
			return nil, err
		}
		if kind == "" {
			kind = string(Categories[cat])
		}
		f := row(v, TeamKind(kind))
		f.NeedsOpened++
		if status == NeedDone || status == NeedRated {
			f.NeedsClosed++
			f.closeDays = append(f.closeDays, closed.V.Sub(created).Hours()/24)
		}
	}
	if err := ns.Err(); err != nil {
		return nil, err
	}
	out := make([]Figure, 0, len(rows)+1)
	total := Figure{VillageName: "", Kind: ""}
	for _, f := range rows {
		if !all && !slices.Contains(ids, f.VillageID) {
			continue
		}
		total.Volunteers += f.Volunteers
		total.Minutes += f.Minutes
		total.Shifts += f.Shifts
		total.NeedsOpened += f.NeedsOpened
		total.NeedsClosed += f.NeedsClosed
		total.closeDays = append(total.closeDays, f.closeDays...)
		f.MedianDaysToClose = median(f.closeDays)
		out = append(out, *f)
	}
	slices.SortFunc(out, func(x, y Figure) int {
		if x.VillageName != y.VillageName {
			if x.VillageName < y.VillageName {
				return -1
			}
			return 1
		}
		return slices.Index(Kinds, x.Kind) - slices.Index(Kinds, y.Kind)
	})
	total.MedianDaysToClose = median(total.closeDays)
	return append(out, total), nil
}

// median of a list of days, rounded to one decimal; -1 when the list is empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return float64(int(m*10+0.5)) / 10
}
