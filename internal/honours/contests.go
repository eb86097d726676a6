package honours

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// ContestKinds are the kinds of contest (评比): 一米微花园 (garden), 最美庭院 (courtyard), 门前三包
// (frontdoor), and any other the town runs.
var ContestKinds = []string{"garden", "courtyard", "frontdoor", "other"}

// ContestStatuses are a contest's states: the round under way (village, then town), closed (the
// town round's winners on notice), published.
var ContestStatuses = []string{"village", "town", "closed", "published"}

// The rounds of a contest: each village's, then the town's.
const (
	RoundVillage = "village"
	RoundTown    = "town"
)

// JudgeCapacities are what a panel member sits as: the bank's staff, a village's staff, a
// villager representative (村民代表), a volunteer.
var JudgeCapacities = []string{"bank_staff", "village_staff", "representative", "volunteer"}

// The bounds of a contest's form.
const (
	maxTitle       = 60
	maxDescription = 1000
	maxCriteria    = 8
	maxCriterion   = 20
	maxNote        = 500
	maxAdvance     = 50
)

// Criterion is a contest's criterion (评分项: 整洁, 创意, 绿化, 维护, …) and its weight in the total.
type Criterion struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Contest is a contest judged by panels (评比): its kind, criteria and weights, the scale each
// criterion is scored on (0–10 or 0–100), how many entries of each village go to the town round
// (Advance), how many of the town round win (Winners), the bank's rule their points are paid
// under, and the round under way (Status).
type Contest struct {
	ID              int64       `json:"id"`
	TownID          int64       `json:"town_id"`
	Title           string      `json:"title"`
	Kind            string      `json:"kind"`
	Description     string      `json:"description"`
	Scale           int         `json:"scale"`
	Advance         int         `json:"advance"`
	Winners         int         `json:"winners"`
	RuleCode        string      `json:"rule_code"`
	Status          string      `json:"status"`
	Criteria        []Criterion `json:"criteria"`
	Entries         int         `json:"entries"`
	VillageClosedAt time.Time   `json:"village_closed_at,omitzero"`
	TownClosedAt    time.Time   `json:"town_closed_at,omitzero"`
	ClosedByName    string      `json:"closed_by_name,omitempty"`
	CreatedByName   string      `json:"created_by_name"`
	CreatedAt       time.Time   `json:"created_at"`
}

// Round is the round under way, "" once both are closed.
func (c Contest) Round() string {
	if c.Status == RoundVillage || c.Status == RoundTown {
		return c.Status
	}
	return ""
}

// Closed reports whether a round's scores are unsealed: the round is over.
func (c Contest) Closed(round string) bool {
	if round == RoundVillage {
		return c.Status != RoundVillage
	}
	return c.Status == "closed" || c.Status == "published"
}

// CriterionInput is a criterion of a new contest.
type CriterionInput struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// ContestInput is a new contest.
type ContestInput struct {
	Title       string           `json:"title"`
	Kind        string           `json:"kind"`
	Description string           `json:"description"`
	Scale       int              `json:"scale"`
	Advance     int              `json:"advance"`
	Winners     int              `json:"winners"`
	RuleCode    string           `json:"rule_code"`
	Criteria    []CriterionInput `json:"criteria"`
}

const contestCols = `c.id, c.town_id, c.title, c.kind, c.description, c.scale, c.advance, c.winners, c.rule_code, c.status,
	c.village_closed_at, c.town_closed_at, c.closed_by_name, c.created_by_name, c.created_at,
	(SELECT COUNT(*) FROM honours_contest_entries e WHERE e.contest_id = c.id)`

func scanContest(sc interface{ Scan(...any) error }) (Contest, error) {
	var c Contest
	var vc, tc sql.NullTime
	err := sc.Scan(&c.ID, &c.TownID, &c.Title, &c.Kind, &c.Description, &c.Scale, &c.Advance, &c.Winners, &c.RuleCode, &c.Status,
		&vc, &tc, &c.ClosedByName, &c.CreatedByName, &c.CreatedAt, &c.Entries)
	c.VillageClosedAt, c.TownClosedAt = vc.Time, tc.Time
	return c, err
}

