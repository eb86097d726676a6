package alliance

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/period"
	"siwei/internal/web"
)

// Figures are 微联盟's figures (数据统计) of a town, or of a liaison's own unit, over a period of
// months: the member units, the resources and needs listed and how many were matched, the
// projects opened by state and their three rates, the activities and the person-times they
// reached, the donations received and handed out, and the dispute centre's consultations and
// cases by outcome with the median days to close. Sections the actor may not see are absent:
// a liaison sees their unit's resources, projects and activities; the centre's counts are for
// those DisputeCounts allows (the centre's staff and who manages the town's alliance).
type Figures struct {
	TownID     int64            `json:"town_id"`
	Period     period.Period    `json:"period"`
	Unit       string           `json:"unit,omitempty"` // a liaison's unit, whose share this is
	Units      *UnitFigures     `json:"units,omitempty"`
	Resources  Matched          `json:"resources"`
	Needs      *Matched         `json:"needs,omitempty"`
	Projects   ProjectFigures   `json:"projects"`
	Activities PersonTimes      `json:"activities"`
	Donations  *DonationFigures `json:"donations,omitempty"`
	Disputes   *DisputePeriod   `json:"disputes,omitempty"`
	// DisputeLinks: the actor staffs the centre, so its numbers link to its lists.
	DisputeLinks bool `json:"-"`
}

// UnitFigures are the town's member units: those that had joined by the period's end, how many of
// them are active members now, and how many took part in a project or an activity of the period.
type UnitFigures struct {
	Members int `json:"members"`
	Active  int `json:"active"`
	Engaged int `json:"engaged"`
}

// Matched is how many resources (or needs) were listed in the period, and how many of them are
// in a project that was not declined.
type Matched struct {
	Listed  int `json:"listed"`
	Matched int `json:"matched"`
}

// ProjectFigures are the projects opened in the period, by state now, and the flow kit's three
// rates of them (响应率, 办结率, 满意率).
type ProjectFigures struct {
	Opened       int            `json:"opened"`
	ByState      map[string]int `json:"by_state"`
	Rates        flow.Rates     `json:"rates"`
	Response     float64        `json:"response"`
	Resolution   float64        `json:"resolution"`
	Satisfaction float64        `json:"satisfaction"`
}

// DisputePeriod are the dispute centre's counts of a period (counts only, no names): the
// consultations of its days, the bookings among them and those that became cases, the cases
// opened by outcome now, and the cases closed in the period with the median days they took.
type DisputePeriod struct {
	Consultations int            `json:"consultations"`
	Booked        int            `json:"booked"`
	BecameCases   int            `json:"became_cases"`
	Cases         int            `json:"cases"`
	ByOutcome     map[string]int `json:"by_outcome"`
	Closed        int            `json:"closed"`
	MedianDays    float64        `json:"median_days"`
}

