package volunteer

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Post is a 志愿岗位: what a team asks volunteers to do, where, with which skills, open to the
// village or the whole town, rewarded under a bank rule for each completed shift.
type Post struct {
	ID            int64    `json:"id"`
	TownID        int64    `json:"town_id"`
	VillageID     int64    `json:"village_id"`
	VillageName   string   `json:"village_name"`
	TeamID        int64    `json:"team_id"`
	TeamKind      TeamKind `json:"team_kind"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Place         string   `json:"place"`
	Skills        []string `json:"skills"`
	OpenTo        string   `json:"open_to"` // village or town
	RuleCode      string   `json:"rule_code"`
	Recurrence    string   `json:"recurrence"`
	Status        string   `json:"status"` // open or closed
	CreatedByName string   `json:"created_by_name"`
	// NextShift is the start of the next shift that has not begun, zero when none.
	NextShift time.Time `json:"next_shift,omitzero"`
	Upcoming  int       `json:"upcoming"`
}

// ShiftInput is one shift of a post: a day and a time span in the town's zone, and its places.
type ShiftInput struct {
	Date     string `json:"date"`  // 2026-12-01
	Start    string `json:"start"` // 09:00
	End      string `json:"end"`   // 11:00
	Capacity int    `json:"capacity"`
}

// Repeat generates the shifts of a recurring post: on each listed weekday (1 Monday … 7 Sunday)
// from From to Until, the same hours and places.
type Repeat struct {
	Weekdays []int  `json:"weekdays"`
	Start    string `json:"start"`
	End      string `json:"end"`
	From     string `json:"from"`
	Until    string `json:"until"`
	Capacity int    `json:"capacity"`
}

// PostInput publishes a post with its one-off shifts and, or, a weekly pattern.
type PostInput struct {
	TeamID      int64        `json:"team_id"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Place       string       `json:"place"`
	Skills      []string     `json:"skills"`
	OpenTo      string       `json:"open_to"`
	RuleCode    string       `json:"rule_code"`
	Shifts      []ShiftInput `json:"shifts"`
	Repeat      *Repeat      `json:"repeat,omitempty"`
}

// MaxShifts is the most shifts one request may create.
const MaxShifts = 400

// shiftSpan is a validated shift.
type shiftSpan struct {
	day        string
	start, end time.Time
	capacity   int
}

