package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// NoticePeriod is how long an approved claim stays on its village's notice board (公示) before
// the points are posted: three days. A variable, not a constant, so that a deployment or a test
// may change it; it applies to claims approved after the change.
var NoticePeriod = 72 * time.Hour

// The statuses of a claim.
const (
	ClaimPending   = "pending"   // waiting for a reviewer
	ClaimRejected  = "rejected"  // by the reviewer, by an upheld objection, or by the cap at posting
	ClaimNotice    = "notice"    // approved, on the notice board until notice_until
	ClaimPosted    = "posted"    // the points are in the ledger, transaction claim:<id>
	ClaimWithdrawn = "withdrawn" // withdrawn by the claimant
)

// ClaimPageSize is the number of claims on a page of the staff queue.
const ClaimPageSize = 50

// Claim is a 申报: a resident's claim to points under a rule (or staff's record of it, or a
// direct award that needs a public notice), reviewed, put on public notice, then posted.
type Claim struct {
	ID             int64       `json:"id"`
	VillageID      int64       `json:"village_id"`
	ResidentID     int64       `json:"resident_id,omitzero"`
	ResidentName   string      `json:"resident_name"`
	RuleCode       string      `json:"rule_code"`
	RuleName       string      `json:"rule_name"`
	Points         int64       `json:"points"`
	Description    string      `json:"description"`
	HappenedOn     string      `json:"happened_on"`
	Status         string      `json:"status"`
	RecordedByName string      `json:"recorded_by_name"`
	ReviewedByName string      `json:"reviewed_by_name"`
	ReviewReason   string      `json:"review_reason"`
	ReviewKey      string      `json:"review_key,omitempty"` // a message key instead of ReviewReason when the bank refused it
	NoticeUntil    time.Time   `json:"notice_until,omitzero"`
	TransactionID  int64       `json:"transaction_id,omitzero"`
	CreatedAt      time.Time   `json:"created_at"`
	Photos         int         `json:"photos"`
	Objections     []Objection `json:"objections"`
	// Replayed is set on a claim answered again for a resent idempotency key.
	Replayed bool `json:"replayed,omitempty"`

	townID     int64
	recordedBy int64
	birth      string
	rule       Rule
}