// Figures gathers 微联盟's figures of a town over a period for the actor: the whole town for
// whoever manages its alliance, a liaison's own unit's share; anyone else is refused.
func (s *Service) Figures(ctx context.Context, a *auth.Actor, townID int64, p period.Period) (Figures, error) {
	townID = townOf(a, townID)
	f := Figures{TownID: townID, Period: p, Projects: ProjectFigures{ByState: map[string]int{}}}
	q := s.DB.Read()
	town, mine, err := s.figuresScope(ctx, a, townID)
	if err != nil {
		return f, err
	}
	if !town {
		if err := q.QueryRowContext(ctx, `SELECT name FROM alliance_units WHERE id = $1`, mine).Scan(&f.Unit); err != nil {
			return f, fmt.Errorf("alliance: figures: %w", err)
		}
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return f, err
	}
	start, end := p.Bounds()
	firstDay, lastDay := start.In(loc).Format(time.DateOnly), end.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)
	fail := func(err error) (Figures, error) { return f, fmt.Errorf("alliance: figures: %w", err) }

	// The units, and the resources listed in the period: the town's, or the liaison's unit's.
	resWhere := fmt.Sprintf("r.town_id = %d", townID)
	projWhere := fmt.Sprintf("p.town_id = %d", townID)
	if town {
		u := UnitFigures{}
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN active THEN 1 ELSE 0 END), 0) FROM alliance_units
			WHERE town_id = $1 AND joined_on <= $2`, townID, lastDay).Scan(&u.Members, &u.Active); err != nil {
			return fail(err)
		}
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM alliance_units u WHERE u.town_id = $1 AND (
			EXISTS (SELECT 1 FROM alliance_projects p WHERE p.unit_id = u.id AND p.status <> 'declined' AND p.created_at >= $2 AND p.created_at < $3)
			OR EXISTS (SELECT 1 FROM alliance_activity_units au JOIN alliance_activities a ON a.id = au.activity_id
				WHERE au.unit_id = u.id AND a.status <> 'cancelled' AND a.starts_at >= $2 AND a.starts_at < $3))`,
			townID, start, end).Scan(&u.Engaged); err != nil {
			return fail(err)
		}
		f.Units = &u
	} else {
		resWhere += fmt.Sprintf(" AND r.unit_id = %d", mine)
		projWhere += fmt.Sprintf(" AND p.unit_id = %d", mine)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM alliance_projects x WHERE x.resource_id = r.id AND x.status <> 'declined') THEN 1 ELSE 0 END), 0)
		FROM alliance_resources r WHERE `+resWhere+` AND r.created_at >= $1 AND r.created_at < $2`, start, end).Scan(&f.Resources.Listed, &f.Resources.Matched); err != nil {
		return fail(err)
	}
	if town {
		n := Matched{}
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM alliance_projects x WHERE x.need_id = n.id AND x.status <> 'declined') THEN 1 ELSE 0 END), 0)
			FROM alliance_needs n WHERE n.town_id = $1 AND n.created_at >= $2 AND n.created_at < $3`, townID, start, end).Scan(&n.Listed, &n.Matched); err != nil {
			return fail(err)
		}
		f.Needs = &n
	}

	// The projects opened in the period, by state now, and their rates.
	rows, err := q.QueryContext(ctx, `SELECT p.status, COUNT(*) FROM alliance_projects p WHERE `+projWhere+` AND p.created_at >= $1 AND p.created_at < $2 GROUP BY p.status`, start, end)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return fail(err)
		}
		f.Projects.ByState[st] = n
		f.Projects.Opened += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	o, group := flow.Orders{SQL: `SELECT id, town_id FROM alliance_projects WHERE town_id = $1`, Args: []any{townID}}, townID
	if !town {
		o, group = flow.Orders{SQL: `SELECT id, unit_id FROM alliance_projects WHERE unit_id = $1`, Args: []any{mine}}, mine
	}
	rates, err := ProjectFlow.Rates(ctx, q, start, end, o)
	if err != nil {
		return f, err
	}
	r := rates[group]
	f.Projects.Rates, f.Projects.Response, f.Projects.Resolution, f.Projects.Satisfaction = r, r.Response(), r.Resolution(), r.Satisfaction()

	// The activities and person-times, in the scope the activities part gives the actor.
	if f.Activities, err = s.ActivityPersonTimes(ctx, a, townID, p.From, p.To); err != nil {
		return f, err
	}
	if town {
		d, err := s.DonationFigures(ctx, a, townID, firstDay, lastDay)
		if err != nil {
			return f, err
		}
		f.Donations = &d
	}
	if handlesDisputes(a, townID) || town {
		d, err := s.disputePeriod(ctx, townID, firstDay, lastDay, start, end)
		if err != nil {
			return f, err
		}
		f.Disputes = &d
		f.DisputeLinks = handlesDisputes(a, townID)
	}
	return f, nil
}

// figuresScope decides whose figures of a town the actor reads: the whole town's (town) for
// whoever manages its alliance, or a liaison's own unit's (mine); anyone else is refused.
func (s *Service) figuresScope(ctx context.Context, a *auth.Actor, townID int64) (town bool, mine int64, err error) {
	if manages(a, townID) {
		return true, 0, nil
	}
	if mine, err = s.myUnit(ctx, s.DB.Read(), a); err != nil {
		return false, 0, err
	}
	if mine == 0 || townID != a.TownID {
		return false, 0, auth.Refuse(a, PermManage)
	}
	return false, mine, nil
}

