package honours

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/school"
	"siwei/internal/web"
)

// Weights is a town's published formula of the 流动红旗 (rotating red flag), in whole weights from
// 0 to 100: a village's score in a month is
//
//	Points × points earned per resident in the register
//	+ Hours × 微志愿 hours served per resident
//	+ Lessons × the share of its party members who attended a 微党校 lesson (0 to 1),
//
// rounded to thousandths. The village or villages with the highest score hold the flag.
type Weights struct {
	Points        int       `json:"points"`
	Hours         int       `json:"hours"`
	Lessons       int       `json:"lessons"`
	UpdatedByName string    `json:"updated_by_name,omitempty"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
}

// DefaultWeights is the formula of a town that never set one: points per head alone.
var DefaultWeights = Weights{Points: 1}

// maxWeight bounds a weight.
const maxWeight = 100

// Validate names each weight out of range, and refuses a formula that weighs nothing.
func (w Weights) Validate() error {
	var f errs.Fields
	for _, x := range []struct {
		field string
		v     int
	}{{"points", w.Points}, {"hours", w.Hours}, {"lessons", w.Lessons}} {
		if x.v < 0 || x.v > maxWeight {
			f.Add(x.field, "honours.flag.weight_range", maxWeight)
		}
	}
	if f.Err() == nil && w.Points+w.Hours+w.Lessons == 0 {
		f.Add("points", "honours.flag.weights_none")
	}
	return f.Err()
}

// FlagRow is a village's line in a month's table: its inputs, its score in thousandths and its
// rank (1: it holds the flag).
type FlagRow struct {
	VillageID int64  `json:"village_id"`
	Village   string `json:"village"`
	Heads     int    `json:"heads"`
	Points    int64  `json:"points"`
	Minutes   int64  `json:"minutes"`
	Members   int    `json:"party_members"`
	Reached   int    `json:"party_members_reached"`
	Score     int64  `json:"score_thousandths"`
	Rank      int    `json:"rank"`
}

// Holder reports whether the village holds the flag of its table.
func (r FlagRow) Holder() bool { return r.Rank == 1 }

// PerHead is the points per head, to two decimals.
func (r FlagRow) PerHead() string { return ratio(r.Points, int64(r.Heads), 1) }

// HoursPerHead is the 微志愿 hours per head, to two decimals.
func (r FlagRow) HoursPerHead() string { return ratio(r.Minutes, int64(r.Heads)*60, 1) }

// Coverage is the share of party members who attended a lesson, in per cent to one decimal.
func (r FlagRow) Coverage() string {
	if r.Members == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", float64(r.Reached)*100/float64(r.Members))
}

// ScoreText is the score as the formula gives it, to three decimals.
func (r FlagRow) ScoreText() string { return fmt.Sprintf("%.3f", float64(r.Score)/1000) }

func ratio(n, d int64, scale float64) string {
	if d == 0 {
		return "0.00"
	}
	return fmt.Sprintf("%.2f", float64(n)*scale/float64(d))
}

// score is a village's score under w in thousandths, computed exactly over the common
// denominator and rounded half away from zero; a village with nobody in the register scores 0.
func (w Weights) score(r FlagRow) int64 {
	if r.Heads <= 0 {
		return 0
	}
	h, m := int64(r.Heads), int64(max(r.Members, 1))
	num := int64(w.Points)*r.Points*60*m + int64(w.Hours)*r.Minutes*m + int64(w.Lessons)*int64(r.Reached)*60*h
	den := 60 * h * m
	return roundDiv(1000*num, den)
}

// roundDiv is n/d (d > 0) rounded half away from zero.
func roundDiv(n, d int64) int64 {
	if n < 0 {
		return -((-2*n + d) / (2 * d))
	}
	return (2*n + d) / (2 * d)
}

// Flag is a month's award of the 流动红旗 with its figures: the weights it was computed by and
// every village's inputs, score and rank.
type Flag struct {
	ID            int64     `json:"id"`
	TownID        int64     `json:"town_id"`
	Month         string    `json:"month"`
	Weights       Weights   `json:"weights"`
	Reason        string    `json:"reason,omitempty"`
	AwardedByName string    `json:"awarded_by_name,omitempty"`
	AwardedAt     time.Time `json:"awarded_at"`
	Rows          []FlagRow `json:"rows"`
}

// Holders are the villages holding the flag.
func (f Flag) Holders() []FlagRow {
	var out []FlagRow
	for _, r := range f.Rows {
		if r.Holder() {
			out = append(out, r)
		}
	}
	return out
}

// HolderNames are the holders' names, joined for a sentence.
func (f Flag) HolderNames() string {
	var names []string
	for _, r := range f.Holders() {
		names = append(names, r.Village)
	}
	return strings.Join(names, "、")
}

// FlagBoard is the public page of a town's flags: the formula, the current holders, the history
// of holders, and a month's table (the award's recorded figures, or for a month not awarded the
// figures as they stand, Live).
type FlagBoard struct {
	TownID  int64     `json:"town_id"`
	Weights Weights   `json:"weights"`
	Current *Flag     `json:"current,omitempty"`
	History []Flag    `json:"history"`
	Month   string    `json:"month"`
	Live    bool      `json:"live"`
	Table   []FlagRow `json:"table"`
	// Awardable is true when the month is over and not awarded: the town's staff may award it.
	Awardable bool `json:"awardable"`
}

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// prevMonth is the month before a month (2006-01).
func prevMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return ""
	}
	return t.AddDate(0, -1, 0).Format("2006-01")
}

// seesTown decides whether the actor may read a town's public lists: its staff, and its residents.
// Anyone else answers NotFound, like a town that does not exist.
func (s *Service) seesTown(ctx context.Context, a *auth.Actor, townID int64) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if manages(a, townID) {
		return nil
	}
	if all, vs := villageScope(a, townID); all || len(vs) > 0 {
		return nil
	}
	m, ok, err := s.me(ctx, s.DB.Read(), a)
	if err != nil {
		return err
	}
	if ok && m.Active && m.TownID == townID {
		return nil
	}
	return notFound
}

// mayManageTown is nil for the town's staff who run its public side; a reader of the town who may
// not is refused (403), anyone else finds nothing (404).
func (s *Service) mayManageTown(ctx context.Context, a *auth.Actor, townID int64) error {
	if manages(a, townID) {
		return nil
	}
	if err := s.seesTown(ctx, a, townID); err != nil {
		return err
	}
	return auth.Refuse(a, PermManage)
}

// FlagWeights is a town's formula as it stands.
func (s *Service) FlagWeights(ctx context.Context, q db.Querier, townID int64) (Weights, error) {
	w := DefaultWeights
	err := q.QueryRowContext(ctx, `SELECT points, hours, lessons, updated_by_name, updated_at FROM honours_flag_weights WHERE town_id = $1`, townID).
		Scan(&w.Points, &w.Hours, &w.Lessons, &w.UpdatedByName, &w.UpdatedAt)
	if db.IsNoRows(err) {
		return DefaultWeights, nil
	}
	if err != nil {
		return w, fmt.Errorf("honours: flag weights: %w", err)
	}
	return w, nil
}

// SetFlagWeights changes the town's formula, from the next award on; awards made keep theirs.
func (s *Service) SetFlagWeights(ctx context.Context, a *auth.Actor, townID int64, w Weights) (Weights, error) {
	townID = townOf(a, townID)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return Weights{}, err
	}
	if err := w.Validate(); err != nil {
		return Weights{}, err
	}
	w.UpdatedByName, w.UpdatedAt = a.Name, s.Now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		before, err := s.FlagWeights(ctx, tx, townID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO honours_flag_weights (town_id, points, hours, lessons, updated_by_name, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (town_id) DO UPDATE SET points = excluded.points, hours = excluded.hours, lessons = excluded.lessons,
			updated_by_name = excluded.updated_by_name, updated_at = excluded.updated_at`, townID, w.Points, w.Hours, w.Lessons, w.UpdatedByName, w.UpdatedAt); err != nil {
			return fmt.Errorf("honours: set flag weights: %w", err)
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.flag.weights", Entity: "town", EntityID: townID, TownID: townID,
			Summary: auth.Summarize(map[string]any{"points": before.Points, "hours": before.Hours, "lessons": before.Lessons},
				map[string]any{"points": w.Points, "hours": w.Hours, "lessons": w.Lessons})})
	})
	return w, err
}

