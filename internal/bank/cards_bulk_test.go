package bank_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/errs"
)

// TestIssueCards: opening cards in bulk (批量开卡) gives each resident of the batch the outcome
// IssueCard would: a card with the next serials, or a refusal of their own (a card already,
// another village's resident hidden as not found) that stops nobody else; each card has its
// audit entry. Two batches racing over the town share no number, and the resident both name gets
// one card.
func TestIssueCards(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newCardEnv(t, d)
		without := func(village int64) []int64 {
			var out []int64
			for _, id := range e.residentsOf(t, village) {
				if _, err := e.bs.CardOf(ctx, e.townAdmin, id); errs.Is(err, errs.NotFound) {
					out = append(out, id)
				}
			}
			return out
		}
		qt, other := without(e.qt), without(e.db2)
		if len(qt) < 6 || len(other) < 1 {
			t.Fatalf("%d residents of 前疃村 and %d of 东堡村 without cards", len(qt), len(other))
		}
		first, err := e.bs.IssueCard(ctx, e.qiantuan, qt[0])
		if err != nil {
			t.Fatal(err)
		}
		audits := e.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'bank.card.issue'`)
		batch := []int64{qt[1], qt[0], other[0], qt[2], qt[3]}
		out, err := e.bs.IssueCards(ctx, e.qiantuan, batch)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"", "conflict bank.card_exists", "not_found error.not_found", "", ""}
		serial := func(number string) string { return number[len("110112104-") : len(number)-1] }
		prev := serial(first.Number)
		for i, r := range out {
			if r.ResidentID != batch[i] || refusal(r.Err) != want[i] {
				t.Errorf("resident %d: %d %q, want %d %q", i, r.ResidentID, refusal(r.Err), batch[i], want[i])
			}
			if r.Err != nil {
				continue
			}
			var p, n int
			fmt.Sscan(prev, &p)
			fmt.Sscan(serial(r.Card.Number), &n)
			if !cardNumberRE.MatchString(r.Card.Number) || n != p+1 || r.Card.ResidentID != batch[i] {
				t.Errorf("card %+v after serial %s: want the next serial", r.Card, prev)
			}
			prev = serial(r.Card.Number)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'bank.card.issue'`) - audits; got != 3 {
			t.Errorf("%d audit entries for 3 cards", got)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM bank_cards WHERE resident_id = $1`, other[0]); got != 0 {
			t.Error("another village's resident got a card from 前疃村's staff")
		}

		// Two batches race over the town; the resident both name gets one card.
		rest := append(without(e.qt), without(e.db2)...)
		if len(rest) < 5 {
			t.Fatalf("only %d residents left without cards", len(rest))
		}
		half := len(rest) / 2
		a, b := rest[:half+1], rest[half:] // rest[half] is in both
		var results [2][]bank.CardResult
		var failed [2]error
		var wg sync.WaitGroup
		wg.Go(func() { results[0], failed[0] = e.bs.IssueCards(ctx, e.townAdmin, a) })
		wg.Go(func() { results[1], failed[1] = e.bs.IssueCards(ctx, e.townAdmin, b) })
		wg.Wait()
		numbers, issued := map[string]bool{}, 0
		for k, rs := range results {
			if failed[k] != nil {
				t.Fatalf("batch %d: %v", k, failed[k])
			}
			for _, r := range rs {
				switch {
				case r.Err == nil:
					issued++
					if numbers[r.Card.Number] {
						t.Errorf("number %s given twice", r.Card.Number)
					}
					numbers[r.Card.Number] = true
				case r.ResidentID != rest[half] || refusal(r.Err) != "conflict bank.card_exists":
					t.Errorf("resident %d: %v", r.ResidentID, r.Err)
				}
			}
		}
		if issued != len(rest) {
			t.Errorf("%d cards for %d residents", issued, len(rest))
		}
		if got := e.count(t, `SELECT COUNT(*) FROM bank_cards WHERE resident_id = $1`, rest[half]); got != 1 {
			t.Errorf("the resident both batches named has %d cards", got)
		}
	})
}
