package bank

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// AwardInput awards a resident points under a rule. Key names the event that earned them
// (`volunteer:shift:9:resident:4411`); replaying it returns the first result.
type AwardInput struct {
	ResidentID     int64  `json:"resident_id"`
	RuleCode       string `json:"rule_code"`
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"idempotency_key"`
}

// AwardResult is a posted award, or the claim put on public notice when the rule requires one.
type AwardResult struct {
	Posted
	Pending *Claim `json:"pending,omitempty"`
}

// target is a resident as the bank needs them: where they live, their class on the town's today.
type target struct {
	R     people.Resident
	Town  people.Town
	Class people.MemberClass
	Today string
	// keyClaims and keyPosted count the claims and transactions already holding the request's key.
	keyClaims, keyPosted int
}

func (s *Service) target(ctx context.Context, residentID int64) (target, error) {
	return s.targetKeyed(ctx, residentID, "")
}

// targetKeyed is target that also tells, in the same round trip, whether an idempotency key is
// already held by a claim on notice or by a posted transaction.
func (s *Service) targetKeyed(ctx context.Context, residentID int64, key string) (target, error) {
	var tg target
	var birth string
	err := s.readStmt(ctx, qTarget).QueryRowContext(ctx, residentID, key).Scan(&tg.R.ID, &tg.R.TownID, &tg.R.VillageID, &tg.R.HouseholdID, &tg.R.Name, &birth,
		&tg.R.PartyMember, &tg.R.Status, &tg.keyClaims, &tg.keyPosted)
	if db.IsNoRows(err) {
		return tg, errs.New(errs.NotFound, "bank.resident_unknown")
	}
	if err != nil {
		return tg, fmt.Errorf("bank: resident: %w", err)
	}
	tg.R.BirthDate, _ = time.Parse("2006-01-02", birth)
	if tg.Town, err = s.town(ctx, tg.R.TownID); err != nil {
		return tg, err
	}
	today := tg.Town.Today(s.Now())
	tg.Class, tg.Today = tg.R.Class(today), today.Format("2006-01-02")
	return tg, nil
}

// town returns a town, cached: towns change (name, time zone) far less often than once a minute.
func (s *Service) town(ctx context.Context, id int64) (people.Town, error) {
	type cached struct {
		t  people.Town
		at time.Time
	}
	if c, ok := s.cache.Load(fmt.Sprintf("town:%d", id)); ok && time.Since(c.(cached).at) < time.Minute {
		return c.(cached).t, nil
	}
	t, err := s.People.Town(ctx, id)
	if err == nil {
		s.cache.Store(fmt.Sprintf("town:%d", id), cached{t, time.Now()})
	}
	return t, err
}

// rule finds the rule with a code among the rules in force for the resident's class and village.
func (s *Service) rule(ctx context.Context, tg target, code string) (Rule, error) {
	rules, err := s.rulesCached(ctx, tg.Town.ID, tg.R.VillageID, tg.Class, tg.Today)
	if err != nil {
		return Rule{}, err
	}
	for _, r := range rules {
		if r.Code == code {
			return r, nil
		}
	}
	return Rule{}, &errs.Error{Code: errs.Invalid, Key: "bank.rule_unknown", Fields: []errs.FieldError{{Field: "rule_code", Key: "bank.rule_unknown"}}}
}

// Award posts points to a resident under a rule, drawn on the town's issuing account. The rule's
// cap and notice requirement apply: a rule that needs a public notice puts the award on the
// village's notice board instead, and the points follow when the notice ends without an upheld
// objection. This is the entry point every pillar uses.
func (s *Service) Award(ctx context.Context, a *auth.Actor, in AwardInput) (AwardResult, error) {
	tg, rule, err := s.checkAward(ctx, a, &in)
	if err != nil {
		return AwardResult{}, err
	}
	// A key names one event whichever way it went first: put on notice (a claim holds the key) or
	// posted (a transaction holds it), even if the rule's notice flag has changed since.
	if tg.keyClaims > 0 {
		c, err := s.noticeAward(ctx, a, tg, rule, in)
		return AwardResult{Pending: c}, err
	}
	posted := tg.keyPosted
	if rule.NoticeRequired && posted == 0 {
		c, err := s.noticeAward(ctx, a, tg, rule, in)
		return AwardResult{Pending: c}, err
	}
	p, err := s.postAward(ctx, a, tg, rule, "award", in.IdempotencyKey, in.Reason, a.Name)
	return AwardResult{Posted: p}, err
}

// checkAward validates an award and finds its resident and rule; it writes nothing.
func (s *Service) checkAward(ctx context.Context, a *auth.Actor, in *AwardInput) (target, Rule, error) {
	in.RuleCode, in.Reason, in.IdempotencyKey = strings.TrimSpace(in.RuleCode), strings.TrimSpace(in.Reason), strings.TrimSpace(in.IdempotencyKey)
	var f errs.Fields
	if in.ResidentID <= 0 {
		f.Add("resident_id", "field.required")
	}
	if in.RuleCode == "" {
		f.Add("rule_code", "field.required")
	}
	if in.Reason == "" {
		f.Add("reason", "field.required")
	} else if utf8.RuneCountInString(in.Reason) > 200 {
		f.Add("reason", "field.too_long")
	}
	if !keyOK(in.IdempotencyKey) || reservedKey(in.IdempotencyKey) {
		f.Add("idempotency_key", "bank.key_invalid")
	}
	if err := f.Err(); err != nil {
		return target{}, Rule{}, err
	}
	tg, err := s.targetKeyed(ctx, in.ResidentID, in.IdempotencyKey)
	if err != nil {
		return tg, Rule{}, err
	}
	if err := auth.Can(a, auth.BankAward, auth.Scope{TownID: tg.R.TownID, VillageID: tg.R.VillageID}); err != nil {
		return tg, Rule{}, auth.Hide(err)
	}
	if a.ResidentID == tg.R.ID {
		return tg, Rule{}, errs.New(errs.Forbidden, "bank.self_approval")
	}
	if tg.R.Status != people.Active {
		return tg, Rule{}, &errs.Error{Code: errs.Invalid, Key: "people.not_active", Fields: []errs.FieldError{{Field: "resident_id", Key: "people.not_active"}}}
	}
	rule, err := s.rule(ctx, tg, in.RuleCode)
	return tg, rule, err
}

// postAward posts an award under a rule with its cap checked under the resident's lock.
func (s *Service) postAward(ctx context.Context, a *auth.Actor, tg target, rule Rule, kind, key, reason, approvedBy string) (Posted, error) {
	t := s.awardTransfer(a, tg, rule, kind, key, reason, approvedBy)
	return s.write(ctx, t, func(ctx context.Context, tx *sql.Tx) (Posted, error) { return s.post(ctx, tx, t) })
}

// awardTransfer is the transfer of an award under a rule, with the rule's cap as its guard.
func (s *Service) awardTransfer(a *auth.Actor, tg target, rule Rule, kind, key, reason, approvedBy string) Transfer {
	t := Transfer{TownID: tg.Town.ID, Kind: kind, Key: key, ResidentID: tg.R.ID, VillageID: tg.R.VillageID, HouseholdID: tg.R.HouseholdID,
		RuleID: rule.ID, RuleCode: rule.Code, Amount: rule.Points,
		Reason: reason, Actor: a, ApprovedBy: approvedBy, Earned: rule.Points, Period: Period(s.Now(), tg.Town.Location())}
	if rule.CapPeriod != "" {
		t.Guard = func(ctx context.Context, tx *sql.Tx) error { return s.checkCap(ctx, tx, tg, rule) }
	}
	return t
}

// checkCap refuses an award past the rule's cap in the current period; reversed awards don't count.
func (s *Service) checkCap(ctx context.Context, tx *sql.Tx, tg target, rule Rule) error {
	if rule.CapPeriod == "" {
		return nil
	}
	since := periodStart(rule.CapPeriod, s.Now(), tg.Town.Location())
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bank_transactions t WHERE t.resident_id = $1 AND t.rule_code = $2 AND t.created_at >= $3
		AND t.kind IN ('award', 'claim') AND NOT EXISTS (SELECT 1 FROM bank_transactions r WHERE r.reverses_id = t.id)`, tg.R.ID, rule.Code, since).Scan(&n)
	if err != nil {
		return fmt.Errorf("bank: cap: %w", err)
	}
	// The posting's own transaction row is already written when its Guard runs, so it is counted.
	if n > rule.CapCount {
		return &errs.Error{Code: errs.Conflict, Key: "bank.cap_reached", Args: []any{rule.CapCount}, Fields: []errs.FieldError{{Field: "rule_code", Key: "bank.cap_reached", Args: []any{rule.CapCount}}}}
	}
	return nil
}

