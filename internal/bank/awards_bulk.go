package bank

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"siwei/internal/auth"
	"siwei/internal/errs"
)

// BulkResult is one resident's outcome in a bulk award.
type BulkResult struct {
	ResidentID int64        `json:"resident_id"`
	Points     int64        `json:"points,omitempty"` // the rule's points for the resident's class, once admitted
	Result     *AwardResult `json:"result,omitempty"`
	Error      string       `json:"error,omitempty"`
	ErrorArgs  []any        `json:"-"` // the message's arguments, such as a cap
}

// BulkInput is a bulk award: one rule and reason for many residents, under one key.
type BulkInput struct {
	ResidentIDs    []int64
	RuleCode       string
	Reason         string
	IdempotencyKey string
	// ConfirmDuplicate pays although some of the residents were awarded under the rule in the
	// last errs.DuplicateWindow: without it the whole batch is refused, naming them.
	ConfirmDuplicate bool
}

// BulkAward awards the same rule to many residents; each award stands on its own (one refused by
// its cap does not stop the others) and is keyed `<key>:resident:<id>` in the caller's namespace.
// A batch naming people already awarded under the rule moments ago is refused whole until
// confirmed (checkDuplicateAwards); the same batch sent again under its key answers its first
// outcome. The awards are checked concurrently, then posted in chunks that share a transaction,
// each award in its own savepoint, so a bulk award of a whole town costs a few hundred commits
// instead of one per resident.
func (s *Service) BulkAward(ctx context.Context, a *auth.Actor, in BulkInput) ([]BulkResult, error) {
	residentIDs := in.ResidentIDs
	if len(residentIDs) == 0 || len(residentIDs) > 50_000 {
		return nil, errs.Field("resident_ids", "bank.bulk_size")
	}
	key, ok := callerSpace(a).key(strings.TrimSpace(in.IdempotencyKey))
	if !ok {
		return nil, errs.Field("idempotency_key", "bank.key_invalid")
	}
	out := make([]BulkResult, len(residentIDs))
	fail := func(i int, err error) {
		if e, ok := errs.As(err); ok {
			out[i].Error, out[i].ErrorArgs = e.Key, e.Args
		} else {
			out[i].Error = "error.internal"
		}
	}
	keyOf := func(id int64) string { return fmt.Sprintf("%s:resident:%d", key, id) }
	// The residents and whether their keys are held, a chunk per query; then each award is
	// checked as Award checks it.
	tgs, err := s.targetsKeyed(ctx, residentIDs, keyOf)
	if err != nil {
		return nil, err
	}
	items := make([]*admitted, len(residentIDs))
	for i, id := range residentIDs {
		out[i].ResidentID = id
		one := AwardInput{ResidentID: id, RuleCode: in.RuleCode, Reason: in.Reason, IdempotencyKey: keyOf(id)}
		if err := awardFields(&one).Err(); err != nil {
			fail(i, err)
			continue
		}
		tg := tgs[id]
		if tg == nil {
			fail(i, errs.New(errs.NotFound, "bank.resident_unknown"))
			continue
		}
		rule, err := s.admitAward(ctx, a, *tg, one.RuleCode)
		if err != nil {
			fail(i, err)
			continue
		}
		items[i] = &admitted{in: one, tg: tg, rule: rule}
		out[i].Points = rule.Points
	}
	if !in.ConfirmDuplicate {
		if err := s.checkDuplicateAwards(ctx, items); err != nil {
			return nil, err
		}
	}
	results, refused, err := s.settleAwards(ctx, a, items)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if refused[i] != nil {
			fail(i, refused[i])
		} else if results[i] != nil {
			out[i].Result = results[i]
		}
	}
	return out, nil
}

// admitted is an award that passed admission: its input with its key as stored, its resident and
// its rule.
type admitted struct {
	in   AwardInput
	tg   *target
	rule Rule
}

