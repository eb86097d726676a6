package honours

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
)

// Judge is a panel member (评审官): a login with the role judge named to one round of a contest,
// in a capacity; a village round's judge scores one village's entries, or every village's
// (VillageID 0). Progress is theirs in the round: entries assigned, scored, and those hidden from
// them because the household is theirs or a relation's (Hidden, for the organiser).
type Judge struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"-"`
	Name      string `json:"name"`
	Capacity  string `json:"capacity"`
	Round     string `json:"round"`
	VillageID int64  `json:"village_id,omitzero"`
	Village   string `json:"village,omitempty"`
	Assigned  int    `json:"assigned"`
	Done      int    `json:"done"`
	// Hidden are the entries the judge may not score: their own household, or a relation's.
	Hidden     []Conflict `json:"hidden,omitempty"`
	residentID int64
}

// Finished reports whether the judge has scored every entry assigned to them.
func (j Judge) Finished() bool { return j.Done >= j.Assigned }

// Conflict is an entry hidden from a judge, and why: their own household (own), or one where a
// relation recorded in the registry lives or lived (relation).
type Conflict struct {
	EntryID int64  `json:"entry_id"`
	Entry   string `json:"entry"`
	Village string `json:"village"`
	Why     string `json:"why"`
}

// JudgeInput names a judge to a contest's panel: the phone of a judge login of the town, the
// capacity they sit in, the round, and for a village round the village (0: every village).
type JudgeInput struct {
	Phone     string `json:"phone"`
	Capacity  string `json:"capacity"`
	Round     string `json:"round"`
	VillageID int64  `json:"village_id,omitempty"`
}

// panel reads a contest's panel, both rounds.
func (s *Service) panel(ctx context.Context, q db.Querier, c Contest) ([]Judge, error) {
	rows, err := q.QueryContext(ctx, `SELECT j.id, j.account_id, j.name, j.capacity, j.round, COALESCE(j.village_id, 0), COALESCE(v.name, ''), COALESCE(ac.resident_id, 0)
		FROM honours_contest_judges j JOIN accounts ac ON ac.id = j.account_id LEFT JOIN villages v ON v.id = j.village_id
		WHERE j.contest_id = $1 ORDER BY j.round = 'town', j.id`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: panel: %w", err)
	}
	defer rows.Close()
	var out []Judge
	for rows.Next() {
		var j Judge
		if err := rows.Scan(&j.ID, &j.AccountID, &j.Name, &j.Capacity, &j.Round, &j.VillageID, &j.Village, &j.residentID); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// relatives are the households a resident may not judge, with why: their own (own), and every
// household the registry links them to (relation): where they lived before, and where anyone
// who lives or lived in one of their households lives or lived (a child who set up a household of
// their own, a spouse's parents).
func relatives(ctx context.Context, q db.Querier, residentID int64) (map[int64]string, error) {
	out := map[int64]string{}
	if residentID == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `WITH mine AS (SELECT household_id FROM residence_history WHERE resident_id = $1 UNION SELECT household_id FROM residents WHERE id = $1),
		kin AS (SELECT resident_id FROM residence_history WHERE household_id IN (SELECT household_id FROM mine) UNION SELECT id FROM residents WHERE household_id IN (SELECT household_id FROM mine))
		SELECT household_id FROM mine
		UNION SELECT household_id FROM residence_history WHERE resident_id IN (SELECT resident_id FROM kin)
		UNION SELECT household_id FROM residents WHERE id IN (SELECT resident_id FROM kin)`, residentID)
	if err != nil {
		return nil, fmt.Errorf("honours: relatives: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out[h] = "relation"
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var own int64
	if err := q.QueryRowContext(ctx, `SELECT household_id FROM residents WHERE id = $1`, residentID).Scan(&own); err != nil && !db.IsNoRows(err) {
		return nil, err
	}
	if own != 0 {
		out[own] = "own"
	}
	return out, nil
}

// assignment splits a contest's entries for a judge in their round: those assigned to them (of
// their village, or advanced to the town round), and those hidden from them as their own
// household's or a relation's.
func (s *Service) assignment(ctx context.Context, q db.Querier, j Judge, entries []Entry) (assigned []Entry, hidden []Conflict, err error) {
	rel, err := relatives(ctx, q, j.residentID)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if j.Round == RoundVillage && j.VillageID != 0 && e.VillageID != j.VillageID {
			continue
		}
		if j.Round == RoundTown && !e.Advanced {
			continue
		}
		if why, ok := rel[e.householdID]; ok {
			hidden = append(hidden, Conflict{EntryID: e.ID, Entry: s.entryLabel(e), Village: e.Village, Why: why})
			continue
		}
		assigned = append(assigned, e)
	}
	return assigned, hidden, nil
}

// Panel is a contest's panel with each judge's progress in their round (scored of assigned, not
// the scores) and the entries hidden from them, for its organisers only.
func (s *Service) Panel(ctx context.Context, a *auth.Actor, contestID int64) ([]Judge, error) {
	if err := mayContests(a); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	c, err := s.contest(ctx, q, contestID)
	if err != nil {
		return nil, err
	}
	if _, err := s.reader(ctx, q, a, c); err != nil {
		return nil, err
	}
	if !manages(a, c.TownID) {
		return nil, auth.Refuse(a, PermManage)
	}
	return s.progress(ctx, q, c)
}

// progress is every judge's progress (Panel).
func (s *Service) progress(ctx context.Context, q db.Querier, c Contest) ([]Judge, error) {
	panel, err := s.panel(ctx, q, c)
	if err != nil {
		return nil, err
	}
	entries, err := s.contestEntries(ctx, q, c.ID)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	rows, err := q.QueryContext(ctx, `SELECT account_id, round, entry_id FROM honours_contest_sheets WHERE contest_id = $1`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: sheets: %w", err)
	}
	for rows.Next() {
		var acc, entry int64
		var round string
		if err := rows.Scan(&acc, &round, &entry); err != nil {
			rows.Close()
			return nil, err
		}
		done[fmt.Sprint(acc, round, entry)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := range panel {
		as, hidden, err := s.assignment(ctx, q, j, entries)
		if err != nil {
			return nil, err
		}
		panel[i].Assigned, panel[i].Hidden = len(as), hidden
		for _, e := range as {
			if done[fmt.Sprint(j.AccountID, j.Round, e.ID)] {
				panel[i].Done++
			}
		}
	}
	return panel, nil
}

// AddJudge names a judge login of the town to a round of a contest's panel, before the round
// closes. Only its organisers name judges.
func (s *Service) AddJudge(ctx context.Context, a *auth.Actor, contestID int64, in JudgeInput) (Judge, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Judge{}, err
	}
	in.Phone = strings.TrimSpace(in.Phone)
	var j Judge
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.contest(ctx, tx, contestID)
		if err == nil && !manages(a, c.TownID) {
			if _, rerr := s.reader(ctx, tx, a, c); rerr != nil {
				return rerr
			}
			return auth.Refuse(a, PermManage)
		}
		if err != nil {
			return err
		}
		var f errs.Fields
		if !slices.Contains(JudgeCapacities, in.Capacity) {
			f.Add("capacity", "honours.contest.capacity_unknown")
		}
		if in.Round != RoundVillage && in.Round != RoundTown {
			f.Add("round", "honours.contest.round_unknown")
		}
		if in.Round == RoundTown && in.VillageID != 0 {
			f.Add("village_id", "honours.contest.town_round_village")
		}
		if in.VillageID != 0 && !f.Has("village_id") {
			if err := s.villageIn(ctx, tx, c.TownID, in.VillageID, "village_id"); err != nil {
				if e, ok := errs.As(err); ok {
					f = append(f, e.Fields...)
				} else {
					return err
				}
			}
		}
		var name string
		err = tx.QueryRowContext(ctx, `SELECT ac.id, ac.name, COALESCE(ac.resident_id, 0) FROM accounts ac JOIN account_roles g ON g.account_id = ac.id
			WHERE ac.phone = $1 AND g.role = $2 AND g.town_id = $3 AND NOT ac.disabled`, in.Phone, string(auth.Judge), c.TownID).Scan(&j.AccountID, &name, &j.residentID)
		if db.IsNoRows(err) {
			f.Add("phone", "honours.contest.judge_unknown")
		} else if err != nil {
			return fmt.Errorf("honours: judge login: %w", err)
		}
		if err := f.Err(); err != nil {
			return err
		}
		if c.Closed(in.Round) {
			return errs.New(errs.Conflict, "honours.contest.round_closed")
		}
		now := s.Now()
		err = tx.QueryRowContext(ctx, `INSERT INTO honours_contest_judges (contest_id, account_id, name, capacity, round, village_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (contest_id, round, account_id) DO NOTHING RETURNING id`,
			c.ID, j.AccountID, name, in.Capacity, in.Round, db.NullID(in.VillageID), now).Scan(&j.ID)
		if db.IsNoRows(err) {
			return &errs.Error{Code: errs.Conflict, Key: "honours.contest.judge_twice", Fields: []errs.FieldError{{Field: "phone", Key: "honours.contest.judge_twice"}}}
		}
		if err != nil {
			return fmt.Errorf("honours: add judge: %w", err)
		}
		j.Name, j.Capacity, j.Round, j.VillageID = name, in.Capacity, in.Round, in.VillageID
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.contest.judge", Entity: "honours_contest", EntityID: c.ID, TownID: c.TownID,
			Summary: auth.Summarize(nil, map[string]any{"judge": name, "capacity": in.Capacity, "round": in.Round})})
	})
	return j, err
}

// Mark is a judge's score of an entry on one criterion.
type Mark struct {
	CriterionID int64  `json:"criterion_id"`
	Criterion   string `json:"criterion,omitempty"`
	Score       int    `json:"score"`
}

// Sheet is a judge's score sheet (评分表) of an entry in a round: a mark per criterion, the
// weighted total out of 100, a note and photos taken at the door, and the marks it had before
// each change. It is sealed until the round closes: only its judge reads it before.
type Sheet struct {
	ID          int64         `json:"id"`
	EntryID     int64         `json:"entry_id"`
	Entry       string        `json:"entry"`
	Village     string        `json:"village"`
	Round       string        `json:"round"`
	JudgeName   string        `json:"judge_name"`
	Marks       []Mark        `json:"marks"`
	Total       float64       `json:"total"`
	Note        string        `json:"note"`
	Photos      []int64       `json:"photos"`
	History     []SheetChange `json:"history"`
	SubmittedAt time.Time     `json:"submitted_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	accountID   int64
}

