package consult

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/people"
	"siwei/internal/web"
)

// The statuses of a person on the care schedule: visited within their interval (ok), due within
// careDueSoon days, or overdue (never visited, or the interval has passed).
const (
	CareOK      = "ok"
	CareDue     = "due"
	CareOverdue = "overdue"
)

// careDueSoon is how many days before the due date a visit is shown as due.
const careDueSoon = 3

// ScheduleRow is a tagged resident on the care schedule (走访计划): their tags and interval (the
// shortest of their tags'), their household's contact cadre, its last visit, when the next is due
// and where that stands.
type ScheduleRow struct {
	ResidentID  int64            `json:"resident_id"`
	Name        string           `json:"name"`
	Tags        []people.CareTag `json:"tags"`
	VillageID   int64            `json:"village_id"`
	VillageName string           `json:"village_name"`
	HouseholdID int64            `json:"household_id"`
	Household   string           `json:"household"`
	MemberID    int64            `json:"member_id,omitzero"`
	MemberName  string           `json:"member_name,omitempty"`
	Interval    int              `json:"interval_days"`
	LastVisit   string           `json:"last_visit,omitempty"`
	Due         string           `json:"due,omitempty"`
	Status      string           `json:"status"`
}

// ScheduleFilter narrows the schedule: by village, member and status.
type ScheduleFilter struct {
	VillageID int64  `json:"village_id"`
	MemberID  int64  `json:"member_id"`
	Status    string `json:"status"`
}