// settleAwards puts admitted awards on notice or posts them, as Award would one by one (nil items are
// skipped): those posted share transactions, a chunk of them in one group (postChunk), so a
// batch costs a few commits instead of one per award. It returns each item's result or refusal;
// err is a failure of the whole batch.
func (s *Service) settleAwards(ctx context.Context, a *auth.Actor, items []*admitted) ([]*AwardResult, []error, error) {
	results := make([]*AwardResult, len(items))
	refused := make([]error, len(items))
	transfers := make([]*Transfer, len(items))
	var notices []int
	for i, it := range items {
		if it == nil {
			continue
		}
		// As in Award: a key names one event whichever way it went first.
		if it.tg.keyClaims > 0 || (it.rule.NoticeRequired && it.tg.keyPosted == 0) {
			notices = append(notices, i)
			continue
		}
		if err := s.ensureTown(ctx, it.tg.Town.ID); err != nil {
			refused[i] = err
			continue
		}
		t := s.awardTransfer(a, *it.tg, it.rule, "award", it.in.IdempotencyKey, it.in.Reason, a.Name)
		transfers[i] = &t
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, i := range notices {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := s.noticeAward(ctx, a, *items[i].tg, items[i].rule, items[i].in)
			if err != nil {
				refused[i] = err
				return
			}
			results[i] = &AwardResult{Pending: c}
		}()
	}
	wg.Wait()
	// A town's batch of up to a chunk is one transaction, drawing on its issuing sub-accounts in
	// their order. A larger one is split into chunks that each draw on one sub-account only, so
	// that chunks of different shards run in parallel without waiting for each other. Either way
	// every transaction takes sub-accounts in ascending order, so no two can wait in a cycle.
	const chunk = 250
	type shardKey struct{ town, shard int64 }
	byShard := map[shardKey][]int{}
	byTown := map[int64]int{}
	var order []shardKey
	for i, t := range transfers {
		if t != nil {
			k := shardKey{t.TownID, t.ResidentID % IssuingShards}
			if byShard[k] == nil {
				order = append(order, k)
			}
			byShard[k] = append(byShard[k], i)
			byTown[t.TownID]++
		}
	}
	slices.SortFunc(order, func(a, b shardKey) int { return cmp.Or(cmp.Compare(a.town, b.town), cmp.Compare(a.shard, b.shard)) })
	var parts [][]int
	whole := map[int64]int{} // town → its part, when the town's batch is one
	var split []shardKey
	for _, k := range order {
		if byTown[k.town] > chunk {
			split = append(split, k)
			continue
		}
		if _, ok := whole[k.town]; !ok {
			whole[k.town] = len(parts)
			parts = append(parts, nil)
		}
		parts[whole[k.town]] = append(parts[whole[k.town]], byShard[k]...)
	}
	// Chunks are taken from each shard in turn, so that those running at once draw on different
	// sub-accounts.
	for lo, more := 0, true; more; lo += chunk {
		more = false
		for _, k := range split {
			if idx := byShard[k]; lo < len(idx) {
				parts = append(parts, idx[lo:min(lo+chunk, len(idx))])
				more = more || lo+chunk < len(idx)
			}
		}
	}
	var batchErr error
	var mu sync.Mutex
	par := make(chan struct{}, 4)
	for _, part := range parts {
		wg.Add(1)
		par <- struct{}{}
		go func() {
			defer func() { <-par; wg.Done() }()
			posted, each, err := s.postChunk(ctx, transfers, part)
			if err != nil {
				mu.Lock()
				batchErr = err
				mu.Unlock()
				return
			}
			for j, i := range part {
				err := each[j]
				if errors.Is(err, errKeyRace) {
					var found bool
					posted[j], found, err = s.replay(ctx, s.DB.Read(), *transfers[i])
					if err == nil && !found {
						err = errKeyRace
					}
				}
				if err != nil {
					refused[i] = err
					continue
				}
				results[i] = &AwardResult{Posted: posted[j]}
			}
		}()
	}
	wg.Wait()
	if batchErr != nil {
		return nil, nil, batchErr
	}
	return results, refused, nil
}

// postChunk posts the transfers of one chunk of a batch (indexes part of transfers, of one town,
// in ascending order of their issuing sub-accounts): uncapped awards all at once with postMany, a
// call per sub-account in one transaction that shares the group commit on SQLite; capped ones
// each with post and its Guard, a savepoint each.
func (s *Service) postChunk(ctx context.Context, transfers []*Transfer, part []int) ([]Posted, []error, error) {
	detached := context.WithoutCancel(ctx)
	defer s.earned(transfers[part[0]].TownID)
	ts := make([]*Transfer, len(part))
	guarded := false
	for j, i := range part {
		ts[j] = transfers[i]
		guarded = guarded || ts[j].Guard != nil
	}
	if !guarded {
		// Runs of transfers drawn on the same sub-account.
		type run struct {
			counter int64
			lo, hi  int
		}
		var runs []run
		for j, t := range ts {
			counter, err := s.issuingAccount(ctx, t.TownID, t.ResidentID)
			if err != nil {
				return nil, nil, err
			}
			if len(runs) > 0 && runs[len(runs)-1].counter == counter {
				runs[len(runs)-1].hi = j + 1
			} else {
				runs = append(runs, run{counter, j, j + 1})
			}
		}
		posted := make([]Posted, len(ts))
		results := make([]error, len(ts))
		err := s.group.Do(ctx, func(tx *sql.Tx) error {
			for _, r := range runs {
				p, res, err := s.postMany(detached, tx, ts[0].TownID, r.counter, ts[r.lo:r.hi])
				if err != nil {
					return err
				}
				copy(posted[r.lo:r.hi], p)
				copy(results[r.lo:r.hi], res)
			}
			return nil
		})
		return posted, results, err
	}
	posted := make([]Posted, len(part))
	fns := make([]func(tx *sql.Tx) error, len(part))
	for j := range ts {
		fns[j] = func(tx *sql.Tx) error {
			var err error
			posted[j], err = s.post(detached, tx, *ts[j])
			return err
		}
	}
	results, err := s.group.Batch(ctx, fns)
	return posted, results, err
}