// SheetChange is what a sheet said before a change: its marks and note, and when it was changed.
type SheetChange struct {
	Marks     []Mark    `json:"marks"`
	Note      string    `json:"note"`
	ScoredAt  time.Time `json:"scored_at"`
	ChangedAt time.Time `json:"changed_at"`
}

// ScoreInput is a judge's scoring of an entry in the round under way: every criterion once, and
// photos taken at the door.
type ScoreInput struct {
	EntryID int64    `json:"entry_id"`
	Marks   []Mark   `json:"marks"`
	Note    string   `json:"note"`
	Photos  [][]byte `json:"-"`
}

// total is a sheet's weighted total out of 100: each criterion's mark on the contest's scale,
// weighted.
func total(c Contest, marks map[int64]int) float64 {
	var sum, weights float64
	for _, k := range c.Criteria {
		sum += float64(marks[k.ID]) * float64(k.Weight)
		weights += float64(k.Weight)
	}
	if weights == 0 {
		return 0
	}
	return sum / weights * 100 / float64(c.Scale)
}

// judgeIn is the actor's seat on a contest's panel in a round, and the entries assigned to it;
// someone with no seat gets NotFound.
func (s *Service) judgeIn(ctx context.Context, q db.Querier, a *auth.Actor, c Contest, round string) (Judge, []Entry, error) {
	panel, err := s.panel(ctx, q, c)
	if err != nil {
		return Judge{}, nil, err
	}
	i := slices.IndexFunc(panel, func(j Judge) bool { return j.AccountID == a.AccountID && j.Round == round })
	if i < 0 {
		return Judge{}, nil, notFound
	}
	entries, err := s.contestEntries(ctx, q, c.ID)
	if err != nil {
		return Judge{}, nil, err
	}
	as, _, err := s.assignment(ctx, q, panel[i], entries)
	return panel[i], as, err
}

