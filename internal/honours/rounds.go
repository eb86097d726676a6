package honours

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/bank"
	"siwei/internal/clock"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
	"siwei/internal/people"
	"siwei/internal/web"
)

// The rules a round chooses by.
const (
	RuleVotes           = "votes"           // residents' votes
	RulePanelVotes      = "panel_votes"     // a panel's score, weighted (PanelWeight, percent) with residents' votes
	RuleRepresentatives = "representatives" // the village's 村民代表 only, named by staff
)

// RoundRules are the rules a round may choose by, in the form's order.
var RoundRules = []string{RuleVotes, RulePanelVotes, RuleRepresentatives}

// The statuses of a round: made (draft), taking votes (open), its chosen on notice (notice), the
// notice published (published, by the wall's publisher), or cancelled with a reason.
const (
	RoundDraft     = "draft"
	RoundOpen      = "open"
	RoundNotice    = "notice"
	RoundPublished = "published"
	RoundCancelled = "cancelled"
)

// RoundStatuses are the statuses a round's list filters by, in its order.
var RoundStatuses = []string{RoundDraft, RoundOpen, RoundNotice, RoundPublished, RoundCancelled}

// Round is an evaluation round (群众评议) of a village, or of the whole town (VillageID 0): the
// nominees staff admitted, the period residents vote in, how many are chosen (Seats), the votes
// each voter has, and the rule. Nobody's evaluation of officials uses these votes.
type Round struct {
	ID            int64     `json:"id"`
	TownID        int64     `json:"town_id"`
	VillageID     int64     `json:"village_id,omitzero"`
	Village       string    `json:"village,omitempty"`
	Title         string    `json:"title"`
	Year          int       `json:"year"`
	OpensAt       time.Time `json:"opens_at"`
	ClosesAt      time.Time `json:"closes_at"`
	Seats         int       `json:"seats"`
	VotesPerVoter int       `json:"votes_per_voter"`
	Rule          string    `json:"rule"`
	PanelWeight   int       `json:"panel_weight,omitzero"`
	// RuleCode is the bank's rule being chosen pays under when the list is published; "" pays none.
	RuleCode      string    `json:"rule_code,omitempty"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	ClosedAt      time.Time `json:"closed_at,omitzero"`
	ClosedByName  string    `json:"closed_by_name,omitempty"`
	CreatedByName string    `json:"created_by_name,omitempty"`
	// Voters counts the residents who have a counted vote; OpenFlags the anomalies the town has
	// not reviewed (staff only).
	Voters    int `json:"voters"`
	OpenFlags int `json:"open_flags"`
}

// Nominee is a nomination admitted to a round, as the round shows it: a minor's name masked.
// Votes, Panel, Score, Rank and Chosen are the tally, shown once voting is over.
type Nominee struct {
	NominationID int64   `json:"nomination_id"`
	ResidentID   int64   `json:"-"`
	HouseholdID  int64   `json:"-"`
	Minor        bool    `json:"-"`
	VillageID    int64   `json:"village_id"`
	Village      string  `json:"village"`
	Name         string  `json:"name"`
	Category     string  `json:"category"`
	Story        string  `json:"story"`
	Mine         bool    `json:"mine"`
	Votes        int     `json:"votes"`
	Panel        float64 `json:"panel,omitzero"`
	Scores       int     `json:"panel_scores,omitzero"`
	Score        float64 `json:"score"`
	Rank         int     `json:"rank,omitzero"`
	Chosen       bool    `json:"chosen"`
}

// RoundDetail is a round as the actor may see it.
type RoundDetail struct {
	Round
	Nominees []Nominee `json:"nominees"`
	// Representatives are the voters under the rule 'representatives' (staff only).
	Representatives []Named    `json:"representatives,omitempty"`
	Flags           []VoteFlag `json:"flags,omitempty"`
	// Staff is true for the town's staff and the village's; Manages for the town's.
	Staff   bool `json:"staff"`
	Manages bool `json:"manages"`
	// Taking is true while votes are taken; Over once the period is over (the town may close).
	Taking bool `json:"taking"`
	Over   bool `json:"over"`
	// Tally is true when Nominees carry the tally: for the town's staff once voting is over, for
	// everyone once the chosen are on notice.
	Tally bool `json:"tally"`
	// For the resident the page is for (in office mode, the one acted for): whether they may vote
	// in this round, the votes they have left, and whose vote the page records.
	Eligible   bool   `json:"eligible"`
	VotesLeft  int    `json:"votes_left"`
	Assisted   bool   `json:"assisted"`
	VoterName  string `json:"voter_name,omitempty"`
	NoticeID   int64  `json:"notice_id,omitzero"`
	TotalVotes int    `json:"total_votes"`
}

// RoundInput is a new round: its scope (VillageID, 0 for the town), title, year, the days it
// opens and closes (the town's calendar), the admitted nominations, seats, votes per voter, the
// rule and, by rule, the panel's weight (percent) or the village's representatives.
type RoundInput struct {
	TownID        int64   `json:"town_id,omitzero"`
	VillageID     int64   `json:"village_id,omitzero"`
	Title         string  `json:"title"`
	Year          int     `json:"year"`
	OpensOn       string  `json:"opens_on"`
	ClosesOn      string  `json:"closes_on"`
	NominationIDs []int64 `json:"nomination_ids"`
	Seats         int     `json:"seats"`
	VotesPerVoter int     `json:"votes_per_voter"`
	Rule          string  `json:"rule"`
	PanelWeight   int     `json:"panel_weight,omitzero"`
	VoterIDs      []int64 `json:"voter_ids,omitempty"`
	// RuleCode is the bank's rule (in force in the round's village, or the town's) being chosen
	// pays under; "" pays nothing.
	RuleCode string `json:"rule_code,omitempty"`
}

// maxRoundTitle bounds a round's title.
const maxRoundTitle = 60

const roundCols = `r.id, r.town_id, COALESCE(r.village_id, 0), COALESCE(v.name, ''), r.title, r.year, r.opens_at, r.closes_at, r.seats, r.votes_per_voter, r.rule,
	r.panel_weight, r.rule_code, r.status, r.reason, r.closed_at, r.closed_by_name, r.created_by_name`

func scanRound(sc interface{ Scan(...any) error }) (Round, error) {
	var r Round
	var closed sql.NullTime
	err := sc.Scan(&r.ID, &r.TownID, &r.VillageID, &r.Village, &r.Title, &r.Year, &r.OpensAt, &r.ClosesAt, &r.Seats, &r.VotesPerVoter, &r.Rule,
		&r.PanelWeight, &r.RuleCode, &r.Status, &r.Reason, &closed, &r.ClosedByName, &r.CreatedByName)
	r.ClosedAt = closed.Time
	return r, err
}

// round reads a round by id (lock: FOR UPDATE on PostgreSQL, for the writes that follow).
func (s *Service) round(ctx context.Context, q db.Querier, id int64, lock string) (Round, error) {
	r, err := scanRound(q.QueryRowContext(ctx, `SELECT `+roundCols+` FROM honours_rounds r LEFT JOIN villages v ON v.id = r.village_id WHERE r.id = $1`+lock, id))
	if db.IsNoRows(err) {
		return r, notFound
	}
	if err != nil {
		return r, fmt.Errorf("honours: round %d: %w", id, err)
	}
	return r, nil
}

// roundStaff reports how the actor serves a round: the town's staff (manage), or the staff of its
// village, or, for a town round, of one of the town's villages (serve).
func roundStaff(a *auth.Actor, r Round) (manage, serve bool) {
	if manages(a, r.TownID) {
		return true, true
	}
	if r.VillageID != 0 {
		return false, servesVillage(a, r.TownID, r.VillageID)
	}
	all, vs := villageScope(a, r.TownID)
	return false, all || len(vs) > 0
}

// managedRound reads a round the actor runs as the town's staff: anyone else is refused as
// auth.Refuse says (NotFound to other staff).
func (s *Service) managedRound(ctx context.Context, q db.Querier, a *auth.Actor, id int64, lock string) (Round, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Round{}, err
	}
	r, err := s.round(ctx, q, id, lock)
	if err == nil && !manages(a, r.TownID) {
		err = auth.Refuse(a, PermManage)
	}
	return r, err
}

// CreateRound makes a round (a draft) of admitted nominations, as the town's staff.
func (s *Service) CreateRound(ctx context.Context, a *auth.Actor, in RoundInput) (RoundDetail, error) {
	townID := townOf(a, in.TownID)
	if !manages(a, townID) {
		return RoundDetail{}, auth.Refuse(a, PermManage)
	}
	loc, err := s.People.Zone(ctx, townID)
	if err != nil {
		return RoundDetail{}, err
	}
	var f errs.Fields
	in.Title, in.Rule, in.RuleCode = strings.TrimSpace(in.Title), strings.TrimSpace(in.Rule), strings.TrimSpace(in.RuleCode)
	f.Text("title", in.Title, maxRoundTitle, true)
	now := s.Now()
	today := clock.In(loc, s.Now).Today()
	if in.Year < 2000 || in.Year > today.Year()+1 {
		f.Add("year", "honours.round.year_invalid")
	}
	opens, okOpens := clock.ParseDay(in.OpensOn, loc)
	if !okOpens {
		f.Add("opens_on", "field.day_invalid")
	}
	closesDay, okCloses := clock.ParseDay(in.ClosesOn, loc)
	closes := closesDay.AddDate(0, 0, 1) // votes are taken to the end of the closing day
	switch {
	case !okCloses:
		f.Add("closes_on", "field.day_invalid")
	case okOpens && closesDay.Before(opens):
		f.Add("closes_on", "honours.round.closes_before")
	case !closes.After(now):
		f.Add("closes_on", "honours.round.closes_past")
	}
	if !slices.Contains(RoundRules, in.Rule) {
		f.Add("rule", "honours.round.rule_invalid")
	}
	switch {
	case in.Rule == RulePanelVotes && (in.PanelWeight < 1 || in.PanelWeight > 99):
		f.Add("panel_weight", "honours.round.weight_invalid")
	case in.Rule != RulePanelVotes && in.PanelWeight != 0:
		f.Add("panel_weight", "honours.round.weight_unused")
	}
	nominations := roundIDs(in.NominationIDs)
	tooMany(&f, "nomination_ids", nominations)
	if len(nominations) == 0 {
		f.Add("nomination_ids", "honours.round.no_nominees")
	}
	if in.Seats < 1 || (len(nominations) > 0 && in.Seats > len(nominations)) {
		f.Add("seats", "honours.round.seats_invalid", len(nominations))
	}
	if in.VotesPerVoter < 1 || (len(nominations) > 0 && in.VotesPerVoter > len(nominations)) {
		f.Add("votes_per_voter", "honours.round.votes_invalid", len(nominations))
	}
	voters := roundIDs(in.VoterIDs)
	tooMany(&f, "voter_ids", voters)
	switch {
	case in.Rule == RuleRepresentatives && in.VillageID == 0:
		f.Add("village_id", "honours.round.representatives_village")
	case in.Rule == RuleRepresentatives && len(voters) == 0:
		f.Add("voter_ids", "honours.round.no_representatives")
	case in.Rule != RuleRepresentatives && len(voters) > 0:
		f.Add("voter_ids", "honours.round.voters_unused")
	}
	if in.RuleCode != "" {
		rules, err := s.Bank.RulesOffered(ctx, townID, in.VillageID, today.Format(clock.DayLayout))
		if err != nil {
			return RoundDetail{}, err
		}
		if !slices.ContainsFunc(rules, func(r bank.RuleChoice) bool { return r.Code == in.RuleCode }) {
			f.Add("rule_code", "bank.rule_unknown")
		}
	}
	if err := f.Err(); err != nil {
		return RoundDetail{}, err
	}
	var id int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if in.VillageID != 0 {
			if err := s.People.VillageIn(ctx, tx, townID, in.VillageID, "village_id"); err != nil {
				return err
			}
		}
		if err := s.admissible(ctx, tx, townID, in.VillageID, nominations); err != nil {
			return err
		}
		if len(voters) > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE id IN (`+db.IDList(voters)+`) AND village_id = $1 AND status = 'active'`, in.VillageID).Scan(&n); err != nil {
				return fmt.Errorf("honours: representatives: %w", err)
			}
			if n != len(voters) {
				return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "voter_ids", Key: "honours.round.voter_unknown"}}}
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO honours_rounds (town_id, village_id, title, year, opens_at, closes_at, seats, votes_per_voter, rule, panel_weight,
			rule_code, status, created_by, created_by_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12, $13, $14, $14) RETURNING id`,
			townID, db.NullID(in.VillageID), in.Title, in.Year, opens.UTC(), closes.UTC(), in.Seats, in.VotesPerVoter, in.Rule, in.PanelWeight, in.RuleCode, a.AccountID, a.Name, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("honours: create round: %w", err)
		}
		for _, n := range nominations {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_round_nominees (round_id, nomination_id) VALUES ($1, $2)`, id, n); err != nil {
				return fmt.Errorf("honours: round nominee: %w", err)
			}
		}
		for _, v := range voters {
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_round_voters (round_id, resident_id) VALUES ($1, $2)`, id, v); err != nil {
				return fmt.Errorf("honours: round voter: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.round.create", Entity: "honours_round", EntityID: id, TownID: townID, VillageID: in.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"title": in.Title, "rule": in.Rule, "nominees": len(nominations), "seats": in.Seats, "votes_per_voter": in.VotesPerVoter})})
	})
	if err != nil {
		return RoundDetail{}, err
	}
	return s.RoundDetail(ctx, a, id)
}

// admissible checks the nominations a round names: each admitted by staff with the nominee's (or
// a guardian's) consent, of the town and, for a village round, of the village, and in no other
// round that is not over. Another town's answers NotFound on the field, like a missing one.
func (s *Service) admissible(ctx context.Context, tx *sql.Tx, townID, villageID int64, ids []int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT n.id, n.village_id, n.status, n.consent,
		EXISTS (SELECT 1 FROM honours_round_nominees rn JOIN honours_rounds r ON r.id = rn.round_id WHERE rn.nomination_id = n.id AND r.status IN ('draft', 'open', 'notice'))
		FROM honours_nominations n WHERE n.town_id = $1 AND n.id IN (`+db.IDList(ids)+`)`, townID)
	if err != nil {
		return fmt.Errorf("honours: nominations of round: %w", err)
	}
	defer rows.Close()
	found := 0
	var f errs.Fields
	for rows.Next() {
		var id, village int64
		var status, consent string
		var busy bool
		if err := rows.Scan(&id, &village, &status, &consent, &busy); err != nil {
			return err
		}
		found++
		switch {
		case villageID != 0 && village != villageID:
			f.Add("nomination_ids", "honours.round.nominee_elsewhere")
		case status != "admitted":
			f.Add("nomination_ids", "honours.round.nominee_not_admitted")
		case consent != "given":
			f.Add("nomination_ids", "honours.round.nominee_no_consent")
		case busy:
			f.Add("nomination_ids", "honours.round.nominee_busy")
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if found != len(ids) {
		return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "nomination_ids", Key: "honours.round.nominee_unknown"}}}
	}
	if len(f) > 0 {
		return f[:1].Err()
	}
	return nil
}

