package bank_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"siwei/internal/bank"
	"siwei/internal/db"
	"siwei/internal/db/dbtest"
	"siwei/internal/people"
)

// A board is computed once for the readers of a moment; a posting through the same server shows
// at once, one through another server of the district within BoardFreshness.
func TestBoardIsSharedAndClearedByPostings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newLedgerEnv(t, d)
		clock := time.Now()
		e.bs.Now = func() time.Time { return clock }
		period := bank.Period(clock, people.Town{}.Location())
		points := func(items []bank.Ranked, id int64) int64 {
			for _, x := range items {
				if x.ID == id {
					return x.Points
				}
			}
			return 0
		}
		a, b := e.villagers[0], e.villagers[1]
		if _, err := e.award(t, a, "clean", "board:1"); err != nil {
			t.Fatal(err)
		}
		items, asOf, err := e.bs.Board(ctx, e.town, "resident", period, 100)
		if err != nil || points(items, a) != 5 || !asOf.Equal(clock) {
			t.Fatalf("board after an award: %+v %v %v", items, asOf, err)
		}

		// Readers at the same moment all get the board, and agree.
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				items, _, err := e.bs.Board(ctx, e.town, "resident", period, 100)
				if err != nil || points(items, a) != 5 {
					t.Errorf("concurrent reader: %+v %v", items, err)
				}
			})
		}
		wg.Wait()

		// A posting through this server clears the board at once.
		if _, err := e.award(t, a, "clean", "board:2"); err != nil {
			t.Fatal(err)
		}
		if items, _, err = e.bs.Board(ctx, e.town, "resident", period, 100); err != nil || points(items, a) != 10 {
			t.Fatalf("board after a second award: %+v %v", items, err)
		}

		// Another app server on the same database: its posting reaches this server's board once
		// the board is BoardFreshness old, and the board says when it was read.
		other := bank.NewService(d, e.ps)
		other.Now = e.bs.Now
		if _, err := other.Award(ctx, e.qiantuan, bank.AwardInput{ResidentID: b, RuleCode: "clean", Reason: "另一台", IdempotencyKey: "board:3"}); err != nil {
			t.Fatal(err)
		}
		if items, _, _ = e.bs.Board(ctx, e.town, "resident", period, 100); points(items, b) != 0 {
			t.Fatalf("a board younger than BoardFreshness was read again: %+v", items)
		}
		read := clock
		clock = clock.Add(bank.BoardFreshness)
		if items, asOf, err = e.bs.Board(ctx, e.town, "resident", period, 100); err != nil || points(items, b) != 5 || !asOf.After(read) {
			t.Fatalf("board after BoardFreshness: %+v %v %v", items, asOf, err)
		}
		// The uncached ranking always reads the sums.
		if direct, err := other.Rankings(ctx, e.town, "resident", period, 100); err != nil || points(direct, b) != 5 || points(direct, a) != 10 {
			t.Fatalf("rankings: %+v %v", direct, err)
		}
		// A refused way or period is an error, and is not kept.
		for range 2 {
			if _, _, err := e.bs.Board(ctx, e.town, "street", period, 100); keyOf(err) != "error.invalid" {
				t.Fatalf("by=street: %v", err)
			}
		}
		if _, _, err := e.bs.Board(ctx, e.town, "household", "2026-13", 100); err == nil {
			t.Fatal("period 2026-13 accepted")
		}
	})
}
