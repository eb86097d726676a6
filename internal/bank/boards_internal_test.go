package bank

import (
	"fmt"
	"testing"
	"time"
)

// The board cache stays bounded however many periods callers ask for, dropping stale boards
// before fresh ones.
func TestBoardsStayBounded(t *testing.T) {
	var b boards
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i := range maxBoards {
		b.keep(boardKey{town: 1, by: "household", period: fmt.Sprint(1000 + i), limit: 100}, board{asOf: start})
	}
	if len(b.m) != maxBoards {
		t.Fatalf("kept %d boards, want %d", len(b.m), maxBoards)
	}
	// One more, while the others are fresh: all go, the new one stays.
	fresh := boardKey{town: 1, by: "resident", period: "2026-11", limit: 100}
	b.keep(fresh, board{asOf: start.Add(time.Second)})
	if len(b.m) != 1 || b.m[fresh].asOf.IsZero() {
		t.Fatalf("after overflow with fresh boards: %d kept", len(b.m))
	}
	// Fill again with a mix; once full, only the stale ones are dropped.
	for i := range maxBoards - 1 {
		at := start
		if i%2 == 0 {
			at = start.Add(BoardFreshness + time.Second) // fresh relative to the next board
		}
		b.keep(boardKey{town: 2, by: "village", period: fmt.Sprint(2000 + i), limit: 50}, board{asOf: at})
	}
	if len(b.m) != maxBoards {
		t.Fatalf("refilled to %d boards, want %d", len(b.m), maxBoards)
	}
	b.keep(boardKey{town: 3, by: "household", period: "2026", limit: 100}, board{asOf: start.Add(BoardFreshness + 2*time.Second)})
	for k, v := range b.m {
		if v.asOf.Equal(start) {
			t.Fatalf("stale board %+v kept after the cache was full", k)
		}
	}
	// The fresh half of the refill (every other of maxBoards-1) and the new board remain.
	if want := maxBoards/2 + 1; len(b.m) != want {
		t.Errorf("%d boards kept after dropping the stale ones, want %d", len(b.m), want)
	}
}