// Objection is an 异议: a resident of the village doubts a claim on the notice board; staff
// uphold it (the claim is rejected) or dismiss it (the notice runs on). The objector's name is
// shown to reviewers and to the objector only.
type Objection struct {
	ID            int64     `json:"id"`
	ClaimID       int64     `json:"claim_id"`
	ResidentID    int64     `json:"resident_id,omitzero"`
	ResidentName  string    `json:"resident_name,omitempty"`
	Reason        string    `json:"reason"`
	Status        string    `json:"status"`
	DecidedByName string    `json:"decided_by_name"`
	Decision      string    `json:"decision"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	CreatedAt     time.Time `json:"created_at"`
}

// ClaimInput is a claim: the rule, what was done and when, and up to MaxPhotos photos (JPEG or
// PNG; base64 in JSON).
type ClaimInput struct {
	RuleCode    string   `json:"rule_code"`
	Description string   `json:"description"`
	HappenedOn  string   `json:"happened_on"`
	Photos      [][]byte `json:"photos"`
	// IdempotencyKey, when given, makes a resent claim (a double tap, a retry) return the first.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// selfClaimKey is where a resident's own claim key is kept: in the resident's namespace, so that
// it can never name another resident's claim or an award's notice.
func selfClaimKey(residentID int64, key string) string {
	return fmt.Sprintf("self:%d:%s", residentID, key)
}

// ClaimFilter selects claims for the staff queue; zero fields are "any" (TownID: the actor's).
type ClaimFilter struct {
	TownID    int64  `json:"town_id"`
	VillageID int64  `json:"village_id"`
	Status    string `json:"status"`
	Page      int    `json:"page"`
}

// claimKey is the idempotency key of a claim's posting.
func claimKey(id int64) string { return fmt.Sprintf("claim:%d", id) }

// claimOverCap is stored as the review reason, and shown as ReviewKey, of a claim rejected
// because its rule's cap was full when its notice ended.
const claimOverCap = "bank.claim_over_cap"

// errNotDue is a claim that is no longer due when the scheduler takes its lock.
var errNotDue = errors.New("bank: claim not due")

// ownedBy reports whether a may not approve c: a recorded it, or a is the claimant, through
// their own account or acting for them.
func (c Claim) ownedBy(a *auth.Actor) bool {
	return (c.recordedBy > 0 && a.AccountID == c.recordedBy) || a.ResidentID == c.ResidentID || a.Self() == c.ResidentID
}

type claimPhoto struct {
	mime string
	w, h int
	data []byte
}

// Claim records a claim by the resident the actor is (in office mode, the one acted for). The
// photos are checked and re-encoded before anything is written.
func (s *Service) Claim(ctx context.Context, a *auth.Actor, in ClaimInput) (Claim, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfWrite, auth.Scope{ResidentID: self}); err != nil {
		return Claim{}, err
	}
	tg, err := s.target(ctx, self)
	if err != nil {
		return Claim{}, err
	}
	if a.ActingFor != nil {
		if err := auth.Can(a, auth.OfficeAct, auth.Scope{TownID: tg.R.TownID, VillageID: tg.R.VillageID}); err != nil {
			return Claim{}, auth.Hide(err)
		}
	}
	if tg.R.Status != people.Active {
		return Claim{}, errs.New(errs.Invalid, "people.not_active")
	}
	in.RuleCode, in.Description, in.HappenedOn = strings.TrimSpace(in.RuleCode), strings.TrimSpace(in.Description), strings.TrimSpace(in.HappenedOn)
	var key any // NULL when the caller sent none
	if k := strings.TrimSpace(in.IdempotencyKey); k != "" {
		if !keyOK(k) || len(k) > 80 {
			return Claim{}, &errs.Error{Code: errs.Invalid, Key: "bank.key_invalid", Fields: []errs.FieldError{{Field: "idempotency_key", Key: "bank.key_invalid"}}}
		}
		key = selfClaimKey(tg.R.ID, k)
		if c, ok, err := s.claimWithKey(ctx, key.(string)); err != nil || ok {
			if err == nil && (c.RuleCode != in.RuleCode || c.Description != in.Description || c.HappenedOn != in.HappenedOn) {
				return Claim{}, errKeyReused()
			}
			c.Replayed = true
			return c, err
		}
	}
	var f errs.Fields
	var rule Rule
	if in.RuleCode == "" {
		f.Add("rule_code", "field.required")
	} else if rule, err = s.rule(ctx, tg, in.RuleCode); err != nil {
		if e, ok := errs.As(err); !ok || e.Key != "bank.rule_unknown" {
			return Claim{}, err
		}
		f.Add("rule_code", "bank.rule_unknown")
	}
	if in.Description == "" {
		f.Add("description", "field.required")
	} else if utf8.RuneCountInString(in.Description) > 500 {
		f.Add("description", "field.too_long")
	}
	today := tg.Town.Today(s.Now())
	if in.HappenedOn == "" {
		f.Add("happened_on", "field.required")
	} else if day, err := time.Parse("2006-01-02", in.HappenedOn); err != nil {
		f.Add("happened_on", "people.date_invalid")
	} else if day.After(today) {
		f.Add("happened_on", "people.date_future")
	} else if day.Before(today.AddDate(-1, 0, 0)) {
		f.Add("happened_on", "bank.date_too_old")
	}
	// The photos' headers are read only now, and their pixels decoded only once everything else
	// is in order: a claim refused for its rule or date costs no decoding.
	var inspected []photo
	switch {
	case len(in.Photos) > MaxPhotos:
		f.Add("photos", "bank.photos_too_many")
	case len(in.Photos) == 0 && rule.EvidenceRequired:
		f.Add("photos", "bank.photo_required")
	default:
		for i, b := range in.Photos {
			p, err := inspectPhoto(b)
			if err != nil {
				f.Add(fmt.Sprintf("photos[%d]", i), err.(*errs.Error).Key)
				continue
			}
			inspected = append(inspected, p)
		}
	}
	if err := f.Err(); err != nil {
		return Claim{}, err
	}
	var photos []claimPhoto
	for i, p := range inspected {
		mime, w, h, out, err := p.process(ctx)
		if e, ok := errs.As(err); ok && e.Code == errs.Invalid {
			f.Add(fmt.Sprintf("photos[%d]", i), e.Key)
			continue
		}
		if err != nil {
			return Claim{}, err // busy, or the request is gone
		}
		photos = append(photos, claimPhoto{mime, w, h, out})
	}
	if err := f.Err(); err != nil {
		return Claim{}, err
	}
	now := s.Now()
	var c Claim
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO bank_claims (town_id, village_id, resident_id, rule_id, rule_code, points, description, happened_on,
			status, recorded_by, recorded_name, created_at, idem_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12) RETURNING id`,
			tg.R.TownID, tg.R.VillageID, tg.R.ID, rule.ID, rule.Code, rule.Points, in.Description, in.HappenedOn, nullID(a.AccountID), a.Name, now, key).Scan(&id)
		if db.IsUnique(err) && key != nil {
			return errClaimRaced
		}
		if err != nil {
			return fmt.Errorf("bank: claim: %w", err)
		}
		for _, p := range photos {
			if _, err := tx.ExecContext(ctx, `INSERT INTO bank_claim_photos (claim_id, mime, width, height, data) VALUES ($1, $2, $3, $4, $5)`,
				id, p.mime, p.w, p.h, p.data); err != nil {
				return fmt.Errorf("bank: claim photo: %w", err)
			}
		}
		if a.ActingFor != nil {
			if err := auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.claim.create", Entity: "claim", EntityID: id, TownID: tg.R.TownID, VillageID: tg.R.VillageID,
				Summary: auth.Summarize(nil, map[string]any{"rule_code": rule.Code, "points": rule.Points, "description": in.Description,
					"happened_on": in.HappenedOn, "photos": len(photos)})}); err != nil {
				return err
			}
		}
		c, err = s.claimByID(ctx, tx, id)
		return err
	})
	if errors.Is(err, errClaimRaced) {
		// The same claim sent twice at once: the other request stored it; answer with it.
		c, _, err = s.claimWithKey(ctx, key.(string))
		c.Replayed = true
	}
	return c, err
}