// timeOfDay parses HH:MM.
func timeOfDay(s string) (h, m int, ok bool) {
	t, err := time.Parse(clock.TimeLayout, strings.TrimSpace(s))
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

// span validates one shift in a town's zone: a real date, end after start, not begun, places > 0.
func span(f *errs.Fields, prefix string, day time.Time, start, end string, capacity int, loc *time.Location, now time.Time) (shiftSpan, bool) {
	sh, sm, ok1 := timeOfDay(start)
	eh, em, ok2 := timeOfDay(end)
	if !ok1 {
		f.Add(prefix+"start", "volunteer.time_invalid")
	}
	if !ok2 {
		f.Add(prefix+"end", "volunteer.time_invalid")
	}
	badCap := capacity <= 0 || capacity > 1000
	if badCap {
		f.Add(prefix+"capacity", "volunteer.capacity_invalid")
	}
	if !ok1 || !ok2 {
		return shiftSpan{}, false
	}
	st := time.Date(day.Year(), day.Month(), day.Day(), sh, sm, 0, 0, loc)
	en := time.Date(day.Year(), day.Month(), day.Day(), eh, em, 0, 0, loc)
	if !en.After(st) {
		f.Add(prefix+"end", "volunteer.end_before_start")
		return shiftSpan{}, false
	}
	if !st.After(now) {
		f.Add(prefix+"date", "volunteer.shift_in_past")
		return shiftSpan{}, false
	}
	if badCap {
		return shiftSpan{}, false
	}
	return shiftSpan{day: clock.Day(day), start: st.UTC(), end: en.UTC(), capacity: capacity}, true
}

// spans validates a post's shifts and expands its weekly pattern.
func spans(f *errs.Fields, shifts []ShiftInput, rep *Repeat, loc *time.Location, now time.Time) ([]shiftSpan, string) {
	var out []shiftSpan
	for i, in := range shifts {
		p := fmt.Sprintf("shifts[%d].", i)
		d, ok := clock.ParseDay(in.Date, loc)
		if !ok || d.IsZero() {
			f.Add(p+"date", "volunteer.date_invalid")
			continue
		}
		if sp, ok := span(f, p, d, in.Start, in.End, in.Capacity, loc, now); ok {
			out = append(out, sp)
		}
	}
	recurrence := ""
	if rep != nil {
		from, ok1 := clock.ParseDay(rep.From, loc)
		until, ok2 := clock.ParseDay(rep.Until, loc)
		ok1, ok2 = ok1 && !from.IsZero(), ok2 && !until.IsZero() // a day the form left empty is not a day
		if !ok1 {
			f.Add("repeat.from", "volunteer.date_invalid")
		}
		if !ok2 {
			f.Add("repeat.until", "volunteer.date_invalid")
		}
		days := slices.Clone(rep.Weekdays)
		slices.Sort(days)
		days = slices.Compact(days)
		if len(days) == 0 || days[0] < 1 || days[len(days)-1] > 7 {
			f.Add("repeat.weekdays", "volunteer.weekdays_invalid")
			return out, ""
		}
		if !ok1 || !ok2 {
			return out, ""
		}
		if until.Before(from) {
			f.Add("repeat.until", "volunteer.until_before_from")
			return out, ""
		}
		if until.Sub(from) > 366*24*time.Hour {
			f.Add("repeat.until", "volunteer.repeat_too_long")
			return out, ""
		}
		for d := from; !d.After(until); d = d.AddDate(0, 0, 1) {
			wd := int(d.Weekday())
			if wd == 0 {
				wd = 7
			}
			if !slices.Contains(days, wd) {
				continue
			}
			if d.Equal(from) || len(out) == 0 {
				// Report a bad time or a past first day once, not on every generated shift.
				sp, ok := span(f, "repeat.", d, rep.Start, rep.End, rep.Capacity, loc, now)
				if !ok {
					return out, ""
				}
				out = append(out, sp)
				continue
			}
			if sp, ok := span(&errs.Fields{}, "", d, rep.Start, rep.End, rep.Capacity, loc, now); ok {
				out = append(out, sp)
			}
		}
		var names []string
		for _, d := range days {
			names = append(names, fmt.Sprint(d))
		}
		recurrence = fmt.Sprintf("weekly:%s %s-%s", strings.Join(names, ","), strings.TrimSpace(rep.Start), strings.TrimSpace(rep.End))
	}
	if len(out) > MaxShifts {
		f.Add("shifts", "volunteer.too_many_shifts", MaxShifts)
	}
	return out, recurrence
}

// PostRule is a bank rule a post may pay under, as the publish form and the post show it: its
// name and points (the lowest and highest over the member classes, which may differ). The code is
// what the form sends and the post keeps; pages never show it.
type PostRule struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	MinPoints int64  `json:"min_points"`
	MaxPoints int64  `json:"max_points"`
}

// rules lists the bank rules in force in a village on a day, for any member class: those a post
// may pay under, in the bank's order.
func (s *Service) rules(ctx context.Context, townID, villageID int64, day string) ([]PostRule, error) {
	var out []PostRule
	at := map[string]int{}
	for _, c := range []people.MemberClass{people.Villager, people.PartyMember, people.Minor} {
		rules, err := s.Bank.RulesInForce(ctx, townID, villageID, c, day)
		if err != nil {
			return nil, fmt.Errorf("volunteer: rules: %w", err)
		}
		for _, r := range rules {
			i, ok := at[r.Code]
			if !ok {
				at[r.Code] = len(out)
				out = append(out, PostRule{Code: r.Code, Name: r.Name, MinPoints: r.Points, MaxPoints: r.Points})
				continue
			}
			out[i].MinPoints, out[i].MaxPoints = min(out[i].MinPoints, r.Points), max(out[i].MaxPoints, r.Points)
		}
	}
	return out, nil
}

