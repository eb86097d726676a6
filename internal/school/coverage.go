package school

import (
	"context"
	"fmt"
	"slices"
	"time"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/flow"
	"siwei/internal/people"
	"siwei/internal/period"
	"siwei/internal/web"
)

// Period is the kit's span of whole months (package period), which coverage, figures and study
// records are counted over.
type Period = period.Period

// ParsePeriod reads a period of months in the town's zone (period.Parse).
var ParsePeriod = period.Parse

// VillageCoverage is one branch's coverage: its party members, how many of them attended a
// lesson in the period, and how many have not in the last six months.
type VillageCoverage struct {
	VillageID   int64  `json:"village_id"`
	VillageName string `json:"village_name"`
	Members     int    `json:"members"`
	Reached     int    `json:"reached"`
	NotReached6 int    `json:"not_reached_6_months"`
}

// Share is the share of the branch's members reached, in per cent to one decimal.
func (v VillageCoverage) Share() string { return share(v.Reached, v.Members) }

func share(n, of int) string {
	if of == 0 {
		return "0.0"
	}
	return fmt.Sprintf("%.1f", float64(n)*100/float64(of))
}

// Coverage is 微党校's coverage of party members (覆盖党员) in a period: the distinct party members
// who attended at least one lesson, by branch and for the town (or the branches the actor reaches),
// against the party members the registry holds now.
type Coverage struct {
	TownID   int64             `json:"town_id"`
	Period   Period            `json:"period"`
	Villages []VillageCoverage `json:"villages"`
	Members  int               `json:"members"`
	Reached  int               `json:"reached"`
	// NotReached6 counts the members with no lesson in the six months to now.
	NotReached6 int `json:"not_reached_6_months"`
}

// Share is the town's share of members reached, in per cent.
func (c Coverage) Share() string { return share(c.Reached, c.Members) }

// coverageScope is the villages of a town whose coverage the actor sees: every one for the town's
// school staff (all true), its own for a branch's staff; refused for anyone else.
func (s *Service) coverageScope(a *auth.Actor, townID int64) (all bool, ids []int64, err error) {
	if roleIn(a, townID) == manager {
		return true, nil, nil
	}
	all, ids = auth.Visible(a, PermOrder, townID)
	if !all && len(ids) == 0 {
		return false, nil, hide(a, townID)
	}
	return all, ids, nil
}

// Coverage is the coverage of a town (the actor's when 0) in a period, for its school staff, or
// for a branch's staff of their own villages. It reads the kit's person-months (attend_months): a
// member counts as reached in the branch they lived in, and as a party member, when they came.
func (s *Service) Coverage(ctx context.Context, a *auth.Actor, townID int64, p Period) (Coverage, error) {
	townID = townOf(a, townID)
	all, ids, err := s.coverageScope(a, townID)
	if err != nil {
		return Coverage{}, err
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return Coverage{}, err
	}
	six := s.Now().In(loc).AddDate(0, -6, 0).Format("2006-01")
	c := Coverage{TownID: townID, Period: p, Villages: []VillageCoverage{}}
	villages := ""
	if !all {
		villages = ` AND v.id IN (` + db.IDList(ids) + `)`
	}
	r := s.DB.Read()
	rows, err := r.QueryContext(ctx, `SELECT v.id, v.name, COUNT(r.id) FROM villages v
		LEFT JOIN residents r ON r.village_id = v.id AND r.party_member AND r.status = 'active'
		WHERE v.town_id = $1`+villages+` GROUP BY v.id, v.name ORDER BY v.name, v.id`, townID)
	if err != nil {
		return c, fmt.Errorf("school: coverage: %w", err)
	}
	at := map[int64]int{}
	for rows.Next() {
		var v VillageCoverage
		if err := rows.Scan(&v.VillageID, &v.VillageName, &v.Members); err != nil {
			rows.Close()
			return c, fmt.Errorf("school: coverage: %w", err)
		}
		at[v.VillageID] = len(c.Villages)
		c.Villages = append(c.Villages, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, err
	}
	// Reached in the period, and members now with no lesson in the last six months, by branch.
	for _, q := range []struct {
		sql  string
		args []any
		set  func(v *VillageCoverage, n int)
	}{
		{`SELECT village_id, COUNT(DISTINCT resident_id) FROM attend_months WHERE kind = $1 AND town_id = $2 AND month >= $3 AND month <= $4 AND party GROUP BY village_id`,
			[]any{LessonKind, townID, p.From, p.To}, func(v *VillageCoverage, n int) { v.Reached = n }},
		{`SELECT r.village_id, COUNT(*) FROM residents r JOIN villages v ON v.id = r.village_id
			WHERE v.town_id = $1 AND r.party_member AND r.status = 'active'
			AND NOT EXISTS (SELECT 1 FROM attend_months m WHERE m.resident_id = r.id AND m.kind = $2 AND m.month >= $3) GROUP BY r.village_id`,
			[]any{townID, LessonKind, six}, func(v *VillageCoverage, n int) { v.NotReached6 = n }},
	} {
		rows, err := r.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			return c, fmt.Errorf("school: coverage: %w", err)
		}
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return c, fmt.Errorf("school: coverage: %w", err)
			}
			if i, ok := at[id]; ok {
				q.set(&c.Villages[i], n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, err
		}
	}
	for _, v := range c.Villages {
		c.Members, c.Reached, c.NotReached6 = c.Members+v.Members, c.Reached+v.Reached, c.NotReached6+v.NotReached6
	}
	return c, nil
}