// flagTable computes a month's table under w from the pillars' per-village, per-month aggregates:
// the bank's village board of the month (bank_earnings), the residents and party members in the
// register now, 微志愿 minutes served in shifts of the month, and the kit's person-months of
// 微党校 lessons (attend_months). The rows come ranked, ties sharing a rank.
func (s *Service) flagTable(ctx context.Context, townID int64, month string, w Weights) ([]FlagRow, error) {
	villages, err := s.townVillages(ctx, townID)
	if err != nil {
		return nil, err
	}
	rows := make([]FlagRow, len(villages))
	at := map[int64]int{}
	for i, v := range villages {
		rows[i] = FlagRow{VillageID: v.ID, Village: v.Name}
		at[v.ID] = i
	}
	board, err := s.Bank.Rankings(ctx, townID, "village", month, 500)
	if err != nil {
		return nil, err
	}
	for _, b := range board {
		if i, ok := at[b.ID]; ok {
			rows[i].Points = b.Points
		}
	}
	q := s.DB.Read()
	sums := []struct {
		sql  string
		args []any
		set  func(r *FlagRow, a, b int64)
	}{
		{`SELECT village_id, COUNT(*), SUM(CASE WHEN party_member THEN 1 ELSE 0 END) FROM residents WHERE town_id = $1 AND status = 'active' GROUP BY village_id`,
			[]any{townID}, func(r *FlagRow, a, b int64) { r.Heads, r.Members = int(a), int(b) }},
		{`SELECT r.village_id, COALESCE(SUM(s.minutes), 0), 0 FROM volunteer_signups s JOIN volunteer_shifts sh ON sh.id = s.shift_id JOIN residents r ON r.id = s.resident_id
			WHERE sh.town_id = $1 AND sh.day >= $2 AND sh.day <= $3 AND s.status = 'attended' GROUP BY r.village_id`,
			[]any{townID, month + "-01", month + "-31"}, func(r *FlagRow, a, _ int64) { r.Minutes = a }},
		{`SELECT village_id, COUNT(DISTINCT resident_id), 0 FROM attend_months WHERE kind = $1 AND town_id = $2 AND month = $3 AND party GROUP BY village_id`,
			[]any{school.LessonKind, townID, month}, func(r *FlagRow, a, _ int64) { r.Reached = int(a) }},
	}
	for _, x := range sums {
		rs, err := q.QueryContext(ctx, x.sql, x.args...)
		if err != nil {
			return nil, fmt.Errorf("honours: flag table: %w", err)
		}
		for rs.Next() {
			var id, a, b int64
			if err := rs.Scan(&id, &a, &b); err != nil {
				rs.Close()
				return nil, fmt.Errorf("honours: flag table: %w", err)
			}
			if i, ok := at[id]; ok {
				x.set(&rows[i], a, b)
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	for i := range rows {
		rows[i].Score = w.score(rows[i])
	}
	rankFlag(rows)
	return rows, nil
}

// rankFlag orders a table by score, highest first (level scores in the villages' order), and
// ranks it: a village level with the one before it shares its rank (1, 2, 2, 4).
func rankFlag(rows []FlagRow) {
	slices.SortStableFunc(rows, func(a, b FlagRow) int { return int(min(max(b.Score-a.Score, -1), 1)) })
	for i := range rows {
		rows[i].Rank = i + 1
		if i > 0 && rows[i].Score == rows[i-1].Score {
			rows[i].Rank = rows[i-1].Rank
		}
	}
}

// maxReasonFlag bounds the reason kept with an award.
const maxReasonFlag = 200

// FlagInput is an award of a month's flag: the town (0: the actor's), the month, and the reason
// kept with it.
type FlagInput struct {
	TownID int64  `json:"town_id,omitempty"`
	Month  string `json:"month"`
	Reason string `json:"reason"`
}

// finishedMonth checks that month names a month of the town's calendar that is over.
func (s *Service) finishedMonth(ctx context.Context, townID int64, month string) error {
	if !monthRE.MatchString(month) {
		return errs.Field("month", "honours.flag.month_invalid")
	}
	now, err := s.townMonth(ctx, townID)
	if err != nil {
		return err
	}
	if month >= now {
		return errs.Field("month", "honours.flag.month_not_over")
	}
	return nil
}

// AwardFlag awards a finished month's 流动红旗 to the village or villages ranked first by the
// town's formula, keeping every village's figures. Only the town's staff award, once a month:
// a second award, however the two race, answers Conflict. A month in which no village scored
// above zero is not awarded.
func (s *Service) AwardFlag(ctx context.Context, a *auth.Actor, in FlagInput) (Flag, error) {
	townID := townOf(a, in.TownID)
	if err := s.mayManageTown(ctx, a, townID); err != nil {
		return Flag{}, err
	}
	in.Month, in.Reason = strings.TrimSpace(in.Month), strings.TrimSpace(in.Reason)
	var f errs.Fields
	f.Text("reason", in.Reason, maxReasonFlag, true)
	if err := s.finishedMonth(ctx, townID, in.Month); err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
			f.Add("month", e.Fields[0].Key)
		} else {
			return Flag{}, err
		}
	}
	if err := f.Err(); err != nil {
		return Flag{}, err
	}
	w, err := s.FlagWeights(ctx, s.DB.Read(), townID)
	if err != nil {
		return Flag{}, err
	}
	rows, err := s.flagTable(ctx, townID, in.Month, w)
	if err != nil {
		return Flag{}, err
	}
	if len(rows) == 0 || rows[0].Score <= 0 {
		return Flag{}, errs.New(errs.Conflict, "honours.flag.nothing")
	}
	fl := Flag{TownID: townID, Month: in.Month, Weights: w, Reason: in.Reason, AwardedByName: a.Name, AwardedAt: s.Now(), Rows: rows}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO honours_flags (town_id, month, w_points, w_hours, w_lessons, reason, awarded_by_name, awarded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (town_id, month) DO NOTHING RETURNING id`,
			townID, fl.Month, w.Points, w.Hours, w.Lessons, fl.Reason, fl.AwardedByName, fl.AwardedAt).Scan(&fl.ID)
		if db.IsNoRows(err) {
			return errs.New(errs.Conflict, "honours.flag.awarded")
		}
		if err != nil {
			return fmt.Errorf("honours: award flag: %w", err)
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_flag_rows (flag_id, village_id, heads, points, minutes, members, reached, score, rank)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, fl.ID, r.VillageID, r.Heads, r.Points, r.Minutes, r.Members, r.Reached, r.Score, r.Rank); err != nil {
				return fmt.Errorf("honours: flag row: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.flag.award", Entity: "honours_flag", EntityID: fl.ID, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"month": fl.Month, "holders": fl.HolderNames(), "reason": fl.Reason})})
	})
	if err != nil {
		return Flag{}, err
	}
	return fl, nil
}

const flagCols = `f.id, f.town_id, f.month, f.w_points, f.w_hours, f.w_lessons, f.reason, f.awarded_by_name, f.awarded_at`

// flags reads a town's awards, the latest first (month "" all of them, at most limit), with their
// rows: all of them, or the holders only.
func (s *Service) flags(ctx context.Context, q db.Querier, townID int64, month string, limit int, holdersOnly bool) ([]Flag, error) {
	where, args := `f.town_id = $1`, []any{townID}
	if month != "" {
		where, args = where+` AND f.month = $2`, append(args, month)
	}
	rs, err := q.QueryContext(ctx, `SELECT `+flagCols+` FROM honours_flags f WHERE `+where+fmt.Sprintf(` ORDER BY f.month DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("honours: flags: %w", err)
	}
	var out []Flag
	at := map[int64]int{}
	for rs.Next() {
		var f Flag
		if err := rs.Scan(&f.ID, &f.TownID, &f.Month, &f.Weights.Points, &f.Weights.Hours, &f.Weights.Lessons, &f.Reason, &f.AwardedByName, &f.AwardedAt); err != nil {
			rs.Close()
			return nil, err
		}
		at[f.ID] = len(out)
		out = append(out, f)
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]int64, 0, len(out))
	for _, f := range out {
		ids = append(ids, f.ID)
	}
	cond := ""
	if holdersOnly {
		cond = ` AND r.rank = 1`
	}
	rr, err := q.QueryContext(ctx, `SELECT r.flag_id, r.village_id, v.name, r.heads, r.points, r.minutes, r.members, r.reached, r.score, r.rank
		FROM honours_flag_rows r JOIN villages v ON v.id = r.village_id WHERE r.flag_id IN (`+db.IDList(ids)+`)`+cond+` ORDER BY r.flag_id, r.rank, v.code, v.id`)
	if err != nil {
		return nil, fmt.Errorf("honours: flag rows: %w", err)
	}
	defer rr.Close()
	for rr.Next() {
		var id int64
		var r FlagRow
		if err := rr.Scan(&id, &r.VillageID, &r.Village, &r.Heads, &r.Points, &r.Minutes, &r.Members, &r.Reached, &r.Score, &r.Rank); err != nil {
			return nil, err
		}
		f := &out[at[id]]
		f.Rows = append(f.Rows, r)
	}
	return out, rr.Err()
}

