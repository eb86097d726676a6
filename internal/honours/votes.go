package honours

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/notify"
)

// Vote is one voter's vote for one nominee in a round. AssistedByName names the village's staff
// member who cast it at the office for the voter (office mode). A voided vote stays, no longer
// counted, with who voided it and why.
type Vote struct {
	ID             int64     `json:"id"`
	RoundID        int64     `json:"round_id"`
	NominationID   int64     `json:"nomination_id"`
	Nominee        string    `json:"nominee,omitempty"`
	Voter          string    `json:"voter,omitempty"`
	Village        string    `json:"village,omitempty"`
	AssistedByName string    `json:"assisted_by_name,omitempty"`
	CastAt         time.Time `json:"cast_at"`
	Voided         bool      `json:"voided"`
	VoidedByName   string    `json:"voided_by_name,omitempty"`
	VoidReason     string    `json:"void_reason,omitempty"`
}

// VoteInput is a vote for a nominee of a round.
type VoteInput struct {
	NominationID int64 `json:"nomination_id"`
}

// VoteAnswer is what a vote leaves: the vote, and the votes the voter has left in the round.
type VoteAnswer struct {
	Vote      Vote `json:"vote"`
	VotesLeft int  `json:"votes_left"`
	// Replayed is true when the voter had this vote already: nothing was added.
	Replayed bool `json:"replayed"`
}

// VoteClient is where a vote came from, raw as the request carried it: the vote page's long-lived
// device cookie (empty for an API client without one) and the client's address. The service keeps
// only keyed hashes of them, for the anomaly rules.
type VoteClient struct {
	Device string
	Addr   string
}

// clientHash is the keyed hash of a device or an address the votes keep: the same value hashes the
// same within a round, so that the rules can see a burst, and differently in another round, so
// that rounds cannot be joined on it.
func (s *Service) clientHash(purpose string, roundID int64, v string) string {
	if strings.TrimSpace(v) == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.People.Cipher.Derive(purpose))
	fmt.Fprintf(m, "%d\x00%s", roundID, v)
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// maxClient bounds the raw device cookie read.
const maxClient = 200