// Member is a party member as the coverage lists them.
type Member struct {
	ResidentID  int64     `json:"resident_id"`
	Name        string    `json:"name"`
	VillageName string    `json:"village_name"`
	LastLesson  time.Time `json:"last_lesson,omitzero"`
}

// maxNotReached bounds the names listed for a branch.
const maxNotReached = 500

// NotReached lists a branch's party members with no lesson attended in the six months to now, by
// name, with their last lesson if any: for the town's staff and the branch's own.
func (s *Service) NotReached(ctx context.Context, a *auth.Actor, villageID int64) ([]Member, error) {
	v, err := s.village(ctx, villageID)
	if err != nil {
		return nil, err
	}
	all, ids, err := s.coverageScope(a, v.TownID)
	if err != nil {
		return nil, err
	}
	if !all && !containsID(ids, villageID) {
		return nil, notFound
	}
	// The last lesson of each member who came to one, then the members by it: never first.
	last := map[int64]time.Time{}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT a.resident_id, e.starts_at FROM attend_entries a JOIN attend_events e ON e.id = a.event_id
		JOIN residents r ON r.id = a.resident_id
		WHERE r.village_id = $1 AND r.party_member AND e.kind = $2 AND e.cancelled_at IS NULL AND a.checked_in_at IS NOT NULL`, villageID, LessonKind)
	if err != nil {
		return nil, fmt.Errorf("school: not reached: %w", err)
	}
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("school: not reached: %w", err)
		}
		if at.After(last[id]) {
			last[id] = at
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.DB.Read().QueryContext(ctx, `SELECT r.id, r.name, v.name FROM residents r JOIN villages v ON v.id = r.village_id
		WHERE r.village_id = $1 AND r.party_member AND r.status = 'active' ORDER BY r.name, r.id`, villageID)
	if err != nil {
		return nil, fmt.Errorf("school: not reached: %w", err)
	}
	defer rows.Close()
	six := s.Now().AddDate(0, -6, 0)
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ResidentID, &m.Name, &m.VillageName); err != nil {
			return nil, fmt.Errorf("school: not reached: %w", err)
		}
		if m.LastLesson = last[m.ResidentID]; !m.LastLesson.IsZero() && !m.LastLesson.Before(six) {
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(x, y Member) int { return x.LastLesson.Compare(y.LastLesson) })
	if len(out) > maxNotReached {
		out = out[:maxNotReached]
	}
	return out, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Figures are 微党校's figures of a town for a period, for the dashboard: lessons held (started
// and not cancelled), online and offline, cancelled; the rolls and the check-ins on them
// (person-times); the distinct party members reached and the members; the attendees' ratings;
// the orders placed in the period by their status now, and the kit's three rates for them.
type Figures struct {
	TownID      int64          `json:"town_id"`
	Period      Period         `json:"period"`
	Lessons     int            `json:"lessons"`
	Online      int            `json:"online"`
	Offline     int            `json:"offline"`
	Cancelled   int            `json:"cancelled"`
	Roll        int            `json:"roll"`
	PersonTimes int            `json:"person_times"`
	Reached     int            `json:"reached"`
	Members     int            `json:"members"`
	Ratings     int            `json:"ratings"`
	RatingSum   int            `json:"rating_sum"`
	Orders      map[string]int `json:"orders"`
	Rates       flow.Rates     `json:"rates"`
}

// Attendance is the share of the rolls who checked in, in per cent.
func (f Figures) Attendance() string { return share(f.PersonTimes, f.Roll) }

// ResponseRate, ResolutionRate and SatisfactionRate are the kit's three rates of the period's
// orders, in per cent to one decimal.
func (f Figures) ResponseRate() string     { return fmt.Sprintf("%.1f", f.Rates.Response()*100) }
func (f Figures) ResolutionRate() string   { return fmt.Sprintf("%.1f", f.Rates.Resolution()*100) }
func (f Figures) SatisfactionRate() string { return fmt.Sprintf("%.1f", f.Rates.Satisfaction()*100) }

// AverageRating is the attendees' mean rating to one decimal, "–" when none.
func (f Figures) AverageRating() string {
	if f.Ratings == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", float64(f.RatingSum)/float64(f.Ratings))
}

// PeriodFigures are the figures of a town (the actor's when 0) for a period, for its school staff.
// Each is one grouped query over the period's rows: lessons, their rolls, ratings and orders.
func (s *Service) PeriodFigures(ctx context.Context, a *auth.Actor, townID int64, p Period) (Figures, error) {
	townID = townOf(a, townID)
	if roleIn(a, townID) != manager {
		return Figures{}, hide(a, townID)
	}
	f := Figures{TownID: townID, Period: p, Orders: map[string]int{}}
	r := s.DB.Read()
	now := s.Now()
	// A row per event of the period, with its counters; the person-months for those reached.
	err := r.QueryRowContext(ctx, `SELECT
			COUNT(CASE WHEN e.cancelled_at IS NULL AND e.starts_at < $4 THEN 1 END),
			COUNT(CASE WHEN e.cancelled_at IS NULL AND e.starts_at < $4 AND e.online THEN 1 END),
			COUNT(CASE WHEN e.cancelled_at IS NOT NULL THEN 1 END),
			COALESCE(SUM(CASE WHEN e.cancelled_at IS NULL AND e.starts_at < $4 THEN e.roll_count END), 0),
			COALESCE(SUM(CASE WHEN e.cancelled_at IS NULL THEN e.checked_count END), 0)
		FROM attend_events e WHERE e.town_id = $5 AND e.kind = $1 AND e.starts_at >= $2 AND e.starts_at < $3`,
		LessonKind, p.Start(), p.End(), now, townID).Scan(&f.Lessons, &f.Online, &f.Cancelled, &f.Roll, &f.PersonTimes)
	if err != nil {
		return f, fmt.Errorf("school: figures: %w", err)
	}
	f.Offline = f.Lessons - f.Online
	err = r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT resident_id) FROM attend_months WHERE kind = $1 AND town_id = $2 AND month >= $3 AND month <= $4 AND party`,
		LessonKind, townID, p.From, p.To).Scan(&f.Reached)
	if err != nil {
		return f, fmt.Errorf("school: figures: %w", err)
	}
	err = r.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents r JOIN villages v ON v.id = r.village_id WHERE v.town_id = $1 AND r.party_member AND r.status = $2`,
		townID, string(people.Active)).Scan(&f.Members)
	if err != nil {
		return f, fmt.Errorf("school: figures: %w", err)
	}
	err = r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(sr.rating), 0) FROM school_ratings sr JOIN school_lessons l ON l.id = sr.lesson_id
		WHERE l.town_id = $1 AND l.starts_at >= $2 AND l.starts_at < $3`, townID, p.Start(), p.End()).Scan(&f.Ratings, &f.RatingSum)
	if err != nil {
		return f, fmt.Errorf("school: figures: %w", err)
	}
	rows, err := r.QueryContext(ctx, `SELECT status, COUNT(*) FROM school_orders WHERE town_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY status`,
		townID, p.Start(), p.End())
	if err != nil {
		return f, fmt.Errorf("school: figures: %w", err)
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return f, fmt.Errorf("school: figures: %w", err)
		}
		f.Orders[st] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	m, err := OrderFlow.Rates(ctx, r, p.Start(), p.End(), flow.Orders{SQL: `SELECT id, 0 FROM school_orders WHERE town_id = $1`, Args: []any{townID}})
	if err != nil {
		return f, err
	}
	f.Rates = m[0]
	return f, nil
}