// errClaimRaced is a claim whose key another request stored first.
var errClaimRaced = errors.New("bank: claim key raced")

// claimWithKey is the claim stored under a resident's own key, if any.
func (s *Service) claimWithKey(ctx context.Context, key string) (Claim, bool, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM bank_claims WHERE idem_key = $1`, key).Scan(&id)
	if db.IsNoRows(err) {
		return Claim{}, false, nil
	}
	if err != nil {
		return Claim{}, false, fmt.Errorf("bank: claim: %w", err)
	}
	c, err := s.claimByID(ctx, s.DB.Read(), id)
	return c, err == nil, err
}

// noticeAward is Award under a rule that needs a public notice: the award becomes a claim that
// is approved by the awarding staff and on notice at once. The award's key is the claim's, so a
// replay returns the same claim.
func (s *Service) noticeAward(ctx context.Context, a *auth.Actor, tg target, rule Rule, in AwardInput) (*Claim, error) {
	if c, found, err := s.claimByKey(ctx, in.IdempotencyKey, tg, rule); found || err != nil {
		return c, err
	}
	if a.ResidentID == tg.R.ID || a.Self() == tg.R.ID {
		return nil, errs.New(errs.Forbidden, "bank.self_approval")
	}
	now := s.Now()
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO bank_claims (town_id, village_id, resident_id, rule_id, rule_code, points, description, happened_on,
			status, idem_key, recorded_by, recorded_name, reviewed_by, reviewed_name, reviewed_at, notice_until, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'notice', $9, $10, $11, $10, $11, $12, $13, $12) RETURNING id`,
			tg.R.TownID, tg.R.VillageID, tg.R.ID, rule.ID, rule.Code, rule.Points, in.Reason, tg.Today, in.IdempotencyKey,
			nullID(a.AccountID), a.Name, now, now.Add(NoticePeriod)).Scan(&id)
		if err != nil {
			return err
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.award.notice", Entity: "claim", EntityID: id, TownID: tg.R.TownID, VillageID: tg.R.VillageID,
			Summary: auth.Summarize(nil, map[string]any{"resident_id": tg.R.ID, "rule_code": rule.Code, "points": rule.Points, "reason": in.Reason, "key": in.IdempotencyKey})})
	})
	if db.IsUnique(err) {
		if c, found, err := s.claimByKey(ctx, in.IdempotencyKey, tg, rule); found || err != nil {
			return c, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bank: award on notice: %w", err)
	}
	c, err := s.claimByID(ctx, s.DB.Read(), id)
	return &c, err
}

