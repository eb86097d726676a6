package honours

import (
	"cmp"
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

// The anomaly rules (异常提示) a round's votes are checked against. A rule flags what it finds to
// the town, beside the result; it never removes or discounts a vote by itself.
const (
	FlagOverEligible  = "over_eligible"  // a village has more voters than it has eligible residents
	FlagDeviceBurst   = "device_burst"   // many voters from one device within BurstWindow
	FlagAddrBurst     = "addr_burst"     // many voters from one network address within BurstWindow
	FlagAssistedBurst = "assisted_burst" // one staff member casting many voters' votes within BurstWindow
	FlagOneHousehold  = "one_household"  // a nominee's votes mostly from one household
	FlagNewAccounts   = "new_accounts"   // a nominee's votes mostly from accounts made just before
)

// FlagRules are the anomaly rules, in the order the page lists them.
var FlagRules = []string{FlagOverEligible, FlagDeviceBurst, FlagAddrBurst, FlagAssistedBurst, FlagOneHousehold, FlagNewAccounts}

// The rules' thresholds. A household of five sharing one phone, a village office's shared line
// and a staff member helping a queue of old people at a minute each stay under them.
const (
	// BurstWindow is the span a burst is counted in.
	BurstWindow = 10 * time.Minute
	// DeviceBurstVoters distinct voters from one device cookie within the window is a burst.
	DeviceBurstVoters = 6
	// AddrBurstVoters distinct voters from one address within the window is a burst (a village's
	// phones often share one address behind the carrier).
	AddrBurstVoters = 20
	// AssistedBurstVoters distinct voters assisted by one staff member within the window.
	AssistedBurstVoters = 10
	// ConcentrationMin is the fewest counted votes a nominee must have before one_household and
	// new_accounts look at them; HouseholdMin the fewest of one household's.
	ConcentrationMin = 5
	HouseholdMin     = 3
	// NewAccountDays is how recent an account must be, at the vote, to count as new.
	NewAccountDays = 7
)

// VoteFlag is an anomaly a rule found in a round's votes: what it is about (the village, the nominee),
// how many votes or voters it counts, and the town's review.
type VoteFlag struct {
	ID             int64     `json:"id"`
	RoundID        int64     `json:"round_id"`
	Rule           string    `json:"rule"`
	Subject        string    `json:"-"`
	VillageID      int64     `json:"village_id,omitzero"`
	NominationID   int64     `json:"nomination_id,omitzero"`
	Votes          int       `json:"votes"`
	Detail         string    `json:"detail"`
	Status         string    `json:"status"`
	ReviewedByName string    `json:"reviewed_by_name,omitempty"`
	Note           string    `json:"note,omitempty"`
	FoundAt        time.Time `json:"found_at"`
}

// voteFlags are a round's anomalies, the open first.
func (s *Service) voteFlags(ctx context.Context, q db.Querier, roundID int64) ([]VoteFlag, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, rule, subject, COALESCE(village_id, 0), COALESCE(nomination_id, 0), votes, detail, status, reviewed_by_name, note, found_at
		FROM honours_vote_flags WHERE round_id = $1 ORDER BY status = 'reviewed', id`, roundID)
	if err != nil {
		return nil, fmt.Errorf("honours: flags: %w", err)
	}
	defer rows.Close()
	var out []VoteFlag
	for rows.Next() {
		f := VoteFlag{RoundID: roundID}
		if err := rows.Scan(&f.ID, &f.Rule, &f.Subject, &f.VillageID, &f.NominationID, &f.Votes, &f.Detail, &f.Status, &f.ReviewedByName, &f.Note, &f.FoundAt); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// flagVotes is the condition on a round's votes (alias x) that picks those a flag concerns.
func flagVotes(f VoteFlag, args []any) (string, []any) {
	kind, rest, _ := strings.Cut(f.Subject, ":")
	switch kind {
	case "village":
		return fmt.Sprintf(` AND x.village_id = $%d`, len(args)+1), append(args, flagAtoi(rest))
	case "device":
		return fmt.Sprintf(` AND x.device = $%d AND x.assisted_by_name = ''`, len(args)+1), append(args, rest)
	case "addr":
		return fmt.Sprintf(` AND x.addr = $%d AND x.assisted_by_name = ''`, len(args)+1), append(args, rest)
	case "account":
		return fmt.Sprintf(` AND x.account_id = $%d AND x.assisted_by_name <> ''`, len(args)+1), append(args, flagAtoi(rest))
	case "nomination":
		nom, hh, ok := strings.Cut(rest, ":household:")
		if ok {
			return fmt.Sprintf(` AND x.nomination_id = $%d AND x.household_id = $%d`, len(args)+1, len(args)+2), append(args, flagAtoi(nom), flagAtoi(hh))
		}
		return fmt.Sprintf(` AND x.nomination_id = $%d AND x.assisted_by_name = ''`, len(args)+1), append(args, flagAtoi(nom))
	}
	return ` AND 1 = 0`, args
}

func flagAtoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// castVote is a vote as the rules read it.
type castVote struct {
	nomination, voter, village, household, account int64
	assisted                                       bool
	device, addr                                   string
	at, accountMade                                time.Time
}

// anomaly is what a rule found, before it is stored.
type anomaly struct {
	rule, subject       string
	village, nomination int64
	votes               int
	detail              string
}

// CheckRound runs the anomaly rules over a round's counted votes and flags, once each, what they
// find; a flag the town reviewed opens again when the rule finds more than it did. It runs when a
// round is closed and when the town asks, and answers the round's flags.
func (s *Service) CheckRound(ctx context.Context, a *auth.Actor, id int64) ([]VoteFlag, error) {
	var out []VoteFlag
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The round's row, held on PostgreSQL, waits for the votes being cast to be in.
		r, err := s.managedRound(ctx, tx, a, id, s.roundLock())
		if err != nil {
			return err
		}
		if r.Status == RoundDraft || r.Status == RoundCancelled {
			return errs.New(errs.Conflict, "honours.round.not_open")
		}
		fs, err := s.findAnomalies(ctx, tx, r)
		if err != nil {
			return err
		}
		now := s.Now()
		added := 0
		for _, f := range fs {
			res, err := tx.ExecContext(ctx, `INSERT INTO honours_vote_flags (round_id, rule, subject, village_id, nomination_id, votes, detail, status, found_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
				ON CONFLICT (round_id, rule, subject) DO UPDATE SET votes = excluded.votes, detail = excluded.detail, status = 'open', found_at = excluded.found_at
				WHERE excluded.votes > honours_vote_flags.votes`,
				r.ID, f.rule, f.subject, db.NullID(f.village), db.NullID(f.nomination), f.votes, f.detail, now)
			if err != nil {
				return fmt.Errorf("honours: flag: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added++
			}
		}
		if added > 0 {
			if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.round.check", Entity: "honours_round", EntityID: r.ID, TownID: r.TownID, VillageID: r.VillageID,
				Summary: auth.Summarize(nil, map[string]any{"flagged": added})}); err != nil {
				return err
			}
		}
		out, err = s.voteFlags(ctx, tx, r.ID)
		return err
	})
	return out, err
}

// findAnomalies applies every rule to a round's counted votes.
func (s *Service) findAnomalies(ctx context.Context, q db.Querier, r Round) ([]anomaly, error) {
	rows, err := q.QueryContext(ctx, `SELECT x.nomination_id, x.voter_id, x.village_id, x.household_id, x.account_id, x.assisted_by_name <> '', x.device, x.addr, x.cast_at,
		ac.created_at FROM honours_votes x LEFT JOIN accounts ac ON ac.id = x.account_id
		WHERE x.round_id = $1 AND x.voided_at IS NULL ORDER BY x.cast_at, x.id`, r.ID)
	if err != nil {
		return nil, fmt.Errorf("honours: votes to check: %w", err)
	}
	var votes []castVote
	for rows.Next() {
		var v castVote
		var made sql.NullTime
		if err := rows.Scan(&v.nomination, &v.voter, &v.village, &v.household, &v.account, &v.assisted, &v.device, &v.addr, &v.at, &made); err != nil {
			rows.Close()
			return nil, err
		}
		v.accountMade = made.Time
		if !made.Valid {
			v.accountMade = v.at // a vote without an account of its own is not a new account's
		}
		votes = append(votes, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(votes) == 0 {
		return nil, nil
	}
	loc, err := s.People.Zone(ctx, r.TownID)
	if err != nil {
		return nil, err
	}
	at := func(t time.Time) string { return t.In(loc).Format("01-02 15:04") }
	var out []anomaly

	// over_eligible: a village's distinct voters against the residents who may vote there now.
	voters := map[int64]map[int64]bool{}
	for _, v := range votes {
		if voters[v.village] == nil {
			voters[v.village] = map[int64]bool{}
		}
		voters[v.village][v.voter] = true
	}
	eligible := map[int64]int{}
	query := `SELECT village_id, COUNT(*) FROM residents WHERE town_id = $1 AND status = 'active' GROUP BY village_id`
	arg := r.TownID
	if r.Rule == RuleRepresentatives {
		query = `SELECT p.village_id, COUNT(*) FROM honours_round_voters rv JOIN residents p ON p.id = rv.resident_id WHERE rv.round_id = $1 AND p.status = 'active' GROUP BY p.village_id`
		arg = r.ID
	}
	erows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, fmt.Errorf("honours: eligible voters: %w", err)
	}
	for erows.Next() {
		var v int64
		var n int
		if err := erows.Scan(&v, &n); err != nil {
			erows.Close()
			return nil, err
		}
		eligible[v] = n
	}
	erows.Close()
	if err := erows.Err(); err != nil {
		return nil, err
	}
	for village, vs := range voters {
		if len(vs) > eligible[village] {
			out = append(out, anomaly{rule: FlagOverEligible, subject: fmt.Sprintf("village:%d", village), village: village, votes: len(vs),
				detail: s.t("honours.anomaly.detail.over_eligible", len(vs), eligible[village])})
		}
	}

	// Bursts: the most distinct voters one device, address or staff member reached within the window.
	burst := func(rule string, threshold int, key func(castVote) string, detail func(k string, n int, from, to time.Time) string) {
		groups := map[string][]castVote{}
		for _, v := range votes {
			if k := key(v); k != "" {
				groups[k] = append(groups[k], v)
			}
		}
		for k, vs := range groups {
			best, from, to := 0, time.Time{}, time.Time{}
			seen := map[int64]int{}
			lo := 0
			for hi, v := range vs {
				seen[v.voter]++
				for vs[lo].at.Before(v.at.Add(-BurstWindow)) {
					if seen[vs[lo].voter]--; seen[vs[lo].voter] == 0 {
						delete(seen, vs[lo].voter)
					}
					lo++
				}
				if len(seen) > best {
					best, from, to = len(seen), vs[lo].at, vs[hi].at
				}
			}
			if best >= threshold {
				out = append(out, anomaly{rule: rule, subject: k, votes: best, detail: detail(k, best, from, to)})
			}
		}
	}
	minutes := int(BurstWindow / time.Minute)
	burst(FlagDeviceBurst, DeviceBurstVoters, func(v castVote) string {
		if v.assisted || v.device == "" {
			return ""
		}
		return "device:" + v.device
	}, func(_ string, n int, from, to time.Time) string {
		return s.t("honours.anomaly.detail.device_burst", n, minutes, at(from), at(to))
	})
	burst(FlagAddrBurst, AddrBurstVoters, func(v castVote) string {
		if v.assisted || v.addr == "" {
			return ""
		}
		return "addr:" + v.addr
	}, func(_ string, n int, from, to time.Time) string {
		return s.t("honours.anomaly.detail.addr_burst", n, minutes, at(from), at(to))
	})
	names := map[int64]string{}
	burst(FlagAssistedBurst, AssistedBurstVoters, func(v castVote) string {
		if !v.assisted {
			return ""
		}
		return fmt.Sprintf("account:%d", v.account)
	}, func(k string, n int, from, to time.Time) string {
		id := flagAtoi(strings.TrimPrefix(k, "account:"))
		if _, ok := names[id]; !ok {
			var name string
			if err := q.QueryRowContext(ctx, `SELECT name FROM accounts WHERE id = $1`, id).Scan(&name); err != nil {
				name = "?"
			}
			names[id] = name
		}
		return s.t("honours.anomaly.detail.assisted_burst", names[id], n, minutes, at(from), at(to))
	})

	// Concentration: a nominee's votes mostly from one household, or from new accounts.
	byNominee := map[int64][]castVote{}
	for _, v := range votes {
		byNominee[v.nomination] = append(byNominee[v.nomination], v)
	}
	for nom, vs := range byNominee {
		if len(vs) < ConcentrationMin {
			continue
		}
		households := map[int64]int{}
		fresh := 0
		for _, v := range vs {
			households[v.household]++
			if !v.assisted && v.at.Sub(v.accountMade) < NewAccountDays*24*time.Hour {
				fresh++
			}
		}
		var top int64
		for h, n := range households {
			if n > households[top] || (n == households[top] && h < top) {
				top = h
			}
		}
		if n := households[top]; n >= HouseholdMin && n*2 > len(vs) {
			out = append(out, anomaly{rule: FlagOneHousehold, subject: fmt.Sprintf("nomination:%d:household:%d", nom, top), nomination: nom, votes: n,
				detail: s.t("honours.anomaly.detail.one_household", n, len(vs))})
		}
		if fresh*2 > len(vs) {
			out = append(out, anomaly{rule: FlagNewAccounts, subject: fmt.Sprintf("nomination:%d", nom), nomination: nom, votes: fresh,
				detail: s.t("honours.anomaly.detail.new_accounts", fresh, len(vs), NewAccountDays)})
		}
	}
	slices.SortFunc(out, func(x, y anomaly) int {
		if c := cmp.Compare(slices.Index(FlagRules, x.rule), slices.Index(FlagRules, y.rule)); c != 0 {
			return c
		}
		return cmp.Compare(x.subject, y.subject)
	})
	return out, nil
}

// ReviewFlag records the town's review of an anomaly, with its note (what was checked, what was
// done: votes voided, or why none were). Only the town's staff review.
func (s *Service) ReviewFlag(ctx context.Context, a *auth.Actor, flagID int64, note string) (VoteFlag, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return VoteFlag{}, err
	}
	var roundID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT round_id FROM honours_vote_flags WHERE id = $1`, flagID).Scan(&roundID)
	if db.IsNoRows(err) {
		return VoteFlag{}, auth.Refuse(a, PermManage)
	}
	if err != nil {
		return VoteFlag{}, fmt.Errorf("honours: flag %d: %w", flagID, err)
	}
	if _, err := s.managedRound(ctx, s.DB.Read(), a, roundID, ""); err != nil {
		return VoteFlag{}, err
	}
	var f errs.Fields
	note = strings.TrimSpace(note)
	f.Text("note", note, maxReason, true)
	if err := f.Err(); err != nil {
		return VoteFlag{}, err
	}
	var out VoteFlag
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.managedRound(ctx, tx, a, roundID, "")
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE honours_vote_flags SET status = 'reviewed', reviewed_by_name = $1, note = $2 WHERE id = $3 AND status = 'open'`, a.Name, note, flagID)
		if err != nil {
			return fmt.Errorf("honours: review flag: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.anomaly.reviewed_already")
		}
		fs, err := s.voteFlags(ctx, tx, roundID)
		if err != nil {
			return err
		}
		for _, g := range fs {
			if g.ID == flagID {
				out = g
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.anomaly.review", Entity: "honours_round", EntityID: roundID, TownID: r.TownID, VillageID: r.VillageID,
			Summary: auth.Summarize(map[string]any{"status": "open"}, map[string]any{"status": "reviewed", "rule": out.Rule, "note": note})})
	})
	return out, err
}

// roundLock is the row lock a write of a round takes on PostgreSQL (the round's row only, not its
// village's); SQLite's one writer needs none.
func (s *Service) roundLock() string {
	if s.DB.Engine == db.Postgres {
		return " FOR UPDATE OF r"
	}
	return ""
}
