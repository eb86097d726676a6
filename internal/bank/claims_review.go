package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// Review approves or rejects a pending claim. Approval puts it on notice when its rule needs one,
// and posts it at once otherwise (the rule's cap applies then). Nobody approves a claim they
// recorded or that is their own.
func (s *Service) Review(ctx context.Context, a *auth.Actor, claimID int64, approve bool, reason string) (Claim, error) {
	c, err := s.claimByID(ctx, s.DB.Read(), claimID)
	if err != nil {
		return Claim{}, err
	}
	if err := auth.Can(a, PermReview, auth.Scope{TownID: c.townID, VillageID: c.VillageID}); err != nil {
		return Claim{}, auth.Hide(err)
	}
	reason = strings.TrimSpace(reason)
	var f errs.Fields
	if !approve && reason == "" {
		f.Add("reason", "field.required")
	} else if utf8.RuneCountInString(reason) > 200 {
		f.Add("reason", "field.too_long")
	}
	if err := f.Err(); err != nil {
		return Claim{}, err
	}
	if c.Status != ClaimPending {
		return Claim{}, errs.New(errs.Conflict, "bank.claim_not_pending")
	}
	if approve && c.ownedBy(a) {
		return Claim{}, errs.New(errs.Forbidden, "bank.self_approval")
	}
	if approve && !c.rule.NoticeRequired {
		if _, err := s.postClaim(ctx, c, a, reason); err != nil {
			return Claim{}, err
		}
		return s.claimByID(ctx, s.DB.Read(), claimID)
	}
	now := s.Now()
	status, until := ClaimRejected, any(nil)
	if approve {
		status, until = ClaimNotice, now.Add(NoticePeriod)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bank_claims SET status = $1, reviewed_by = $2, reviewed_name = $3, review_reason = $4, reviewed_at = $5,
			notice_until = $6 WHERE id = $7 AND status = 'pending'`, status, db.NullID(a.AccountID), a.Name, reason, now, until, c.ID)
		if err != nil {
			return fmt.Errorf("bank: review: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.New(errs.Conflict, "bank.claim_not_pending")
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.claim.review", Entity: "claim", EntityID: c.ID, TownID: c.townID, VillageID: c.VillageID,
			Summary: auth.Summarize(map[string]any{"status": c.Status}, map[string]any{"status": status, "reason": reason})}); err != nil {
			return err
		}
		o := claimOutcome(c, "bank.outcome.claim_rejected_title", "bank.outcome.claim_rejected", reason)
		if approve {
			o = claimOutcome(c, "bank.outcome.claim_notice_title", "bank.outcome.claim_notice", int(NoticePeriod.Hours()/24))
		}
		if err := s.Notify.Tell(ctx, tx, c.ResidentID, o); err != nil {
			return err
		}
		c, err = s.claimByID(ctx, tx, c.ID)
		return err
	})
	return c, err
}

// postClaim posts a claim's points with the key claim:<id> and marks it posted in the same
// transaction, the claim's row locked first. With a reviewer it is an approval of a pending
// claim; without, the scheduler's posting of a claim whose notice ended, which must still have
// no open or upheld objection. errNotDue means another server got there first or an objection
// came in.
func (s *Service) postClaim(ctx context.Context, c Claim, reviewer *auth.Actor, reason string) (Posted, error) {
	tg, err := s.target(ctx, c.ResidentID)
	if err != nil {
		return Posted{}, err
	}
	if err := s.ensureTown(ctx, tg.Town.ID); err != nil {
		return Posted{}, err
	}
	now := s.Now()
	approvedBy := c.ReviewedByName
	if reviewer != nil {
		approvedBy = reviewer.Name
	}
	t := Transfer{TownID: tg.Town.ID, Kind: "claim", Key: claimKey(c.ID), ResidentID: c.ResidentID, RuleID: c.rule.ID, RuleCode: c.RuleCode,
		Amount: c.Points, Reason: c.Description, Actor: &auth.Actor{AccountID: c.recordedBy, Name: c.RecordedByName}, ApprovedBy: approvedBy,
		Earned: c.Points, Period: Period(now, tg.Town.Location())}
	t.Guard = func(ctx context.Context, tx *sql.Tx) error { return s.checkCap(ctx, tx, tg, c.rule) }
	return s.write(ctx, t, func(ctx context.Context, tx *sql.Tx) (Posted, error) {
		var status string
		var until sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT status, notice_until FROM bank_claims WHERE id = $1`+s.DB.ForUpdate(), c.ID).Scan(&status, &until); err != nil {
			return Posted{}, fmt.Errorf("bank: post claim: %w", err)
		}
		if reviewer != nil && status != ClaimPending {
			return Posted{}, errs.New(errs.Conflict, "bank.claim_not_pending")
		}
		if reviewer == nil {
			if status != ClaimNotice || !until.Valid || until.Time.After(now) {
				return Posted{}, errNotDue
			}
			var held int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bank_objections WHERE claim_id = $1 AND status IN ('open', 'upheld')`, c.ID).Scan(&held); err != nil {
				return Posted{}, fmt.Errorf("bank: post claim: %w", err)
			}
			if held > 0 {
				return Posted{}, errNotDue
			}
		}
		p, err := s.post(ctx, tx, t)
		if err != nil {
			return p, err
		}
		if reviewer == nil {
			if _, err = tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'posted', transaction_id = $1 WHERE id = $2`, p.TransactionID, c.ID); err != nil {
				return p, err
			}
			return p, s.Notify.Tell(ctx, tx, c.ResidentID, claimOutcome(c, "bank.outcome.claim_posted_title", "bank.outcome.claim_notice_over"))
		}
		if err := s.Notify.Tell(ctx, tx, c.ResidentID, claimOutcome(c, "bank.outcome.claim_posted_title", "bank.outcome.claim_posted")); err != nil {
			return p, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'posted', transaction_id = $1, reviewed_by = $2, reviewed_name = $3,
			review_reason = $4, reviewed_at = $5 WHERE id = $6`, p.TransactionID, db.NullID(reviewer.AccountID), reviewer.Name, reason, now, c.ID); err != nil {
			return p, fmt.Errorf("bank: post claim: %w", err)
		}
		return p, auth.Audit(ctx, tx, reviewer, auth.AuditEntry{Action: "bank.claim.review", Entity: "claim", EntityID: c.ID, TownID: c.townID, VillageID: c.VillageID,
			Summary: auth.Summarize(map[string]any{"status": c.Status}, map[string]any{"status": ClaimPosted, "reason": reason, "transaction": p.TransactionID})})
	})
}

// Object files an objection to a claim on the notice board of the objector's own village, while
// the notice runs; one per resident per claim.
func (s *Service) Object(ctx context.Context, a *auth.Actor, claimID int64, reason string) (Objection, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return Objection{}, err
	}
	c, err := s.claimByID(ctx, s.DB.Read(), claimID)
	if err != nil {
		return Objection{}, err
	}
	var o Objection
	var village int64
	var status string
	err = s.DB.Read().QueryRowContext(ctx, `SELECT village_id, status, name FROM residents WHERE id = $1`, self).Scan(&village, &status, &o.ResidentName)
	if err != nil || village != c.VillageID || status != string(people.Active) {
		return Objection{}, errs.New(errs.NotFound, "error.not_found")
	}
	reason = strings.TrimSpace(reason)
	var f errs.Fields
	if reason == "" {
		f.Add("reason", "field.required")
	} else if utf8.RuneCountInString(reason) > 500 {
		f.Add("reason", "field.too_long")
	}
	if err := f.Err(); err != nil {
		return Objection{}, err
	}
	if self == c.ResidentID {
		return Objection{}, errs.New(errs.Forbidden, "bank.objection_own")
	}
	now := s.Now()
	o = Objection{ClaimID: c.ID, ResidentID: self, ResidentName: o.ResidentName, Reason: reason, Status: "open", CreatedAt: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The claim's row is locked so that the scheduler, which takes the same lock before it
		// posts, either sees this objection or has already posted.
		var st string
		var until sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT status, notice_until FROM bank_claims WHERE id = $1`+s.DB.ForUpdate(), c.ID).Scan(&st, &until); err != nil {
			return fmt.Errorf("bank: object: %w", err)
		}
		if st != ClaimNotice || !until.Valid || !now.Before(until.Time) {
			return errs.New(errs.Conflict, "bank.notice_over")
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO bank_objections (claim_id, resident_id, reason, status, created_at) VALUES ($1, $2, $3, 'open', $4) RETURNING id`,
			c.ID, self, reason, now).Scan(&o.ID)
		if db.IsUnique(err) {
			return errs.New(errs.Conflict, "bank.objection_exists")
		}
		if err != nil {
			return fmt.Errorf("bank: object: %w", err)
		}
		// The claimant learns that their claim is questioned, not who questioned it.
		if err := s.Notify.Tell(ctx, tx, c.ResidentID, claimOutcome(c, "bank.outcome.objected_title", "bank.outcome.objected")); err != nil {
			return err
		}
		if a.ActingFor == nil {
			return nil
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.claim.object", Entity: "objection", EntityID: o.ID, TownID: c.townID, VillageID: c.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"claim_id": c.ID, "reason": reason})})
	})
	if err != nil {
		return Objection{}, err
	}
	return o, nil
}

// DecideObjection upholds an objection, which rejects the claim with the decision as its reason,
// or dismisses it, which lets the notice run on, and returns the claim as it now stands.
// Dismissing is approving: refused to whoever recorded the claim or is its claimant.
func (s *Service) DecideObjection(ctx context.Context, a *auth.Actor, objectionID int64, uphold bool, decision string) (Claim, error) {
	var claimID, objector int64
	var status string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT claim_id, resident_id, status FROM bank_objections WHERE id = $1`, objectionID).Scan(&claimID, &objector, &status)
	if db.IsNoRows(err) {
		return Claim{}, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return Claim{}, fmt.Errorf("bank: decide objection: %w", err)
	}
	c, err := s.claimByID(ctx, s.DB.Read(), claimID)
	if err != nil {
		return Claim{}, err
	}
	if err := auth.Can(a, PermReview, auth.Scope{TownID: c.townID, VillageID: c.VillageID}); err != nil {
		return Claim{}, auth.Hide(err)
	}
	decision = strings.TrimSpace(decision)
	var f errs.Fields
	if decision == "" {
		f.Add("decision", "field.required")
	} else if utf8.RuneCountInString(decision) > 500 {
		f.Add("decision", "field.too_long")
	}
	if err := f.Err(); err != nil {
		return Claim{}, err
	}
	if status != "open" {
		return Claim{}, errs.New(errs.Conflict, "bank.objection_decided")
	}
	if !uphold && c.ownedBy(a) {
		return Claim{}, errs.New(errs.Forbidden, "bank.self_approval")
	}
	outcome := "dismissed"
	if uphold {
		outcome = "upheld"
	}
	now := s.Now()
	var decided Claim
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var st string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM bank_claims WHERE id = $1`+s.DB.ForUpdate(), c.ID).Scan(&st); err != nil {
			return fmt.Errorf("bank: decide objection: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE bank_objections SET status = $1, decided_by = $2, decided_name = $3, decision = $4, decided_at = $5
			WHERE id = $6 AND status = 'open'`, outcome, db.NullID(a.AccountID), a.Name, decision, now, objectionID)
		if err != nil {
			return fmt.Errorf("bank: decide objection: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.New(errs.Conflict, "bank.objection_decided")
		}
		claimant := claimOutcome(c, "bank.outcome.objection_decided_title", "bank.outcome.objection_dismissed_claimant")
		raiser := claimOutcome(c, "bank.outcome.objection_decided_title", "bank.outcome.objection_dismissed", decision)
		raiser.Link = "/bank/notices"
		if uphold {
			if _, err := tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'rejected', reviewed_by = $1, reviewed_name = $2, review_reason = $3, reviewed_at = $4
				WHERE id = $5 AND status IN ('pending', 'notice')`, db.NullID(a.AccountID), a.Name, decision, now, c.ID); err != nil {
				return fmt.Errorf("bank: decide objection: %w", err)
			}
			claimant = claimOutcome(c, "bank.outcome.claim_rejected_title", "bank.outcome.objection_upheld_claimant", decision)
			raiser.Body = "bank.outcome.objection_upheld"
		}
		if err := s.Notify.Tell(ctx, tx, c.ResidentID, claimant); err != nil {
			return err
		}
		if err := s.Notify.Tell(ctx, tx, objector, raiser); err != nil {
			return err
		}
		if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.objection.decide", Entity: "objection", EntityID: objectionID, TownID: c.townID, VillageID: c.VillageID,
			Summary: auth.Summarize(map[string]any{"status": "open", "claim_status": st}, map[string]any{"status": outcome, "decision": decision, "claim_id": c.ID})}); err != nil {
			return err
		}
		decided, err = s.claimByID(ctx, tx, c.ID)
		return err
	})
	if err != nil {
		return Claim{}, err
	}
	return decided, nil
}

// PostDueClaims posts every claim whose notice has ended with no open and no upheld objection,
// and returns how many it posted. Several servers may run it at once: each claim's row is locked
// and its key is claim:<id>, so each is posted once. A claim past its rule's cap is rejected.
func (s *Service) PostDueClaims(ctx context.Context) (int, error) {
	const batch = 200
	now := s.Now()
	posted := 0
	var failed []error
	for last := int64(0); ; {
		rows, err := s.DB.Read().QueryContext(ctx, `SELECT c.id FROM bank_claims c WHERE c.status = 'notice' AND c.notice_until <= $1 AND c.id > $2
			AND NOT EXISTS (SELECT 1 FROM bank_objections o WHERE o.claim_id = c.id AND o.status IN ('open', 'upheld')) ORDER BY c.id LIMIT $3`, now, last, batch)
		if err != nil {
			return posted, fmt.Errorf("bank: due claims: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return posted, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return posted, err
		}
		for _, id := range ids {
			last = id
			if err := ctx.Err(); err != nil {
				return posted, err
			}
			c, err := s.claimByID(ctx, s.DB.Read(), id)
			if err == nil {
				var p Posted
				if p, err = s.postClaim(ctx, c, nil, ""); err == nil && !p.Replayed {
					posted++
				}
			}
			if e, ok := errs.As(err); ok && e.Key == "bank.cap_reached" {
				err = s.rejectOverCap(ctx, c)
			}
			if err != nil && !errors.Is(err, errNotDue) {
				failed = append(failed, fmt.Errorf("bank: post claim %d: %w", id, err))
			}
		}
		if len(ids) < batch {
			return posted, errors.Join(failed...)
		}
	}
}

// rejectOverCap rejects a claim whose rule's cap was full when its notice ended: the cap counts
// postings, and posting it later would move it into another period.
func (s *Service) rejectOverCap(ctx context.Context, c Claim) error {
	sys := auth.System("bank.scheduler")
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'rejected', review_reason = $2 WHERE id = $1 AND status = 'notice'`, c.ID, claimOverCap)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if err := s.Notify.Tell(ctx, tx, c.ResidentID, claimOutcome(c, "bank.outcome.claim_rejected_title", "bank.outcome.claim_over_cap")); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, sys, auth.AuditEntry{Action: "bank.claim.cap_rejected", Entity: "claim", EntityID: c.ID, TownID: c.townID, VillageID: c.VillageID,
			Summary: auth.Summarize(map[string]any{"status": ClaimNotice}, map[string]any{"status": ClaimRejected, "reason": claimOverCap})})
	})
}

// RunScheduler posts due claims now and then every interval until ctx is done.
func (s *Service) RunScheduler(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := s.PostDueClaims(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("bank: scheduler", "err", err)
		}
		if n > 0 {
			log.Info("bank: claims posted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
