package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"siwei/internal/clock"
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
	// ConfirmDuplicate files the claim although the resident claimed the same rule for the same
	// day in the last 24 hours: without it such a claim is refused for the person to decide.
	ConfirmDuplicate bool `json:"confirm_duplicate,omitempty"`
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
	today := tg.Town.Clock(s.Now).Today()
	if in.HappenedOn == "" {
		f.Add("happened_on", "field.required")
	} else if day, err := time.Parse(clock.DayLayout, in.HappenedOn); err != nil {
		f.Add("happened_on", "people.date_invalid")
	} else if day.After(today) {
		f.Add("happened_on", "people.date_future")
	} else if day.Before(today.AddDate(-1, 0, 0)) {
		f.Add("happened_on", "bank.date_too_old")
	}
	if len(f) == 0 && !in.ConfirmDuplicate {
		if err := s.checkDuplicateClaim(ctx, tg.R.ID, rule, in.HappenedOn); err != nil {
			return Claim{}, err
		}
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
			tg.R.TownID, tg.R.VillageID, tg.R.ID, rule.ID, rule.Code, rule.Points, in.Description, in.HappenedOn, db.NullID(a.AccountID), a.Name, now, key).Scan(&id)
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
			db.NullID(a.AccountID), a.Name, now, now.Add(NoticePeriod)).Scan(&id)
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

// checkDuplicateClaim refuses, for the person to confirm, a claim of the same rule and day as one
// the resident filed in the last errs.DuplicateWindow that was not rejected or withdrawn: a second
// tap, or the clerk and the resident both recording the same deed.
func (s *Service) checkDuplicateClaim(ctx context.Context, residentID int64, rule Rule, day string) error {
	var n int
	err := s.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM bank_claims WHERE resident_id = $1 AND rule_code = $2 AND happened_on = $3
		AND status IN ('pending', 'notice', 'posted') AND created_at > $4`, residentID, rule.Code, day, s.Now().Add(-errs.DuplicateWindow)).Scan(&n)
	if err != nil {
		return fmt.Errorf("bank: claim duplicates: %w", err)
	}
	if n > 0 {
		return errs.Duplicate("bank.claim_duplicate", rule.Name, day)
	}
	return nil
}