// claimByKey returns the claim an award key made; the same key for another resident or rule is
// refused, as in the ledger.
func (s *Service) claimByKey(ctx context.Context, key string, tg target, rule Rule) (*Claim, bool, error) {
	var id int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT id FROM bank_claims WHERE idem_key = $1`, key).Scan(&id)
	if db.IsNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("bank: award on notice: %w", err)
	}
	c, err := s.claimByID(ctx, s.DB.Read(), id)
	if err != nil {
		return nil, true, err
	}
	if c.ResidentID != tg.R.ID || c.RuleCode != rule.Code {
		return nil, true, errKeyReused()
	}
	return &c, true, nil
}

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
			notice_until = $6 WHERE id = $7 AND status = 'pending'`, status, nullID(a.AccountID), a.Name, reason, now, until, c.ID)
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
			_, err = tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'posted', transaction_id = $1 WHERE id = $2`, p.TransactionID, c.ID)
			return p, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'posted', transaction_id = $1, reviewed_by = $2, reviewed_name = $3,
			review_reason = $4, reviewed_at = $5 WHERE id = $6`, p.TransactionID, nullID(reviewer.AccountID), reviewer.Name, reason, now, c.ID); err != nil {
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
// or dismisses it, which lets the notice run on. Dismissing is approving: refused to whoever
// recorded the claim or is its claimant.
func (s *Service) DecideObjection(ctx context.Context, a *auth.Actor, objectionID int64, uphold bool, decision string) error {
	var claimID int64
	var status string
	err := s.DB.Read().QueryRowContext(ctx, `SELECT claim_id, status FROM bank_objections WHERE id = $1`, objectionID).Scan(&claimID, &status)
	if db.IsNoRows(err) {
		return errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return fmt.Errorf("bank: decide objection: %w", err)
	}
	c, err := s.claimByID(ctx, s.DB.Read(), claimID)
	if err != nil {
		return err
	}
	if err := auth.Can(a, PermReview, auth.Scope{TownID: c.townID, VillageID: c.VillageID}); err != nil {
		return auth.Hide(err)
	}
	decision = strings.TrimSpace(decision)
	var f errs.Fields
	if decision == "" {
		f.Add("decision", "field.required")
	} else if utf8.RuneCountInString(decision) > 500 {
		f.Add("decision", "field.too_long")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if status != "open" {
		return errs.New(errs.Conflict, "bank.objection_decided")
	}
	if !uphold && c.ownedBy(a) {
		return errs.New(errs.Forbidden, "bank.self_approval")
	}
	outcome := "dismissed"
	if uphold {
		outcome = "upheld"
	}
	now := s.Now()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var st string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM bank_claims WHERE id = $1`+s.DB.ForUpdate(), c.ID).Scan(&st); err != nil {
			return fmt.Errorf("bank: decide objection: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE bank_objections SET status = $1, decided_by = $2, decided_name = $3, decision = $4, decided_at = $5
			WHERE id = $6 AND status = 'open'`, outcome, nullID(a.AccountID), a.Name, decision, now, objectionID)
		if err != nil {
			return fmt.Errorf("bank: decide objection: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.New(errs.Conflict, "bank.objection_decided")
		}
		if uphold {
			if _, err := tx.ExecContext(ctx, `UPDATE bank_claims SET status = 'rejected', reviewed_by = $1, reviewed_name = $2, review_reason = $3, reviewed_at = $4
				WHERE id = $5 AND status IN ('pending', 'notice')`, nullID(a.AccountID), a.Name, decision, now, c.ID); err != nil {
				return fmt.Errorf("bank: decide objection: %w", err)
			}
		}
		return auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.objection.decide", Entity: "objection", EntityID: objectionID, TownID: c.townID, VillageID: c.VillageID,
			Summary: auth.Summarize(map[string]any{"status": "open", "claim_status": st}, map[string]any{"status": outcome, "decision": decision, "claim_id": c.ID})})
	})
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