// Rules lists the bank rules a post in a village the actor leads may pay under today.
func (s *Service) Rules(ctx context.Context, a *auth.Actor, villageID int64) ([]PostRule, error) {
	v, err := s.village(ctx, villageID)
	if err != nil {
		return nil, err
	}
	if lead(a, v.TownID, v.ID) != nil {
		return nil, notFound
	}
	t, err := s.People.Town(ctx, v.TownID)
	if err != nil {
		return nil, err
	}
	return s.rules(ctx, v.TownID, v.ID, t.Clock(s.Now).Day())
}

// RuleOf is the rule a post pays under as it stands in the post's village today; ok is false
// when the rule is no longer in force there.
func (s *Service) RuleOf(ctx context.Context, a *auth.Actor, p Post) (rule PostRule, ok bool, err error) {
	rules, err := s.Rules(ctx, a, p.VillageID)
	if err != nil {
		return PostRule{}, false, err
	}
	for _, r := range rules {
		if r.Code == p.RuleCode {
			return r, true, nil
		}
	}
	return PostRule{}, false, nil
}

// CreatePost publishes a post of a team with its shifts. Team leaders, village and town staff of
// the team's village may publish; the bank rule must be in force there.
func (s *Service) CreatePost(ctx context.Context, a *auth.Actor, in PostInput) (Post, error) {
	in.Title, in.Description, in.Place, in.OpenTo, in.RuleCode = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description), strings.TrimSpace(in.Place), strings.TrimSpace(in.OpenTo), strings.TrimSpace(in.RuleCode)
	if in.TeamID <= 0 {
		return Post{}, errs.Field("team_id", "field.required")
	}
	t, err := s.team(ctx, s.DB.Read(), in.TeamID)
	if err != nil {
		return Post{}, errs.Field("team_id", "volunteer.team_unknown")
	}
	if err := lead(a, t.TownID, t.VillageID); err != nil {
		return Post{}, auth.Hide(err)
	}
	town, err := s.People.Town(ctx, t.TownID)
	if err != nil {
		return Post{}, err
	}
	var f errs.Fields
	if in.Title == "" {
		f.Add("title", "field.required")
	} else if utf8.RuneCountInString(in.Title) > 60 {
		f.Add("title", "field.too_long")
	}
	if in.Place == "" {
		f.Add("place", "field.required")
	} else if utf8.RuneCountInString(in.Place) > 100 {
		f.Add("place", "field.too_long")
	}
	if utf8.RuneCountInString(in.Description) > 2000 {
		f.Add("description", "field.too_long")
	}
	skills, ok := cleanList(in.Skills, Skills)
	if !ok {
		f.Add("skills", "volunteer.skill_unknown")
	}
	if in.OpenTo == "" {
		in.OpenTo = "village"
	}
	if in.OpenTo != "village" && in.OpenTo != "town" {
		f.Add("open_to", "volunteer.open_to_invalid")
	}
	today := town.Clock(s.Now).Day()
	if in.RuleCode == "" {
		f.Add("rule_code", "field.required")
	} else if rules, err := s.rules(ctx, t.TownID, t.VillageID, today); err != nil {
		return Post{}, err
	} else if !slices.ContainsFunc(rules, func(r PostRule) bool { return r.Code == in.RuleCode }) {
		f.Add("rule_code", "bank.rule_unknown")
	}
	sp, recurrence := spans(&f, in.Shifts, in.Repeat, town.Location(), s.Now())
	if len(sp) == 0 && !f.Has("shifts") && len(f) == 0 {
		f.Add("shifts", "volunteer.shifts_required")
	}
	if err := f.Err(); err != nil {
		return Post{}, err
	}
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO volunteer_posts (town_id, village_id, team_id, title, description, place, skills, open_to, rule_code, recurrence, created_by, created_by_name, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			t.TownID, t.VillageID, t.ID, in.Title, in.Description, in.Place, strings.Join(skills, ","), in.OpenTo, in.RuleCode, recurrence, a.AccountID, a.Name, s.Now()).Scan(&id); err != nil {
			return fmt.Errorf("volunteer: post: %w", err)
		}
		if err := s.insertShifts(ctx, tx, id, t, sp); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.post.create", Entity: "volunteer_post", EntityID: id, TownID: t.TownID, VillageID: t.VillageID, Summary: in.Title})
	})
	if err != nil {
		return Post{}, err
	}
	return s.post(ctx, id)
}

