package bank

import (
	"context"
	"database/sql"
	"fmt"
	"siwei/internal/clock"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"siwei/internal/auth"
	"siwei/internal/db"
	"siwei/internal/errs"
	"siwei/internal/people"
)

// AwardInput awards a resident points under a rule. Key names the event that earned them, in the
// caller's namespace (Award; pillars pay theirs, `volunteer:shift:9:resident:4411`, through Earn);
// replaying it returns the first result.
type AwardInput struct {
	ResidentID     int64  `json:"resident_id"`
	RuleCode       string `json:"rule_code"`
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"idempotency_key"`
	// ConfirmDuplicate pays although the resident was awarded under the rule in the last
	// errs.DuplicateWindow: without it such an award is refused for the staff to decide.
	ConfirmDuplicate bool `json:"confirm_duplicate,omitempty"`
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
	err := s.DB.Read().QueryRowContext(ctx, qTarget, residentID, key).Scan(&tg.R.ID, &tg.R.TownID, &tg.R.VillageID, &tg.R.HouseholdID, &tg.R.Name, &birth,
		&tg.R.PartyMember, &tg.R.Status, &tg.keyClaims, &tg.keyPosted)
	if db.IsNoRows(err) {
		return tg, errs.New(errs.NotFound, "bank.resident_unknown")
	}
	if err != nil {
		return tg, fmt.Errorf("bank: resident: %w", err)
	}
	tg.R.BirthDate, _ = time.Parse(clock.DayLayout, birth)
	return tg, s.placeTarget(ctx, &tg)
}

// placeTarget completes a target read from the database: its town, class and the town's today.
func (s *Service) placeTarget(ctx context.Context, tg *target) error {
	var err error
	if tg.Town, err = s.town(ctx, tg.R.TownID); err != nil {
		return err
	}
	today := tg.Town.Clock(s.Now).Today()
	tg.Class, tg.Today = tg.R.Class(today), clock.Day(today)
	return nil
}

// targetsKeyed is targetKeyed for many residents, a chunk of them per query: residents missing
// from the map do not exist.
func (s *Service) targetsKeyed(ctx context.Context, ids []int64, keyOf func(id int64) string) (map[int64]*target, error) {
	out, err := s.targets(ctx, ids)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = keyOf(id)
	}
	claims, posted, err := s.keysHeld(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if tg := out[id]; tg != nil {
			tg.keyClaims, tg.keyPosted = claims[keyOf(id)], posted[keyOf(id)]
		}
	}
	return out, nil
}

// targets is target for many residents, a chunk of them per query: residents missing from the map
// do not exist.
func (s *Service) targets(ctx context.Context, ids []int64) (map[int64]*target, error) {
	out := make(map[int64]*target, len(ids))
	const chunk = 500
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		p := s.DB.Params()
		rows, err := s.DB.Read().QueryContext(ctx, `SELECT r.id, r.town_id, r.village_id, r.household_id, r.name, r.birth_date, r.party_member, r.status
			FROM residents r WHERE r.id IN (`+p.List(part)+`)`, p.Args...)
		if err != nil {
			return nil, fmt.Errorf("bank: residents: %w", err)
		}
		for rows.Next() {
			tg := &target{}
			var birth string
			if err := rows.Scan(&tg.R.ID, &tg.R.TownID, &tg.R.VillageID, &tg.R.HouseholdID, &tg.R.Name, &birth, &tg.R.PartyMember, &tg.R.Status); err != nil {
				rows.Close()
				return nil, err
			}
			tg.R.BirthDate, _ = time.Parse(clock.DayLayout, birth)
			out[tg.R.ID] = tg
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, tg := range out {
		if err := s.placeTarget(ctx, tg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keysHeld counts, of each key, the claims and the transactions that already hold it, a chunk of
// keys per query.
func (s *Service) keysHeld(ctx context.Context, keys []string) (claims, posted map[string]int, err error) {
	claims, posted = map[string]int{}, map[string]int{}
	const chunk = 500
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		p := s.DB.Params()
		var ph strings.Builder
		for i, k := range part {
			if i > 0 {
				ph.WriteString(", ")
			}
			ph.WriteString(p.Add(k))
		}
		for _, table := range []string{"bank_claims", "bank_transactions"} {
			held := posted
			if table == "bank_claims" {
				held = claims
			}
			rows, err := s.DB.Read().QueryContext(ctx, `SELECT idem_key FROM `+table+` WHERE idem_key IN (`+ph.String()+`)`, p.Args...)
			if err != nil {
				return nil, nil, fmt.Errorf("bank: keys: %w", err)
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return nil, nil, err
				}
				held[k]++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, nil, err
			}
		}
	}
	return claims, posted, nil
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
// objection. The key is the caller's (an API client's, a form's): it is kept in the namespace of
// the caller's account, so that it names nothing of anyone else's, and no caller can take or
// probe a pillar's event key. Pillars pay through Earn.
func (s *Service) Award(ctx context.Context, a *auth.Actor, in AwardInput) (AwardResult, error) {
	return s.award(ctx, a, in, callerSpace(a))
}

func (s *Service) award(ctx context.Context, a *auth.Actor, in AwardInput, ks keySpace) (AwardResult, error) {
	tg, rule, err := s.checkAward(ctx, a, &in, ks)
	if err != nil {
		return AwardResult{}, err
	}
	if !in.ConfirmDuplicate {
		if err := s.checkDuplicateAwards(ctx, []*admitted{{in: in, tg: &tg, rule: rule}}); err != nil {
			return AwardResult{}, err
		}
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

// A keySpace is where an idempotency key given to the bank is kept. Every key in the ledger
// begins with the name of its space, and no two spaces share a beginning:
//   - acct:<account id>:… a caller's keys (API and form awards, bulk awards), one space per account;
//   - self:<resident id>:… a resident's own claims; redeem:r<resident id>:… their orders;
//   - claim:, reverse:, refund:… the bank's own postings, made from ids it chose;
//   - <pillar>:… a pillar's events (volunteer:…, and the pillars to come): any other lowercase
//     word, given only through Earn, which pays a pillar's keys under the pillar's permission
//     (auth.AllowPay).
//
// So a key names one thing in one space, and whether it is taken can be learnt only from inside
// that space.
type keySpace string

// callerSpace is the namespace of the caller's account.
func callerSpace(a *auth.Actor) keySpace {
	var id int64
	if a != nil {
		id = a.AccountID
	}
	return keySpace(fmt.Sprintf("acct:%d:", id))
}

// key checks a key given in the space and returns it as stored, or ok=false.
func (ks keySpace) key(k string) (string, bool) {
	return string(ks) + k, keyOK(k)
}

// bankSpaces are the beginnings of keys that are not pillars' events.
var bankSpaces = []string{"acct", "self", "claim", "reverse", "redeem", "refund", "counter"}

// eventKeyOK checks a pillar's event key: a lowercase word naming the pillar (not one of the
// bank's spaces), a colon, then what names the event.
func eventKeyOK(k string) bool {
	pillar, rest, ok := strings.Cut(k, ":")
	if !ok || pillar == "" || rest == "" || !keyOK(k) || slices.Contains(bankSpaces, pillar) {
		return false
	}
	return strings.IndexFunc(pillar, func(r rune) bool { return r < 'a' || r > 'z' }) < 0
}

// checkAward validates an award, puts its key in its space and finds its resident and rule; it
// writes nothing.
func (s *Service) checkAward(ctx context.Context, a *auth.Actor, in *AwardInput, ks keySpace) (target, Rule, error) {
	f := awardFields(in)
	key, ok := ks.key(in.IdempotencyKey)
	if !ok {
		f.Add("idempotency_key", "bank.key_invalid")
	}
	if err := f.Err(); err != nil {
		return target{}, Rule{}, err
	}
	in.IdempotencyKey = key
	tg, err := s.targetKeyed(ctx, in.ResidentID, in.IdempotencyKey)
	if err != nil {
		return tg, Rule{}, err
	}
	rule, err := s.admitAward(ctx, a, tg, in.RuleCode)
	return tg, rule, err
}

// awardFields checks an award's fields but its key, trimmed.
func awardFields(in *AwardInput) errs.Fields {
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
	return f
}

// admitAward decides whether the actor may award the resident under the rule with this code, and
// finds the rule.
func (s *Service) admitAward(ctx context.Context, a *auth.Actor, tg target, ruleCode string) (Rule, error) {
	return s.admit(ctx, a, PermAward, tg, ruleCode)
}

// admit is admitAward under the permission act: a staff award's, or a pillar's for its events.
func (s *Service) admit(ctx context.Context, a *auth.Actor, act auth.Action, tg target, ruleCode string) (Rule, error) {
	if err := auth.Can(a, act, auth.Scope{TownID: tg.R.TownID, VillageID: tg.R.VillageID}); err != nil {
		return Rule{}, auth.Hide(err)
	}
	if a.ResidentID == tg.R.ID {
		return Rule{}, errs.New(errs.Forbidden, "bank.self_approval")
	}
	if tg.R.Status != people.Active {
		return Rule{}, &errs.Error{Code: errs.Invalid, Key: "people.not_active", Fields: []errs.FieldError{{Field: "resident_id", Key: "people.not_active"}}}
	}
	return s.rule(ctx, tg, ruleCode)
}

// postAward posts an award under a rule with its cap checked under the resident's lock.
func (s *Service) postAward(ctx context.Context, a *auth.Actor, tg target, rule Rule, kind, key, reason, approvedBy string) (Posted, error) {
	t := s.awardTransfer(a, tg, rule, kind, key, reason, approvedBy)
	if p, ok, err := s.postAlone(ctx, t); ok {
		return p, err
	}
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

// maxDuplicateNames bounds the names a duplicate award's refusal lists.
const maxDuplicateNames = 20

// checkDuplicateAwards refuses, for the staff to confirm, admitted awards (nil items skipped, all
// under one rule code) to people already awarded under the rule in the last errs.DuplicateWindow:
// posted and not reversed, or put on notice by an award. That is the same bulk award sent twice
// from a reloaded page, or two clerks paying for the same deed. The refusal names them, the first
// maxDuplicateNames of them. An award's own key is no duplicate of it: sent again, even while the
// first is still being posted, it answers the first and pays nothing. One query per chunk of
// residents (one for any batch of up to 500).
func (s *Service) checkDuplicateAwards(ctx context.Context, items []*admitted) error {
	var ids []int64
	own := map[int64]string{} // each resident's key in this request
	var code, ruleName string
	for _, it := range items {
		if it != nil && it.tg.keyClaims == 0 && it.tg.keyPosted == 0 {
			ids = append(ids, it.tg.R.ID)
			own[it.tg.R.ID] = it.in.IdempotencyKey
			code, ruleName = it.rule.Code, it.rule.Name
		}
	}
	since := s.Now().Add(-errs.DuplicateWindow)
	awarded := map[int64]bool{}
	const chunk = 500
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		p := s.DB.Params()
		q := `SELECT t.resident_id, t.idem_key FROM bank_transactions t WHERE t.resident_id IN (` + p.List(part) + `)`
		q += ` AND t.rule_code = ` + p.Add(code)
		q += ` AND t.kind = 'award' AND t.created_at > ` + p.Add(since)
		q += ` AND NOT EXISTS (SELECT 1 FROM bank_transactions r WHERE r.reverses_id = t.id)
			UNION SELECT c.resident_id, c.idem_key FROM bank_claims c WHERE c.resident_id IN (` + p.List(part) + `)`
		q += ` AND c.rule_code = ` + p.Add(code)
		q += ` AND c.status IN ('notice', 'posted') AND c.created_at > ` + p.Add(since)
		// Claims an award put on notice hold the award's key; a resident's own claims hold theirs
		// (self:…) or none.
		q += ` AND c.idem_key NOT LIKE 'self:%'`
		rows, err := s.DB.Read().QueryContext(ctx, q, p.Args...)
		if err != nil {
			return fmt.Errorf("bank: award duplicates: %w", err)
		}
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return fmt.Errorf("bank: award duplicates: %w", err)
			}
			if key != own[id] {
				awarded[id] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("bank: award duplicates: %w", err)
		}
	}
	if len(awarded) == 0 {
		return nil
	}
	var names []string
	for _, it := range items {
		if it != nil && awarded[it.tg.R.ID] {
			names = append(names, it.tg.R.Name)
			delete(awarded, it.tg.R.ID) // once, if the batch names them twice
		}
	}
	n := len(names)
	if n > maxDuplicateNames {
		names = append(names[:maxDuplicateNames], "…")
	}
	return errs.Duplicate("bank.award_duplicate", strings.Join(names, "、"), n, ruleName)
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
	if err := auth.Can(a, PermReverse, auth.Scope{TownID: orig.town}); err != nil {
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