// BulkResult is one resident's outcome in a bulk award.
type BulkResult struct {
	ResidentID int64        `json:"resident_id"`
	Result     *AwardResult `json:"result,omitempty"`
	Error      string       `json:"error,omitempty"`
	ErrorArgs  []any        `json:"-"` // the message's arguments, such as a cap
}

// BulkAward awards the same rule to many residents; each award stands on its own (one refused by
// its cap does not stop the others) and is keyed `<key>:resident:<id>`. The awards are checked
// concurrently, then posted in chunks that share a transaction, each award in its own savepoint,
// so a bulk award of a whole town costs a few hundred commits instead of one per resident.
func (s *Service) BulkAward(ctx context.Context, a *auth.Actor, residentIDs []int64, ruleCode, reason, key string) ([]BulkResult, error) {
	if len(residentIDs) == 0 || len(residentIDs) > 50_000 {
		return nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "resident_ids", Key: "bank.bulk_size"}}}
	}
	if !keyOK(key) || reservedKey(key) {
		return nil, &errs.Error{Code: errs.Invalid, Key: "error.invalid", Fields: []errs.FieldError{{Field: "idempotency_key", Key: "bank.key_invalid"}}}
	}
	out := make([]BulkResult, len(residentIDs))
	fail := func(i int, err error) {
		if e, ok := errs.As(err); ok {
			out[i].Error, out[i].ErrorArgs = e.Key, e.Args
		} else {
			out[i].Error = "error.internal"
		}
	}
	transfers := make([]*Transfer, len(residentIDs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, id := range residentIDs {
		out[i].ResidentID = id
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			in := AwardInput{ResidentID: id, RuleCode: ruleCode, Reason: reason, IdempotencyKey: fmt.Sprintf("%s:resident:%d", key, id)}
			tg, rule, err := s.checkAward(ctx, a, &in)
			switch {
			case err != nil:
				fail(i, err)
			case rule.NoticeRequired:
				c, err := s.noticeAward(ctx, a, tg, rule, in)
				if err != nil {
					fail(i, err)
					return
				}
				out[i].Result = &AwardResult{Pending: c}
			default:
				if err := s.ensureTown(ctx, tg.Town.ID); err != nil {
					fail(i, err)
					return
				}
				s.accountOf(ctx, s.DB.Read(), id) // warm the cache from committed rows
				t := s.awardTransfer(a, tg, rule, "award", in.IdempotencyKey, in.Reason, a.Name)
				transfers[i] = &t
			}
		}()
	}
	wg.Wait()
	// Each chunk holds awards drawn on one issuing sub-account only, so chunks of different shards
	// run in parallel without waiting for each other, and no two chunks can wait in a cycle.
	byShard := make([][]int, IssuingShards)
	for i, t := range transfers {
		if t != nil {
			sh := t.ResidentID % IssuingShards
			byShard[sh] = append(byShard[sh], i)
		}
	}
	// Chunks are taken from each shard in turn, so that those running at once draw on different
	// sub-accounts.
	var parts [][]int
	const chunk = 250
	for lo, more := 0, true; more; lo += chunk {
		more = false
		for _, idx := range byShard {
			if lo < len(idx) {
				parts = append(parts, idx[lo:min(lo+chunk, len(idx))])
				more = more || lo+chunk < len(idx)
			}
		}
	}
	var batchErr error
	var mu sync.Mutex
	par := make(chan struct{}, 8)
	for _, part := range parts {
		wg.Add(1)
		par <- struct{}{}
		go func() {
			defer func() { <-par; wg.Done() }()
			posted := make([]Posted, len(part))
			fns := make([]func(tx *sql.Tx) error, len(part))
			detached := context.WithoutCancel(ctx)
			for j, i := range part {
				fns[j] = func(tx *sql.Tx) error {
					var err error
					posted[j], err = s.post(detached, tx, *transfers[i])
					return err
				}
			}
			results, err := s.group.Batch(ctx, fns)
			if err != nil {
				mu.Lock()
				batchErr = err
				mu.Unlock()
				return
			}
			for j, i := range part {
				err := results[j]
				if errors.Is(err, errKeyRace) {
					var found bool
					posted[j], found, err = s.replay(ctx, s.DB.Read(), *transfers[i])
					if err == nil && !found {
						err = errKeyRace
					}
				}
				if err != nil {
					fail(i, err)
					continue
				}
				out[i].Result = &AwardResult{Posted: posted[j]}
			}
		}()
	}
	wg.Wait()
	if batchErr != nil {
		return nil, batchErr
	}
	return out, nil
}

