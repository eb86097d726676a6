package honours

import (
	"context"
	"fmt"
	"slices"
	"time"

	"siwei/internal/auth"
	"siwei/internal/errs"
)

// CalendarPillars are where the year's activities come from, each kept once by the pillar that
// holds it: 微志愿's shifts, 微党校's lessons, 微协商's meetings, 微联盟's activities and the town's
// actions. An activity's roll in the attendance kit is not another activity.
var CalendarPillars = []string{"volunteer", "school", "consult", "alliance", "action"}

// Calendar is a town's year of activities (全年全镇累计开展活动): every pillar's, each counted once,
// by month of the town's calendar, cancelled ones left out.
type Calendar struct {
	Year   int             `json:"year"`
	Total  int             `json:"total"`
	Months []CalendarMonth `json:"months"`
}

// CalendarMonth is a month's activities, counted by pillar, and listed.
type CalendarMonth struct {
	Month    string         `json:"month"`
	Count    int            `json:"count"`
	ByPillar map[string]int `json:"by_pillar"`
	Items    []CalendarItem `json:"items"`
}

// CalendarItem is one activity of the calendar.
type CalendarItem struct {
	Pillar  string    `json:"pillar"`
	RefID   int64     `json:"ref_id"`
	Title   string    `json:"title"`
	Day     string    `json:"day,omitempty"` // empty for an action, which is of a month
	Village string    `json:"village,omitempty"`
	At      time.Time `json:"-"`
}

// calendarSources are the queries of each pillar's activities in a span ($2 to $3) of a town ($1):
// pillar, id, title, start, village. A volunteer post's shifts are its occasions, each one an
// activity; a meeting or an activity for several villages names none.
var calendarSources = []struct{ pillar, sql string }{
	{"volunteer", `SELECT s.id, p.title, s.starts_at, v.name FROM volunteer_shifts s JOIN volunteer_posts p ON p.id = s.post_id JOIN villages v ON v.id = s.village_id
		WHERE s.town_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3`},
	{"school", `SELECT l.id, c.title, l.starts_at, v.name FROM school_lessons l JOIN school_courses c ON c.id = l.course_id JOIN villages v ON v.id = l.village_id
		WHERE l.town_id = $1 AND l.status <> 'cancelled' AND l.starts_at >= $2 AND l.starts_at < $3`},
	{"consult", `SELECT m.id, m.title, m.starts_at, COALESCE(v.name, '') FROM consult_meetings m LEFT JOIN villages v ON v.id = m.village_id
		WHERE m.town_id = $1 AND m.status <> 'cancelled' AND m.starts_at >= $2 AND m.starts_at < $3`},
	{"alliance", `SELECT a.id, a.title, a.starts_at, '' FROM alliance_activities a
		WHERE a.town_id = $1 AND a.status <> 'cancelled' AND a.starts_at >= $2 AND a.starts_at < $3`},
}

// Calendar is a town's year (0: this year) of activities. The town's staff and residents see
// their own town's.
func (s *Service) Calendar(ctx context.Context, a *auth.Actor, townID int64, year int) (Calendar, error) {
	q := s.DB.Read()
	me, ok, err := s.me(ctx, q, a)
	if err != nil {
		return Calendar{}, err
	}
	if townID == 0 {
		townID = townOf(a, 0)
		if townID == 0 && ok {
			townID = me.TownID
		}
	}
	all, villages := villageScope(a, townID)
	if townID == 0 || !manages(a, townID) && !all && len(villages) == 0 && !(ok && me.TownID == townID) {
		return Calendar{}, notFound
	}
	if year == 0 {
		month, err := s.townMonth(ctx, townID)
		if err != nil {
			return Calendar{}, err
		}
		fmt.Sscan(month[:4], &year)
	}
	if year < 2000 || year > 2100 {
		return Calendar{}, errs.Field("year", "honours.action.year_invalid")
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return Calendar{}, err
	}
	from := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(1, 0, 0)
	c := Calendar{Year: year, Months: make([]CalendarMonth, 12)}
	for i := range c.Months {
		c.Months[i] = CalendarMonth{Month: from.AddDate(0, i, 0).Format("2006-01"), ByPillar: map[string]int{}, Items: []CalendarItem{}}
	}
	add := func(it CalendarItem, month int) {
		m := &c.Months[month]
		m.Items = append(m.Items, it)
		m.Count++
		m.ByPillar[it.Pillar]++
		c.Total++
	}
	for _, src := range calendarSources {
		rows, err := q.QueryContext(ctx, src.sql, townID, from.UTC(), to.UTC())
		if err != nil {
			return Calendar{}, fmt.Errorf("honours: calendar of %s: %w", src.pillar, err)
		}
		for rows.Next() {
			it := CalendarItem{Pillar: src.pillar}
			if err := rows.Scan(&it.RefID, &it.Title, &it.At, &it.Village); err != nil {
				rows.Close()
				return Calendar{}, fmt.Errorf("honours: calendar of %s: %w", src.pillar, err)
			}
			local := it.At.In(loc)
			it.Day = local.Format("2006-01-02")
			add(it, int(local.Month())-1)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Calendar{}, err
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT id, title, month FROM honours_actions WHERE town_id = $1 AND status <> 'cancelled' AND month LIKE $2`, townID, fmt.Sprintf("%04d-%%", year))
	if err != nil {
		return Calendar{}, fmt.Errorf("honours: calendar of actions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it := CalendarItem{Pillar: "action"}
		var month string
		if err := rows.Scan(&it.RefID, &it.Title, &month); err != nil {
			return Calendar{}, fmt.Errorf("honours: calendar of actions: %w", err)
		}
		t, err := time.Parse("2006-01", month)
		if err != nil || t.Year() != year {
			continue
		}
		add(it, int(t.Month())-1)
	}
	if err := rows.Err(); err != nil {
		return Calendar{}, err
	}
	for i := range c.Months {
		slices.SortStableFunc(c.Months[i].Items, func(x, y CalendarItem) int {
			switch {
			case x.Day == y.Day:
				return 0
			case x.Day == "":
				return -1
			case y.Day == "":
				return 1
			case x.Day < y.Day:
				return -1
			}
			return 1
		})
	}
	return c, nil
}