// careSchedule is the schedule of a town, or of a member's households (theirs, and those of their
// villages no one has), sorted overdue first and by due date.
func (s *Service) careSchedule(ctx context.Context, q db.Querier, townID int64, member *Member) ([]ScheduleRow, error) {
	intervals, err := s.careIntervals(ctx, q, townID)
	if err != nil {
		return nil, err
	}
	today, err := s.careToday(ctx, townID)
	if err != nil {
		return nil, err
	}
	last := map[int64]string{}
	rows, err := q.QueryContext(ctx, `SELECT household_id, MAX(visited_on) FROM consult_visits WHERE town_id = $1 GROUP BY household_id`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: last visits: %w", err)
	}
	for rows.Next() {
		var h int64
		var d string
		if err := rows.Scan(&h, &d); err != nil {
			rows.Close()
			return nil, err
		}
		last[h] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT r.id, r.name, r.care_tags, r.village_id, v.name, r.household_id, h.number, COALESCE(ch.member_id, 0), COALESCE(m.name, '')
		FROM residents r JOIN villages v ON v.id = r.village_id JOIN households h ON h.id = r.household_id
		LEFT JOIN consult_care_households ch ON ch.household_id = r.household_id LEFT JOIN consult_care_members m ON m.id = ch.member_id
		WHERE r.town_id = $1 AND r.status = 'active' AND r.care_tags <> '' ORDER BY v.id, h.number, r.id`, townID)
	if err != nil {
		return nil, fmt.Errorf("consult: care schedule: %w", err)
	}
	defer rows.Close()
	out := []ScheduleRow{}
	for rows.Next() {
		var r ScheduleRow
		var tags string
		if err := rows.Scan(&r.ResidentID, &r.Name, &tags, &r.VillageID, &r.VillageName, &r.HouseholdID, &r.Household, &r.MemberID, &r.MemberName); err != nil {
			return nil, err
		}
		if member != nil && r.MemberID != member.ID && (r.MemberID != 0 || !member.HasVillage(r.VillageID)) {
			continue
		}
		for _, t := range strings.Split(strings.Trim(tags, ","), ",") {
			if d, ok := intervals[people.CareTag(t)]; ok {
				r.Tags = append(r.Tags, people.CareTag(t))
				if r.Interval == 0 || d < r.Interval {
					r.Interval = d
				}
			}
		}
		if r.Interval == 0 {
			continue
		}
		r.LastVisit = last[r.HouseholdID]
		r.Status = CareOverdue
		if d, ok := careDay(r.LastVisit); ok {
			due := d.AddDate(0, 0, r.Interval)
			r.Due = due.Format("2006-01-02")
			switch {
			case today.After(due):
				r.Status = CareOverdue
			case !today.Before(due.AddDate(0, 0, -careDueSoon)):
				r.Status = CareDue
			default:
				r.Status = CareOK
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rank := map[string]int{CareOverdue: 0, CareDue: 1, CareOK: 2}
	slices.SortStableFunc(out, func(a, b ScheduleRow) int {
		if rank[a.Status] != rank[b.Status] {
			return rank[a.Status] - rank[b.Status]
		}
		return strings.Compare(a.Due, b.Due)
	})
	return out, nil
}

// Schedule is the care schedule the actor may see: a member's households, or the whole town for
// its managers, filtered.
func (s *Service) Schedule(ctx context.Context, a *auth.Actor, f ScheduleFilter) ([]ScheduleRow, error) {
	q := s.DB.Read()
	var list []ScheduleRow
	m, ok, err := s.careMe(ctx, q, a)
	if err != nil {
		return nil, err
	}
	switch {
	case a != nil && manages(a, a.TownID):
		list, err = s.careSchedule(ctx, q, a.TownID, nil)
	case ok:
		list, err = s.careSchedule(ctx, q, m.TownID, &m)
	case a != nil && auth.Can(a, PermCare, auth.Scope{TownID: a.TownID}) == nil:
		return []ScheduleRow{}, nil
	default:
		return nil, auth.Refuse(a, PermCare)
	}
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, r := range list {
		if (f.VillageID == 0 || r.VillageID == f.VillageID) && (f.MemberID == 0 || r.MemberID == f.MemberID) && (f.Status == "" || r.Status == f.Status) {
			out = append(out, r)
		}
	}
	return out, nil
}

// careTodos counts the overdue visits on a member's schedule, and on the town's for its managers.
func (s *Service) careTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || auth.Can(a, PermCare, auth.Scope{TownID: a.TownID}) != nil {
		return nil, nil
	}
	list, err := s.Schedule(ctx, a, ScheduleFilter{Status: CareOverdue})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return []web.Todo{{Key: "consult.care.todo", Count: len(list), Path: "/admin/consult/care/schedule?status=overdue"}}, nil
}

// CareFigures are the care team's numbers for a town: visits made between two days (inclusive),
// the tagged people, those covered (visited within their interval, as of today), those overdue,
// and the needs found per visit.
type CareFigures struct {
	Visits        int     `json:"visits"`
	Tagged        int     `json:"tagged"`
	Covered       int     `json:"covered"`
	Overdue       int     `json:"overdue"`
	NeedsFound    int     `json:"needs_found"`
	NeedsPerVisit float64 `json:"needs_per_visit"`
}

// CareOverdueOf counts a town's households (of one village, when villageID is not 0) whose regular
// visit is overdue today, read through q: for a caller that decided who may see the town's
// figures (the dashboard).
func (s *Service) CareOverdueOf(ctx context.Context, q db.Querier, townID, villageID int64) (int, error) {
	list, err := s.careSchedule(ctx, q, townID, nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range list {
		if r.Status == CareOverdue && (villageID == 0 || r.VillageID == villageID) {
			n++
		}
	}
	return n, nil
}

// CareFigures counts the care team's work in a town between from and to (days, 2026-12-01): the
// town's managers only.
func (s *Service) CareFigures(ctx context.Context, a *auth.Actor, townID int64, from, to string) (CareFigures, error) {
	var c CareFigures
	townID = careTown(a, townID)
	if !manages(a, townID) {
		return c, auth.Refuse(a, PermManage)
	}
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(needs_found), 0) FROM consult_visits WHERE town_id = $1 AND visited_on >= $2 AND visited_on <= $3`,
		townID, from, to).Scan(&c.Visits, &c.NeedsFound); err != nil {
		return c, fmt.Errorf("consult: care figures: %w", err)
	}
	list, err := s.careSchedule(ctx, q, townID, nil)
	if err != nil {
		return c, err
	}
	c.Tagged = len(list)
	for _, r := range list {
		if r.Status == CareOverdue {
			c.Overdue++
		} else {
			c.Covered++
		}
	}
	if c.Visits > 0 {
		c.NeedsPerVisit = float64(c.NeedsFound) / float64(c.Visits)
	}
	return c, nil
}