func (s *Service) insertShifts(ctx context.Context, tx *sql.Tx, postID int64, t Team, sp []shiftSpan) error {
	for _, x := range sp {
		if _, err := tx.ExecContext(ctx, `INSERT INTO volunteer_shifts (post_id, town_id, village_id, day, starts_at, ends_at, capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			postID, t.TownID, t.VillageID, x.day, x.start, x.end, x.capacity, s.Now()); err != nil {
			if db.IsUnique(err) {
				return errs.Field("shifts", "volunteer.shift_exists", x.day)
			}
			return fmt.Errorf("volunteer: shifts: %w", err)
		}
	}
	return nil
}

// AddShifts adds shifts to an open post.
func (s *Service) AddShifts(ctx context.Context, a *auth.Actor, postID int64, shifts []ShiftInput, rep *Repeat) (int, error) {
	p, err := s.postFor(ctx, a, postID)
	if err != nil {
		return 0, err
	}
	if p.Status != "open" {
		return 0, errs.New(errs.Conflict, "volunteer.post_closed")
	}
	town, err := s.People.Town(ctx, p.TownID)
	if err != nil {
		return 0, err
	}
	var f errs.Fields
	sp, _ := spans(&f, shifts, rep, town.Location(), s.Now())
	if len(sp) == 0 && len(f) == 0 {
		f.Add("shifts", "volunteer.shifts_required")
	}
	if err := f.Err(); err != nil {
		return 0, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.insertShifts(ctx, tx, p.ID, Team{ID: p.TeamID, TownID: p.TownID, VillageID: p.VillageID}, sp)
	})
	return len(sp), err
}

// ClosePost closes a post: no more sign-ups; shifts already run can still be completed.
func (s *Service) ClosePost(ctx context.Context, a *auth.Actor, postID int64, reason string) (Post, error) {
	p, err := s.postFor(ctx, a, postID)
	if err != nil {
		return p, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE volunteer_posts SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open'`, s.Now(), p.ID); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "volunteer.post.close", Entity: "volunteer_post", EntityID: p.ID, TownID: p.TownID, VillageID: p.VillageID,
			Summary: auth.Summarize(map[string]any{"status": "open"}, map[string]any{"status": "closed", "title": p.Title, "reason": reason})})
	})
	if err != nil {
		return p, err
	}
	return s.post(ctx, p.ID)
}

const postCols = `p.id, p.town_id, p.village_id, v.name, p.team_id, t.kind, p.title, p.description, p.place, p.skills, p.open_to, p.rule_code, p.recurrence, p.status, p.created_by_name`

func scanPost(sc interface{ Scan(...any) error }, extra ...any) (Post, error) {
	var p Post
	var kind, skills string
	err := sc.Scan(append([]any{&p.ID, &p.TownID, &p.VillageID, &p.VillageName, &p.TeamID, &kind, &p.Title, &p.Description, &p.Place, &skills, &p.OpenTo, &p.RuleCode, &p.Recurrence, &p.Status, &p.CreatedByName}, extra...)...)
	p.TeamKind, p.Skills = TeamKind(kind), splitList(skills)
	return p, err
}

func (s *Service) post(ctx context.Context, id int64) (Post, error) {
	p, err := scanPost(s.DB.Read().QueryRowContext(ctx, `SELECT `+postCols+` FROM volunteer_posts p JOIN volunteer_teams t ON t.id = p.team_id JOIN villages v ON v.id = p.village_id WHERE p.id = $1`, id))
	if db.IsNoRows(err) {
		return p, notFound
	}
	return p, err
}

// postFor loads a post that the actor may lead.
func (s *Service) postFor(ctx context.Context, a *auth.Actor, id int64) (Post, error) {
	p, err := s.post(ctx, id)
	if err != nil {
		return p, err
	}
	if err := lead(a, p.TownID, p.VillageID); err != nil {
		return Post{}, auth.Hide(err)
	}
	return p, nil
}