// maxFlagHistory bounds the history of holders a board lists.
const maxFlagHistory = 36

// FlagBoard is a town's flags as its residents and staff read them, with a month's table (""
// the last finished month): the recorded figures of an award, or the figures as they stand now
// under the current formula for a month not awarded.
func (s *Service) FlagBoard(ctx context.Context, a *auth.Actor, townID int64, month string) (FlagBoard, error) {
	townID = townOf(a, townID)
	if err := s.seesTown(ctx, a, townID); err != nil {
		return FlagBoard{}, err
	}
	now, err := s.townMonth(ctx, townID)
	if err != nil {
		return FlagBoard{}, err
	}
	month = strings.TrimSpace(month)
	if month == "" {
		month = prevMonth(now)
	}
	if !monthRE.MatchString(month) || month > now {
		return FlagBoard{}, errs.Field("month", "honours.flag.month_invalid")
	}
	b := FlagBoard{TownID: townID, Month: month, History: []Flag{}}
	q := s.DB.Read()
	if b.Weights, err = s.FlagWeights(ctx, q, townID); err != nil {
		return b, err
	}
	if b.History, err = s.flags(ctx, q, townID, "", maxFlagHistory, true); err != nil {
		return b, err
	}
	if len(b.History) > 0 {
		b.Current = &b.History[0]
	}
	awarded, err := s.flags(ctx, q, townID, month, 1, false)
	if err != nil {
		return b, err
	}
	if len(awarded) == 1 {
		b.Table = awarded[0].Rows
		return b, nil
	}
	b.Live, b.Awardable = true, month < now
	if b.Table, err = s.flagTable(ctx, townID, month, b.Weights); err != nil {
		return b, err
	}
	return b, nil
}