// disputePeriod counts the centre's consultations and cases of a period; the caller has decided
// the actor may see them (as DisputeCounts does).
func (s *Service) disputePeriod(ctx context.Context, townID int64, firstDay, lastDay string, start, end time.Time) (DisputePeriod, error) {
	out := DisputePeriod{ByOutcome: map[string]int{}}
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'booked' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN became_case THEN 1 ELSE 0 END), 0)
		FROM dispute_consultations WHERE town_id = $1 AND day >= $2 AND day <= $3`, townID, firstDay, lastDay).Scan(&out.Consultations, &out.Booked, &out.BecameCases); err != nil {
		return out, fmt.Errorf("alliance: dispute figures: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT status, COUNT(*) FROM dispute_cases WHERE town_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status`, townID, start, end)
	if err != nil {
		return out, fmt.Errorf("alliance: dispute figures: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return out, err
		}
		out.ByOutcome[st] = n
		out.Cases += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	// The cases closed in the period: a town's centre closes dozens a year, so they are read.
	closed, err := q.QueryContext(ctx, `SELECT created_at, closed_at FROM dispute_cases WHERE town_id = $1 AND closed_at >= $2 AND closed_at < $3`, townID, start, end)
	if err != nil {
		return out, fmt.Errorf("alliance: dispute figures: %w", err)
	}
	defer closed.Close()
	var days []float64
	for closed.Next() {
		var from, to time.Time
		if err := closed.Scan(&from, &to); err != nil {
			return out, err
		}
		days = append(days, to.Sub(from).Hours()/24)
	}
	out.Closed = len(days)
	out.MedianDays = disputeMedian(days)
	return out, closed.Err()
}

// OverviewFigures are 微联盟's headline numbers on the staff overview of a town, this year so
// far, for whoever manages its alliance: the active member units, the activities' person-times,
// the projects done and the donated items handed out, each linking to its list; and the dispute
// centre's own numbers for its staff (DisputeFigures).
func (s *Service) OverviewFigures(ctx context.Context, a *auth.Actor, townID int64) ([]web.Figure, error) {
	townID = townOf(a, townID)
	out, err := s.DisputeFigures(ctx, a, townID)
	if err != nil || !manages(a, townID) {
		return out, err
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return nil, err
	}
	p, err := period.Parse("", "", s.Now(), loc)
	if err != nil {
		return nil, err
	}
	f, err := s.Figures(ctx, a, townID, p)
	if err != nil {
		return nil, err
	}
	mine := []web.Figure{
		{Key: "alliance.figure.active_units", Value: int64(f.Units.Active), Path: "/admin/alliance/units"},
		{Key: "alliance.figure.person_times", Value: int64(f.Activities.Total), Path: "/admin/alliance/activities"},
		{Key: "alliance.figure.projects_done", Value: int64(f.Projects.ByState[ProjectDone] + f.Projects.ByState[ProjectRated]), Path: "/admin/alliance/projects"},
		{Key: "alliance.figure.donations_handed", Value: int64(f.Donations.Handed), Path: "/admin/alliance/donations"},
	}
	return append(mine, out...), nil
}

// periodSpec reads a period written as one word, as the figures' address takes it: a year
// (2026), a month (2026-11) or a quarter (2026-Q4), into the months from and to. A wrong word is
// named on the field period.
func periodSpec(spec string) (from, to string, err error) {
	spec = strings.ToUpper(strings.TrimSpace(spec))
	bad := errs.Field("period", "alliance.figures.period_invalid")
	switch {
	case regexp.MustCompile(`^\d{4}$`).MatchString(spec):
		return spec + "-01", spec + "-12", nil
	case regexp.MustCompile(`^\d{4}-\d{2}$`).MatchString(spec):
		return spec, spec, nil
	case regexp.MustCompile(`^\d{4}-Q[1-4]$`).MatchString(spec):
		n, _ := strconv.Atoi(spec[6:])
		return fmt.Sprintf("%s-%02d", spec[:4], 3*n-2), fmt.Sprintf("%s-%02d", spec[:4], 3*n), nil
	}
	return "", "", bad
}