// ---- reading claims

var claimStatuses = []string{ClaimPending, ClaimRejected, ClaimNotice, ClaimPosted, ClaimWithdrawn}

// Claims is the staff queue: claims of the villages the actor reviews, by village and status,
// ClaimPageSize a page; pending claims oldest first, others newest first.
func (s *Service) Claims(ctx context.Context, a *auth.Actor, f ClaimFilter) ([]Claim, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if f.Status != "" && !slices.Contains(claimStatuses, f.Status) {
		return nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "status", Key: "bank.claim_status_invalid"}}}
	}
	town := f.TownID
	if town == 0 {
		town = a.TownID
	}
	all, villages := auth.Visible(a, PermReview, town)
	if !all && len(villages) == 0 {
		return nil, errs.New(errs.Forbidden, "error.forbidden")
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if town != 0 {
		where = append(where, "c.town_id = "+arg(town))
	}
	switch {
	case f.VillageID != 0:
		if !all && !slices.Contains(villages, f.VillageID) {
			return nil, errs.New(errs.NotFound, "error.not_found")
		}
		where = append(where, "c.village_id = "+arg(f.VillageID))
	case !all:
		in := make([]string, len(villages))
		for i, v := range villages {
			in[i] = arg(v)
		}
		where = append(where, "c.village_id IN ("+strings.Join(in, ", ")+")")
	}
	order := "c.id DESC"
	if f.Status != "" {
		where = append(where, "c.status = "+arg(f.Status))
		if f.Status == ClaimPending {
			order = "c.id"
		}
	}
	page := max(f.Page, 1)
	q := claimSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s LIMIT %d OFFSET %d", order, ClaimPageSize, (page-1)*ClaimPageSize)
	out, err := s.claims(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return out, s.withObjections(ctx, out, true, 0)
}

// NoticeBoard lists the claims on a village's notice board (公示栏), for the village's residents
// and staff. A minor's name shows as the surname and ＊.
func (s *Service) NoticeBoard(ctx context.Context, a *auth.Actor, villageID int64) ([]Claim, error) {
	if a == nil || a.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	var townID int64
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id FROM villages WHERE id = $1`, villageID).Scan(&townID)
	if db.IsNoRows(err) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return nil, fmt.Errorf("bank: notice board: %w", err)
	}
	sc := auth.Scope{TownID: townID, VillageID: villageID}
	if auth.Can(a, auth.VillageRead, sc) != nil && !s.activeIn(ctx, a.Self(), villageID) {
		return nil, errs.New(errs.NotFound, "error.not_found")
	}
	town, err := s.People.Town(ctx, townID)
	if err != nil {
		return nil, err
	}
	today := town.Today(s.Now())
	out, err := s.claims(ctx, claimSelect+` WHERE c.village_id = $1 AND c.status = 'notice' ORDER BY c.notice_until, c.id`, villageID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if claimMinor(out[i], today) {
			out[i].ResidentName, out[i].ResidentID = MaskMinor(out[i].ResidentName), 0
		}
	}
	return out, s.withObjections(ctx, out, auth.Can(a, PermReview, sc) == nil, a.Self())
}

// MyClaims lists the claims of the resident the actor is, newest first (the last 100).
func (s *Service) MyClaims(ctx context.Context, a *auth.Actor) ([]Claim, error) {
	self := a.Self()
	if err := auth.Can(a, auth.SelfRead, auth.Scope{ResidentID: self}); err != nil {
		return nil, err
	}
	out, err := s.claims(ctx, claimSelect+` WHERE c.resident_id = $1 ORDER BY c.id DESC LIMIT 100`, self)
	if err != nil {
		return nil, err
	}
	return out, s.withObjections(ctx, out, false, self)
}

// ClaimByID returns one claim to whoever may see it: its village's reviewers, the claimant, and,
// while it is on notice, the village's residents (a minor's claim then with the name masked).
func (s *Service) ClaimByID(ctx context.Context, a *auth.Actor, id int64) (Claim, error) {
	c, staff, err := s.visibleClaim(ctx, a, id)
	if err != nil {
		return Claim{}, err
	}
	out := []Claim{c}
	err = s.withObjections(ctx, out, staff, a.Self())
	return out[0], err
}

// visibleClaim loads a claim and checks that the actor may see it; staff reports a reviewer.
func (s *Service) visibleClaim(ctx context.Context, a *auth.Actor, id int64) (c Claim, staff bool, err error) {
	if a == nil || a.AccountID == 0 {
		return Claim{}, false, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if c, err = s.claimByID(ctx, s.DB.Read(), id); err != nil {
		return Claim{}, false, err
	}
	if auth.Can(a, PermReview, auth.Scope{TownID: c.townID, VillageID: c.VillageID}) == nil {
		return c, true, nil
	}
	if a.Self() == c.ResidentID || a.ResidentID == c.ResidentID {
		return c, false, nil
	}
	if c.Status == ClaimNotice && s.activeIn(ctx, a.Self(), c.VillageID) {
		town, err := s.People.Town(ctx, c.townID)
		if err != nil {
			return Claim{}, false, err
		}
		if !claimMinor(c, town.Today(s.Now())) {
			return c, false, nil
		}
	}
	return Claim{}, false, errs.New(errs.NotFound, "error.not_found")
}

// activeIn reports whether a resident is an active resident of a village.
func (s *Service) activeIn(ctx context.Context, residentID, villageID int64) bool {
	if residentID == 0 {
		return false
	}
	var n int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM residents WHERE id = $1 AND village_id = $2 AND status = 'active'`, residentID, villageID).Scan(&n)
	return err == nil && n > 0
}