// uniqueIDs are the positive ids of a list, each once, in order.
func roundIDs(ids []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if id > 0 && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// OpenRound opens a draft round for votes (from its opening day), and tells the nominees.
func (s *Service) OpenRound(ctx context.Context, a *auth.Actor, id int64) (RoundDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.managedRound(ctx, tx, a, id, s.roundLock())
		if err != nil {
			return err
		}
		if r.Status != RoundDraft {
			return errs.New(errs.Conflict, "honours.round.not_draft")
		}
		if !r.ClosesAt.After(s.Now()) {
			return errs.New(errs.Conflict, "honours.round.period_over")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE honours_rounds SET status = 'open', updated_at = $1 WHERE id = $2`, s.Now(), id); err != nil {
			return fmt.Errorf("honours: open round: %w", err)
		}
		if err := s.Notify.TellEach(ctx, tx, `SELECT n.resident_id FROM honours_round_nominees rn JOIN honours_nominations n ON n.id = rn.nomination_id WHERE rn.round_id = $1`, []any{id},
			notify.Outcome{Title: "honours.outcome.round_open_title", Body: "honours.outcome.round_open", Args: []any{r.Title}, Link: fmt.Sprintf("/honours/rounds/%d", id)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.round.open", Entity: "honours_round", EntityID: id, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(map[string]any{"status": RoundDraft}, map[string]any{"status": RoundOpen})})
	})
	if err != nil {
		return RoundDetail{}, err
	}
	return s.RoundDetail(ctx, a, id)
}

// CancelRound cancels a round not yet closed, with the town's reason: its votes stay, counted for
// nobody; the nominees and those who voted are told.
func (s *Service) CancelRound(ctx context.Context, a *auth.Actor, id int64, reason string) (RoundDetail, error) {
	var f errs.Fields
	reason = strings.TrimSpace(reason)
	f.Text("reason", reason, maxReason, true)
	if _, err := s.managedRound(ctx, s.DB.Read(), a, id, ""); err != nil {
		return RoundDetail{}, err
	}
	if err := f.Err(); err != nil {
		return RoundDetail{}, err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.managedRound(ctx, tx, a, id, s.roundLock())
		if err != nil {
			return err
		}
		if r.Status != RoundDraft && r.Status != RoundOpen {
			return errs.New(errs.Conflict, "honours.round.not_open")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE honours_rounds SET status = 'cancelled', reason = $1, closed_at = $2, closed_by_name = $3, updated_at = $2 WHERE id = $4`,
			reason, s.Now(), a.Name, id); err != nil {
			return fmt.Errorf("honours: cancel round: %w", err)
		}
		if err := s.Notify.TellEach(ctx, tx, `SELECT n.resident_id FROM honours_round_nominees rn JOIN honours_nominations n ON n.id = rn.nomination_id WHERE rn.round_id = $1
			UNION SELECT voter_id FROM honours_votes WHERE round_id = $1`, []any{id},
			notify.Outcome{Title: "honours.outcome.round_cancelled_title", Body: "honours.outcome.round_cancelled", Args: []any{r.Title, reason}, Link: fmt.Sprintf("/honours/rounds/%d", id)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.round.cancel", Entity: "honours_round", EntityID: id, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(map[string]any{"status": r.Status}, map[string]any{"status": RoundCancelled, "reason": reason})})
	})
	if err != nil {
		return RoundDetail{}, err
	}
	return s.RoundDetail(ctx, a, id)
}

// CloseRound closes a round whose period is over: the anomaly rules run once more; while any flag
// is open the round is not closed (the town reviews each, voiding the votes it finds were not the
// voter's, first). Then the votes are counted by the rule, the top Seats with a score are chosen,
// and they go on public notice (公示); the wall's publisher acts when the notice is published.
func (s *Service) CloseRound(ctx context.Context, a *auth.Actor, id int64) (RoundDetail, error) {
	r, err := s.managedRound(ctx, s.DB.Read(), a, id, "")
	if err != nil {
		return RoundDetail{}, err
	}
	if r.Status != RoundOpen {
		return RoundDetail{}, errs.New(errs.Conflict, "honours.round.not_open")
	}
	if s.Now().Before(r.ClosesAt) {
		return RoundDetail{}, errs.New(errs.Conflict, "honours.round.not_over")
	}
	if _, err := s.CheckRound(ctx, a, id); err != nil {
		return RoundDetail{}, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.managedRound(ctx, tx, a, id, s.roundLock())
		if err != nil {
			return err
		}
		if r.Status != RoundOpen {
			return errs.New(errs.Conflict, "honours.round.not_open")
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_vote_flags WHERE round_id = $1 AND status = 'open'`, id).Scan(&open); err != nil {
			return fmt.Errorf("honours: open flags: %w", err)
		}
		if open > 0 {
			return errs.New(errs.Conflict, "honours.round.flags_open", open)
		}
		ns, err := s.tally(ctx, tx, r)
		if err != nil {
			return err
		}
		if r.Rule == RulePanelVotes {
			for _, n := range ns {
				if n.Scores == 0 {
					return errs.New(errs.Conflict, "honours.round.unscored", n.Name)
				}
			}
		}
		var items []NoticeItem
		for _, n := range ns {
			if n.Chosen {
				items = append(items, NoticeItem{ItemID: n.NominationID, Rank: n.Rank, ResidentID: n.ResidentID, HouseholdID: n.HouseholdID, VillageID: n.VillageID,
					Label: n.Name, Detail: n.Category})
			}
		}
		if len(items) == 0 {
			return errs.New(errs.Conflict, "honours.round.nobody_chosen")
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE honours_rounds SET status = 'notice', closed_at = $1, closed_by_name = $2, updated_at = $1 WHERE id = $3`, now, a.Name, id); err != nil {
			return fmt.Errorf("honours: close round: %w", err)
		}
		if _, err := s.openNotice(ctx, tx, a, Notice{TownID: r.TownID, VillageID: r.VillageID, Kind: NoticeRound, RefID: r.ID, Title: r.Title}, items); err != nil {
			return err
		}
		if err := s.Notify.TellEach(ctx, tx, `SELECT n.resident_id FROM honours_round_nominees rn JOIN honours_nominations n ON n.id = rn.nomination_id WHERE rn.round_id = $1`, []any{id},
			notify.Outcome{Title: "honours.outcome.round_closed_title", Body: "honours.outcome.round_closed", Args: []any{r.Title}, Link: fmt.Sprintf("/honours/rounds/%d", id)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.round.close", Entity: "honours_round", EntityID: id, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(map[string]any{"status": RoundOpen}, map[string]any{"status": RoundNotice, "chosen": len(items)})})
	})
	if err != nil {
		return RoundDetail{}, err
	}
	return s.RoundDetail(ctx, a, id)
}

// nominees are a round's nominees, a minor's name masked, in the order they were admitted.
func (s *Service) nominees(ctx context.Context, q db.Querier, r Round) ([]Nominee, error) {
	rows, err := q.QueryContext(ctx, `SELECT n.id, n.resident_id, p.household_id, p.birth_date, n.village_id, v.name, p.name, c.code, c.name, n.story
		FROM honours_round_nominees rn JOIN honours_nominations n ON n.id = rn.nomination_id JOIN residents p ON p.id = n.resident_id
		JOIN villages v ON v.id = n.village_id JOIN honours_categories c ON c.id = n.category_id WHERE rn.round_id = $1 ORDER BY n.id`, r.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: nominees: %w", err)
	}
	defer rows.Close()
	loc, err := s.People.Zone(ctx, r.TownID)
	if err != nil {
		return nil, err
	}
	today := clock.In(loc, s.Now).Today()
	var out []Nominee
	for rows.Next() {
		var n Nominee
		var birth, code, name string
		if err := rows.Scan(&n.NominationID, &n.ResidentID, &n.HouseholdID, &birth, &n.VillageID, &n.Village, &n.Name, &code, &name, &n.Story); err != nil {
			return nil, err
		}
		if b, err := time.Parse(clock.DayLayout, birth); err == nil && (people.Resident{BirthDate: b}).Age(today) < 18 {
			n.Minor, n.Name = true, bank.MaskMinor(n.Name)
		}
		n.Category = name
		if code != "" {
			n.Category = s.t("honours.category." + code)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// tally counts a round's votes that are not voided and ranks its nominees by the rule: by votes;
// or by the panel's mean score (0–100) weighted PanelWeight percent with the votes as a share of
// the most any nominee got (0–100); ties go to more votes, then to the earlier nomination. The top
// Seats with a score above zero are chosen.
func (s *Service) tally(ctx context.Context, q db.Querier, r Round) ([]Nominee, error) {
	ns, err := s.nominees(ctx, q, r)
	if err != nil {
		return nil, err
	}
	votes := map[int64]int{}
	rows, err := q.QueryContext(ctx, `SELECT nomination_id, COUNT(*) FROM honours_votes WHERE round_id = $1 AND voided_at IS NULL GROUP BY nomination_id`, r.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: tally: %w", err)
	}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		votes[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	type panel struct{ sum, n int }
	scores := map[int64]panel{}
	if r.Rule == RulePanelVotes {
		rows, err := q.QueryContext(ctx, `SELECT nomination_id, SUM(score), COUNT(*) FROM honours_panel_scores WHERE round_id = $1 GROUP BY nomination_id`, r.ID)
		if err != nil {
			return nil, fmt.Errorf("honours: panel tally: %w", err)
		}
		for rows.Next() {
			var id int64
			var p panel
			if err := rows.Scan(&id, &p.sum, &p.n); err != nil {
				rows.Close()
				return nil, err
			}
			scores[id] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	most := 0
	for _, n := range votes {
		most = max(most, n)
	}
	for i := range ns {
		n := &ns[i]
		n.Votes = votes[n.NominationID]
		n.Score = float64(n.Votes)
		if r.Rule == RulePanelVotes {
			share := 0.0
			if most > 0 {
				share = float64(n.Votes) * 100 / float64(most)
			}
			if p := scores[n.NominationID]; p.n > 0 {
				n.Panel, n.Scores = float64(p.sum)/float64(p.n), p.n
			}
			n.Score = (float64(r.PanelWeight)*n.Panel + float64(100-r.PanelWeight)*share) / 100
		}
	}
	slices.SortStableFunc(ns, func(x, y Nominee) int {
		if c := cmp.Compare(y.Score, x.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Votes, x.Votes); c != 0 {
			return c
		}
		return cmp.Compare(x.NominationID, y.NominationID)
	})
	for i := range ns {
		ns[i].Rank = i + 1
		ns[i].Chosen = i < r.Seats && ns[i].Score > 0
	}
	return ns, nil
}

// SetPanelScores records the actor's scores (0–100) of a round's nominees under the rule
// 'panel_votes': the town's staff sit on the panel, each scoring as themselves, and may change a
// score until the round is closed.
func (s *Service) SetPanelScores(ctx context.Context, a *auth.Actor, id int64, scores map[int64]int) (RoundDetail, error) {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.managedRound(ctx, tx, a, id, s.roundLock())
		if err != nil {
			return err
		}
		if r.Rule != RulePanelVotes {
			return errs.New(errs.Conflict, "honours.round.no_panel")
		}
		if r.Status != RoundDraft && r.Status != RoundOpen {
			return errs.New(errs.Conflict, "honours.round.not_open")
		}
		var f errs.Fields
		if len(scores) == 0 {
			f.Add("scores", "field.required")
		}
		for nid, sc := range scores {
			if sc < 0 || sc > 100 {
				f.Add(fmt.Sprintf("score_%d", nid), "honours.round.score_invalid")
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.Now()
		for nid, sc := range scores {
			var in int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_round_nominees WHERE round_id = $1 AND nomination_id = $2`, id, nid).Scan(&in); err != nil {
				return err
			}
			if in == 0 {
				return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: fmt.Sprintf("score_%d", nid), Key: "honours.round.nominee_unknown"}}}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO honours_panel_scores (round_id, nomination_id, account_id, judge_name, score, scored_at) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (round_id, nomination_id, account_id) DO UPDATE SET score = excluded.score, judge_name = excluded.judge_name, scored_at = excluded.scored_at`,
				id, nid, a.AccountID, a.Name, sc, now); err != nil {
				return fmt.Errorf("honours: panel score: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.round.score", Entity: "honours_round", EntityID: id, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"scores": scores})})
	})
	if err != nil {
		return RoundDetail{}, err
	}
	return s.RoundDetail(ctx, a, id)
}

// RoundFilter narrows the staff's list of rounds.
type RoundFilter struct {
	Status string
}

// Rounds are the rounds of a town the actor sees as staff: all of them for the town's staff; a
// village's staff the town's rounds that are open or past and their villages'.
func (s *Service) Rounds(ctx context.Context, a *auth.Actor, townID int64, f RoundFilter) ([]Round, error) {
	townID = townOf(a, townID)
	var cond []string
	if !manages(a, townID) {
		all, vs := villageScope(a, townID)
		if !all && len(vs) == 0 {
			return nil, auth.Refuse(a, PermVillage)
		}
		cond = append(cond, `r.status <> 'draft'`)
		if !all {
			cond = append(cond, `(r.village_id IS NULL OR r.village_id IN (`+db.IDList(vs)+`))`)
		}
	}
	if f.Status != "" {
		if !slices.Contains(RoundStatuses, f.Status) {
			return nil, errs.Field("status", "honours.round.status_invalid")
		}
		cond = append(cond, fmt.Sprintf(`r.status = '%s'`, f.Status))
	}
	where := ""
	if len(cond) > 0 {
		where = " AND " + strings.Join(cond, " AND ")
	}
	return s.roundList(ctx, `r.town_id = $1`+where, townID, manages(a, townID))
}

// roundList reads rounds, newest first, with their voters and (for the town) open flags.
func (s *Service) roundList(ctx context.Context, where string, arg any, flags bool) ([]Round, error) {
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT `+roundCols+`,
		(SELECT COUNT(DISTINCT voter_id) FROM honours_votes x WHERE x.round_id = r.id AND x.voided_at IS NULL),
		(SELECT COUNT(*) FROM honours_vote_flags g WHERE g.round_id = r.id AND g.status = 'open')
		FROM honours_rounds r LEFT JOIN villages v ON v.id = r.village_id WHERE `+where+` ORDER BY r.closes_at DESC, r.id DESC LIMIT 200`, arg)
	if err != nil {
		return nil, fmt.Errorf("honours: rounds: %w", err)
	}
	defer rows.Close()
	out := []Round{}
	for rows.Next() {
		var r Round
		var closed sql.NullTime
		if err := rows.Scan(&r.ID, &r.TownID, &r.VillageID, &r.Village, &r.Title, &r.Year, &r.OpensAt, &r.ClosesAt, &r.Seats, &r.VotesPerVoter, &r.Rule,
			&r.PanelWeight, &r.RuleCode, &r.Status, &r.Reason, &closed, &r.ClosedByName, &r.CreatedByName, &r.Voters, &r.OpenFlags); err != nil {
			return nil, err
		}
		r.ClosedAt = closed.Time
		if !flags {
			r.OpenFlags = 0
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MyRounds are the rounds a resident (in office mode, the one acted for) may see: those of their
// town and of their village that are open or whose chosen are on notice or published.
func (s *Service) MyRounds(ctx context.Context, a *auth.Actor) ([]Round, error) {
	m, ok, err := s.me(ctx, s.DB.Read(), a)
	if err != nil {
		return nil, err
	}
	if !ok || !m.Active {
		if err := auth.MayAnywhere(a, PermJoin); err != nil && !a.IsStaff() {
			return nil, err
		}
		return []Round{}, nil
	}
	return s.roundList(ctx, fmt.Sprintf(`r.town_id = $1 AND r.status IN ('open', 'notice', 'published') AND (r.village_id IS NULL OR r.village_id = %d)`, m.VillageID), m.TownID, false)
}

// voterOf is the resident the actor votes as in a round, and whether they may: an active resident
// of its scope (under 'representatives', one of the listed voters). In office mode it is the
// resident acted for, and the actor must take their village's side.
func (s *Service) voterOf(ctx context.Context, q db.Querier, a *auth.Actor, r Round) (people.Me, bool, error) {
	m, ok, err := s.me(ctx, q, a)
	if err != nil || !ok || !m.Active || m.TownID != r.TownID || (r.VillageID != 0 && m.VillageID != r.VillageID) {
		return m, false, err
	}
	if a.ActingFor != nil && !servesVillage(a, m.TownID, m.VillageID) {
		return m, false, nil
	}
	if r.Rule == RuleRepresentatives {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_round_voters WHERE round_id = $1 AND resident_id = $2`, r.ID, m.ID).Scan(&n); err != nil {
			return m, false, fmt.Errorf("honours: round voter: %w", err)
		}
		return m, n > 0, nil
	}
	return m, true, nil
}

// RoundDetail is a round as the actor may see it: the town's staff all of it (the tally once
// voting is over, the anomalies always), a village's staff a round of theirs without the tally
// until it is on notice, a resident of its scope the nominees, their own votes and, once on
// notice, the result. A draft is the town's only; anyone else answers NotFound.
func (s *Service) RoundDetail(ctx context.Context, a *auth.Actor, id int64) (RoundDetail, error) {
	if a == nil || a.AccountID == 0 {
		return RoundDetail{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	q := s.DB.Read()
	r, err := s.round(ctx, q, id, "")
	if err != nil {
		return RoundDetail{}, err
	}
	d := RoundDetail{Round: r}
	d.Manages, d.Staff = roundStaff(a, r)
	if a.ActingFor != nil {
		d.Manages, d.Staff = false, false // the page is the resident's beside the staff member
	}
	m, eligible, err := s.voterOf(ctx, q, a, r)
	if err != nil {
		return RoundDetail{}, err
	}
	resident := m.ID != 0 && m.Active && m.TownID == r.TownID && (r.VillageID == 0 || m.VillageID == r.VillageID)
	if (!d.Staff && !resident) || (r.Status == RoundDraft && !d.Manages) {
		return RoundDetail{}, notFound
	}
	now := s.Now()
	d.Taking = r.Status == RoundOpen && !now.Before(r.OpensAt) && now.Before(r.ClosesAt)
	d.Over = r.Status == RoundOpen && !now.Before(r.ClosesAt)
	d.Tally = r.Status == RoundNotice || r.Status == RoundPublished || (d.Manages && d.Over)
	if d.Tally {
		d.Nominees, err = s.tally(ctx, q, r)
	} else {
		d.Nominees, err = s.nominees(ctx, q, r)
	}
	if err != nil {
		return RoundDetail{}, err
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT voter_id), COUNT(*) FROM honours_votes WHERE round_id = $1 AND voided_at IS NULL`, id).Scan(&d.Voters, &d.TotalVotes); err != nil {
		return RoundDetail{}, fmt.Errorf("honours: round votes: %w", err)
	}
	if resident && !d.Staff {
		d.Eligible, d.Assisted, d.VoterName = eligible, a.ActingFor != nil, m.Name
		mine := map[int64]bool{}
		rows, err := q.QueryContext(ctx, `SELECT nomination_id FROM honours_votes WHERE round_id = $1 AND voter_id = $2 AND voided_at IS NULL`, id, m.ID)
		if err != nil {
			return RoundDetail{}, fmt.Errorf("honours: my votes: %w", err)
		}
		for rows.Next() {
			var nid int64
			if err := rows.Scan(&nid); err != nil {
				rows.Close()
				return RoundDetail{}, err
			}
			mine[nid] = true
		}
		rows.Close()
		for i := range d.Nominees {
			d.Nominees[i].Mine = mine[d.Nominees[i].NominationID]
		}
		if eligible {
			d.VotesLeft = max(0, r.VotesPerVoter-len(mine))
		}
	}
	if !d.Tally {
		for i := range d.Nominees {
			d.Nominees[i].Votes = 0
		}
	}
	if d.Manages {
		if d.Flags, err = s.voteFlags(ctx, q, id); err != nil {
			return RoundDetail{}, err
		}
		for _, f := range d.Flags {
			if f.Status == "open" {
				d.OpenFlags++
			}
		}
		if r.Rule == RuleRepresentatives {
			rows, err := q.QueryContext(ctx, `SELECT p.id, p.name FROM honours_round_voters rv JOIN residents p ON p.id = rv.resident_id WHERE rv.round_id = $1 ORDER BY p.name, p.id`, id)
			if err != nil {
				return RoundDetail{}, fmt.Errorf("honours: representatives: %w", err)
			}
			for rows.Next() {
				var n Named
				if err := rows.Scan(&n.ID, &n.Name); err != nil {
					rows.Close()
					return RoundDetail{}, err
				}
				d.Representatives = append(d.Representatives, n)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return RoundDetail{}, err
			}
		}
	}
	if r.Status == RoundNotice || r.Status == RoundPublished {
		if err := q.QueryRowContext(ctx, `SELECT id FROM honours_notices WHERE kind = $1 AND ref_id = $2`, NoticeRound, id).Scan(&d.NoticeID); err != nil && !db.IsNoRows(err) {
			return RoundDetail{}, err
		}
	}
	return d, nil
}

// roundTodos are, for the town's staff, the open rounds whose period is over, to close, and the
// anomalies not yet reviewed.
func (s *Service) roundTodos(ctx context.Context, a *auth.Actor) ([]web.Todo, error) {
	if a == nil || !manages(a, a.TownID) {
		return nil, nil
	}
	var due, flags int
	q := s.DB.Read()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_rounds WHERE town_id = $1 AND status = 'open' AND closes_at <= $2`, a.TownID, s.Now()).Scan(&due); err != nil {
		return nil, fmt.Errorf("honours: rounds todo: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_vote_flags g JOIN honours_rounds r ON r.id = g.round_id
		WHERE r.town_id = $1 AND r.status = 'open' AND g.status = 'open'`, a.TownID).Scan(&flags); err != nil {
		return nil, fmt.Errorf("honours: flags todo: %w", err)
	}
	var out []web.Todo
	if due > 0 {
		out = append(out, web.Todo{Key: "honours.todo.rounds_due", Count: due, Path: "/admin/honours/rounds"})
	}
	if flags > 0 {
		out = append(out, web.Todo{Key: "honours.todo.anomalies", Count: flags, Path: "/admin/honours/rounds"})
	}
	return out, nil
}

// Admissible is a nomination a new round may admit, for the form's picker.
type Admissible struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	VillageID int64  `json:"village_id"`
	Village   string `json:"village"`
	Category  string `json:"category"`
}

// AdmissibleNominations are a town's nominations a new round may admit (admitted, with consent,
// in no round that is not over), for the town's staff.
func (s *Service) AdmissibleNominations(ctx context.Context, a *auth.Actor, townID int64) ([]Admissible, error) {
	townID = townOf(a, townID)
	if !manages(a, townID) {
		return nil, auth.Refuse(a, PermManage)
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT n.id, p.name, n.village_id, v.name, c.code, c.name FROM honours_nominations n
		JOIN residents p ON p.id = n.resident_id JOIN villages v ON v.id = n.village_id JOIN honours_categories c ON c.id = n.category_id
		WHERE n.town_id = $1 AND n.status = 'admitted' AND n.consent = 'given'
		AND NOT EXISTS (SELECT 1 FROM honours_round_nominees rn JOIN honours_rounds r ON r.id = rn.round_id WHERE rn.nomination_id = n.id AND r.status IN ('draft', 'open', 'notice'))
		ORDER BY v.name, n.id LIMIT 500`, townID)
	if err != nil {
		return nil, fmt.Errorf("honours: admissible nominations: %w", err)
	}
	defer rows.Close()
	out := []Admissible{}
	for rows.Next() {
		var n Admissible
		var code string
		if err := rows.Scan(&n.ID, &n.Name, &n.VillageID, &n.Village, &code, &n.Category); err != nil {
			return nil, err
		}
		if code != "" {
			n.Category = s.t("honours.category." + code)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