// Post returns a post the actor may see: staff of its village, or a resident it is open to.
func (s *Service) Post(ctx context.Context, a *auth.Actor, id int64) (Post, error) {
	p, err := s.post(ctx, id)
	if err != nil {
		return p, err
	}
	if lead(a, p.TownID, p.VillageID) == nil {
		return p, nil
	}
	if r, err := s.selfResident(ctx, a); err != nil || !openTo(p, r) {
		return Post{}, notFound
	}
	return p, nil
}

func openTo(p Post, r people.Resident) bool {
	return r.TownID == p.TownID && (p.OpenTo == "town" || r.VillageID == p.VillageID)
}

// PostFilter selects posts. Staff see their villages' posts (VillageID narrows); residents see the
// open posts open to them, their own village's first.
type PostFilter struct {
	VillageID int64  `json:"village_id"`
	Status    string `json:"status"`
	Kind      string `json:"kind"`
}

// Posts lists posts with their next shift and how many shifts are still to come.
func (s *Service) Posts(ctx context.Context, a *auth.Actor, f PostFilter) ([]Post, error) {
	now := s.Now()
	// The next shift is joined as a row, not taken as MIN(starts_at): SQLite answers an aggregate
	// of timestamps as text, a column as a time.
	q := `SELECT ` + postCols + `, nx.starts_at, (SELECT COUNT(*) FROM volunteer_shifts sh WHERE sh.post_id = p.id AND sh.starts_at > $1)
		FROM volunteer_posts p JOIN volunteer_teams t ON t.id = p.team_id JOIN villages v ON v.id = p.village_id
		LEFT JOIN volunteer_shifts nx ON nx.id = (SELECT sh.id FROM volunteer_shifts sh WHERE sh.post_id = p.id AND sh.starts_at > $1 ORDER BY sh.starts_at, sh.id LIMIT 1)
		WHERE `
	args := []any{now}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var own int64
	if a.IsStaff() && a.ActingFor == nil {
		scope, ok, err := s.staffScope(ctx, a, f.VillageID, "p", arg)
		if err != nil || !ok {
			return []Post{}, err
		}
		q += scope
		if f.Status == "open" || f.Status == "closed" {
			q += ` AND p.status = ` + arg(f.Status)
		}
	} else {
		r, err := s.selfResident(ctx, a)
		if err != nil {
			return nil, err
		}
		own = r.VillageID
		q += `p.town_id = ` + arg(r.TownID) + ` AND p.status = 'open' AND (p.open_to = 'town' OR p.village_id = ` + arg(r.VillageID) + `)`
	}
	if TeamKind(f.Kind).Valid() {
		q += ` AND t.kind = ` + arg(f.Kind)
	}
	q += ` ORDER BY p.id DESC LIMIT 500`
	rows, err := s.DB.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("volunteer: posts: %w", err)
	}
	defer rows.Close()
	out := []Post{}
	for rows.Next() {
		var next sql.Null[time.Time]
		var upcoming int
		p, err := scanPost(rows, &next, &upcoming)
		if err != nil {
			return nil, err
		}
		p.Upcoming, p.NextShift = upcoming, next.V
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if own != 0 {
		slices.SortStableFunc(out, func(x, y Post) int {
			return boolInt(x.VillageID != own) - boolInt(y.VillageID != own)
		})
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// staffScope is the condition on a table (by its alias) selecting what staff lead: the village
// asked for, or all the villages they lead (Villages decides both); ok is false when they lead none.
func (s *Service) staffScope(ctx context.Context, a *auth.Actor, villageID int64, alias string, arg func(any) string) (cond string, ok bool, err error) {
	vs, chosen, err := s.Villages(ctx, a, villageID)
	if err != nil {
		return "", false, err
	}
	if villageID != 0 {
		return alias + `.village_id = ` + arg(chosen), true, nil
	}
	if len(vs) == 0 {
		return "", false, nil
	}
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = arg(v.ID)
	}
	return alias + `.village_id IN (` + strings.Join(ps, ", ") + `)`, true, nil
}