const claimSelect = `SELECT c.id, c.town_id, c.village_id, c.resident_id, r.name, r.birth_date, c.rule_id, c.rule_code, br.name, br.cap_period, br.cap_count,
	br.evidence_required, br.notice_required, c.points, c.description, c.happened_on, c.status, COALESCE(c.recorded_by, 0), c.recorded_name,
	c.reviewed_name, c.review_reason, c.notice_until, COALESCE(c.transaction_id, 0), c.created_at,
	(SELECT COUNT(*) FROM bank_claim_photos p WHERE p.claim_id = c.id)
	FROM bank_claims c JOIN residents r ON r.id = c.resident_id JOIN bank_rules br ON br.id = c.rule_id`

func scanClaim(sc interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	var until sql.NullTime
	err := sc.Scan(&c.ID, &c.townID, &c.VillageID, &c.ResidentID, &c.ResidentName, &c.birth, &c.rule.ID, &c.RuleCode, &c.RuleName,
		&c.rule.CapPeriod, &c.rule.CapCount, &c.rule.EvidenceRequired, &c.rule.NoticeRequired, &c.Points, &c.Description, &c.HappenedOn,
		&c.Status, &c.recordedBy, &c.RecordedByName, &c.ReviewedByName, &c.ReviewReason, &until, &c.TransactionID, &c.CreatedAt, &c.Photos)
	if err != nil {
		return c, err
	}
	c.Objections = []Objection{}
	c.rule.Code, c.rule.Name, c.rule.Points = c.RuleCode, c.RuleName, c.Points
	if until.Valid {
		c.NoticeUntil = until.Time
	}
	if c.Status == ClaimRejected && c.ReviewReason == claimOverCap {
		c.ReviewKey, c.ReviewReason = c.ReviewReason, ""
	}
	return c, nil
}