// FlagAward is a month's award as its figures were recorded, NotFound before it is made.
func (s *Service) FlagAward(ctx context.Context, a *auth.Actor, townID int64, month string) (Flag, error) {
	townID = townOf(a, townID)
	if err := s.seesTown(ctx, a, townID); err != nil {
		return Flag{}, err
	}
	fs, err := s.flags(ctx, s.DB.Read(), townID, month, 1, false)
	if err != nil {
		return Flag{}, err
	}
	if len(fs) == 0 {
		return Flag{}, notFound
	}
	return fs[0], nil
}

// flagNote is the line under the public side's tile on a resident's home: the flag their village
// holds, or who holds the town's current flag.
func (s *Service) flagNote(ctx context.Context, a *auth.Actor) (string, []any, error) {
	m, ok, err := s.me(ctx, s.DB.Read(), a)
	if err != nil || !ok || !m.Active {
		return "", nil, err
	}
	fs, err := s.flags(ctx, s.DB.Read(), m.TownID, "", 1, true)
	if err != nil || len(fs) == 0 {
		return "", nil, err
	}
	f := fs[0]
	for _, r := range f.Rows {
		if r.VillageID == m.VillageID {
			return "honours.flag.note_mine", []any{f.Year(), f.MonthNum()}, nil
		}
	}
	return "honours.flag.note", []any{f.Year(), f.MonthNum(), f.HolderNames()}, nil
}

