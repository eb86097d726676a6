package bank

import (
	"context"
	"fmt"
	"strings"

	"siwei/internal/auth"
	"siwei/internal/errs"
)

// Earning is an event a pillar pays points for: a volunteer's shift, a lesson attended. Key names
// the event in the pillar's namespace (volunteer:shift:812:resident:4411): its first word is the
// pillar, whose permission pays it (auth.AllowPay), and paying it again returns the first result.
type Earning struct {
	Key        string `json:"key"`
	ResidentID int64  `json:"resident_id"`
	RuleCode   string `json:"rule_code"`
	Reason     string `json:"reason"`
}

// EarnResult is an earning's outcome: posted, put on public notice (Pending), or refused (Err, an
// *errs.Error with its message key, or a failure the caller may retry under the same key).
type EarnResult struct {
	AwardResult
	Err error `json:"-"`
}

// Answer is what a pillar keeps of an earning's outcome beside its own record (a sign-up, an
// attendance entry): the transaction posted, or why there is none — pending, the pillar's message
// key for an earning put on public notice, or the refusal's key. retry is a failure that is no
// refusal: the pillar keeps nothing for it and pays again later under the same key.
func (r EarnResult) Answer(pending string) (txID int64, note string, retry error) {
	e, refused := errs.As(r.Err)
	switch {
	case r.Err == nil && r.Pending != nil:
		return 0, pending, nil
	case r.Err == nil:
		return r.TransactionID, "", nil
	case refused:
		return 0, e.Key, nil
	default:
		return 0, "", r.Err
	}
}

// maxEarnings bounds a batch, as a bulk award is bounded.
const maxEarnings = 50_000

// Earn is the one entry point through which pillars pay points. Each earning is admitted as a
// staff award is (the rule of the resident's class, its cap, its public notice, nobody paying
// themself), under the pillar's own permission held by the acting person in the resident's
// village: a team leader pays volunteers because they may pay for 微志愿 there, not as anyone
// else. The earnings stand on their own (one refused does not stop the others) and those posted
// are written in groups, as a bulk award is. Out of scope reads as an unknown resident.
func (s *Service) Earn(ctx context.Context, by *auth.Actor, earnings []Earning) ([]EarnResult, error) {
	if by == nil || by.AccountID == 0 {
		return nil, errs.New(errs.Unauthorized, "error.unauthorized")
	}
	if len(earnings) > maxEarnings {
		return nil, errs.Field("earnings", "bank.bulk_size")
	}
	out := make([]EarnResult, len(earnings))
	ins := make([]AwardInput, len(earnings))
	acts := make([]auth.Action, len(earnings))
	seen := make(map[string]bool, len(earnings))
	var ids []int64
	var keys []string
	for i, e := range earnings {
		in := AwardInput{ResidentID: e.ResidentID, RuleCode: e.RuleCode, Reason: e.Reason, IdempotencyKey: e.Key}
		f := awardFields(&in)
		act, ok := payAction(in.IdempotencyKey)
		if !ok {
			f.Add("idempotency_key", "bank.key_invalid")
		}
		if err := f.Err(); err != nil {
			out[i].Err = err
			continue
		}
		if seen[in.IdempotencyKey] {
			out[i].Err = &errs.Error{Code: errs.Conflict, Key: "bank.key_reused", Fields: []errs.FieldError{{Field: "idempotency_key", Key: "bank.key_reused"}}}
			continue
		}
		seen[in.IdempotencyKey] = true
		ins[i], acts[i] = in, act
		ids, keys = append(ids, in.ResidentID), append(keys, in.IdempotencyKey)
	}
	// The residents, and whether their keys are held, a chunk per query.
	tgs, err := s.targets(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("bank: earn: %w", err)
	}
	claims, posted, err := s.keysHeld(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("bank: earn: %w", err)
	}
	items := make([]*admitted, len(earnings))
	for i, in := range ins {
		if out[i].Err != nil {
			continue
		}
		found := tgs[in.ResidentID]
		if found == nil {
			out[i].Err = errs.New(errs.NotFound, "bank.resident_unknown")
			continue
		}
		tg := *found
		tg.keyClaims, tg.keyPosted = claims[in.IdempotencyKey], posted[in.IdempotencyKey]
		rule, err := s.admit(ctx, by, acts[i], tg, in.RuleCode)
		if err == nil && by.Self() == tg.R.ID {
			err = errs.New(errs.Forbidden, "bank.self_approval")
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		items[i] = &admitted{in: in, tg: &tg, rule: rule}
	}
	results, refused, err := s.settleAwards(ctx, by, items)
	if err != nil {
		return nil, fmt.Errorf("bank: earn: %w", err)
	}
	for i := range out {
		switch {
		case refused[i] != nil:
			out[i].Err = refused[i]
		case results[i] != nil:
			out[i].AwardResult = *results[i]
		}
	}
	return out, nil
}

// payAction is the permission that pays an event key's pillar; ok is false for a key that is no
// pillar's event, or whose pillar pays nothing.
func payAction(key string) (auth.Action, bool) {
	if !eventKeyOK(key) {
		return "", false
	}
	pillar, _, _ := strings.Cut(key, ":")
	act, ok := auth.PayAction(pillar)
	return act, ok
}