// CastVote records the vote of the resident the actor is (in office mode, the villager at the
// office, the vote then recorded as assisted by the staff member) for a nominee of an open round:
// an active resident of the round's scope (under 'representatives', one of its listed voters), at
// most VotesPerVoter counted votes, one per nominee. The same vote again answers the first
// (Replayed); the vote and the count are one voter at a time, so racing requests add it once and
// never one vote more than the voter has.
func (s *Service) CastVote(ctx context.Context, a *auth.Actor, roundID int64, in VoteInput, c VoteClient) (VoteAnswer, error) {
	if a == nil || a.AccountID == 0 {
		return VoteAnswer{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if len(c.Device) > maxClient {
		c.Device = ""
	}
	var ans VoteAnswer
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, m, err := s.votingRound(ctx, tx, a, roundID)
		if err != nil {
			return err
		}
		var name string
		err = tx.QueryRowContext(ctx, `SELECT p.name FROM honours_round_nominees rn JOIN honours_nominations n ON n.id = rn.nomination_id
			JOIN residents p ON p.id = n.resident_id WHERE rn.round_id = $1 AND rn.nomination_id = $2`, roundID, in.NominationID).Scan(&name)
		if db.IsNoRows(err) {
			return &errs.Error{Code: errs.NotFound, Key: "error.not_found", Fields: []errs.FieldError{{Field: "nomination_id", Key: "honours.vote.nominee_unknown"}}}
		}
		if err != nil {
			return fmt.Errorf("honours: vote nominee: %w", err)
		}
		// One voter at a time: the count below and the insert cannot interleave with another
		// request of the same voter's (PostgreSQL; SQLite has one writer).
		if err := s.DB.Serialize(ctx, tx, fmt.Sprintf("honours vote %d %d", roundID, m.ID)); err != nil {
			return err
		}
		var existing Vote
		var voided sql.NullTime
		err = tx.QueryRowContext(ctx, `SELECT id, cast_at, assisted_by_name, voided_at, voided_by_name, void_reason FROM honours_votes WHERE round_id = $1 AND voter_id = $2 AND nomination_id = $3`,
			roundID, m.ID, in.NominationID).Scan(&existing.ID, &existing.CastAt, &existing.AssistedByName, &voided, &existing.VoidedByName, &existing.VoidReason)
		switch {
		case err == nil && voided.Valid:
			return errs.New(errs.Conflict, "honours.vote.was_voided")
		case err == nil:
			existing.RoundID, existing.NominationID, existing.Nominee, existing.Voter = roundID, in.NominationID, name, m.Name
			ans = VoteAnswer{Vote: existing, Replayed: true}
		case !db.IsNoRows(err):
			return fmt.Errorf("honours: vote: %w", err)
		default:
			var used int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND voter_id = $2 AND voided_at IS NULL`, roundID, m.ID).Scan(&used); err != nil {
				return fmt.Errorf("honours: votes used: %w", err)
			}
			if used >= r.VotesPerVoter {
				return errs.New(errs.Conflict, "honours.vote.none_left", r.VotesPerVoter)
			}
			assisted := ""
			if a.ActingFor != nil {
				assisted = a.Name
			}
			now := s.Now()
			v := Vote{RoundID: roundID, NominationID: in.NominationID, Nominee: name, Voter: m.Name, AssistedByName: assisted, CastAt: now}
			err := tx.QueryRowContext(ctx, `INSERT INTO honours_votes (round_id, nomination_id, voter_id, village_id, household_id, account_id, assisted_by_name, device, addr, cast_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, roundID, in.NominationID, m.ID, m.VillageID, m.HouseholdID, a.AccountID, assisted,
				s.clientHash("honours vote devices", roundID, c.Device), s.clientHash("honours vote addresses", roundID, c.Addr), now).Scan(&v.ID)
			if err != nil {
				return fmt.Errorf("honours: cast vote: %w", err)
			}
			ans = VoteAnswer{Vote: v}
			if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.vote.cast", Entity: "honours_round", EntityID: roundID, TownID: r.TownID, VillageID: m.VillageID,
				ForID: m.ID, ForName: m.Name, Summary: auth.Summarize(nil, map[string]any{"nominee": name, "assisted_by": assisted})}); err != nil {
				return err
			}
		}
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND voter_id = $2 AND voided_at IS NULL`, roundID, m.ID).Scan(&used); err != nil {
			return err
		}
		ans.VotesLeft = max(0, r.VotesPerVoter-used)
		return nil
	})
	return ans, err
}

// WithdrawVote takes back the voter's vote for a nominee while the round takes votes, so that
// they may give it to another; the audit log keeps that it was cast. A voided vote stays.
func (s *Service) WithdrawVote(ctx context.Context, a *auth.Actor, roundID, nominationID int64) (VoteAnswer, error) {
	if a == nil || a.AccountID == 0 {
		return VoteAnswer{}, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var ans VoteAnswer
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, m, err := s.votingRound(ctx, tx, a, roundID)
		if err != nil {
			return err
		}
		if err := s.DB.Serialize(ctx, tx, fmt.Sprintf("honours vote %d %d", roundID, m.ID)); err != nil {
			return err
		}
		var v Vote
		var voided sql.NullTime
		err = tx.QueryRowContext(ctx, `SELECT x.id, x.cast_at, x.assisted_by_name, x.voided_at, p.name FROM honours_votes x JOIN honours_nominations n ON n.id = x.nomination_id
			JOIN residents p ON p.id = n.resident_id WHERE x.round_id = $1 AND x.voter_id = $2 AND x.nomination_id = $3`, roundID, m.ID, nominationID).
			Scan(&v.ID, &v.CastAt, &v.AssistedByName, &voided, &v.Nominee)
		if db.IsNoRows(err) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("honours: withdraw vote: %w", err)
		}
		if voided.Valid {
			return errs.New(errs.Conflict, "honours.vote.was_voided")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM honours_votes WHERE id = $1 AND voided_at IS NULL`, v.ID); err != nil {
			return fmt.Errorf("honours: withdraw vote: %w", err)
		}
		v.RoundID, v.NominationID, v.Voter = roundID, nominationID, m.Name
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM honours_votes WHERE round_id = $1 AND voter_id = $2 AND voided_at IS NULL`, roundID, m.ID).Scan(&used); err != nil {
			return err
		}
		ans = VoteAnswer{Vote: v, VotesLeft: max(0, r.VotesPerVoter-used)}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.vote.withdraw", Entity: "honours_round", EntityID: roundID, TownID: r.TownID, VillageID: m.VillageID,
			ForID: m.ID, ForName: m.Name, Summary: auth.Summarize(map[string]any{"nominee": v.Nominee, "cast_at": v.CastAt, "assisted_by": v.AssistedByName}, nil)})
	})
	return ans, err
}

// votingRound reads a round the actor votes in now, and the voter: a round the voter may not
// see answers NotFound; one they see but may not vote in (not a representative, staff elsewhere)
// Forbidden; one not taking votes Conflict. On PostgreSQL the round's row is held shared, so that
// closing it waits for the votes being cast.
func (s *Service) votingRound(ctx context.Context, tx *sql.Tx, a *auth.Actor, id int64) (Round, meVoter, error) {
	lock := ""
	if s.DB.Engine == db.Postgres {
		lock = " FOR SHARE OF r"
	}
	r, err := s.round(ctx, tx, id, lock)
	if err != nil {
		return r, meVoter{}, err
	}
	m, eligible, err := s.voterOf(ctx, tx, a, r)
	if err != nil {
		return r, meVoter{}, err
	}
	resident := m.ID != 0 && m.Active && m.TownID == r.TownID && (r.VillageID == 0 || m.VillageID == r.VillageID)
	if !resident || r.Status == RoundDraft {
		if a.ActingFor == nil && m.ID == 0 {
			if _, serve := roundStaff(a, r); serve && r.Status != RoundDraft {
				return r, meVoter{}, errs.New(errs.Forbidden, "honours.vote.staff")
			}
		}
		return r, meVoter{}, notFound
	}
	if !eligible {
		return r, meVoter{}, errs.New(errs.Forbidden, "honours.vote.not_eligible")
	}
	now := s.Now()
	switch {
	case r.Status != RoundOpen || !now.Before(r.ClosesAt):
		return r, meVoter{}, errs.New(errs.Conflict, "honours.vote.closed")
	case now.Before(r.OpensAt):
		return r, meVoter{}, errs.New(errs.Conflict, "honours.vote.not_yet")
	}
	return r, meVoter{ID: m.ID, VillageID: m.VillageID, HouseholdID: m.HouseholdID, Name: m.Name}, nil
}

// meVoter is the voter of a vote.
type meVoter struct {
	ID, VillageID, HouseholdID int64
	Name                       string
}

// RoundVotes are a round's votes for the town's staff, newest first: all of them (at most 500),
// or those a flag concerns (flagID).
func (s *Service) RoundVotes(ctx context.Context, a *auth.Actor, roundID, flagID int64) ([]Vote, error) {
	q := s.DB.Read()
	r, err := s.managedRound(ctx, q, a, roundID, "")
	if err != nil {
		return nil, err
	}
	cond, args := "", []any{r.ID}
	if flagID != 0 {
		var f VoteFlag
		err := q.QueryRowContext(ctx, `SELECT rule, subject FROM honours_vote_flags WHERE id = $1 AND round_id = $2`, flagID, r.ID).Scan(&f.Rule, &f.Subject)
		if db.IsNoRows(err) {
			return nil, notFound
		}
		if err != nil {
			return nil, fmt.Errorf("honours: flag %d: %w", flagID, err)
		}
		cond, args = flagVotes(f, args)
	}
	rows, err := q.QueryContext(ctx, `SELECT x.id, x.nomination_id, np.name, vp.name, v.name, x.assisted_by_name, x.cast_at, x.voided_at IS NOT NULL, x.voided_by_name, x.void_reason
		FROM honours_votes x JOIN honours_nominations n ON n.id = x.nomination_id JOIN residents np ON np.id = n.resident_id
		JOIN residents vp ON vp.id = x.voter_id JOIN villages v ON v.id = x.village_id
		WHERE x.round_id = $1`+cond+` ORDER BY x.cast_at DESC, x.id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, fmt.Errorf("honours: round votes: %w", err)
	}
	defer rows.Close()
	out := []Vote{}
	for rows.Next() {
		v := Vote{RoundID: r.ID}
		if err := rows.Scan(&v.ID, &v.NominationID, &v.Nominee, &v.Voter, &v.Village, &v.AssistedByName, &v.CastAt, &v.Voided, &v.VoidedByName, &v.VoidReason); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// VoidVote voids a vote of an open round with the town's reason: it stays, no longer counted, and
// the voter is told why (their vote may then go to someone else while the round takes votes).
// Once a round's chosen are on notice, objections take the place of voiding.
func (s *Service) VoidVote(ctx context.Context, a *auth.Actor, voteID int64, reason string) (Vote, error) {
	if err := auth.MayAnywhere(a, PermManage); err != nil {
		return Vote{}, err
	}
	var f errs.Fields
	reason = strings.TrimSpace(reason)
	f.Text("reason", reason, maxReason, true)
	var roundID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT round_id FROM honours_votes WHERE id = $1`, voteID).Scan(&roundID)
	if db.IsNoRows(err) {
		return Vote{}, auth.Refuse(a, PermManage)
	}
	if err != nil {
		return Vote{}, fmt.Errorf("honours: vote %d: %w", voteID, err)
	}
	if _, err := s.managedRound(ctx, s.DB.Read(), a, roundID, ""); err != nil {
		return Vote{}, err
	}
	if err := f.Err(); err != nil {
		return Vote{}, err
	}
	var v Vote
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.managedRound(ctx, tx, a, roundID, s.roundLock())
		if err != nil {
			return err
		}
		if r.Status != RoundOpen {
			return errs.New(errs.Conflict, "honours.vote.void_closed")
		}
		var voter int64
		if err := tx.QueryRowContext(ctx, `SELECT x.voter_id, x.nomination_id, np.name, x.cast_at FROM honours_votes x JOIN honours_nominations n ON n.id = x.nomination_id
			JOIN residents np ON np.id = n.resident_id WHERE x.id = $1`, voteID).Scan(&voter, &v.NominationID, &v.Nominee, &v.CastAt); err != nil {
			return fmt.Errorf("honours: void vote: %w", err)
		}
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE honours_votes SET voided_at = $1, voided_by_name = $2, void_reason = $3 WHERE id = $4 AND voided_at IS NULL`, now, a.Name, reason, voteID)
		if err != nil {
			return fmt.Errorf("honours: void vote: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return errs.New(errs.Conflict, "honours.vote.voided_already")
		}
		v.ID, v.RoundID, v.Voided, v.VoidedByName, v.VoidReason = voteID, roundID, true, a.Name, reason
		if err := s.Notify.Tell(ctx, tx, voter, notify.Outcome{Title: "honours.outcome.vote_voided_title", Body: "honours.outcome.vote_voided",
			Args: []any{r.Title, v.Nominee, reason}, Link: fmt.Sprintf("/honours/rounds/%d", roundID)}); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "honours.vote.void", Entity: "honours_round", EntityID: roundID, TownID: r.TownID, VillageID: r.VillageID,
			ForID: voter, Summary: auth.Summarize(map[string]any{"counted": true}, map[string]any{"counted": false, "nominee": v.Nominee, "reason": reason})})
	})
	return v, err
}