// Year is the year of the award's month.
func (f Flag) Year() int { y, _ := yearMonth(f.Month); return y }

// MonthNum is the month of the award, 1 to 12.
func (f Flag) MonthNum() int { _, m := yearMonth(f.Month); return m }

// yearMonth splits a month (2026-11) into its year and month, zeros when it is none.
func yearMonth(m string) (int, int) {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return 0, 0
	}
	return t.Year(), int(t.Month())
}

// flagTodos are, for the town's staff, last month's flag not yet awarded and last month's 文明大户
// list not yet put on notice.
func (s *Service) flagTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || !manages(a, a.TownID) {
		return nil, nil
	}
	now, err := s.townMonth(ctx, a.TownID)
	if err != nil {
		return nil, err
	}
	last := prevMonth(now)
	var flags, lists int
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_flags WHERE town_id = $1 AND month = $2`, a.TownID, last).Scan(&flags); err != nil {
		return nil, fmt.Errorf("honours: flag todo: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_household_lists l JOIN honours_notices n ON n.kind = $1 AND n.ref_id = l.id
		WHERE l.town_id = $2 AND l.month = $3 AND n.status <> 'withdrawn'`, NoticeHouseholds, a.TownID, last).Scan(&lists); err != nil {
		return nil, fmt.Errorf("honours: households todo: %w", err)
	}
	var out []web.Todo
	if flags == 0 {
		out = append(out, web.Todo{Key: "honours.todo.flag", Count: 1, Path: "/admin/honours/flags"})
	}
	if lists == 0 {
		out = append(out, web.Todo{Key: "honours.todo.households", Count: 1, Path: "/admin/honours/households"})
	}
	return out, nil
}

// currentFlag is the latest award of the actor's town, for the landing pages' banner: nil when
// there is none or the actor reads no town (a failure to read it is left off, not the page).
func (s *Service) currentFlag(ctx context.Context, a *auth.Actor) *Flag {
	if a == nil || a.TownID == 0 || s.seesTown(ctx, a, a.TownID) != nil {
		return nil
	}
	fs, err := s.flags(ctx, s.DB.Read(), a.TownID, "", 1, true)
	if err != nil || len(fs) == 0 {
		return nil
	}
	return &fs[0]
}