// OverviewFigures are the pillar's headline numbers on the staff overview of a town, this year:
// party members reached and lessons held, each linking to the coverage page. For the town's
// school staff; others see none.
func (s *Service) OverviewFigures(ctx context.Context, a *auth.Actor, townID int64) ([]web.Figure, error) {
	if roleIn(a, townID) != manager {
		return nil, nil
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return nil, err
	}
	p, err := ParsePeriod("", "", s.Now(), loc)
	if err != nil {
		return nil, err
	}
	f, err := s.PeriodFigures(ctx, a, townID, p)
	if err != nil {
		return nil, err
	}
	return []web.Figure{
		{Key: "school.figure.reached", Value: int64(f.Reached), Path: "/admin/school/coverage"},
		{Key: "school.figure.lessons", Value: int64(f.Lessons), Path: "/admin/school/coverage"},
	}, nil
}

// ---- a party member's study record

// StudyRecord is a party member's study record (学习记录) for a period: the lessons attended, their
// hours, and the ratings given; the 学习证明 prints it.
type StudyRecord struct {
	ResidentID  int64      `json:"resident_id"`
	Name        string     `json:"name"`
	VillageName string     `json:"village_name"`
	TownName    string     `json:"town_name"`
	Period      Period     `json:"period"`
	Lessons     []MyLesson `json:"lessons"`
	Minutes     int        `json:"minutes"`
	IssuedOn    string     `json:"issued_on"` // the town's today, 2026-12-03
}