// Score keeps a judge's marks of an entry assigned to them in the round under way; scoring again
// keeps the earlier marks in the sheet's history. An entry not assigned to the judge (another
// village's, their own household's, a relation's) answers NotFound, like a missing one.
func (s *Service) Score(ctx context.Context, a *auth.Actor, contestID int64, in ScoreInput) (Sheet, error) {
	if err := auth.MayAnywhere(a, PermJudge); err != nil {
		return Sheet{}, err
	}
	in.Note = strings.TrimSpace(in.Note)
	var sheetID int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		c, err := s.contest(ctx, tx, contestID)
		if err != nil {
			return err
		}
		if auth.Can(a, PermJudge, auth.Scope{TownID: c.TownID}) != nil {
			return notFound
		}
		round := c.Round()
		if round == "" {
			if _, err := s.reader(ctx, tx, a, c); err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.contest.round_closed")
		}
		j, as, err := s.judgeIn(ctx, tx, a, c, round)
		if err != nil {
			return err
		}
		ei := slices.IndexFunc(as, func(e Entry) bool { return e.ID == in.EntryID })
		if ei < 0 {
			return notFound
		}
		e := as[ei]
		var f errs.Fields
		f.Text("note", in.Note, maxNote, false)
		marks := map[int64]int{}
		for _, m := range in.Marks {
			if !slices.ContainsFunc(c.Criteria, func(k Criterion) bool { return k.ID == m.CriterionID }) {
				f.Add("marks", "honours.contest.criterion_unknown")
				continue
			}
			if _, twice := marks[m.CriterionID]; twice {
				f.Add("marks", "honours.contest.criterion_twice_scored")
				continue
			}
			if m.Score < 0 || m.Score > c.Scale {
				f.Add("marks", "honours.contest.score_range", c.Scale)
			}
			marks[m.CriterionID] = m.Score
		}
		for _, k := range c.Criteria {
			if _, ok := marks[k.ID]; !ok && !f.Has("marks") {
				f.Add("marks", "honours.contest.criterion_missing", k.Name)
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		var oldNote string
		var scoredAt time.Time
		err = tx.QueryRowContext(ctx, `SELECT id, note, updated_at FROM honours_contest_sheets WHERE entry_id = $1 AND round = $2 AND account_id = $3`, e.ID, round, a.AccountID).Scan(&sheetID, &oldNote, &scoredAt)
		changed := err == nil
		switch {
		case db.IsNoRows(err):
			if err := tx.QueryRowContext(ctx, `INSERT INTO honours_contest_sheets (contest_id, entry_id, round, account_id, judge_name, note, submitted_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, c.ID, e.ID, round, a.AccountID, j.Name, in.Note, now).Scan(&sheetID); err != nil {
				return fmt.Errorf("honours: sheet: %w", err)
			}
		case err != nil:
			return fmt.Errorf("honours: sheet: %w", err)
		default:
			old, err := sheetMarks(ctx, tx, sheetID)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_contest_sheet_history (sheet_id, marks, note, scored_at, changed_at) VALUES ($1, $2, $3, $4, $5)`,
				sheetID, encodeMarks(old), oldNote, scoredAt, now); err != nil {
				return fmt.Errorf("honours: sheet history: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM honours_contest_marks WHERE sheet_id = $1`, sheetID); err != nil {
				return fmt.Errorf("honours: sheet marks: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE honours_contest_sheets SET note = $1, updated_at = $2 WHERE id = $3`, in.Note, now, sheetID); err != nil {
				return fmt.Errorf("honours: sheet: %w", err)
			}
		}
		for _, k := range c.Criteria {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_contest_marks (sheet_id, criterion_id, score) VALUES ($1, $2, $3)`, sheetID, k.ID, marks[k.ID]); err != nil {
				return fmt.Errorf("honours: mark: %w", err)
			}
		}
		if err := s.savePhotos(ctx, tx, "score", sheetID, in.Photos); err != nil {
			return err
		}
		// The audit names the entry and the round, never the marks: they are sealed.
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.contest.score", Entity: "honours_contest", EntityID: c.ID, TownID: c.TownID, VillageID: e.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"entry": s.entryLabel(e), "round": round, "changed": changed})})
	})
	if err != nil {
		return Sheet{}, err
	}
	sheets, err := s.sheets(ctx, s.DB.Read(), `sh.id = $1`, sheetID)
	if err != nil || len(sheets) == 0 {
		return Sheet{}, err
	}
	return sheets[0], nil
}

// sheetMarks reads a sheet's marks.
func sheetMarks(ctx context.Context, q db.Querier, sheetID int64) (map[int64]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT criterion_id, score FROM honours_contest_marks WHERE sheet_id = $1`, sheetID)
	if err != nil {
		return nil, fmt.Errorf("honours: marks: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var k int64
		var v int
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// encodeMarks writes marks as the history keeps them: criterion=score, by criterion.
func encodeMarks(m map[int64]int) string {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d=%d", k, m[k])
	}
	return strings.Join(parts, ",")
}

// decodeMarks reads marks the history kept.
func decodeMarks(s string) map[int64]int {
	out := map[int64]int{}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		ki, err1 := strconv.ParseInt(k, 10, 64)
		vi, err2 := strconv.Atoi(v)
		if err1 == nil && err2 == nil {
			out[ki] = vi
		}
	}
	return out
}

// sheets reads score sheets with their marks, totals, photos and history.
func (s *Service) sheets(ctx context.Context, q db.Querier, where string, args ...any) ([]Sheet, error) {
	rows, err := q.QueryContext(ctx, `SELECT sh.id, sh.contest_id, sh.entry_id, r.name, v.name, sh.round, sh.judge_name, sh.note, sh.submitted_at, sh.updated_at, sh.account_id
		FROM honours_contest_sheets sh JOIN honours_contest_entries e ON e.id = sh.entry_id JOIN residents r ON r.id = e.resident_id JOIN villages v ON v.id = e.village_id
		WHERE `+where+` ORDER BY sh.round = 'town', sh.entry_id, sh.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: sheets: %w", err)
	}
	var out []Sheet
	var contests []int64
	for rows.Next() {
		var sh Sheet
		var contestID int64
		var name string
		if err := rows.Scan(&sh.ID, &contestID, &sh.EntryID, &name, &sh.Village, &sh.Round, &sh.JudgeName, &sh.Note, &sh.SubmittedAt, &sh.UpdatedAt, &sh.accountID); err != nil {
			rows.Close()
			return nil, err
		}
		sh.Entry = s.t("honours.contest.household", name)
		out = append(out, sh)
		contests = append(contests, contestID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cache := map[int64]Contest{}
	for i := range out {
		c, ok := cache[contests[i]]
		if !ok {
			var err error
			if c, err = s.contest(ctx, q, contests[i]); err != nil {
				return nil, err
			}
			cache[c.ID] = c
		}
		sh := &out[i]
		m, err := sheetMarks(ctx, q, sh.ID)
		if err != nil {
			return nil, err
		}
		sh.Marks, sh.Total = marksOf(c, m), round2(total(c, m))
		if sh.Photos, err = s.photoIDs(ctx, q, "score", sh.ID); err != nil {
			return nil, err
		}
		hrows, err := q.QueryContext(ctx, `SELECT marks, note, scored_at, changed_at FROM honours_contest_sheet_history WHERE sheet_id = $1 ORDER BY id`, sh.ID)
		if err != nil {
			return nil, fmt.Errorf("honours: sheet history: %w", err)
		}
		sh.History = []SheetChange{}
		for hrows.Next() {
			var h SheetChange
			var marks string
			if err := hrows.Scan(&marks, &h.Note, &h.ScoredAt, &h.ChangedAt); err != nil {
				hrows.Close()
				return nil, err
			}
			h.Marks = marksOf(c, decodeMarks(marks))
			sh.History = append(sh.History, h)
		}
		hrows.Close()
		if err := hrows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// marksOf lists marks in the contest's order of criteria.
func marksOf(c Contest, m map[int64]int) []Mark {
	out := make([]Mark, 0, len(c.Criteria))
	for _, k := range c.Criteria {
		if v, ok := m[k.ID]; ok {
			out = append(out, Mark{CriterionID: k.ID, Criterion: k.Name, Score: v})
		}
	}
	return out
}

// Sheets are a contest's score sheets as the actor may read them: a judge their own, at any time;
// its organisers every judge's of a round once it is closed. Before a round closes nobody else
// reads a mark of it: the scores are sealed.
func (s *Service) Sheets(ctx context.Context, a *auth.Actor, contestID int64) ([]Sheet, error) {
	if err := mayContests(a); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	c, err := s.contest(ctx, q, contestID)
	if err != nil {
		return nil, err
	}
	rd, err := s.reader(ctx, q, a, c)
	if err != nil {
		return nil, err
	}
	if !rd.manage && !rd.judge {
		return nil, auth.Refuse(a, PermJudge)
	}
	var closed []string
	if rd.manage {
		for _, r := range []string{RoundVillage, RoundTown} {
			if c.Closed(r) {
				closed = append(closed, "'"+r+"'")
			}
		}
	}
	where := `sh.contest_id = $1 AND (sh.account_id = $2`
	if len(closed) > 0 {
		where += ` OR sh.round IN (` + strings.Join(closed, ", ") + `)`
	}
	out, err := s.sheets(ctx, q, where+`)`, c.ID, a.AccountID)
	if out == nil {
		out = []Sheet{}
	}
	return out, err
}

// JudgeWork is what waits for a judge in one contest's round under way: the entries assigned to
// them, each with their own sheet if they have scored it.
type JudgeWork struct {
	Contest Contest
	Round   string
	Entries []JudgeEntry
	Done    int
}

// JudgeEntry is an entry assigned to a judge, with the judge's own sheet once scored.
type JudgeEntry struct {
	Entry Entry
	Sheet *Sheet
}

// Judging is a judge's "my entries to score" (我的评审): for each contest whose round under way
// they sit on, the entries assigned to them and their own sheets.
func (s *Service) Judging(ctx context.Context, a *auth.Actor) ([]JudgeWork, error) {
	if err := auth.MayAnywhere(a, PermJudge); err != nil {
		return nil, err
	}
	q := s.DB.Read()
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT c.id FROM honours_contests c JOIN honours_contest_judges j ON j.contest_id = c.id AND j.round = c.status
		WHERE j.account_id = $1 ORDER BY c.id DESC`, a.AccountID)
	if err != nil {
		return nil, fmt.Errorf("honours: judging: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []JudgeWork{}
	for _, id := range ids {
		c, err := s.contest(ctx, q, id)
		if err != nil {
			return nil, err
		}
		if auth.Can(a, PermJudge, auth.Scope{TownID: c.TownID}) != nil {
			continue
		}
		_, as, err := s.judgeIn(ctx, q, a, c, c.Round())
		if err != nil {
			return nil, err
		}
		mine, err := s.sheets(ctx, q, `sh.contest_id = $1 AND sh.account_id = $2 AND sh.round = $3`, c.ID, a.AccountID, c.Round())
		if err != nil {
			return nil, err
		}
		w := JudgeWork{Contest: c, Round: c.Round()}
		for _, e := range as {
			je := JudgeEntry{Entry: e}
			if e.Photos, err = s.photoIDs(ctx, q, "entry", e.ID); err != nil {
				return nil, err
			}
			je.Entry = e
			for i := range mine {
				if mine[i].EntryID == e.ID {
					je.Sheet = &mine[i]
					w.Done++
				}
			}
			w.Entries = append(w.Entries, je)
		}
		out = append(out, w)
	}
	return out, nil
}