// contest reads a contest and its criteria, whoever asks (the callers decide who sees it).
func (s *Service) contest(ctx context.Context, q db.Querier, id int64) (Contest, error) {
	c, err := scanContest(q.QueryRowContext(ctx, `SELECT `+contestCols+` FROM honours_contests c WHERE c.id = $1`, id))
	if db.IsNoRows(err) {
		return c, notFound
	}
	if err != nil {
		return c, fmt.Errorf("honours: contest %d: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, name, weight FROM honours_contest_criteria WHERE contest_id = $1 ORDER BY position, id`, id)
	if err != nil {
		return c, fmt.Errorf("honours: criteria: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k Criterion
		if err := rows.Scan(&k.ID, &k.Name, &k.Weight); err != nil {
			return c, err
		}
		c.Criteria = append(c.Criteria, k)
	}
	return c, rows.Err()
}

// contestReader is how the actor reads a contest: as its organiser (the town's staff), as a
// village's staff (villages; all for every one), as a judge on its panel, as a resident of its
// town (me).
type contestReader struct {
	manage   bool
	all      bool
	villages []int64
	judge    bool
	me       people.Me
	resident bool
}

// staffOf reports whether the reader takes the side of a village of the contest.
func (r contestReader) staffOf(villageID int64) bool {
	return r.manage || r.all || slices.Contains(r.villages, villageID)
}

// reader decides how the actor reads a contest of a town; someone who reads it in no way gets
// NotFound, like a missing contest.
func (s *Service) reader(ctx context.Context, q db.Querier, a *auth.Actor, c Contest) (contestReader, error) {
	var r contestReader
	r.manage = manages(a, c.TownID)
	r.all, r.villages = villageScope(a, c.TownID)
	if auth.Can(a, PermJudge, auth.Scope{TownID: c.TownID}) == nil {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_contest_judges WHERE contest_id = $1 AND account_id = $2`, c.ID, a.AccountID).Scan(&n); err != nil {
			return r, fmt.Errorf("honours: panel: %w", err)
		}
		r.judge = n > 0
	}
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return r, err
	}
	r.me, r.resident = m, ok && m.Active && m.TownID == c.TownID
	if !r.manage && !r.all && len(r.villages) == 0 && !r.judge && !r.resident {
		return r, notFound
	}
	return r, nil
}

// Contests are a town's contests the actor may read, newest first: every one for the town's and
// the villages' staff and its residents, those whose panel they sit on for a judge.
func (s *Service) Contests(ctx context.Context, a *auth.Actor, townID int64) ([]Contest, error) {
	if err := mayContests(a); err != nil {
		return nil, err
	}
	townID = townOf(a, townID)
	q := s.DB.Read()
	where := `c.town_id = $1`
	args := []any{townID}
	all, vs := villageScope(a, townID)
	m, ok, err := s.me(ctx, q, a)
	if err != nil {
		return nil, err
	}
	switch {
	case manages(a, townID) || all || len(vs) > 0 || (ok && m.Active && m.TownID == townID):
	case auth.Can(a, PermJudge, auth.Scope{TownID: townID}) == nil:
		where += ` AND EXISTS (SELECT 1 FROM honours_contest_judges j WHERE j.contest_id = c.id AND j.account_id = $2)`
		args = append(args, a.AccountID)
	default:
		return []Contest{}, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT `+contestCols+` FROM honours_contests c WHERE `+where+` ORDER BY c.id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: contests: %w", err)
	}
	out := []Contest{}
	for rows.Next() {
		c, err := scanContest(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	return out, rows.Err()
}

// mayContests refuses, before anything is read, someone who has no part in any contest.
func mayContests(a *auth.Actor) error {
	if a == nil || a.AccountID == 0 {
		return errs.New(errs.Unauthorized, "error.unauthorized")
	}
	for _, act := range []auth.Action{PermManage, PermVillage, PermJudge, PermJoin} {
		if auth.MayAnywhere(a, act) == nil {
			return nil
		}
	}
	return errs.New(errs.Forbidden, "error.forbidden")
}

// ContestByID is a contest as the actor may read it.
func (s *Service) ContestByID(ctx context.Context, a *auth.Actor, id int64) (Contest, error) {
	if err := mayContests(a); err != nil {
		return Contest{}, err
	}
	q := s.DB.Read()
	c, err := s.contest(ctx, q, id)
	if err != nil {
		return c, err
	}
	if _, err := s.reader(ctx, q, a, c); err != nil {
		return Contest{}, err
	}
	return c, nil
}

// CreateContest starts a contest in the town, its village round open to entries and scores. Only
// the town's bank (PermManage) runs contests.
func (s *Service) CreateContest(ctx context.Context, a *auth.Actor, townID int64, in ContestInput) (Contest, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Contest{}, err
	}
	townID = townOf(a, townID)
	if !manages(a, townID) {
		return Contest{}, auth.Refuse(a, PermManage)
	}
	in.Title, in.Description, in.RuleCode = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description), strings.TrimSpace(in.RuleCode)
	var f errs.Fields
	f.Text("title", in.Title, maxTitle, true)
	f.Text("description", in.Description, maxDescription, false)
	if !slices.Contains(ContestKinds, in.Kind) {
		f.Add("kind", "honours.contest.kind_unknown")
	}
	if in.Scale != 10 && in.Scale != 100 {
		f.Add("scale", "honours.contest.scale_invalid")
	}
	if in.Advance < 1 || in.Advance > maxAdvance {
		f.Add("advance", "honours.contest.range", 1, maxAdvance)
	}
	if in.Winners < 1 || in.Winners > maxAdvance {
		f.Add("winners", "honours.contest.range", 1, maxAdvance)
	}
	var crit []CriterionInput
	seen := map[string]bool{}
	for _, k := range in.Criteria {
		k.Name = strings.TrimSpace(k.Name)
		if k.Name == "" && k.Weight == 0 {
			continue
		}
		switch {
		case k.Name == "":
			f.Add("criteria", "honours.contest.criterion_name")
		case seen[k.Name]:
			f.Add("criteria", "honours.contest.criterion_twice", k.Name)
		case k.Weight < 1 || k.Weight > 100:
			f.Add("criteria", "honours.contest.criterion_weight", k.Name)
		default:
			var g errs.Fields
			g.Text("criteria", k.Name, maxCriterion, true)
			f = append(f, g...)
		}
		seen[k.Name] = true
		crit = append(crit, k)
	}
	if len(crit) == 0 && !f.Has("criteria") {
		f.Add("criteria", "field.required")
	}
	if len(crit) > maxCriteria {
		f.Add("criteria", "honours.too_many", maxCriteria)
	}
	if in.RuleCode == "" {
		f.Add("rule_code", "field.required")
	} else {
		day, err := s.townToday(ctx, townID)
		if err != nil {
			return Contest{}, err
		}
		rules, err := s.Bank.RulesOffered(ctx, townID, 0, day)
		if err != nil {
			return Contest{}, err
		}
		if !slices.ContainsFunc(rules, func(r bank.RuleChoice) bool { return r.Code == in.RuleCode }) {
			f.Add("rule_code", "honours.contest.rule_unknown")
		}
	}
	if err := f.Err(); err != nil {
		return Contest{}, err
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Now()
		if err := tx.QueryRowContext(ctx, `INSERT INTO honours_contests (town_id, title, kind, description, scale, advance, winners, rule_code, status, created_by, created_by_name, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'village', $9, $10, $11, $11) RETURNING id`,
			townID, in.Title, in.Kind, in.Description, in.Scale, in.Advance, in.Winners, in.RuleCode, a.AccountID, a.Name, now).Scan(&id); err != nil {
			return fmt.Errorf("honours: create contest: %w", err)
		}
		for i, k := range crit {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_contest_criteria (contest_id, name, weight, position) VALUES ($1, $2, $3, $4)`, id, k.Name, k.Weight, i); err != nil {
				return fmt.Errorf("honours: criterion: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.contest.create", Entity: "honours_contest", EntityID: id, TownID: townID,
			Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "kind": in.Kind, "criteria": len(crit), "advance": in.Advance, "winners": in.Winners, "rule": in.RuleCode})})
	})
	if err != nil {
		return Contest{}, err
	}
	return s.contest(ctx, s.DB.Read(), id)
}