func (s *Service) claimByID(ctx context.Context, q db.Querier, id int64) (Claim, error) {
	c, err := scanClaim(q.QueryRowContext(ctx, claimSelect+` WHERE c.id = $1`, id))
	if db.IsNoRows(err) {
		return c, errs.New(errs.NotFound, "error.not_found")
	}
	if err != nil {
		return c, fmt.Errorf("bank: claim: %w", err)
	}
	return c, nil
}

func (s *Service) claims(ctx context.Context, q string, args ...any) ([]Claim, error) {
	rows, err := s.DB.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("bank: claims: %w", err)
	}
	defer rows.Close()
	out := []Claim{}
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("bank: claims: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// withObjections fills in the claims' objections. Objectors' names are shown to reviewers
// (names) and each objector sees their own; nobody else learns who objected.
func (s *Service) withObjections(ctx context.Context, cs []Claim, names bool, viewer int64) error {
	if len(cs) == 0 {
		return nil
	}
	at := map[int64]int{}
	ph := make([]string, len(cs))
	args := make([]any, len(cs))
	for i := range cs {
		cs[i].Objections = []Objection{}
		at[cs[i].ID] = i
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), cs[i].ID
	}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT o.id, o.claim_id, o.resident_id, r.name, o.reason, o.status, o.decided_name, o.decision, o.decided_at, o.created_at
		FROM bank_objections o JOIN residents r ON r.id = o.resident_id WHERE o.claim_id IN (`+strings.Join(ph, ", ")+`) ORDER BY o.id`, args...)
	if err != nil {
		return fmt.Errorf("bank: objections: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Objection
		var decided sql.NullTime
		if err := rows.Scan(&o.ID, &o.ClaimID, &o.ResidentID, &o.ResidentName, &o.Reason, &o.Status, &o.DecidedByName, &o.Decision, &decided, &o.CreatedAt); err != nil {
			return fmt.Errorf("bank: objections: %w", err)
		}
		if decided.Valid {
			o.DecidedAt = decided.Time
		}
		if !names && o.ResidentID != viewer {
			o.ResidentID, o.ResidentName = 0, ""
		}
		c := &cs[at[o.ClaimID]]
		c.Objections = append(c.Objections, o)
	}
	return rows.Err()
}

// claimMinor reports whether the claimant is under 18 on the town's day.
func claimMinor(c Claim, today time.Time) bool {
	b, err := time.Parse("2006-01-02", c.birth)
	return err == nil && people.Resident{BirthDate: b}.Age(today) < 18
}

// compoundSurnames are the two-character surnames, so that 欧阳娜娜 shows as 欧阳＊, not 欧＊.
var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "轩辕", "端木", "呼延", "南宫", "独孤", "西门"}

// MaskMinor shows a minor's name on public boards as the surname followed by one ＊, so that
// neither the given name nor its length shows: 王小明 → 王＊, 欧阳明 → 欧阳＊.
func MaskMinor(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return "＊"
	}
	if len(r) > 2 && slices.Contains(compoundSurnames, string(r[:2])) {
		return string(r[:2]) + "＊"
	}
	return string(r[:1]) + "＊"
}
