package bank_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/people"
)

// TestBulkAward posts one rule to every resident of the town at once: the uncapped rule goes
// through the chunked path, the capped one through a posting each; replays, duplicates, unknown
// and inactive residents each stand on their own, and verify passes afterwards.
func TestBulkAward(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newLedgerEnv(t, d)
		ctx := context.Background()
		var ids []int64
		active := map[int64]bool{}
		rows, err := d.Read().Query(`SELECT id, status FROM residents WHERE town_id = $1 ORDER BY id`, e.town)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var status string
			if err := rows.Scan(&id, &status); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			active[id] = status == "active"
		}
		rows.Close()
		if len(ids) < 100 {
			t.Fatalf("%d residents", len(ids))
		}
		// One resident has the bulk's key for them already: the bulk answers it as a replay.
		first := e.villagers[0]
		pre, err := e.bs.Award(ctx, e.townAdmin, bank.AwardInput{ResidentID: first, RuleCode: "clean", Reason: "秋收", IdempotencyKey: fmt.Sprintf("bulk-a:resident:%d", first)})
		if err != nil {
			t.Fatal(err)
		}
		list := append(append([]int64{}, ids...), ids[3], 99_999_999)
		out, err := e.bs.BulkAward(ctx, e.townAdmin, bank.BulkInput{ResidentIDs: list, RuleCode: "clean", Reason: "秋收", IdempotencyKey: "bulk-a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(list) {
			t.Fatalf("%d results for %d residents", len(out), len(list))
		}
		posted, txOf := 0, map[int64]int64{}
		for i, r := range out {
			id := list[i]
			switch {
			case r.ResidentID != id:
				t.Fatalf("result %d is for resident %d, want %d", i, r.ResidentID, id)
			case id == 99_999_999:
				if r.Error != "bank.resident_unknown" {
					t.Errorf("unknown resident: %+v", r)
				}
			case !active[id]:
				if r.Error != "people.not_active" {
					t.Errorf("inactive resident %d: %+v", id, r)
				}
			case r.Error != "" || r.Result == nil || r.Result.Pending != nil:
				t.Fatalf("resident %d: %+v", id, r)
			case id == first:
				if !r.Result.Replayed || r.Result.TransactionID != pre.TransactionID || r.Result.Balance != 5 {
					t.Errorf("pre-awarded resident: %+v, first %+v", r.Result, pre)
				}
			case i == len(ids):
				if !r.Result.Replayed || r.Result.TransactionID != txOf[id] {
					t.Errorf("duplicate of resident %d: %+v, first transaction %d", id, r.Result, txOf[id])
				}
			default:
				if r.Result.Replayed || r.Result.Balance != 5 || r.Result.TransactionID == 0 {
					t.Errorf("resident %d: %+v", id, r.Result)
				}
				posted++
				txOf[id] = r.Result.TransactionID
			}
		}
		var nActive int
		for _, ok := range active {
			if ok {
				nActive++
			}
		}
		if posted != nActive-1 {
			t.Errorf("posted %d, want %d", posted, nActive-1)
		}
		var n, sum, earned int64
		if err := d.Read().QueryRow(`SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM bank_transactions WHERE idem_key LIKE 'acct:%:bulk-a:%'`).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if err := d.Read().QueryRow(`SELECT COALESCE(SUM(points), 0) FROM bank_earnings WHERE town_id = $1`, e.town).Scan(&earned); err != nil {
			t.Fatal(err)
		}
		if n != int64(nActive) || sum != 5*int64(nActive) || earned != sum {
			t.Errorf("transactions %d (want %d), points %d, earnings %d", n, nActive, sum, earned)
		}
		mustVerify(t, e.bs)

		// Households and villages rank by the sums of their members' earnings, which must match
		// the ledger's own transactions.
		want := map[string]map[int64]int64{"household": {}, "village": {}}
		rows, err = d.Read().Query(`SELECT r.household_id, r.village_id, t.amount FROM bank_transactions t JOIN residents r ON r.id = t.resident_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h, v, amount int64
			if err := rows.Scan(&h, &v, &amount); err != nil {
				t.Fatal(err)
			}
			want["household"][h] += amount
			want["village"][v] += amount
		}
		rows.Close()
		period := bank.Period(time.Now(), people.Town{}.Location())
		for by, sums := range want {
			board, err := e.bs.Rankings(ctx, e.town, by, period, 500)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i, r := range board {
				if r.Points != sums[r.ID] {
					t.Errorf("%s %d ranks with %d points, its members earned %d", by, r.ID, r.Points, sums[r.ID])
				}
				if by == "household" && i > 0 && (board[i-1].Points < r.Points || board[i-1].Points == r.Points && board[i-1].ID > r.ID) {
					t.Errorf("households out of order at %d: %+v after %+v", i, r, board[i-1])
				}
				if r.Points > 0 {
					got++
				}
			}
			if got != len(sums) {
				t.Errorf("%s board has %d with points, want %d", by, got, len(sums))
			}
		}

		// The whole bulk again answers every award with its first result.
		again, err := e.bs.BulkAward(ctx, e.townAdmin, bank.BulkInput{ResidentIDs: list, RuleCode: "clean", Reason: "秋收", IdempotencyKey: "bulk-a"})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if out[i].Result == nil {
				continue
			}
			if r.Result == nil || !r.Result.Replayed || r.Result.TransactionID != out[i].Result.TransactionID {
				t.Errorf("replayed bulk, resident %d: %+v, first %+v", r.ResidentID, r, out[i].Result)
			}
		}

		// A capped rule (once a day): the second bulk of the day, confirmed as no duplicate, is
		// refused award by award.
		for _, key := range []string{"bulk-b", "bulk-c"} {
			res, err := e.bs.BulkAward(ctx, e.townAdmin, bank.BulkInput{ResidentIDs: e.villagers, RuleCode: "daily", Reason: "每日一善", IdempotencyKey: key, ConfirmDuplicate: key == "bulk-c"})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if !active[r.ResidentID] {
					if r.Error != "people.not_active" {
						t.Errorf("%s, inactive resident %d: %+v", key, r.ResidentID, r)
					}
					continue
				}
				if key == "bulk-b" && (r.Error != "" || r.Result == nil || r.Result.Balance != 5+2) {
					t.Errorf("%s, resident %d: %+v %+v", key, r.ResidentID, r, r.Result)
				}
				if key == "bulk-c" && r.Error != "bank.cap_reached" {
					t.Errorf("%s, resident %d: %+v", key, r.ResidentID, r)
				}
			}
		}
		mustVerify(t, e.bs)

		// A bulk award racing single awards to the same residents.
		var wg sync.WaitGroup
		singles := make([]int64, 4)
		for c := range singles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 30; k++ {
					id := e.villagers[rand.IntN(len(e.villagers))]
					if _, err := e.bs.Award(ctx, e.townAdmin, bank.AwardInput{ResidentID: id, RuleCode: "clean", Reason: "竞速", IdempotencyKey: fmt.Sprintf("race:%d:%d", c, k), ConfirmDuplicate: true}); err != nil {
						t.Error(err)
						return
					}
					singles[c] += 5
				}
			}()
		}
		res, err := e.bs.BulkAward(ctx, e.townAdmin, bank.BulkInput{ResidentIDs: ids, RuleCode: "clean", Reason: "竞速", IdempotencyKey: "bulk-d", ConfirmDuplicate: true})
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if active[r.ResidentID] && (r.Error != "" || r.Result == nil || r.Result.Replayed) {
				t.Errorf("racing bulk, resident %d: %+v", r.ResidentID, r)
			}
		}
		mustVerify(t, e.bs)
		var balances int64
		if err := d.Read().QueryRow(`SELECT COALESCE(SUM(balance), 0) FROM bank_accounts WHERE kind = 'resident'`).Scan(&balances); err != nil {
			t.Fatal(err)
		}
		activeVillagers := 0
		for _, id := range e.villagers {
			if active[id] {
				activeVillagers++
			}
		}
		wantBalances := 5*int64(nActive) + 2*int64(activeVillagers) + 5*int64(nActive) + singles[0] + singles[1] + singles[2] + singles[3]
		if balances != wantBalances {
			t.Errorf("resident balances %d, want %d", balances, wantBalances)
		}
	})
}