// Hours is a lesson's length in hours, to one decimal.
func (l Lesson) Hours() string { return fmt.Sprintf("%.1f", l.EndsAt.Sub(l.StartsAt).Hours()) }

// IssuedText is the day the record was made, as a certificate writes it: 2026年12月3日.
func (r StudyRecord) IssuedText() string {
	t, err := time.Parse("2006-01-02", r.IssuedOn)
	if err != nil {
		return r.IssuedOn
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// Hours is the record's time in lessons, in hours to one decimal.
func (r StudyRecord) Hours() string { return fmt.Sprintf("%.1f", float64(r.Minutes)/60) }

// StudyRecord is the study record of the resident the actor is, for a period: the lessons they
// checked in to that were not cancelled.
func (s *Service) StudyRecord(ctx context.Context, a *auth.Actor, from, to string) (StudyRecord, error) {
	self := a.Self()
	if self == 0 {
		return StudyRecord{}, errs.New(errs.Forbidden, "school.lesson.not_a_resident")
	}
	if err := auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: self}); err != nil {
		return StudyRecord{}, err
	}
	var rec StudyRecord
	var townID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT r.id, r.name, v.name, v.town_id, t.name FROM residents r JOIN villages v ON v.id = r.village_id
		JOIN towns t ON t.id = v.town_id WHERE r.id = $1`, self).
		Scan(&rec.ResidentID, &rec.Name, &rec.VillageName, &townID, &rec.TownName)
	if db.IsNoRows(err) {
		return rec, notFound
	}
	if err != nil {
		return rec, fmt.Errorf("school: study record: %w", err)
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return rec, err
	}
	if rec.Period, err = ParsePeriod(from, to, s.Now(), loc); err != nil {
		return rec, err
	}
	rec.IssuedOn = clock.Day(s.Now().In(loc))
	all, err := s.Mine(ctx, a)
	if err != nil {
		return rec, err
	}
	rec.Lessons = []MyLesson{}
	for i := len(all) - 1; i >= 0; i-- { // oldest first, as a record reads
		l := all[i]
		if l.CheckedInAt.IsZero() || l.Status == "cancelled" || !rec.Period.Contains(l.StartsAt) {
			continue
		}
		rec.Lessons = append(rec.Lessons, l)
		rec.Minutes += int(l.EndsAt.Sub(l.StartsAt) / time.Minute)
	}
	return rec, nil
}