// ReverseInput undoes a transaction with a reason.
type ReverseInput struct {
	TransactionID int64  `json:"transaction_id"`
	Reason        string `json:"reason"`
}

// Reverse posts the opposite of a transaction, naming it and the reason; a transaction is
// reversed at most once, and a reversal is never reversed. Reversing an award takes the points
// back (refused if they are spent) and takes them off the rankings of the month they counted in.
func (s *Service) Reverse(ctx context.Context, a *auth.Actor, in ReverseInput) (Posted, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var orig struct {
		town, resident, rule int64
		kind, code, period   string
		amount               int64
		reverses             sql.NullInt64
	}
	err := s.DB.Read().QueryRowContext(ctx, `SELECT town_id, COALESCE(resident_id, 0), COALESCE(rule_id, 0), kind, rule_code, period, amount, reverses_id
		FROM bank_transactions WHERE id = $1`, in.TransactionID).Scan(&orig.town, &orig.resident, &orig.rule, &orig.kind, &orig.code, &orig.period, &orig.amount, &orig.reverses)
	if err != nil {
		return Posted{}, errs.New(errs.NotFound, "error.not_found")
	}
	if err := auth.Can(a, auth.BankReverse, auth.Scope{TownID: orig.town}); err != nil {
		return Posted{}, auth.Hide(err)
	}
	var f errs.Fields
	if in.Reason == "" {
		f.Add("reason", "field.required")
	}
	if orig.kind == "reversal" || orig.kind == "redeem" || orig.kind == "refund" {
		f.Add("transaction_id", "bank.not_reversible")
	}
	if err := f.Err(); err != nil {
		return Posted{}, err
	}
	// The counter leg goes back to where it came from: the issuing sub-account of the original.
	var counter int64
	if err := s.DB.Read().QueryRowContext(ctx, `SELECT e.account_id FROM bank_entries e JOIN bank_accounts ac ON ac.id = e.account_id
		WHERE e.transaction_id = $1 AND ac.kind <> 'resident'`, in.TransactionID).Scan(&counter); err != nil {
		return Posted{}, fmt.Errorf("bank: reverse: %w", err)
	}
	t := Transfer{TownID: orig.town, Kind: "reversal", Key: fmt.Sprintf("reverse:%d", in.TransactionID), ResidentID: orig.resident,
		RuleID: orig.rule, RuleCode: orig.code, Amount: -orig.amount, Counter: counter, Reason: in.Reason, ReversesID: in.TransactionID,
		Actor: a, ApprovedBy: a.Name, Earned: -orig.amount, Period: orig.period}
	p, err := s.write(ctx, t, func(ctx context.Context, tx *sql.Tx) (Posted, error) {
		p, err := s.post(ctx, tx, t)
		if err != nil {
			return p, err
		}
		if !p.Replayed {
			err = auth.Audit(ctx, tx, a, auth.AuditEntry{Action: "bank.reverse", Entity: "transaction", EntityID: in.TransactionID, TownID: orig.town,
				Summary: auth.Summarize(nil, map[string]any{"reversal": p.TransactionID, "reason": in.Reason, "points": -orig.amount})})
		}
		return p, err
	})
	if e, ok := errs.As(err); ok && e.Key == "bank.key_reused" {
		return p, errs.New(errs.Conflict, "bank.already_reversed")
	}
	return p, err
}

// reservedKey reports whether a caller's key would take a key the bank gives its own postings.
func reservedKey(k string) bool {
	for _, p := range []string{"claim:", "reverse:", "redeem:", "refund:"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
